"""A seeded stream of every kind of engine command, and a run of it that prints digests.

`python -m tests.engine.native_stream N SEED` applies N commands of `stream(N, SEED)`
to a fresh engine and prints one JSON line: the state hash, a digest of every event's
repr in order, the event count, and which engine/core modules ran compiled. The
native test (test_native.py) runs it once interpreted (PERPX_PURE=1, in a
subprocess) and compares with the compiled engine in its own process.

The stream: six traders, two of them thinly funded so that index moves liquidate
them (takeovers and ADL included when the book is thin); limit, IOC, FOK,
post-only, reduce-only, isolated, expiring and stop / take-profit orders; cancels
(some of foreign or unknown orders), cancel-all, deposits, withdrawals, stake
changes, index moves of up to 6% and ticks across funding timestamps.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Iterator

from engine.core.commands import (
    CancelAll,
    CancelOrder,
    Deposit,
    PlaceOrder,
    SetStake,
    Tick,
    UpdateIndex,
    Withdraw,
)
from engine.core.markets import default_markets
from engine.core.orders import Order
from engine.core.rules import (
    FLAG_FOK,
    FLAG_IOC,
    FLAG_ISOLATED,
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
)
from engine.core.wad import WAD

T0 = 1_699_977_600_000 + 60_000
TRADERS = tuple("0x" + f"{i:02x}" * 20 for i in range(0x11, 0x17))
THIN = TRADERS[:2]  # funded with little collateral: they get liquidated
MIDS = {1: 2_000 * WAD, 2: 30_000 * WAD}
FLAGS = (0, 0, 0, 0, FLAG_IOC, FLAG_FOK, FLAG_POST_ONLY, FLAG_REDUCE_ONLY,
         FLAG_REDUCE_ONLY | FLAG_IOC, FLAG_ISOLATED, FLAG_ISOLATED | FLAG_IOC)
SIG = b"\x02" * 65


def stream(n: int, seed: int) -> Iterator[object]:
    """n commands, deterministic for (n, seed)."""
    rng = random.Random(seed)
    specs = {s.market_id: s for s in default_markets()}
    index = dict(MIDS)
    ts = T0
    nonce = 0
    placed: list[tuple[str, bytes]] = []
    for trader in TRADERS:
        yield Deposit(trader, (3_000 if trader in THIN else 400_000) * WAD, ts)
    for market, mid in MIDS.items():
        yield UpdateIndex(market, mid, ts)
    for _ in range(n - len(TRADERS) - len(MIDS)):
        ts += rng.choice((1, 10, 100, 1_000))
        roll = rng.random()
        trader = rng.choice(TRADERS)
        market = rng.choice((1, 2))
        spec = specs[market]
        tick, step = spec.tick_size, spec.step_size
        if roll < 0.55:
            nonce += 1
            is_buy = rng.random() < 0.5
            flags = rng.choice(FLAGS)
            offset = rng.randint(-20, 40) * tick * 10
            price = index[market] // tick * tick + (-offset if is_buy else offset)
            size = rng.randint(1, 4_000 if trader in THIN else 1_500) * step
            expiry = ts // 1000 + rng.choice((5, 60)) if rng.random() < 0.1 else 0
            trigger = 0
            if rng.random() < 0.05 and not flags & (FLAG_FOK | FLAG_POST_ONLY):
                trigger = index[market] * rng.choice((97, 98, 102, 103)) // 100 // tick * tick
            order = Order(trader, market, is_buy, size, max(price, tick), trigger, flags,
                          10**15, nonce, expiry)
            h = hashlib.blake2b(repr(order).encode(), digest_size=32).digest()
            placed.append((trader, h))
            yield PlaceOrder(order, h, SIG, ts)
        elif roll < 0.80 and placed:
            owner, h = placed[-1 - min(len(placed) - 1, int(rng.expovariate(1 / 20)))]
            who = owner if rng.random() < 0.95 else rng.choice(TRADERS)
            yield CancelOrder(who, h if rng.random() < 0.98 else bytes(32), ts)
        elif roll < 0.86:
            index[market] = max(WAD, index[market] * (10_000 + rng.randint(-600, 600))
                                // 10_000)
            yield UpdateIndex(market, index[market], ts)
        elif roll < 0.89:
            ts += rng.choice((5_000, 3_600_000, 8 * 3_600_000))
            yield Tick(ts)
        elif roll < 0.92:
            yield CancelAll(trader, rng.choice((1, 2, None)), ts)
        elif roll < 0.95:
            yield Deposit(trader, rng.randint(1, 5_000) * WAD, ts)
        elif roll < 0.98:
            yield Withdraw(trader, rng.randint(1, 20_000) * WAD, ts)
        else:
            yield SetStake(trader, rng.choice((0, 1_000, 100_000, 600_000)) * WAD, ts)


def run(n: int, seed: int) -> dict:
    """Apply the stream to a fresh engine; the digests `test_native` compares."""
    from engine.core import NATIVE
    from engine.core.engine import Engine

    engine = Engine(default_markets())
    digest = hashlib.blake2b(digest_size=32)
    count = 0
    kinds: dict[str, int] = {}
    for cmd in stream(n, seed):
        for event in engine.apply(cmd):
            digest.update(repr(event).encode() + b"\n")
            count += 1
            kinds[type(event).__name__] = kinds.get(type(event).__name__, 0) + 1
    return {"state_hash": engine.state_hash(), "events": digest.hexdigest(), "count": count,
            "kinds": kinds, "native": NATIVE}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]), int(sys.argv[2]))))
