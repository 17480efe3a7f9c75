/* SPDX-License-Identifier: MIT */
/* Reading what the top table needs (see query_top_int.h). The live rows of a snapshot are read
 * through an index on live(process, until_snapshot, ...) when the file has one and the snapshot
 * is in the second half of its process's life (cost: the rows live at the snapshot plus those
 * that changed after it); otherwise through live_by_snapshot (cost: every row that started
 * before the snapshot). Stacks and frames are then read by id when few, or in one scan of their
 * table. */
#include "query_top_int.h"

#include <fnmatch.h>
#include <string.h>

#include "alloc.h"

#define FEW 2048                /* up to this many ids are looked up one by one */

/* The name of an index of live that starts with (process, until_snapshot), or NULL. */
static char *
until_index(struct top *t)
{
    static const char sql[] =
        "SELECT il.name FROM pragma_index_list('live') il WHERE il.partial = 0"
        " AND (SELECT group_concat(name, ',') FROM"
        "  (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno))"
        " LIKE 'process,until_snapshot%' ORDER BY il.name LIMIT 1";
    sqlite3_stmt *s = NULL;
    char *name = NULL;

    if (sqlite3_prepare_v2(t->db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        name = pm_strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return name;
}

/* Adds the rows s yields (stack, bytes, blocks) to t->live, merged by stack. */
static int
add_rows(struct top *t, sqlite3_stmt *s, struct pm_diag *diag)
{
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t stack = sqlite3_column_int64(s, 0);
        int64_t bytes = sqlite3_column_int64(s, 1), blocks = sqlite3_column_int64(s, 2);
        uint32_t i = pm_idmap_get(&t->live_map, stack);

        if (!bytes && !blocks)
            continue;
        if (i == NONE) {
            if (pm_grow(&t->live, &t->cap_live, t->n_live, sizeof(*t->live)) < 0 ||
                pm_idmap_put(&t->live_map, stack, (uint32_t)t->n_live) < 0)
                return oom(diag);
            i = (uint32_t)t->n_live++;
            t->live[i] = (struct live){ .stack = stack };
        }
        t->live[i].bytes += bytes;
        t->live[i].blocks += blocks;
    }
    return rc == SQLITE_DONE ? 0 : pm_query_fail(t->q, diag, rc);
}

/* Adds the live rows of one point to t->live. With an index on live(process, until_snapshot,
 * first_snapshot, ...), the rows live at S are read with no waste: those still open that
 * started by S, then for each distinct until_snapshot > S (one seek finds the next) the rows
 * that started by S, a prefix of that until's run in the index. Without it, every row of the
 * process that started by S is read and its until_snapshot checked. */
static int
load_live(struct top *t, const struct pm_top_point *p, const char *index, struct pm_diag *diag)
{
    static const char *const cols[] = {
        [PM_TOP_KIND_ALL] = "bytes, blocks",
        [PM_TOP_KIND_PYTHON] = "python_bytes, python_blocks",
        [PM_TOP_KIND_RAW] = "raw_bytes, raw_blocks",
        [PM_TOP_KIND_NATIVE] = "native_bytes, native_blocks",
    };
    const char *c = cols[t->o->kind];
    sqlite3_stmt *s[3] = { NULL, NULL, NULL };
    char *sql[3] = { NULL, NULL, NULL };
    int rc = 0, n = index ? 3 : 1;

    if (index) {
        sql[0] = sqlite3_mprintf("SELECT stack, %s FROM live INDEXED BY \"%w\" WHERE process = ?1"
                                 " AND until_snapshot IS NULL AND first_snapshot <= ?2", c, index);
        sql[1] = sqlite3_mprintf("SELECT min(until_snapshot) FROM live INDEXED BY \"%w\""
                                 " WHERE process = ?1 AND until_snapshot > ?2", index);
        sql[2] = sqlite3_mprintf("SELECT stack, %s FROM live INDEXED BY \"%w\" WHERE process = ?1"
                                 " AND until_snapshot = ?3 AND first_snapshot <= ?2", c, index);
    } else {
        sql[0] = sqlite3_mprintf("SELECT stack, %s FROM live WHERE process = ?1"
                                 " AND first_snapshot <= ?2"
                                 " AND (until_snapshot IS NULL OR until_snapshot > ?2)", c);
    }
    for (int i = 0; i < n; i++) {
        if (!sql[i]) {
            rc = oom(diag);
            goto out;
        }
        if ((rc = pm_query_prepare(t->q, sql[i], &s[i], diag)) < 0)
            goto out;
        sqlite3_bind_int64(s[i], 1, p->process);
        sqlite3_bind_int64(s[i], 2, p->snapshot);
    }
    if ((rc = add_rows(t, s[0], diag)) < 0 || !index)
        goto out;
    for (;;) {
        int64_t until;
        if ((rc = sqlite3_step(s[1])) != SQLITE_ROW) {
            rc = pm_query_fail(t->q, diag, rc);
            goto out;
        }
        if (sqlite3_column_type(s[1], 0) == SQLITE_NULL)
            break;
        until = sqlite3_column_int64(s[1], 0);
        sqlite3_reset(s[1]);
        sqlite3_bind_int64(s[1], 2, until);
        sqlite3_reset(s[2]);
        sqlite3_bind_int64(s[2], 3, until);
        if ((rc = add_rows(t, s[2], diag)) < 0)
            goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < 3; i++) {
        sqlite3_finalize(s[i]);
        sqlite3_free(sql[i]);
    }
    return rc;
}

int
pm_top_load_live(struct top *t, struct pm_diag *diag)
{
    char *index = until_index(t);
    int rc = 0;

    for (size_t i = 0; i < t->o->n_points && rc == 0; i++)
        rc = load_live(t, &t->o->points[i], index, diag);
    pm_free(index);
    return rc;
}

static int
add_node(struct top *t, int64_t id, int64_t parent, int64_t frame, int64_t key, uint32_t fidx)
{
    if (pm_grow(&t->node, &t->cap_node, t->n_node, sizeof(*t->node)) < 0 ||
        pm_idmap_put(&t->node_map, id, (uint32_t)t->n_node) < 0)
        return -ENOMEM;
    t->node[t->n_node++] = (struct node){ id, parent, frame, key, fidx, NONE, NONE, false };
    return 0;
}

/* Loads every row of the stack table that is not loaded yet. */
static int
load_all_stacks(struct top *t, struct pm_diag *diag)
{
    sqlite3_stmt *s = NULL;
    int rc;

    t->all_stacks = true;
    if ((rc = pm_query_prepare(t->q, "SELECT id, parent, frame, key FROM stack", &s, diag)) < 0)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        if (pm_idmap_get(&t->node_map, id) == NONE &&
            add_node(t, id, sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
                     sqlite3_column_int64(s, 3), NONE) < 0) {
            sqlite3_finalize(s);
            return oom(diag);
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : pm_query_fail(t->q, diag, rc);
}

/* The node of stack id, read from the file if needed; a stack that is not there becomes an
 * "unknown stack" node without a parent. Sets *out to its index. */
static int
get_node(struct top *t, int64_t id, size_t *lookups, uint32_t *out, struct pm_diag *diag)
{
    uint32_t i = pm_idmap_get(&t->node_map, id);
    int rc;

    if (i == NONE && !t->all_stacks && ++*lookups > FEW) {
        if ((rc = load_all_stacks(t, diag)) < 0)
            return rc;
        i = pm_idmap_get(&t->node_map, id);
    }
    if (i == NONE && !t->all_stacks) {
        sqlite3_stmt *s = t->stack_by_id;
        if (!s && (rc = pm_query_prepare(t->q, "SELECT parent, frame, key FROM stack WHERE id = ?1",
                                &t->stack_by_id, diag)) < 0)
            return rc;
        s = t->stack_by_id;
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, id);
        if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if (add_node(t, id, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                         sqlite3_column_int64(s, 2), NONE))
                return oom(diag);
            i = (uint32_t)(t->n_node - 1);
        } else if (rc != SQLITE_DONE) {
            return pm_query_fail(t->q, diag, rc);
        }
    }
    if (i == NONE) {    /* keyed by its id: unknown stacks stay apart */
        if (add_node(t, id, 0, 0, id, 0) < 0)
            return oom(diag);
        i = (uint32_t)(t->n_node - 1);
    }
    *out = i;
    return 0;
}

int
pm_top_resolve(struct top *t, struct pm_diag *diag)
{
    size_t lookups = 0;
    int rc;

    if (t->n_live > FEW && (rc = load_all_stacks(t, diag)) < 0)
        return rc;
    for (size_t i = 0; i < t->n_live; i++) {
        uint32_t n = NONE, up = NONE;
        if ((rc = get_node(t, t->live[i].stack, &lookups, &n, diag)) < 0)
            return rc;
        t->live[i].node = t->live[i].start = n;
        while (!t->node[n].reached) {
            t->node[n].reached = true;
            if (t->node[n].fidx != 0) {         /* not an unknown stack */
                uint32_t f = pm_idmap_get(&t->frame_map, t->node[n].frame);
                if (f == NONE) {
                    if (pm_grow(&t->frame, &t->cap_frame, t->n_frame, sizeof(*t->frame)) < 0 ||
                        pm_idmap_put(&t->frame_map, t->node[n].frame, (uint32_t)t->n_frame) < 0)
                        return oom(diag);
                    f = (uint32_t)t->n_frame;
                    t->frame[t->n_frame++] = (struct frame){ .row = NONE };
                }
                t->node[n].fidx = f;
            }
            if (!t->node[n].parent)
                break;
            if ((rc = get_node(t, t->node[n].parent, &lookups, &up, diag)) < 0)
                return rc;
            t->node[n].up = up;                 /* t->node may have moved: no pointers */
            n = up;
        }
    }
    return 0;
}

static int
read_frame(struct top *t, sqlite3_stmt *s, uint32_t f)
{
    struct frame *fr = &t->frame[f];
    const char *file = (const char *)sqlite3_column_text(s, 1);
    const char *function = (const char *)sqlite3_column_text(s, 2);

    if (fr->loaded)
        return 0;
    fr->file = pm_strdup(file ? file : "");
    fr->function = pm_strdup(function ? function : "");
    fr->line = sqlite3_column_int64(s, 3);
    fr->loaded = true;
    return fr->file && fr->function ? 0 : -ENOMEM;
}

/* By id when few, else in one scan. */
int
pm_top_load_frames(struct top *t, struct pm_diag *diag)
{
    bool few = t->n_frame <= FEW;
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = pm_query_prepare(t->q, few ? "SELECT id, file, function, line FROM frame WHERE id = ?1"
                             : "SELECT id, file, function, line FROM frame", &s, diag)) < 0)
        return rc;
    for (size_t k = few ? 0 : t->frame_map.cap - 1; k < t->frame_map.cap; k++) {
        if (few) {
            if (t->frame_map.slot[k].v == PM_IDMAP_NONE)
                continue;
            sqlite3_reset(s);
            sqlite3_bind_int64(s, 1, t->frame_map.slot[k].id);
        }
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            uint32_t f = pm_idmap_get(&t->frame_map, sqlite3_column_int64(s, 0));
            if (f != NONE && read_frame(t, s, f) < 0) {
                sqlite3_finalize(s);
                return oom(diag);
            }
        }
        if (rc != SQLITE_DONE) {
            sqlite3_finalize(s);
            return pm_query_fail(t->q, diag, rc);
        }
    }
    sqlite3_finalize(s);
    for (size_t f = 0; f < t->n_frame; f++) {
        struct frame *fr = &t->frame[f];
        if (!fr->loaded) {
            fr->file = pm_strdup("<pymem>");
            fr->function = pm_strdup(f == 0 ? "<unknown stack>" : "<unknown frame>");
            fr->line = 0;
            if (!fr->file || !fr->function)
                return oom(diag);
        }
        fr->user = t->o->focus ? fnmatch(t->o->focus, fr->file, 0) == 0
                               : !pm_top_is_library_file(fr->file);
    }
    return 0;
}

bool
pm_top_is_library_file(const char *file)
{
    return strncmp(file, "<frozen ", 8) == 0 || strcmp(file, "<pymem>") == 0 ||
           strstr(file, "/lib/python3") || strstr(file, "/site-packages/") ||
           strstr(file, "/dist-packages/");
}
