"""engine/core/events.py's hot constructors build the same event as calling its class.

Compiled, `order_accepted`, `order_cancelled`, `cancel_rejected` and `trade_executed`
fill the C fields of a new instance instead of calling the class; the result must be
indistinguishable: equal, same hash and repr, same fields, pickled alike and frozen.
"""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from engine.core import events
from engine.core.events import CancelRejected, OrderAccepted, OrderCancelled, TradeExecuted
from engine.core.wad import WAD

TRADER = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
H1, H2 = b"\x01" * 32, b"\x02" * 32

CASES = [
    (events.order_accepted, OrderAccepted,
     (7, 1_700_000_000_000, H1, TRADER, 1, True, 3 * WAD, 2_000 * WAD, 0, 4, False)),
    (events.order_cancelled, OrderCancelled,
     (8, 1_700_000_000_001, H1, TRADER, 2, 10**17, "self-trade")),
    (events.cancel_rejected, CancelRejected,
     (9, 1_700_000_000_002, OTHER, H2, 3001, "order_hash: 0x02.. is not an open order")),
    (events.trade_executed, TradeExecuted,
     (10, 1_700_000_000_003, 1, TRADER, OTHER, H1, H2, False, WAD, 30_000 * WAD,
      6 * 10**18, 15 * 10**18, True)),
]


@pytest.mark.parametrize(("make", "cls", "args"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_hot_constructor__same_args__the_value_its_class_builds(make, cls, args):
    made, called = make(*args), cls(*args)
    assert type(made) is cls
    assert made == called and hash(made) == hash(called) and repr(made) == repr(called)
    assert tuple(getattr(made, f.name) for f in dataclasses.fields(cls)) == args
    assert pickle.loads(pickle.dumps(made)) == called
    with pytest.raises((AttributeError, dataclasses.FrozenInstanceError)):
        made.seq = 0  # frozen, like every event
