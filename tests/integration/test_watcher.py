"""The chain watcher: a trader's own Exchange transactions reach the engine (py-evm).

A trader deposits, withdraws and cancels on the Exchange directly, as a wallet
would; `ExchangeNode.on_time` reads the logs and journals the matching engine
commands. After a restart (clean, or a crash on either side of the journal
write) no log is applied twice and none is missed.
"""

from __future__ import annotations

import pytest

from engine.chain.artifacts import compile_contracts
from engine.chain.deploy import deploy_all
from engine.chain.encode import order_tuple
from engine.chain.node import Chain
from engine.chain.node_runner import ExchangeNode
from engine.core.commands import CancelOrder, Deposit, PlaceOrder, UpdateIndex, Withdraw
from engine.core.events import Deposited, OrderAccepted, Withdrawn
from engine.core.orders import Order
from engine.core.wad import WAD
from engine.eip712 import Domain, order_hash, sign_digest

USDC = 10**6
ETH = 1
FEE_CAP = 10 * WAD // 10_000


class Crash(BaseException):
    """Thrown by the crash hook: the process 'dies' here."""


@pytest.fixture()
def system(tmp_path):
    compile_contracts()
    chain = Chain.pyevm()
    d = deploy_all(chain)
    return chain, d, tmp_path / "node"


def _now_ms(chain: Chain) -> int:
    return chain.now() * 1000


def _wallet_deposit(chain: Chain, d, trader, units: int) -> None:
    """What a wallet does: mint (local MockUSDC), approve, Exchange.deposit."""
    chain.send(d.usdc.functions.mint(trader.address, units), trader)
    chain.send(d.usdc.functions.approve(d.exchange.address, units), trader)
    chain.send(d.exchange.functions.deposit(units), trader)


def _engine_cash(node: ExchangeNode, account: str) -> int:
    return node.sequencer.query(lambda e: e.ledger.accounts[account].cash
                                if account in e.ledger.accounts else 0)


def _journaled(node: ExchangeNode, kind: type) -> list:
    cmds = [node.codec.decode(r.payload) for r in node.journal.iter_from(1)]
    return [c for c in cmds if isinstance(c, kind)]


def _abandon(node: ExchangeNode) -> None:
    """What SIGKILL leaves: durable files only."""
    node.sequencer.close()
    node.journal.close()
    node.outbox.close()
    node.watcher.store.close()


def test_on_time__wallet_deposits_on_exchange__engine_cash_equals_chain_cash(system):
    chain, d, data = system
    trader = chain.signer("trader")
    node = ExchangeNode(chain, d, data)
    _wallet_deposit(chain, d, trader, 1_234_500_000)
    assert _engine_cash(node, trader.address) == 0
    node.on_time(_now_ms(chain))
    assert _engine_cash(node, trader.address) == 1_234_500_000_000_000_000_000
    assert d.exchange.functions.cash(trader.address).call() == 1_234_500_000_000_000_000_000
    assert _journaled(node, Deposit) == [Deposit(trader.address, 1234_5 * WAD // 10,
                                                 _now_ms(chain))]
    assert node.reconcile() == []
    node.close()


def test_fund__deposit_through_node__credited_once(system):
    chain, d, data = system
    trader = chain.signer("trader")
    node = ExchangeNode(chain, d, data)
    events = node.fund(trader, 1_000 * USDC, _now_ms(chain))
    assert [(type(e), e.account, e.amount) for e in events] == \
        [(Deposited, trader.address, 1_000 * WAD)]
    node.on_time(_now_ms(chain) + 1_000)
    assert _engine_cash(node, trader.address) == 1_000 * WAD
    assert d.exchange.functions.cash(trader.address).call() == 1_000 * WAD
    assert len(_journaled(node, Deposit)) == 1
    assert node.stats()["chain_logs_applied"] == 1
    node.close()


def test_on_time__trader_withdraws_on_chain__engine_follows_and_reconcile_empty(system):
    chain, d, data = system
    trader = chain.signer("trader")
    node = ExchangeNode(chain, d, data)
    node.fund(trader, 1_000 * USDC, _now_ms(chain))
    chain.send(d.exchange.functions.withdraw(400 * USDC + 250_000), trader)
    node.on_time(_now_ms(chain))
    assert _engine_cash(node, trader.address) == 599_750_000_000_000_000_000
    assert d.exchange.functions.cash(trader.address).call() == 599_750_000_000_000_000_000
    assert _journaled(node, Withdraw) == [Withdraw(trader.address, 400_250_000_000_000_000_000,
                                                   _now_ms(chain), on_chain=True)]
    assert node.reconcile() == []
    assert node.halted is None
    node.close()


def test_on_time__trader_cancels_resting_order_on_chain__engine_order_cancelled(system):
    chain, d, data = system
    trader = chain.signer("trader")
    node = ExchangeNode(chain, d, data)
    now = _now_ms(chain)
    node.fund(trader, 10_000 * USDC, now)
    node.submit(UpdateIndex(ETH, 2_000 * WAD, now))
    order = Order(trader=trader.address, market=ETH, is_buy=True, size=WAD,
                  limit_price=1_900 * WAD, max_fee_rate=FEE_CAP, nonce=7)
    h = order_hash(Domain(chain.chain_id, d.exchange.address), order)
    events = node.submit(PlaceOrder(order, h, sign_digest(trader.key, h), now + 1))
    assert any(isinstance(e, OrderAccepted) for e in events)
    assert [v.order_hash for v in node.sequencer.query(
        lambda e: e.open_orders(trader.address))] == [h]
    chain.send(d.exchange.functions.cancel(order_tuple(order)), trader)
    node.on_time(now + 2)
    assert node.sequencer.query(lambda e: e.open_orders(trader.address)) == []
    view = node.sequencer.query(lambda e: e.get_order(h))
    assert (view.status, view.reason) == ("cancelled", "user")
    assert _journaled(node, CancelOrder) == [CancelOrder(trader.address, h, now + 2)]
    node.close()


def test_node__restarted__chain_logs_not_applied_twice(system):
    chain, d, data = system
    trader = chain.signer("trader")
    node = ExchangeNode(chain, d, data)
    node.fund(trader, 1_000 * USDC, _now_ms(chain))
    chain.send(d.exchange.functions.withdraw(300 * USDC), trader)
    node.on_time(_now_ms(chain))
    node.close()
    _wallet_deposit(chain, d, trader, 50 * USDC)  # while the node is down
    node = ExchangeNode(chain, d, data)
    node.on_time(_now_ms(chain))
    node.on_time(_now_ms(chain) + 1_000)
    assert _engine_cash(node, trader.address) == 750 * WAD
    assert d.exchange.functions.cash(trader.address).call() == 750 * WAD
    assert [c.amount for c in _journaled(node, Deposit)] == [1_000 * WAD, 50 * WAD]
    assert [c.amount for c in _journaled(node, Withdraw)] == [300 * WAD]
    assert node.reconcile() == []
    node.close()


@pytest.mark.parametrize("point", ["before_chain_journal", "after_chain_journal"])
def test_node__killed_around_chain_journal__restart_applies_each_log_once(system, point):
    chain, d, data = system
    trader = chain.signer("trader")
    armed = {"on": False}

    def hook(at: str) -> None:
        if armed["on"] and at == point:
            raise Crash(at)

    node = ExchangeNode(chain, d, data, crash_hook=hook)
    node.fund(trader, 1_000 * USDC, _now_ms(chain))
    _wallet_deposit(chain, d, trader, 20 * USDC)
    chain.send(d.exchange.functions.withdraw(5 * USDC), trader)
    armed["on"] = True
    with pytest.raises(Crash):
        node.on_time(_now_ms(chain))
    _abandon(node)
    node = ExchangeNode(chain, d, data)  # resolves the staged logs against the journal
    node.on_time(_now_ms(chain) + 1_000)
    assert _engine_cash(node, trader.address) == 1_015 * WAD
    assert d.exchange.functions.cash(trader.address).call() == 1_015 * WAD
    assert [c.amount for c in _journaled(node, Deposit)] == [1_000 * WAD, 20 * WAD]
    assert [c.amount for c in _journaled(node, Withdraw)] == [5 * WAD]
    assert node.stats()["chain_logs_applied"] == 3
    assert node.reconcile() == []
    node.close()


def test_on_time__chain_withdrawal_engine_would_refuse__engine_follows_the_chain(system):
    chain, d, data = system
    trader = chain.signer("trader")
    node = ExchangeNode(chain, d, data)
    now = _now_ms(chain)
    node.fund(trader, 1_000 * USDC, now)
    # make the engine's view stricter than the chain's: a dev-only engine withdrawal
    # leaves it 100 of free collateral where the chain still holds 1,000
    events = node.submit(Withdraw(trader.address, 900 * WAD, now + 1))
    assert [type(e) for e in events] == [Withdrawn]
    chain.send(d.exchange.functions.withdraw(500 * USDC), trader)
    node.on_time(now + 2)
    # the Exchange already paid 500 out: the engine records it (on_chain=True) even
    # though its own margin check would have refused it, instead of halting
    journaled = _journaled(node, Withdraw)
    assert [(c.amount, c.on_chain) for c in journaled] == [(900 * WAD, False), (500 * WAD, True)]
    assert node.engine.ledger.accounts[trader.address].cash == -400 * WAD
    assert node.halted is None
    node.close()
