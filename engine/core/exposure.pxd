# C signatures of engine/core/exposure.py (Cython pure-Python mode, make native): the
# engine calls them directly, without a Python-level call.
cimport cython

from engine.core.wad cimport add_mul, mul, sub_mul

@cython.locals(row=list)
cpdef list expose(dict exposure, dict by_market, trader, market, bint is_buy, size, price)
cpdef unexpose(list row, bint is_buy, size, price)
