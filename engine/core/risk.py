"""Pre-trade risk and the funding-risk monitor (DESIGN section 8).

Pure functions over a `Ledger`; all amounts WAD (sizes in base, prices in
quote per base, margins in quote), times in integer milliseconds passed in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from engine.core import rules
from engine.core.accounts import INSURANCE, Ledger
from engine.core.codes import RejectCode
from engine.core.exposure import ExposureRow, no_resting_loss
from engine.core.riskcell import RiskCell
from engine.core.wad import WAD, Rounding, add_margin, compare_mul, mul_div, mul_wad_up

DAY_MS = 86_400_000


def _adverse_loss(is_buy: bool, size: int, price: int, mark: int) -> int:
    """Equity lost at mark by filling at a price worse than mark, WAD quote (>= 0)."""
    diff = price - mark if is_buy else mark - price
    return mul_div(size, diff, WAD, Rounding.UP) if diff > 0 else 0


def pre_trade_check(
    ledger: Ledger,
    account: str,
    market: int,
    is_buy: bool,
    size: int,
    price: int,
    resting: Iterable[tuple[int, bool, int, int]],
    fee: int = 0,
) -> int | None:
    """Initial-margin check of a new order (size WAD base, limit price WAD), counting
    the account's resting orders `(market, is_buy, remaining, price)`.

    Per market the worst-case position is max(|pos + buys|, |pos - sells|) with
    the new order included; the requirement is its initial margin at mark
    (for an isolated position only the growth beyond the position, whose own
    margin covers itself). Cross equity, less the loss of filling every order
    at a price worse than mark and less `fee` (WAD quote), must cover the sum.
    An order that does not grow the worst case of its market is accepted as
    long as its price loss and fee do not push the account below maintenance,
    so a trader under initial margin can still reduce. Returns None if
    accepted, else RejectCode.NO_MARK_PRICE or RejectCode.INSUFFICIENT_MARGIN."""
    marks = ledger.marks
    if market not in marks:
        return RejectCode.NO_MARK_PRICE
    buys: dict[int, int] = {market: size if is_buy else 0}
    sells: dict[int, int] = {market: 0 if is_buy else size}
    loss = _adverse_loss(is_buy, size, price, marks[market])
    for r_market, r_buy, r_size, r_price in resting:
        side = buys if r_buy else sells
        side[r_market] = side.get(r_market, 0) + r_size
        buys.setdefault(r_market, 0)
        sells.setdefault(r_market, 0)
        loss += _adverse_loss(r_buy, r_size, r_price, marks.get(r_market, r_price))
    acct = ledger.accounts.get(account)
    positions = acct.positions if acct is not None else {}
    pos = positions.get(market)
    held = pos.size if pos is not None else 0
    own_buys = buys[market] - (size if is_buy else 0)
    own_sells = sells[market] - (0 if is_buy else size)
    worst_before = max(abs(held + own_buys), abs(held - own_sells))
    worst_after = max(abs(held + buys[market]), abs(held - sells[market]))
    if worst_after <= worst_before:
        if loss == 0 and fee == 0:
            return None
        if ledger.cross_equity(account) - loss - fee >= ledger.cross_maintenance_margin(account):
            return None
        return RejectCode.INSUFFICIENT_MARGIN
    required = 0
    for m in sorted(set(buys) | {m for m, p in positions.items() if p.size}):
        p = positions.get(m)
        size_m = p.size if p is not None else 0
        worst = max(abs(size_m + buys.get(m, 0)), abs(size_m - sells.get(m, 0)))
        if p is not None and p.size and p.isolated:
            worst = max(0, worst - abs(size_m))
        required += rules.margin_requirement(worst, marks.get(m, 0), ledger.markets[m].imf)
    if ledger.cross_equity(account) - loss - fee < required:
        return RejectCode.INSUFFICIENT_MARGIN
    return None


def pre_trade_check_exposure(
    ledger: Ledger,
    account: str,
    market: int,
    is_buy: bool,
    size: int,
    price: int,
    exposure: dict[int, ExposureRow] | None,
    fee: int = 0,
) -> int | None:
    """`pre_trade_check` with the resting orders given as the engine keeps them:
    market -> ExposureRow (buy size, sum of buy size x price, sell size, sum of sell
    size x price; WAD base and WAD base x WAD price). Same rule, same result (a test
    pins the two together); this one is the engine's hot path, so it builds no
    containers and inlines the rules' integer formulas (each marked with the rule it
    is)."""
    return _check_exposure(ledger, account, market, is_buy, size, price, exposure, fee)[0]


def _check_exposure(ledger: Ledger, account: str, market: int, is_buy: bool, size: int,
                    price: int, exposure: dict[int, ExposureRow] | None, fee: int
                    ) -> tuple[int | None, int, int]:
    """(code, cross equity, requirement) of `pre_trade_check_exposure`; the last two are
    -1 when the answer did not need them (no mark, or an order that does not grow)."""
    marks = ledger.marks
    mark = marks.get(market)
    if mark is None:
        return RejectCode.NO_MARK_PRICE, -1, -1
    row = exposure.get(market) if exposure else None
    own_buys, _, own_sells, _ = row.values() if row is not None else (0, 0, 0, 0)
    acct = ledger.accounts.get(account)
    positions = acct.positions if acct is not None else {}
    pos = positions.get(market)
    held = pos.size if pos is not None else 0
    buys = own_buys + size if is_buy else own_buys
    sells = own_sells if is_buy else own_sells + size
    growth = max(abs(held + buys), abs(held - sells)) > max(abs(held + own_buys),
                                                              abs(held - own_sells))
    diff = price - mark if is_buy else mark - price
    loss = mul_wad_up(size, diff) if diff > 0 else 0  # _adverse_loss, rounded up
    specs = ledger.markets
    required = 0
    if exposure:
        for r_market, r_row in exposure.items():
            bs, bn, ss, sn = r_row.values()
            r_mark = marks.get(r_market)
            if r_mark is not None:
                # ceil(bn / bs) > mark  <=>  bn > mark x bs: divide only when there is a loss
                if bs and compare_mul(bn, r_mark, bs) > 0:
                    loss += mul_wad_up(bs, -(-bn // bs) - r_mark)
                if ss and compare_mul(sn, r_mark, ss) < 0:
                    loss += mul_wad_up(ss, r_mark - sn // ss)
            if growth:
                if r_market == market:
                    bs, ss = buys, sells
                p = positions.get(r_market)
                size_m = p.size if p is not None else 0
                worst = max(abs(size_m + bs), abs(size_m - ss))
                if size_m and p.isolated:  # type: ignore[union-attr]
                    worst = max(0, worst - abs(size_m))
                # rules.margin_requirement: |worst| x mark, then x IMF, each rounded up
                required = add_margin(required, worst, r_mark or 0, specs[r_market].imf)
    if not growth:
        if loss == 0 and fee == 0:
            return None, -1, -1
        if ledger.cross_equity(account) - loss - fee >= ledger.cross_maintenance_margin(account):
            return None, -1, -1
        return RejectCode.INSUFFICIENT_MARGIN, -1, -1
    if row is None:  # the order's market holds no resting order: its term is not in yet
        worst = max(abs(held + buys), abs(held - sells))
        if held and pos.isolated:  # type: ignore[union-attr]
            worst = max(0, worst - abs(held))
        required = add_margin(required, worst, mark, specs[market].imf)  # as above
    for m, p in positions.items():
        # a cross position in a market without orders; an isolated one needs nothing more
        if p.size and not p.isolated and m != market and not (exposure and m in exposure):
            required = add_margin(required, p.size, marks.get(m, 0), specs[m].imf)
    equity = ledger.cross_equity(account)
    if equity - loss - fee < required:
        return RejectCode.INSUFFICIENT_MARGIN, equity, required
    return None, equity, required


def checked_with_cache(ledger: Ledger, account: str, market: int, is_buy: bool, size: int,
                       price: int, exposure: dict[int, ExposureRow] | None) -> int | None:
    """`pre_trade_check_exposure` (fee 0) behind a per-account bound: the same answer.

    `ledger.risk_cache[account]` = RiskCell(R, E), R an upper bound of the initial margin the
    account's worst case needs (its positions and resting orders), E its exact cross
    equity (carried across each fill exactly; any other change of its cash drops the
    entry, a mark move or a funding step clears them all; see Ledger.risk_cache). A new
    order grows one market's worst case by at most its size, so it adds at most
    margin_requirement(size, mark, IMF) to the requirement (ceil(a + b) <= ceil(a) +
    ceil(b), twice). If the cross equity, computed exactly, minus the order's loss
    at mark covers R plus that, the exact check accepts too (R >= the exact
    requirement >= cross maintenance, so its non-growing branch accepts as well), and
    the order is accepted without it, R growing by the same amount. The resting
    orders' own loss at mark must be zero (exposure.no_resting_loss: one product per
    side, or a row's verdict kept for the marks' epoch), so cancels and maker fills,
    which only lower the worst case, need no update; a fill raises R in Ledger._trade unless R covers it already (a maker's, a
    checked taker's: see Engine._settle_matches), a mark change clears it. A miss, or a
    failed fast check, runs the exact check, which sets R to the exact requirement."""
    marks = ledger.marks
    mark = marks.get(market)
    cell = ledger.risk_cache.get(account) if mark is not None else None
    if cell is not None and (not exposure
                             or no_resting_loss(exposure, marks, ledger.mark_epoch)):
        # the order's loss at mark: none for most orders (compared, not subtracted)
        loss = 0
        if is_buy:
            if price > mark:  # type: ignore[operator]
                loss = mul_wad_up(size, price - mark)  # type: ignore[operator]
        elif mark > price:  # type: ignore[operator]
            loss = mul_wad_up(size, mark - price)  # type: ignore[operator]
        if cell.covers(ledger.size_margin(market, size), loss):  # R grows by it
            return None
    code, equity, required = _check_exposure(ledger, account, market, is_buy, size, price,
                                             exposure, 0)
    if code is None and required >= 0:  # then `equity` is the exact cross equity too
        if cell is None:
            ledger.risk_cache[account] = RiskCell(required, equity)
        else:
            cell.reset(required, equity)
    return code


def reduce_only_size(ledger: Ledger, account: str, market: int, is_buy: bool, size: int) -> int:
    """How much (WAD base) of a reduce-only order may still fill: min(size, |position|)
    if the order is on the closing side of the position, else 0."""
    pos = ledger.position(account, market)
    if pos is None or (pos.size > 0) == is_buy:
        return 0
    return min(size, abs(pos.size))


@dataclass(frozen=True, slots=True)
class StepReduction:
    """A proposed reduce-only order: `size` WAD base on side `is_buy`."""

    account: str
    market: int
    is_buy: bool
    size: int


class FundingRiskMonitor:
    """Tracks each account's funding outflow (payments > 0, WAD quote) over a rolling
    window (24 h by default, times in ms) and flags accounts whose outflow
    exceeds `outflow_fraction` (3%) of their initial margin. A flagged account
    whose equity is below `near_maintenance` (1.25) x maintenance margin and
    below initial margin, but not yet below maintenance, gets a step reduction:
    `step_fraction` (25%) of its largest position by notional at mark, rounded
    down to the step size."""

    def __init__(
        self,
        window_ms: int = DAY_MS,
        outflow_fraction: int = 3 * WAD // 100,
        near_maintenance: int = 125 * WAD // 100,
        step_fraction: int = 25 * WAD // 100,
    ) -> None:
        self.window_ms = window_ms
        self.outflow_fraction = outflow_fraction
        self.near_maintenance = near_maintenance
        self.step_fraction = step_fraction
        self._events: dict[str, deque[tuple[int, int]]] = {}
        self._outflow: dict[str, int] = {}
        self.flagged: set[str] = set()

    def outflow(self, account: str) -> int:
        """Funding paid by the account within the window, WAD quote."""
        return self._outflow.get(account, 0)

    def is_flagged(self, account: str) -> bool:
        return account in self.flagged

    def record(self, ledger: Ledger, payments: Iterable[tuple[str, int]], ts_ms: int
               ) -> tuple[list[str], list[str]]:
        """Add funding payments `(account, amount)` made at `ts_ms`, drop those older
        than the window, re-evaluate every tracked account; returns (newly flagged,
        newly unflagged), each sorted by address."""
        for account, amount in payments:
            if amount > 0 and account != INSURANCE:
                self._events.setdefault(account, deque()).append((ts_ms, amount))
                self._outflow[account] = self._outflow.get(account, 0) + amount
        horizon = ts_ms - self.window_ms
        flagged, unflagged = [], []
        for account in sorted(self._events):
            events = self._events[account]
            while events and events[0][0] <= horizon:
                self._outflow[account] -= events.popleft()[1]
            im = ledger.initial_margin(account)
            over = im > 0 and self._outflow[account] * WAD > self.outflow_fraction * im
            if over and account not in self.flagged:
                self.flagged.add(account)
                flagged.append(account)
            elif not over and account in self.flagged:
                self.flagged.discard(account)
                unflagged.append(account)
            if not events:
                del self._events[account]
                del self._outflow[account]
        return flagged, unflagged

    def step_reductions(self, ledger: Ledger) -> list[StepReduction]:
        """Step reductions for flagged accounts near (but not below) maintenance, sorted by account."""
        out = []
        for account in sorted(self.flagged):
            mm = ledger.maintenance_margin(account)
            equity = ledger.equity(account)
            if mm == 0 or equity < mm or equity * WAD >= self.near_maintenance * mm:
                continue
            if equity >= ledger.initial_margin(account):
                continue  # the Exchange takes a step order only below initial margin
            acct = ledger.accounts[account]
            best = max(
                ((rules.notional(p.size, ledger.marks.get(m, 0)), -m, m) for m, p in
                 acct.positions.items() if p.size),
                default=None,
            )
            if best is None:
                continue
            market = best[2]
            pos = acct.positions[market]
            step = ledger.markets[market].step_size
            size = mul_div(abs(pos.size), self.step_fraction, WAD, Rounding.DOWN) // step * step
            size = min(abs(pos.size), max(size, step))
            out.append(StepReduction(account, market, pos.size < 0, size))
        return out
