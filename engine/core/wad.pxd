# engine/core/wad.py compiled (make native): the WAD product/quotient helpers call
# wad.h's C arithmetic and are cimported by the hot modules (a C call, no Python call).
cdef extern from "wad.h":
    object perpx_mul_wad(object x, object y, int up)
    object perpx_div_wad(object x, int up)
    object perpx_multiple_of(object x, object m)
    int perpx_compare_mul(object a, object b, object c)
    object perpx_weighted_mean(object w1, object v1, object w2, object v2)
    object perpx_sum3(object a, object b, object c, int sb, int sc)
    object perpx_add_mul_wad_down(object t, object a, object b)
    object perpx_closed_pnl(object old, object delta, object price, object entry)
    object perpx_move_equity(object t, object cash, object was, object new_size,
                             object old_size, object mark)
    object perpx_margin(object t, object x, object mark, object frac)
    object perpx_margin1(object x, object mark, object frac)

cpdef object mul_wad_down(object x, object y)
cpdef object mul_wad_up(object x, object y)
cpdef object div_wad_down(object x)
cpdef object div_wad_up(object x)
cpdef object multiple_of(object x, object m)
cpdef int compare_mul(object a, object b, object c) except? -2
cpdef object weighted_mean(object w1, object v1, object w2, object v2)
cpdef object add_add(object a, object b, object c)
cpdef object add_sub(object a, object b, object c)
cpdef object sub_sub(object a, object b, object c)
cpdef object add_mul_wad_down(object t, object x, object y)
cpdef object closed_pnl(object old, object delta, object price, object entry)
cpdef object move_equity(object t, object cash, object was, object new, object old,
                         object mark)
cpdef object margin(object x, object mark, object fraction)
cpdef object add_margin(object t, object x, object mark, object fraction)
