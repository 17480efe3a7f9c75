/* SPDX-License-Identifier: MIT */
/* Small, fast 64-bit hashing used by the tables and for content-derived ids. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* A strong 64-bit finaliser (splitmix64's): every input bit affects every output bit. */
static inline uint64_t
pm_hash_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Combines a running hash h with one more 64-bit value. */
static inline uint64_t
pm_hash_step(uint64_t h, uint64_t v)
{
    return pm_hash_mix(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

/* FNV-1a over bytes, then mixed. */
static inline uint64_t
pm_hash_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    h = pm_hash_mix(h) ^ 0xcbf29ce484222325ULL;    /* mixed first: a seed must not cancel data */
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return pm_hash_mix(h);
}

/* A positive, non-zero 63-bit id (SQLite INTEGER PRIMARY KEY) from a hash. */
static inline int64_t
pm_hash_id(uint64_t h)
{
    int64_t id = (int64_t)(h & 0x7fffffffffffffffULL);
    return id ? id : 1;
}
