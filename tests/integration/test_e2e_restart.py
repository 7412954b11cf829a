"""Restart from nothing but the journal, the outbox and the chain.

The node is abandoned at each crash point (before a command is journaled,
after it, after a settlement transaction is sent, after its receipt) by an
exception thrown from its crash hook, its files are closed as the kernel
would on a kill, and a brand-new node is opened on the same data directory
and chain. Afterwards every batch landed exactly once (ids 1..N, one
`BatchSettled` each), every fill the engine made is settled, and chain ==
engine.
"""

from __future__ import annotations

import pytest

from engine.chain.node_runner import ExchangeNode
from engine.core.events import TradeExecuted
from tests.integration.test_e2e_parity import e2e_markets, fund_all, start


class Crash(BaseException):
    """Thrown by the crash hook: the process 'dies' here."""


def _hook(point: str, nth: int):
    seen = {"n": 0}

    def hook(at: str) -> None:
        if at == point:
            seen["n"] += 1
            if seen["n"] == nth:
                raise Crash(at)

    return hook


def _abandon(node: ExchangeNode) -> None:
    """What SIGKILL leaves: durable files only (the writer lock is released)."""
    node.sequencer.close()
    node.journal.close()
    node.outbox.close()


def _resume_index(node: ExchangeNode, commands: list) -> int:
    """Index after the last script command the journal holds (acknowledged or not)."""
    journaled = set(_journal_commands(node))
    done = [i for i, c in enumerate(commands) if c in journaled]
    return done[-1] + 1 if done else 0


def _journal_commands(node: ExchangeNode) -> list:
    return [node.codec.decode(r.payload) for r in node.journal.iter_from(1)]


@pytest.mark.slow
@pytest.mark.parametrize("point,nth", [("before_journal", 150), ("after_journal", 260),
                                       ("after_send", 12), ("after_receipt", 25)])
def test_node__killed_at_crash_point__restarts_from_journal_and_chain(tmp_path, point, nth):
    chain, d, flow = start(seed=11, n_orders=400)
    data = tmp_path / "node"
    kwargs = dict(markets=e2e_markets(), batch_max_fills=20, batch_max_age_s=60)
    node = ExchangeNode(chain, d, data, crash_hook=_hook(point, nth), **kwargs)
    fund_all(node, chain, flow)
    crashed = False
    try:
        for cmd in flow.commands:
            node.submit(cmd)
            node.on_time(cmd.ts_ms)
    except Crash:
        crashed = True
    assert crashed
    _abandon(node)
    node = ExchangeNode(chain, d, data, **kwargs)  # nothing carried over but the files
    for cmd in flow.commands[_resume_index(node, flow.commands):]:
        node.submit(cmd)
        node.on_time(cmd.ts_ms)
    node.flush()
    assert node.reconcile() == []
    engine_fills = _engine_fills(node)
    settled = d.exchange.events.BatchSettled().get_logs(from_block=0)
    ids = [log["args"]["batch_id"] for log in settled]
    assert ids == list(range(1, len(ids) + 1))  # each batch exactly once, in order
    assert d.exchange.functions.last_batch_id().call() == len(ids)
    assert _chain_fills(d, settled) == engine_fills
    node.close()


def _engine_fills(node: ExchangeNode) -> int:
    from engine.core.engine import Engine

    engine = Engine(e2e_markets())
    return sum(1 for c in _journal_commands(node) for e in engine.apply(c)
               if type(e) is TradeExecuted)


def _chain_fills(d, settled: list) -> int:
    """Fills in the settle transactions that landed (decoded from their input)."""
    w3 = d.chain.w3
    total = 0
    for log in settled:
        tx = w3.eth.get_transaction(log["transactionHash"])
        _, args = d.exchange.decode_function_input(tx["input"])
        total += len(args["batch"]["fills"])
    return total


def test_node__restarted_twice_without_crash__continues_batch_ids(tmp_path):
    chain, d, flow = start(seed=5, n_orders=200)
    kwargs = dict(markets=e2e_markets(), batch_max_fills=20, batch_max_age_s=60)
    node = ExchangeNode(chain, d, tmp_path / "n", **kwargs)
    fund_all(node, chain, flow)
    half = len(flow.commands) // 2
    for cmd in flow.commands[:half]:
        node.submit(cmd)
    node.flush()
    first = d.exchange.functions.last_batch_id().call()
    node.close()
    node = ExchangeNode(chain, d, tmp_path / "n", **kwargs)
    assert node.stats()["last_batch_id"] == first
    for cmd in flow.commands[half:]:
        node.submit(cmd)
    node.flush()
    assert d.exchange.functions.last_batch_id().call() > first
    assert node.reconcile() == []
    node.close()
