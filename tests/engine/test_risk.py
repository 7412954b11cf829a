"""engine.core.risk: pre-trade margin, reduce-only sizing and the funding-risk monitor."""

from __future__ import annotations

from engine.core.accounts import Ledger
from engine.core.codes import RejectCode
from engine.core.exposure import ExposureRow
from engine.core.markets import default_markets
import random

from engine.core.risk import (
    FundingRiskMonitor,
    StepReduction,
    pre_trade_check,
    pre_trade_check_exposure,
    reduce_only_size,
)

W = 10**18
TRADER = "0x1000000000000000000000000000000000000001"
MAKER = "0x2000000000000000000000000000000000000002"
ETH, BTC = 1, 2  # imf 5%, mmf 3%
HOUR_MS = 3_600_000


def ledger_with(trader: int, mark: int = 1000 * W) -> Ledger:
    ledger = Ledger({m.market_id: m for m in default_markets()})
    ledger.set_mark(ETH, mark)
    ledger.deposit(TRADER, trader)
    ledger.deposit(MAKER, 1_000_000 * W)
    return ledger


def test_pre_trade_check__exactly_initial_margin__accepts():
    ledger = ledger_with(100 * W)
    assert pre_trade_check(ledger, TRADER, ETH, True, 2 * W, 1000 * W, []) is None  # IM 100


def test_pre_trade_check__fee_pushes_below_initial_margin__rejects():
    ledger = ledger_with(100 * W)
    code = pre_trade_check(ledger, TRADER, ETH, True, 2 * W, 1000 * W, [], fee=1)
    assert code == RejectCode.INSUFFICIENT_MARGIN


def test_pre_trade_check__resting_buy_same_side__counts_worst_case():
    ledger = ledger_with(100 * W)
    resting = [(ETH, True, 1 * W, 900 * W)]  # worst case long 3: IM 150
    code = pre_trade_check(ledger, TRADER, ETH, True, 2 * W, 1000 * W, resting)
    assert code == RejectCode.INSUFFICIENT_MARGIN


def test_pre_trade_check__resting_sell_other_side__worst_side_only():
    ledger = ledger_with(100 * W)
    resting = [(ETH, False, 2 * W, 1100 * W)]  # max(|0 + 2|, |0 - 2|) = 2: IM 100
    assert pre_trade_check(ledger, TRADER, ETH, True, 2 * W, 1000 * W, resting) is None


def test_pre_trade_check__buy_above_mark__price_loss_counted():
    ledger = ledger_with(100 * W)
    # IM 1 x 1000 x 5% = 50, plus an immediate loss of 1 x (1100 - 1000) = 100
    code = pre_trade_check(ledger, TRADER, ETH, True, 1 * W, 1100 * W, [])
    assert code == RejectCode.INSUFFICIENT_MARGIN
    ledger.deposit(TRADER, 50 * W)
    assert pre_trade_check(ledger, TRADER, ETH, True, 1 * W, 1100 * W, []) is None


def test_pre_trade_check__market_without_mark__rejects():
    ledger = ledger_with(100 * W)
    code = pre_trade_check(ledger, TRADER, BTC, True, W, 1000 * W, [])
    assert code == RejectCode.NO_MARK_PRICE


def test_pre_trade_check__below_initial_margin__reduction_still_accepted():
    ledger = ledger_with(100 * W)
    ledger.apply_fill(ETH, TRADER, MAKER, 2 * W, 1000 * W, 0, 0)
    ledger.set_mark(ETH, 990 * W)  # equity 80, IM 99, MM 59.4
    assert pre_trade_check(ledger, TRADER, ETH, False, 1 * W, 990 * W, []) is None
    assert pre_trade_check(ledger, TRADER, ETH, False, 3 * W, 990 * W, []) is None  # to -1
    code = pre_trade_check(ledger, TRADER, ETH, True, 1 * W, 990 * W, [])
    assert code == RejectCode.INSUFFICIENT_MARGIN
    # selling 20 under mark leaves 60 >= MM 59.4; 40 under leaves 40 < 59.4
    assert pre_trade_check(ledger, TRADER, ETH, False, 1 * W, 970 * W, []) is None
    code = pre_trade_check(ledger, TRADER, ETH, False, 1 * W, 950 * W, [])
    assert code == RejectCode.INSUFFICIENT_MARGIN


def test_pre_trade_check__isolated_position__only_growth_needs_cross_margin():
    ledger = ledger_with(150 * W)
    ledger.apply_fill(ETH, TRADER, MAKER, 2 * W, 1000 * W, 0, 0, buyer_isolated=True)
    assert ledger.cross_equity(TRADER) == 50 * W  # 150 - 100 allocated
    assert pre_trade_check(ledger, TRADER, ETH, True, 1 * W, 1000 * W, []) is None  # needs 50
    code = pre_trade_check(ledger, TRADER, ETH, True, 2 * W, 1000 * W, [])
    assert code == RejectCode.INSUFFICIENT_MARGIN  # needs 100


def test_reduce_only_size__each_side__clamped_to_position():
    ledger = ledger_with(1_000 * W)
    assert reduce_only_size(ledger, TRADER, ETH, False, W) == 0  # flat
    ledger.apply_fill(ETH, TRADER, MAKER, 2 * W, 1000 * W, 0, 0)
    assert reduce_only_size(ledger, TRADER, ETH, False, 5 * W) == 2 * W
    assert reduce_only_size(ledger, TRADER, ETH, False, 1 * W) == 1 * W
    assert reduce_only_size(ledger, TRADER, ETH, True, 1 * W) == 0
    assert reduce_only_size(ledger, MAKER, ETH, True, 3 * W) == 2 * W


def flagged_setup() -> tuple[Ledger, FundingRiskMonitor]:
    ledger = ledger_with(1_000 * W)
    ledger.apply_fill(ETH, TRADER, MAKER, 10 * W, 1000 * W, 0, 0)  # IM 500; 3% = 15
    return ledger, FundingRiskMonitor()


def test_funding_risk_monitor__outflow_over_three_percent__flags_then_expires():
    ledger, monitor = flagged_setup()
    assert monitor.record(ledger, [(TRADER, 10 * W), (MAKER, -10 * W)], 0) == ([], [])
    assert monitor.record(ledger, [(TRADER, 6 * W), (MAKER, -6 * W)], 8 * HOUR_MS) == ([TRADER], [])
    assert monitor.is_flagged(TRADER) and monitor.outflow(TRADER) == 16 * W
    # 24 h after the first payment it leaves the window: 6 <= 15
    assert monitor.record(ledger, [], 24 * HOUR_MS) == ([], [TRADER])
    assert monitor.outflow(TRADER) == 6 * W
    assert monitor.outflow(MAKER) == 0  # receipts are not outflow


def test_funding_risk_monitor__exactly_three_percent__not_flagged():
    ledger, monitor = flagged_setup()
    assert monitor.record(ledger, [(TRADER, 10 * W)], 0) == ([], [])
    assert monitor.record(ledger, [(TRADER, 5 * W)], HOUR_MS) == ([], [])  # 15 is not > 15


def test_step_reductions__flagged_near_maintenance__quarter_of_largest_position():
    ledger, monitor = flagged_setup()
    monitor.record(ledger, [(TRADER, 16 * W)], 0)
    assert monitor.step_reductions(ledger) == []  # equity 1000 >= 1.25 x MM 300
    ledger.set_mark(ETH, 930 * W)  # equity 300, MM 279, 1.25 x MM 348.75
    assert monitor.step_reductions(ledger) == [StepReduction(TRADER, ETH, False, 2_500 * W // 1000)]
    ledger.set_mark(ETH, 920 * W)  # equity 200 < MM 276: liquidation's job, not a step
    assert monitor.step_reductions(ledger) == []


def test_step_reductions__near_maintenance_but_above_initial_margin__none():
    """With near_maintenance 2 x MM (6% > IMF 5%), an account can be 'near' and still
    meet initial margin: the Exchange would refuse its step order, so none is made."""
    ledger, _ = flagged_setup()
    monitor = FundingRiskMonitor(near_maintenance=2 * W)
    monitor.record(ledger, [(TRADER, 16 * W)], 0)
    ledger.set_mark(ETH, 950 * W)  # equity 500, IM 475, 2 x MM 570
    assert monitor.step_reductions(ledger) == []
    ledger.set_mark(ETH, 946 * W)  # equity 460 < IM 473: a step
    assert monitor.step_reductions(ledger) == [StepReduction(TRADER, ETH, False, 2_500 * W // 1000)]


def _random_case(rng: random.Random) -> tuple:
    """A seeded ledger (positions cross / isolated, marks sometimes missing, funding
    moved), the engine's exposure rows, and an order, near the margin boundary."""
    ledger = Ledger({m.market_id: m for m in default_markets()})
    ledger.set_mark(ETH, rng.randint(900, 1100) * W + rng.randint(0, W))
    ledger.set_mark(BTC, rng.randint(20_000, 40_000) * W)
    ledger.deposit(MAKER, 10**9 * W)
    ledger.deposit(TRADER, rng.randint(1, 400) * W + rng.randint(0, W))
    for market, price in ((ETH, 1000 * W), (BTC, 30_000 * W)):
        if rng.random() < 0.6:
            size = rng.randint(1, 300) * W // 1000
            buyer, seller = (TRADER, MAKER) if rng.random() < 0.5 else (MAKER, TRADER)
            ledger.apply_fill(market, buyer, seller, size, price, 0, 0,
                              buyer_isolated=rng.random() < 0.3,
                              seller_isolated=rng.random() < 0.3)
    if rng.random() < 0.3:
        ledger.apply_funding(ETH, rng.randint(-10**15, 10**15))
    if rng.random() < 0.2:
        del ledger.marks[BTC]
    exposure: dict[int, ExposureRow] = {}
    resting = []
    for market, base in ((ETH, 1000 * W), (BTC, 30_000 * W)):
        for is_buy in (True, False):
            for _ in range(rng.choice((0, 0, 1, 2))):
                size = rng.randint(1, 200) * W // 1000
                price = base + rng.randint(-50, 50) * base // 1000
                exposure.setdefault(market, ExposureRow()).add(is_buy, size, price)
    for market, row in exposure.items():
        bs, bn, ss, sn = row.values()
        if bs:
            resting.append((market, True, bs, -(-bn // bs)))
        if ss:
            resting.append((market, False, ss, sn // ss))
    market = rng.choice((ETH, ETH, BTC))
    base = 1000 * W if market == ETH else 30_000 * W
    order = (market, rng.random() < 0.5, rng.randint(1, 400) * W // 1000,
             base + rng.randint(-80, 80) * base // 1000)
    return ledger, exposure, resting, order, rng.choice((0, 0, W // 10))


def test_pre_trade_check_exposure__2000_seeded_cases__same_answer_as_pre_trade_check():
    rng = random.Random(20241125)
    answers = set()
    for _ in range(2_000):
        ledger, exposure, resting, (market, is_buy, size, price), fee = _random_case(rng)
        expected = pre_trade_check(ledger, TRADER, market, is_buy, size, price, resting, fee)
        got = pre_trade_check_exposure(ledger, TRADER, market, is_buy, size, price,
                                       exposure or None, fee)
        assert got == expected
        # the engine keeps a row at zeros once its orders are gone: read as no row
        zeroed = {m: exposure.get(m, ExposureRow()) for m in (ETH, BTC)}
        assert pre_trade_check_exposure(ledger, TRADER, market, is_buy, size, price,
                                        zeroed, fee) == expected
        answers.add(expected)
    # the cases reach every outcome, so the comparison is not vacuous
    assert answers == {None, RejectCode.INSUFFICIENT_MARGIN, RejectCode.NO_MARK_PRICE}
