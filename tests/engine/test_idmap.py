"""engine/core/idmap.py, compiled (idmap.h's table) and interpreted (a dict) alike: a
map of bytes keys that answers as a dict does, iteration in insertion order included,
through growth, removals (holes) and rebuilds; other keys are never there."""

from __future__ import annotations

import pickle
import random
import sys

import pytest

from engine.core import NATIVE, nativeinfo
from engine.core.idmap import IdMap


def test_idmap__compiled_build__runs_compiled():
    if nativeinfo.pure_requested():
        pytest.skip("PERPX_PURE=1 asked for source")
    assert NATIVE["idmap"] == "compiled"


def _keys(rng: random.Random) -> list[bytes]:
    """Keys the hash must tell apart: random digests, ids that differ only in their last
    bytes (n.to_bytes(32): the first 24 are zero), ones equal but for the length, and
    short ones (empty, under 8 bytes, 8 plus a tail)."""
    keys = [rng.getrandbits(256).to_bytes(32, "big") for _ in range(1_500)]
    keys += [n.to_bytes(32, "big") for n in range(1_500)]
    keys += [bytes(n) for n in range(0, 40)]  # b"", b"\0", ... : same bytes, new length
    keys += [b"a", b"ab", b"abcdefg", b"abcdefgh", b"abcdefghi", b"\xff" * 9]
    return keys


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_idmap__random_operations__answer_as_a_dict_in_the_same_order(seed):
    rng = random.Random(seed)
    keys = _keys(rng)
    got, want = IdMap(), {}
    for step in range(60_000):
        key = rng.choice(keys)
        if rng.random() < 0.5:  # an equal key that is another object: found by content
            key = bytes(bytearray(key))
        roll = rng.random()
        if roll < 0.35:
            got[key] = want[key] = step
        elif roll < 0.5:
            assert got.setdefault(key, step) == want.setdefault(key, step)
        elif roll < 0.8:
            assert got.pop(key, "none") == want.pop(key, "none")
        else:
            assert got.get(key) == want.get(key)
            assert (key in got) == (key in want) == got.has(key)
        if step % 4_000 == 0:
            assert got.items() == list(want.items())
            assert len(got) == len(want)
    assert got.keys() == list(want)
    assert got.values() == list(want.values())
    assert list(got) == list(want)


def test_idmap__a_key_stored_again__keeps_its_place_and_takes_the_value():
    m = IdMap()
    for k in (b"k1", b"k2", b"k3"):
        m[k] = k
    m[b"k1"] = "new"
    assert m.setdefault(b"k2", "ignored") == b"k2"
    assert m.items() == [(b"k1", "new"), (b"k2", b"k2"), (b"k3", b"k3")]


def test_idmap__grow_and_empty_and_refill__order_survives_every_rebuild():
    m, want = IdMap(), {}
    for n in range(20_000):  # doublings from 8 entries
        m[n.to_bytes(32, "big")] = want[n.to_bytes(32, "big")] = n
    for n in range(0, 20_000, 3):  # holes, dropped at the next rebuild
        key = n.to_bytes(32, "big")
        assert m.pop(key) == want.pop(key) == n
    for n in range(20_000, 45_000):
        m[n.to_bytes(32, "big")] = want[n.to_bytes(32, "big")] = n
    assert m.items() == list(want.items())
    for key in list(want):
        assert m.pop(key) == want.pop(key)
    assert len(m) == 0 and not m and m.items() == []
    m[b"again"] = 1
    assert m.items() == [(b"again", 1)]


def test_idmap__keys_that_are_not_bytes__are_absent_and_cannot_be_stored():
    m = IdMap()
    m[b"x"] = 1
    for key in ("x", bytearray(b"x"), 1, None, memoryview(b"x")):
        assert m.get(key, "dflt") == "dflt" and key not in m and not m.has(key)
        assert m.pop(key, "dflt") == "dflt"
        with pytest.raises(KeyError):
            m[key]
        with pytest.raises(KeyError):
            del m[key]
        with pytest.raises(TypeError, match="order id: expected bytes"):
            m[key] = 2
        with pytest.raises(TypeError, match="order id: expected bytes"):
            m.setdefault(key, 2)
    assert m.items() == [(b"x", 1)]


def test_idmap__missing_key__raises_key_error():
    m = IdMap()
    with pytest.raises(KeyError):
        m[b"nope"]
    with pytest.raises(KeyError):
        del m[b"nope"]


def test_idmap__pop_and_dealloc__release_keys_and_values():
    key, value = b"k" * 32, object()
    m = IdMap()
    key_refs, value_refs = sys.getrefcount(key), sys.getrefcount(value)
    m[key] = value
    assert sys.getrefcount(value) == value_refs + 1
    assert m.pop(key) is value
    assert sys.getrefcount(key) == key_refs and sys.getrefcount(value) == value_refs
    m[key] = value
    del m
    assert sys.getrefcount(key) == key_refs and sys.getrefcount(value) == value_refs


def test_idmap__pickled__same_items_in_the_same_order():
    m = IdMap([(n.to_bytes(8, "big"), n * n) for n in range(300)])
    del m[(5).to_bytes(8, "big")]
    back = pickle.loads(pickle.dumps(m))
    assert isinstance(back, IdMap) and back.items() == m.items()
