# engine/core/riskcell.py compiled (make native): RiskCell is riskcell.h's C cell, and
# the ledger and the pre-trade check call it without a Python-level call.
cimport cython

from engine.core.wad cimport move_equity

cdef extern from "riskcell.h":
    ctypedef struct perpx_risk:
        pass
    int perpx_risk_set(perpx_risk *c, object bound, object equity)
    object perpx_risk_get(const perpx_risk *c, int what)
    int perpx_risk_covers(perpx_risk *c, object extra, object loss)
    int perpx_risk_grow(perpx_risk *c, object extra)
    int perpx_risk_move(perpx_risk *c, object cash, object was, object new_size,
                        object old_size, object mark)

@cython.final
cdef class RiskCell:
    cdef perpx_risk _c
    cdef bint _ints
    cdef object _r, _e

    cpdef reset(self, bound, equity)
    cpdef tuple values(self)
    cpdef bint covers(self, extra, loss) except -1
    cpdef grow(self, extra)
    cpdef move(self, cash, was, new, old, mark)
    cdef _spill(self)
