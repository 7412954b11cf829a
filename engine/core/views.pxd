# C layout of OrderRecord (engine/core/views.py, Cython pure-Python mode).
from engine.core.exposure cimport ExposureRow
from engine.core.orders cimport Order

cdef class OrderRecord:
    cdef public Order order
    cdef public object signature
    cdef public object status
    cdef public object filled
    cdef public object seq
    cdef public object ts_ms
    cdef public object reason
    cdef public ExposureRow exposure_row
