"""Shared titanoboa fixtures for the Exchange and Markets contracts.

One deployment per test session (MockUSDC, Markets, Exchange, the two default
markets, first prices); every test runs inside `boa.env.anchor()`, so its
state changes roll back. `Desk` wraps the deployment with helpers that sign
orders and prices with engine.eip712 (what the engine and wallets do) and
build the contract's struct tuples.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import boa
import pytest
from eth_account import Account

from engine.core.markets import default_markets
from engine.core.orders import Order
from engine.chain.encode import order_filled
from engine.core.wad import WAD
from engine.eip712 import Domain, order_hash, price_hash, sign_digest, sign_order, split_signature

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
ESCAPE_DELAY = 7 * 24 * 3600
USDC = 10**6  # one token in token units
SCALE = 10**12  # token units -> WAD

SETTLER_ROLE = boa.eval('keccak256("SETTLER_ROLE")')
GUARDIAN_ROLE = boa.eval('keccak256("GUARDIAN_ROLE")')
GOVERNANCE_ROLE = boa.eval('keccak256("GOVERNANCE_ROLE")')
FUNDING_ROLE = boa.eval('keccak256("FUNDING_ROLE")')
PRICE_SIGNER_ROLE = boa.eval('keccak256("PRICE_SIGNER_ROLE")')

ETH, BTC = 1, 2
ZERO = "0x" + "00" * 20
NO_JEX = (ZERO, ZERO, ZERO)  # Exchange(staking, fee_router, insurance_fund) unwired
ETH_PRICE = 2000 * WAD
BTC_PRICE = 60_000 * WAD


@dataclass(frozen=True)
class Actor:
    """An account with a private key (it signs) and its address."""

    name: str
    key: bytes

    @property
    def address(self) -> str:
        return Account.from_key(self.key).address


def _actor(name: str, seed: int) -> Actor:
    return Actor(name, seed.to_bytes(32, "big"))


def sig_tuple(signature: bytes) -> tuple[int, bytes, bytes]:
    """65-byte r||s||v -> the contract's Sig(v, r, s)."""
    return split_signature(signature)


def order_tuple(o: Order) -> tuple:
    """An engine Order as the contract's Order struct."""
    return (o.trader, o.market, o.is_buy, o.size, o.limit_price, o.trigger_price,
            o.flags, o.max_fee_rate, o.nonce, o.expiry)


def filled_on_chain(exchange, o: Order) -> int:
    """encode.order_filled from the Exchange's getters (the contract has no view for it)."""
    h = exchange.order_hash(order_tuple(o))
    return order_filled(o, exchange.filled(h), exchange.nonce_used(o.trader, o.nonce))


@dataclass
class Leg:
    """An order and its signature (v, r, s) as they go into a Fill."""

    order: Order
    sig: tuple[int, bytes, bytes]


class Desk:
    """The deployed contracts plus the helpers tests use to drive them."""

    def __init__(self, usdc, markets, exchange, roles: dict[str, Actor]):
        self.usdc = usdc
        self.markets = markets
        self.exchange = exchange
        self.admin = roles["admin"]
        self.settler = roles["settler"]
        self.price_signer = roles["price_signer"]
        self.funder = roles["funder"]
        self.guardian = roles["guardian"]
        self.governor = roles["governor"]
        self.chain_id = boa.env.evm.patch.chain_id
        self.domain = Domain(self.chain_id, exchange.address)
        self.markets_domain = Domain(self.chain_id, markets.address)
        self._nonce = 0

    # ------------------------------------------------------------ money
    def fund(self, trader: Actor, amount_tokens: int, deposit: bool = True) -> None:
        """Mint `amount_tokens` (token units) to the trader and deposit them."""
        self.usdc.mint(trader.address, amount_tokens)
        if deposit:
            with boa.env.prank(trader.address):
                self.usdc.approve(self.exchange.address, amount_tokens)
                self.exchange.deposit(amount_tokens)

    def withdraw(self, trader: Actor, amount_tokens: int) -> None:
        with boa.env.prank(trader.address):
            self.exchange.withdraw(amount_tokens)

    def accounted(self) -> int:
        """Everything the Exchange owes, WAD: sum(cash) (insurance account included) +
        fee_pool + sum(funding_pool) -- reconciler.chain_accounted from the getters."""
        ex = self.exchange
        return ex.total_cash() + ex.fee_pool() + sum(
            ex.funding_pool(m) for m in range(1, self.markets.market_count() + 1))

    def held_wad(self) -> int:
        return self.usdc.balanceOf(self.exchange.address) * SCALE

    # ------------------------------------------------------------ orders
    def order(self, trader: Actor, market: int, is_buy: bool, size: int, limit: int, *,
              flags: int = 0, max_fee_rate: int = 10**15, nonce: int | None = None,
              expiry: int = 0, trigger: int = 0) -> Order:
        if nonce is None:
            self._nonce += 1
            nonce = self._nonce
        return Order(trader=trader.address, market=market, is_buy=is_buy, size=size,
                     limit_price=limit, trigger_price=trigger, flags=flags,
                     max_fee_rate=max_fee_rate, nonce=nonce, expiry=expiry)

    def sign(self, key_owner: Actor, o: Order, domain: Domain | None = None) -> Leg:
        return Leg(o, sig_tuple(sign_order(key_owner.key, domain or self.domain, o)))

    def leg(self, trader: Actor, *args, **kwargs) -> Leg:
        """Build and sign an order of `trader` in one go."""
        return self.sign(trader, self.order(trader, *args, **kwargs))

    def hash(self, o: Order) -> bytes:
        return order_hash(self.domain, o)

    @staticmethod
    def fill(maker: Leg, taker: Leg, size: int, price: int, maker_fee: int = 0,
             taker_fee: int = 0) -> tuple:
        return (order_tuple(maker.order), maker.sig, order_tuple(taker.order), taker.sig,
                size, price, maker_fee, taker_fee)

    def batch(self, fills: list[tuple], accounts: list[str] | None = None,
              batch_id: int | None = None, timestamp: int | None = None,
              first_seq: int = 1, last_seq: int = 1, digest: bytes = b"\x00" * 32) -> tuple:
        if accounts is None:
            found = {f[0][0] for f in fills} | {f[2][0] for f in fills}
            accounts = sorted(found, key=lambda a: int(a, 16))
        if batch_id is None:
            batch_id = self.exchange.last_batch_id() + 1
        if timestamp is None:
            timestamp = boa.env.evm.patch.timestamp
        return (batch_id, first_seq, last_seq, digest, timestamp, accounts, fills)

    def settle(self, fills: list[tuple], **kwargs) -> None:
        with boa.env.prank(self.settler.address):
            self.exchange.settle(self.batch(fills, **kwargs))

    def settle_batch(self, batch: tuple) -> None:
        with boa.env.prank(self.settler.address):
            self.exchange.settle(batch)

    def trade(self, buyer: Actor, seller: Actor, size: int, price: int, market: int = ETH,
              buyer_fee: int = 0, seller_fee: int = 0) -> None:
        """Buyer's resting order is the maker; seller takes with an IOC."""
        maker = self.leg(buyer, market, True, size, price)
        taker = self.leg(seller, market, False, size, price, flags=4)
        self.settle([self.fill(maker, taker, size, price, buyer_fee, seller_fee)])

    # ------------------------------------------------------------ prices and funding
    def price_signature(self, market: int, index: int, mark: int, ts: int,
                        key: bytes | None = None, domain: Domain | None = None) -> bytes:
        digest = price_hash(domain or self.markets_domain, market, index, mark, ts)
        return sign_digest(key or self.price_signer.key, digest)

    def post_price(self, market: int, index: int, mark: int | None = None,
                   ts: int | None = None) -> None:
        mark = index if mark is None else mark
        if ts is None:
            last = self.markets.markets(market)[9]
            ts = max(boa.env.evm.patch.timestamp, last + 1)
            if ts > boa.env.evm.patch.timestamp:
                boa.env.time_travel(seconds=ts - boa.env.evm.patch.timestamp)
        signature = self.price_signature(market, index, mark, ts)
        self.markets.post_prices(market, index, mark, ts, signature)

    def next_funding(self, market: int) -> int:
        return self.markets.next_funding_ts(market)

    def apply_funding(self, market: int, rate: int, travel: bool = True) -> None:
        if travel:
            due = self.next_funding(market)
            now = boa.env.evm.patch.timestamp
            if due > now:
                boa.env.time_travel(seconds=due - now)
        with boa.env.prank(self.funder.address):
            self.markets.apply_funding(market, rate)

    def index(self, market: int) -> int:
        return self.markets.market_risk(market)[5]

    def check_conservation(self) -> None:
        assert self.held_wad() == self.accounted()


@pytest.fixture(scope="session")
def roles() -> dict[str, Actor]:
    names = ["admin", "settler", "price_signer", "funder", "guardian", "governor"]
    return {n: _actor(n, 0x1000 + i) for i, n in enumerate(names)}


@pytest.fixture(scope="session")
def traders() -> list[Actor]:
    return [_actor(f"trader{i}", 0x2000 + i) for i in range(8)]


@pytest.fixture(scope="session")
def maker(traders) -> Actor:
    return traders[0]


@pytest.fixture(scope="session")
def taker(traders) -> Actor:
    return traders[1]


@pytest.fixture(scope="session")
def trader(traders) -> Actor:
    return traders[2]


@pytest.fixture(scope="session")
def stranger() -> Actor:
    return _actor("stranger", 0x3000)


@pytest.fixture(scope="session")
def contract_deployers():
    return {
        name: boa.load_partial(str(CONTRACTS / f"{name}.vy"))
        for name in ("MockUSDC", "Markets", "Exchange")
    }


@pytest.fixture(scope="session")
def _session_desk(contract_deployers, roles) -> Desk:
    admin = roles["admin"].address
    with boa.env.prank(admin):
        usdc = contract_deployers["MockUSDC"].deploy()
        markets = contract_deployers["Markets"].deploy()
        # the JEX economy is not wired here (tests/contracts/test_jex_wiring.py wires it)
        exchange = contract_deployers["Exchange"].deploy(usdc.address, markets.address,
                                                         ESCAPE_DELAY, *NO_JEX)
        markets.set_exchange(exchange.address)
        exchange.grantRole(SETTLER_ROLE, roles["settler"].address)
        exchange.grantRole(GUARDIAN_ROLE, roles["guardian"].address)
        markets.grantRole(GOVERNANCE_ROLE, roles["governor"].address)
        markets.grantRole(FUNDING_ROLE, roles["funder"].address)
        markets.grantRole(PRICE_SIGNER_ROLE, roles["price_signer"].address)
    with boa.env.prank(roles["governor"].address):
        for spec in default_markets():
            mid = markets.add_market(spec.tick_size, spec.step_size, spec.imf, spec.mmf,
                                     spec.funding_interval_s, spec.funding_cap,
                                     spec.funding_max_change)
            assert mid == spec.market_id
    desk = Desk(usdc, markets, exchange, roles)
    desk.post_price(ETH, ETH_PRICE)
    desk.post_price(BTC, BTC_PRICE)
    return desk


@pytest.fixture
def desk(_session_desk) -> Desk:
    with boa.env.anchor():
        _session_desk._nonce = 0
        yield _session_desk


def replace(o: Order, **changes) -> Order:
    return dataclasses.replace(o, **changes)
