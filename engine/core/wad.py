"""Fixed-point integer arithmetic in WAD (10**18), with Vyper's sign semantics.

Every money path in the engine goes through these helpers, and the parity
vectors in tests/vectors/parity.json pin them to the contracts' arithmetic.
"""

from __future__ import annotations

from enum import Enum
from typing import NewType

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


def to_wad(amount: int, decimals: int) -> int:
    """Token units (e.g. 6-decimal USDC) to WAD: exact."""
    return amount * 10 ** (18 - decimals)


def from_wad_down(value: int, decimals: int) -> int:
    """WAD to token units, rounded down: what is paid out."""
    return value // 10 ** (18 - decimals)
