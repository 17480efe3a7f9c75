/* SPDX-License-Identifier: MIT */
/* pm_analysis_growth (see query_analysis.h): least-squares growth per key over a process's
 * periodic snapshots, from one scan of its live rows. */
#include <assert.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "idmap.h"
#include "nameset.h"
#include "query.h"
#include "query_analysis_int.h"

struct points {
    int64_t *id; /* sorted ascending */
    double *time;
    size_t n, cap_id, cap_time;
};

/* The periodic snapshots of the process, then its latest final one if it comes after them. */
static int
load_points(struct pm_query *a, int64_t process, struct points *p, bool *has_final,
            struct pm_diag *diag)
{
    static const char sql[] =
        "SELECT id, time, kind FROM snapshot WHERE process = ?1 AND (kind = 'periodic'"
        "  OR id = (SELECT max(id) FROM snapshot WHERE process = ?1 AND kind = 'final'))"
        " ORDER BY id";
    sqlite3_stmt *s = NULL;
    int rc;

    *has_final = false;
    if ((rc = pm_query_prepare(a, sql, &s, diag)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, process);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(s, 2);

        if (*has_final)
            break; /* periodic snapshots after the final one: not points */
        if (pm_grow(&p->id, &p->cap_id, p->n, sizeof(*p->id)) < 0 ||
            pm_grow(&p->time, &p->cap_time, p->n, sizeof(*p->time)) < 0) {
            sqlite3_finalize(s);
            return pm_analysis_oom(diag);
        }
        p->id[p->n] = sqlite3_column_int64(s, 0);
        p->time[p->n++] = sqlite3_column_double(s, 1);
        *has_final = kind && strcmp(kind, "final") == 0;
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : pm_query_fail(a, diag, rc);
    sqlite3_finalize(s);
    return rc;
}

/* The index of the first point whose id is >= id (n if none). */
static size_t
lower_bound(const struct points *p, int64_t id)
{
    size_t lo = 0, hi = p->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->id[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* One key's series, as deltas per point (n + 1 slots) turned into levels in place. */
struct series {
    int64_t *bytes, *blocks;
};

#define NONE PM_IDMAP_NONE     /* no index; also what pm_idmap_get returns for an unknown id */

/* Snapshot id -> index of the first point at or after it, for the live rows' first_snapshot and
 * until_snapshot. A table over the points' id range when it is small, else a binary search. */
struct point_map {
    const struct points *p;
    uint32_t *at; /* at[id - p->id[0]], or NULL */
};

#define POINT_MAP_MAX (1u << 22)

static int
point_map_init(struct point_map *m, const struct points *p)
{
    uint64_t range = (uint64_t)(p->id[p->n - 1] - p->id[0]) + 1;

    *m = (struct point_map){.p = p};
    if (range > POINT_MAP_MAX)
        return 0;
    if (!(m->at = pm_malloc(range * sizeof(*m->at))))
        return -ENOMEM;
    for (uint64_t j = 0, i = 0; j < range; j++) {
        while (p->id[i] < p->id[0] + (int64_t)j)
            i++; /* stops at the last point at the latest: its id ends the range */
        m->at[j] = (uint32_t)i;
    }
    return 0;
}

static size_t
point_of(const struct point_map *m, int64_t id)
{
    const struct points *p = m->p;

    if (id <= p->id[0])
        return 0;
    if (id > p->id[p->n - 1])
        return p->n;
    return m->at ? m->at[id - p->id[0]] : lower_bound(p, id);
}


/* The changes of one stack's live memory, as a byte stream of varint events (point, bytes
 * delta, blocks delta) in a chain of fixed chunks: about 8 bytes per change, whatever the number
 * of points. */
#define CHUNK_SIZE 64
#define CHUNK_DATA (CHUNK_SIZE - 4) /* after the index of the next chunk */
#define SLAB_BITS 16                /* chunks per slab: 4 MiB slabs */

struct arena {
    uint8_t **slab;
    size_t n_slabs, cap_slabs;
    uint32_t n; /* chunks handed out */
};

static uint8_t *
chunk_at(const struct arena *ar, uint32_t c)
{
    return ar->slab[c >> SLAB_BITS] + (size_t)(c & ((1u << SLAB_BITS) - 1)) * CHUNK_SIZE;
}

static uint32_t
chunk_new(struct arena *ar)
{
    if (ar->n == NONE)
        return NONE;
    if ((ar->n >> SLAB_BITS) == ar->n_slabs) {
        uint8_t *s;
        if (pm_grow(&ar->slab, &ar->cap_slabs, ar->n_slabs, sizeof(*ar->slab)) < 0 ||
            !(s = pm_malloc((size_t)CHUNK_SIZE << SLAB_BITS)))
            return NONE;
        ar->slab[ar->n_slabs++] = s;
    }
    return ar->n++;
}

static void
arena_free(struct arena *ar)
{
    for (size_t i = 0; i < ar->n_slabs; i++)
        pm_free(ar->slab[i]);
    pm_free(ar->slab);
    *ar = (struct arena){0};
}

/* A stack seen in the live rows of the process. */
struct gstack {
    int64_t id;
    int64_t frame;                    /* from the stack table, if known */
    int64_t pend_bytes, pend_blocks;  /* the latest change, not yet in the stream */
    uint64_t len;                     /* bytes in the stream */
    uint32_t pend_point;              /* NONE: no change pending */
    uint32_t head, tail;              /* chunks of the stream */
    uint32_t key;                     /* index in keys */
    uint32_t next;                    /* the next stack of the same key, or NONE */
    bool known;                       /* in the stack table */
};

static size_t
varint_put(uint8_t *b, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    return n;
}

static uint64_t
zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t
unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Appends the pending change of s to its stream. */
static int
stack_flush(struct arena *ar, struct gstack *s)
{
    uint8_t b[32];
    size_t n = 0;

    if (s->pend_point == NONE || (!s->pend_bytes && !s->pend_blocks))
        return 0;
    n += varint_put(b + n, s->pend_point);
    n += varint_put(b + n, zigzag(s->pend_bytes));
    n += varint_put(b + n, zigzag(s->pend_blocks));
    for (size_t i = 0; i < n;) {
        size_t off = (size_t)(s->len % CHUNK_DATA), k = CHUNK_DATA - off;

        if (off == 0) {
            uint32_t c = chunk_new(ar);
            if (c == NONE)
                return -ENOMEM;
            if (s->len == 0)
                s->head = c;
            else
                memcpy(chunk_at(ar, s->tail), &c, sizeof(c));
            s->tail = c;
        }
        k = k < n - i ? k : n - i;
        memcpy(chunk_at(ar, s->tail) + 4 + off, b + i, k);
        i += k;
        s->len += k;
    }
    return 0;
}

/* Adds a change of s at point i. A stack's rows rarely overlap, and the index hands them over
 * by until_snapshot: a row's end and the next one's start meet at the same point. */
static int
stack_add(struct arena *ar, struct gstack *s, uint32_t i, int64_t bytes, int64_t blocks)
{
    if (s->pend_point != i) {
        if (stack_flush(ar, s) < 0)
            return -ENOMEM;
        s->pend_point = i;
        s->pend_bytes = s->pend_blocks = 0;
    }
    s->pend_bytes += bytes;
    s->pend_blocks += blocks;
    return 0;
}

/* Adds the changes of s to the deltas of sr (points < sr_n). */
static void
stack_replay(const struct arena *ar, const struct gstack *s, struct series *sr, size_t sr_n)
{
    const uint8_t *c = s->len ? chunk_at(ar, s->head) : NULL;
    size_t off = 0;
    uint64_t left = s->len;

    while (left) {
        uint64_t v[3];

        for (int f = 0; f < 3; f++) {
            unsigned shift = 0;
            uint8_t byte;

            v[f] = 0;
            do {
                if (off == CHUNK_DATA) {
                    uint32_t next;
                    memcpy(&next, c, sizeof(next));
                    c = chunk_at(ar, next);
                    off = 0;
                }
                byte = c[4 + off++];
                left--;
                v[f] |= (uint64_t)(byte & 0x7f) << shift;
                shift += 7;
            } while (byte & 0x80);
        }
        assert(v[0] < sr_n);
        sr->bytes[v[0]] += unzigzag(v[1]);
        sr->blocks[v[0]] += unzigzag(v[2]);
    }
}

/* The names of the keys, interned: a key's stacks are chained from first. */
struct gkey {
    char *file, *function;
    int64_t line;
    uint32_t first; /* the first stack of the key, or NONE */
};

struct gkeys {
    struct gkey *v;
    size_t n, cap;
    struct pm_nameset index;
};

static struct pm_name
gkey_name(const void *ctx, uint32_t i)
{
    const struct gkey *g = &((const struct gkeys *)ctx)->v[i];

    return (struct pm_name){ g->file, g->function, g->line };
}

/* The index of the key (file, function, line), added if new; NONE when out of memory. */
static uint32_t
gkey_intern(struct gkeys *k, const char *file, const char *function, int64_t line)
{
    uint32_t found;
    size_t hole;

    if (pm_nameset_find(&k->index, k->n, (struct pm_name){ file, function, line }, gkey_name, k,
                        &found, &hole) < 0)
        return NONE;
    if (found != PM_NAMESET_NONE)
        return found;
    if (k->n >= NONE - 1 || pm_grow(&k->v, &k->cap, k->n, sizeof(*k->v)) < 0)
        return NONE;
    k->v[k->n] = (struct gkey){
        .file = pm_strdup(file), .function = pm_strdup(function), .line = line, .first = NONE};
    if (!k->v[k->n].file || !k->v[k->n].function) {
        pm_free(k->v[k->n].file);
        pm_free(k->v[k->n].function);
        return NONE;
    }
    pm_nameset_put(&k->index, hole, (uint32_t)k->n);
    return (uint32_t)k->n++;
}

static void
gkeys_free(struct gkeys *k)
{
    for (size_t i = 0; i < k->n; i++) {
        pm_free(k->v[i].file);
        pm_free(k->v[i].function);
    }
    pm_free(k->v);
    pm_nameset_release(&k->index);
    *k = (struct gkeys){0};
}

/* The state of one growth query. */
struct growth {
    struct pm_query *a;
    enum pm_analysis_by by;
    struct points p;
    struct point_map pm;
    struct pm_idmap stack_map; /* stack id -> index in stacks */
    struct gstack *stacks;
    size_t n_stacks, cap_stacks;
    struct arena ar;
    struct gkeys keys;
};

/* A batch of live rows: their stacks' states are fetched from memory together (prefetched)
 * rather than one cache miss after another. */
#define SCAN_BATCH 256

struct scan_row {
    int64_t stack, bytes, blocks;
    uint32_t lo, hi;
    uint32_t i; /* index in stacks */
};

/* Finds or adds the stack of every row of the batch, then adds their changes. */
static int
scan_batch(struct growth *g, struct scan_row *r, size_t nr)
{
    const struct pm_idmap *m = &g->stack_map;

    for (size_t j = 0; j < nr; j++)
        pm_idmap_prefetch(m, r[j].stack);
    for (size_t j = 0; j < nr; j++) {
        uint32_t i = pm_idmap_get(m, r[j].stack);

        if (i == NONE) {
            if (g->n_stacks >= NONE - 1 ||
                pm_grow(&g->stacks, &g->cap_stacks, g->n_stacks, sizeof(*g->stacks)) < 0 ||
                pm_idmap_put(&g->stack_map, r[j].stack, (uint32_t)g->n_stacks) < 0)
                return -ENOMEM;
            i = (uint32_t)g->n_stacks++;
            g->stacks[i] = (struct gstack){
                .id = r[j].stack, .pend_point = NONE, .key = NONE, .next = NONE};
        }
        r[j].i = i;
        __builtin_prefetch(&g->stacks[i]);
    }
    for (size_t j = 0; j < nr; j++) {
        const struct gstack *st = &g->stacks[r[j].i];
        if (st->len)
            __builtin_prefetch(chunk_at(&g->ar, st->tail) + 4 + st->len % CHUNK_DATA, 1);
    }
    for (size_t j = 0; j < nr; j++) {
        struct gstack *st = &g->stacks[r[j].i];

        if (stack_add(&g->ar, st, r[j].lo, r[j].bytes, r[j].blocks) < 0 ||
            (r[j].hi < g->p.n && stack_add(&g->ar, st, r[j].hi, -r[j].bytes, -r[j].blocks) < 0))
            return -ENOMEM;
    }
    return 0;
}

/* Reads every live row of the process once, through the covering index live_by_until when the
 * file has it (blocks first: decoding the last column parses the record header once). Each row
 * counts for the points i with first_snapshot <= point < until_snapshot: a change of +bytes at
 * the first such point and -bytes after the last (none when it is still live at the last). */
static int
scan_live(struct growth *g, int64_t process, struct pm_diag *diag)
{
    /* Still-open rows, then closed ones: two ranges of the index, no NULL test per row. */
    static const char *const sql[2] = {
        "SELECT blocks, bytes, stack, first_snapshot FROM live"
        " WHERE process = ?1 AND until_snapshot IS NULL",
        "SELECT blocks, bytes, stack, first_snapshot, until_snapshot FROM live"
        " WHERE process = ?1 AND until_snapshot IS NOT NULL",
    };
    struct scan_row *r = NULL;
    sqlite3_stmt *s = NULL;
    size_t n = g->p.n, nr = 0;
    int rc = 0;

    if (!(r = pm_malloc(SCAN_BATCH * sizeof(*r))))
        return pm_analysis_oom(diag);
    for (int q = 0; q < 2; q++) {
        if ((rc = pm_query_prepare(g->a, sql[q], &s, diag)) < 0)
            goto out;
        sqlite3_bind_int64(s, 1, process);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            size_t lo = point_of(&g->pm, sqlite3_column_int64(s, 3));
            size_t hi = q == 0 ? n : point_of(&g->pm, sqlite3_column_int64(s, 4));

            if (lo >= hi)
                continue; /* between two points, or outside them */
            r[nr++] = (struct scan_row){
                .blocks = sqlite3_column_int64(s, 0),
                .bytes = sqlite3_column_int64(s, 1),
                .stack = sqlite3_column_int64(s, 2),
                .lo = (uint32_t)lo,
                .hi = (uint32_t)hi,
            };
            if (nr == SCAN_BATCH) {
                if (scan_batch(g, r, nr) < 0)
                    goto nomem;
                nr = 0;
            }
        }
        if (rc != SQLITE_DONE) {
            rc = pm_query_fail(g->a, diag, rc);
            goto out;
        }
        sqlite3_finalize(s);
        s = NULL;
    }
    if (scan_batch(g, r, nr) < 0)
        goto nomem;
    for (size_t j = 0; j < g->n_stacks; j++) {
        if (stack_flush(&g->ar, &g->stacks[j]) < 0)
            goto nomem;
    }
    rc = 0;
    goto out;
nomem:
    rc = pm_analysis_oom(diag);
out:
    sqlite3_finalize(s);
    pm_free(r);
    return rc;
}

/* Ends a scan that stepped to rc: finalizes *s (and clears it). Returns 0 when the scan ran to
 * its end, else the failure (in diag). */
static int
scan_end(struct pm_query *a, sqlite3_stmt **s, int rc, struct pm_diag *diag)
{
    sqlite3_finalize(*s);
    *s = NULL;
    return rc == SQLITE_DONE ? 0 : pm_query_fail(a, diag, rc);
}

/* Names the stacks seen as the join of the SQL queries does (KEY_COLUMNS): the innermost frame,
 * '<unknown stack>' or '<unknown frame>'. The stack and frame tables are read once, keeping only
 * the rows the process uses. */
#define FRAME_WANTED (NONE - 1) /* in frame_map: a frame of a seen stack, not read yet */

static int
name_stacks(struct growth *g, struct pm_diag *diag)
{
    struct pm_idmap frame_map = {0}; /* frame id -> key */
    sqlite3_stmt *s = NULL;
    uint32_t unknown_stack, unknown_frame;
    int rc;

    if ((rc = pm_query_prepare(g->a, "SELECT id, frame FROM stack", &s, diag)) < 0)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint32_t i = pm_idmap_get(&g->stack_map, sqlite3_column_int64(s, 0));

        if (i == NONE)
            continue;
        g->stacks[i].known = true;
        g->stacks[i].frame = sqlite3_column_int64(s, 1);
        if (pm_idmap_put(&frame_map, g->stacks[i].frame, FRAME_WANTED) < 0)
            goto nomem;
    }
    if ((rc = scan_end(g->a, &s, rc, diag)) < 0)
        goto out;
    if ((rc = pm_query_prepare(g->a, "SELECT id, file, function, line FROM frame", &s, diag)) < 0)
        goto out;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        const char *file = (const char *)sqlite3_column_text(s, 1);
        const char *function = (const char *)sqlite3_column_text(s, 2);
        int64_t line = g->by == PM_ANALYSIS_BY_FUNCTION ? 0 : sqlite3_column_int64(s, 3);
        uint32_t k;

        if (pm_idmap_get(&frame_map, id) != FRAME_WANTED)
            continue;
        if ((k = gkey_intern(&g->keys, file ? file : "", function ? function : "", line)) ==
                NONE ||
            pm_idmap_put(&frame_map, id, k) < 0)
            goto nomem;
    }
    if ((rc = scan_end(g->a, &s, rc, diag)) < 0)
        goto out;
    unknown_stack = gkey_intern(&g->keys, "<pymem>", "<unknown stack>", 0);
    unknown_frame = gkey_intern(&g->keys, "<pymem>", "<unknown frame>", 0);
    if (unknown_stack == NONE || unknown_frame == NONE)
        goto nomem;
    for (size_t i = g->n_stacks; i-- > 0;) { /* chained in stack order */
        struct gstack *st = &g->stacks[i];
        uint32_t k = st->known ? pm_idmap_get(&frame_map, st->frame) : unknown_stack;

        st->key = k == FRAME_WANTED ? unknown_frame : k;
        st->next = g->keys.v[st->key].first;
        g->keys.v[st->key].first = (uint32_t)i;
    }
    rc = 0;
    goto out;
nomem:
    rc = pm_analysis_oom(diag);
out:
    sqlite3_finalize(s);
    pm_idmap_release(&frame_map);
    return rc;
}

static int
compare_growth(const void *pa, const void *pb)
{
    const struct pm_growth_row *a = pa, *b = pb;

    if (a->slope != b->slope)
        return a->slope > b->slope ? -1 : 1;
    return pm_analysis_key_cmp(&a->key, &b->key);
}

/* Ends the series of key k (borrowed): fits it, lists a copy of k in g if it passes, resets the
 * deltas. */
static int
finish_key(struct pm_growth *g, size_t *cap, const struct points *p, struct series *sr,
           const struct pm_analysis_key *k, double t_mean, double sxx)
{
    double y_mean = 0, sxy = 0, syy = 0, slope, fit;
    size_t grew = 0, n = p->n;
    bool live = false;
    int rc = 0;

    for (size_t i = 1; i < n; i++) { /* deltas to levels */
        sr->bytes[i] += sr->bytes[i - 1];
        sr->blocks[i] += sr->blocks[i - 1];
    }
    for (size_t i = 0; i < n; i++) {
        y_mean += (double)sr->bytes[i];
        live |= sr->bytes[i] != 0 || sr->blocks[i] != 0;
        grew += i > 0 && sr->bytes[i] > sr->bytes[i - 1];
    }
    y_mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double dt = p->time[i] - t_mean, dy = (double)sr->bytes[i] - y_mean;
        sxy += dt * dy;
        syy += dy * dy;
    }
    slope = sxx > 0 ? sxy / sxx : 0;
    fit = sxx > 0 && syy > 0 ? sxy * sxy / (sxx * syy) : 0;
    g->n_keys += live;
    if (slope > 0 && (double)grew >= PM_GROWTH_MIN_STEADY * (double)(n - 1) &&
        fit >= PM_GROWTH_MIN_FIT) {
        struct pm_growth_row *r;

        if (pm_grow(&g->v, cap, g->n, sizeof(*g->v)) < 0) {
            rc = -ENOMEM;
        } else {
            r = &g->v[g->n];
            *r = (struct pm_growth_row){
                .key = {.file = pm_strdup(k->file),
                        .function = pm_strdup(k->function),
                        .line = k->line,
                        .stack = k->stack,
                        .stack_key = k->stack_key},
                .slope = slope,
                .steadiness = (double)grew / (double)(n - 1),
                .fit = fit > 1 ? 1 : fit,
                .first_bytes = sr->bytes[0],
                .bytes = sr->bytes[n - 1],
                .blocks = sr->blocks[n - 1],
            };
            if (r->key.file && r->key.function)
                g->n++;
            else {
                pm_analysis_key_clear(&r->key);
                rc = -ENOMEM;
            }
        }
    }
    memset(sr->bytes, 0, (n + 1) * sizeof(*sr->bytes));
    memset(sr->blocks, 0, (n + 1) * sizeof(*sr->blocks));
    return rc;
}

/* Rebuilds and fits the series of every key, from the changes of its stacks. */
static int
fit_keys(struct growth *g, struct pm_growth *out, struct pm_diag *diag)
{
    struct series sr = {0};
    double t_mean = 0, sxx = 0;
    size_t cap = 0, n = g->p.n;
    int rc = 0;

    for (size_t i = 0; i < n; i++)
        t_mean += g->p.time[i];
    t_mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        sxx += (g->p.time[i] - t_mean) * (g->p.time[i] - t_mean);
    sr.bytes = pm_calloc(n + 1, sizeof(*sr.bytes));
    sr.blocks = pm_calloc(n + 1, sizeof(*sr.blocks));
    if (!sr.bytes || !sr.blocks)
        goto nomem;
    if (g->by == PM_ANALYSIS_BY_STACK) {
        for (size_t i = 0; i < g->n_stacks; i++) {
            const struct gstack *st = &g->stacks[i];
            const struct gkey *name = &g->keys.v[st->key];
            struct pm_analysis_key k = {
                .file = name->file, .function = name->function, .line = name->line,
                .stack = st->id, .stack_key = st->id};  /* one process: ids are keys */

            if (i + 2 < g->n_stacks && g->stacks[i + 2].len)
                __builtin_prefetch(chunk_at(&g->ar, g->stacks[i + 2].head));
            if (!st->len)
                continue; /* nothing live at any point */
            stack_replay(&g->ar, st, &sr, n);
            if (finish_key(out, &cap, &g->p, &sr, &k, t_mean, sxx) < 0)
                goto nomem;
        }
    } else {
        for (size_t i = 0; i < g->keys.n; i++) {
            const struct gkey *name = &g->keys.v[i];
            struct pm_analysis_key k = {
                .file = name->file, .function = name->function, .line = name->line};
            bool any = false;

            for (uint32_t j = name->first; j != NONE; j = g->stacks[j].next) {
                uint32_t next = g->stacks[j].next;
                if (next != NONE && g->stacks[next].len)
                    __builtin_prefetch(chunk_at(&g->ar, g->stacks[next].head));
                stack_replay(&g->ar, &g->stacks[j], &sr, n);
                any |= g->stacks[j].len != 0;
            }
            if (any && finish_key(out, &cap, &g->p, &sr, &k, t_mean, sxx) < 0)
                goto nomem;
        }
    }
    goto out;
nomem:
    rc = pm_analysis_oom(diag);
out:
    pm_free(sr.bytes);
    pm_free(sr.blocks);
    return rc;
}

int
pm_analysis_growth(struct pm_query *a, int64_t process, enum pm_analysis_by by,
                   struct pm_growth *out, struct pm_diag *diag)
{
    struct growth g = {.a = a, .by = by};
    int rc;

    *out = (struct pm_growth){0};
    if ((rc = load_points(a, process, &g.p, &out->has_final, diag)) < 0)
        goto out;
    out->n_points = g.p.n;
    if (g.p.n) {
        out->first_snapshot = g.p.id[0];
        out->last_snapshot = g.p.id[g.p.n - 1];
        out->first_time = g.p.time[0];
        out->last_time = g.p.time[g.p.n - 1];
    }
    if (g.p.n < PM_GROWTH_MIN_POINTS) {
        rc = pm_diag_set(diag, -PM_ENOTFOUND,
                         "process %lld has %zu periodic and final"
                         " snapshots: growth needs %d",
                         (long long)process, g.p.n, PM_GROWTH_MIN_POINTS);
        goto out;
    }
    if (g.p.n >= NONE - 1) {
        rc = pm_analysis_oom(diag);
        goto out;
    }
    if (point_map_init(&g.pm, &g.p) < 0) {
        rc = pm_analysis_oom(diag);
        goto out;
    }
    if ((rc = scan_live(&g, process, diag)) < 0 || (rc = name_stacks(&g, diag)) < 0 ||
        (rc = fit_keys(&g, out, diag)) < 0)
        goto out;
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v), compare_growth);
    rc = 0;
out:
    pm_free(g.pm.at);
    pm_idmap_release(&g.stack_map);
    pm_free(g.stacks);
    arena_free(&g.ar);
    gkeys_free(&g.keys);
    pm_free(g.p.id);
    pm_free(g.p.time);
    if (rc < 0) {
        size_t n_points = out->n_points;
        pm_growth_clear(out);
        out->n_points = n_points;
    }
    return rc;
}
