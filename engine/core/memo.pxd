# engine/core/memo.py compiled (make native): SizeMemo's and PriceIndex's tables are
# memo.h's C tables.
cimport cython

cdef extern from "memo.h":
    ctypedef struct perpx_table:
        pass
    perpx_table *perpx_table_new() except NULL
    void perpx_table_free(perpx_table *t)
    void perpx_table_clear(perpx_table *t)
    Py_ssize_t perpx_table_len(perpx_table *t)
    object perpx_table_get(perpx_table *t, object tag, object amount, object miss)
    int perpx_table_put(perpx_table *t, object tag, object amount, object value) except -1
    int perpx_table_remove(perpx_table *t, object tag, object amount)

cdef class _Table:
    cdef perpx_table *_table
    cdef dict _entries

@cython.final
cdef class SizeMemo(_Table):
    cpdef object get(self, object market, object size)
    cpdef put(self, object market, object size, object value)
    cpdef clear(self)

@cython.final
cdef class PriceIndex(_Table):
    cpdef object get(self, object price, object miss)
    cpdef bint put(self, object price, object value) except -1
    cpdef bint remove(self, object price) except -1
