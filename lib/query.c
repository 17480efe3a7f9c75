/* SPDX-License-Identifier: MIT */
/* Read-only queries over a profile file (see query.h). Values from users are always bound,
 * never pasted into SQL text. */
#include "query.h"

#include <ctype.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "schema.h"

struct pm_query {
    sqlite3 *db;
    char *path;
};

/* The first table or view a version-1 profile must have that this file lacks, if any. */
static const char missing_table_sql[] =
    "WITH t(name) AS (VALUES ('process'), ('frame'), ('stack'), ('snapshot'), ('live'),"
    " ('snapshot_live'))"
    " SELECT name FROM t WHERE name NOT IN"
    " (SELECT name FROM sqlite_master WHERE type IN ('table', 'view')) LIMIT 1";

/* Turns a failed SQLite call into a one-line message. Returns the negative code. */
static int
fail_sql(struct pm_query *q, struct pm_diag *diag, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
        return pm_diag_set(diag, -PM_ESQLITE, "'%s' is not an SQLite database", q->path);
    case SQLITE_CORRUPT:
        return pm_diag_set(diag, -PM_ESQLITE, "'%s' is corrupt or truncated", q->path);
    case SQLITE_NOMEM:
        return pm_diag_set(diag, -ENOMEM, "out of memory");
    default:
        return pm_diag_set(diag, -PM_ESQLITE, "cannot read '%s': %s", q->path,
                           sqlite3_errmsg(q->db));
    }
}

struct sqlite3 *
pm_query_db(struct pm_query *q)
{
    return q->db;
}

int
pm_query_fail(struct pm_query *q, struct pm_diag *diag, int sqlite_rc)
{
    return fail_sql(q, diag, sqlite_rc);
}

int
pm_query_prepare(struct pm_query *q, const char *sql, sqlite3_stmt **s, struct pm_diag *diag)
{
    int rc = sqlite3_prepare_v2(q->db, sql, -1, s, NULL);

    return rc == SQLITE_OK ? 0 : fail_sql(q, diag, rc);
}

/* A copy of a text column, or NULL for SQL NULL. Sets *oom when the copy fails. */
static char *
column_dup(sqlite3_stmt *s, int col, bool *oom)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    char *copy;

    if (!t)
        return NULL;
    copy = pm_strdup((const char *)t);
    if (!copy)
        *oom = true;
    return copy;
}

int
pm_query_open(const char *path, struct pm_query **out, struct pm_diag *diag)
{
    struct pm_query *q = NULL;
    sqlite3_stmt *s = NULL;
    struct stat st;
    int rc, version = -1, err_no = 0;
    char err[128];

    *out = NULL;
    if (stat(path, &st) < 0)
        err_no = errno;
    else if (S_ISDIR(st.st_mode))
        err_no = EISDIR;
    if (err_no) {
        rc = -err_no;
        snprintf(err, sizeof(err), "%s", strerror(err_no));
        err[0] = (char)tolower((unsigned char)err[0]);
        return pm_diag_set(diag, rc, "cannot open '%s': %s", path, err);
    }
    q = pm_calloc(1, sizeof(*q));
    if (!q || !(q->path = pm_strdup(path))) {
        rc = pm_diag_set(diag, -ENOMEM, "out of memory");
        goto fail;
    }
    /* READONLY: never creates the file, never writes to it (a WAL file may still get its
     * -shm index created next to it, as for any reader). */
    rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = q->db ? fail_sql(q, diag, rc) : pm_diag_set(diag, -ENOMEM, "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(q->db, 5000);      /* the writer may be checkpointing */
    /* One read transaction for the whole session: every query sees the same state. */
    if ((rc = sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
        goto fail_rc;
    if ((rc = pm_query_prepare(q, "PRAGMA user_version", &s, diag)) < 0)
        goto fail;
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        goto fail_rc;
    version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    s = NULL;
    if (version > PM_SCHEMA_VERSION) {
        rc = pm_diag_set(diag, -PM_ESCHEMA,
                         "'%s' has a newer schema (version %d); this pymem-view reads version %d",
                         path, version, PM_SCHEMA_VERSION);
        goto fail;
    }
    if (version < 1) {
        rc = pm_diag_set(diag, -PM_ESCHEMA, "'%s' is not a pymem profile", path);
        goto fail;
    }
    if (version < PM_SCHEMA_VERSION) {
        rc = pm_diag_set(diag, -PM_ESCHEMA,
                         "'%s' has an older schema (version %d); this pymem-view reads version %d",
                         path, version, PM_SCHEMA_VERSION);
        goto fail;
    }
    if ((rc = pm_query_prepare(q, missing_table_sql, &s, diag)) < 0)
        goto fail;
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        rc = pm_diag_set(diag, -PM_ESCHEMA, "'%s' is not a pymem profile (no table '%s')", path,
                         (const char *)sqlite3_column_text(s, 0));
        goto fail;
    }
    if (rc != SQLITE_DONE)
        goto fail_rc;
    sqlite3_finalize(s);
    *out = pm_steal(&q);
    return 0;
fail_rc:
    rc = fail_sql(q, diag, rc);
fail:
    sqlite3_finalize(s);
    pm_query_close(q);
    return rc;
}

void
pm_query_close(struct pm_query *q)
{
    if (!q)
        return;
    if (q->db) {
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(q->db);
    }
    pm_free(q->path);
    pm_free(q);
}

/* Reads every row of s with read() into a growing array of `size`-byte elements at *vp, counted
 * by *n. On failure the elements read so far stay there for the caller to clear. */
static int
collect(struct pm_query *q, sqlite3_stmt *s, void *vp, size_t *n, size_t size,
        int (*read)(sqlite3_stmt *, void *), struct pm_diag *diag)
{
    char **v = vp;
    size_t cap = 0;
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (pm_grow(v, &cap, *n, size) < 0 || read(s, *v + *n * size) < 0)
            return pm_diag_set(diag, -ENOMEM, "out of memory");
        (*n)++;
    }
    return rc == SQLITE_DONE ? 0 : fail_sql(q, diag, rc);
}

/* ---- processes ---- */

#define PROCESS_COLUMNS \
    "id, run, parent, pid, ppid, argv, executable, python_version, mode, start_time, end_time, " \
    "end_reason, exit_status"

static int
read_process(sqlite3_stmt *s, void *out)
{
    struct pm_process_info *p = out;
    bool oom = false;

    *p = (struct pm_process_info){
        .id = sqlite3_column_int64(s, 0),
        .run = sqlite3_column_int64(s, 1),
        .parent = sqlite3_column_int64(s, 2),
        .pid = sqlite3_column_int64(s, 3),
        .ppid = sqlite3_column_int64(s, 4),
        .argv_json = column_dup(s, 5, &oom),
        .executable = column_dup(s, 6, &oom),
        .python_version = column_dup(s, 7, &oom),
        .mode = column_dup(s, 8, &oom),
        .start_time = sqlite3_column_double(s, 9),
        .end_time = sqlite3_column_double(s, 10),
        .has_end_time = sqlite3_column_type(s, 10) != SQLITE_NULL,
        .end_reason = column_dup(s, 11, &oom),
        .exit_status = sqlite3_column_int64(s, 12),
        .has_exit_status = sqlite3_column_type(s, 12) != SQLITE_NULL,
    };
    if (oom) {
        pm_process_info_clear(p);
        return -ENOMEM;
    }
    return 0;
}

int
pm_query_processes(struct pm_query *q, struct pm_process_list *out, struct pm_diag *diag)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *out = (struct pm_process_list){ 0 };
    if ((rc = pm_query_prepare(q, "SELECT " PROCESS_COLUMNS " FROM process ORDER BY run, id", &s,
                      diag)) == 0)
        rc = collect(q, s, &out->v, &out->n, sizeof(*out->v), read_process, diag);
    sqlite3_finalize(s);
    if (rc < 0)
        pm_process_list_clear(out);
    return rc;
}

int
pm_query_latest_run(struct pm_query *q, int64_t *run, struct pm_diag *diag)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = pm_query_prepare(q, "SELECT max(run) FROM process", &s, diag)) < 0)
        return rc;
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        rc = fail_sql(q, diag, rc);
    else if (sqlite3_column_type(s, 0) == SQLITE_NULL)
        rc = pm_diag_set(diag, -PM_ENOTFOUND, "'%s' holds no run yet", q->path);
    else {
        *run = sqlite3_column_int64(s, 0);
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

int
pm_query_process(struct pm_query *q, int64_t run, int64_t pid, struct pm_process_info *out,
                 struct pm_diag *diag)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *out = (struct pm_process_info){ 0 };
    rc = pm_query_prepare(q, pid < 0 ? "SELECT " PROCESS_COLUMNS " FROM process WHERE id = ?1"
                            : "SELECT " PROCESS_COLUMNS " FROM process WHERE run = ?1 AND pid = ?2"
                              " ORDER BY id DESC LIMIT 1", &s, diag);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, run);
    if (pid >= 0)
        sqlite3_bind_int64(s, 2, pid);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = read_process(s, out) < 0 ? pm_diag_set(diag, -ENOMEM, "out of memory") : 0;
    else if (rc != SQLITE_DONE)
        rc = fail_sql(q, diag, rc);
    else if (pid < 0)
        rc = pm_diag_set(diag, -PM_ENOTFOUND, "run %lld has no root process", (long long)run);
    else
        rc = pm_diag_set(diag, -PM_ENOTFOUND, "no process with pid %lld in run %lld",
                         (long long)pid, (long long)run);
    sqlite3_finalize(s);
    return rc;
}

/* ---- snapshots ---- */

#define SNAPSHOT_COLUMNS \
    "id, process, kind, label, time, heap_bytes, heap_blocks, rss_bytes, tool_bytes"

static int
read_snapshot(sqlite3_stmt *s, void *out)
{
    struct pm_snapshot_info *p = out;
    bool oom = false;

    *p = (struct pm_snapshot_info){
        .id = sqlite3_column_int64(s, 0),
        .process = sqlite3_column_int64(s, 1),
        .kind = column_dup(s, 2, &oom),
        .label = column_dup(s, 3, &oom),
        .time = sqlite3_column_double(s, 4),
        .heap_bytes = sqlite3_column_int64(s, 5),
        .heap_blocks = sqlite3_column_int64(s, 6),
        .rss_bytes = sqlite3_column_int64(s, 7),
        .tool_bytes = sqlite3_column_int64(s, 8),
    };
    if (!oom && !p->kind && !(p->kind = pm_strdup("")))
        oom = true;
    if (oom) {
        pm_snapshot_info_clear(p);
        return -ENOMEM;
    }
    return 0;
}

int
pm_query_snapshots(struct pm_query *q, int64_t process, struct pm_snapshot_list *out,
                   struct pm_diag *diag)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *out = (struct pm_snapshot_list){ 0 };
    if ((rc = pm_query_prepare(q, "SELECT " SNAPSHOT_COLUMNS " FROM snapshot WHERE process = ?1"
                         " ORDER BY id", &s, diag)) == 0) {
        sqlite3_bind_int64(s, 1, process);
        rc = collect(q, s, &out->v, &out->n, sizeof(*out->v), read_snapshot, diag);
    }
    sqlite3_finalize(s);
    if (rc < 0)
        pm_snapshot_list_clear(out);
    return rc;
}

/* Runs a one-row snapshot query whose ?1 is the process and ?2 the id or the kind. */
static int
one_snapshot(struct pm_query *q, const char *sql, int64_t process, int64_t id, const char *kind,
             struct pm_snapshot_info *out, struct pm_diag *diag)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *out = (struct pm_snapshot_info){ 0 };
    if ((rc = pm_query_prepare(q, sql, &s, diag)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, process);
    if (kind)
        sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 2, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = read_snapshot(s, out) < 0 ? pm_diag_set(diag, -ENOMEM, "out of memory") : 0;
    else if (rc != SQLITE_DONE)
        rc = fail_sql(q, diag, rc);
    else if (kind)
        rc = pm_diag_set(diag, -PM_ENOTFOUND, "process %lld has no '%s' snapshot",
                         (long long)process, kind);
    else
        rc = pm_diag_set(diag, -PM_ENOTFOUND, "process %lld has no snapshot %lld",
                         (long long)process, (long long)id);
    sqlite3_finalize(s);
    return rc;
}

int
pm_query_snapshot(struct pm_query *q, int64_t process, int64_t id, struct pm_snapshot_info *out,
                  struct pm_diag *diag)
{
    return one_snapshot(q, "SELECT " SNAPSHOT_COLUMNS " FROM snapshot"
                           " WHERE process = ?1 AND id = ?2",
                        process, id, NULL, out, diag);
}

int
pm_query_latest_snapshot(struct pm_query *q, int64_t process, const char *kind,
                         struct pm_snapshot_info *out, struct pm_diag *diag)
{
    return one_snapshot(q, "SELECT " SNAPSHOT_COLUMNS " FROM snapshot"
                           " WHERE process = ?1 AND kind = ?2 ORDER BY id DESC LIMIT 1",
                        process, 0, kind, out, diag);
}

int
pm_query_live_total(struct pm_query *q, int64_t snapshot, int64_t *bytes, int64_t *blocks,
                    struct pm_diag *diag)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = pm_query_prepare(q, "SELECT coalesce(sum(bytes), 0), coalesce(sum(blocks), 0)"
                         " FROM snapshot_live WHERE snapshot = ?1", &s, diag)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, snapshot);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *bytes = sqlite3_column_int64(s, 0);
        *blocks = sqlite3_column_int64(s, 1);
        rc = 0;
    } else {
        rc = fail_sql(q, diag, rc);
    }
    sqlite3_finalize(s);
    return rc;
}

/* ---- release ---- */

void
pm_process_info_clear(struct pm_process_info *p)
{
    if (!p)
        return;
    pm_free(p->argv_json);
    pm_free(p->executable);
    pm_free(p->python_version);
    pm_free(p->mode);
    pm_free(p->end_reason);
    *p = (struct pm_process_info){ 0 };
}

void
pm_snapshot_info_clear(struct pm_snapshot_info *s)
{
    if (!s)
        return;
    pm_free(s->kind);
    pm_free(s->label);
    *s = (struct pm_snapshot_info){ 0 };
}

void
pm_process_list_clear(struct pm_process_list *l)
{
    for (size_t i = 0; l && i < l->n; i++)
        pm_process_info_clear(&l->v[i]);
    if (l) {
        pm_free(l->v);
        *l = (struct pm_process_list){ 0 };
    }
}

void
pm_snapshot_list_clear(struct pm_snapshot_list *l)
{
    for (size_t i = 0; l && i < l->n; i++)
        pm_snapshot_info_clear(&l->v[i]);
    if (l) {
        pm_free(l->v);
        *l = (struct pm_snapshot_list){ 0 };
    }
}
