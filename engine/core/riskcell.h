/* The compiled cell of engine/core/riskcell.py: an account's pre-trade bound R and
 * cross equity E (WAD quote) as signed 128-bit integers.
 *
 * As Python ints each order's fast check built R + the order's margin, and each fill
 * R + its margin and E carried across it (an int built each: ~100-150 instructions
 * with the allocation, callgrind). Here they change in place.
 *
 * The C range: |R|, |E| below 2**125 after every update, every operand (a margin, a
 * loss, a cash amount, a size, a mark) an exact int below 2**120 in magnitude, each
 * size x mark / 10**18 below 2**120 too; every sum then stays below 2**127. An update
 * that would leave it returns -1 and changes nothing: the cell then moves to Python
 * ints for good (RiskCell._spill) and the update is made there.
 */
#ifndef PERPX_RISKCELL_H
#define PERPX_RISKCELL_H

#include "wad.h"

#if PERPX_WAD_FAST

#define PERPX_RISK_LIMIT ((__int128)1 << 125)

typedef struct {
    __int128 bound;  /* R */
    __int128 equity; /* E */
} perpx_risk;

static inline int perpx_risk_in_range(__int128 v) {
    return v < PERPX_RISK_LIMIT && v > -PERPX_RISK_LIMIT;
}

/* The cell from Python ints; 0, or -1 (unchanged) if one is out of the C range. */
static inline int perpx_risk_set(perpx_risk *c, PyObject *bound, PyObject *equity) {
    __int128 r, e;
    if (perpx_load_i128(bound, &r) < 0 || perpx_load_i128(equity, &e) < 0) return -1;
    c->bound = r;
    c->equity = e;
    return 0;
}

/* R (what 0) or E (what 1) as a Python int. */
static inline PyObject *perpx_risk_get(const perpx_risk *c, int what) {
    return perpx_build_i128(what ? c->equity : c->bound);
}

/* If E - loss >= R + extra, R grows by extra and 1 is returned, else 0; -1 (unchanged)
 * if an operand or the grown R is out of the C range. */
static inline int perpx_risk_covers(perpx_risk *c, PyObject *extra, PyObject *loss) {
    __int128 x, l;
    if (perpx_load_i128(extra, &x) < 0 || perpx_load_i128(loss, &l) < 0) return -1;
    __int128 grown = c->bound + x;
    if (c->equity - l < grown) return 0;
    if (!perpx_risk_in_range(grown)) return -1;
    c->bound = grown;
    return 1;
}

/* R += extra; 0, or -1 (unchanged) out of the C range. */
static inline int perpx_risk_grow(perpx_risk *c, PyObject *extra) {
    __int128 x;
    if (perpx_load_i128(extra, &x) < 0) return -1;
    __int128 grown = c->bound + x;
    if (!perpx_risk_in_range(grown)) return -1;
    c->bound = grown;
    return 0;
}

/* E += perpx_equity_delta(...) (wad.py's move_equity); 0, or -1 (unchanged) out of the
 * C range. */
static inline int perpx_risk_move(perpx_risk *c, PyObject *cash, PyObject *was,
                                  PyObject *new_size, PyObject *old_size, PyObject *mark) {
    __int128 delta;
    if (perpx_equity_delta(cash, was, new_size, old_size, mark, &delta) < 0) return -1;
    __int128 moved = c->equity + delta;
    if (!perpx_risk_in_range(moved)) return -1;
    c->equity = moved;
    return 0;
}

#else /* no C fast path: every cell holds Python ints */

typedef struct {
    int unused;
} perpx_risk;

static inline int perpx_risk_set(perpx_risk *c, PyObject *bound, PyObject *equity) {
    (void)c; (void)bound; (void)equity;
    return -1;
}

static inline PyObject *perpx_risk_get(const perpx_risk *c, int what) {
    (void)c; (void)what;
    return PyLong_FromLong(0);
}

static inline int perpx_risk_covers(perpx_risk *c, PyObject *extra, PyObject *loss) {
    (void)c; (void)extra; (void)loss;
    return -1;
}

static inline int perpx_risk_grow(perpx_risk *c, PyObject *extra) {
    (void)c; (void)extra;
    return -1;
}

static inline int perpx_risk_move(perpx_risk *c, PyObject *cash, PyObject *was,
                                  PyObject *new_size, PyObject *old_size, PyObject *mark) {
    (void)c; (void)cash; (void)was; (void)new_size; (void)old_size; (void)mark;
    return -1;
}

#endif /* PERPX_WAD_FAST */
#endif /* PERPX_RISKCELL_H */
