# C layout of engine/core/registry.py (Cython pure-Python mode, make native): the
# shard of a hash is one C byte read and one list slot, and `get` is a vtable call.
cimport cython

from engine.core.idmap cimport IdMap

cdef class OrderRegistry:
    cdef list _shards

    @cython.locals(key=bytes)
    cdef IdMap _shard(self, h)
    @cython.locals(shard=IdMap)
    cpdef get(self, h, default=*)
    @cython.locals(shard=IdMap)
    cpdef record(self, h)
    @cython.locals(shard=IdMap)
    cpdef bint has(self, h) except -1
    @cython.locals(shard=IdMap)
    cpdef put(self, h, rec)
