# engine/core/risk.py compiled (make native): the pre-trade fast path reads the ledger's
# C fields directly.
from engine.core.accounts cimport Ledger

cpdef checked_with_cache(Ledger ledger, account, market, is_buy, size, price, exposure)
