"""Every reject code, produced by a real command, and the published table in docs/."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from engine.core.codes import RejectCode
from engine.core.commands import (
    CancelOrder,
    Deposit,
    PlaceOrder,
    SetStake,
    UpdateIndex,
    Withdraw,
)
from engine.core.engine import Engine, _is_plain
from engine.core.events import CancelRejected, CommandRejected, OrderRejected, WithdrawalRejected
from engine.core.markets import default_markets
from engine.core.rules import (
    FLAG_FOK,
    FLAG_IOC,
    FLAG_LIQUIDATION,
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
)
from engine.core.validation import PLAIN_FLAGS, check_shape
from engine.core.wad import WAD
from tests.engine.engine_helpers import (
    ETH,
    MAKER,
    STRANGER,
    T0,
    TAKER,
    TRADER,
    funded,
    ohash,
    order,
    place,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "reject-codes.md"


def rejected(events: list) -> tuple[int, str]:
    (ev,) = [e for e in events if isinstance(
        e, (OrderRejected, CancelRejected, CommandRejected, WithdrawalRejected))]
    return ev.code, ev.message


def test_reject_codes__doc_table__lists_exactly_the_enum():
    rows = re.findall(r"^\| (\d{4}) \| `([A-Z_]+)` \|", DOC.read_text(), re.M)
    assert sorted((int(c), n) for c, n in rows) == sorted((c.value, c.name) for c in RejectCode)


def test_reject_codes__ranges__validation_risk_matching():
    assert {c.category for c in RejectCode if 1000 <= c < 2000} == {"validation"}
    assert {c.category for c in RejectCode if 2000 <= c < 3000} == {"risk"}
    assert {c.category for c in RejectCode if 3000 <= c < 4000} == {"matching"}


SHAPE_CASES = [
    (order(TRADER, True, WAD, 2_000 * WAD, market=9), 1001, "market: 9"),
    (order(TRADER, True, 0, 2_000 * WAD), 1002, "size"),
    (order(TRADER, True, WAD + 1, 2_000 * WAD), 1003, "size"),
    (order(TRADER, True, WAD, 2_000 * WAD + 1), 1004, "limit_price"),
    (order(TRADER, True, WAD, 2_000 * WAD, expiry=T0 // 1000), 1005, "expiry"),
    (order(TRADER, True, WAD, 2_000 * WAD, max_fee_rate=10**14), 1006, "max_fee_rate"),
    (order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_POST_ONLY | FLAG_IOC), 1008, "flags"),
    (order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_IOC | FLAG_FOK), 1008, "flags"),
    (order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_LIQUIDATION), 1008, "flags"),
    (order(TRADER, True, WAD, 2_000 * WAD, flags=64), 1008, "flags"),
    (order(TRADER, True, WAD, 0), 1011, "limit_price"),
    (order(TRADER, True, WAD, 2_000 * WAD, trigger=1), 1013, "trigger_price"),
]


@pytest.mark.parametrize(("bad", "code", "field"), SHAPE_CASES)
def test_apply__malformed_order__rejected_with_code_naming_field(bad, code, field):
    engine = funded(TRADER, MAKER)
    place(engine, order(MAKER, False, WAD, 2_000 * WAD))  # so a buy at 2000 is a taker
    got_code, message = rejected(place(engine, bad))
    assert got_code == code
    assert message.startswith(field)


def test_apply__same_order_hash_twice__rejected_1007():
    engine = funded(TRADER)
    o = order(TRADER, True, WAD, 1_990 * WAD)
    place(engine, o)
    assert rejected(place(engine, o))[0] == RejectCode.DUPLICATE_ORDER


def test_apply__cancel_unknown_hash__rejected_1009():
    engine = funded(TRADER)
    events = engine.apply(CancelOrder(TRADER, b"\x07" * 32, T0 + 1))
    assert rejected(events)[0] == RejectCode.UNKNOWN_ORDER


def test_apply__cancel_of_another_accounts_order__rejected_1010():
    engine = funded(TRADER)
    o = order(TRADER, True, WAD, 1_990 * WAD)
    place(engine, o)
    assert rejected(engine.apply(CancelOrder(STRANGER, ohash(o), T0 + 2)))[0] == 1010
    assert engine.order_status(ohash(o)).status == "open"


def test_apply__deposit_zero__rejected_1012():
    engine = funded()
    assert rejected(engine.apply(Deposit(TRADER, 0, T0 + 1)))[0] == 1012


def test_apply__negative_stake__rejected_1014():
    engine = funded()
    assert rejected(engine.apply(SetStake(TRADER, -1, T0 + 1)))[0] == 1014


def test_apply__order_before_first_index__rejected_1015():
    engine = Engine(default_markets())
    engine.apply(Deposit(TRADER, 1_000 * WAD, T0))
    code, message = rejected(place(engine, order(TRADER, True, WAD, 2_000 * WAD)))
    assert code == RejectCode.NO_MARK_PRICE and message.startswith("market")


def test_apply__index_for_unknown_market__rejected_1001():
    engine = funded()
    assert rejected(engine.apply(UpdateIndex(7, WAD, T0 + 1)))[0] == 1001


def test_apply__order_beyond_initial_margin__rejected_2001():
    # 100 USD of equity carries 100 / (2000 x 5%) = 1 ETH; 1.001 is too much
    engine = funded(TRADER, amount=100 * WAD)
    assert kinds_ok(place(engine, order(TRADER, True, WAD, 1_990 * WAD, nonce=1)))
    assert rejected(place(engine, order(TRADER, True, WAD // 1000, 1_990 * WAD, nonce=2)))[0] == 2001


def kinds_ok(events: list) -> bool:
    return [type(e).__name__ for e in events] == ["OrderAccepted"]


def test_apply__reduce_only_with_no_position__rejected_2002():
    engine = funded(TRADER)
    bad = order(TRADER, False, WAD, 2_010 * WAD, flags=FLAG_REDUCE_ONLY)
    assert rejected(place(engine, bad))[0] == RejectCode.REDUCE_ONLY_WOULD_INCREASE


def test_apply__withdraw_more_than_free__rejected_2003_and_unknown_account_2005():
    engine = funded(TRADER, amount=100 * WAD)
    code, message = rejected(engine.apply(Withdraw(TRADER, 101 * WAD, T0 + 1)))
    assert code == 2003 and message == f"amount: {101 * WAD} exceeds free collateral {100 * WAD}"
    assert rejected(engine.apply(Withdraw(STRANGER, WAD, T0 + 2)))[0] == 2005


def test_apply__increase_while_below_maintenance__rejected_2004():
    engine = funded(TRADER, MAKER, amount=120 * WAD)
    engine.apply(Deposit(MAKER, 100_000 * WAD, T0))
    place(engine, order(MAKER, False, WAD, 2_000 * WAD))
    place(engine, order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_IOC))
    # cash 120 - 2000 - 1 = -1881; at a mark of 1940 equity is 59: above maintenance
    # (58.2), so no liquidation, but below initial margin (97): an increase gets 2001
    engine.apply(UpdateIndex(ETH, 1_940 * WAD, T0 + 2_000))
    assert rejected(place(engine, order(TRADER, True, WAD // 100, 1_930 * WAD), T0 + 3_000))[0] == 2001
    # Between two sweeps equity can fall below maintenance (funding settles lazily);
    # take 2 of cash as such a payment would: equity 57 < 58.2
    engine.ledger.accounts[TRADER].cash -= 2 * WAD
    code, message = rejected(place(engine, order(TRADER, True, WAD // 100, 1_930 * WAD, nonce=3),
                                   T0 + 4_000))
    assert code == RejectCode.ACCOUNT_IN_LIQUIDATION and "maintenance" in message


def test_apply__post_only_crossing__rejected_3001():
    engine = funded(TRADER, MAKER)
    place(engine, order(MAKER, False, WAD, 2_000 * WAD))
    code, message = rejected(place(engine, order(TRADER, True, WAD, 2_000 * WAD,
                                                 flags=FLAG_POST_ONLY)))
    assert code == 3001 and message == (
        f"limit_price: {2_000 * WAD} would cross the best ask {2_000 * WAD}; "
        "post-only orders must rest")


def test_apply__fok_not_fully_fillable__rejected_3002_and_book_untouched():
    engine = funded(TRADER, MAKER)
    place(engine, order(MAKER, False, WAD, 2_000 * WAD))
    code, message = rejected(place(engine, order(TRADER, True, 2 * WAD, 2_000 * WAD,
                                                 flags=FLAG_FOK)))
    assert code == 3002 and message == f"size: only {WAD} of {2 * WAD} is fillable within " \
        f"limit_price {2_000 * WAD}"
    assert engine.depth(ETH, 1) == ([], [(2_000 * WAD, WAD)])


def test_apply__ioc_limit_short_of_best_ask__rejected_3003():
    engine = funded(TRADER, MAKER)
    place(engine, order(MAKER, False, WAD, 2_000 * WAD))
    assert rejected(place(engine, order(TRADER, True, WAD, 1_999 * WAD, flags=FLAG_IOC)))[0] == 3003


def test_apply__market_order_on_empty_side__rejected_3004():
    engine = funded(TRADER)
    assert rejected(place(engine, order(TRADER, True, WAD, 2_020 * WAD, flags=FLAG_IOC)))[0] == 3004


def test_apply__ioc_against_only_own_orders__rejected_3005():
    engine = funded(TRADER)
    place(engine, order(TRADER, False, WAD, 2_000 * WAD))
    assert rejected(place(engine, order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_IOC,
                                        nonce=1)))[0] == 3005


def test_apply__taker_with_maker_fee_cap__rejected_1006_but_resting_maker_accepted():
    engine = funded(TRADER, TAKER, MAKER)
    place(engine, order(MAKER, False, WAD, 2_000 * WAD))
    maker_cap = 2 * 10**14  # 0.02%
    assert rejected(place(engine, order(TAKER, True, WAD, 2_000 * WAD,
                                        max_fee_rate=maker_cap)))[0] == 1006
    assert kinds_ok(place(engine, order(TRADER, True, WAD, 1_999 * WAD, max_fee_rate=maker_cap)))


# ------------------------------------------------------------ nonce reuse (1016)


def test_apply__nonce_reused_after_cancel__rejected_1016_with_exact_event():
    engine = funded(TRADER)  # seq 1 Deposited, seq 2 MarkUpdated
    first = order(TRADER, True, WAD, 1_990 * WAD, nonce=42)
    place(engine, first, ts=T0 + 1)  # seq 3 OrderAccepted
    engine.apply(CancelOrder(TRADER, ohash(first), T0 + 2))  # seq 4 OrderCancelled
    again = order(TRADER, True, 2 * WAD, 1_980 * WAD, nonce=42)
    events = place(engine, again, ts=T0 + 3)
    assert events == [OrderRejected(
        5, T0 + 3, ohash(again), TRADER, 1016,
        f"nonce: 42 was already used by an accepted order of {TRADER}; "
        "sign the order with a fresh nonce")]
    assert engine.order_status(ohash(again)) is None
    assert engine.open_orders(TRADER) == []


def test_apply__same_nonce_other_trader__accepted():
    engine = funded(TRADER, STRANGER)
    place(engine, order(TRADER, True, WAD, 1_990 * WAD, nonce=7), ts=T0 + 1)
    events = place(engine, order(STRANGER, True, WAD, 1_990 * WAD, nonce=7), ts=T0 + 2)
    assert [type(e).__name__ for e in events] == ["OrderAccepted"]


def test_apply__nonce_of_rejected_order__still_usable():
    engine = funded(TRADER)
    refused = order(TRADER, True, WAD, 1_990 * WAD, nonce=9, max_fee_rate=10**14)
    assert rejected(place(engine, refused, ts=T0 + 1))[0] == 1006
    events = place(engine, order(TRADER, True, WAD, 1_990 * WAD, nonce=9), ts=T0 + 2)
    assert [type(e).__name__ for e in events] == ["OrderAccepted"]


def test_apply__nonce_of_pending_trigger__rejected_1016():
    engine = funded(TRADER)
    stop = order(TRADER, True, WAD, 2_100 * WAD, trigger=2_050 * WAD, nonce=11)
    assert [type(e).__name__ for e in place(engine, stop, ts=T0 + 1)] == ["OrderAccepted"]
    code, message = rejected(place(engine, order(TRADER, False, WAD, 2_010 * WAD, nonce=11),
                                   ts=T0 + 2))
    assert (code, message.split(":")[0]) == (RejectCode.NONCE_REUSED, "nonce")


def test_apply__nonce_of_filled_ioc__rejected_1016_after_snapshot_restore():
    engine = funded(TRADER, MAKER)
    place(engine, order(MAKER, False, WAD, 2_000 * WAD, nonce=1), ts=T0 + 1)
    ioc = order(TRADER, True, WAD, 2_000 * WAD, flags=FLAG_IOC, nonce=5)
    assert "TradeExecuted" in [type(e).__name__ for e in place(engine, ioc, ts=T0 + 2)]
    restored = Engine.from_snapshot(engine.snapshot())
    assert restored.state_hash() == engine.state_hash()
    for eng in (engine, restored):
        again = order(TRADER, True, WAD, 1_990 * WAD, nonce=5)
        assert rejected(place(eng, again, ts=T0 + 3))[0] == 1016


def test_from_snapshot__state_without_nonce_table__rebuilds_it_from_the_orders():
    engine = funded(TRADER)
    place(engine, order(TRADER, True, WAD, 1_990 * WAD, nonce=13), ts=T0 + 1)
    state = engine.__getstate__()
    del state["_nonces"]  # as a snapshot written before nonce tracking holds it
    restored = Engine.__new__(Engine)
    restored.__setstate__(state)
    assert restored._nonces == {TRADER: {13}}  # noqa: SLF001
    assert rejected(place(restored, order(TRADER, False, WAD, 2_010 * WAD, nonce=13),
                          ts=T0 + 2))[0] == 1016


def test_apply__withdraw_on_chain__recorded_even_beyond_free_collateral():
    # the Exchange already paid it out (checked at the chain's marks): the engine follows
    from engine.core.commands import Deposit, Withdraw
    from engine.core.engine import Engine
    from engine.core.events import Withdrawn, WithdrawalRejected
    from engine.core.markets import default_markets

    engine = Engine(default_markets())
    trader = "0x" + "11" * 20
    engine.apply(Deposit(trader, 100 * 10**18, 1))
    refused = engine.apply(Withdraw(trader, 150 * 10**18, 2))
    assert [type(e) for e in refused] == [WithdrawalRejected]
    followed = engine.apply(Withdraw(trader, 150 * 10**18, 3, on_chain=True))
    assert [type(e) for e in followed] == [Withdrawn]
    assert followed[0].cash == -50 * 10**18


# The engine accepts the common well-formed order with one combined test and leaves
# everything else to validation.check_shape: every verdict must be check_shape's.
SHAPE_CODES = {1001, 1002, 1003, 1004, 1005, 1008, 1011, 1013}


def test_apply__seeded_order_shapes__same_shape_verdict_as_check_shape():
    rng = random.Random(7)
    engine = funded(TRADER, MAKER, amount=10**9 * WAD)
    specs = engine.specs
    ts = T0 + 1_000
    seen = set()
    for k in range(3_000):
        market = rng.choice((ETH, ETH, 2, 9))
        step = specs[market].step_size if market in specs else 1
        tick = specs[market].tick_size if market in specs else 1
        size = rng.choice((0, -step, step, 5 * step, 5 * step + 1, 2**256))
        price = rng.choice((0, -tick, 1_990 * WAD, 1_990 * WAD + 1, 2**256 - 2**200))
        trigger = rng.choice((0, 0, 0, tick, tick + 1, -tick))
        flags = rng.randrange(0, 130)
        expiry = rng.choice((0, 0, T0 // 1000, T0 // 1000 + 2, T0 // 1000 + 3600))
        o = order(TRADER, rng.random() < 0.5, size, price, flags=flags, trigger=trigger,
                  expiry=expiry, market=market)
        expected = check_shape(o, specs.get(market), ts)
        events = engine.apply(PlaceOrder(o, k.to_bytes(32, "big"), b"", ts))
        shape = [e for e in events if isinstance(e, OrderRejected) and e.code in SHAPE_CODES]
        if expected is None:
            assert shape == []
        else:
            assert [(e.code, e.message) for e in shape] == [(int(expected[0]), expected[1])]
            assert len(events) == 1
        seen.add(None if expected is None else int(expected[0]))
    assert seen == {None} | SHAPE_CODES  # every branch was exercised


def test_is_plain__every_small_value_and_other_types__as_the_plain_flags_set():
    for flags in range(-70, 300):
        assert _is_plain(flags) is (flags in PLAIN_FLAGS), flags
    for flags in (2**64 + 1, -2**70, 1.0, True, None, "1"):
        assert _is_plain(flags) is False  # not an exact int in 0..63: check_shape decides
