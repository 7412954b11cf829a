"""The fill history ring (engine/core/fills.py): what it keeps, in what order, and how
it pickles, compiled and with PERPX_PURE=1."""

from __future__ import annotations

import pickle

from engine.core.events import TradeExecuted
from engine.core.fills import FILL_HISTORY_LIMIT, FillHistory

MAKER = "0x1111111111111111111111111111111111111111"
TAKER = "0x2222222222222222222222222222222222222222"


def trade(seq: int) -> TradeExecuted:
    return TradeExecuted(seq, 1_000 + seq, 1, MAKER, TAKER, seq.to_bytes(32, "big"),
                         (seq + 1).to_bytes(32, "big"), True, 10**18, 2_000 * 10**18, 4, 10,
                         False)


def test_add__past_the_limit__keeps_the_newest_1000_oldest_first() -> None:
    assert FILL_HISTORY_LIMIT == 1_000
    history = FillHistory()
    trades = [trade(n) for n in range(2_345)]
    for t in trades:
        history.add(t)
    assert len(history) == 1_000
    assert list(history) == trades[1_345:]
    assert history[0] is trades[1_345] and history[-1] is trades[-1]
    assert history.latest(3) == trades[-3:]
    assert history.latest(0) == [] and history.latest(5_000) == trades[1_345:]


def test_init__more_than_the_limit__keeps_the_newest_and_adds_after_them() -> None:
    trades = [trade(n) for n in range(1_005)]
    history = FillHistory(trades)
    assert list(history) == trades[5:]
    history.add(trade(9_999))
    assert list(history)[-2:] == [trades[-1], trade(9_999)]
    assert history[0] == trades[6]


def test_pickle__wrapped_ring__same_fills_in_order() -> None:
    history = FillHistory()
    trades = [trade(n) for n in range(1_500)]
    for t in trades:
        history.add(t)
    restored = pickle.loads(pickle.dumps(history))
    assert type(restored) is FillHistory
    assert restored == history and list(restored) == trades[500:]
    restored.add(trade(7_777))
    assert restored != history and restored[-1] == trade(7_777)
