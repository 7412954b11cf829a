# C layout of engine/core/orders.py (Cython pure-Python mode; see scripts/build_native.py).
# Fields are Python objects (WAD integers are unbounded), read-only from Python.
from engine.core.value cimport Value

cdef class Order(Value):
    cdef readonly object trader
    cdef readonly object market
    cdef readonly object is_buy
    cdef readonly object size
    cdef readonly object limit_price
    cdef readonly object trigger_price
    cdef readonly object flags
    cdef readonly object max_fee_rate
    cdef readonly object nonce
    cdef readonly object expiry
