# engine/core/idmap.py compiled (make native): IdMap is idmap.h's C table.
cimport cython

cdef extern from "idmap.h":
    ctypedef struct perpx_idmap:
        pass
    perpx_idmap *perpx_idmap_new() except NULL
    void perpx_idmap_free(perpx_idmap *m)
    Py_ssize_t perpx_idmap_len(perpx_idmap *m)
    object perpx_idmap_get(perpx_idmap *m, object key, object dflt)
    int perpx_idmap_has(perpx_idmap *m, object key)
    int perpx_idmap_put(perpx_idmap *m, object key, object value) except -1
    object perpx_idmap_setdefault(perpx_idmap *m, object key, object value)
    object perpx_idmap_pop(perpx_idmap *m, object key, object dflt)
    object perpx_idmap_list(perpx_idmap *m, int what)

@cython.final
cdef class IdMap:
    cdef perpx_idmap *_map
    cdef dict _entries

    cpdef object get(self, object key, object default=*)
    cpdef bint has(self, object key) except -1
    cpdef put(self, object key, object value)
    cpdef object setdefault(self, object key, object value)
    cpdef object pop(self, object key, object default=*)
    cpdef list keys(self)
    cpdef list values(self)
    cpdef list items(self)

cdef object _MISSING
