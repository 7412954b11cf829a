# C layout of engine/core/book.py (Cython pure-Python mode, make native).
# Fields stay Python objects (WAD amounts exceed 64 bits); what the C layout buys is
# attribute access without dict lookups and method calls through a vtable.

cimport cython

from engine.core.idmap cimport IdMap
from engine.core.memo cimport PriceIndex
from engine.core.value cimport Value

# the slots of a price level [head order, tail order, total size]: C constants
cdef Py_ssize_t HEAD, TAIL, TOTAL

cdef class Match(Value):
    cdef readonly object maker_id, maker_trader, price, size, maker_remaining

cpdef Match _match(maker_id, maker_trader, price, size, maker_remaining)

@cython.locals(lo=Py_ssize_t, hi=Py_ssize_t, mid=Py_ssize_t)
cpdef Py_ssize_t _bisect_left(list keys, key) except -1

cdef class Resting:
    cdef public object order_id
    cdef public object trader
    cdef public object is_buy
    cdef public object price
    cdef public object remaining
    cdef public object seq
    cdef public Resting _prev
    cdef public Resting _next
    cdef public list _level

    cpdef tuple _fields(self)

cdef class Book:
    cdef public object market
    cdef public IdMap _orders
    cdef public object _by_trader
    cdef public dict _bids
    cdef public dict _asks
    cdef readonly PriceIndex _bid_index
    cdef readonly PriceIndex _ask_index
    cdef public object _bid_keys
    cdef public object _ask_keys
    cdef public object _best_bid
    cdef public object _best_ask
    cdef public object _next_seq
    cdef public object _index_until

    @cython.locals(order=Resting, tail=Resting, level=list, new=list, levels=dict, orders=IdMap)
    cpdef Resting insert(self, order_id, trader, is_buy, price, size)
    cpdef Resting cancel(self, order_id)
    cpdef match(self, trader, is_buy, limit_price, size)
    @cython.locals(order=Resting, levels=dict)
    cpdef fillable(self, trader, is_buy, limit_price, size)
    cpdef bint can_take(self, trader, is_buy, limit_price) except -1
    cpdef bint would_cross(self, is_buy, price) except -1
    cpdef Resting get(self, order_id)
    @cython.locals(order=Resting, orders=IdMap, levels=dict, level=list, fills=list,
                   cancelled=list, index=PriceIndex)
    cpdef tuple _take(self, trader, is_buy, limit, left, best)
    @cython.locals(prev=Resting, nxt=Resting, level=list)
    cpdef _unlink(self, Resting order)
    @cython.locals(levels=dict)
    cpdef list _level_at(self, is_buy, price)
    cpdef _check_new_level(self, is_buy, price)
    cpdef _add_key(self, is_buy, key)
    cpdef _drop_level(self, is_buy, price)
    cpdef _set_keys(self, is_buy, keys)
