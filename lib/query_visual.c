/* SPDX-License-Identifier: MIT */
/* Read-side queries of the visual commands (see query_visual.h). Values are always bound. */
#include "query_visual.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <string.h>

#include "alloc.h"
#include "query.h"

/* Whether the file has a table of this name (the timeline table is not required to read a
 * profile: query.c accepts files without it). */
static int
has_table(struct pm_query *q, const char *name, bool *yes, struct pm_diag *diag)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(pm_query_db(q),
                                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                -1, &s, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        *yes = rc == SQLITE_ROW;
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        rc = pm_query_fail(q, diag, rc);
    sqlite3_finalize(s);
    return rc;
}

int
pm_query_timeline(struct pm_query *q, int64_t process, struct pm_timeline *out,
                  struct pm_diag *diag)
{
    sqlite3_stmt *s = NULL;
    struct pm_timeline_point *v = NULL;
    size_t n = 0, cap = 0;
    bool exists = false;
    int rc;

    *out = (struct pm_timeline){ 0 };
    if ((rc = has_table(q, "timeline", &exists, diag)) < 0 || !exists)
        return rc;
    rc = sqlite3_prepare_v2(pm_query_db(q),
                            "SELECT time, heap_bytes, rss_bytes FROM timeline"
                            " WHERE process = ? ORDER BY time, rowid",
                            -1, &s, NULL);
    if (rc != SQLITE_OK)
        goto fail_rc;
    sqlite3_bind_int64(s, 1, process);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            struct pm_timeline_point *nv = pm_realloc(v, ncap * sizeof(*v));
            if (!nv) {
                rc = pm_diag_set(diag, -ENOMEM, "out of memory");
                goto fail;
            }
            v = nv;
            cap = ncap;
        }
        v[n++] = (struct pm_timeline_point){
            .time = sqlite3_column_double(s, 0),
            .heap_bytes = sqlite3_column_int64(s, 1),
            .rss_bytes = sqlite3_column_int64(s, 2),
        };
    }
    if (rc != SQLITE_DONE)
        goto fail_rc;
    sqlite3_finalize(s);
    out->v = v;
    out->n = n;
    return 0;
fail_rc:
    rc = pm_query_fail(q, diag, rc);
fail:
    sqlite3_finalize(s);
    pm_free(v);
    return rc;
}

void
pm_timeline_clear(struct pm_timeline *t)
{
    if (!t)
        return;
    pm_free(t->v);
    *t = (struct pm_timeline){ 0 };
}
