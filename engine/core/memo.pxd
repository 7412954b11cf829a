# engine/core/memo.py compiled (make native): SizeMemo's table is memo.h's C table.
cimport cython

cdef extern from "memo.h":
    ctypedef struct perpx_memo:
        pass
    perpx_memo *perpx_memo_new() except NULL
    void perpx_memo_free(perpx_memo *m)
    void perpx_memo_clear(perpx_memo *m)
    Py_ssize_t perpx_memo_len(perpx_memo *m)
    object perpx_memo_get(perpx_memo *m, object market, object size)
    void perpx_memo_put(perpx_memo *m, object market, object size, object value)

@cython.final
cdef class SizeMemo:
    cdef perpx_memo *_table
    cdef dict _entries
    cpdef object get(self, object market, object size)
    cpdef put(self, object market, object size, object value)
    cpdef clear(self)
