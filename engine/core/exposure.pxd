# engine/core/exposure.py compiled (make native): ExposureRow is exposure.h's C row, and
# the engine and the pre-trade check call these without a Python-level call.
cimport cython

cdef extern from "exposure.h":
    ctypedef struct perpx_xrow:
        pass
    int perpx_xrow_add(perpx_xrow *r, int side, object size, object price, int sub)
    int perpx_xrow_set(perpx_xrow *r, object bs, object bn, object ss, object sn)
    object perpx_xrow_get(const perpx_xrow *r, int what)
    int perpx_xrow_loss_free(const perpx_xrow *r, object mark)

@cython.final
cdef class ExposureRow:
    cdef perpx_xrow _c
    cdef bint _ints
    cdef object _bs, _bn, _ss, _sn
    cdef long long _free_epoch
    cdef object _free_mark

    cpdef add(self, bint is_buy, size, price)
    cpdef take(self, bint is_buy, size, price)
    cdef _move(self, bint is_buy, size, price, bint sub)
    cpdef bint loss_free(self, mark) except -1
    cpdef tuple values(self)
    cdef _spill(self)

@cython.locals(row=ExposureRow)
cpdef ExposureRow expose(dict exposure, dict by_market, trader, market, bint is_buy, size,
                         price)
@cython.locals(row=ExposureRow)
cpdef bint no_resting_loss(dict by_market, dict marks, long long epoch) except -1
