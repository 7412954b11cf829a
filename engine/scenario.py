"""The scripted settlement scenario: two traders, one batch, prices, funding, a withdrawal.

A reader can follow every step: it deploys the contracts on the embedded
py-evm chain, has a maker and a taker deposit mock USDC and sign orders with
eth-account, lets the settler post a batch that fills them, posts signed
prices, applies one funding interval and lets the taker withdraw, printing
each step and the final balances and positions.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from engine.chain.deploy import Deployment, deploy_all
from engine.chain.encode import BatchArgs, FillArgs, SignedOrder
from engine.chain.node import Chain
from engine.core import rules
from engine.core.orders import Order
from engine.core.rules import FLAG_IOC
from engine.core.wad import WAD
from engine.eip712 import Domain, order_hash, price_hash, sign_digest, sign_order

USDC = 10**6
BPS = WAD // 10_000


def _usd(wad: int) -> str:
    return f"{wad / WAD:,.6f}"


class Scenario:
    def __init__(self, console: Console | None = None) -> None:
        self.out = console or Console(width=110)
        self.chain = Chain.pyevm()
        self.d: Deployment | None = None

    def step(self, text: str) -> None:
        self.out.print(f"[bold cyan]>>[/] {text}")

    def post_price(self, market: int, index: int, mark: int) -> None:
        d = self.d
        ts = self.chain.now()
        dom = Domain(self.chain.chain_id, d.markets.address)
        sig = sign_digest(d.roles["price-signer"].key, price_hash(dom, market, index, mark, ts))
        # anyone may submit a signed price; the funding keeper does it here
        self.chain.send(d.markets.functions.post_prices(market, index, mark, ts, sig), d.roles["funding"])
        self.step(f"price signer signed ETH-USD index {_usd(index)} mark {_usd(mark)} at t={ts}; posted")

    def run(self) -> Deployment:
        self.step("deploying MockUSDC, Markets and Exchange on the embedded py-evm chain")
        d = self.d = deploy_all(self.chain)
        ex, usdc, chain = d.exchange, d.usdc, self.chain
        self.out.print(f"   Exchange {ex.address}  Markets {d.markets.address}  USDC {usdc.address}")
        eth = d.market_ids["ETH-USD"]
        maker, taker = chain.signer("maker"), chain.signer("taker")
        for who, acct in (("maker", maker), ("taker", taker)):
            chain.send(usdc.functions.mint(acct.address, 10_000 * USDC), acct)
            chain.send(usdc.functions.approve(ex.address, 10_000 * USDC), acct)
            chain.send(ex.functions.deposit(10_000 * USDC), acct)
            self.step(f"{who} {acct.address} deposited 10,000 USDC")
        self.post_price(eth, 2000 * WAD, 2000 * WAD)

        domain = Domain(chain.chain_id, ex.address)
        ask = Order(trader=maker.address, market=eth, is_buy=False, size=2 * WAD,
                    limit_price=2000 * WAD, max_fee_rate=2 * BPS, nonce=1)
        bid = Order(trader=taker.address, market=eth, is_buy=True, size=2 * WAD,
                    limit_price=2010 * WAD, flags=FLAG_IOC, max_fee_rate=5 * BPS, nonce=1)
        s_ask, s_bid = sign_order(maker.key, domain, ask), sign_order(taker.key, domain, bid)
        self.step(f"maker signed: sell 2 ETH at 2,000 (resting)  hash {order_hash(domain, ask).hex()[:16]}..")
        self.step(f"taker signed: buy 2 ETH, IOC, limit 2,010    hash {order_hash(domain, bid).hex()[:16]}..")

        size, price = 2 * WAD, 2000 * WAD
        maker_fee = rules.fee_amount(size, price, 2 * BPS)
        taker_fee = rules.fee_amount(size, price, 5 * BPS)
        fill = FillArgs(SignedOrder(ask, s_ask), SignedOrder(bid, s_bid), size, price, maker_fee, taker_fee)
        batch = BatchArgs(1, 1, 2, b"\x00" * 32, chain.now(), (fill,))
        receipt = chain.send(ex.functions.settle(batch.as_tuple()), d.roles["settler"])
        self.step(f"settler posted batch 1 (1 fill: 2 ETH at 2,000; fees {_usd(maker_fee)} + "
                  f"{_usd(taker_fee)} USDC): {receipt['gasUsed']:,} gas")

        interval = d.markets.functions.next_funding_ts(eth).call()
        chain.set_time(interval)
        self.step(f"clock moved to the funding timestamp {interval}")
        self.post_price(eth, 2010 * WAD, 2012 * WAD)
        rate = 1 * BPS
        chain.send(d.markets.functions.apply_funding(eth, rate), d.roles["funding"])
        self.step(f"funding keeper applied rate +0.01% at mark 2,012: longs pay "
                  f"{_usd(rules.funding_owed(2 * WAD, rules.funding_index_step(rate, 2012 * WAD), 0))} USDC")

        free = ex.functions.equity(taker.address).call() - ex.functions.initial_margin(taker.address).call()
        amount = (free // 10**12) // 2
        chain.send(ex.functions.withdraw(amount), taker)
        self.step(f"taker withdrew {amount / USDC:,.2f} USDC (half its free collateral), no operator involved")
        self.report([("maker", maker.address), ("taker", taker.address)], eth)
        return d

    def report(self, traders: list[tuple[str, str]], market: int) -> None:
        ex, usdc = self.d.exchange, self.d.usdc
        table = Table(title="Final balances and positions (ETH-USD)")
        for col in ("trader", "wallet USDC", "cash", "position ETH", "equity", "initial margin"):
            table.add_column(col, justify="right")
        for name, addr in traders:
            size, _ = ex.functions.position(addr, market).call()
            table.add_row(name, f"{usdc.functions.balanceOf(addr).call() / USDC:,.2f}",
                          _usd(ex.functions.cash(addr).call()), _usd(size),
                          _usd(ex.functions.equity(addr).call()),
                          _usd(ex.functions.initial_margin(addr).call()))
        self.out.print(table)
        self.out.print(f"fee pool {_usd(ex.functions.fee_pool().call())} USDC, insurance "
                       f"{_usd(ex.functions.insurance().call())} USDC, funding pool "
                       f"{_usd(ex.functions.funding_pool(market).call())} USDC")
