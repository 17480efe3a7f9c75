/* SPDX-License-Identifier: MIT */
/* The shared parts of the visual commands: the first snapshot of a kind, and the call tree
 * merged from stack samples (see visual.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "out.h"
#include "visual.h"

int
pm_snap_first(struct pm_target *t, const char *kind, struct pm_snapshot_info *out, bool *found)
{
    struct pm_snapshot_list list;
    struct pm_diag diag = { 0 };
    int rc = PM_EXIT_OK;

    *out = (struct pm_snapshot_info){ 0 };
    *found = false;
    if (pm_query_snapshots(t->q, t->proc.id, &list, &diag) < 0) {
        pm_error("%s", diag.msg);
        return PM_EXIT_DATA;
    }
    for (size_t i = 0; i < list.n; i++) {
        if (strcmp(list.v[i].kind, kind) == 0) {
            *out = list.v[i];
            list.v[i] = (struct pm_snapshot_info){ 0 };     /* moved out */
            *found = true;
            break;
        }
    }
    pm_snapshot_list_clear(&list);
    return rc;
}

int
pm_samples_load(struct pm_target *t, int64_t snapshot, struct pm_sample_list *out)
{
    struct pm_diag diag = { 0 };

    if (pm_query_samples(t->q, t->proc.id, snapshot, 0, out, &diag) == 0)
        return PM_EXIT_OK;
    pm_error("%s", diag.msg[0] ? diag.msg : pm_strerror(diag.code));
    return PM_EXIT_DATA;
}

/* ---- call tree ---- */

static uint64_t
edge_hash(uint32_t parent, uint32_t frame)
{
    uint64_t h = ((uint64_t)parent << 32 | frame) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static int
grow_slots(struct pm_ctree *t)
{
    size_t n_slot = t->n_slot ? 2 * t->n_slot : 1024;
    uint32_t *slot = pm_calloc(n_slot, sizeof(*slot));

    if (!slot)
        return -ENOMEM;
    for (size_t i = 1; i < t->n; i++) {        /* the root is never looked up */
        size_t j = edge_hash(t->v[i].parent, t->v[i].frame) & (n_slot - 1);
        while (slot[j])
            j = (j + 1) & (n_slot - 1);
        slot[j] = (uint32_t)i + 1;
    }
    pm_free(t->slot);
    t->slot = slot;
    t->n_slot = n_slot;
    return 0;
}

int
pm_ctree_init(struct pm_ctree *t, const struct pm_sample_frame *frames)
{
    *t = (struct pm_ctree){ .frames = frames };
    t->cap = 256;
    t->v = pm_malloc(t->cap * sizeof(*t->v));
    if (!t->v)
        return -ENOMEM;
    t->v[0] = (struct pm_ctree_node){ .frame = PM_CTREE_NOFRAME, .parent = PM_CTREE_NOFRAME };
    t->n = 1;
    return grow_slots(t);
}

/* The child of `parent` for `frame`, created if needed; UINT32_MAX if out of memory. */
static uint32_t
child(struct pm_ctree *t, uint32_t parent, uint32_t frame)
{
    size_t j;

    if (2 * (t->n + 1) >= t->n_slot && grow_slots(t) < 0)
        return UINT32_MAX;
    for (j = edge_hash(parent, frame) & (t->n_slot - 1); t->slot[j];
         j = (j + 1) & (t->n_slot - 1)) {
        const struct pm_ctree_node *n = &t->v[t->slot[j] - 1];
        if (n->parent == parent && n->frame == frame)
            return t->slot[j] - 1;
    }
    if (t->n == t->cap) {
        struct pm_ctree_node *v = t->n < UINT32_MAX / 4
                                      ? pm_realloc(t->v, 2 * t->cap * sizeof(*v)) : NULL;
        if (!v)
            return UINT32_MAX;
        t->v = v;
        t->cap *= 2;
    }
    t->v[t->n] = (struct pm_ctree_node){ .frame = frame, .parent = parent };
    t->slot[j] = (uint32_t)t->n + 1;
    return (uint32_t)t->n++;
}

int
pm_ctree_add(struct pm_ctree *t, const uint32_t *frames, uint32_t n, int64_t bytes,
             int64_t blocks)
{
    uint32_t node = PM_CTREE_ROOT;

    t->v[node].bytes += bytes;
    t->v[node].blocks += blocks;
    for (uint32_t i = 0; i < n; i++) {
        if ((node = child(t, node, frames[i])) == UINT32_MAX)
            return -ENOMEM;
        t->v[node].bytes += bytes;
        t->v[node].blocks += blocks;
    }
    t->v[node].self_bytes += bytes;
    t->v[node].self_blocks += blocks;
    return 0;
}

int
pm_ctree_add_samples(struct pm_ctree *t, const struct pm_sample_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct pm_sample *s = &l->v[i];
        if ((s->bytes || s->blocks) && pm_ctree_add(t, s->frames, s->n_frames, s->bytes,
                                                    s->blocks) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int
by_stack(const void *pa, const void *pb)
{
    const struct pm_sample *a = *(const struct pm_sample *const *)pa;
    const struct pm_sample *b = *(const struct pm_sample *const *)pb;

    return (a->stack > b->stack) - (a->stack < b->stack);
}

int
pm_ctree_add_growth(struct pm_ctree *t, const struct pm_sample_list *now,
                    const struct pm_sample_list *base)
{
    const struct pm_sample **sorted = pm_malloc((base->n + 1) * sizeof(*sorted));
    int rc = 0;

    if (!sorted)
        return -ENOMEM;
    for (size_t i = 0; i < base->n; i++)
        sorted[i] = &base->v[i];
    qsort(sorted, base->n, sizeof(*sorted), by_stack);
    for (size_t i = 0; i < now->n && rc == 0; i++) {
        const struct pm_sample *s = &now->v[i], *key = s, **hit;
        int64_t bytes = s->bytes, blocks = s->blocks;

        hit = bsearch(&key, sorted, base->n, sizeof(*sorted), by_stack);
        if (hit) {
            bytes -= (*hit)->bytes;
            blocks -= (*hit)->blocks;
        }
        if (bytes > 0)
            rc = pm_ctree_add(t, s->frames, s->n_frames, bytes, blocks);
    }
    pm_free(sorted);
    return rc;
}

static const struct pm_ctree *sort_tree;       /* qsort has no context argument in C11 */

static int
strcmp_null(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int
by_size(const void *pa, const void *pb)
{
    const struct pm_ctree_node *a = &sort_tree->v[*(const uint32_t *)pa];
    const struct pm_ctree_node *b = &sort_tree->v[*(const uint32_t *)pb];
    const struct pm_sample_frame *fa = &sort_tree->frames[a->frame];
    const struct pm_sample_frame *fb = &sort_tree->frames[b->frame];
    int c;

    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    if (a->blocks != b->blocks)
        return a->blocks > b->blocks ? -1 : 1;
    if ((c = strcmp_null(fa->function, fb->function)) || (c = strcmp_null(fa->file, fb->file)))
        return c;
    if (fa->line != fb->line)
        return fa->line < fb->line ? -1 : 1;
    return (fa->id > fb->id) - (fa->id < fb->id);
}

int
pm_ctree_finish(struct pm_ctree *t)
{
    uint32_t *fill;

    pm_free(t->kid);
    t->kid = pm_malloc(t->n * sizeof(*t->kid));
    fill = pm_calloc(t->n, sizeof(*fill));
    if (!t->kid || !fill) {
        pm_free(fill);
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->n; i++)
        t->v[i].n_kids = 0;
    for (size_t i = 1; i < t->n; i++)
        t->v[t->v[i].parent].n_kids++;
    for (size_t i = 0, at = 0; i < t->n; i++) {
        t->v[i].kids = (uint32_t)at;
        at += t->v[i].n_kids;
    }
    for (size_t i = 1; i < t->n; i++) {
        struct pm_ctree_node *p = &t->v[t->v[i].parent];
        t->kid[p->kids + fill[t->v[i].parent]++] = (uint32_t)i;
    }
    pm_free(fill);
    sort_tree = t;
    for (size_t i = 0; i < t->n; i++)
        qsort(t->kid + t->v[i].kids, t->v[i].n_kids, sizeof(*t->kid), by_size);
    sort_tree = NULL;
    return 0;
}

void
pm_ctree_release(struct pm_ctree *t)
{
    if (!t)
        return;
    pm_free(t->v);
    pm_free(t->kid);
    pm_free(t->slot);
    *t = (struct pm_ctree){ 0 };
}
