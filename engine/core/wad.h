/* WAD products and quotients of Python ints in C: the compiled engine's fast path for
 * engine/core/wad.py's mul_wad / div_wad (make native). Not used interpreted.
 *
 * CPython divides a multi-digit int by 10**18 (two 30-bit digits) with its general
 * long division, ~800 instructions a call; a command made ~5 of them (callgrind).
 * Here an operand of up to 8 digits (|x| < 2**240) is read into four 64-bit limbs,
 * multiplied exactly (up to 480 bits) and divided by 10**18 limb by limb with the
 * CPU's 128-by-64-bit division, then rounded toward -infinity (floor, Python's `//`)
 * or +infinity (ceil). The result is exactly what Python's int arithmetic gives: a
 * test holds them together on random and boundary values (tests/engine/test_wad_native.py).
 *
 * `perpx_sum3` (a +- b +- c) and `perpx_add_mul_wad_down` (t + floor(a b / 10**18))
 * fuse two operations of the ledger's fills and the pre-trade equity into one,
 * `perpx_closed_pnl` the four of a reduction's realized PnL: a CPython int operation
 * is mostly the allocation of its result (~200 instructions). (The resting exposure
 * and the pre-trade cache keep C integers of their own: exposure.h, riskcell.h.)
 *
 * `perpx_move_equity` carries a cross equity across a fill (a cash change and one
 * position's value at mark, floor(size mark / 10**18), before and after): the
 * pre-trade cache's Python-int path (riskcell.py).
 *
 * `perpx_margin` is a margin requirement (two products over 10**18, each rounded up)
 * plus a running total, in one int built.
 *
 * `perpx_multiple_of` answers x % m == 0 the same way, for the tick and step checks.
 * Two more serve the order path's other big products (CPython multiplies two-digit
 * ints through k_mul, checking signals per row: ~500 instructions with the allocation):
 * `perpx_compare_mul` the sign of a - b * c without building b * c, and
 * `perpx_weighted_mean` floor((|w1| v1 + |w2| v2) / (|w1| + |w2|)),
 * a position's entry price after an increase.
 *
 * Anything else (a bool or int subclass, an operand of 9 digits or more, a Python
 * other than 3.11 with 30-bit digits) returns None, and the caller computes the
 * value with Python ints (perpx_compare_mul returns 2). NULL with an exception set only
 * if allocation fails.
 */
#ifndef PERPX_WAD_H
#define PERPX_WAD_H

#include <Python.h>
#include <stdint.h>

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 && PYLONG_BITS_IN_DIGIT == 30 \
    && defined(__SIZEOF_INT128__)
#define PERPX_WAD_FAST 1
#else
#define PERPX_WAD_FAST 0
#endif

#define PERPX_WAD 1000000000000000000ULL
#define PERPX_MAX_DIGITS 8 /* 8 x 30 bits = 240 bits: fits four 64-bit limbs */

#if PERPX_WAD_FAST

/* |o| into limbs[0..3] (little end first); returns how many limbs its digits can
 * reach (0 to 4: the ones above are zero), or -1 if `o` is not an exact int of at most
 * PERPX_MAX_DIGITS digits. *neg is set for a negative value. */
static inline int perpx_load(PyObject *o, uint64_t limbs[4], int *neg) {
    if (!PyLong_CheckExact(o)) return -1;
    Py_ssize_t n = Py_SIZE(o);
    *neg = n < 0;
    if (n < 0) n = -n;
    if (n > PERPX_MAX_DIGITS) return -1;
    const digit *d = ((PyLongObject *)o)->ob_digit;
    /* straight-line: digits 0-3 and 4-7 each into one 120-bit sum, then the limbs */
    unsigned __int128 lo = 0, hi = 0;
    switch (n) { /* falls through: the top digit first */
    case 8: hi = (unsigned __int128)d[7] << 90; /* fall through */
    case 7: hi |= (unsigned __int128)d[6] << 60; /* fall through */
    case 6: hi |= (unsigned __int128)d[5] << 30; /* fall through */
    case 5: hi |= d[4]; /* fall through */
    case 4: lo = (unsigned __int128)d[3] << 90; /* fall through */
    case 3: lo |= (unsigned __int128)d[2] << 60; /* fall through */
    case 2: lo |= (unsigned __int128)d[1] << 30; /* fall through */
    case 1: lo |= d[0]; /* fall through */
    default: break;
    }
    /* value = lo + hi x 2**120, lo < 2**120 */
    limbs[0] = (uint64_t)lo;
    limbs[1] = (uint64_t)(lo >> 64) | ((uint64_t)hi << 56);
    limbs[2] = (uint64_t)(hi >> 8);
    limbs[3] = (uint64_t)(hi >> 72);
    return (int)((30 * n + 63) / 64);
}

/* (hi:lo) / d with hi < d: the quotient; *rem gets the remainder. */
static inline uint64_t perpx_div128(uint64_t hi, uint64_t lo, uint64_t d, uint64_t *rem) {
#if defined(__x86_64__)
    uint64_t q, r;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
    *rem = r;
    return q;
#else
    unsigned __int128 n = ((unsigned __int128)hi << 64) | lo;
    *rem = (uint64_t)(n % d);
    return (uint64_t)(n / d);
#endif
}

/* A Python int of sign `neg` and magnitude m < 2**128, straight-line: one digit goes
 * through PyLong_FromLong (the small-int cache, as Python's own results), more are
 * peeled 30 bits at a time (PyLong_FromLongLong and the limb loop below cost ~120 and
 * ~300 instructions for the 2- to 4-digit values of the order path). */
static inline PyObject *perpx_build_u128(unsigned __int128 m, int neg) {
    if (m < ((unsigned __int128)1 << PyLong_SHIFT)) {
        long v = (long)m;
        return PyLong_FromLong(neg ? -v : v);
    }
    uint64_t hi = (uint64_t)(m >> 64);
    unsigned bits = hi ? 128u - (unsigned)__builtin_clzll(hi)
                       : 64u - (unsigned)__builtin_clzll((uint64_t)m);
    Py_ssize_t nd = (Py_ssize_t)((bits + PyLong_SHIFT - 1) / PyLong_SHIFT);
    PyLongObject *out = _PyLong_New(nd);
    if (out == NULL) return NULL;
    digit *d = out->ob_digit;
    for (Py_ssize_t i = 0; i < nd; i++) {
        d[i] = (digit)((uint64_t)m & PyLong_MASK);
        m >>= PyLong_SHIFT;
    }
    Py_SET_SIZE(out, neg ? -nd : nd);
    return (PyObject *)out;
}

/* A Python int of sign `neg` and magnitude q[0..n-1] (64-bit limbs, little end first). */
static inline PyObject *perpx_build(const uint64_t *q, int n, int neg) {
    while (n > 0 && q[n - 1] == 0) n--;
    if (n <= 2)
        return perpx_build_u128(n == 0 ? 0 : n == 1 ? q[0]
                                : ((unsigned __int128)q[1] << 64) | q[0], neg);
    unsigned bits = 64u * (unsigned)(n - 1) + (64u - (unsigned)__builtin_clzll(q[n - 1]));
    Py_ssize_t nd = (Py_ssize_t)((bits + 29u) / 30u);
    PyLongObject *out = _PyLong_New(nd);
    if (out == NULL) return NULL;
    /* a window of up to 93 bits: a limb joins it whenever fewer than 30 are left */
    unsigned __int128 acc = 0;
    int have = 0, next = 0;
    for (Py_ssize_t i = 0; i < nd; i++) {
        if (have < PyLong_SHIFT && next < n) {
            acc |= (unsigned __int128)q[next++] << have;
            have += 64;
        }
        out->ob_digit[i] = (digit)((uint64_t)acc & PyLong_MASK);
        acc >>= PyLong_SHIFT;
        have -= PyLong_SHIFT;
    }
    Py_SET_SIZE(out, neg ? -nd : nd);
    return (PyObject *)out;
}

/* p[0..7] = x[0..nx-1] x y[0..ny-1], exactly (p zeroed by the caller; nx, ny <= 4 as
 * perpx_load returns them). */
static inline void perpx_product(const uint64_t x[4], int nx, const uint64_t y[4], int ny,
                                 uint64_t p[8]) {
    for (int i = 0; i < nx; i++) {
        if (x[i] == 0) continue;
        uint64_t carry = 0;
        for (int j = 0; j < ny; j++) {
            unsigned __int128 t = (unsigned __int128)x[i] * y[j] + p[i + j] + carry;
            p[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
        p[i + ny] = carry;
    }
}

/* q[0..7] = p[0..7] / d (d > 0), *rem the remainder; returns the count of limbs of p
 * up to its highest non-zero one (0 if p is zero). */
static inline int perpx_divide(const uint64_t p[8], uint64_t d, uint64_t q[8], uint64_t *rem) {
    int top = 8;
    while (top > 0 && p[top - 1] == 0) top--;
    for (int i = 7; i >= top; i--) q[i] = 0;
    *rem = 0;
    for (int i = top - 1; i >= 0; i--) q[i] = perpx_div128(*rem, p[i], d, rem);
    return top;
}

/* The common case, straight-line: operands of at most 4 digits (|x| < 2**120), as the
 * order path's sizes, prices and notionals are. The loops above over four and eight
 * limbs, with their zeroing, cost ~400 instructions a product and quotient; this
 * path about half of that. */
#define PERPX_SHORT_DIGITS 4

/* |o| as hi:lo (hi < 2**56) if `o` is an exact int of at most 4 digits; else -1. */
static inline int perpx_load2(PyObject *o, uint64_t *lo, uint64_t *hi, int *neg) {
    if (!PyLong_CheckExact(o)) return -1;
    Py_ssize_t n = Py_SIZE(o);
    *neg = n < 0;
    if (n < 0) n = -n;
    if (n > PERPX_SHORT_DIGITS) return -1;
    const digit *d = ((PyLongObject *)o)->ob_digit;
    unsigned __int128 v = 0;
    switch (n) { /* falls through: the top digit first */
    case 4: v = (unsigned __int128)d[3] << 90; /* fall through */
    case 3: v |= (unsigned __int128)d[2] << 60; /* fall through */
    case 2: v |= (unsigned __int128)d[1] << 30; /* fall through */
    case 1: v |= d[0]; /* fall through */
    default: break;
    }
    *lo = (uint64_t)v;
    *hi = (uint64_t)(v >> 64);
    return 0;
}

/* p[0..3] = (xh:xl) x (yh:yl), exactly, for xh, yh < 2**56 (p[3] < 2**48). */
static inline void perpx_product2(uint64_t xl, uint64_t xh, uint64_t yl, uint64_t yh,
                                  uint64_t p[4]) {
    unsigned __int128 t = (unsigned __int128)xl * yl;
    p[0] = (uint64_t)t;
    /* xl yh + xh yl + carry < 2 x 2**120 + 2**64: no overflow */
    t = (t >> 64) + (unsigned __int128)xl * yh + (unsigned __int128)xh * yl;
    p[1] = (uint64_t)t;
    t = (t >> 64) + (unsigned __int128)xh * yh;
    p[2] = (uint64_t)t;
    p[3] = (uint64_t)(t >> 64);
}

/* The sign of a - b x c (-1, 0 or 1) for a, b, c >= 0; 2 if one is negative or out of
 * the fast path's range. Nothing is allocated. */
static inline int perpx_compare_mul(PyObject *a, PyObject *b, PyObject *c) {
    uint64_t al, ah, bl, bh, cl, ch;
    int aneg, bneg, cneg, ny, nz;
    if (perpx_load2(b, &bl, &bh, &bneg) == 0 && perpx_load2(c, &cl, &ch, &cneg) == 0) {
        if (bneg || cneg) return 2;
        uint64_t p2[4];
        perpx_product2(bl, bh, cl, ch, p2);
        if (perpx_load2(a, &al, &ah, &aneg) == 0) {
            if (aneg) return 2;
            if (p2[3] || p2[2]) return -1; /* a < 2**120 <= b x c */
            if (ah != p2[1]) return ah > p2[1] ? 1 : -1;
            if (al != p2[0]) return al > p2[0] ? 1 : -1;
            return 0;
        }
        /* a of 5 to 8 digits against a product of two short ones (a resting side's
         * notional sum against mark x size): four limbs each, compared top down */
        uint64_t x[4];
        if (perpx_load(a, x, &aneg) < 0 || aneg) return 2;
        for (int i = 3; i >= 0; i--) {
            if (x[i] != p2[i]) return x[i] > p2[i] ? 1 : -1;
        }
        return 0;
    }
    uint64_t x[4], y[4], z[4], p[8] = {0};
    if (perpx_load(a, x, &aneg) < 0 || (ny = perpx_load(b, y, &bneg)) < 0
        || (nz = perpx_load(c, z, &cneg)) < 0 || aneg || bneg || cneg) return 2;
    perpx_product(y, ny, z, nz, p);
    for (int i = 7; i >= 4; i--) if (p[i]) return -1; /* a < 2**256 <= b x c */
    for (int i = 3; i >= 0; i--) {
        if (x[i] != p[i]) return x[i] > p[i] ? 1 : -1;
    }
    return 0;
}

/* w x (vh:vl) + p[0..2] into p[0..2], for w < 2**64 and vh < 2**56 (the sum of two
 * such products stays below 2**185: no carry out of p[2]). */
static inline void perpx_add_product(uint64_t w, uint64_t vl, uint64_t vh, uint64_t p[3]) {
    unsigned __int128 lo = (unsigned __int128)w * vl, hi = (unsigned __int128)w * vh;
    unsigned __int128 t = (unsigned __int128)p[0] + (uint64_t)lo;
    p[0] = (uint64_t)t;
    t = (t >> 64) + p[1] + (uint64_t)(lo >> 64) + (uint64_t)hi;
    p[1] = (uint64_t)t;
    p[2] += (uint64_t)(t >> 64) + (uint64_t)(hi >> 64);
}

/* floor((|w1| v1 + |w2| v2) / (|w1| + |w2|)) for weights of either sign (a position's
 * signed sizes) and v1, v2 >= 0, whose weight sum |w1| + |w2| is nonzero and below
 * 2**64; None otherwise. Weights below 2**64 and values below 2**120 take a
 * straight-line path (a position's sizes and prices); larger values the limb loops. */
static inline PyObject *perpx_weighted_mean(PyObject *w1, PyObject *v1, PyObject *w2,
                                            PyObject *v2) {
    {
        uint64_t al, ah, bl, bh, cl, ch, dl, dh;
        int s1, s2, s3, s4;
        if (perpx_load2(w1, &al, &ah, &s1) == 0 && perpx_load2(v1, &bl, &bh, &s2) == 0
            && perpx_load2(w2, &cl, &ch, &s3) == 0 && perpx_load2(v2, &dl, &dh, &s4) == 0
            && !(ah | ch) && !(s2 | s4)) {
            uint64_t sum = al + cl, p[3] = {0, 0, 0}, q[3], rem;
            if (sum < al || sum == 0) Py_RETURN_NONE; /* 2**64 or more, or both zero */
            perpx_add_product(al, bl, bh, p);
            perpx_add_product(cl, dl, dh, p);
            q[2] = p[2] / sum;
            rem = p[2] % sum;
            q[1] = perpx_div128(rem, p[1], sum, &rem);
            q[0] = perpx_div128(rem, p[0], sum, &rem);
            return perpx_build(q, 3, 0);
        }
    }
    uint64_t a[4], b[4], c[4], d[4], p[8] = {0}, r[8] = {0}, q[8], rem;
    int n1, n2, n3, n4, nb, nd;
    if (perpx_load(w1, a, &n1) < 0 || (nb = perpx_load(v1, b, &n2)) < 0
        || perpx_load(w2, c, &n3) < 0 || (nd = perpx_load(v2, d, &n4)) < 0
        || n2 || n4 || a[1] | a[2] | a[3] | c[1] | c[2] | c[3]) Py_RETURN_NONE;
    uint64_t sum = a[0] + c[0];
    if (sum < a[0] || sum == 0) Py_RETURN_NONE; /* 2**64 or more, or both zero */
    perpx_product(a, 1, b, nb, p);
    perpx_product(c, 1, d, nd, r);
    unsigned char carry = 0;
    for (int i = 0; i < 8; i++) { /* p += r: both below 2**320, no carry out of p[7] */
        unsigned __int128 t = (unsigned __int128)p[i] + r[i] + carry;
        p[i] = (uint64_t)t;
        carry = (unsigned char)(t >> 64);
    }
    perpx_divide(p, sum, q, &rem);
    return perpx_build(q, 8, 0);
}

/* The short path of a x b / 10**18 for |a|, |b| < 2**120 given as hi:lo pairs with
 * their signs: q[0..2] the magnitude of the quotient rounded up if `up` else down
 * (toward -inf/+inf); returns its sign (1 negative). */
static inline int perpx_muldiv_short(uint64_t xl, uint64_t xh, int xneg, uint64_t yl,
                                     uint64_t yh, int yneg, int up, uint64_t q2[3]) {
    uint64_t p2[4], rem = 0;
    perpx_product2(xl, xh, yl, yh, p2);
    /* p3 < 2**48 < 10**18: the quotient's top limb is 0, the divisions run from p3:p2
     * down */
    q2[2] = perpx_div128(p2[3], p2[2], PERPX_WAD, &rem);
    q2[1] = perpx_div128(rem, p2[1], PERPX_WAD, &rem);
    q2[0] = perpx_div128(rem, p2[0], PERPX_WAD, &rem);
    int neg = xneg != yneg;
    if (rem != 0 && (neg ? !up : up)) { /* away from zero: floor < 0, ceil > 0 */
        if (++q2[0] == 0 && ++q2[1] == 0) ++q2[2];
    }
    if (neg && (q2[0] | q2[1] | q2[2]) == 0) neg = 0;
    return neg;
}

/* |o| < 2**120 as a signed 128-bit value, if `o` is an exact int of at most 4 digits:
 * 0, else -1. */
static inline int perpx_load_i128(PyObject *o, __int128 *v) {
    uint64_t lo, hi;
    int neg;
    if (perpx_load2(o, &lo, &hi, &neg) < 0) return -1;
    __int128 m = (__int128)(((unsigned __int128)hi << 64) | lo);
    *v = neg ? -m : m;
    return 0;
}

/* A Python int of the signed 128-bit value v (|v| < 2**127). */
static inline PyObject *perpx_build_i128(__int128 v) {
    int neg = v < 0;
    return perpx_build_u128(neg ? (unsigned __int128)(-v) : (unsigned __int128)v, neg);
}

/* a + sb x b + sc x c (sb, sc each 1 or -1) for operands below 2**120 in magnitude (the
 * sum stays below 2**122): one int built where Python's two operations build two;
 * None otherwise. */
static inline PyObject *perpx_sum3(PyObject *a, PyObject *b, PyObject *c, int sb, int sc) {
    __int128 x, y, z;
    if (perpx_load_i128(a, &x) < 0 || perpx_load_i128(b, &y) < 0
        || perpx_load_i128(c, &z) < 0) Py_RETURN_NONE;
    return perpx_build_i128(x + (sb > 0 ? y : -y) + (sc > 0 ? z : -z));
}

/* t + a x b / 10**18 rounded down (toward -inf), for t, a, b below 2**120 in magnitude
 * and a quotient below 2**126; None otherwise. */
static inline PyObject *perpx_add_mul_wad_down(PyObject *t, PyObject *a, PyObject *b) {
    uint64_t xl, xh, yl, yh, q2[3];
    int xneg, yneg;
    __int128 base;
    if (perpx_load_i128(t, &base) < 0 || perpx_load2(a, &xl, &xh, &xneg) < 0
        || perpx_load2(b, &yl, &yh, &yneg) < 0) Py_RETURN_NONE;
    int neg = perpx_muldiv_short(xl, xh, xneg, yl, yh, yneg, 0, q2);
    if (q2[2] || q2[1] >> 62) Py_RETURN_NONE;
    __int128 q = (__int128)(((unsigned __int128)q2[1] << 64) | q2[0]);
    return perpx_build_i128(base + (neg ? -q : q));
}

/* *delta = (cash - was) + floor(new mark / 10**18) - floor(old mark / 10**18): what a
 * fill that moved an account's cash from `was` to `cash` and one position from `old`
 * to `new` at `mark` moves its cross equity by; 0, or -1 unless every operand is below
 * 2**120 in magnitude and both quotients below 2**120 (|*delta| < 2**122 then). */
static inline int perpx_equity_delta(PyObject *cash, PyObject *was, PyObject *new_size,
                                     PyObject *old_size, PyObject *mark, __int128 *delta) {
    uint64_t nl, nh, ol, oh, ml, mh, qn[3], qo[3];
    int nneg, oneg, mneg;
    __int128 c, w;
    if (perpx_load_i128(cash, &c) < 0 || perpx_load_i128(was, &w) < 0
        || perpx_load2(new_size, &nl, &nh, &nneg) < 0
        || perpx_load2(old_size, &ol, &oh, &oneg) < 0
        || perpx_load2(mark, &ml, &mh, &mneg) < 0) return -1;
    int qn_neg = perpx_muldiv_short(nl, nh, nneg, ml, mh, mneg, 0, qn);
    int qo_neg = perpx_muldiv_short(ol, oh, oneg, ml, mh, mneg, 0, qo);
    if (qn[2] || qn[1] >> 56 || qo[2] || qo[1] >> 56) return -1;
    __int128 a = (__int128)(((unsigned __int128)qn[1] << 64) | qn[0]);
    __int128 b = (__int128)(((unsigned __int128)qo[1] << 64) | qo[0]);
    *delta = (c - w) + (qn_neg ? -a : a) - (qo_neg ? -b : b);
    return 0;
}

/* t + perpx_equity_delta(...): a cross equity carried across a fill, in one int built;
 * for |t| below 2**120 and the delta's operands in its range (the sum then stays below
 * 2**123); None otherwise. */
static inline PyObject *perpx_move_equity(PyObject *t, PyObject *cash, PyObject *was,
                                          PyObject *new_size, PyObject *old_size,
                                          PyObject *mark) {
    __int128 base, delta;
    if (perpx_load_i128(t, &base) < 0
        || perpx_equity_delta(cash, was, new_size, old_size, mark, &delta) < 0)
        Py_RETURN_NONE;
    return perpx_build_i128(base + delta);
}

/* t + ceil(ceil(|x| mark / 10**18) frac / 10**18) (t NULL: 0 +): a margin requirement,
 * |size| x mark x fraction with each step rounded up, added to t in one int built; for
 * mark, frac >= 0, |t|, |x|, mark, frac below 2**120 and each quotient in range; None
 * otherwise. */
static inline PyObject *perpx_margin(PyObject *t, PyObject *x, PyObject *mark,
                                     PyObject *frac) {
    uint64_t xl, xh, ml, mh, fl, fh, q2[3], r2[3];
    int xneg, mneg, fneg;
    __int128 base = 0;
    if ((t != NULL && perpx_load_i128(t, &base) < 0) || perpx_load2(x, &xl, &xh, &xneg) < 0
        || perpx_load2(mark, &ml, &mh, &mneg) < 0 || perpx_load2(frac, &fl, &fh, &fneg) < 0
        || mneg || fneg) Py_RETURN_NONE;
    perpx_muldiv_short(xl, xh, 0, ml, mh, 0, 1, q2);
    if (q2[2] || q2[1] >> 56) Py_RETURN_NONE; /* the next product's operand: < 2**120 */
    perpx_muldiv_short(q2[0], q2[1], 0, fl, fh, 0, 1, r2);
    if (r2[2] || r2[1] >> 62) Py_RETURN_NONE; /* < 2**126: base + it fits 127 bits */
    __int128 m = (__int128)(((unsigned __int128)r2[1] << 64) | r2[0]);
    return perpx_build_i128(base + m);
}

/* floor(min(|delta|, |old|) x (price - entry) / 10**18) for old > 0, with (entry -
 * price) for old < 0: the PnL a reduction of a position of `old` by `delta` realizes at
 * `price` against its `entry`; for operands below 2**120 in magnitude (the price gap
 * too); None otherwise. */
static inline PyObject *perpx_closed_pnl(PyObject *old, PyObject *delta, PyObject *price,
                                         PyObject *entry) {
    __int128 o, d, p, e;
    if (perpx_load_i128(old, &o) < 0 || perpx_load_i128(delta, &d) < 0
        || perpx_load_i128(price, &p) < 0 || perpx_load_i128(entry, &e) < 0) Py_RETURN_NONE;
    unsigned __int128 closed = (unsigned __int128)(d < 0 ? -d : d);
    unsigned __int128 held = (unsigned __int128)(o < 0 ? -o : o);
    if (held < closed) closed = held;
    __int128 gap = o > 0 ? p - e : e - p;
    unsigned __int128 mag = (unsigned __int128)(gap < 0 ? -gap : gap);
    if ((closed >> 120) || (mag >> 120)) Py_RETURN_NONE;
    uint64_t q2[3];
    int neg = perpx_muldiv_short((uint64_t)closed, (uint64_t)(closed >> 64), 0, (uint64_t)mag,
                                 (uint64_t)(mag >> 64), gap < 0, 0, q2);
    return perpx_build(q2, 3, neg);
}

/* a x b / 10**18 (b NULL: a / 10**18), rounded up if `up` else down (toward -inf/+inf);
 * None if an operand is out of the fast path's range. */
static inline PyObject *perpx_muldiv_wad(PyObject *a, PyObject *b, int up) {
    if (b != NULL) {
        uint64_t xl, xh, yl, yh;
        int xneg, yneg;
        if (perpx_load2(a, &xl, &xh, &xneg) == 0 && perpx_load2(b, &yl, &yh, &yneg) == 0) {
            uint64_t q2[3];
            int neg = perpx_muldiv_short(xl, xh, xneg, yl, yh, yneg, up, q2);
            return perpx_build(q2, 3, neg);
        }
    }
    uint64_t x[4], y[4], p[8] = {0}, q[8];
    int xneg, yneg = 0, nx = perpx_load(a, x, &xneg), ny;
    if (nx < 0) Py_RETURN_NONE;
    if (b == NULL) {
        p[0] = x[0]; p[1] = x[1]; p[2] = x[2]; p[3] = x[3];
    } else {
        if ((ny = perpx_load(b, y, &yneg)) < 0) Py_RETURN_NONE;
        perpx_product(x, nx, y, ny, p);
    }
    int neg = xneg != yneg;
    uint64_t rem = 0;
    int top = perpx_divide(p, PERPX_WAD, q, &rem);
    /* the quotient of the magnitude truncates toward zero: floor of a negative and
     * ceil of a positive value move one further away from zero when inexact */
    if (rem != 0 && (neg ? !up : up)) {
        for (int i = 0; i < 8 && ++q[i] == 0; i++) {
        }
    }
    if (neg && top == 0) neg = 0;
    return perpx_build(q, 8, neg);
}

/* True if x % m == 0, False if not (m a positive int below 2**64); None otherwise. */
static inline PyObject *perpx_multiple_of(PyObject *x, PyObject *m) {
    uint64_t limbs[4], mod[4];
    int neg, mneg;
    if (perpx_load(x, limbs, &neg) < 0 || perpx_load(m, mod, &mneg) < 0 || mneg
        || mod[0] == 0 || mod[1] || mod[2] || mod[3]) Py_RETURN_NONE;
    uint64_t rem = 0;
    for (int i = 3; i >= 0; i--) perpx_div128(rem, limbs[i], mod[0], &rem);
    if (rem == 0) Py_RETURN_TRUE;
    Py_RETURN_FALSE;
}

#else /* no fast path on this Python: the caller uses Python ints */

static inline int perpx_compare_mul(PyObject *a, PyObject *b, PyObject *c) {
    (void)a; (void)b; (void)c;
    return 2;
}

static inline PyObject *perpx_weighted_mean(PyObject *w1, PyObject *v1, PyObject *w2,
                                            PyObject *v2) {
    (void)w1; (void)v1; (void)w2; (void)v2;
    Py_RETURN_NONE;
}

static inline PyObject *perpx_multiple_of(PyObject *x, PyObject *m) {
    (void)x; (void)m;
    Py_RETURN_NONE;
}

static inline PyObject *perpx_muldiv_wad(PyObject *a, PyObject *b, int up) {
    (void)a; (void)b; (void)up;
    Py_RETURN_NONE;
}

static inline PyObject *perpx_sum3(PyObject *a, PyObject *b, PyObject *c, int sb, int sc) {
    (void)a; (void)b; (void)c; (void)sb; (void)sc;
    Py_RETURN_NONE;
}

static inline PyObject *perpx_add_mul_wad_down(PyObject *t, PyObject *a, PyObject *b) {
    (void)t; (void)a; (void)b;
    Py_RETURN_NONE;
}

static inline PyObject *perpx_margin(PyObject *t, PyObject *x, PyObject *mark,
                                     PyObject *frac) {
    (void)t; (void)x; (void)mark; (void)frac;
    Py_RETURN_NONE;
}

static inline PyObject *perpx_move_equity(PyObject *t, PyObject *cash, PyObject *was,
                                          PyObject *new_size, PyObject *old_size,
                                          PyObject *mark) {
    (void)t; (void)cash; (void)was; (void)new_size; (void)old_size; (void)mark;
    Py_RETURN_NONE;
}

static inline PyObject *perpx_closed_pnl(PyObject *old, PyObject *delta, PyObject *price,
                                         PyObject *entry) {
    (void)old; (void)delta; (void)price; (void)entry;
    Py_RETURN_NONE;
}

#endif

static inline PyObject *perpx_mul_wad(PyObject *a, PyObject *b, int up) {
    return perpx_muldiv_wad(a, b, up);
}

static inline PyObject *perpx_margin1(PyObject *x, PyObject *mark, PyObject *frac) {
    return perpx_margin(NULL, x, mark, frac);
}

static inline PyObject *perpx_div_wad(PyObject *a, int up) {
    return perpx_muldiv_wad(a, NULL, up);
}

#endif /* PERPX_WAD_H */
