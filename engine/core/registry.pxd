# C layout of engine/core/registry.py (Cython pure-Python mode, make native): the
# shard of a hash is one C byte read and one list slot, and `get` is a vtable call.
cimport cython

cdef class OrderRegistry:
    cdef list _shards

    @cython.locals(key=bytes)
    cdef dict _shard(self, h)
    cpdef get(self, h, default=*)
    cpdef bint has(self, h) except -1
    cpdef put(self, h, rec)
