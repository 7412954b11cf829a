"""RiskCell: one account's entry of the pre-trade cache (Ledger.risk_cache), R an upper
bound of the initial margin its worst case needs and E its exact cross equity, WAD
quote (risk.checked_with_cache says what they promise and when they change).

Compiled, R and E are C integers (riskcell.h: signed 128-bit) changed in place, and
the cell moves to Python ints for good if an update would leave their range;
interpreted, Python ints. Either way it holds exactly what Python's integer
arithmetic gives.
"""

from __future__ import annotations

import cython

from engine.core.wad import move_equity


@cython.final
@cython.no_gc  # its fields are ints: never part of a reference cycle
@cython.cclass
class RiskCell:
    """[R, E] of one account (see the module docstring): `bound` and `equity`."""

    def __init__(self, bound: int, equity: int) -> None:
        self.reset(bound, equity)

    def reset(self, bound: int, equity: int) -> None:
        """R = bound, E = equity (the exact check's answer)."""
        self._ints = True
        if cython.compiled:
            self._ints = perpx_risk_set(cython.address(self._c), bound, equity) != 0  # noqa: F821
        if self._ints:
            self._r, self._e = bound, equity

    @property
    def bound(self) -> int:
        """R, WAD quote."""
        return self.values()[0]

    @property
    def equity(self) -> int:
        """E, WAD quote."""
        return self.values()[1]

    def values(self) -> tuple[int, int]:
        """(R, E) as Python ints."""
        if cython.compiled:
            if not self._ints:
                c = cython.address(self._c)
                return perpx_risk_get(c, 0), perpx_risk_get(c, 1)  # noqa: F821
        return self._r, self._e

    def covers(self, extra: int, loss: int) -> bool:
        """Whether E - loss >= R + extra; if so R grows by extra (an order of margin
        `extra` and loss at mark `loss` accepted on the bound)."""
        if cython.compiled:
            if not self._ints:
                ok = perpx_risk_covers(cython.address(self._c), extra, loss)  # noqa: F821
                if ok >= 0:
                    return ok == 1
                self._spill()
        grown = self._r + extra
        if self._e - loss < grown:
            return False
        self._r = grown
        return True

    def grow(self, extra: int) -> None:
        """R += extra (a fill the bound did not cover)."""
        if cython.compiled:
            if not self._ints:
                if perpx_risk_grow(cython.address(self._c), extra) == 0:  # noqa: F821
                    return
                self._spill()
        self._r += extra

    def move(self, cash: int, was: int, new: int, old: int, mark: int) -> None:
        """E carried across a fill that moved the account's cash from `was` to `cash`
        and one cross position from `old` to `new` at `mark` (wad.move_equity)."""
        if cython.compiled:
            if not self._ints:
                if perpx_risk_move(cython.address(self._c), cash, was, new, old,  # noqa: F821
                                   mark) == 0:
                    return
                self._spill()
        self._e = move_equity(self._e, cash, was, new, old, mark)

    def _spill(self) -> None:
        """Move the cell to Python ints for good (an update left the C range)."""
        self._r, self._e = self.values()
        self._ints = True

    def __eq__(self, other: object) -> bool:
        if type(other) is not RiskCell:
            return NotImplemented
        return self.values() == other.values()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"RiskCell{self.values()}"
