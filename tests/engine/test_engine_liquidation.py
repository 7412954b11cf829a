"""Liquidation -> insurance takeover -> ADL, and funding at UTC timestamps, worked by hand.

Scenario (ETH, IMF 5%, MMF 3%, taker 0.05%, maker 0.02%, liquidation fee 0.5%):
the trader deposits 120 and buys 1 ETH at 2000 from the maker (taker fee 1):
cash 120 - 2000 - 1 = -1881. A bidder rests 0.4 ETH at 1900. The index (and,
with a one-sided book, the mark) drops to 1930: equity -1881 + 1930 = 49 <
maintenance 1930 x 3% = 57.9. Bankruptcy price 1930 - 49 / 1 = 1881.
The liquidation IOC sells 0.4 at 1900 (>= 1881): cash -1881 + 760 = -1121,
equity -1121 + 0.6 x 1930 = 37, fee min(0.5% x 760 = 3.8, 37) = 3.8 to
insurance: cash -1124.8. The remaining 0.6 goes at the new bankruptcy price
1930 - 33.2 / 0.6 = 1874.666..., rounded up to 1874666666666666666667 wei:
the trader receives floor(0.6 x that) = 1124.8 exactly and ends at cash 0;
the taker of the position pays 1 wei more (dust to insurance).
"""

from __future__ import annotations

from engine.core.accounts import INSURANCE
from engine.core.commands import Deposit, Tick, UpdateIndex
from engine.core.events import (
    AutoDeleveraged,
    FundingApplied,
    InsuranceTakeover,
    LiquidationStarted,
    TradeExecuted,
)
from engine.core.rules import FLAG_IOC
from engine.core.wad import WAD
from tests.engine.engine_helpers import (
    BIDDER,
    ETH,
    MAKER,
    T0,
    TRADER,
    funded,
    kinds,
    of,
    order,
    place,
)

MILLI = WAD // 1000
BANKRUPT_REST = 1_874_666_666_666_666_666_667


def scenario(insurance: int = 0):
    engine = funded(TRADER, amount=120 * WAD)
    engine.apply(Deposit(MAKER, 100_000 * WAD, T0))
    engine.apply(Deposit(BIDDER, 100_000 * WAD, T0))
    if insurance:
        engine.apply(Deposit(INSURANCE, insurance, T0))
    place(engine, order(MAKER, False, WAD, 2_000 * WAD))
    place(engine, order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_IOC))
    place(engine, order(BIDDER, True, 400 * MILLI, 1_900 * WAD))
    return engine, engine.apply(UpdateIndex(ETH, 1_930 * WAD, T0 + 2_000))


def test_update_index__account_below_maintenance__liquidated_in_book_then_adl():
    engine, events = scenario()
    assert kinds(events) == ["MarkUpdated", "LiquidationStarted", "TradeExecuted",
                             "OrderCancelled", "AutoDeleveraged"]
    started = of(events, LiquidationStarted)[0]
    assert (started.account, started.is_buy, started.size) == (TRADER, False, WAD)
    assert (started.bankruptcy_price, started.equity, started.maintenance) == (
        1_881 * WAD, 49 * WAD, 57_900 * MILLI)
    trade = of(events, TradeExecuted)[0]
    assert (trade.maker, trade.taker, trade.size, trade.price) == (BIDDER, TRADER, 400 * MILLI,
                                                                  1_900 * WAD)
    assert (trade.maker_fee, trade.taker_fee, trade.liquidation) == (152 * MILLI, 3_800 * MILLI,
                                                                    True)
    assert trade.taker_order == started.order_hash
    adl = of(events, AutoDeleveraged)[0]
    # insurance holds only 3.8 + dust: taking 0.6 long at 1874.67 would leave it
    # 37 of equity against 0.6 x 1930 x 5% = 57.9 of initial margin, so ADL
    assert (adl.account, adl.counterparty, adl.size, adl.price) == (TRADER, MAKER, 600 * MILLI,
                                                                    BANKRUPT_REST)
    ledger = engine.ledger
    assert ledger.position(TRADER, ETH) is None and ledger.accounts[TRADER].cash == 0
    assert ledger.position(MAKER, ETH).size == -400 * MILLI
    assert ledger.insurance == 3_800 * MILLI + 1  # fee + rounding dust of the ADL transfer
    signed, sig = engine.signed_order(started.order_hash)
    assert signed.flags == 4 | 1 | 32 and sig == b""


def test_update_index__insurance_funded__takes_over_what_the_book_cannot():
    engine, events = scenario(insurance=1_000 * WAD)
    assert kinds(events)[-1] == "InsuranceTakeover"
    takeover = of(events, InsuranceTakeover)[0]
    assert (takeover.account, takeover.size, takeover.price) == (TRADER, 600 * MILLI,
                                                                BANKRUPT_REST)
    # 1000 + 3.8 fee - 1124.800000000000000001 paid for the position + 1 wei dust
    assert takeover.insurance_after == 1_000 * WAD + 3_800 * MILLI - 1_124_800 * MILLI
    assert engine.ledger.position(INSURANCE, ETH).size == 600 * MILLI
    assert engine.ledger.position(MAKER, ETH).size == -WAD


def test_positions__after_adl__rank_and_liquidation_price_queryable():
    engine, _ = scenario()
    (maker_pos,) = engine.positions(MAKER)
    assert maker_pos.size == -400 * MILLI and maker_pos.adl_rank == 1
    assert engine.adl_ranking(ETH, True)[0][0] == MAKER
    (bidder_pos,) = engine.positions(BIDDER)
    # the bidder's long (bought at 1900, mark 1930: PnL +12) heads the longs' queue,
    # which deleverages against a bankrupt short
    assert bidder_pos.adl_rank == 1 and bidder_pos.unrealized_pnl == 12 * WAD
    assert [a for a, _ in engine.adl_ranking(ETH, False)] == [BIDDER]
    assert maker_pos.liquidation_price is not None and bidder_pos.liquidation_price is None


def test_tick__two_funding_timestamps_missed__each_settled_separately():
    # Empty book: every premium sample is 0, so F = 0 + clamp(0.01% - 0, +-0.05%) = 0.01%.
    # Index step per interval: 0.01% x 2000 = 0.2; the long pays 0.2, the short receives it.
    engine = funded(MAKER, TRADER)
    place(engine, order(MAKER, False, WAD, 2_000 * WAD))
    place(engine, order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_IOC))
    interval = 8 * 3_600_000
    first = (T0 // interval + 1) * interval
    late = first + interval + 300_000
    events = engine.apply(Tick(late))
    funding = of(events, FundingApplied)
    assert [f.funding_ts_ms for f in funding] == [first, first + interval]
    assert [f.late_ms for f in funding] == [interval + 300_000, 300_000]
    for f in funding:
        assert (f.rate, f.premium, f.interest, f.mark) == (10**14, 0, 10**14, 2_000 * WAD)
        assert f.payments == ((MAKER, -WAD, -2 * WAD // 10), (TRADER, WAD, 2 * WAD // 10))
        assert f.dust == 0
    assert engine.ledger.funding_index[ETH] == 4 * WAD // 10
    # lazily owed: equity = cash + value - 0.4 owed
    assert engine.ledger.equity(TRADER) == 10_000 * WAD - 2_000 * WAD - WAD + 2_000 * WAD - 4 * WAD // 10
    assert [f.funding_ts_ms for f in engine.funding_history(ETH)] == [first, first + interval]


def test_tick__before_funding_timestamp__nothing_settled():
    engine = funded(MAKER, TRADER)
    interval = 8 * 3_600_000
    first = (T0 // interval + 1) * interval
    assert of(engine.apply(Tick(first - 1)), FundingApplied) == []
    assert len(of(engine.apply(Tick(first)), FundingApplied)) == 1
