/* The compiled table of engine/core/idmap.py: an insertion-ordered map of bytes keys
 * (order hashes) to Python objects, for the order registry's shards and a book's
 * orders by id.
 *
 * A dict keyed by bytes hashes each new key with siphash13 (~200 instructions with
 * PyObject_Hash for a 32-byte order hash, callgrind) and then probes through the
 * generic lookup. Here the key's bytes are read 8 at a time and mixed by multiplies,
 * seeded with CPython's own per-process hash secret (so, as for a dict, nobody outside
 * the process can grind order hashes that share a probe run), and the entries keep
 * insertion order exactly as a dict does: the seed never shows in any iteration,
 * snapshot or state hash.
 *
 * Layout (CPython's compact dict): `entries` in insertion order, a removed one left as
 * a hole (key NULL) until the next resize; `index`, twice as many slots as entries,
 * holds entry positions (-1 empty) probed linearly from the key's home; a removal
 * shifts the slots behind it back, so an empty slot always ends a probe. When the
 * entries run out the map is rebuilt, holes dropped and order kept, at the smallest
 * power of two that leaves a third of it free.
 */
#ifndef PERPX_IDMAP_H
#define PERPX_IDMAP_H

#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PERPX_IDMAP_MIN 8 /* entries of a new map (a power of two) */

typedef struct {
    PyObject *key; /* NULL: removed */
    PyObject *value;
    uint64_t hash;
} perpx_ident;

typedef struct {
    Py_ssize_t count;    /* live entries */
    Py_ssize_t used;     /* entries[0..used) written, holes included */
    Py_ssize_t capacity; /* entries allocated; index slots = 2 x capacity */
    size_t mask;         /* index slots - 1 */
    int32_t *index;
    perpx_ident *entries;
} perpx_idmap;

static inline uint64_t perpx_id_hash(PyObject *key) {
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(key);
    Py_ssize_t n = PyBytes_GET_SIZE(key);
    uint64_t h = (uint64_t)_Py_HashSecret.siphash.k0 ^ ((uint64_t)n * 0x9E3779B97F4A7C15ULL);
    uint64_t w;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xC2B2AE3D27D4EB4FULL;
        h ^= h >> 29;
    }
    if (n > 0) {
        w = 0;
        memcpy(&w, p, (size_t)n);
        h = (h ^ w) * 0xC2B2AE3D27D4EB4FULL;
        h ^= h >> 29;
    }
    h *= 0x165667B19E3779F9ULL;
    return h ^ (h >> 32);
}

/* allocate entries for `capacity` and an empty index of 2 x capacity slots: 0, or -1
 * with MemoryError set (the map unchanged) */
static inline int perpx_idmap_alloc(Py_ssize_t capacity, perpx_ident **entries,
                                    int32_t **index) {
    /* entries past `used` are never read: not zeroed */
    *entries = (perpx_ident *)malloc((size_t)capacity * sizeof(perpx_ident));
    *index = (int32_t *)malloc((size_t)capacity * 2 * sizeof(int32_t));
    if (*entries == NULL || *index == NULL) {
        free(*entries);
        free(*index);
        PyErr_NoMemory();
        return -1;
    }
    memset(*index, 0xff, (size_t)capacity * 2 * sizeof(int32_t)); /* every slot -1 */
    return 0;
}

static inline perpx_idmap *perpx_idmap_new(void) {
    perpx_idmap *m = (perpx_idmap *)calloc(1, sizeof(perpx_idmap));
    if (m == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    if (perpx_idmap_alloc(PERPX_IDMAP_MIN, &m->entries, &m->index) < 0) {
        free(m);
        return NULL;
    }
    m->capacity = PERPX_IDMAP_MIN;
    m->mask = PERPX_IDMAP_MIN * 2 - 1;
    return m;
}

/* Forget every entry (the map keeps its size). */
static inline void perpx_idmap_clear(perpx_idmap *m) {
    if (m == NULL) return;
    Py_ssize_t used = m->used;
    m->used = m->count = 0;
    memset(m->index, 0xff, (m->mask + 1) * sizeof(int32_t));
    for (Py_ssize_t i = 0; i < used; i++) {
        perpx_ident *e = &m->entries[i];
        PyObject *k = e->key, *v = e->value;
        e->key = e->value = NULL;
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
}

static inline void perpx_idmap_free(perpx_idmap *m) {
    if (m == NULL) return;
    perpx_idmap_clear(m);
    free(m->entries);
    free(m->index);
    free(m);
}

static inline Py_ssize_t perpx_idmap_len(perpx_idmap *m) { return m == NULL ? 0 : m->count; }

/* The index slot holding `key` (exact bytes, hash h) with *pos its entry, or the empty
 * slot where it would go with *pos -1. */
static inline size_t perpx_idmap_find(const perpx_idmap *m, PyObject *key, uint64_t h,
                                      Py_ssize_t *pos) {
    const char *kp = PyBytes_AS_STRING(key);
    Py_ssize_t kn = PyBytes_GET_SIZE(key);
    size_t i = (size_t)h & m->mask;
    for (;;) { /* ends: at most half the slots are used */
        int32_t e = m->index[i];
        if (e < 0) {
            *pos = -1;
            return i;
        }
        const perpx_ident *x = &m->entries[e];
        if (x->hash == h && (x->key == key || (PyBytes_GET_SIZE(x->key) == kn
                                               && memcmp(PyBytes_AS_STRING(x->key), kp,
                                                         (size_t)kn) == 0))) {
            *pos = e;
            return i;
        }
        i = (i + 1) & m->mask;
    }
}

/* Rebuild with the holes dropped, in order, at the smallest power-of-two capacity
 * above 1.5 x the live entries: 0, or -1 with MemoryError set (the map unchanged). */
static inline int perpx_idmap_resize(perpx_idmap *m) {
    Py_ssize_t want = m->count + m->count / 2 + 1, capacity = PERPX_IDMAP_MIN;
    while (capacity < want) capacity *= 2;
    if (capacity > (Py_ssize_t)INT32_MAX / 2) {
        PyErr_SetString(PyExc_OverflowError, "idmap: too many entries");
        return -1;
    }
    perpx_ident *entries;
    int32_t *index;
    if (perpx_idmap_alloc(capacity, &entries, &index) < 0) return -1;
    size_t mask = (size_t)capacity * 2 - 1;
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < m->used; i++) {
        if (m->entries[i].key == NULL) continue;
        entries[n] = m->entries[i];
        size_t s = (size_t)entries[n].hash & mask;
        while (index[s] >= 0) s = (s + 1) & mask;
        index[s] = (int32_t)n;
        n++;
    }
    free(m->entries);
    free(m->index);
    m->entries = entries;
    m->index = index;
    m->capacity = capacity;
    m->mask = mask;
    m->used = n;
    return 0;
}

/* The value stored for `key`, else `dflt` (a new reference either way). */
static inline PyObject *perpx_idmap_get(const perpx_idmap *m, PyObject *key, PyObject *dflt) {
    Py_ssize_t pos;
    perpx_idmap_find(m, key, perpx_id_hash(key), &pos);
    PyObject *v = pos < 0 ? dflt : m->entries[pos].value;
    Py_INCREF(v);
    return v;
}

/* 1 if `key` has an entry, else 0. */
static inline int perpx_idmap_has(const perpx_idmap *m, PyObject *key) {
    Py_ssize_t pos;
    perpx_idmap_find(m, key, perpx_id_hash(key), &pos);
    return pos >= 0;
}

/* Store `value` for `key`: a key already there keeps its place and, if `replace`, takes
 * the new value. Returns the value the key now holds (borrowed), NULL with MemoryError
 * set. */
static inline PyObject *perpx_idmap_store(perpx_idmap *m, PyObject *key, PyObject *value,
                                          int replace) {
    uint64_t h = perpx_id_hash(key);
    Py_ssize_t pos;
    size_t slot = perpx_idmap_find(m, key, h, &pos);
    if (pos >= 0) {
        perpx_ident *e = &m->entries[pos];
        if (replace && e->value != value) {
            PyObject *old = e->value;
            Py_INCREF(value);
            e->value = value;
            Py_DECREF(old);
        }
        return e->value;
    }
    if (m->used == m->capacity) {
        if (perpx_idmap_resize(m) < 0) return NULL;
        slot = perpx_idmap_find(m, key, h, &pos);
    }
    perpx_ident *e = &m->entries[m->used];
    Py_INCREF(key);
    Py_INCREF(value);
    e->key = key;
    e->value = value;
    e->hash = h;
    m->index[slot] = (int32_t)m->used;
    m->used++;
    m->count++;
    return value;
}

/* `map[key] = value`: 0, or -1 with MemoryError set. */
static inline int perpx_idmap_put(perpx_idmap *m, PyObject *key, PyObject *value) {
    return perpx_idmap_store(m, key, value, 1) == NULL ? -1 : 0;
}

/* `map.setdefault(key, value)`: the value `key` holds now (a new reference), NULL with
 * MemoryError set. */
static inline PyObject *perpx_idmap_setdefault(perpx_idmap *m, PyObject *key,
                                               PyObject *value) {
    PyObject *v = perpx_idmap_store(m, key, value, 0);
    Py_XINCREF(v);
    return v;
}

/* Remove `key`'s entry and return its value, else `dflt` (a new reference either way).
 * The slots behind it in its probe run move back (no tombstones). */
static inline PyObject *perpx_idmap_pop(perpx_idmap *m, PyObject *key, PyObject *dflt) {
    Py_ssize_t pos;
    size_t i = perpx_idmap_find(m, key, perpx_id_hash(key), &pos);
    if (pos < 0) {
        Py_INCREF(dflt);
        return dflt;
    }
    perpx_ident *e = &m->entries[pos];
    PyObject *k = e->key, *v = e->value;
    e->key = e->value = NULL;
    m->count--;
    if (pos == m->used - 1) m->used--; /* the newest entry: no hole left behind */
    size_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        int32_t n = m->index[j];
        if (n < 0) break;
        size_t home = (size_t)m->entries[n].hash & m->mask;
        /* n may fill the hole at i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            m->index[i] = n;
            i = j;
        }
    }
    m->index[i] = -1;
    Py_DECREF(k);
    return v; /* the entry's reference, now the caller's */
}

/* A new list of the keys (what 0), values (1) or (key, value) tuples (2), in insertion
 * order; NULL with an exception set. */
static inline PyObject *perpx_idmap_list(const perpx_idmap *m, int what) {
    PyObject *out = PyList_New(m->count);
    if (out == NULL) return NULL;
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < m->used; i++) {
        const perpx_ident *e = &m->entries[i];
        if (e->key == NULL) continue;
        PyObject *item;
        if (what == 2) {
            item = PyTuple_Pack(2, e->key, e->value);
            if (item == NULL) {
                Py_DECREF(out);
                return NULL;
            }
        } else {
            item = what == 0 ? e->key : e->value;
            Py_INCREF(item);
        }
        PyList_SET_ITEM(out, n, item);
        n++;
    }
    return out;
}

#endif /* PERPX_IDMAP_H */
