"""Orders waiting on something other than the book: a mark trigger or an expiry time.

`TriggerBook` holds stop / take-profit orders off the book until the mark
reaches their trigger price. Which way a trigger fires is fixed when the order
is accepted: a trigger above the mark at that moment fires when the mark
rises to it (mark >= trigger), one below fires when the mark falls to it
(mark <= trigger). So a buy-stop above the market and a take-profit buy
below it are the same field read against the mark, as on most venues.

`ExpiryQueue` holds the expiry (unix seconds) of resting orders, earliest
first, so the engine expires them in one comparison per command when none
is due. Both are pure and deterministic; ties break by the engine's
acceptance sequence, so triggered orders execute in the order they arrived.
"""

from __future__ import annotations

import hashlib
import heapq

from sortedcontainers import SortedList

NEVER_MS = 2**63  # a time later than any expiry


class TriggerBook:
    """Pending trigger orders of one market. Prices in WAD quote per base."""

    __slots__ = ("_above", "_below", "_entries")

    def __init__(self) -> None:
        self._above = SortedList()  # (trigger, seq, hash): fire when mark >= trigger
        self._below = SortedList()  # (trigger, seq, hash): fire when mark <= trigger
        self._entries: dict[bytes, tuple[bool, tuple[int, int, bytes]]] = {}

    def add(self, order_hash: bytes, trigger_price: int, fire_above: bool, seq: int) -> None:
        """Hold `order_hash` until the mark crosses `trigger_price` upward (fire_above) or downward."""
        if order_hash in self._entries:
            raise ValueError(f"triggers: order 0x{order_hash.hex()} is already pending")
        entry = (trigger_price, seq, order_hash)
        (self._above if fire_above else self._below).add(entry)
        self._entries[order_hash] = (fire_above, entry)

    def remove(self, order_hash: bytes) -> bool:
        """Drop a pending order (cancelled); False if it was not pending."""
        found = self._entries.pop(order_hash, None)
        if found is None:
            return False
        fire_above, entry = found
        (self._above if fire_above else self._below).remove(entry)
        return True

    def fire(self, mark: int) -> list[bytes]:
        """Remove and return the orders whose trigger `mark` (WAD) reached, oldest first."""
        above, below = self._above, self._below
        if not (above and above[0][0] <= mark) and not (below and below[-1][0] >= mark):
            return []
        fired: list[tuple[int, bytes]] = []
        while above and above[0][0] <= mark:
            _, seq, order_hash = above.pop(0)
            fired.append((seq, order_hash))
        while below and below[-1][0] >= mark:
            _, seq, order_hash = below.pop()
            fired.append((seq, order_hash))
        fired.sort()
        for _, order_hash in fired:
            del self._entries[order_hash]
        return [order_hash for _, order_hash in fired]

    def __contains__(self, order_hash: object) -> bool:
        return order_hash in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def update_digest(self, h: "hashlib._Hash") -> None:
        """Feed every pending order (direction, trigger, seq, hash) into `h`, in a fixed order."""
        for tag, side in ((b"A", self._above), (b"B", self._below)):
            for trigger, seq, order_hash in side:
                h.update(tag + trigger.to_bytes(32, "big") + seq.to_bytes(8, "big") + order_hash)


class ExpiryQueue:
    """Expiry times (unix s) of resting orders; lazy deletion of cancelled ones."""

    __slots__ = ("_heap", "_live", "next_ms")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, bytes]] = []
        self._live: dict[bytes, int] = {}
        self.next_ms = NEVER_MS  # earliest live-or-stale expiry in ms: nothing is due before it

    def add(self, order_hash: bytes, expiry_s: int, seq: int) -> None:
        """Expire `order_hash` once the time reaches `expiry_s` (unix seconds, > 0)."""
        self._live[order_hash] = expiry_s
        heapq.heappush(self._heap, (expiry_s, seq, order_hash))
        if expiry_s * 1000 < self.next_ms:
            self.next_ms = expiry_s * 1000

    def discard(self, order_hash: bytes) -> None:
        """Forget an order that left the book some other way."""
        self._live.pop(order_hash, None)

    def due(self, ts_ms: int) -> list[bytes]:
        """Remove and return the live orders expired at `ts_ms` (unix ms), earliest first."""
        heap, live, out = self._heap, self._live, []
        while heap and heap[0][0] * 1000 <= ts_ms:
            expiry_s, _, order_hash = heapq.heappop(heap)
            if live.get(order_hash) == expiry_s:
                del live[order_hash]
                out.append(order_hash)
        if len(heap) > 2 * len(live) + 64:  # drop stale entries so the heap stays small
            self._heap = heap = [e for e in heap if live.get(e[2]) == e[0]]
            heapq.heapify(heap)
        self.next_ms = heap[0][0] * 1000 if heap else NEVER_MS
        return out

    def __len__(self) -> int:
        return len(self._live)

    def update_digest(self, h: "hashlib._Hash") -> None:
        """Feed every live (hash, expiry) into `h`, in a fixed order."""
        for order_hash in sorted(self._live):
            h.update(order_hash + self._live[order_hash].to_bytes(8, "big"))
