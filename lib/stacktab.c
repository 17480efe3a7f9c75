/* SPDX-License-Identifier: MIT */
/* Frame and stack interning: chunked records + open-addressing indexes (power-of-two, linear
 * probing, slot value 0 = empty since index 0 is reserved). Strings live in bump blocks. */
#include "stacktab.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "hash.h"

#define STR_BLOCK (64 * 1024)

int
pm_stacktab_init(struct pm_stacktab *t)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    pm_chunked_init(&t->frames, sizeof(struct pm_frame_rec));
    pm_chunked_init(&t->stacks, sizeof(struct pm_stack_rec));
    if (pm_chunked_reserve(&t->frames, 0) < 0 || pm_chunked_reserve(&t->stacks, 0) < 0)
        return -ENOMEM;
    atomic_store(&t->n_frames, 1);
    atomic_store(&t->n_stacks, 1);
    return 0;
}

void
pm_stacktab_release(struct pm_stacktab *t)
{
    pm_chunked_release(&t->frames);
    pm_chunked_release(&t->stacks);
    pm_free(t->frame_slot);
    pm_free(t->stack_slot);
    for (size_t i = 0; i < t->n_str_blocks; i++)
        pm_free(t->str_blocks[i]);
    pm_free(t->str_blocks);
    pthread_mutex_destroy(&t->lock);
    memset(t, 0, sizeof(*t));
}

void
pm_stacktab_lock(struct pm_stacktab *t)
{
    pthread_mutex_lock(&t->lock);
}

void
pm_stacktab_unlock(struct pm_stacktab *t)
{
    pthread_mutex_unlock(&t->lock);
}

static const char *
store_string(struct pm_stacktab *t, const char *s, size_t len)
{
    char *dst;

    if (len + 1 > t->str_cap - t->str_used) {
        size_t cap = len + 1 > STR_BLOCK ? len + 1 : STR_BLOCK;
        void **blocks = pm_realloc(t->str_blocks, (t->n_str_blocks + 1) * sizeof(void *));
        if (!blocks)
            return NULL;
        t->str_blocks = blocks;
        if (!(t->str_block = pm_malloc(cap)))
            return NULL;
        blocks[t->n_str_blocks++] = t->str_block;
        t->str_used = 0;
        t->str_cap = cap;
        t->str_bytes += cap;
    }
    dst = t->str_block + t->str_used;
    memcpy(dst, s, len);
    dst[len] = '\0';
    t->str_used += len + 1;
    return dst;
}

/* Grows the frame index to hold n+1 entries at <= 1/2 load, rehashing by frame id. */
static int
grow_frame_index(struct pm_stacktab *t, uint32_t n)
{
    uint32_t new_cap = t->frame_cap ? t->frame_cap * 2 : 1024;
    uint32_t *s;

    if (2 * (uint64_t)(n + 1) < t->frame_cap)
        return 0;
    if (!(s = pm_calloc_table(new_cap, sizeof(uint32_t))))
        return -ENOMEM;
    for (uint32_t idx = 1; idx < n; idx++) {
        const struct pm_frame_rec *f = pm_chunked_at(&t->frames, idx);
        uint32_t i = (uint32_t)f->id & (new_cap - 1);
        while (s[i])
            i = (i + 1) & (new_cap - 1);
        s[i] = idx;
    }
    pm_free(t->frame_slot);
    t->frame_slot = s;
    t->frame_cap = new_cap;
    return 0;
}

/* A stack index slot: the key's low 32 bits (which also give its home slot) above the stack
 * index. Probing compares those bits and reads a record only when they match: a new stack,
 * the usual case, costs no record loads, and growing never reads the records. */
static inline uint64_t
stack_slot_of(int64_t key, uint32_t idx)
{
    return (uint64_t)(uint32_t)key << 32 | idx;
}

/* Grows the stack index to hold n+1 entries at <= 3/4 load. */
static int
grow_stack_index(struct pm_stacktab *t, uint32_t n)
{
    uint32_t new_cap = t->stack_cap ? t->stack_cap * 2 : 1024;
    uint64_t *s;

    if (4 * (uint64_t)(n + 1) <= 3 * (uint64_t)t->stack_cap)
        return 0;
    if (!(s = pm_calloc_table(new_cap, sizeof(*s))))
        return -ENOMEM;
    for (uint32_t j = 0; j < t->stack_cap; j++) {
        uint64_t e = t->stack_slot[j];
        if (!e)
            continue;
        uint32_t i = (uint32_t)(e >> 32) & (new_cap - 1);
        while (s[i])
            i = (i + 1) & (new_cap - 1);
        s[i] = e;
    }
    pm_free(t->stack_slot);
    t->stack_slot = s;
    t->stack_cap = new_cap;
    return 0;
}

int
pm_stacktab_frame(struct pm_stacktab *t, const char *file, size_t file_len, const char *function,
                  size_t function_len, int line, uint32_t *out)
{
    uint32_t n = atomic_load_explicit(&t->n_frames, memory_order_relaxed);
    uint64_t h = pm_hash_bytes(pm_hash_bytes((uint64_t)line, file, file_len), function,
                               function_len);
    int64_t id = pm_hash_id(h);
    struct pm_frame_rec *rec;
    uint32_t i;
    int rc;

    if ((rc = grow_frame_index(t, n)) < 0)
        return rc;
    for (i = (uint32_t)id & (t->frame_cap - 1); t->frame_slot[i]; i = (i + 1) & (t->frame_cap - 1)) {
        rec = pm_chunked_at(&t->frames, t->frame_slot[i]);
        if (rec->id == id && rec->line == line && strncmp(rec->file, file, file_len) == 0 &&
            rec->file[file_len] == '\0' && strncmp(rec->function, function, function_len) == 0 &&
            rec->function[function_len] == '\0') {
            *out = t->frame_slot[i];
            return 0;
        }
    }
    if ((rc = pm_chunked_reserve(&t->frames, n)) < 0)
        return rc;
    rec = pm_chunked_at(&t->frames, n);
    rec->file = store_string(t, file, file_len);
    rec->function = store_string(t, function, function_len);
    if (!rec->file || !rec->function)
        return -ENOMEM;
    rec->line = line;
    rec->id = id;
    t->frame_slot[i] = n;
    *out = n;
    atomic_store_explicit(&t->n_frames, n + 1, memory_order_release);
    return 0;
}

int
pm_stacktab_push(struct pm_stacktab *t, uint32_t parent, uint32_t frame, uint32_t *out,
                 bool *is_new)
{
    uint32_t n = atomic_load_explicit(&t->n_stacks, memory_order_relaxed);
    const struct pm_stack_rec *p = pm_chunked_at(&t->stacks, parent);
    const struct pm_frame_rec *f = pm_chunked_at(&t->frames, frame);
    int64_t parent_key = parent ? p->key : 0;
    int64_t key = pm_hash_id(pm_hash_step(pm_hash_mix((uint64_t)parent_key), (uint64_t)f->id));
    struct pm_stack_rec *rec;
    uint32_t i;
    int rc;

    if ((rc = grow_stack_index(t, n)) < 0)
        return rc;
    for (i = (uint32_t)key & (t->stack_cap - 1); t->stack_slot[i]; i = (i + 1) & (t->stack_cap - 1)) {
        if (t->stack_slot[i] >> 32 != (uint32_t)key)
            continue;   /* another key: no need to read its record */
        rec = pm_chunked_at(&t->stacks, (uint32_t)t->stack_slot[i]);
        if (rec->parent == parent && rec->frame == frame) {
            *out = (uint32_t)t->stack_slot[i];
            *is_new = false;
            return 0;
        }
    }
    if (n >= PM_CHUNKED_MAX - 1)
        return -ERANGE;
    if ((rc = pm_chunked_reserve(&t->stacks, n)) < 0)
        return rc;
    rec = pm_chunked_at(&t->stacks, n);
    rec->key = key;
    rec->parent = parent;
    rec->frame = frame;
    rec->depth = parent ? p->depth + 1 : 1;
    t->stack_slot[i] = stack_slot_of(key, n);
    *out = n;
    *is_new = true;
    atomic_store_explicit(&t->n_stacks, n + 1, memory_order_release);
    return 0;
}

size_t
pm_stacktab_bytes(const struct pm_stacktab *t)
{
    return pm_chunked_bytes(&t->frames) + pm_chunked_bytes(&t->stacks) + t->str_bytes +
           (size_t)t->frame_cap * sizeof(uint32_t) + (size_t)t->stack_cap * sizeof(uint64_t);
}
