"""engine/core/registry.py: the sharded order registry behaves as a mapping of hashes."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.engine import Engine
from engine.core.markets import default_markets
from engine.core.orders import Order
from engine.core.registry import SHARDS, OrderRegistry
from engine.core.rules import FLAG_BACKSTOP
from engine.core.views import OPEN, OrderRecord
from engine.core.wad import WAD
from tests.bench.workload import order_hash
from tests.engine.engine_helpers import ETH, MAKER, SIG
from tests.engine.native_stream import stream

hashes = st.binary(min_size=32, max_size=32)


def record(nonce: int) -> OrderRecord:
    return OrderRecord(Order(MAKER, ETH, True, WAD, 2_000 * WAD, 0, 0, 10**15, nonce, 0), SIG,
                       OPEN, nonce, 1_000)


def test_registry__set_get_contains_delete__as_a_dict():
    registry = OrderRegistry()
    h, other = b"\x07" * 32, b"\x08" * 32
    rec = record(1)
    registry[h] = rec
    assert registry[h] is rec and registry.get(h) is rec and h in registry
    assert registry.get(other) is None and registry.get(other, 5) == 5 and other not in registry
    assert len(registry) == 1 and bool(registry) and list(registry) == [h]
    del registry[h]
    assert len(registry) == 0 and not registry and registry == {}
    with pytest.raises(KeyError):
        registry[h]  # noqa: B018
    with pytest.raises(KeyError):
        del registry[h]


def test_registry__has_and_put__the_engine_path_of_in_and_setitem():
    registry = OrderRegistry()
    h, other = b"\x07" * 32, b"\x08" * 32
    rec, newer = record(1), record(2)
    registry.put(h, rec)
    assert registry.has(h) and not registry.has(other) and registry[h] is rec
    registry.put(h, newer)  # replaces, as registry[h] = newer does
    assert registry[h] is newer and len(registry) == 1
    for key in ("0xab", b"", 7, None):
        assert not registry.has(key)
        with pytest.raises(TypeError, match="order hash: expected non-empty bytes"):
            registry.put(key, rec)
    assert list(registry) == [h]


@pytest.mark.parametrize("key", ["0xab", b"", 7, None])
def test_registry__key_not_non_empty_bytes__absent_and_refused_as_a_key(key: object):
    registry = OrderRegistry()
    assert key not in registry and registry.get(key) is None
    with pytest.raises(KeyError):
        registry[key]
    with pytest.raises(TypeError, match="order hash: expected non-empty bytes"):
        registry[key] = record(1)
    assert len(registry) == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(hashes, st.booleans()), max_size=60))
def test_registry__random_sets_and_deletes__equal_to_a_dict(ops: list[tuple[bytes, bool]]):
    registry, reference = OrderRegistry(), {}
    for n, (h, delete) in enumerate(ops):
        if delete and h in reference:
            del registry[h]
            del reference[h]
        else:
            registry[h] = reference[h] = record(n)
    assert registry == reference and reference == dict(registry.items())
    assert len(registry) == len(reference)
    assert sorted(registry) == sorted(reference) == sorted(registry.keys())
    assert sorted(map(id, registry.values())) == sorted(map(id, reference.values()))


def test_registry__iteration__shard_by_shard_each_in_insertion_order():
    registry = OrderRegistry()
    keys = [bytes([2, 9]), bytes([1, 5]), bytes([2, 1]), bytes([1, 3])]
    for n, h in enumerate(keys):
        registry[h] = record(n)
    assert list(registry) == [bytes([1, 5]), bytes([1, 3]), bytes([2, 9]), bytes([2, 1])]
    assert [k for k, _ in registry.items()] == list(registry)


def test_registry__workload_hashes__spread_over_every_shard():
    registry = OrderRegistry(((order_hash(n), record(n)) for n in range(SHARDS * 40)))
    sizes = registry.shard_sizes()
    assert len(sizes) == SHARDS and sum(sizes) == len(registry) == SHARDS * 40
    assert min(sizes) > 0 and max(sizes) < 2 * 40  # no dict holds much more than 1/256


def test_registry__pickled__equal_records_in_the_same_order():
    registry = OrderRegistry(((order_hash(n), record(n)) for n in range(50)))
    again = pickle.loads(pickle.dumps(registry))
    assert list(again) == list(registry)
    assert [r.order for r in again.values()] == [r.order for r in registry.values()]


def test_registry__compared_with_a_dict_holding_other_records__not_equal():
    registry = OrderRegistry([(b"\x01" * 32, record(1))])
    assert registry != {b"\x01" * 32: record(2)}
    assert registry != {b"\x02" * 32: registry[b"\x01" * 32]}
    assert registry != [b"\x01" * 32]


# A snapshot the engine of commit ac3b5c4 (one dict as the registry, walked in insertion
# order by the state hash) took after `native_stream.stream(400, 11)`, with the state
# hash it recorded. Its registry holds two takeover seqs, each with a liquidation and a
# backstop order; in one the backstop's hash has the lower first byte. It also predates
# Value.__reduce__: its accounts, positions and funding events are Cython's own pickles,
# which the interpreted engine reads as well (the test runs in both).
OLD_SNAPSHOT = Path(__file__).parent.parent / "vectors" / "engine-snapshot-ac3b5c4.bin"
OLD_STATE_HASH = "22da7fa8f6e95e2c1397f55f76b0641a79b7e38d17d9f30e986a45d044f8be18"


def test_state_hash__snapshot_from_before_the_sharded_registry__same_hash_then_same_run():
    restored = Engine.from_snapshot(OLD_SNAPSHOT.read_bytes())
    assert restored.state_hash() == OLD_STATE_HASH  # replay keeps using such snapshots
    by_seq: dict[int, list[tuple[bytes, int]]] = {}
    for h, rec in restored.orders.items():
        by_seq.setdefault(rec.seq, []).append((h, rec.order.flags & FLAG_BACKSTOP))
    tied = [group for group in by_seq.values() if len(group) > 1]
    assert len(tied) == 2 and all(sorted(f for _, f in g) == [0, FLAG_BACKSTOP] for g in tied)
    # the registry walks this backstop order first; the state hash must not
    assert any(next(h for h, f in g if f)[0] < next(h for h, f in g if not f)[0] for g in tied)
    commands = list(stream(600, 11))
    fresh = Engine(default_markets())
    for cmd in commands:
        fresh.apply(cmd)
    for cmd in commands[400:]:
        restored.apply(cmd)
    assert restored.state_hash() == fresh.state_hash()
