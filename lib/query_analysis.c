/* SPDX-License-Identifier: MIT */
/* Queries of the analysis commands (see query_analysis.h), on the connection of query.c
 * (pm_query_db). Values from users are always bound; the only text pasted into SQL is the fixed
 * key expressions below. */
#include "query_analysis.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "query.h"

/* The innermost frame of a live row's stack, with the synthetic names top uses for rows missing
 * from the file. Result columns 1-4: file, function, line, stack. */
#define KEY_COLUMNS                                                                                \
    "CASE WHEN f.id IS NULL THEN '<pymem>' ELSE f.file END,"                                       \
    " CASE WHEN s.id IS NULL THEN '<unknown stack>' WHEN f.id IS NULL THEN '<unknown frame>'"      \
    "  ELSE f.function END"
#define KEY_JOIN                                                                                   \
    " FROM live l LEFT JOIN stack s ON s.id = l.stack LEFT JOIN frame f ON f.id = s.frame"

/* Per `by`: the line and stack columns, and the GROUP BY terms naming the key. */
static const struct {
    const char *line_stack;
    const char *group;
} by_sql[] = {
    [PM_ANALYSIS_BY_LINE] = {"coalesce(f.line, 0), 0", "1, 2, 3"},
    [PM_ANALYSIS_BY_FUNCTION] = {"0, 0", "1, 2"},
    [PM_ANALYSIS_BY_STACK] = {"coalesce(f.line, 0), l.stack", "4"},
};

static int
prepare(struct pm_query *a, const char *sql, sqlite3_stmt **s, struct pm_diag *diag)
{
    int rc = sqlite3_prepare_v2(pm_query_db(a), sql, -1, s, NULL);

    return rc == SQLITE_OK ? 0 : pm_query_fail(a, diag, rc);
}

static int
oom(struct pm_diag *diag)
{
    return pm_diag_set(diag, -ENOMEM, "out of memory");
}

/* Grows a vector of `size`-byte elements so that it holds at least n + 1. */
static int
reserve(void *vp, size_t *cap, size_t n, size_t size)
{
    void **v = vp;
    size_t ncap;
    void *nv;

    if (n < *cap)
        return 0;
    ncap = *cap ? 2 * *cap : 16;
    nv = pm_realloc(*v, ncap * size);
    if (!nv)
        return -ENOMEM;
    memset((char *)nv + *cap * size, 0, (ncap - *cap) * size);
    *v = nv;
    *cap = ncap;
    return 0;
}

/* ---- keys ---- */

static void
key_clear(struct pm_analysis_key *k)
{
    pm_free(k->file);
    pm_free(k->function);
    *k = (struct pm_analysis_key){0};
}

/* Reads columns 0-3 of s into k (copies). */
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
    };
    if (!k->file || !k->function) {
        key_clear(k);
        return -ENOMEM;
    }
    return 0;
}

/* Whether columns 0-3 of s name the key k. */
static bool
key_same(sqlite3_stmt *s, const struct pm_analysis_key *k)
{
    const char *file = (const char *)sqlite3_column_text(s, 0);
    const char *function = (const char *)sqlite3_column_text(s, 1);

    return k->file && sqlite3_column_int64(s, 3) == k->stack &&
           sqlite3_column_int64(s, 2) == k->line && strcmp(file ? file : "", k->file) == 0 &&
           strcmp(function ? function : "", k->function) == 0;
}

static int
key_cmp(const struct pm_analysis_key *a, const struct pm_analysis_key *b)
{
    int c;

    if (a->stack != b->stack)
        return a->stack < b->stack ? -1 : 1;
    if ((c = strcmp(a->file, b->file)) != 0)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return strcmp(a->function, b->function);
}

static int
compare_amounts(const void *pa, const void *pb)
{
    return key_cmp(&((const struct pm_analysis_amount *)pa)->key,
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
             "SELECT " KEY_COLUMNS ", %s, sum(l.bytes), sum(l.blocks)" KEY_JOIN
             " WHERE l.process = ?1 AND l.first_snapshot <= ?2"
             " AND (l.until_snapshot IS NULL OR l.until_snapshot > ?2) GROUP BY %s",
             by_sql[by].line_stack, by_sql[by].group);
    if ((rc = prepare(a, sql, &s, diag)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, process);
    sqlite3_bind_int64(s, 2, snapshot);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct pm_analysis_amount *m;

        if (sqlite3_column_int64(s, 4) == 0 && sqlite3_column_int64(s, 5) == 0)
            continue;
        if (reserve(&out->v, &cap, out->n, sizeof(*out->v)) < 0)
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
    rc = oom(diag);
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
    return key_cmp(&a->key, &b->key);
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
    return key_cmp(&a->key, &b->key);
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
        rc = oom(diag);
        goto out;
    }
    while (i < nb || j < na) {
        struct pm_analysis_amount *b = i < nb ? &before->v[i] : NULL;
        struct pm_analysis_amount *f = j < na ? &after->v[j] : NULL;
        int c = !b ? 1 : !f ? -1 : key_cmp(&b->key, &f->key);
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
            key_clear(&ch.key);
    }
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v),
              mode == PM_ANALYSIS_GROWN ? compare_grown : compare_changed);
out:
    pm_analysis_amounts_clear(before);
    pm_analysis_amounts_clear(after);
    return rc;
}

/* ---- growth ---- */

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
    if ((rc = prepare(a, sql, &s, diag)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, process);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(s, 2);

        if (*has_final)
            break; /* periodic snapshots after the final one: not points */
        if (reserve(&p->id, &p->cap_id, p->n, sizeof(*p->id)) < 0 ||
            reserve(&p->time, &p->cap_time, p->n, sizeof(*p->time)) < 0) {
            sqlite3_finalize(s);
            return oom(diag);
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

static int
compare_growth(const void *pa, const void *pb)
{
    const struct pm_growth_row *a = pa, *b = pb;

    if (a->slope != b->slope)
        return a->slope > b->slope ? -1 : 1;
    return key_cmp(&a->key, &b->key);
}

/* Ends the series of key k: fits it, lists k in g if it passes (taking the key), resets the
 * deltas. */
static int
finish_key(struct pm_growth *g, size_t *cap, const struct points *p, struct series *sr,
           struct pm_analysis_key *k, double t_mean, double sxx)
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
        if (reserve(&g->v, cap, g->n, sizeof(*g->v)) < 0) {
            rc = -ENOMEM;
        } else {
            g->v[g->n++] = (struct pm_growth_row){
                .key = *k,
                .slope = slope,
                .steadiness = (double)grew / (double)(n - 1),
                .fit = fit > 1 ? 1 : fit,
                .first_bytes = sr->bytes[0],
                .bytes = sr->bytes[n - 1],
                .blocks = sr->blocks[n - 1],
            };
            *k = (struct pm_analysis_key){0};
        }
    }
    key_clear(k);
    memset(sr->bytes, 0, (n + 1) * sizeof(*sr->bytes));
    memset(sr->blocks, 0, (n + 1) * sizeof(*sr->blocks));
    return rc;
}

int
pm_analysis_growth(struct pm_query *a, int64_t process, enum pm_analysis_by by,
                   struct pm_growth *out, struct pm_diag *diag)
{
    struct points p = {0};
    struct series sr = {0};
    struct pm_analysis_key k = {0};
    sqlite3_stmt *s = NULL;
    double t_mean = 0, sxx = 0;
    size_t cap = 0;
    char sql[1024];
    int rc;

    *out = (struct pm_growth){0};
    if ((rc = load_points(a, process, &p, &out->has_final, diag)) < 0)
        goto out;
    out->n_points = p.n;
    if (p.n) {
        out->first_snapshot = p.id[0];
        out->last_snapshot = p.id[p.n - 1];
        out->first_time = p.time[0];
        out->last_time = p.time[p.n - 1];
    }
    if (p.n < PM_GROWTH_MIN_POINTS) {
        rc = pm_diag_set(diag, -PM_ENOTFOUND,
                         "process %lld has %zu periodic and final"
                         " snapshots: growth needs %d",
                         (long long)process, p.n, PM_GROWTH_MIN_POINTS);
        goto out;
    }
    for (size_t i = 0; i < p.n; i++)
        t_mean += p.time[i];
    t_mean /= (double)p.n;
    for (size_t i = 0; i < p.n; i++)
        sxx += (p.time[i] - t_mean) * (p.time[i] - t_mean);
    sr.bytes = pm_calloc(p.n + 1, sizeof(*sr.bytes));
    sr.blocks = pm_calloc(p.n + 1, sizeof(*sr.blocks));
    if (!sr.bytes || !sr.blocks) {
        rc = oom(diag);
        goto out;
    }
    /* Each live row counts for the points p with first_snapshot <= p < until_snapshot: a range
     * of the sorted points, so it adds one delta where the range starts and one where it ends. */
    snprintf(sql, sizeof(sql),
             "SELECT " KEY_COLUMNS ", %s, l.first_snapshot, l.until_snapshot, sum(l.bytes),"
             " sum(l.blocks)" KEY_JOIN " WHERE l.process = ?1 AND l.first_snapshot <= ?3"
             " AND (l.until_snapshot IS NULL OR l.until_snapshot > ?2)"
             " GROUP BY %s, 5, 6 ORDER BY %s",
             by_sql[by].line_stack, by_sql[by].group, by_sql[by].group);
    if ((rc = prepare(a, sql, &s, diag)) < 0)
        goto out;
    sqlite3_bind_int64(s, 1, process);
    sqlite3_bind_int64(s, 2, p.id[0]);
    sqlite3_bind_int64(s, 3, p.id[p.n - 1]);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t lo = lower_bound(&p, sqlite3_column_int64(s, 4));
        size_t hi = sqlite3_column_type(s, 5) == SQLITE_NULL
                        ? p.n
                        : lower_bound(&p, sqlite3_column_int64(s, 5));

        if (!key_same(s, &k)) {
            if ((k.file && finish_key(out, &cap, &p, &sr, &k, t_mean, sxx) < 0) ||
                key_read(s, &k) < 0) {
                rc = oom(diag);
                goto out;
            }
        }
        if (lo < hi) {
            sr.bytes[lo] += sqlite3_column_int64(s, 6);
            sr.bytes[hi] -= sqlite3_column_int64(s, 6);
            sr.blocks[lo] += sqlite3_column_int64(s, 7);
            sr.blocks[hi] -= sqlite3_column_int64(s, 7);
        }
    }
    if (rc != SQLITE_DONE) {
        rc = pm_query_fail(a, diag, rc);
        goto out;
    }
    if (k.file && finish_key(out, &cap, &p, &sr, &k, t_mean, sxx) < 0) {
        rc = oom(diag);
        goto out;
    }
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v), compare_growth);
    rc = 0;
out:
    sqlite3_finalize(s);
    key_clear(&k);
    pm_free(sr.bytes);
    pm_free(sr.blocks);
    pm_free(p.id);
    pm_free(p.time);
    if (rc < 0) {
        size_t n_points = out->n_points;
        pm_growth_clear(out);
        out->n_points = n_points;
    }
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
    if ((rc = prepare(a, sql, &s, diag)) < 0)
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
        if (reserve(&out->v, &cap, out->n, sizeof(*out->v)) < 0 ||
            reserve(&ids, &cap_ids, out->n, sizeof(*ids)) < 0)
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
    rc = oom(diag);
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
    if ((rc = prepare(a, sql, &s, diag)) < 0)
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
        key_clear(&l->v[i].key);
    if (l) {
        pm_free(l->v);
        *l = (struct pm_analysis_amounts){0};
    }
}

void
pm_analysis_changes_clear(struct pm_analysis_changes *l)
{
    for (size_t i = 0; l && i < l->n; i++)
        key_clear(&l->v[i].key);
    if (l) {
        pm_free(l->v);
        *l = (struct pm_analysis_changes){0};
    }
}

void
pm_growth_clear(struct pm_growth *g)
{
    for (size_t i = 0; g && i < g->n; i++)
        key_clear(&g->v[i].key);
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
