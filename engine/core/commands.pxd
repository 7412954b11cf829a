# C layout of the hot commands of engine/core/commands.py (Cython pure-Python mode).
from engine.core.value cimport Value
from engine.core.orders cimport Order

cdef class PlaceOrder(Value):
    cdef readonly Order order
    cdef readonly object order_hash
    cdef readonly object signature
    cdef readonly object ts_ms

cdef class CancelOrder(Value):
    cdef readonly object account
    cdef readonly object order_hash
    cdef readonly object ts_ms
