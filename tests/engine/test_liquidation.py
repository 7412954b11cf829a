"""engine.core.liquidation: detection, bankruptcy price, fee cap, takeover and ADL."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings, strategies as st

from engine.core import liquidation as liq
from engine.core import rules
from engine.core.accounts import INSURANCE, Ledger
from engine.core.markets import default_markets

W = 10**18
TRADER = "0x1000000000000000000000000000000000000001"
MAKER = "0x2000000000000000000000000000000000000002"
TAKER = "0x3000000000000000000000000000000000000003"
STRANGER = "0x4000000000000000000000000000000000000004"
LIQUIDATOR = "0x5000000000000000000000000000000000000005"
ETH, BTC = 1, 2  # imf 5%, mmf 3%, liquidation fee 0.5%
LONG_LIQUIDATION_PRICE = 1_855_670_103_092_783_505_155  # ceil(9000 / 4.85), see test_accounts


def long_trader(deposit: int = 1_000 * W) -> Ledger:
    """TRADER long 5 @ 2000 with `deposit`; MAKER short 5 with a large deposit."""
    ledger = Ledger({m.market_id: m for m in default_markets()})
    ledger.set_mark(ETH, 2000 * W)
    ledger.deposit(TRADER, deposit)
    ledger.deposit(MAKER, 100_000 * W)
    ledger.apply_fill(ETH, TRADER, MAKER, 5 * W, 2000 * W, 0, 0)
    return ledger


def brute_force(ledger: Ledger) -> list[str]:
    return sorted(a for a in ledger.accounts if a != INSURANCE
                  and ledger.equity(a) < ledger.maintenance_margin(a))


def test_find_liquidatable__mark_moves_past_threshold__account_found():
    ledger = long_trader()
    assert liq.find_liquidatable(ledger) == []
    ledger.set_mark(ETH, 1856 * W)  # equity 280 >= MM 278.4
    assert liq.find_liquidatable(ledger, [ETH]) == []
    ledger.set_mark(ETH, 1855 * W)  # equity 275 < MM 278.25
    assert liq.find_liquidatable(ledger, [ETH]) == [TRADER]
    assert liq.find_liquidatable(ledger, [BTC]) == []  # only the named markets moved


def test_find_liquidatable__every_wei_around_threshold__matches_exact_check():
    ledger = long_trader()
    for mark in range(LONG_LIQUIDATION_PRICE - 40, LONG_LIQUIDATION_PRICE + 40):
        ledger.set_mark(ETH, mark)
        assert liq.find_liquidatable(ledger) == brute_force(ledger)
    ledger.set_mark(ETH, LONG_LIQUIDATION_PRICE - 10**6)
    assert liq.find_liquidatable(ledger) == [TRADER]
    ledger.set_mark(ETH, LONG_LIQUIDATION_PRICE + 10**6)
    assert liq.find_liquidatable(ledger) == []


def test_find_liquidatable__short_squeeze_and_deposit__index_follows_changes():
    ledger = Ledger({m.market_id: m for m in default_markets()})
    ledger.set_mark(ETH, 2000 * W)
    ledger.deposit(TRADER, 100_000 * W)
    ledger.deposit(MAKER, 1_000 * W)
    ledger.apply_fill(ETH, TRADER, MAKER, 5 * W, 2000 * W, 0, 0)
    ledger.set_mark(ETH, 2140 * W)  # short: 11000 - 10700 = 300 < MM 321
    assert liq.find_liquidatable(ledger) == [MAKER]
    ledger.deposit(MAKER, 100 * W)  # 400 >= 321
    assert liq.find_liquidatable(ledger) == []


def test_find_liquidatable__two_markets_cross__other_market_counts():
    ledger = long_trader()
    ledger.set_mark(BTC, 50_000 * W)
    ledger.deposit(TAKER, 100_000 * W)
    ledger.apply_fill(BTC, TRADER, TAKER, W // 10, 50_000 * W, 0, 0)  # long 0.1 BTC
    ledger.set_mark(ETH, 1900 * W)  # equity 500; MM 285 + 150 = 435
    assert liq.find_liquidatable(ledger) == []
    ledger.set_mark(BTC, 49_000 * W)  # equity 400; MM 285 + 147 = 432
    assert liq.find_liquidatable(ledger, [BTC]) == [TRADER]


def test_find_liquidatable__funding_paid__pushes_account_under():
    ledger = long_trader()
    ledger.set_mark(ETH, 1860 * W)  # equity 300, MM 279
    assert liq.find_liquidatable(ledger) == []
    ledger.apply_funding(ETH, 25 * 10**14)  # 0.25% x 1860 = 4.65 per base: 5 x 4.65 = 23.25 owed
    assert ledger.equity(TRADER) == 276_750_000_000_000_000_000
    assert liq.find_liquidatable(ledger) == [TRADER]


def test_find_liquidatable_units__isolated_position__only_that_unit():
    ledger = Ledger({m.market_id: m for m in default_markets()})
    ledger.set_mark(ETH, 1000 * W)
    ledger.deposit(TRADER, 1_000 * W)
    ledger.deposit(MAKER, 10_000 * W)
    ledger.apply_fill(ETH, TRADER, MAKER, 2 * W, 1000 * W, 0, 0, buyer_isolated=True)
    ledger.set_mark(ETH, 960 * W)  # isolated equity 20 < MM 57.6; the cross part holds 900
    assert liq.find_liquidatable_units(ledger) == [(TRADER, ETH)]
    assert ledger.equity(TRADER) >= ledger.maintenance_margin(TRADER)  # the chain sees no breach
    assert liq.bankruptcy_price(ledger, TRADER, ETH) == 950 * W  # 960 - 20 / 2


def test_bankruptcy_price__long_after_move__equity_zero_price():
    ledger = long_trader()
    ledger.set_mark(ETH, 1820 * W)  # equity 100 -> 1820 - 100 / 5
    assert liq.bankruptcy_price(ledger, TRADER, ETH) == 1800 * W
    assert liq.bankruptcy_price(ledger, MAKER, ETH) == 22_000 * W  # 1820 + 100900 / 5
    with pytest.raises(ValueError):
        liq.bankruptcy_price(ledger, STRANGER, ETH)


def test_liquidation_fee__capped_at_remaining_equity():
    ledger = long_trader()
    # 0.5% of 5 x 1820 = 45.5
    assert liq.liquidation_fee(ledger, ETH, 5 * W, 1820 * W, 100 * W) == 45_500_000_000_000_000_000
    assert liq.liquidation_fee(ledger, ETH, 5 * W, 1820 * W, 20 * W) == 20 * W
    assert liq.liquidation_fee(ledger, ETH, 5 * W, 1820 * W, -5 * W) == 0


def test_liquidation_order_size__long__sell_everything():
    ledger = long_trader()
    assert liq.liquidation_order_size(ledger, TRADER, ETH) == (False, 5 * W)
    assert liq.liquidation_order_size(ledger, MAKER, ETH) == (True, 5 * W)
    assert liq.liquidation_order_size(ledger, STRANGER, ETH) == (False, 0)


def adl_book() -> Ledger:
    """TRADER long 3 @ 2000 from MAKER and 2 @ 1900 from TAKER; STRANGER long 1 @ 1700
    from LIQUIDATOR; the mark falls to 1750, where TRADER's equity is -50."""
    ledger = Ledger({m.market_id: m for m in default_markets()})
    ledger.set_mark(ETH, 2000 * W)
    for account, amount in ((TRADER, 1000), (MAKER, 1000), (TAKER, 200), (STRANGER, 1000),
                            (LIQUIDATOR, 1000)):
        ledger.deposit(account, amount * W)
    ledger.apply_fill(ETH, TRADER, MAKER, 3 * W, 2000 * W, 0, 0)
    ledger.apply_fill(ETH, TRADER, TAKER, 2 * W, 1900 * W, 0, 0)
    ledger.apply_fill(ETH, STRANGER, LIQUIDATOR, 1 * W, 1700 * W, 0, 0)
    ledger.set_mark(ETH, 1750 * W)
    return ledger


def test_adl_ranking__worked_example__pnl_pct_times_leverage():
    ledger = adl_book()
    assert ledger.equity(TRADER) == -50 * W  # 1000 - 9800 + 5 x 1750
    # TAKER: PnL 300 / cost 3800 = 0.078947368421052631; leverage 3500 / 500 = 7
    # MAKER: PnL 750 / cost 6000 = 0.125; leverage 5250 / 1750 = 3
    # LIQUIDATOR (short 1 @ 1700) is losing 50: not in the queue
    assert liq.adl_ranking(ledger, ETH, side_is_long=True) == [
        (TAKER, 552_631_578_947_368_417), (MAKER, 375_000_000_000_000_000)]
    # STRANGER: 50 / 1700 = 0.029411764705882352; leverage 1750 / 1050
    assert liq.adl_ranking(ledger, ETH, side_is_long=False) == [(STRANGER, 49_019_607_843_137_253)]
    assert [liq.adl_rank(ledger, a, ETH) for a in (TAKER, MAKER, LIQUIDATOR, STRANGER, TRADER)] == [
        1, 2, None, 1, None]


def test_plan_takeover_and_adl__empty_fund__adl_in_rank_order_at_bankruptcy_price():
    ledger = adl_book()
    price = liq.bankruptcy_price(ledger, TRADER, ETH)
    assert price == 1760 * W  # 1750 + 50 / 5
    plan = liq.plan_takeover_and_adl(ledger, TRADER, ETH, 5 * W, price)
    assert plan == [liq.Transfer(TAKER, 2 * W, 1760 * W, "adl"),
                    liq.Transfer(MAKER, 3 * W, 1760 * W, "adl")]
    for leg in plan:
        ledger.transfer_position(ETH, TRADER, leg.counterparty, leg.size, leg.price)
    assert ledger.position(TRADER, ETH) is None
    assert ledger.accounts[TRADER].cash == 0  # -9800 + 5 x 1760
    assert ledger.equity(MAKER) == 1_720 * W  # 1000 + 3 x (2000 - 1760)
    assert ledger.equity(TAKER) == 480 * W  # 200 + 2 x (1900 - 1760)
    ledger.check_invariants()


def test_plan_takeover_and_adl__funded_insurance__takes_over():
    ledger = adl_book()
    ledger.deposit(INSURANCE, 1_000 * W)
    # after: equity 1000 - 5 x 1760 + 5 x 1750 = 950 >= IM 437.5
    assert liq.insurance_can_take_over(ledger, ETH, 5 * W, 1760 * W)
    plan = liq.plan_takeover_and_adl(ledger, TRADER, ETH, 5 * W, 1760 * W)
    assert plan == [liq.Transfer(INSURANCE, 5 * W, 1760 * W, "takeover")]
    ledger.transfer_position(ETH, TRADER, INSURANCE, 5 * W, 1760 * W)
    assert ledger.equity(INSURANCE) == 950 * W
    assert liq.find_liquidatable(ledger) == []  # the fund itself is never liquidated


def test_plan_takeover_and_adl__fund_just_short__adl_instead():
    ledger = adl_book()
    ledger.deposit(INSURANCE, 487_500_000_000_000_000_000 - 1)  # needs 50 + 437.5
    assert not liq.insurance_can_take_over(ledger, ETH, 5 * W, 1760 * W)
    ledger.deposit(INSURANCE, 1)
    assert liq.insurance_can_take_over(ledger, ETH, 5 * W, 1760 * W)


def test_plan_takeover_and_adl__queue_too_short__losing_positions_follow_by_address():
    ledger = adl_book()
    # only MAKER (short 3 @ 2000) is in profit: 150 / 6000 = 0.025 x leverage 5850 / 1150
    ledger.set_mark(ETH, 1950 * W)
    assert liq.adl_ranking(ledger, ETH, side_is_long=True) == [(MAKER, 127_173_913_043_478_260)]
    # at 2200 the empty fund cannot take 5 over: -11000 + 9750 < 0
    plan = liq.plan_takeover_and_adl(ledger, TRADER, ETH, 5 * W, 2200 * W)
    assert plan == [liq.Transfer(MAKER, 3 * W, 2200 * W, "adl"),
                    liq.Transfer(TAKER, 2 * W, 2200 * W, "adl")]
    with pytest.raises(ValueError):
        liq.plan_takeover_and_adl(ledger, TRADER, ETH, 5 * W + 1, 2200 * W)


def test_liquidation_records__cross_isolated_and_multi_units__equal_bankruptcy_price():
    ledger = long_trader(1_000 * W)  # TRADER: one cross position (index constant path)
    ledger.deposit(TAKER, 2_000 * W)  # TAKER: cross ETH + BTC (several positions)
    ledger.apply_fill(ETH, TAKER, MAKER, 4 * W, 2000 * W, 0, 0)
    ledger.set_mark(BTC, 30_000 * W)
    ledger.apply_fill(BTC, MAKER, TAKER, W // 10, 30_000 * W, 0, 0)
    ledger.deposit(STRANGER, 600 * W)  # STRANGER: isolated short ETH
    ledger.apply_fill(ETH, MAKER, STRANGER, 6 * W, 2000 * W, 0, 0, seller_isolated=True)
    ledger.apply_funding(ETH, 10**14)  # funding owed enters every constant
    ledger.set_mark(ETH, 2_000 * W)
    assert liq.find_liquidatable_units(ledger) == []
    ledger.set_mark(ETH, 2_100 * W)
    ledger.set_mark(BTC, 33_000 * W)
    units = [(TRADER, liq.CROSS), (TAKER, liq.CROSS), (STRANGER, ETH)]
    records = liq.liquidation_records(ledger, units)
    assert [(r[0], r[1], r[2], r[3]) for r in records] == [
        (TRADER, ETH, False, 5 * W), (TAKER, ETH, False, 4 * W), (TAKER, BTC, True, W // 10),
        (STRANGER, ETH, True, 6 * W)]
    assert [r[4] for r in records] == [liq.bankruptcy_price(ledger, r[0], r[1]) for r in records]
    # found and priced in one pass: only the short is below maintenance at 2100
    assert liq.find_liquidatable_units(ledger) == [(STRANGER, ETH)]
    assert liq.find_liquidation_records(ledger) == records[3:]
    # the index path and the ledger path agree after the index re-keys a changed account
    ledger.deposit(TRADER, 1)
    assert liq.liquidation_records(ledger, units[:1])[0][4] == liq.bankruptcy_price(
        ledger, TRADER, ETH)


# ---- the index paths: multi books, the band around a bound, dust, order ----------------
CROSS_TWO_MARKETS_SAFE = 1_886_597_938_144_329_896_908  # ceil(9150 / 4.85): the first safe mark


def two_market_trader() -> Ledger:
    """TRADER cross long 5 ETH @ 2000 and 0.1 BTC @ 50,000 with 1,000 deposited: cross
    equity 5m - 9000 against MM 0.15m + 150 (BTC at 50,000), so liquidatable below
    9150 / 4.85 = 1886.5979..."""
    ledger = long_trader()
    ledger.set_mark(BTC, 50_000 * W)
    ledger.apply_fill(BTC, TRADER, MAKER, W // 10, 50_000 * W, 0, 0)
    return ledger


def test_find_liquidatable_units__multi_position_account_at_boundary__found_exactly():
    ledger = two_market_trader()
    assert liq.find_liquidatable_units(ledger) == []  # builds the ETH and BTC multi books
    ledger.set_mark(ETH, CROSS_TWO_MARKETS_SAFE)
    assert liq.find_liquidatable_units(ledger, [ETH]) == []
    ledger.set_mark(ETH, CROSS_TWO_MARKETS_SAFE - 1)
    assert liq.find_liquidatable_units(ledger, [ETH]) == [(TRADER, liq.CROSS)]
    for mark in range(CROSS_TWO_MARKETS_SAFE - 40, CROSS_TWO_MARKETS_SAFE + 40):
        ledger.set_mark(ETH, mark)
        assert liq.find_liquidatable(ledger, [ETH]) == brute_force(ledger)


def test_find_liquidatable_units__other_market_moves_then_deposit__multi_book_follows():
    ledger = two_market_trader()
    ledger.set_mark(ETH, 1_900 * W)  # equity 500 >= MM 285 + 150
    assert liq.find_liquidatable_units(ledger, [ETH]) == []
    ledger.set_mark(BTC, 48_000 * W)  # equity 300 < MM 285 + 144: the ETH book is rebuilt
    assert liq.find_liquidatable_units(ledger, [ETH]) == [(TRADER, liq.CROSS)]
    ledger.deposit(TRADER, 129 * W)  # 429 = MM: not below; the account is re-keyed
    assert liq.find_liquidatable_units(ledger, [ETH]) == []
    ledger.withdraw(TRADER, 1, enforce_margin=False)
    assert liq.find_liquidatable_units(ledger, [ETH]) == [(TRADER, liq.CROSS)]
    assert liq.find_liquidatable_units(ledger) == [(TRADER, liq.CROSS)]  # found once


def test_find_liquidatable_units__dust_position__wide_bounds_checked_exactly():
    ledger = Ledger({m.market_id: m for m in default_markets()})
    ledger.set_mark(ETH, 2000 * W)
    ledger.deposit(TRADER, 10**8)
    ledger.deposit(MAKER, 100 * W)
    ledger.apply_fill(ETH, TRADER, MAKER, 10**6, 2000 * W, 0, 0)  # long 1e-12 ETH
    assert liq.find_liquidatable_units(ledger) == []
    assert (TRADER, liq.CROSS) in ledger.liq_index.singles[ETH][0].wide  # bounds > NARROW apart
    for mark in range(1_958_762_887 * 10**12 - 5_000, 1_958_762_887 * 10**12 + 5_000, 250):
        ledger.set_mark(ETH, mark)
        assert liq.find_liquidatable(ledger, [ETH]) == brute_force(ledger)
    ledger.set_mark(ETH, 1_958_762_887 * 10**12 - 1)  # 1e8 + 1958.76... - 2000 < MM
    assert liq.find_liquidatable_units(ledger, [ETH]) == [(TRADER, liq.CROSS)]
    assert liq.find_liquidation_records(ledger, [ETH]) == [  # a wide key carries no terms
        (TRADER, ETH, False, 10**6, liq.bankruptcy_price(ledger, TRADER, ETH))]
    ledger.set_mark(ETH, 1_958_762_887 * 10**12)
    assert liq.find_liquidatable_units(ledger, [ETH]) == []


def test_find_liquidatable_units__cross_and_isolated_in_two_markets__sorted_by_account_then_tag():
    ledger = Ledger({m.market_id: m for m in default_markets()})
    ledger.set_mark(ETH, 2000 * W)
    ledger.set_mark(BTC, 30_000 * W)
    for account in (TRADER, TAKER, STRANGER):
        ledger.deposit(account, 1_000 * W)
    ledger.deposit(MAKER, 1_000_000 * W)
    ledger.apply_fill(ETH, TRADER, MAKER, 5 * W, 2000 * W, 0, 0)  # TRADER: cross, two markets
    ledger.apply_fill(BTC, TRADER, MAKER, W // 10, 30_000 * W, 0, 0)
    # TAKER: isolated longs 2 ETH (margin 200) and 0.1 BTC (margin 150)
    ledger.apply_fill(ETH, TAKER, MAKER, 2 * W, 2000 * W, 0, 0, buyer_isolated=True)
    ledger.apply_fill(BTC, TAKER, MAKER, W // 10, 30_000 * W, 0, 0, buyer_isolated=True)
    # STRANGER: cross short 1 ETH, isolated long 0.1 BTC (margin 150)
    ledger.apply_fill(ETH, MAKER, STRANGER, 1 * W, 2000 * W, 0, 0)
    ledger.apply_fill(BTC, STRANGER, MAKER, W // 10, 30_000 * W, 0, 0, buyer_isolated=True)
    assert liq.find_liquidatable_units(ledger) == []
    ledger.set_mark(BTC, 20_000 * W)  # every BTC long loses 1,000
    ledger.set_mark(ETH, 1_000 * W)  # TRADER: 1000 - 5000 - 1000 < MM; STRANGER's short gains
    assert liq.find_liquidatable_units(ledger) == [  # TRADER once, from both markets' books
        (TRADER, liq.CROSS), (TAKER, ETH), (TAKER, BTC), (STRANGER, BTC)]
    ledger.set_mark(ETH, 3_000 * W)  # STRANGER's cross part: 850 - 1000 < MM 90
    assert liq.find_liquidatable_units(ledger, [BTC, ETH]) == [
        (TAKER, BTC), (STRANGER, liq.CROSS), (STRANGER, BTC)]
    assert liq.find_liquidatable(ledger) == [TAKER, STRANGER]


def test_find_liquidatable_units__mark_on_sure_bound__exact_check_decides():
    ledger = Ledger({m.market_id: m for m in default_markets()})
    ledger.set_mark(ETH, 3000 * W)
    ledger.deposit(TRADER, 1_000 * W)
    ledger.deposit(MAKER, 1_000_000 * W)
    ledger.apply_fill(ETH, TRADER, MAKER, 3 * W + 7, 3000 * W, 0, 0)  # C = 1000 - 9000.000...021
    assert liq.find_liquidatable_units(ledger) == []
    # the linear root is 2749.140893470790378808...: at its ceiling the rounded terms of
    # equity - MM still fall short by a wei, which only the exact check sees
    ledger.set_mark(ETH, 2_749_140_893_470_790_378_809)
    assert liq.find_liquidatable_units(ledger, [ETH]) == [(TRADER, liq.CROSS)]
    assert brute_force(ledger) == [TRADER]
    ledger.set_mark(ETH, 2_749_140_893_470_790_378_810)
    assert liq.find_liquidatable_units(ledger, [ETH]) == [] == brute_force(ledger)


def test_find_liquidatable_units__marks_of_two_markets_alternate__linear_then_keyed_book():
    ledger = two_market_trader()
    assert liq.find_liquidatable_units(ledger) == []  # both books built keyed
    ledger.set_mark(BTC, 49_000 * W)
    ledger.set_mark(ETH, 1_900 * W)  # equity 1000 - 500 - 100 = 400 < MM 285 + 147
    assert liq.find_liquidatable_units(ledger, [ETH]) == [(TRADER, liq.CROSS)]
    assert ledger.liq_index.books[ETH].lists is None  # rebuilt: linear
    ledger.set_mark(BTC, 49_500 * W)  # equity 450 >= MM 285 + 148.5
    assert liq.find_liquidatable_units(ledger, [ETH]) == []
    assert ledger.liq_index.books[ETH].lists is None  # rebuilt again: linear
    ledger.set_mark(ETH, 1_896 * W)  # equity 430 < MM 284.4 + 148.5; same BTC mark: keyed
    assert liq.find_liquidatable_units(ledger, [ETH]) == [(TRADER, liq.CROSS)]
    assert ledger.liq_index.books[ETH].lists is not None
    safe = 1_896_597_938_144_329_896_908  # ceil(9198.5 / 4.85)
    for mark in range(safe - 40, safe + 40):
        ledger.set_mark(ETH, mark)
        assert liq.find_liquidatable_units(ledger, [ETH]) == (
            [(TRADER, liq.CROSS)] if mark < safe else [])
    ledger.set_mark(BTC, 50_000 * W)  # rebuilt linear again
    ledger.deposit(TRADER, 2)
    ledger.set_mark(ETH, CROSS_TWO_MARKETS_SAFE - 1)  # 2 wei short of MM, 2 wei deposited
    assert liq.find_liquidatable_units(ledger, [ETH]) == []
    assert ledger.liq_index.books[ETH].lists is None
    ledger.withdraw(TRADER, 1, enforce_margin=False)  # its second sweep keys the book
    assert liq.find_liquidatable_units(ledger, [ETH]) == [(TRADER, liq.CROSS)] == [
        (a, liq.CROSS) for a in brute_force(ledger)]
    assert ledger.liq_index.books[ETH].lists is not None
    ledger.deposit(TRADER, 1)  # 0 = MM, not below: re-keyed into the keyed book
    assert liq.find_liquidatable_units(ledger, [ETH]) == []


def exact_units(ledger: Ledger, market: int | None = None) -> list[tuple[str, int]]:
    """Every unit below maintenance by the ledger's own formulas (holding `market`, if given)."""
    units = []
    for account, acct in ledger.accounts.items():
        for tag in {liq.CROSS if not p.isolated else m for m, p in acct.positions.items()
                    if p.size and market in (None, m)}:
            if account != INSURANCE and liq.unit_is_liquidatable(ledger, account, tag):
                units.append((account, tag))
    return sorted(units)


POSITION = st.tuples(st.sampled_from([ETH, BTC]), st.booleans(), st.booleans(),
                     st.sampled_from([10**6, 3 * W + 7, W // 3, 5 * W, 123_456_789_012_345]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 400), st.lists(POSITION, min_size=1, max_size=3)),
                min_size=1, max_size=8),
       st.lists(st.tuples(st.sampled_from([ETH, BTC]), st.integers(-300, 300)), max_size=12))
def test_find_liquidatable_units__random_accounts_and_moves__equal_exact_check(accounts, moves):
    ledger = Ledger({m.market_id: m for m in default_markets()})
    marks = {ETH: 2000 * W, BTC: 30_000 * W}
    for market, mark in marks.items():
        ledger.set_mark(market, mark)
    ledger.deposit(MAKER, 10**9 * W)
    for n, (deposit, positions) in enumerate(accounts):
        account = f"0x{n + 16:040x}"
        ledger.deposit(account, deposit * W // 7)
        for market, is_long, isolated, size in positions:
            buyer, seller = (account, MAKER) if is_long else (MAKER, account)
            ledger.apply_fill(market, buyer, seller, size, marks[market], 0, 0,
                              buyer_isolated=isolated and is_long,
                              seller_isolated=isolated and not is_long)
    assert liq.find_liquidatable_units(ledger) == exact_units(ledger)
    for market, permille in moves:  # mark moves of -30% .. +30%, one market at a time
        ledger.set_mark(market, marks[market] * (1000 + permille) // 1000 + permille)
        assert liq.find_liquidatable_units(ledger, [market]) == exact_units(ledger, market)
        assert liq.find_liquidation_records(ledger, [market]) == liq.liquidation_records(
            ledger, exact_units(ledger, market))
    units = liq.find_liquidatable_units(ledger)
    assert units == exact_units(ledger)
    assert liq.find_liquidation_records(ledger) == liq.liquidation_records(ledger, units)
    assert [r[4] for r in liq.liquidation_records(ledger, units)] == [
        liq.bankruptcy_price(ledger, account, market) for account, tag in units
        for market in sorted(ledger.accounts[account].positions)
        if ledger.accounts[account].positions[market].size
        and (tag == liq.CROSS) != ledger.accounts[account].positions[market].isolated
        and tag in (liq.CROSS, market)]


@settings(max_examples=300, deadline=None)
@given(size=st.integers(-10**24, 10**24), mark=st.integers(0, 10**26),
       mmf=st.integers(0, 10**18))
def test_excess__any_position__equals_value_minus_maintenance_of_rules(size, mark, mmf):
    assert liq._excess(size, mark, mmf) == (rules.position_value(size, mark)
                                            - rules.margin_requirement(size, mark, mmf))


def test_ledger_pickle__liquidation_index_left_out__rebuilt_with_the_same_units():
    ledger = two_market_trader()
    ledger.set_mark(ETH, CROSS_TWO_MARKETS_SAFE - 1)
    assert liq.find_liquidatable_units(ledger) == [(TRADER, liq.CROSS)]
    restored = pickle.loads(pickle.dumps(ledger))
    assert ledger.liq_index is not None and restored.liq_index is None  # a cache, not state
    assert liq.find_liquidatable_units(restored) == [(TRADER, liq.CROSS)]
    assert liq.find_liquidation_records(restored) == liq.find_liquidation_records(ledger)
