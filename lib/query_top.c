/* SPDX-License-Identifier: MIT */
/* The top table (see query.h): the live rows of one or more snapshots (read by
 * query_top_load.c), grouped by line, function, file or stack, optionally attributed to the
 * nearest user frame, with self and total per row; and the chain of one stack. */
#include "query_top_int.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/* ---- rows ---- */

static struct pm_name
row_name(const void *ctx, uint32_t i)
{
    const struct pm_top_row *r = &((const struct top *)ctx)->row[i];

    return (struct pm_name){ r->file, r->function, r->line };
}

/* Appends a row (copying the strings). Returns its index or NONE when out of memory. */
static uint32_t
new_row(struct top *t, const char *file, const char *function, int64_t line, int64_t stack)
{
    struct pm_top_row *r;

    if (pm_grow(&t->row, &t->cap_row, t->n_row, sizeof(*t->row)) < 0)
        return NONE;
    r = &t->row[t->n_row];
    *r = (struct pm_top_row){ .file = pm_strdup(file), .function = pm_strdup(function),
                              .line = line, .stack_id = stack };
    t->n_row++;
    return r->file && r->function ? (uint32_t)(t->n_row - 1) : NONE;
}

/* The row of frame f in the line, function and file modes (one per distinct key). */
static uint32_t
frame_row(struct top *t, uint32_t f)
{
    struct frame *fr = &t->frame[f];
    const char *function = t->o->by == PM_TOP_BY_FILE ? "" : fr->function;
    int64_t line = t->o->by == PM_TOP_BY_LINE ? fr->line : 0;
    size_t hole;

    if (fr->row != NONE)
        return fr->row;
    if (pm_nameset_find(&t->row_names, t->n_row, (struct pm_name){ fr->file, function, line },
                        row_name, t, &fr->row, &hole) < 0)
        return NONE;
    if (fr->row != NONE)
        return fr->row;
    if ((fr->row = new_row(t, fr->file, function, line, 0)) != NONE)
        pm_nameset_put(&t->row_names, hole, fr->row);
    return fr->row;
}

/* The row of node n in the stack mode: one per stack key, so that the same stack in several
 * processes (--all-processes; ids are given per process) is one row. NONE when out of memory. */
static uint32_t
stack_row(struct top *t, uint32_t n)
{
    const struct node *nd = &t->node[n];
    const struct frame *fr = &t->frame[nd->fidx];
    uint32_t r = pm_idmap_get(&t->key_row, nd->key);

    if (r == NONE && (r = new_row(t, fr->file, fr->function, fr->line, nd->id)) != NONE &&
        pm_idmap_put(&t->key_row, nd->key, r) < 0)
        r = NONE;
    return r;
}

static int count_totals(struct top *t, struct pm_diag *diag);

/* Counts every live stack: self to the row of its (attributed) innermost frame or stack,
 * total to every distinct row from there outwards. */
static int
count(struct top *t, struct pm_diag *diag)
{
    bool by_stack = t->o->by == PM_TOP_BY_STACK;

    for (uint32_t f = 0; !by_stack && f < t->n_frame; f++)    /* rows are stable from here */
        if (frame_row(t, f) == NONE)
            return oom(diag);
    for (size_t i = 0; i < t->n_live; i++) {
        struct live *l = &t->live[i];
        uint32_t n = l->node, r;
        for (size_t steps = 0; (t->o->user || t->o->focus) && n != NONE &&
             steps < t->n_node; steps++) {
            if (t->frame[t->node[n].fidx].user) {
                l->start = n;
                break;
            }
            n = t->node[n].up;
        }
        n = l->start;
        if (by_stack) {
            if ((r = t->node[n].row) == NONE &&
                (r = t->node[n].row = stack_row(t, n)) == NONE)
                return oom(diag);
        } else if ((r = frame_row(t, t->node[n].fidx)) == NONE) {
            return oom(diag);
        }
        t->row[r].self_bytes += l->bytes;
        t->row[r].self_blocks += l->blocks;
    }
    return count_totals(t, diag);
}

static inline uint32_t
row_of(const struct top *t, uint32_t n)
{
    return t->o->by == PM_TOP_BY_STACK ? t->node[n].row : t->frame[t->node[n].fidx].row;
}

/* TOTAL of a row = the memory of every stack with that row anywhere in it, once per stack.
 * Over the stack trie that is the subtree sum of each node whose row does not already occur
 * above it: one depth-first pass (O(stacks)) instead of walking every live stack to its root
 * (O(live stacks x depth), seconds on big files). Stacks the pass cannot reach from a root (a
 * parent cycle in a corrupt file) are walked one by one, bounded. */
static int
count_totals(struct top *t, struct pm_diag *diag)
{
    size_t n = t->n_node, top = 0;
    int64_t *sub_bytes = pm_calloc(n + 1, sizeof(int64_t));
    int64_t *sub_blocks = pm_calloc(n + 1, sizeof(int64_t));
    uint32_t *first = pm_calloc(n + 2, sizeof(uint32_t));
    uint32_t *kids = pm_calloc(n + 1, sizeof(uint32_t));
    uint32_t *order = pm_calloc(n + 1, sizeof(uint32_t));
    uint32_t *stack = pm_calloc(n + 1, sizeof(uint32_t));
    uint32_t *cursor = pm_calloc(n + 1, sizeof(uint32_t));
    uint32_t *active = pm_calloc(t->n_row + 1, sizeof(uint32_t));
    bool *seen = pm_calloc(n + 1, sizeof(bool));
    size_t n_order = 0;
    int rc = 0;

    if (!sub_bytes || !sub_blocks || !first || !kids || !order || !stack || !cursor || !active ||
        !seen) {
        rc = oom(diag);
        goto out;
    }
    for (size_t i = 0; i < t->n_live; i++) {
        sub_bytes[t->live[i].start] += t->live[i].bytes;
        sub_blocks[t->live[i].start] += t->live[i].blocks;
    }
    /* children lists (CSR) */
    /* only nodes on the way from a live stack to its root matter (others have no frame) */
    for (size_t i = 0; i < n; i++)
        if (t->node[i].reached && t->node[i].up != NONE)
            first[t->node[i].up + 1]++;
    for (size_t i = 0; i < n; i++)
        first[i + 1] += first[i];
    for (size_t i = 0; i < n; i++)
        if (t->node[i].reached && t->node[i].up != NONE)
            kids[first[t->node[i].up] + cursor[t->node[i].up]++] = (uint32_t)i;
    /* pre-order from the roots; children come after their parent */
    for (size_t r = 0; r < n; r++) {
        if (t->node[r].up != NONE || !t->node[r].reached)
            continue;
        stack[top++] = (uint32_t)r;
        while (top) {
            uint32_t v = stack[--top];
            if (seen[v])
                continue;
            seen[v] = true;
            order[n_order++] = v;
            for (uint32_t k = first[v]; k < first[v + 1]; k++)
                stack[top++] = kids[k];
        }
    }
    for (size_t i = n_order; i-- > 0;) {       /* subtree sums, children first */
        uint32_t v = order[i], up = t->node[v].up;
        if (up != NONE) {
            sub_bytes[up] += sub_bytes[v];
            sub_blocks[up] += sub_blocks[v];
        }
    }
    /* second pass with enter/exit: count a node only where its row is not active above it */
    memset(cursor, 0, (n + 1) * sizeof(uint32_t));
    for (size_t r = 0; r < n; r++) {
        if (t->node[r].up != NONE || !seen[r])
            continue;
        top = 0;
        stack[top++] = (uint32_t)r;
        uint32_t row = row_of(t, (uint32_t)r);
        if (row != NONE && active[row]++ == 0) {
            t->row[row].total_bytes += sub_bytes[r];
            t->row[row].total_blocks += sub_blocks[r];
        }
        while (top) {
            uint32_t v = stack[top - 1];
            if (first[v] + cursor[v] < first[v + 1]) {
                uint32_t c = kids[first[v] + cursor[v]++];
                uint32_t cr = row_of(t, c);
                if (cr != NONE && active[cr]++ == 0) {
                    t->row[cr].total_bytes += sub_bytes[c];
                    t->row[cr].total_blocks += sub_blocks[c];
                }
                stack[top++] = c;
            } else {
                uint32_t vr = row_of(t, v);
                if (vr != NONE)
                    active[vr]--;
                top--;
            }
        }
    }
    /* unreachable from any root (corrupt file): the bounded walk */
    if (n_order < n) {
        if (!(t->stamp = pm_calloc(t->n_row ? t->n_row : 1, sizeof(*t->stamp)))) {
            rc = oom(diag);
            goto out;
        }
        uint64_t walk = 0;
        for (size_t i = 0; i < t->n_live; i++) {
            const struct live *l = &t->live[i];
            uint32_t v = l->start;
            if (seen[v])
                continue;
            walk++;
            for (size_t steps = 0; v != NONE && steps < t->n_node; steps++) {
                uint32_t r = row_of(t, v);
                if (r != NONE && t->stamp[r] != walk) {
                    t->stamp[r] = walk;
                    t->row[r].total_bytes += l->bytes;
                    t->row[r].total_blocks += l->blocks;
                }
                v = t->node[v].up;
            }
        }
    }
out:
    pm_free(sub_bytes);
    pm_free(sub_blocks);
    pm_free(first);
    pm_free(kids);
    pm_free(order);
    pm_free(stack);
    pm_free(cursor);
    pm_free(active);
    pm_free(seen);
    return rc;
}

static int
compare_rows(const struct pm_top_row *a, const struct pm_top_row *b, enum pm_top_sort sort)
{
    int64_t ka[3] = { a->self_bytes, a->total_bytes, a->self_blocks };
    int64_t kb[3] = { b->self_bytes, b->total_bytes, b->self_blocks };
    static const int order[][3] = {
        [PM_TOP_SORT_SELF] = { 0, 1, 2 },
        [PM_TOP_SORT_TOTAL] = { 1, 0, 2 },
        [PM_TOP_SORT_BLOCKS] = { 2, 0, 1 },
    };
    int c;

    for (int i = 0; i < 3; i++) {
        int k = order[sort][i];
        if (ka[k] != kb[k])
            return ka[k] > kb[k] ? -1 : 1;
    }
    if (a->total_blocks != b->total_blocks)
        return a->total_blocks > b->total_blocks ? -1 : 1;
    if ((c = strcmp(a->file, b->file)) != 0)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if ((c = strcmp(a->function, b->function)) != 0)
        return c;
    return (a->stack_id > b->stack_id) - (a->stack_id < b->stack_id);
}

#define SORT_CMP(name, mode) \
    static int name(const void *a, const void *b) { return compare_rows(a, b, mode); }
SORT_CMP(by_self, PM_TOP_SORT_SELF)
SORT_CMP(by_total, PM_TOP_SORT_TOTAL)
SORT_CMP(by_blocks, PM_TOP_SORT_BLOCKS)

static void
top_row_clear(struct pm_top_row *r)
{
    pm_free(r->file);
    pm_free(r->function);
}

int
pm_query_top_ex(struct pm_query *q, const struct pm_top_opts *o, struct pm_top_list *out,
                struct pm_diag *diag)
{
    static int (*const cmp[])(const void *, const void *) = {
        [PM_TOP_SORT_SELF] = by_self, [PM_TOP_SORT_TOTAL] = by_total,
        [PM_TOP_SORT_BLOCKS] = by_blocks,
    };
    struct top t = { .q = q, .db = pm_query_db(q), .o = o };
    size_t kept = 0;
    int rc = 0;

    *out = (struct pm_top_list){ 0 };
    if (pm_grow(&t.frame, &t.cap_frame, 0, sizeof(*t.frame)) < 0) {
        rc = oom(diag);
        goto out;
    }
    t.frame[t.n_frame++] = (struct frame){ .row = NONE };      /* the unknown stack */
    if ((rc = pm_top_load_live(&t, diag)) < 0 || (rc = pm_top_resolve(&t, diag)) < 0 ||
        (rc = pm_top_load_frames(&t, diag)) < 0 || (rc = count(&t, diag)) < 0)
        goto out;
    for (size_t i = 0; i < t.n_row; i++) {
        struct pm_top_row *r = &t.row[i];
        if (r->self_bytes || r->self_blocks || r->total_bytes || r->total_blocks)
            t.row[kept++] = *r;
        else
            top_row_clear(r);
    }
    t.n_row = kept;
    if (kept)
        qsort(t.row, kept, sizeof(*t.row), cmp[o->sort]);
    out->v = pm_steal(&t.row);
    out->n = kept;
    t.n_row = 0;
out:
    sqlite3_finalize(t.stack_by_id);
    for (size_t i = 0; i < t.n_row; i++)
        top_row_clear(&t.row[i]);
    for (size_t i = 0; i < t.n_frame; i++) {
        pm_free(t.frame[i].file);
        pm_free(t.frame[i].function);
    }
    pm_free(t.row);
    pm_nameset_release(&t.row_names);
    pm_free(t.stamp);
    pm_free(t.live);
    pm_free(t.node);
    pm_free(t.frame);
    pm_idmap_release(&t.live_map);
    pm_idmap_release(&t.node_map);
    pm_idmap_release(&t.key_row);
    pm_idmap_release(&t.frame_map);
    return rc;
}

int
pm_query_top(struct pm_query *q, int64_t process, int64_t snapshot, struct pm_top_list *out,
             struct pm_diag *diag)
{
    struct pm_top_point p = { process, snapshot };
    struct pm_top_opts o = { .points = &p, .n_points = 1 };

    return pm_query_top_ex(q, &o, out, diag);
}

void
pm_top_list_clear(struct pm_top_list *l)
{
    for (size_t i = 0; l && i < l->n; i++)
        top_row_clear(&l->v[i]);
    if (l) {
        pm_free(l->v);
        *l = (struct pm_top_list){ 0 };
    }
}

/* ---- the chain of one stack ---- */

int
pm_query_chain(struct pm_query *q, int64_t stack, struct pm_chain *out, struct pm_diag *diag)
{
    static const char sql[] =
        "SELECT s.parent, s.id IS NOT NULL, f.id IS NOT NULL, f.file, f.function, f.line"
        " FROM (SELECT ?1 AS k) LEFT JOIN stack s ON s.id = k LEFT JOIN frame f ON f.id = s.frame";
    sqlite3 *db = pm_query_db(q);
    sqlite3_stmt *s = NULL;
    int64_t *seen = NULL;
    size_t cap = 0, n_seen = 0, cap_seen = 0;
    int rc;

    *out = (struct pm_chain){ 0 };
    if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) != SQLITE_OK)
        return pm_query_fail(q, diag, rc);
    while (stack && out->n < 4096) {
        struct pm_chain_frame *c;
        bool has_stack, has_frame;

        for (size_t i = 0; i < n_seen; i++)
            if (seen[i] == stack)
                goto done;                      /* a parent cycle */
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, stack);
        if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
            rc = pm_query_fail(q, diag, rc);
            goto fail;
        }
        if (pm_grow(&out->v, &cap, out->n, sizeof(*out->v)) < 0 ||
            pm_grow(&seen, &cap_seen, n_seen, sizeof(*seen)) < 0)
            goto oom;
        seen[n_seen++] = stack;
        has_stack = sqlite3_column_int(s, 1);
        has_frame = sqlite3_column_int(s, 2);
        c = &out->v[out->n++];
        *c = (struct pm_chain_frame){
            .file = pm_strdup(has_frame ? (const char *)sqlite3_column_text(s, 3) : "<pymem>"),
            .function = pm_strdup(has_frame ? (const char *)sqlite3_column_text(s, 4)
                                  : has_stack ? "<unknown frame>" : "<unknown stack>"),
            .line = has_frame ? sqlite3_column_int64(s, 5) : 0,
        };
        if (!c->file || !c->function)
            goto oom;
        stack = has_stack ? sqlite3_column_int64(s, 0) : 0;
    }
done:
    for (size_t i = 0; i < out->n / 2; i++) {           /* outermost first */
        struct pm_chain_frame x = out->v[i];
        out->v[i] = out->v[out->n - 1 - i];
        out->v[out->n - 1 - i] = x;
    }
    sqlite3_finalize(s);
    pm_free(seen);
    return 0;
oom:
    rc = oom(diag);
fail:
    sqlite3_finalize(s);
    pm_free(seen);
    pm_chain_clear(out);
    return rc;
}

void
pm_chain_clear(struct pm_chain *c)
{
    for (size_t i = 0; c && i < c->n; i++) {
        pm_free(c->v[i].file);
        pm_free(c->v[i].function);
    }
    if (c) {
        pm_free(c->v);
        *c = (struct pm_chain){ 0 };
    }
}
