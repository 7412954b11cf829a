"""The JEX economy section (engine/economy.py) on py-evm: three settled
batches produce the fees, then run_economy stakes, sweeps, claims, auctions
and governs. Exact numbers from docs/token.md."""

import io

import pytest
from rich.console import Console

from engine.chain.deploy import deploy_all
from engine.chain.encode import BatchArgs, FillArgs, SignedOrder
from engine.chain.node import Chain, ChainError
from engine.core import rules
from engine.core.orders import Order
from engine.core.rules import FLAG_IOC
from engine.core.wad import WAD
from engine.economy import EPOCH_S, JEX, NEW_TAKER_FEE_RATE, STAKERS, EconomyError, run_economy
from engine.eip712 import Domain, price_hash, sign_digest, sign_order

USDC = 10**6
BPS = WAD // 10_000
SIZE, PRICE = 5 * WAD, 2000 * WAD  # each fill: 5 ETH at 2,000 USDC (10,000 notional)
MAKER_RATE, TAKER_RATE = 2 * BPS, 5 * BPS
YEAR_S = 365 * 86400


def post_price(d, market: int, price: int) -> None:
    chain = d.chain
    ts = chain.now()
    dom = Domain(chain.chain_id, d.markets.address)
    sig = sign_digest(d.roles["price-signer"].key, price_hash(dom, market, price, price, ts))
    chain.send(d.markets.functions.post_prices(market, price, price, ts, sig), d.roles["funding"])


def fill(d, maker, taker, market: int, taker_buys: bool, nonce: int, taker_rate: int) -> FillArgs:
    domain = Domain(d.chain.chain_id, d.exchange.address)
    rest = Order(trader=maker.address, market=market, is_buy=not taker_buys, size=SIZE,
                 limit_price=PRICE, max_fee_rate=10 * BPS, nonce=nonce)
    take = Order(trader=taker.address, market=market, is_buy=taker_buys, size=SIZE,
                 limit_price=PRICE, flags=FLAG_IOC, max_fee_rate=10 * BPS, nonce=nonce)
    return FillArgs(SignedOrder(rest, sign_order(maker.key, domain, rest)),
                    SignedOrder(take, sign_order(taker.key, domain, take)), SIZE, PRICE,
                    rules.fee_amount(SIZE, PRICE, MAKER_RATE),
                    rules.fee_amount(SIZE, PRICE, taker_rate))


def settle(d, batch_id: int, f: FillArgs):
    batch = BatchArgs(batch_id, 2 * batch_id - 1, 2 * batch_id, b"\x00" * 32, d.chain.now(), (f,))
    return d.chain.send(d.exchange.functions.settle(batch.as_tuple()), d.roles["settler"])


@pytest.fixture(scope="module")
def traded():
    """A deployment with three settled batches (taker buys, sells, buys 5 ETH)."""
    chain = Chain.pyevm()
    d = deploy_all(chain)
    eth = d.market_ids["ETH-USD"]
    maker, taker = chain.signer("maker"), chain.signer("taker")
    for acct in (maker, taker):
        chain.send(d.usdc.functions.mint(acct.address, 10_000 * USDC), acct)
        chain.send(d.usdc.functions.approve(d.exchange.address, 10_000 * USDC), acct)
        chain.send(d.exchange.functions.deposit(10_000 * USDC), acct)
    post_price(d, eth, PRICE)
    for batch_id, taker_buys in ((1, True), (2, False), (3, True)):
        settle(d, batch_id, fill(d, maker, taker, eth, taker_buys, batch_id, TAKER_RATE))
    return d, maker, taker


@pytest.fixture(scope="module")
def played(traded):
    d = traded[0]
    out = io.StringIO()
    fee_pool = d.exchange.functions.fee_pool().call()
    supply = d.jex.functions.totalSupply().call()
    result = run_economy(d, Console(file=out, width=140))
    return d, result, out.getvalue(), fee_pool, supply


def test_run_economy__fees_swept__split_by_token_md_shares(played):
    d, r, _, fee_pool, _ = played
    maker_fee, taker_fee = (rules.fee_amount(SIZE, PRICE, r) for r in (MAKER_RATE, TAKER_RATE))
    per_batch = maker_fee + taker_fee
    fees = 3 * per_batch
    assert fee_pool == fees == 21 * WAD
    s = r.split
    assert (s.batch_id, s.fees) == (3, 21 * USDC)
    assert s.insurance == 21 * USDC * 10 // 100 == 2_100_000
    assert s.net_revenue == 18_900_000
    assert s.stakers == 18_900_000 * 50 // 100 == 9_450_000
    assert s.buyback == 18_900_000 * 20 // 100 == 3_780_000
    assert s.treasury == 18_900_000 - 9_450_000 - 3_780_000 == 5_670_000
    assert d.exchange.functions.fee_pool().call() == 0
    assert d.fee_router.functions.epoch_buyback(r.reward_epoch).call() == 3_780_000


def test_run_economy__stakers_claim__pro_rata_and_within_funded(played):
    d, r, _, _, _ = played
    total_staked = sum(staked for _, _, staked in STAKERS)
    assert total_staked == 1_000_000 * JEX
    expected = [9_450_000 * staked // total_staked for _, _, staked in STAKERS]
    assert [row.claimed for row in r.stakers] == expected == [5_670_000, 2_835_000, 945_000]
    assert r.rewards_funded == d.staking.functions.total_rewards_funded().call() == 9_450_000
    assert r.rewards_claimed == d.staking.functions.total_rewards_paid().call() == 9_450_000
    assert r.rewards_claimed <= r.rewards_funded
    assert [row.votes for row in r.stakers] == [400_000 * JEX, 200_000 * JEX, 0]


def test_run_economy__next_epoch__annualized_yield_from_last_epoch(played):
    d, r, _, _, _ = played
    assert d.staking.functions.epoch_rewards(r.reward_epoch).call() == 9_450_000
    expected = 9_450_000 * 10**12 * WAD * YEAR_S // (1_000_000 * JEX * EPOCH_S)
    assert r.annualized_yield == expected == 492_750_000_000_000


def test_run_economy__auction_filled__supply_falls_by_burned(played):
    d, r, _, _, supply0 = played
    assert (r.auction_id, r.auction_lot) == (1, 3_780_000)
    assert (r.auction_start_price, r.auction_end_price) == (8 * WAD, 2 * WAD)  # 4 x 2, 4 x 0.5
    # fills at 1/4 and 1/2 of the 1-day auction (a few 1-second blocks later on py-evm)
    assert [f.usdc for f in r.fills] == [1_890_000, 1_890_000]
    assert [f.elapsed_s // 10 for f in r.fills] == [2_160, 4_320]
    for f in r.fills:
        assert f.price == 8 * WAD - 6 * WAD * f.elapsed_s // 86_400
        assert f.jex == -(-f.usdc * 10**12 * f.price // WAD)  # rounded up
    assert r.fills[0].jex <= 12_285 * JEX // 1000 and r.fills[1].jex <= 9_450 * JEX // 1000
    assert r.jex_burned == r.fills[0].jex + r.fills[1].jex
    assert r.jex_burned == d.buyback.functions.total_jex_burned().call()
    assert r.supply_before - r.supply_after == r.jex_burned
    assert r.supply_before == supply0
    assert d.jex.functions.totalSupply().call() == r.supply_after
    assert d.usdc.functions.balanceOf(d.buyback.address).call() == 0


def test_run_economy__taker_fee_proposal__passes_and_takes_effect(played):
    d, r, _, _, _ = played
    g = r.governance
    eth = d.market_ids["ETH-USD"]
    assert (g.proposal_id, g.final_state) == (1, "executed")
    assert (g.taker_fee_before, g.taker_fee_queued, g.taker_fee_after) == (
        TAKER_RATE, TAKER_RATE, NEW_TAKER_FEE_RATE)
    assert d.markets.functions.taker_fee_rate(eth).call() == NEW_TAKER_FEE_RATE == 4 * BPS
    treasury_votes = d.jex.functions.getVotes(d.roles["treasury"].address).call()
    assert treasury_votes == d.jex.functions.balanceOf(d.roles["treasury"].address).call()
    assert (g.for_votes, g.against_votes, g.abstain_votes) == (
        400_000 * JEX + treasury_votes, 200_000 * JEX, 0)
    assert g.quorum == r.supply_after * 4 // 100


def test_run_economy__after_proposal__old_taker_fee_refused_new_accepted(played, traded):
    d, _, _, _, _ = played
    _, maker, taker = traded
    eth = d.market_ids["ETH-USD"]
    post_price(d, eth, PRICE)
    with pytest.raises(ChainError, match="exchange: fee above tier"):
        settle(d, 4, fill(d, maker, taker, eth, False, 4, TAKER_RATE))
    receipt = settle(d, 4, fill(d, maker, taker, eth, False, 4, NEW_TAKER_FEE_RATE))
    assert receipt["status"] == 1
    assert d.exchange.functions.fee_pool().call() == rules.fee_amount(SIZE, PRICE, MAKER_RATE) + \
        rules.fee_amount(SIZE, PRICE, NEW_TAKER_FEE_RATE) == 6 * WAD


def test_run_economy__report__prints_every_table(played):
    text = played[2]
    for title in ("JEX economy", "Fees routed by sweep_fees", "Stakers:", "Buyback auction 1",
                  "Governance proposal 1", "annualized yield", "JEX burned"):
        assert title in text


def test_run_economy__empty_fee_pool__raises():
    d = deploy_all(Chain.pyevm())
    with pytest.raises(EconomyError, match="fee pool holds less than one USDC unit"):
        run_economy(d, Console(file=io.StringIO()))
