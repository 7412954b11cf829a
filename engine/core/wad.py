"""Fixed-point integer arithmetic in WAD (10**18), with Vyper's sign semantics.

Every money path in the engine goes through these helpers, and the parity
vectors in tests/vectors/parity.json pin them to the contracts' arithmetic.
"""

from __future__ import annotations

from enum import Enum
from typing import NewType

import cython

WAD = 10**18

Wad = NewType("Wad", int)  # unsigned quantity scaled by 10**18
SignedWad = NewType("SignedWad", int)  # signed quantity scaled by 10**18


class Rounding(Enum):
    DOWN = "down"  # toward zero, like Vyper's `//`
    UP = "up"  # away from zero


def mul_div(x: int, y: int, d: int, rounding: Rounding) -> int:
    """x * y / d, rounded as asked, with Vyper's sign semantics (d > 0)."""
    if d <= 0:
        raise ValueError(f"mul_div: divisor must be positive, got {d}")
    product = x * y
    q, r = divmod(abs(product), d)
    if rounding is Rounding.UP and r:
        q += 1
    return q if product >= 0 else -q


def ceil_div(n: int, d: int) -> int:
    """n / d rounded toward +infinity (d > 0)."""
    return -((-n) // d)


def floor_div(n: int, d: int) -> int:
    """n / d rounded toward -infinity (d > 0)."""
    return n // d


# The engine's hot paths: a product of two WAD values (or one value) over WAD, rounded
# toward -infinity (floor, Python's `//`) or +infinity (ceil). Compiled (make native),
# operands below 2**240 take wad.h's C path (CPython's division by a two-digit int is
# its slow general algorithm); the result is the same either way.


def mul_wad_down(x: int, y: int) -> int:
    """floor(x * y / WAD)."""
    if cython.compiled:
        r = perpx_mul_wad(x, y, 0)  # noqa: F821  # declared in wad.pxd (wad.h)
        if r is not None:
            return r
    return x * y // WAD


def mul_wad_up(x: int, y: int) -> int:
    """ceil(x * y / WAD)."""
    if cython.compiled:
        r = perpx_mul_wad(x, y, 1)  # noqa: F821
        if r is not None:
            return r
    return -((-x * y) // WAD)


def div_wad_down(x: int) -> int:
    """floor(x / WAD)."""
    if cython.compiled:
        r = perpx_div_wad(x, 0)  # noqa: F821
        if r is not None:
            return r
    return x // WAD


def div_wad_up(x: int) -> int:
    """ceil(x / WAD)."""
    if cython.compiled:
        r = perpx_div_wad(x, 1)  # noqa: F821
        if r is not None:
            return r
    return -((-x) // WAD)


def multiple_of(x: int, m: int) -> bool:
    """x % m == 0 (m > 0): an order's tick and step checks."""
    if cython.compiled:
        r = perpx_multiple_of(x, m)  # noqa: F821
        if r is not None:
            return r
    return x % m == 0


def compare_mul(a: int, b: int, c: int) -> int:
    """The sign of a - b * c: -1, 0 or 1 (compiled, without building b * c when all
    three are >= 0)."""
    if cython.compiled:
        s = perpx_compare_mul(a, b, c)  # noqa: F821
        if s != 2:
            return s
    p = b * c
    return (a > p) - (a < p)


# Two or more operations fused into one (compiled: one int built where Python builds
# one per operation): the fills' cash, fee and open-interest legs, the resting
# notionals, a reduction's realized PnL and the pre-trade equity sum.


def add_add(a: int, b: int, c: int) -> int:
    """a + b + c."""
    if cython.compiled:
        r = perpx_sum3(a, b, c, 1, 1)  # noqa: F821
        if r is not None:
            return r
    return a + b + c


def add_sub(a: int, b: int, c: int) -> int:
    """a + b - c."""
    if cython.compiled:
        r = perpx_sum3(a, b, c, 1, -1)  # noqa: F821
        if r is not None:
            return r
    return a + b - c


def sub_sub(a: int, b: int, c: int) -> int:
    """a - b - c."""
    if cython.compiled:
        r = perpx_sum3(a, b, c, -1, -1)  # noqa: F821
        if r is not None:
            return r
    return a - b - c


def closed_pnl(old: int, delta: int, price: int, entry: int) -> int:
    """floor(min(|delta|, |old|) * (price - entry) / WAD) for old > 0 (a long), with
    (entry - price) for old < 0: the PnL realized when a position of `old` WAD base
    entered at `entry` is reduced by `delta` at `price` (WAD quote)."""
    if cython.compiled:
        r = perpx_closed_pnl(old, delta, price, entry)  # noqa: F821
        if r is not None:
            return r
    closed = min(abs(delta), abs(old))
    return closed * (price - entry if old > 0 else entry - price) // WAD


def add_mul_wad_down(t: int, x: int, y: int) -> int:
    """t + floor(x * y / WAD)."""
    if cython.compiled:
        r = perpx_add_mul_wad_down(t, x, y)  # noqa: F821
        if r is not None:
            return r
    return t + x * y // WAD


def move_equity(t: int, cash: int, was: int, new: int, old: int, mark: int) -> int:
    """t + (cash - was) + floor(new * mark / WAD) - floor(old * mark / WAD): a cross
    equity `t` after a fill moved the account's cash from `was` to `cash` and one cross
    position's size from `old` to `new`, valued at `mark` (Ledger.cross_equity's term)."""
    if cython.compiled:
        r = perpx_move_equity(t, cash, was, new, old, mark)  # noqa: F821
        if r is not None:
            return r
    return t + (cash - was) + new * mark // WAD - old * mark // WAD


def margin(x: int, mark: int, fraction: int) -> int:
    """|x| * mark / WAD * fraction / WAD, each step rounded up (away from zero, as
    mul_div): the margin requirement of a position of x WAD base at mark
    (rules.margin_requirement is this). Compiled, mark and fraction >= 0 take wad.h's C
    path."""
    if cython.compiled:
        r = perpx_margin1(x, mark, fraction)  # noqa: F821
        if r is not None:
            return r
    return _margin(x, mark, fraction)


def _margin(x: int, mark: int, fraction: int) -> int:
    return mul_div(mul_div(abs(x), mark, WAD, Rounding.UP), fraction, WAD, Rounding.UP)


def add_margin(t: int, x: int, mark: int, fraction: int) -> int:
    """t + margin(x, mark, fraction)."""
    if cython.compiled:
        r = perpx_margin(t, x, mark, fraction)  # noqa: F821
        if r is not None:
            return r
    return t + _margin(x, mark, fraction)


def weighted_mean(w1: int, v1: int, w2: int, v2: int) -> int:
    """floor((|w1| * v1 + |w2| * v2) / (|w1| + |w2|)) for weights of either sign, not both
    zero: the entry price of a position of size w1 at v1 grown by w2 (same side) at v2."""
    if cython.compiled:
        r = perpx_weighted_mean(w1, v1, w2, v2)  # noqa: F821
        if r is not None:
            return r
    w1, w2 = abs(w1), abs(w2)
    return (w1 * v1 + w2 * v2) // (w1 + w2)


def to_wad(amount: int, decimals: int) -> int:
    """Token units (e.g. 6-decimal USDC) to WAD: exact."""
    return amount * 10 ** (18 - decimals)


def from_wad_down(value: int, decimals: int) -> int:
    """WAD to token units, rounded down: what is paid out."""
    return value // 10 ** (18 - decimals)
