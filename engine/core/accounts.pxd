# C layout of engine/core/accounts.py (Cython pure-Python mode, make native). Amounts
# stay Python ints (WAD values exceed 64 bits); the layout saves the attribute lookups.
cimport cython

from engine.core.memo cimport SizeMemo
from engine.core.riskcell cimport RiskCell
from engine.core.wad cimport (add_add, add_margin, add_mul_wad_down, add_sub, closed_pnl,
                              margin, mul_wad_down, mul_wad_up, sub_sub,
                              weighted_mean)

from engine.core.value cimport Value

cdef class Position(Value):
    cdef public object size, last_index, entry_price, realized_pnl, funding_paid
    cdef public object isolated, isolated_margin

cdef class Account(Value):
    cdef public object cash
    cdef public dict positions
    cdef public object stake

cdef class Ledger:
    cdef public dict markets, accounts, funding_pool, open_interest, marks, funding_index
    cdef public dict holders, risk_cache
    cdef public SizeMemo im_cache
    cdef public object fee_pool, liq_index
    cdef public set dirty
    cdef public long long mark_epoch

    @cython.locals(b_acct=Account, s_acct=Account, b_pos=Position, s_pos=Position,
                   oi=dict)
    cpdef tuple fill(self, market, buyer, seller, size, price, buyer_fee, seller_fee,
                     buyer_isolated, seller_isolated, bint report=*, receives=*,
                     long covered=*)
    @cython.locals(cache=dict, cell=RiskCell)
    cpdef _trade(self, account, Position pos, market, size, bint is_buy, price, isolated, grow,
                 mark, was, cash)
    cpdef _reduce(self, Position pos, market, old, new, delta, price, isolated)
    @cython.locals(pos=Position)
    cpdef _settle_funding(self, account, Account acct, market)
    @cython.locals(memo=SizeMemo)
    cpdef size_margin(self, market, size)
    @cython.locals(acct=Account, pos=Position)
    cpdef position(self, account, market)
    @cython.locals(acct=Account, pos=Position)
    cpdef equity(self, account)
    @cython.locals(acct=Account, pos=Position)
    cpdef _requirement(self, account, imf, only_cross)
    @cython.locals(acct=Account, pos=Position)
    cpdef cross_equity(self, account)
