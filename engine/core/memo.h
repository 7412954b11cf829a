/* The compiled SizeMemo's table (engine/core/memo.py): (market, size) -> a Python int,
 * for Ledger.size_margin. A dict keyed by WAD sizes is a slow one: sizes are whole
 * steps (multiples of 10**15 and up), so their hashes (the value itself below 2**61)
 * share their low 15+ bits, every key starts on the same probe sequence and a lookup
 * walks ~5 slots before the keys part (~360 instructions with the hash, callgrind).
 * Here the key is read into machine words, hashed by a multiply (its top bits: every
 * bit of the key moves them) and probed linearly in a fixed table; entries are never
 * removed one by one, only all at once (`perpx_memo_clear`), so an empty slot ends a
 * probe. A key that is not two exact ints (market >= 0 below 2**64, size >= 0 below
 * 2**120) is never remembered: `get` answers None, `put` does nothing.
 */
#ifndef PERPX_MEMO_H
#define PERPX_MEMO_H

#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include "wad.h"

#define PERPX_MEMO_BITS 12
#define PERPX_MEMO_SLOTS (1 << PERPX_MEMO_BITS)
#define PERPX_MEMO_MAX (PERPX_MEMO_SLOTS / 2) /* then it starts over: short probes */

typedef struct {
    uint64_t market, lo, hi;
    PyObject *value; /* NULL: empty */
} perpx_memo_slot;

typedef struct {
    Py_ssize_t count;
    perpx_memo_slot slots[PERPX_MEMO_SLOTS];
} perpx_memo;

static inline perpx_memo *perpx_memo_new(void) {
    perpx_memo *m = (perpx_memo *)calloc(1, sizeof(perpx_memo));
    if (m == NULL) PyErr_NoMemory();
    return m;
}

static inline void perpx_memo_clear(perpx_memo *m) {
    if (m == NULL || m->count == 0) return;
    for (int i = 0; i < PERPX_MEMO_SLOTS; i++) {
        PyObject *v = m->slots[i].value;
        if (v != NULL) {
            m->slots[i].value = NULL;
            Py_DECREF(v);
        }
    }
    m->count = 0;
}

static inline void perpx_memo_free(perpx_memo *m) {
    if (m == NULL) return;
    perpx_memo_clear(m);
    free(m);
}

static inline Py_ssize_t perpx_memo_len(perpx_memo *m) { return m == NULL ? 0 : m->count; }

#if PERPX_WAD_FAST

/* The key's words, or -1 if it is not one the table keeps. */
static inline int perpx_memo_key(PyObject *market, PyObject *size, uint64_t *mk, uint64_t *lo,
                                 uint64_t *hi) {
    uint64_t mh;
    int neg;
    if (perpx_load2(market, mk, &mh, &neg) < 0 || neg || mh) return -1;
    if (perpx_load2(size, lo, hi, &neg) < 0 || neg) return -1;
    return 0;
}

/* The slot that holds the key, or the empty one where it would go. */
static inline perpx_memo_slot *perpx_memo_find(perpx_memo *m, uint64_t mk, uint64_t lo,
                                               uint64_t hi) {
    uint64_t h = (lo ^ (hi * 0xC2B2AE3D27D4EB4FULL) ^ (mk * 0x165667B19E3779F9ULL))
                 * 0x9E3779B97F4A7C15ULL;
    size_t i = (size_t)(h >> (64 - PERPX_MEMO_BITS));
    for (;;) { /* ends: the table is never more than half full */
        perpx_memo_slot *s = &m->slots[i];
        if (s->value == NULL || (s->lo == lo && s->hi == hi && s->market == mk)) return s;
        i = (i + 1) & (PERPX_MEMO_SLOTS - 1);
    }
}

/* The value remembered for the key (a new reference), or None. */
static inline PyObject *perpx_memo_get(perpx_memo *m, PyObject *market, PyObject *size) {
    uint64_t mk, lo, hi;
    if (m != NULL && perpx_memo_key(market, size, &mk, &lo, &hi) == 0) {
        PyObject *v = perpx_memo_find(m, mk, lo, hi)->value;
        if (v != NULL) {
            Py_INCREF(v);
            return v;
        }
    }
    Py_RETURN_NONE;
}

/* Remember value for the key (replacing what it held); starts over when half full. */
static inline void perpx_memo_put(perpx_memo *m, PyObject *market, PyObject *size,
                                  PyObject *value) {
    uint64_t mk, lo, hi;
    if (m == NULL || perpx_memo_key(market, size, &mk, &lo, &hi) < 0) return;
    if (m->count >= PERPX_MEMO_MAX) perpx_memo_clear(m);
    perpx_memo_slot *s = perpx_memo_find(m, mk, lo, hi);
    PyObject *old = s->value;
    Py_INCREF(value);
    s->value = value;
    s->market = mk;
    s->lo = lo;
    s->hi = hi;
    if (old == NULL)
        m->count++;
    else
        Py_DECREF(old);
}

#else /* no fast path on this Python: nothing is remembered */

static inline PyObject *perpx_memo_get(perpx_memo *m, PyObject *market, PyObject *size) {
    (void)m; (void)market; (void)size;
    Py_RETURN_NONE;
}

static inline void perpx_memo_put(perpx_memo *m, PyObject *market, PyObject *size,
                                  PyObject *value) {
    (void)m; (void)market; (void)size; (void)value;
}

#endif

#endif /* PERPX_MEMO_H */
