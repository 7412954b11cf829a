"""How long the engine keeps an ended order (a mixin of `Engine`).

Every order the engine registers (accepted, a trigger order, or one the engine
makes itself) gets an `OrderRecord` in `Engine.orders`. Open and pending orders
need theirs; an ended one (filled or cancelled) is kept only so that it can be
queried (`order_status`, `get_order` over the API) and is retired once it has
been ended for `order_retention_ms` (1 h by default). Without this the registry
grows by every order ever accepted (~0.5 KB each): memory, snapshot size and
state-hash time would grow without bound in a long-running engine.

Retiring is deterministic (driven by command timestamps, part of the state and
of the state hash), so a replay retires exactly what the live engine did:

- `_registered` holds the hashes in registration order. Once a record is
  `order_retention_ms` old it moves to `_retiring` as (due, hash, ended then),
  due one retention later.
- When an entry of `_retiring` comes due: a record that was already ended when
  it was queued is deleted (it has been ended for at least one retention); one
  that ended since is queued again as ended; a live one (resting for hours) is
  queued again as live.

So an ended order stays queryable for at least `order_retention_ms` after it
ended, and at most about twice that. Records are retired in passes of at most
`RETIRE_BATCH` every `RETIRE_EVERY_MS` of engine time (a pass that runs out of
budget continues at the next command), so no single command pays for a burst.

A retired order's nonce stays spent (`Engine._nonces`): signing it again is
still refused, as `NONCE_REUSED` (1016) instead of `DUPLICATE_ORDER`. The
journal keeps every order for good; the fills of an account stay in
`Engine.fills` (its latest 1,000) whatever happens to the orders.
"""

from __future__ import annotations

import hashlib
from collections import deque

from engine.core.views import CANCELLED, FILLED

ORDER_RETENTION_MS = 3_600_000  # an ended order stays queryable at least this long
RETIRE_EVERY_MS = 100  # engine time between retirement passes
RETIRE_BATCH = 4_096  # queue entries looked at per pass, at most
_ENDED = (FILLED, CANCELLED)


class RetentionMixin:
    """Retires ended order records of `Engine` (see the module docstring)."""

    __slots__ = ()

    def _init_retention(self, order_retention_ms: int) -> None:
        if isinstance(order_retention_ms, bool) or not isinstance(order_retention_ms, int) \
                or order_retention_ms <= 0:
            raise ValueError(f"order_retention_ms must be a positive integer (ms), got "
                             f"{order_retention_ms!r}")
        self.order_retention_ms = order_retention_ms
        self._registered: deque[bytes] = deque()  # every registered hash, oldest first
        self._retiring: deque[tuple[int, bytes, bool]] = deque()  # (due ms, hash, ended)
        self._retire_due = 0  # next pass (engine ms)

    def _retire(self, ts: int) -> None:
        """One retirement pass at engine time `ts` (at most RETIRE_BATCH entries)."""
        retention = self.order_retention_ms
        orders, registered, retiring = self.orders, self._registered, self._retiring
        budget = RETIRE_BATCH
        due = ts + retention
        while budget and retiring and retiring[0][0] <= ts:
            budget -= 1
            _, h, was_ended = retiring.popleft()
            rec = orders.get(h)
            if rec is None:  # never happens (a hash registers once); nothing to keep
                continue
            if rec.status in _ENDED:
                if was_ended:
                    del orders[h]
                else:
                    retiring.append((due, h, True))
            else:
                retiring.append((due, h, False))
        oldest = ts - retention
        while budget and registered:
            rec = orders.get(registered[0])
            if rec is not None and rec.ts_ms > oldest:
                break
            budget -= 1
            h = registered.popleft()
            if rec is not None:
                retiring.append((due, h, rec.status in _ENDED))
        self._retire_due = ts if not budget else ts + RETIRE_EVERY_MS

    def _retention_digest(self, h: hashlib._Hash) -> None:
        h.update(f"{self.order_retention_ms}|{self._retire_due}|{len(self._registered)}|"
                 f"{len(self._retiring)}\n".encode())
        h.update(b"".join(self._registered))
        for due, order_hash, ended in self._retiring:
            h.update(order_hash + due.to_bytes(8, "big") + (b"\x01" if ended else b"\x00"))

    def _restore_retention(self, state: dict, registered: list[bytes]) -> None:
        """A snapshot from before retention: every record it holds counts as registered,
        in `registered` order (the order the snapshot listed them in)."""
        if "_registered" not in state:
            self._init_retention(ORDER_RETENTION_MS)
            self._registered.extend(registered)
            self._next_due = 0  # the next command runs _advance, which schedules passes
