"""Markets: governance bounds and Update<Param> events, signed prices and the
hash chain, funding timing, caps and the cumulative index."""

import boa
import pytest
from eth_utils import keccak

from engine.core.markets import BPS, HOUR_S, PCT
from engine.core.rules import funding_index_step
from engine.eip712 import Domain, price_hash
from tests.contracts.conftest import BTC, ETH, ETH_PRICE, WAD

DEFAULT = dict(tick=WAD // 100, step=WAD // 1000, imf=5 * PCT, mmf=3 * PCT,
               interval=8 * HOUR_S, cap=225 * BPS, change=50 * BPS)


def _add(desk, **changes):
    p = {**DEFAULT, **changes}
    with boa.env.prank(desk.governor.address):
        return desk.markets.add_market(p["tick"], p["step"], p["imf"], p["mmf"], p["interval"],
                                       p["cap"], p["change"])


def _gov(desk, fn, *args):
    with boa.env.prank(desk.governor.address):
        return getattr(desk.markets, fn)(*args)


# ------------------------------------------------------------------ listing


def test_add_market__default_params__lists_next_id_with_event(desk):
    market = _add(desk)
    log = desk.markets.get_logs()[-1]
    assert market == 3
    assert desk.markets.market_count() == 3
    assert type(log).__name__ == "MarketAdded"
    assert (log.market, log.imf, log.mmf, log.funding_interval) == (3, 5 * PCT, 3 * PCT, 8 * HOUR_S)
    risk = desk.markets.market_risk(3)
    assert risk == (WAD // 100, WAD // 1000, 5 * PCT, 3 * PCT, 0, 0, 50 * BPS, 2 * BPS, 5 * BPS)


def test_add_market__stranger__reverts(desk, stranger):
    with boa.env.prank(stranger.address), boa.reverts("access_control: account is missing role"):
        desk.markets.add_market(1, 1, 5 * PCT, 3 * PCT, 8 * HOUR_S, PCT, PCT)


def test_add_market__exchange_paused__reverts(desk):
    with boa.env.prank(desk.guardian.address):
        desk.exchange.pause()
    with boa.reverts("markets: exchange paused"):
        _add(desk)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(tick=0), "markets: tick size out of bounds"),
        (dict(step=0), "markets: step size out of bounds"),
        (dict(imf=PCT - 1, mmf=PCT // 2), "markets: imf out of bounds"),
        (dict(imf=50 * PCT + 1), "markets: imf out of bounds"),
        (dict(mmf=PCT // 2 - 1), "markets: mmf out of bounds"),
        (dict(imf=5 * PCT, mmf=5 * PCT), "markets: imf out of bounds"),
        (dict(interval=HOUR_S - 1), "markets: funding interval out of bounds"),
        (dict(interval=12 * HOUR_S + 1), "markets: funding interval out of bounds"),
        (dict(interval=5 * HOUR_S), "markets: funding interval out of bounds"),
        (dict(cap=0), "markets: funding cap out of bounds"),
        (dict(cap=5 * PCT + 1), "markets: funding cap out of bounds"),
        (dict(change=0), "markets: funding max change out of bounds"),
        (dict(change=5 * PCT + 1), "markets: funding max change out of bounds"),
    ],
)
def test_add_market__param_out_of_bounds__reverts(desk, changes, message):
    with boa.reverts(message):
        _add(desk, **changes)


def test_add_market__bounds_inclusive__accepted(desk):
    assert _add(desk, imf=50 * PCT, mmf=PCT // 2, interval=12 * HOUR_S, cap=5 * PCT,
                change=5 * PCT) == 3
    assert _add(desk, imf=PCT, mmf=PCT // 2, interval=HOUR_S) == 4


def test_add_market__sixteen_listed__seventeenth_reverts(desk):
    for _ in range(14):
        _add(desk)
    with boa.reverts("markets: too many markets"):
        _add(desk)


# ------------------------------------------------------------------ setters


@pytest.mark.parametrize(
    "setter, event, value, index",
    [
        ("set_tick_size", "UpdateTickSize", WAD // 10, 0),
        ("set_step_size", "UpdateStepSize", WAD // 100, 1),
        ("set_imf", "UpdateIMF", 10 * PCT, 2),
        ("set_mmf", "UpdateMMF", 4 * PCT, 3),
        ("set_funding_interval", "UpdateFundingInterval", 4 * HOUR_S, 4),
        ("set_funding_cap", "UpdateFundingCap", PCT, 5),
        ("set_funding_max_change", "UpdateFundingMaxChange", 10 * BPS, 6),
    ],
)
def test_setter__in_bounds__updates_and_logs_old_and_new(desk, setter, event, value, index):
    old = desk.markets.markets(ETH)[index]
    _gov(desk, setter, ETH, value)
    log = desk.markets.get_logs()[-1]
    assert desk.markets.markets(ETH)[index] == value
    assert type(log).__name__ == event
    assert (log.market, log.old, log.new) == (ETH, old, value)


@pytest.mark.parametrize(
    "setter, value, message",
    [
        ("set_tick_size", 0, "markets: tick size out of bounds"),
        ("set_step_size", 0, "markets: step size out of bounds"),
        ("set_imf", 3 * PCT, "markets: imf out of bounds"),  # == mmf
        ("set_imf", 51 * PCT, "markets: imf out of bounds"),
        ("set_mmf", 5 * PCT, "markets: mmf out of bounds"),  # == imf
        ("set_mmf", PCT // 2 - 1, "markets: mmf out of bounds"),
        ("set_funding_interval", 7 * HOUR_S, "markets: funding interval out of bounds"),
        ("set_funding_cap", 0, "markets: funding cap out of bounds"),
        ("set_funding_max_change", 6 * PCT, "markets: funding max change out of bounds"),
    ],
)
def test_setter__out_of_bounds__reverts(desk, setter, value, message):
    with boa.reverts(message):
        _gov(desk, setter, ETH, value)


def test_setter__unknown_market__reverts(desk):
    with boa.reverts("markets: unknown market"):
        _gov(desk, "set_imf", 3, 10 * PCT)


def test_setter__stranger__reverts(desk, stranger):
    with boa.env.prank(stranger.address), boa.reverts("access_control: account is missing role"):
        desk.markets.set_imf(ETH, 10 * PCT)


def test_set_liquidation_fee_rate__bounds__five_percent_max(desk):
    _gov(desk, "set_liquidation_fee_rate", 5 * PCT)
    assert desk.markets.liquidation_fee_rate() == 5 * PCT
    with boa.reverts("markets: liquidation fee out of bounds"):
        _gov(desk, "set_liquidation_fee_rate", 5 * PCT + 1)


def test_set_exchange__second_time__reverts(desk):
    with boa.env.prank(desk.admin.address), boa.reverts("markets: exchange already set"):
        desk.markets.set_exchange(desk.admin.address)


# ------------------------------------------------------------------ prices


def test_post_prices__signed__stores_and_chains_hash(desk, stranger):
    prev_head = desk.markets.markets(ETH)[10]
    ts = boa.env.evm.patch.timestamp + 5
    boa.env.time_travel(seconds=5)
    index, mark = 2010 * WAD, 2011 * WAD
    sig = desk.price_signature(ETH, index, mark, ts)
    with boa.env.prank(stranger.address):  # anyone may submit
        desk.markets.post_prices(ETH, index, mark, ts, sig)
    log = desk.markets.get_logs()[-1]
    digest = price_hash(desk.markets_domain, ETH, index, mark, ts)
    assert desk.markets.price_digest(ETH, index, mark, ts) == digest
    head = keccak(prev_head + digest)
    m = desk.markets.markets(ETH)
    assert (m[7], m[8], m[9], m[10]) == (index, mark, ts, head)
    assert type(log).__name__ == "PricePosted"
    assert (log.market, log.index, log.mark, log.ts, log.head) == (ETH, index, mark, ts, head)


def test_post_prices__mark_at_half_percent__accepted_one_wei_more_reverts(desk):
    index = 2000 * WAD
    desk.post_price(ETH, index, index + index // 200)
    desk.post_price(ETH, index, index - index // 200)
    with boa.reverts("markets: mark too far from index"):
        desk.post_price(ETH, index, index + index // 200 + 1)
    with boa.reverts("markets: mark too far from index"):
        desk.post_price(ETH, index, index - index // 200 - 1)


def test_post_prices__signed_by_settler__reverts(desk):
    boa.env.time_travel(seconds=1)
    ts = boa.env.evm.patch.timestamp
    sig = desk.price_signature(ETH, ETH_PRICE, ETH_PRICE, ts, key=desk.settler.key)
    with boa.reverts("markets: bad price signature"):
        desk.markets.post_prices(ETH, ETH_PRICE, ETH_PRICE, ts, sig)


@pytest.mark.parametrize("field", ["market", "index", "mark", "ts"])
def test_post_prices__tampered_field__reverts(desk, field):
    boa.env.time_travel(seconds=10)
    ts = boa.env.evm.patch.timestamp - 1
    args = dict(market=ETH, index=ETH_PRICE, mark=ETH_PRICE, ts=ts)
    sig = desk.price_signature(ETH, ETH_PRICE, ETH_PRICE, ts)
    args[field] += BTC - ETH if field == "market" else 1
    with boa.reverts("markets: bad price signature"):
        desk.markets.post_prices(args["market"], args["index"], args["mark"], args["ts"], sig)


def test_post_prices__wrong_domain__reverts(desk):
    boa.env.time_travel(seconds=1)
    ts = boa.env.evm.patch.timestamp
    for domain in (Domain(desk.chain_id + 1, desk.markets.address),
                   Domain(desk.chain_id, desk.exchange.address)):
        sig = desk.price_signature(ETH, ETH_PRICE, ETH_PRICE, ts, domain=domain)
        with boa.reverts("markets: bad price signature"):
            desk.markets.post_prices(ETH, ETH_PRICE, ETH_PRICE, ts, sig)


def test_post_prices__malleable_or_short_signature__reverts(desk):
    boa.env.time_travel(seconds=1)
    ts = boa.env.evm.patch.timestamp
    sig = desk.price_signature(ETH, ETH_PRICE, ETH_PRICE, ts)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(sig[32:64], "big")
    flipped = sig[:32] + (n - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    for bad in (flipped, sig[:64]):
        with boa.reverts("markets: bad price signature"):
            desk.markets.post_prices(ETH, ETH_PRICE, ETH_PRICE, ts, bad)


def test_post_prices__same_or_older_timestamp__reverts(desk):
    ts = desk.markets.markets(ETH)[9]
    sig = desk.price_signature(ETH, ETH_PRICE, ETH_PRICE, ts)
    with boa.reverts("markets: stale price"):
        desk.markets.post_prices(ETH, ETH_PRICE, ETH_PRICE, ts, sig)


def test_post_prices__future_timestamp__reverts(desk):
    ts = boa.env.evm.patch.timestamp + 1
    sig = desk.price_signature(ETH, ETH_PRICE, ETH_PRICE, ts)
    with boa.reverts("markets: price from the future"):
        desk.markets.post_prices(ETH, ETH_PRICE, ETH_PRICE, ts, sig)


def test_post_prices__zero_or_unknown__reverts(desk):
    boa.env.time_travel(seconds=1)
    ts = boa.env.evm.patch.timestamp
    with boa.reverts("markets: zero price"):
        desk.markets.post_prices(ETH, 0, 0, ts, desk.price_signature(ETH, 0, 0, ts))
    with boa.reverts("markets: unknown market"):
        desk.markets.post_prices(3, ETH_PRICE, ETH_PRICE, ts,
                                 desk.price_signature(3, ETH_PRICE, ETH_PRICE, ts))


# ------------------------------------------------------------------ funding


def test_apply_funding__due__index_steps_by_rate_times_mark(desk):
    mark = desk.markets.markets(ETH)[8]
    due = desk.next_funding(ETH)
    assert due % (8 * HOUR_S) == 0
    rate = 10 * BPS
    desk.apply_funding(ETH, rate)
    log = desk.markets.get_logs()[-1]
    step = funding_index_step(rate, mark)
    assert desk.index(ETH) == step == 2 * WAD
    m = desk.markets.markets(ETH)
    assert (m[12], m[13]) == (due, rate)
    assert type(log).__name__ == "FundingApplied"
    assert (log.market, log.funding_ts, log.rate, log.mark, log.cumulative_index) == (
        ETH, due, rate, mark, step)
    assert desk.next_funding(ETH) == due + 8 * HOUR_S


def test_apply_funding__negative_rate__truncates_toward_zero(desk):
    desk.post_price(ETH, 2000 * WAD + 7, 2000 * WAD + 7)
    desk.apply_funding(ETH, -3)
    assert desk.index(ETH) == funding_index_step(-3, 2000 * WAD + 7) == -6000


def test_apply_funding__one_second_early__reverts(desk):
    due = desk.next_funding(ETH)
    boa.env.time_travel(seconds=due - boa.env.evm.patch.timestamp - 1)
    with boa.env.prank(desk.funder.address), boa.reverts("markets: funding too early"):
        desk.markets.apply_funding(ETH, 0)
    boa.env.time_travel(seconds=1)
    with boa.env.prank(desk.funder.address):
        desk.markets.apply_funding(ETH, 0)


def test_apply_funding__missed_intervals__applied_one_call_each_in_order(desk):
    first = desk.next_funding(ETH)
    boa.env.time_travel(seconds=first + 3 * 8 * HOUR_S - boa.env.evm.patch.timestamp)
    for i in range(4):
        desk.apply_funding(ETH, 10 * BPS, travel=False)
        assert desk.markets.markets(ETH)[12] == first + i * 8 * HOUR_S
    with boa.env.prank(desk.funder.address), boa.reverts("markets: funding too early"):
        desk.markets.apply_funding(ETH, 10 * BPS)


def test_apply_funding__rate_above_cap__reverts(desk):
    _gov(desk, "set_funding_max_change", ETH, 5 * PCT)
    cap = desk.markets.markets(ETH)[5]
    for rate in (cap + 1, -cap - 1):
        with boa.reverts("markets: rate above cap"):
            desk.apply_funding(ETH, rate)
    desk.apply_funding(ETH, cap)


def test_apply_funding__change_above_max__reverts(desk):
    change = desk.markets.markets(ETH)[6]
    desk.apply_funding(ETH, change)
    with boa.reverts("markets: rate change too large"):
        desk.apply_funding(ETH, -1)
    desk.apply_funding(ETH, 0)


def test_apply_funding__stranger__reverts(desk, stranger):
    boa.env.time_travel(seconds=9 * HOUR_S)
    with boa.env.prank(stranger.address), boa.reverts("access_control: account is missing role"):
        desk.markets.apply_funding(ETH, 0)


def test_apply_funding__no_price_yet__reverts(desk):
    market = _add(desk)
    boa.env.time_travel(seconds=9 * HOUR_S)
    with boa.env.prank(desk.funder.address), boa.reverts("markets: no price"):
        desk.markets.apply_funding(market, 0)
