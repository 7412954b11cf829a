"""Liquidations the book cannot absorb, end to end on py-evm: the engine hands
the rest to the insurance account (takeover) or to the most profitable
opposite positions (ADL); the settler-signed backstop fills settle on chain at
the bankruptcy price and chain == engine afterwards, insurance included."""

from __future__ import annotations

import pytest

from engine.chain.artifacts import compile_contracts
from engine.chain.deploy import deploy_all
from engine.chain.node import Chain
from engine.chain.node_runner import ExchangeNode
from engine.core.accounts import INSURANCE
from engine.core.commands import PlaceOrder, UpdateIndex
from engine.core.events import AutoDeleveraged, InsuranceTakeover, LiquidationStarted
from engine.core.orders import Order
from engine.core.wad import WAD
from engine.eip712 import Domain, order_hash, sign_digest

USDC = 10**6
ETH = 1
FEE_CAP = 10 * WAD // 10_000


class Desk:
    """A node on a fresh py-evm chain, and signed orders for its traders."""

    def __init__(self, tmp_path) -> None:
        compile_contracts()
        self.chain = Chain.pyevm()
        self.d = deploy_all(self.chain)
        self.node = ExchangeNode(self.chain, self.d, tmp_path / "node")
        self.domain = Domain(self.chain.w3.eth.chain_id, self.d.exchange.address)
        self.now = self.chain.now() * 1000
        self.nonce = 0

    def tick(self) -> int:
        self.now += 1_000
        return self.now

    def fund(self, name: str, usdc: int):
        trader = self.chain.signer(name)
        self.node.fund(trader, usdc * USDC, self.tick())
        return trader

    def index(self, price: int) -> list:
        return self.node.submit(UpdateIndex(ETH, price * WAD, self.tick()))

    def order(self, trader, is_buy: bool, size: int, price: int, flags: int = 0) -> list:
        self.nonce += 1
        o = Order(trader.address, ETH, is_buy, size, price * WAD, 0, flags, FEE_CAP, self.nonce)
        h = order_hash(self.domain, o)
        return self.node.submit(PlaceOrder(o, h, sign_digest(trader.key, h), self.tick()))

    def chain_position(self, account: str) -> int:
        return self.d.exchange.functions.position(account, ETH).call()[0]

    def engine_position(self, account: str) -> int:
        return self.node.sequencer.query(lambda e: e.ledger.accounts[account].positions[ETH].size
                                         if ETH in e.ledger.accounts[account].positions else 0)

    def backstopped(self) -> list:
        return self.d.exchange.events.Backstopped().get_logs(from_block=0)


def of(events: list, kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture()
def desk(tmp_path):
    desk = Desk(tmp_path)
    yield desk
    desk.node.close()


def test_liquidation__no_bids_and_no_insurance__adl_settles_against_profitable_short(desk):
    trader, maker = desk.fund("trader", 120), desk.fund("maker", 100_000)
    desk.index(2_000)
    desk.order(maker, False, WAD, 2_000)
    desk.order(trader, True, WAD, 2_000, flags=4)  # long 1 ETH, 20 USDC above IM
    events = desk.index(1_900)  # equity ~20 < MM ~57: no bid in the book
    started = of(events, LiquidationStarted)
    adl = of(events, AutoDeleveraged)
    assert [s.account for s in started] == [trader.address]
    assert [(a.account, a.counterparty, a.size) for a in adl] == [
        (trader.address, maker.address, WAD)]
    desk.node.flush()
    assert desk.node.halted is None
    assert desk.node.reconcile() == []
    assert desk.chain_position(trader.address) == desk.chain_position(maker.address) == 0
    logs = desk.backstopped()
    assert [(x.args.account, x.args.counterparty, x.args.size, x.args.price) for x in logs] == [
        (trader.address, maker.address, WAD, adl[0].price)]
    assert desk.node.stats()["adl_legs"] == 1


def test_liquidation__insurance_has_margin__takes_the_position_over(desk):
    whale, maker = desk.fund("whale", 1_200), desk.fund("maker", 100_000)
    lp, trader = desk.fund("lp", 100_000), desk.fund("trader", 120)
    desk.index(2_000)
    desk.order(maker, False, 10 * WAD, 2_000)
    desk.order(whale, True, 10 * WAD, 2_000, flags=4)  # 10 ETH on 1,200 USDC
    desk.order(lp, True, 10 * WAD, 1_930)  # the book absorbs the whale at 1930
    events = desk.index(1_934)  # whale: equity ~540 < MM ~580
    assert [s.account for s in of(events, LiquidationStarted)] == [whale.address]
    insurance = desk.node.sequencer.query(lambda e: e.ledger.insurance)
    assert insurance >= 96 * WAD  # 0.5% of 19,300 = 96.5 liquidation fee
    desk.order(maker, False, WAD, 1_934)
    desk.order(trader, True, WAD, 1_934, flags=4)  # long 1 ETH at 1934 with 120 USDC
    events = desk.index(1_840)  # trader: equity ~26 < MM ~55; no bids left
    takeover = of(events, InsuranceTakeover)
    assert [(t.account, t.size) for t in takeover] == [(trader.address, WAD)]
    assert of(events, AutoDeleveraged) == []
    desk.node.flush()
    assert desk.node.halted is None
    assert desk.node.reconcile() == []
    assert desk.chain_position(INSURANCE) == desk.engine_position(INSURANCE) == WAD
    assert desk.d.exchange.functions.insurance().call() == desk.node.sequencer.query(
        lambda e: e.ledger.insurance)
    assert [(x.args.counterparty, x.args.price) for x in desk.backstopped()] == [
        (INSURANCE, takeover[0].price)]
    assert desk.node.stats()["insurance_takeovers"] == 1


def test_sweep_fees__called_by_anyone__engine_follows_and_chain_equals_engine(desk):
    """Trading fees and a liquidation fee accrue; a stranger sweeps them on chain; the
    watcher journals SweepFees and the engine's pools equal the chain's again."""
    whale, maker = desk.fund("whale", 1_200), desk.fund("maker", 100_000)
    lp = desk.fund("lp", 100_000)
    desk.index(2_000)
    desk.order(maker, False, 10 * WAD, 2_000)
    desk.order(whale, True, 10 * WAD, 2_000, flags=4)
    desk.order(lp, True, 10 * WAD, 1_930)
    desk.index(1_934)  # the whale is liquidated into the lp's bid: fee to insurance
    desk.node.flush()
    ex = desk.d.exchange.functions
    fees, insurance = ex.fee_pool().call(), ex.insurance().call()
    assert fees > 0 and insurance >= 96 * WAD
    stranger = desk.chain.signer("stranger")
    desk.chain.send(ex.sweep_fees(), stranger)
    scale = 10**12
    swept = desk.d.exchange.events.FeesSwept().get_logs(from_block=0)[0].args
    assert (swept.fees, swept.insurance) == (fees // scale, insurance // scale)
    desk.node.on_time(desk.tick())
    engine = desk.node.sequencer.query(lambda e: (e.ledger.fee_pool, e.ledger.insurance))
    assert engine == (fees % scale, insurance % scale) == (ex.fee_pool().call(),
                                                           ex.insurance().call())
    assert desk.node.reconcile() == []
    assert desk.d.insurance_fund.functions.total_exchange_surplus().call() == insurance // scale
