# C layout of engine/core/fills.py (Cython pure-Python mode, make native): the ring's
# list and start as C fields, `add` a vtable call from the engine's matcher.
cimport cython

cdef Py_ssize_t FILL_HISTORY

cdef class FillHistory:
    cdef list _items
    cdef Py_ssize_t _start

    @cython.locals(items=list, start=Py_ssize_t)
    cpdef add(self, trade)
    @cython.locals(items=list, start=Py_ssize_t)
    cpdef list _ordered(self)
