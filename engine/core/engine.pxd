# C layout of EngineCore (engine/core/engine.py, Cython pure-Python mode, make native):
# the engine's state as C fields, the order path as cpdef methods (a vtable call from
# compiled code, still overridable and callable from Python). Amounts stay Python ints.
cimport cython

from engine.core.wad cimport mul_wad_down, mul_wad_up, multiple_of
from engine.core.exposure cimport ExposureRow, expose
from engine.core.events cimport (cancel_rejected, order_accepted, order_cancelled,
                                 trade_executed)

from engine.core cimport risk
from engine.core.accounts cimport Ledger
from engine.core.book cimport Book, Match, Resting
from engine.core.commands cimport CancelOrder, PlaceOrder
from engine.core.fills cimport FillHistory
from engine.core.orders cimport Order
from engine.core.registry cimport OrderRegistry
from engine.core.views cimport OrderRecord

# the order path's flag bits (engine.py), C constants
cdef long POST_ONLY, REDUCE_ONLY, ISOLATED, FOK, NON_RESTING, NOT_ISOLATED
cdef unsigned long long PLAIN_MASK

@cython.locals(bit=cython.long)
cpdef bint _is_plain(flags) except -1

cdef class Lane:
    cdef public Book book
    cdef public object step_size, tick_size
    cdef public dict rates

cdef class EngineCore:
    cdef public dict specs, books, triggers, fills, _lanes
    cdef public OrderRegistry orders
    cdef public dict marks, breakers, funding, index, index_ts, next_sample, _funding_log
    cdef public dict _rates, _exposure, _reduce_only, _pending, _nonces, _dispatch
    cdef public Ledger ledger
    cdef public object expiries, monitor
    cdef public object _seq, _clock, _next_due, _liq_nonce, _funding_due
    cdef public object order_retention_ms, _registered, _retiring, _retire_due, _register

    cpdef list apply(self, cmd)
    cpdef _reject(self, list out, ts, order_hash, trader, code, message)
    @cython.locals(by_account=dict)
    cpdef tuple fee_rates(self, account, market)
    @cython.locals(used=set, lane=Lane)
    cpdef _place(self, PlaceOrder cmd, ts, list out)
    @cython.locals(rec=OrderRecord, bits=cython.long)
    cpdef _accept(self, PlaceOrder cmd, Order order, h, rates, set used, ts, list out,
                  Book book)
    @cython.locals(order=Order)
    cpdef _rest(self, h, OrderRecord rec, size, Book book, dict exposure)
    cpdef _use_nonce(self, Order order)
    cpdef _clamp_reduce_only(self, Order order, size)
    @cython.locals(book=Book, flags=cython.long)
    cpdef _pre_trade(self, Order order, size, dict exposure)
    @cython.locals(row=ExposureRow, order=Order)
    cpdef _unexpose_rec(self, OrderRecord rec, bint is_buy, size, price)
    @cython.locals(order=Order, book=Book, resting=Resting, flags=cython.long, can_rest=bint)
    cpdef _execute(self, h, OrderRecord rec, size, ts, list out)
    @cython.locals(maker_rec=OrderRecord, maker_order=Order, ledger=Ledger, orders=OrderRegistry,
                   rates=dict, fills=dict, match=Match, bits=cython.long,
                   history=FillHistory, taker_history=FillHistory, covered=cython.long)
    cpdef _settle_matches(self, market, taker_hash, Order taker_order, matches, ts, list out,
                          liquidation, bint checked=*)
    cpdef _unrested(self, h, remaining, reason, ts, list out)
    @cython.locals(order=Order)
    cpdef _unrested_rec(self, h, OrderRecord rec, remaining, reason, ts, list out)
    @cython.locals(book=Book, resting=Resting)
    cpdef _shrink_reduce_only(self, account, market, ts, list out)
    @cython.locals(rec=OrderRecord)
    cpdef _cancel(self, CancelOrder cmd, ts, list out)
    @cython.locals(order=Order, resting=Resting, book=Book)
    cpdef _cancel_one(self, h, OrderRecord rec, reason, ts, list out)

# the state hash's sort key: compiled, with the record's C fields (engine.py)
@cython.locals(rec=OrderRecord)
cpdef object _registration_key(tuple item)
