"""The seeded benchmark workload of issue 3, shared by the core, journal and API benchmarks.

`setup_commands()` funds every account and publishes a first index per market;
`workload(n, seed)` then yields n trading commands on the two default markets
and 1,000 accounts: 60% limit orders near the mid (GTC, a few post-only),
30% cancels of recently placed orders (some already filled: those cancels
are rejected, as in real traffic), 10% marketable orders (IOC with a
protective limit 1% through the mid). Deterministic for a given seed.

Order hashes are blake2b ids of a counter, not EIP-712 digests: the core
does not check signatures (the adapter does). A benchmark that needs real
signatures can sign `cmd.order` itself.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator

from engine.core.commands import CancelOrder, Deposit, PlaceOrder, UpdateIndex
from engine.core.markets import MarketSpec, default_markets
from engine.core.orders import Order
from engine.core.rules import FLAG_IOC, FLAG_POST_ONLY
from engine.core.wad import WAD

ACCOUNTS = 1_000
START_MS = 1_700_000_000_000
DEPOSIT = 1_000_000 * WAD  # per account, WAD quote
MIDS = {1: 2_000 * WAD, 2: 30_000 * WAD}  # index per market id, WAD quote per base
MAX_FEE_RATE = 10**15  # 0.1%: covers the 0.05% taker fee
DEFAULT_N = 1_000_000
SIGNATURE = b"\x00" * 65


def bench_size(default: int = DEFAULT_N) -> int:
    """Commands per benchmark run: env PERPX_BENCH_N (e.g. 100000 for a quick run)."""
    return int(os.environ.get("PERPX_BENCH_N", default))


def account(i: int) -> str:
    """The i-th benchmark trader's address (deterministic, checksum-free hex)."""
    return "0x" + hashlib.blake2b(i.to_bytes(4, "big"), digest_size=20).hexdigest()


def order_hash(n: int) -> bytes:
    """A unique 32-byte order id for the n-th order of the workload."""
    return hashlib.blake2b(n.to_bytes(8, "big"), digest_size=32, person=b"bench").digest()


def setup_commands(markets: tuple[MarketSpec, ...] | None = None,
                   accounts: int = ACCOUNTS) -> list:
    """Deposits for every account and a first index per market, at START_MS."""
    markets = markets or default_markets()
    cmds: list = [Deposit(account(i), DEPOSIT, START_MS) for i in range(accounts)]
    cmds += [UpdateIndex(m.market_id, MIDS[m.market_id], START_MS) for m in markets]
    return cmds


def workload(n: int, seed: int = 1, markets: tuple[MarketSpec, ...] | None = None,
             accounts: int = ACCOUNTS) -> Iterator:
    """n seeded trading commands, 1 ms apart after START_MS (see module docstring)."""
    markets = markets or default_markets()
    rng = random.Random(seed)
    traders = [account(i) for i in range(accounts)]
    recent: list[tuple[str, bytes]] = []  # GTC orders placed, newest last
    serial = 0
    for k in range(n):
        ts = START_MS + 1 + k
        roll = rng.random()
        if roll < 0.30 and recent:
            idx = len(recent) - 1 - min(len(recent) - 1, int(rng.expovariate(1 / 50)))
            trader, h = recent.pop(idx)
            yield CancelOrder(trader, h, ts)
            continue
        spec = markets[rng.randrange(len(markets))]
        mid = MIDS[spec.market_id]
        tick, step = spec.tick_size, spec.step_size
        trader = traders[rng.randrange(accounts)]
        is_buy = rng.random() < 0.5
        size = rng.randint(1, 100) * step
        serial += 1
        h = order_hash(serial)
        if roll < 0.90:
            offset = rng.randint(0, 40) * tick
            price = mid - offset if is_buy else mid + offset
            flags = FLAG_POST_ONLY if rng.random() < 0.1 else 0
            order = Order(trader, spec.market_id, is_buy, size, price, 0, flags, MAX_FEE_RATE,
                          serial, 0)
            recent.append((trader, h))
            if len(recent) > 5_000:
                del recent[:1_000]
        else:
            through = mid // 100 // tick * tick
            price = mid + through if is_buy else mid - through
            order = Order(trader, spec.market_id, is_buy, size * 3, price, 0, FLAG_IOC,
                          MAX_FEE_RATE, serial, 0)
        yield PlaceOrder(order, h, SIGNATURE, ts)
