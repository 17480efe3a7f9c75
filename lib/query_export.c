/* SPDX-License-Identifier: MIT */
/* Stack samples of one snapshot (see query_samples.h): the live rows of the snapshot and the
 * churn of the process, each stack with its full frame chain, every distinct frame once.
 * Three statements whatever the size of the profile: the live rows, the churn rows, and one
 * recursive CTE that walks every chain reachable from them (SQLite's UNION makes it stop on
 * parent cycles). Values are always bound. */
#include "query_samples.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "query.h"

/* The synthetic frame that ends a chain whose next stack row is missing (or loops). */
#define UNKNOWN_STACK_ID INT64_MIN

/* ---- the stack trie reachable from the samples ---- */

struct node {
    int64_t id, parent;         /* parent 0: outermost */
    uint32_t frame;             /* index into the frame table */
    bool missing;               /* no stack row: the chain ends with "<unknown stack>" */
    size_t walk;                /* the last walk that went through it: finds parent cycles */
};

struct loader {
    struct pm_query *q;
    struct pm_diag *diag;
    struct node *node;          /* sorted by id once loaded */
    size_t n_node, cap_node;
    struct pm_sample_frame *frame;
    size_t n_frame, cap_frame;
    int64_t unknown;            /* index of the "<unknown stack>" frame, -1 until needed */
    struct pm_sample *sample;
    size_t n_sample, cap_sample;
    size_t *offset;             /* per sample: where its frames start in pool */
    uint32_t *pool;
    size_t n_pool, cap_pool;
    uint32_t *scratch;          /* one chain, innermost first */
    size_t cap_scratch;
};

static int
compare_nodes(const void *pa, const void *pb)
{
    const struct node *a = pa, *b = pb;

    return (a->id > b->id) - (a->id < b->id);
}

static struct node *
find_node(struct loader *l, int64_t id)
{
    struct node key = { .id = id };

    return bsearch(&key, l->node, l->n_node, sizeof(*l->node), compare_nodes);
}

static int
add_frame(struct loader *l, int64_t id, const char *file, const char *function, int64_t line)
{
    struct pm_sample_frame *f;

    if (pm_grow(&l->frame, &l->cap_frame, l->n_frame, sizeof(*l->frame)) < 0)
        return -ENOMEM;
    f = &l->frame[l->n_frame];
    *f = (struct pm_sample_frame){ .id = id, .file = pm_strdup(file ? file : ""),
                                   .function = pm_strdup(function ? function : ""),
                                   .line = line };
    l->n_frame++;
    return f->file && f->function ? 0 : -ENOMEM;
}

/* The seeds of the chain: the stacks live at the snapshot and, with churn, every stack with
 * churn. ?1 process, ?2 snapshot. */
#define LIVE_SEED \
    "SELECT stack FROM live WHERE process = ?1 AND first_snapshot <= ?2" \
    " AND (until_snapshot IS NULL OR until_snapshot > ?2)"
#define CHAIN_SQL(seed) \
    "WITH RECURSIVE chain(id) AS (" seed \
    "  UNION SELECT s.parent FROM stack s JOIN chain c ON s.id = c.id WHERE s.parent <> 0)" \
    " SELECT c.id, s.id IS NULL, coalesce(s.parent, 0), s.frame, f.id IS NULL," \
    "  f.file, f.function, f.line" \
    " FROM chain c LEFT JOIN stack s ON s.id = c.id LEFT JOIN frame f ON f.id = s.frame" \
    " ORDER BY s.frame"

/* Loads every stack reachable from the samples, and their frames, each once (rows come sorted
 * by frame id). A missing frame row becomes "<pymem>" / "<unknown frame>". */
static int
load_chain(struct loader *l, int64_t process, int64_t snapshot, bool churn)
{
    static const char live_sql[] = CHAIN_SQL(LIVE_SEED);
    static const char churn_sql[] =
        CHAIN_SQL(LIVE_SEED " UNION SELECT stack FROM churn WHERE process = ?1");
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = pm_query_prepare(l->q, churn ? churn_sql : live_sql, &s, l->diag)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, process);
    sqlite3_bind_int64(s, 2, snapshot);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct node n = { .id = sqlite3_column_int64(s, 0), .missing = sqlite3_column_int(s, 1),
                          .parent = sqlite3_column_int64(s, 2) };
        int64_t frame = sqlite3_column_int64(s, 3);

        if (!n.missing) {
            const struct pm_sample_frame *last = l->n_frame ? &l->frame[l->n_frame - 1] : NULL;
            if (!last || last->id != frame) {
                if (sqlite3_column_int(s, 4))
                    rc = add_frame(l, frame, "<pymem>", "<unknown frame>", 0);
                else
                    rc = add_frame(l, frame, (const char *)sqlite3_column_text(s, 5),
                                   (const char *)sqlite3_column_text(s, 6),
                                   sqlite3_column_int64(s, 7));
                if (rc < 0)
                    goto oom;
            }
            n.frame = (uint32_t)(l->n_frame - 1);
        }
        if (pm_grow(&l->node, &l->cap_node, l->n_node, sizeof(*l->node)) < 0)
            goto oom;
        l->node[l->n_node++] = n;
    }
    if (rc != SQLITE_DONE) {
        rc = pm_query_fail(l->q, l->diag, rc);
        goto out;
    }
    if (l->n_node)
        qsort(l->node, l->n_node, sizeof(*l->node), compare_nodes);
    rc = 0;
    goto out;
oom:
    rc = pm_diag_set(l->diag, -ENOMEM, "out of memory");
out:
    sqlite3_finalize(s);
    return rc;
}

/* ---- samples ---- */

static struct pm_sample *
new_sample(struct loader *l, int64_t stack)
{
    if (pm_grow(&l->sample, &l->cap_sample, l->n_sample, sizeof(*l->sample)) < 0)
        return NULL;
    l->sample[l->n_sample] = (struct pm_sample){ .stack = stack };
    return &l->sample[l->n_sample++];
}

static int
compare_stack(const void *pa, const void *pb)
{
    const struct pm_sample *a = pa, *b = pb;

    return (a->stack > b->stack) - (a->stack < b->stack);
}

static int
compare_samples(const void *pa, const void *pb)
{
    const struct pm_sample *a = pa, *b = pb;

    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    if (a->blocks != b->blocks)
        return a->blocks > b->blocks ? -1 : 1;
    if (a->alloc_bytes != b->alloc_bytes)
        return a->alloc_bytes > b->alloc_bytes ? -1 : 1;
    return compare_stack(pa, pb);
}

/* Reads the live rows of the snapshot (rows of one stack, if a broken file has several, add
 * up), then with churn the churn rows, which add stacks that hold nothing at the snapshot. */
static int
load_samples(struct loader *l, int64_t process, int64_t snapshot, bool churn)
{
    static const char live_sql[] =
        "SELECT stack, sum(bytes), sum(blocks), sum(python_bytes), sum(python_blocks),"
        " sum(raw_bytes), sum(raw_blocks), sum(native_bytes), sum(native_blocks)"
        " FROM live WHERE process = ?1 AND first_snapshot <= ?2"
        " AND (until_snapshot IS NULL OR until_snapshot > ?2) GROUP BY stack";
    static const char churn_sql[] =
        "SELECT stack, alloc_bytes, alloc_blocks FROM churn WHERE process = ?1";
    sqlite3_stmt *s = NULL;
    size_t n_live;
    int rc;

    if ((rc = pm_query_prepare(l->q, live_sql, &s, l->diag)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, process);
    sqlite3_bind_int64(s, 2, snapshot);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct pm_sample *p = new_sample(l, sqlite3_column_int64(s, 0));
        if (!p)
            goto oom;
        p->bytes = sqlite3_column_int64(s, 1);
        p->blocks = sqlite3_column_int64(s, 2);
        p->python_bytes = sqlite3_column_int64(s, 3);
        p->python_blocks = sqlite3_column_int64(s, 4);
        p->raw_bytes = sqlite3_column_int64(s, 5);
        p->raw_blocks = sqlite3_column_int64(s, 6);
        p->native_bytes = sqlite3_column_int64(s, 7);
        p->native_blocks = sqlite3_column_int64(s, 8);
    }
    if (rc != SQLITE_DONE)
        goto fail_rc;
    sqlite3_finalize(s);
    s = NULL;
    n_live = l->n_sample;
    if (churn) {
        if (n_live)     /* GROUP BY gave them sorted, but say so rather than rely on it */
            qsort(l->sample, n_live, sizeof(*l->sample), compare_stack);
        if ((rc = pm_query_prepare(l->q, churn_sql, &s, l->diag)) < 0)
            return rc;
        sqlite3_bind_int64(s, 1, process);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            struct pm_sample key = { .stack = sqlite3_column_int64(s, 0) };
            struct pm_sample *p = n_live ? bsearch(&key, l->sample, n_live, sizeof(*l->sample),
                                                   compare_stack) : NULL;
            if (!p && !(p = new_sample(l, key.stack)))
                goto oom;
            p->alloc_bytes = sqlite3_column_int64(s, 1);
            p->alloc_blocks = sqlite3_column_int64(s, 2);
        }
        if (rc != SQLITE_DONE)
            goto fail_rc;
    }
    if (n_live)
        qsort(l->sample, n_live, sizeof(*l->sample), compare_samples);
    if (l->n_sample > n_live)
        qsort(l->sample + n_live, l->n_sample - n_live, sizeof(*l->sample), compare_samples);
    rc = 0;
    goto out;
fail_rc:
    rc = pm_query_fail(l->q, l->diag, rc);
    goto out;
oom:
    rc = pm_diag_set(l->diag, -ENOMEM, "out of memory");
out:
    sqlite3_finalize(s);
    return rc;
}

/* Appends the frames of sample i to the pool, outermost first. A parent cycle in a corrupt
 * file ends the chain (with "<unknown stack>") when it comes back to a stack of this walk. */
static int
walk(struct loader *l, struct pm_sample *p, size_t i)
{
    struct node *n = find_node(l, p->stack);
    size_t depth = 0;
    bool broken = true;

    for (; n && !n->missing && n->walk != i + 1; n = find_node(l, n->parent)) {
        n->walk = i + 1;
        if (pm_grow(&l->scratch, &l->cap_scratch, depth, sizeof(*l->scratch)) < 0)
            return -ENOMEM;
        l->scratch[depth++] = n->frame;
        if (n->parent == 0) {
            broken = false;
            break;
        }
    }
    if (broken) {
        if (l->unknown < 0) {
            if (add_frame(l, UNKNOWN_STACK_ID, "<pymem>", "<unknown stack>", 0) < 0)
                return -ENOMEM;
            l->unknown = (int64_t)l->n_frame - 1;
        }
        if (pm_grow(&l->scratch, &l->cap_scratch, depth, sizeof(*l->scratch)) < 0)
            return -ENOMEM;
        l->scratch[depth++] = (uint32_t)l->unknown;
    }
    l->offset[i] = l->n_pool;
    p->n_frames = (uint32_t)depth;
    while (depth > 0) {
        if (pm_grow(&l->pool, &l->cap_pool, l->n_pool, sizeof(*l->pool)) < 0)
            return -ENOMEM;
        l->pool[l->n_pool++] = l->scratch[--depth];
    }
    return 0;
}

static bool
has_churn_table(struct pm_query *q)
{
    sqlite3_stmt *s = NULL;
    bool found = false;

    if (sqlite3_prepare_v2(pm_query_db(q), "SELECT 1 FROM sqlite_master WHERE type = 'table'"
                           " AND name = 'churn'", -1, &s, NULL) == SQLITE_OK)
        found = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return found;
}

int
pm_query_samples(struct pm_query *q, int64_t process, int64_t snapshot, int with_churn,
                 struct pm_sample_list *out, struct pm_diag *diag)
{
    struct loader l = { .q = q, .diag = diag, .unknown = -1 };
    bool churn = with_churn && has_churn_table(q);  /* an older file may lack it */
    int rc;

    *out = (struct pm_sample_list){ 0 };
    if ((rc = load_samples(&l, process, snapshot, churn)) < 0 ||
        (rc = load_chain(&l, process, snapshot, churn)) < 0)
        goto out;
    if (!(l.offset = pm_calloc(l.n_sample ? l.n_sample : 1, sizeof(*l.offset)))) {
        rc = pm_diag_set(diag, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < l.n_sample; i++) {
        if ((rc = walk(&l, &l.sample[i], i)) < 0) {
            rc = pm_diag_set(diag, rc, "out of memory");
            goto out;
        }
    }
    if (!l.pool && !(l.pool = pm_malloc(sizeof(*l.pool)))) {
        rc = pm_diag_set(diag, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < l.n_sample; i++)
        l.sample[i].frames = l.pool + l.offset[i];
    out->v = pm_steal(&l.sample);
    out->n = l.n_sample;
    out->frames = pm_steal(&l.frame);
    out->n_frames = l.n_frame;
    out->pool = pm_steal(&l.pool);
    rc = 0;
out:
    for (size_t i = 0; l.frame && i < l.n_frame; i++) {
        pm_free(l.frame[i].file);
        pm_free(l.frame[i].function);
    }
    pm_free(l.frame);
    pm_free(l.node);
    pm_free(l.sample);
    pm_free(l.offset);
    pm_free(l.pool);
    pm_free(l.scratch);
    return rc;
}

void
pm_sample_list_clear(struct pm_sample_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_frames; i++) {
        pm_free(l->frames[i].file);
        pm_free(l->frames[i].function);
    }
    pm_free(l->frames);
    pm_free(l->v);
    pm_free(l->pool);
    *l = (struct pm_sample_list){ 0 };
}
