/* The compiled row of engine/core/exposure.py: one trader's resting orders in one
 * market, as C integers.
 *
 * As Python ints a row's four numbers cost an int built at every rest, fill and
 * cancel (a size sum, then a notional sum through a product: ~400 instructions with
 * the allocations, callgrind), and the pre-trade check's resting-loss test a product
 * per side through the generic wad.compare_mul. Here the sizes are 128-bit and the
 * notionals 256-bit unsigned integers, updated in place and compared against mark x
 * size without building anything.
 *
 * The C range: every size below 2**120 (each side's size sum too), every price below
 * 2**120, nothing negative; so a notional sum stays below 2**240 (the carry out of its
 * top limb is checked all the same). An update that would leave it returns -1 and
 * changes nothing: the row then moves to Python ints for good (ExposureRow._spill) and
 * the update is made there, so a row holds exactly what Python's arithmetic gives
 * whatever its operands.
 */
#ifndef PERPX_EXPOSURE_H
#define PERPX_EXPOSURE_H

#include "wad.h"

#if PERPX_WAD_FAST

#define PERPX_XROW_SIZE_LIMIT ((unsigned __int128)1 << 120)

typedef struct {
    unsigned __int128 size[2]; /* [0] buys, [1] sells, WAD base, each < 2**120 */
    uint64_t notional[2][4];   /* sum of size x price per side, little limb first */
} perpx_xrow;

/* side's size += size and notional += size x price (sub 0), or -= (sub 1); 0, or -1
 * (the row unchanged) if an operand or the result is out of the C range. */
static inline int perpx_xrow_add(perpx_xrow *r, int side, PyObject *size, PyObject *price,
                                 int sub) {
    uint64_t sl, sh, pl, ph, p[4], n[4];
    int sneg, pneg;
    if (perpx_load2(size, &sl, &sh, &sneg) < 0 || perpx_load2(price, &pl, &ph, &pneg) < 0
        || sneg || pneg) return -1;
    unsigned __int128 s = ((unsigned __int128)sh << 64) | sl, total = r->size[side];
    if (sub) {
        if (s > total) return -1;
        total -= s;
    } else {
        total += s; /* both < 2**120: no overflow */
        if (total >= PERPX_XROW_SIZE_LIMIT) return -1;
    }
    perpx_product2(sl, sh, pl, ph, p);
    const uint64_t *a = r->notional[side];
    unsigned char c = 0;
    for (int i = 0; i < 4; i++) {
        if (sub) {
            n[i] = a[i] - p[i] - c;
            c = (unsigned char)(a[i] < p[i] || (a[i] == p[i] && c));
        } else {
            unsigned __int128 t = (unsigned __int128)a[i] + p[i] + c;
            n[i] = (uint64_t)t;
            c = (unsigned char)(t >> 64);
        }
    }
    if (c) return -1; /* a notional below zero, or at 2**256 or more */
    r->size[side] = total;
    memcpy(r->notional[side], n, sizeof n);
    return 0;
}

/* The row from Python ints; 0, or -1 (the row unchanged) if one is not an exact int in
 * the C range. */
static inline int perpx_xrow_set(perpx_xrow *r, PyObject *bs, PyObject *bn, PyObject *ss,
                                 PyObject *sn) {
    uint64_t b[4], s[4], lo, hi;
    unsigned __int128 size[2];
    int neg;
    PyObject *sizes[2] = {bs, ss};
    for (int i = 0; i < 2; i++) {
        if (perpx_load2(sizes[i], &lo, &hi, &neg) < 0 || neg) return -1;
        size[i] = ((unsigned __int128)hi << 64) | lo;
    }
    if (perpx_load(bn, b, &neg) < 0 || neg || perpx_load(sn, s, &neg) < 0 || neg) return -1;
    r->size[0] = size[0];
    r->size[1] = size[1];
    memcpy(r->notional[0], b, sizeof b);
    memcpy(r->notional[1], s, sizeof s);
    return 0;
}

/* One of the row's numbers as a Python int: 0 buy size, 1 buy notional, 2 sell size,
 * 3 sell notional. */
static inline PyObject *perpx_xrow_get(const perpx_xrow *r, int what) {
    int side = what >> 1;
    if (what & 1) return perpx_build(r->notional[side], 4, 0);
    return perpx_build_u128(r->size[side], 0);
}

/* Whether the side's orders lose nothing at `mark`: 1 if its size is zero, or if its
 * notional is at most (buys) or at least (sells) mark x size, else 0; -1 if the mark
 * is not an exact int in [0, 2**120). */
static inline int perpx_xrow_loss_free(const perpx_xrow *r, PyObject *mark) {
    uint64_t ml, mh, p[4];
    int neg;
    if (perpx_load2(mark, &ml, &mh, &neg) < 0 || neg) return -1;
    for (int side = 0; side < 2; side++) {
        unsigned __int128 s = r->size[side];
        if (s == 0) continue;
        perpx_product2((uint64_t)s, (uint64_t)(s >> 64), ml, mh, p);
        const uint64_t *a = r->notional[side];
        int cmp = 0;
        for (int i = 3; i >= 0 && cmp == 0; i--)
            if (a[i] != p[i]) cmp = a[i] > p[i] ? 1 : -1;
        if (side == 0 ? cmp > 0 : cmp < 0) return 0;
    }
    return 1;
}

#else /* no C fast path: every row holds Python ints */

typedef struct {
    int unused;
} perpx_xrow;

static inline int perpx_xrow_add(perpx_xrow *r, int side, PyObject *size, PyObject *price,
                                 int sub) {
    (void)r; (void)side; (void)size; (void)price; (void)sub;
    return -1;
}

static inline int perpx_xrow_set(perpx_xrow *r, PyObject *bs, PyObject *bn, PyObject *ss,
                                 PyObject *sn) {
    (void)r; (void)bs; (void)bn; (void)ss; (void)sn;
    return -1;
}

static inline PyObject *perpx_xrow_get(const perpx_xrow *r, int what) {
    (void)r; (void)what;
    return PyLong_FromLong(0);
}

static inline int perpx_xrow_loss_free(const perpx_xrow *r, PyObject *mark) {
    (void)r; (void)mark;
    return -1;
}

#endif /* PERPX_WAD_FAST */
#endif /* PERPX_EXPOSURE_H */
