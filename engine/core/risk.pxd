# engine/core/risk.py compiled (make native): the pre-trade fast path reads the ledger's
# C fields directly, and the engine calls it without a Python-level call (engine.pxd).
cimport cython

from engine.core.wad cimport add_margin, compare_mul, mul_wad_up
from engine.core.exposure cimport no_resting_loss
from engine.core.riskcell cimport RiskCell

from engine.core.accounts cimport Ledger

@cython.locals(marks=dict, cell=RiskCell)
cpdef checked_with_cache(Ledger ledger, account, market, is_buy, size, price, dict exposure)
