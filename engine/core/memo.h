/* The compiled tables of engine/core/memo.py: (tag, size) -> a Python object, for
 * SizeMemo (Ledger.size_margin's memo: tag the market) and PriceIndex (a book side's
 * levels by price: tag 0).
 *
 * A dict keyed by WAD amounts is a slow one: sizes and prices are whole steps and
 * ticks (multiples of 10**15 and up), so their hashes (the value itself below 2**61)
 * share their low 15+ bits, every key starts on the same probe sequence and a lookup
 * walks ~5 slots before the keys part (~300 instructions with the hash and the
 * comparison, callgrind). Here the key is read into machine words, hashed by a
 * multiply (its top bits: every bit of the key moves them) and probed linearly in a
 * table at most half full, which doubles as it fills; a removal shifts the entries
 * behind it back, so an empty slot always ends a probe. A key that is not two exact
 * ints (tag >= 0 below 2**64, amount >= 0 below 2**120) is never stored: `get`
 * answers its `miss` argument, `put` and `remove` do nothing (the owner keeps such keys
 * elsewhere).
 */
#ifndef PERPX_MEMO_H
#define PERPX_MEMO_H

#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include "wad.h"

#define PERPX_TABLE_MIN 16 /* slots of a new table (a power of two) */

typedef struct {
    uint64_t tag, lo, hi;
    PyObject *value; /* NULL: empty */
} perpx_slot;

typedef struct {
    Py_ssize_t count;
    size_t mask; /* slots - 1 */
    perpx_slot *slots;
} perpx_table;

static inline perpx_table *perpx_table_new(void) {
    perpx_table *t = (perpx_table *)calloc(1, sizeof(perpx_table));
    perpx_slot *s = (perpx_slot *)calloc(PERPX_TABLE_MIN, sizeof(perpx_slot));
    if (t == NULL || s == NULL) {
        free(t);
        free(s);
        PyErr_NoMemory();
        return NULL;
    }
    t->mask = PERPX_TABLE_MIN - 1;
    t->slots = s;
    return t;
}

/* Forget every entry (the table keeps its size). */
static inline void perpx_table_clear(perpx_table *t) {
    if (t == NULL || t->count == 0) return;
    for (size_t i = 0; i <= t->mask; i++) {
        PyObject *v = t->slots[i].value;
        if (v != NULL) {
            t->slots[i].value = NULL;
            Py_DECREF(v);
        }
    }
    t->count = 0;
}

static inline void perpx_table_free(perpx_table *t) {
    if (t == NULL) return;
    perpx_table_clear(t);
    free(t->slots);
    free(t);
}

static inline Py_ssize_t perpx_table_len(perpx_table *t) { return t == NULL ? 0 : t->count; }

static inline size_t perpx_table_home(const perpx_table *t, uint64_t tag, uint64_t lo,
                                      uint64_t hi) {
    uint64_t h = (lo ^ (hi * 0xC2B2AE3D27D4EB4FULL) ^ (tag * 0x165667B19E3779F9ULL))
                 * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 32) & t->mask; /* high bits: every key bit moves them */
}

/* The slot that holds the key, or the empty one where it would go. */
static inline perpx_slot *perpx_table_find(const perpx_table *t, uint64_t tag, uint64_t lo,
                                           uint64_t hi) {
    size_t i = perpx_table_home(t, tag, lo, hi);
    for (;;) { /* ends: the table is never more than half full */
        perpx_slot *s = &t->slots[i];
        if (s->value == NULL || (s->lo == lo && s->hi == hi && s->tag == tag)) return s;
        i = (i + 1) & t->mask;
    }
}

#if PERPX_WAD_FAST

/* The key's words, or -1 if it is not one the table keeps. */
static inline int perpx_table_key(PyObject *tag, PyObject *amount, uint64_t *tg, uint64_t *lo,
                                  uint64_t *hi) {
    uint64_t th;
    int neg;
    if (perpx_load2(tag, tg, &th, &neg) < 0 || neg || th) return -1;
    if (perpx_load2(amount, lo, hi, &neg) < 0 || neg) return -1;
    return 0;
}

/* The value stored for the key (a new reference), None if there is none, `miss` if
 * the key is not one the table keeps. */
static inline PyObject *perpx_table_get(perpx_table *t, PyObject *tag, PyObject *amount,
                                        PyObject *miss) {
    uint64_t tg, lo, hi;
    PyObject *v = miss;
    if (perpx_table_key(tag, amount, &tg, &lo, &hi) == 0) {
        v = perpx_table_find(t, tg, lo, hi)->value;
        if (v == NULL) v = Py_None;
    }
    Py_INCREF(v);
    return v;
}

/* Double the slots and place every entry again: 0, or -1 with MemoryError set. */
static inline int perpx_table_grow(perpx_table *t) {
    size_t n = (t->mask + 1) * 2;
    perpx_slot *old = t->slots, *s = (perpx_slot *)calloc(n, sizeof(perpx_slot));
    if (s == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    size_t old_n = t->mask + 1;
    t->slots = s;
    t->mask = n - 1;
    for (size_t i = 0; i < old_n; i++)
        if (old[i].value != NULL) *perpx_table_find(t, old[i].tag, old[i].lo, old[i].hi) = old[i];
    free(old);
    return 0;
}

/* Store value for the key (replacing what it held): 1 stored, 0 not a key the table
 * keeps, -1 with MemoryError set. */
static inline int perpx_table_put(perpx_table *t, PyObject *tag, PyObject *amount,
                                  PyObject *value) {
    uint64_t tg, lo, hi;
    if (perpx_table_key(tag, amount, &tg, &lo, &hi) < 0) return 0;
    perpx_slot *s = perpx_table_find(t, tg, lo, hi);
    PyObject *old = s->value;
    if (old == NULL && (size_t)(t->count + 1) * 2 > t->mask + 1) {
        if (perpx_table_grow(t) < 0) return -1;
        s = perpx_table_find(t, tg, lo, hi);
    }
    Py_INCREF(value);
    s->value = value;
    s->tag = tg;
    s->lo = lo;
    s->hi = hi;
    if (old == NULL)
        t->count++;
    else
        Py_DECREF(old);
    return 1;
}

/* Remove the key's entry: 1, or 0 if it has none (or is not a key the table keeps);
 * the entries behind it in its probe run move back (no tombstones: an empty slot still
 * ends every probe). */
static inline int perpx_table_remove(perpx_table *t, PyObject *tag, PyObject *amount) {
    uint64_t tg, lo, hi;
    if (perpx_table_key(tag, amount, &tg, &lo, &hi) < 0) return 0;
    perpx_slot *s = perpx_table_find(t, tg, lo, hi);
    PyObject *old = s->value;
    if (old == NULL) return 0;
    size_t i = (size_t)(s - t->slots), j = i;
    for (;;) {
        j = (j + 1) & t->mask;
        perpx_slot *n = &t->slots[j];
        if (n->value == NULL) break;
        size_t k = perpx_table_home(t, n->tag, n->lo, n->hi);
        /* n may fill the hole at i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            t->slots[i] = *n;
            i = j;
        }
    }
    t->slots[i].value = NULL;
    t->count--;
    Py_DECREF(old);
    return 1;
}

#else /* no fast path on this Python: no key is kept, the owners use their own */

static inline PyObject *perpx_table_get(perpx_table *t, PyObject *tag, PyObject *amount,
                                        PyObject *miss) {
    (void)t; (void)tag; (void)amount;
    Py_INCREF(miss);
    return miss;
}

static inline int perpx_table_put(perpx_table *t, PyObject *tag, PyObject *amount,
                                  PyObject *value) {
    (void)t; (void)tag; (void)amount; (void)value;
    return 0;
}

static inline int perpx_table_remove(perpx_table *t, PyObject *tag, PyObject *amount) {
    (void)t; (void)tag; (void)amount;
    return 0;
}

#endif

#endif /* PERPX_MEMO_H */
