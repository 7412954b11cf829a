"""Feed adapters: where spot quotes come from (DESIGN section 7).

``FeedAdapter`` is the port the index sampler reads; ``RecordedFeed`` replays the
file shipped in data/feeds/ (made by scripts/gen_feed.py); ``LiveFeed`` is the
buffered base a real venue connector would push quotes into. Nothing here opens
a socket: a live connector lives outside the repository's test and demo paths.

Recorded feed format (gzip, UTF-8 text):

    # perpx-feed v1
    # seed 42
    # start_ms 1704067200000
    # end_ms 1704081600000
    # price_decimals 2
    # source 0 binance:ETH-USDT 300000000000000000
    ...
    ts_ms,source,bid,ask
    1704067200013,0,230012,230013

Header lines start with ``#``. Each ``source`` line gives the row index, the
source name ``"<venue>:<BASE>-<QUOTE>"`` and its 30-day volume share as a WAD
fraction (shares of one base asset sum to WAD). Rows are sorted by (ts_ms,
source); bid and ask are integers in units of 10**-price_decimals quote and
become WAD on reading.
"""

from __future__ import annotations

import gzip
from bisect import bisect_left
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from engine.core.errors import PerpxError
from engine.prices.index import Quote, base_asset

FORMAT_LINE = "# perpx-feed v1"
COLUMNS = "ts_ms,source,bid,ask"


class FeedError(PerpxError, ValueError):
    """A feed file or pushed quote that cannot be read; the message names the line or field."""


@runtime_checkable
class FeedAdapter(Protocol):
    """A source of spot quotes for the index."""

    def quotes_between(self, start_ms: int, end_ms: int) -> Iterator[Quote]:
        """Quotes with start_ms <= ts_ms < end_ms, in (ts_ms, arrival) order."""
        ...

    def venues(self) -> tuple[str, ...]:
        """The source names this feed can produce, sorted."""
        ...

    def volume_weights(self) -> dict[str, int]:
        """30-day volume share per source, WAD fractions."""
        ...


def _symbol_base(symbol: str | None) -> str | None:
    if symbol is None:
        return None
    return symbol.split("-", 1)[0].upper()


class RecordedFeed:
    """Replays a recorded feed file, optionally only the sources of one market.

    ``symbol`` ("ETH-USD") keeps the sources whose base asset matches ("ETH");
    None keeps every source. The file is read once, into flat lists.
    """

    def __init__(self, path: str | Path, symbol: str | None = None) -> None:
        self.path = Path(path)
        self.meta: dict[str, str] = {}
        self._names: dict[int, str] = {}
        self._weights: dict[str, int] = {}
        self._ts: list[int] = []
        self._src: list[int] = []
        self._bid: list[int] = []
        self._ask: list[int] = []
        self._load(_symbol_base(symbol))

    def _load(self, base: str | None) -> None:
        with gzip.open(self.path, "rt", encoding="utf-8", newline="") as fh:
            first = fh.readline().rstrip("\n")
            if first != FORMAT_LINE:
                raise FeedError(f"{self.path}: not a perpx feed (first line {first!r})")
            for lineno, line in enumerate(fh, start=2):
                if line.startswith("#"):
                    self._header(line[1:].split(), base, lineno)
                elif line.startswith("ts_ms"):
                    if line.rstrip("\n") != COLUMNS:
                        raise FeedError(f"{self.path}:{lineno}: expected columns {COLUMNS}")
                else:
                    self._row(line, lineno)
        scale = 10 ** (18 - int(self.meta.get("price_decimals", "18")))
        self._scale = scale

    def _header(self, words: list[str], base: str | None, lineno: int) -> None:
        if words and words[0] == "source":
            if len(words) != 4:
                raise FeedError(f"{self.path}:{lineno}: source line needs index, name, weight")
            idx, name, weight = int(words[1]), words[2], int(words[3])
            if base is None or base_asset(name) == base:
                self._names[idx] = name
                self._weights[name] = weight
        elif len(words) == 2:
            self.meta[words[0]] = words[1]

    def _row(self, line: str, lineno: int) -> None:
        try:
            ts, src, bid, ask = (int(x) for x in line.split(","))
        except ValueError as exc:
            raise FeedError(f"{self.path}:{lineno}: bad row {line!r}: {exc}") from None
        if src not in self._names:
            return
        if self._ts and ts < self._ts[-1]:
            raise FeedError(f"{self.path}:{lineno}: rows out of time order")
        self._ts.append(ts)
        self._src.append(src)
        self._bid.append(bid)
        self._ask.append(ask)

    @property
    def start_ms(self) -> int:
        """Start of the recording (header start_ms, else the first quote)."""
        return int(self.meta.get("start_ms", self._ts[0] if self._ts else 0))

    @property
    def end_ms(self) -> int:
        """End of the recording, exclusive (header end_ms, else last quote + 1)."""
        return int(self.meta.get("end_ms", self._ts[-1] + 1 if self._ts else 0))

    def __len__(self) -> int:
        return len(self._ts)

    def quotes_between(self, start_ms: int, end_ms: int) -> Iterator[Quote]:
        """Quotes with start_ms <= ts_ms < end_ms, prices in WAD, file order."""
        i = bisect_left(self._ts, start_ms)
        names, scale = self._names, self._scale
        while i < len(self._ts) and self._ts[i] < end_ms:
            bid, ask = self._bid[i] * scale, self._ask[i] * scale
            yield Quote(names[self._src[i]], bid, ask, self._ts[i])
            i += 1

    def venues(self) -> tuple[str, ...]:
        """Source names kept from the file, sorted."""
        return tuple(sorted(self._weights))

    def volume_weights(self) -> dict[str, int]:
        """30-day volume share per kept source (WAD), as recorded in the header."""
        return dict(self._weights)


class LiveFeed:
    """Buffered base for live venue connectors.

    A connector (outside this package: it does network I/O) stamps every quote
    with its receipt time and calls ``push``; the engine side reads through the
    ``FeedAdapter`` methods. The buffer keeps the newest ``capacity`` quotes.
    """

    def __init__(self, volume_weights: Mapping[str, int], capacity: int = 100_000) -> None:
        if capacity <= 0:
            raise FeedError(f"live feed: capacity must be > 0, got {capacity}")
        self._weights = dict(volume_weights)
        self._buffer: deque[Quote] = deque(maxlen=capacity)

    def push(self, quote: Quote) -> None:
        """Append a quote (WAD prices) from a known source, in receipt-time order."""
        if quote.venue not in self._weights:
            raise FeedError(f"live feed: unknown source {quote.venue!r}; add it to volume_weights")
        if not 0 < quote.bid <= quote.ask:
            raise FeedError(f"live feed: {quote.venue} quote needs 0 < bid <= ask")
        if self._buffer and quote.ts_ms < self._buffer[-1].ts_ms:
            raise FeedError(
                f"live feed: ts_ms {quote.ts_ms} before {self._buffer[-1].ts_ms}; stamp quotes "
                "with the receipt time"
            )
        self._buffer.append(quote)

    def quotes_between(self, start_ms: int, end_ms: int) -> Iterator[Quote]:
        """Buffered quotes with start_ms <= ts_ms < end_ms, in receipt order."""
        for q in list(self._buffer):
            if start_ms <= q.ts_ms < end_ms:
                yield q

    def venues(self) -> tuple[str, ...]:
        """Configured source names, sorted."""
        return tuple(sorted(self._weights))

    def volume_weights(self) -> dict[str, int]:
        """Configured 30-day volume share per source (WAD)."""
        return dict(self._weights)
