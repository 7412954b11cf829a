"""ape (EthTester / py-evm) fixtures: the deployed stack with one role per account."""

import pytest

from engine.core.markets import default_markets
from engine.core.wad import WAD
from engine.eip712 import Domain, price_hash, sign_digest

USDC = 10**6
ESCAPE_DELAY = 3 * 24 * 3600
ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def roles(accounts):
    names = ("admin", "settler", "price_signer", "funding", "guardian", "governance",
             "maker", "taker", "stranger")
    return dict(zip(names, accounts))


@pytest.fixture(scope="module")
def stack(project, roles):
    admin = roles["admin"]
    usdc = admin.deploy(project.MockUSDC)
    markets = admin.deploy(project.Markets)
    # JEX economy unwired here (zero addresses); test_governance_ape.py deploys it whole
    exchange = admin.deploy(project.Exchange, usdc.address, markets.address, ESCAPE_DELAY,
                            ZERO, ZERO, ZERO)
    markets.set_exchange(exchange.address, sender=admin)
    markets.grantRole(markets.GOVERNANCE_ROLE(), roles["governance"], sender=admin)
    markets.grantRole(markets.FUNDING_ROLE(), roles["funding"], sender=admin)
    markets.grantRole(markets.PRICE_SIGNER_ROLE(), roles["price_signer"], sender=admin)
    exchange.grantRole(exchange.SETTLER_ROLE(), roles["settler"], sender=admin)
    exchange.grantRole(exchange.GUARDIAN_ROLE(), roles["guardian"], sender=admin)
    for spec in default_markets():
        markets.add_market(spec.tick_size, spec.step_size, spec.imf, spec.mmf,
                           spec.funding_interval_s, spec.funding_cap, spec.funding_max_change,
                           sender=roles["governance"])
    for who in ("maker", "taker"):
        usdc.mint(roles[who], 100_000 * USDC, sender=roles[who])
        usdc.approve(exchange.address, 100_000 * USDC, sender=roles[who])
        exchange.deposit(50_000 * USDC, sender=roles[who])
    return {"usdc": usdc, "markets": markets, "exchange": exchange}


@pytest.fixture(scope="module")
def domain(stack, chain):
    return Domain(chain.chain_id, stack["exchange"].address)


def post_price(stack, chain, roles, market, index, mark, ts=None):
    """Sign (index, mark) with the price signer's key and post it."""
    ts = ts or chain.pending_timestamp - 1
    dom = Domain(chain.chain_id, stack["markets"].address)
    sig = sign_digest(roles["price_signer"].private_key, price_hash(dom, market, index, mark, ts))
    return stack["markets"].post_prices(market, index, mark, ts, sig, sender=roles["stranger"])


@pytest.fixture(scope="module")
def priced(stack, chain, roles):
    post_price(stack, chain, roles, 1, 2000 * WAD, 2000 * WAD)
    return stack
