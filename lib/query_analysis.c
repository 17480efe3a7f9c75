/* SPDX-License-Identifier: MIT */
/* Queries of the analysis commands (see query_analysis.h), on the connection of query.c
 * (pm_query_db): amounts per key at a snapshot, comparisons, stacks and per-process extremes;
 * growth is in query_growth.c. Values from users are always bound; the only text pasted into
 * SQL is the fixed key expressions of query_analysis_int.h. */
#include "query_analysis.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "query.h"
#include "query_analysis_int.h"

/* Per `by`: the line and stack columns, the stack key column and the GROUP BY terms naming the
 * key. Stacks group by content (one missing from the stack table, by its id). */
static const struct {
    const char *line_stack;
    const char *stack_key;
    const char *group;
} by_sql[] = {
    [PM_ANALYSIS_BY_LINE] = {"coalesce(f.line, 0), 0", "0", "1, 2, 3"},
    [PM_ANALYSIS_BY_FUNCTION] = {"0, 0", "0", "1, 2"},
    [PM_ANALYSIS_BY_STACK] = {"coalesce(f.line, 0), min(l.stack)", "coalesce(s.key, l.stack)",
                              "7"},
};

int
pm_analysis_oom(struct pm_diag *diag)
{
    return pm_diag_set(diag, -ENOMEM, "out of memory");
}

/* ---- keys ---- */

void
pm_analysis_key_clear(struct pm_analysis_key *k)
{
    pm_free(k->file);
    pm_free(k->function);
    *k = (struct pm_analysis_key){0};
}

/* Reads columns 0-3 and 6 of s into k (copies). */
static int
key_read(sqlite3_stmt *s, struct pm_analysis_key *k)
{
    const char *file = (const char *)sqlite3_column_text(s, 0);
    const char *function = (const char *)sqlite3_column_text(s, 1);

    *k = (struct pm_analysis_key){
        .file = pm_strdup(file ? file : ""),
        .function = pm_strdup(function ? function : ""),
        .line = sqlite3_column_int64(s, 2),
        .stack = sqlite3_column_int64(s, 3),
        .stack_key = sqlite3_column_int64(s, 6),
    };
    if (!k->file || !k->function) {
        pm_analysis_key_clear(k);
        return -ENOMEM;
    }
    return 0;
}

int
pm_analysis_key_cmp(const struct pm_analysis_key *a, const struct pm_analysis_key *b)
{
    int c;

    if (a->stack_key != b->stack_key)
        return a->stack_key < b->stack_key ? -1 : 1;
    if ((c = strcmp(a->file, b->file)) != 0)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return strcmp(a->function, b->function);
}

static int
compare_amounts(const void *pa, const void *pb)
{
    return pm_analysis_key_cmp(&((const struct pm_analysis_amount *)pa)->key,
                   &((const struct pm_analysis_amount *)pb)->key);
}

/* ---- live memory per key at a snapshot ---- */

int
pm_analysis_at(struct pm_query *a, int64_t process, int64_t snapshot, enum pm_analysis_by by,
               struct pm_analysis_amounts *out, struct pm_diag *diag)
{
    char sql[1024];
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    int rc;

    *out = (struct pm_analysis_amounts){0};
    snprintf(sql, sizeof(sql),
             "SELECT " KEY_COLUMNS ", %s, sum(l.bytes), sum(l.blocks), %s" KEY_JOIN
             " WHERE l.process = ?1 AND l.first_snapshot <= ?2"
             " AND (l.until_snapshot IS NULL OR l.until_snapshot > ?2) GROUP BY %s",
             by_sql[by].line_stack, by_sql[by].stack_key, by_sql[by].group);
    if ((rc = pm_query_prepare(a, sql, &s, diag)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, process);
    sqlite3_bind_int64(s, 2, snapshot);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct pm_analysis_amount *m;

        if (sqlite3_column_int64(s, 4) == 0 && sqlite3_column_int64(s, 5) == 0)
            continue;
        if (pm_grow(&out->v, &cap, out->n, sizeof(*out->v)) < 0)
            goto nomem;
        m = &out->v[out->n];
        if (key_read(s, &m->key) < 0)
            goto nomem;
        m->bytes = sqlite3_column_int64(s, 4);
        m->blocks = sqlite3_column_int64(s, 5);
        out->n++;
    }
    if (rc != SQLITE_DONE) {
        rc = pm_query_fail(a, diag, rc);
        goto fail;
    }
    sqlite3_finalize(s);
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v), compare_amounts);
    return 0;
nomem:
    rc = pm_analysis_oom(diag);
fail:
    sqlite3_finalize(s);
    pm_analysis_amounts_clear(out);
    return rc;
}

/* ---- comparing two tables ---- */

static int64_t
abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

static int
compare_grown(const void *pa, const void *pb)
{
    const struct pm_analysis_change *a = pa, *b = pb;
    int64_t da = a->after_bytes - a->before_bytes, db = b->after_bytes - b->before_bytes;

    if (da != db)
        return da > db ? -1 : 1;
    return pm_analysis_key_cmp(&a->key, &b->key);
}

static int
compare_changed(const void *pa, const void *pb)
{
    const struct pm_analysis_change *a = pa, *b = pb;
    int64_t da = abs64(a->after_bytes - a->before_bytes);
    int64_t db = abs64(b->after_bytes - b->before_bytes);

    if (da != db)
        return da > db ? -1 : 1;
    if (a->after_bytes - a->before_bytes != b->after_bytes - b->before_bytes)
        return a->after_bytes - a->before_bytes > b->after_bytes - b->before_bytes ? -1 : 1;
    return pm_analysis_key_cmp(&a->key, &b->key);
}

int
pm_analysis_compare(struct pm_analysis_amounts *before, struct pm_analysis_amounts *after,
                    enum pm_analysis_compare_mode mode, struct pm_analysis_changes *out,
                    struct pm_diag *diag)
{
    struct pm_analysis_amounts none = {0};
    size_t i = 0, j = 0, nb, na;
    int rc = 0;

    if (!before)
        before = &none;
    nb = before->n;
    na = after->n;
    *out = (struct pm_analysis_changes){0};
    if (nb + na && !(out->v = pm_calloc(nb + na, sizeof(*out->v)))) {
        rc = pm_analysis_oom(diag);
        goto out;
    }
    while (i < nb || j < na) {
        struct pm_analysis_amount *b = i < nb ? &before->v[i] : NULL;
        struct pm_analysis_amount *f = j < na ? &after->v[j] : NULL;
        int c = !b ? 1 : !f ? -1 : pm_analysis_key_cmp(&b->key, &f->key);
        struct pm_analysis_change ch = {0};

        if (c <= 0) {
            ch.before_bytes = b->bytes;
            ch.before_blocks = b->blocks;
            i++;
        }
        if (c >= 0) {
            ch.after_bytes = f->bytes;
            ch.after_blocks = f->blocks;
            j++;
        }
        /* Takes the key of `after` when there is one; the other is freed with its table. */
        ch.key = c >= 0 ? f->key : b->key;
        if (c >= 0)
            f->key = (struct pm_analysis_key){0};
        else
            b->key = (struct pm_analysis_key){0};
        if (mode == PM_ANALYSIS_GROWN
                ? ch.after_bytes > ch.before_bytes
                : ch.after_bytes != ch.before_bytes || ch.after_blocks != ch.before_blocks)
            out->v[out->n++] = ch;
        else
            pm_analysis_key_clear(&ch.key);
    }
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v),
              mode == PM_ANALYSIS_GROWN ? compare_grown : compare_changed);
out:
    pm_analysis_amounts_clear(before);
    pm_analysis_amounts_clear(after);
    return rc;
}

/* ---- stacks and per-process extremes ---- */

int
pm_analysis_stack(struct pm_query *a, int64_t stack, struct pm_analysis_frames *out,
                  struct pm_diag *diag)
{
    static const char sql[] =
        "WITH RECURSIVE chain(id, lvl) AS (SELECT ?1, 0"
        "  UNION ALL SELECT s.parent, c.lvl + 1 FROM stack s JOIN chain c ON s.id = c.id"
        "  WHERE s.parent <> 0 AND c.lvl < 4095)"
        " SELECT " KEY_COLUMNS ", coalesce(f.line, 0), c.id"
        " FROM chain c LEFT JOIN stack s ON s.id = c.id LEFT JOIN frame f ON f.id = s.frame"
        " ORDER BY c.lvl";
    sqlite3_stmt *s = NULL;
    int64_t *ids = NULL;
    size_t cap = 0, cap_ids = 0;
    int rc;

    *out = (struct pm_analysis_frames){0};
    if ((rc = pm_query_prepare(a, sql, &s, diag)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, stack);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *file = (const char *)sqlite3_column_text(s, 0);
        const char *function = (const char *)sqlite3_column_text(s, 1);
        int64_t id = sqlite3_column_int64(s, 3);
        struct pm_analysis_frame *f;
        bool again = false;

        /* Innermost first; a corrupt file whose parents loop ends at the first repeat. */
        for (size_t i = 0; i < out->n && !again; i++)
            again = ids[i] == id;
        if (again)
            break;
        if (pm_grow(&out->v, &cap, out->n, sizeof(*out->v)) < 0 ||
            pm_grow(&ids, &cap_ids, out->n, sizeof(*ids)) < 0)
            goto nomem;
        ids[out->n] = id;
        f = &out->v[out->n++];
        f->file = pm_strdup(file ? file : "");
        f->function = pm_strdup(function ? function : "");
        f->line = sqlite3_column_int64(s, 2);
        if (!f->file || !f->function)
            goto nomem;
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : pm_query_fail(a, diag, rc);
    for (size_t i = 0; rc == 0 && i < out->n / 2; i++) { /* outermost first */
        struct pm_analysis_frame t = out->v[i];
        out->v[i] = out->v[out->n - 1 - i];
        out->v[out->n - 1 - i] = t;
    }
    goto out;
nomem:
    rc = pm_analysis_oom(diag);
out:
    sqlite3_finalize(s);
    pm_free(ids);
    if (rc < 0)
        pm_analysis_frames_clear(out);
    return rc;
}

int
pm_analysis_stats(struct pm_query *a, int64_t process, struct pm_analysis_stats *out,
                  struct pm_diag *diag)
{
    static const char sql[] =
        "WITH t(time, rss) AS (SELECT time, rss_bytes FROM timeline WHERE process = ?1"
        "  UNION ALL SELECT time, rss_bytes FROM snapshot WHERE process = ?1)"
        " SELECT (SELECT count(*) FROM timeline WHERE process = ?1),"
        "  (SELECT max(time) FROM t),"
        "  (SELECT rss FROM t ORDER BY rss DESC, time LIMIT 1),"
        "  (SELECT time FROM t ORDER BY rss DESC, time LIMIT 1)";
    sqlite3_stmt *s = NULL;
    int rc;

    *out = (struct pm_analysis_stats){0};
    if ((rc = pm_query_prepare(a, sql, &s, diag)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, process);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        out->n_timeline = (size_t)sqlite3_column_int64(s, 0);
        out->last_seen = sqlite3_column_double(s, 1);
        out->rss_peak = sqlite3_column_int64(s, 2);
        out->rss_peak_time = sqlite3_column_double(s, 3);
        rc = 0;
    } else {
        rc = pm_query_fail(a, diag, rc);
    }
    sqlite3_finalize(s);
    return rc;
}

/* ---- release ---- */

void
pm_analysis_amounts_clear(struct pm_analysis_amounts *l)
{
    for (size_t i = 0; l && i < l->n; i++)
        pm_analysis_key_clear(&l->v[i].key);
    if (l) {
        pm_free(l->v);
        *l = (struct pm_analysis_amounts){0};
    }
}

void
pm_analysis_changes_clear(struct pm_analysis_changes *l)
{
    for (size_t i = 0; l && i < l->n; i++)
        pm_analysis_key_clear(&l->v[i].key);
    if (l) {
        pm_free(l->v);
        *l = (struct pm_analysis_changes){0};
    }
}

void
pm_growth_clear(struct pm_growth *g)
{
    for (size_t i = 0; g && i < g->n; i++)
        pm_analysis_key_clear(&g->v[i].key);
    if (g) {
        pm_free(g->v);
        *g = (struct pm_growth){0};
    }
}

void
pm_analysis_frames_clear(struct pm_analysis_frames *l)
{
    for (size_t i = 0; l && i < l->n; i++) {
        pm_free(l->v[i].file);
        pm_free(l->v[i].function);
    }
    if (l) {
        pm_free(l->v);
        *l = (struct pm_analysis_frames){0};
    }
}
