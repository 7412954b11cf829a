# engine/core/value.py as an extension type: the base of every cclass value type.

cdef class Value:
    pass
