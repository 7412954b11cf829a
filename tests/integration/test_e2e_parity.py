"""End to end: signed orders -> engine -> batches -> Exchange on py-evm, chain == engine.

`Flow` is a seeded market: 8 makers quoting both sides of ETH-USD and
BTC-USD (post-only and GTC, some expiring), 13 takers (IOC market orders,
FOK, crossing GTC limits, reduce-only, stop orders, cancels), and one
over-leveraged trader who goes long ETH at ~12x and is liquidated when the
index drops 6% in one step. The index walks for a bit over four one-hour
funding intervals. The crash and bench tests reuse it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


from engine.chain.artifacts import compile_contracts
from engine.chain.deploy import deploy_all
from engine.chain.node import Chain, derive_key
from engine.chain.node_runner import ExchangeNode
from engine.chain.reconciler import chain_accounted
from engine.core.commands import CancelOrder, PlaceOrder, Tick, UpdateIndex
from engine.core.events import TradeExecuted
from engine.core.markets import MarketSpec
from engine.core.orders import Order
from engine.core.rules import FLAG_FOK, FLAG_IOC, FLAG_POST_ONLY, FLAG_REDUCE_ONLY
from engine.core.wad import WAD
from engine.eip712 import Domain, order_hash, sign_digest

USDC = 10**6
HOUR_MS = 3_600_000
FEE_CAP = 10 * WAD // 10_000  # 0.1% max fee rate on every order
ETH, BTC = 1, 2


def e2e_markets() -> tuple[MarketSpec, ...]:
    """The default markets with one-hour funding, so a short run crosses several intervals."""
    return (
        MarketSpec(market_id=ETH, symbol="ETH-USD", tick_size=WAD // 100, step_size=WAD // 1000,
                   funding_interval_s=3600),
        MarketSpec(market_id=BTC, symbol="BTC-USD", tick_size=WAD // 10, step_size=WAD // 10_000,
                   funding_interval_s=3600),
    )


@dataclass
class Trader:
    role: str
    key: object
    deposit_units: int
    nonce: int = 0
    placed: list[bytes] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.key.address


class Flow:
    """A seeded list of signed commands and the traders that sign them (module docstring)."""

    def __init__(self, chain_id: int, exchange: str, seed: int = 7, n_orders: int = 2100,
                 index_step_s: int = 300, start_ms: int = 0) -> None:
        self.rng = random.Random(seed)
        self.domain = Domain(chain_id, exchange)
        self.start_ms = start_ms
        self.index_step_ms = index_step_s * 1000
        self.makers = [Trader(f"maker-{i}", derive_key(f"e2e maker {i}"), 1_000_000 * USDC)
                       for i in range(8)]
        self.takers = [Trader(f"taker-{i}", derive_key(f"e2e taker {i}"), 20_000 * USDC)
                       for i in range(13)]
        self.leveraged = Trader("leveraged", derive_key("e2e leveraged trader"), 2_000 * USDC)
        self.traders = self.makers + self.takers + [self.leveraged]
        self.index = {ETH: 2_000 * WAD, BTC: 30_000 * WAD}
        self.specs = {s.market_id: s for s in e2e_markets()}
        self.orders = 0
        self.commands = self._generate(n_orders)

    # ------------------------------------------------------------ building

    def _sign(self, trader: Trader, ts_ms: int, **fields) -> PlaceOrder:
        order = Order(trader=trader.address, nonce=trader.nonce, max_fee_rate=FEE_CAP, **fields)
        trader.nonce += 1
        h = order_hash(self.domain, order)
        trader.placed.append(h)
        self.orders += 1
        return PlaceOrder(order, h, sign_digest(trader.key.key, h), ts_ms)

    def _tick(self, market: int, price: int) -> int:
        tick = self.specs[market].tick_size
        return price // tick * tick

    def _size(self, market: int, lo: int, hi: int) -> int:
        """A size in steps of the market, between lo and hi thousandths of a unit."""
        step = self.specs[market].step_size
        return self.rng.randint(lo, hi) * WAD // 1000 // step * step

    def _walk(self, step: int) -> None:
        for m in (ETH, BTC):
            move = self.rng.randint(-20, 20)  # +-0.2% per step
            self.index[m] = self._tick(m, self.index[m] * (10_000 + move) // 10_000)
        if step == 40:  # the crash: ETH -6% in one step
            self.index[ETH] = self._tick(ETH, self.index[ETH] * 94 // 100)

    def _maker_quotes(self, ts: int) -> list:
        out = []
        for maker in self.makers:
            m = self.rng.choice((ETH, BTC))
            spread = self.rng.randint(3, 40)  # 0.03% .. 0.4% from the index
            flags = FLAG_POST_ONLY if self.rng.random() < 0.5 else 0
            expiry = ts // 1000 + 1800 if self.rng.random() < 0.3 else 0
            sizes = (200, 3000) if m == ETH else (10, 200)
            for is_buy in (True, False):
                price = self.index[m] * (10_000 + (-spread if is_buy else spread)) // 10_000
                out.append(self._sign(maker, ts, market=m, is_buy=is_buy,
                                      size=self._size(m, *sizes), limit_price=self._tick(m, price),
                                      flags=flags, expiry=expiry))
                ts += 1
        return out

    def _taker_order(self, ts: int) -> object:
        r = self.rng.random()
        taker = self.rng.choice(self.takers)
        m = self.rng.choice((ETH, BTC))
        is_buy = self.rng.random() < 0.5
        sizes = (10, 1500) if m == ETH else (1, 80)
        through = self.index[m] * (10_000 + (100 if is_buy else -100)) // 10_000
        if r < 0.45:  # market order: IOC with a protective limit 1% through
            return self._sign(taker, ts, market=m, is_buy=is_buy, size=self._size(m, *sizes),
                              limit_price=self._tick(m, through), flags=FLAG_IOC)
        if r < 0.55:
            return self._sign(taker, ts, market=m, is_buy=is_buy, size=self._size(m, 10, 300)
                              if m == ETH else self._size(m, 1, 20),
                              limit_price=self._tick(m, through), flags=FLAG_FOK)
        if r < 0.70:  # a crossing GTC limit: takes, the rest rests
            return self._sign(taker, ts, market=m, is_buy=is_buy, size=self._size(m, *sizes),
                              limit_price=self._tick(m, self.index[m] * (10_000 + (10 if is_buy
                                                                                  else -10))
                                                     // 10_000))
        if r < 0.78:
            return self._sign(taker, ts, market=m, is_buy=is_buy, size=self._size(m, *sizes),
                              limit_price=self._tick(m, through),
                              flags=FLAG_IOC | FLAG_REDUCE_ONLY)
        if r < 0.86:  # a stop: triggers when the mark crosses 0.3% away
            trigger = self.index[m] * (10_000 + (30 if is_buy else -30)) // 10_000
            limit = self.index[m] * (10_000 + (150 if is_buy else -150)) // 10_000
            return self._sign(taker, ts, market=m, is_buy=is_buy, size=self._size(m, *sizes),
                              limit_price=self._tick(m, limit), trigger_price=self._tick(m, trigger),
                              flags=FLAG_IOC)
        owner = self.rng.choice(self.makers + self.takers)
        if owner.placed:
            return CancelOrder(owner.address, self.rng.choice(owner.placed[-6:]), ts)
        return Tick(ts)

    def _generate(self, n_orders: int) -> list:
        cmds: list = []
        ts = self.start_ms
        step = 0
        next_index = ts
        leverage_buys = 0
        while self.orders < n_orders or step < 52:
            if ts >= next_index:
                self._walk(step)
                cmds += [UpdateIndex(ETH, self.index[ETH], ts), UpdateIndex(BTC, self.index[BTC],
                                                                            ts + 1)]
                cmds += self._maker_quotes(ts + 2)
                ts += 40
                step += 1
                next_index += self.index_step_ms
                if 3 <= step and leverage_buys < 4:  # the over-leveraged long, 3 ETH at a time
                    cmds.append(self._sign(self.leveraged, ts, market=ETH, is_buy=True,
                                           size=3 * WAD, limit_price=self._tick(
                                               ETH, self.index[ETH] * 101 // 100), flags=FLAG_IOC))
                    leverage_buys += 1
                    ts += 1
            cmds.append(self._taker_order(ts))
            ts += max(1, self.index_step_ms // max(1, (n_orders // 52)) - 10)
        cmds.append(Tick(ts + HOUR_MS))
        return cmds


def start(seed: int = 7, n_orders: int = 2100, chain: Chain | None = None):
    """A deployed chain and its Flow, ready for an ExchangeNode."""
    compile_contracts()
    chain = chain or Chain.pyevm()
    d = deploy_all(chain, markets=e2e_markets())
    start_ms = (chain.now() + 5) * 1000
    flow = Flow(chain.chain_id, d.exchange.address, seed=seed, n_orders=n_orders,
                start_ms=start_ms)
    return chain, d, flow


def fund_all(node: ExchangeNode, chain: Chain, flow: Flow) -> None:
    for t in flow.traders:
        chain.signer(t.role)  # funds gas for the trader's key below
        faucet = chain.w3.eth.accounts[0]
        if chain.w3.eth.get_balance(t.address) < 10**18:
            tx = chain.w3.eth.send_transaction({"from": faucet, "to": t.address, "value": 10**19})
            chain.w3.eth.wait_for_transaction_receipt(tx)
        node.fund(t.key, t.deposit_units, flow.start_ms)


def test_settle__seeded_two_thousand_orders__chain_equals_engine_after_every_batch(tmp_path):
    chain, d, flow = start()
    node = ExchangeNode(chain, d, tmp_path / "node", markets=e2e_markets(), batch_max_fills=50,
                        batch_max_age_s=60, check_batches=True)
    fund_all(node, chain, flow)
    trades = 0
    checked = 0
    for cmd in flow.commands:
        events = node.submit(cmd)
        trades += sum(1 for e in events if type(e) is TradeExecuted)
        node.on_time(cmd.ts_ms)
        if node.stats()["batches"] >= checked + 10:
            checked = node.stats()["batches"]
            assert node.reconcile() == []
    node.flush()
    stats = node.stats()
    assert node.reconcile() == []
    assert node.mismatches == []
    assert stats["halted"] is None
    assert flow.orders >= 2000 and len(flow.traders) >= 20
    assert stats["fills"] == trades and trades > 500
    assert stats["liquidation_fills"] >= 1
    assert flow.leveraged.address in stats["liquidated_accounts"]
    assert (stats["insurance_takeovers"], stats["adl_legs"]) == (0, 0)
    assert stats["funding_posted"] >= 6  # >= 3 intervals on each of the two markets
    ex = d.exchange.functions
    assert ex.last_batch_id().call() == stats["batches"]
    assert chain_accounted(d) == d.usdc.functions.balanceOf(d.exchange.address).call() * 10**12
    assert len(d.exchange.events.Liquidated().get_logs(from_block=0)) == stats["liquidation_fills"]
    node.close()
