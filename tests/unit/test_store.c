/* SPDX-License-Identifier: MIT */
/* lib/store.h: the write side of the profile file. Everything written here is read back with
 * the plain SQLite API on a separate read-only connection, the way the viewer (or a user's own
 * script) sees the file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "helpers.h"
#include "schema.h"
#include "store.h"

static char dir[PATH_MAX], path[PATH_MAX];

static void
setup(void)
{
    pm_test_tmpdir(dir);
    pm_test_path(path, dir, "profile.pymem");
}

static void
teardown(void)
{
    pm_alloc_fail_after = 0;
    pm_test_rmdir(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

/* --- reading back --------------------------------------------------------------------------- */

static sqlite3 *
open_ro(void)
{
    sqlite3 *db = NULL;

    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK,
                 "read-only open: %s", db ? sqlite3_errmsg(db) : "?");
    return db;
}

/* Runs a query returning one integer. */
static int64_t
q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v;

    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "no row: %s", sql);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static double
q_double(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    double v;

    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "no row: %s", sql);
    v = sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* One text column into buf; "<NULL>" for NULL. */
static const char *
q_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
    sqlite3_stmt *s = NULL;
    const unsigned char *t;

    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "no row: %s", sql);
    t = sqlite3_column_text(s, 0);
    snprintf(buf, len, "%s", t ? (const char *)t : "<NULL>");
    sqlite3_finalize(s);
    return buf;
}

static struct pm_store *
open_store(void)
{
    struct pm_store *st = NULL;
    struct pm_diag diag = {0};
    int rc = pm_store_open(path, &st, &diag);

    cr_assert_eq(rc, 0, "pm_store_open: %d %s", rc, diag.msg);
    cr_assert_not_null(st);
    return st;
}

static void
write_file(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");

    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* --- tests ---------------------------------------------------------------------------------- */

Test(store, new_file_is_private_wal_and_carries_the_schema_version)
{
    struct stat sb;
    sqlite3 *db;
    char buf[64];

    umask(0);   /* 0600 must come from pymem, not from the caller's umask */
    pm_store_close(open_store());

    cr_assert_eq(lstat(path, &sb), 0);
    cr_expect(S_ISREG(sb.st_mode));
    cr_expect_eq(sb.st_mode & 07777, 0600, "mode %o", (unsigned)(sb.st_mode & 07777));

    db = open_ro();
    cr_expect_eq(q_int(db, "PRAGMA user_version"), PM_SCHEMA_VERSION);
    cr_expect_str_eq(q_text(db, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
    cr_expect_eq(q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                           "('process', 'frame', 'stack', 'snapshot', 'live', 'churn', 'timeline')"), 7);
    cr_expect_eq(q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'view' "
                           "AND name = 'snapshot_live'"), 1);
    sqlite3_close(db);
}

Test(store, wal_side_files_are_private_too)
{
    struct pm_store *st;
    struct stat sb;
    char side[PATH_MAX];
    int64_t id, run;
    struct pm_process_row row = {.pid = 1, .ppid = 0, .mode = "full", .start_time = 1.0};

    umask(0);
    st = open_store();
    cr_assert_eq(pm_store_add_process(st, &row, &id, &run), 0);
    pm_test_path(side, dir, "profile.pymem-wal");
    cr_assert_eq(stat(side, &sb), 0, "WAL file exists while the store is open");
    cr_expect_eq(sb.st_mode & 0777, 0600, "-wal mode %o", (unsigned)(sb.st_mode & 0777));
    pm_test_path(side, dir, "profile.pymem-shm");
    if (stat(side, &sb) == 0)
        cr_expect_eq(sb.st_mode & 0777, 0600, "-shm mode %o", (unsigned)(sb.st_mode & 0777));
    pm_store_close(st);
}

Test(store, processes_root_and_child_are_read_back)
{
    struct pm_store *st = open_store();
    struct pm_process_row root = {
        .parent = 0, .run = 777 /* ignored for a root */, .pid = 4321, .ppid = 1,
        .argv_json = "[\"python3\",\"app.py\"]", .executable = "/usr/bin/python3",
        .python_version = "3.11.2", .mode = "full", .start_time = 1700000000.25,
    };
    struct pm_process_row child = {
        .pid = 4322, .ppid = 4321, .argv_json = NULL, .executable = NULL,
        .python_version = NULL, .mode = "full", .start_time = 1700000001.5,
    };
    int64_t rid, rrun, cid, crun, fid, frun;
    char sql[256], buf[256];
    sqlite3 *db;

    cr_assert_eq(pm_store_add_process(st, &root, &rid, &rrun), 0);
    cr_expect_gt(rid, 0);
    cr_expect_eq(rrun, rid, "a root is its own run");
    child.parent = rid;
    child.run = rrun;
    cr_assert_eq(pm_store_add_process(st, &child, &cid, &crun), 0);
    cr_expect_neq(cid, rid);
    cr_expect_eq(crun, rid, "a child belongs to its root's run");

    cr_assert_eq(pm_store_find_process(st, 4322, 0, &fid, &frun), 0);
    cr_expect_eq(fid, cid);
    cr_expect_eq(frun, rid);
    cr_expect_eq(pm_store_find_process(st, 9999, 0, &fid, &frun), -PM_ENOTFOUND);
    cr_assert_eq(pm_store_end_process(st, cid, 1700000002.0, "exec", 0), 0);
    cr_expect_eq(pm_store_find_process(st, 4322, 0, &fid, &frun), -PM_ENOTFOUND,
                 "an ended process is not running");
    cr_assert_eq(pm_store_find_process(st, 4322, 1, &fid, &frun), 0, "but it ended by exec");
    cr_expect_eq(fid, cid);
    cr_assert_eq(pm_store_end_process(st, rid, 1700000003.0, "signal", 9), 0);
    pm_store_close(st);

    db = open_ro();
    cr_expect_eq(q_int(db, "SELECT count(*) FROM process"), 2);
    snprintf(sql, sizeof(sql), "SELECT run FROM process WHERE id = %lld", (long long)rid);
    cr_expect_eq(q_int(db, sql), rid);
    snprintf(sql, sizeof(sql), "SELECT parent IS NULL FROM process WHERE id = %lld", (long long)rid);
    cr_expect_eq(q_int(db, sql), 1, "a root has no parent");
    snprintf(sql, sizeof(sql), "SELECT pid * 100000 + ppid FROM process WHERE id = %lld", (long long)rid);
    cr_expect_eq(q_int(db, sql), 4321LL * 100000 + 1);
    snprintf(sql, sizeof(sql), "SELECT argv FROM process WHERE id = %lld", (long long)rid);
    cr_expect_str_eq(q_text(db, sql, buf, sizeof(buf)), "[\"python3\",\"app.py\"]");
    snprintf(sql, sizeof(sql), "SELECT executable || ' ' || python_version || ' ' || mode "
             "FROM process WHERE id = %lld", (long long)rid);
    cr_expect_str_eq(q_text(db, sql, buf, sizeof(buf)), "/usr/bin/python3 3.11.2 full");
    snprintf(sql, sizeof(sql), "SELECT start_time FROM process WHERE id = %lld", (long long)rid);
    cr_expect_eq(q_double(db, sql), 1700000000.25);
    snprintf(sql, sizeof(sql), "SELECT end_reason || ':' || exit_status || ':' || end_time "
             "FROM process WHERE id = %lld", (long long)rid);
    cr_expect_str_eq(q_text(db, sql, buf, sizeof(buf)), "signal:9:1700000003.0");

    snprintf(sql, sizeof(sql), "SELECT parent FROM process WHERE id = %lld", (long long)cid);
    cr_expect_eq(q_int(db, sql), rid);
    snprintf(sql, sizeof(sql), "SELECT run FROM process WHERE id = %lld", (long long)cid);
    cr_expect_eq(q_int(db, sql), rid);
    snprintf(sql, sizeof(sql), "SELECT argv FROM process WHERE id = %lld", (long long)cid);
    cr_expect_str_eq(q_text(db, sql, buf, sizeof(buf)), "[]", "NULL argv is stored as []");
    snprintf(sql, sizeof(sql), "SELECT executable IS NULL AND python_version IS NULL "
             "FROM process WHERE id = %lld", (long long)cid);
    cr_expect_eq(q_int(db, sql), 1);
    snprintf(sql, sizeof(sql), "SELECT end_reason FROM process WHERE id = %lld", (long long)cid);
    cr_expect_str_eq(q_text(db, sql, buf, sizeof(buf)), "exec");
    sqlite3_close(db);
}

Test(store, frame_and_stack_duplicates_are_ignored)
{
    struct pm_store *st = open_store();
    const int64_t f1 = 0x123456789abcdefLL, f2 = 0x7fffffffffffffffLL, s1 = 42, s2 = 0x5eed5eed5eedLL;
    char buf[128];
    sqlite3 *db;

    cr_assert_eq(pm_store_add_frame(st, f1, "app.py", "<module>", 1), 0);
    cr_assert_eq(pm_store_add_frame(st, f2, "lib/ü.py", "load", 123456), 0);
    cr_assert_eq(pm_store_add_frame(st, f1, "app.py", "<module>", 1), 0, "a duplicate is a no-op");
    cr_assert_eq(pm_store_add_stack(st, s1, 0, f1, 1, 7), 0);
    cr_assert_eq(pm_store_add_stack(st, s2, s1, f2, 2, -5), 0);
    cr_assert_eq(pm_store_add_stack(st, s2, s1, f2, 2, -5), 0, "a duplicate is a no-op");
    pm_store_close(st);

    db = open_ro();
    cr_expect_eq(q_int(db, "SELECT count(*) FROM frame"), 2);
    cr_expect_eq(q_int(db, "SELECT count(*) FROM stack"), 2);
    cr_expect_str_eq(q_text(db, "SELECT file || '|' || function || '|' || line FROM frame "
                                "WHERE id = 81985529216486895", buf, sizeof(buf)),
                     "app.py|<module>|1");
    cr_expect_str_eq(q_text(db, "SELECT file || '|' || function || '|' || line FROM frame "
                                "WHERE id = 9223372036854775807", buf, sizeof(buf)),
                     "lib/ü.py|load|123456");
    cr_expect_eq(q_int(db, "SELECT parent FROM stack WHERE id = 42"), 0);
    cr_expect_eq(q_int(db, "SELECT frame FROM stack WHERE id = 42"), f1);
    cr_expect_eq(q_int(db, "SELECT depth FROM stack WHERE id = 42"), 1);
    cr_expect_eq(q_int(db, "SELECT parent FROM stack WHERE id = 104373592874733"), s1);
    cr_expect_eq(q_int(db, "SELECT frame FROM stack WHERE id = 104373592874733"), f2);
    cr_expect_eq(q_int(db, "SELECT depth FROM stack WHERE id = 104373592874733"), 2);
    cr_expect_eq(q_int(db, "SELECT key FROM stack WHERE id = 42"), 7);
    cr_expect_eq(q_int(db, "SELECT key FROM stack WHERE id = 104373592874733"), -5);
    sqlite3_close(db);
}

/* A forked child asks which of its parent's stack ids are in the file (preload/inherited.c):
 * the largest id of one process's range, counting rows still buffered. */
Test(store, max_stack_id_of_a_range_counts_buffered_rows)
{
    struct pm_store *st = open_store();
    const int64_t p2 = INT64_C(2) << 32, p3 = INT64_C(3) << 32;
    int64_t got = -1;

    cr_assert_eq(pm_store_begin(st), 0);
    cr_assert_eq(pm_store_max_stack_id(st, p2, p2 | UINT32_MAX, &got), 0);
    cr_expect_eq(got, 0, "an empty range");
    for (int i = 1; i <= 100; i++) {
        cr_assert_eq(pm_store_add_stack(st, p2 | i, 0, 77, 1, i), 0);
        cr_assert_eq(pm_store_add_stack(st, p3 | (i * 2), 0, 77, 1, -i), 0);
    }
    cr_assert_eq(pm_store_max_stack_id(st, p2, p2 | UINT32_MAX, &got), 0);
    cr_expect_eq(got, p2 | 100);
    cr_assert_eq(pm_store_max_stack_id(st, p3, p3 | UINT32_MAX, &got), 0);
    cr_expect_eq(got, p3 | 200);
    cr_assert_eq(pm_store_max_stack_id(st, 1, p2 - 1, &got), 0);
    cr_expect_eq(got, 0, "nothing below process 2's range");
    cr_assert_eq(pm_store_commit(st), 0);
    pm_store_close(st);
}

Test(store, snapshots_live_rows_churn_and_timeline_are_read_back)
{
    struct pm_store *st = open_store();
    struct pm_process_row proc = {.pid = 100, .ppid = 1, .argv_json = "[]", .mode = "full",
                                  .start_time = 1.0};
    int64_t p, run, snap1, snap2, snap3, row_a, row_b;
    struct pm_counts ca = {.bytes = {1000, 200, 30}, .blocks = {10, 2, 3}};
    struct pm_counts cb = {.bytes = {0, 0, 4096}, .blocks = {0, 0, 1}};
    char buf[128];
    sqlite3 *db;

    cr_assert_eq(pm_store_add_process(st, &proc, &p, &run), 0);
    struct pm_snapshot_row s = {.process = p, .kind = PM_SNAPSHOT_PERIODIC, .label = NULL,
                                .time = 0.5, .heap_bytes = 1230, .heap_blocks = 15,
                                .rss_bytes = 1 << 24, .tool_bytes = 65536};
    cr_assert_eq(pm_store_add_snapshot(st, &s, &snap1), 0);
    cr_assert_eq(pm_store_add_live(st, p, 42, snap1, &ca, &row_a), 0);
    s.kind = PM_SNAPSHOT_PEAK;
    s.label = "after load";
    s.time = 2.25;
    s.heap_bytes = 5326;
    s.heap_blocks = 16;
    cr_assert_eq(pm_store_add_snapshot(st, &s, &snap2), 0);
    cr_expect_gt(snap2, snap1, "snapshot ids increase");
    cr_assert_eq(pm_store_add_live(st, p, 43, snap2, &cb, &row_b), 0);
    cr_expect_neq(row_a, row_b);
    s.kind = PM_SNAPSHOT_FINAL;
    s.label = NULL;
    cr_assert_eq(pm_store_add_snapshot(st, &s, &snap3), 0);
    cr_assert_eq(pm_store_end_live(st, row_a, snap3), 0, "stack 42's row stops at snapshot 3");

    cr_assert_eq(pm_store_set_churn(st, p, 42, 100, 1), 0);
    cr_assert_eq(pm_store_set_churn(st, p, 42, 5000, 70), 0);    /* replaces */
    cr_assert_eq(pm_store_set_churn(st, p, 43, 4096, 1), 0);
    cr_assert_eq(pm_store_add_timeline(st, p, 0.1, 100, 2000), 0);
    cr_assert_eq(pm_store_add_timeline(st, p, 0.2, 300, 4000), 0);
    pm_store_close(st);

    db = open_ro();
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT kind || '|' || ifnull(label, '-') || '|' || time || '|' || "
             "heap_bytes || '|' || heap_blocks || '|' || rss_bytes || '|' || tool_bytes "
             "FROM snapshot WHERE id = %lld", (long long)snap1);
    cr_expect_str_eq(q_text(db, sql, buf, sizeof(buf)), "periodic|-|0.5|1230|15|16777216|65536");
    snprintf(sql, sizeof(sql), "SELECT kind || '|' || label || '|' || time || '|' || heap_bytes "
             "FROM snapshot WHERE id = %lld", (long long)snap2);
    cr_expect_str_eq(q_text(db, sql, buf, sizeof(buf)), "peak|after load|2.25|5326");
    snprintf(sql, sizeof(sql), "SELECT kind FROM snapshot WHERE id = %lld", (long long)snap3);
    cr_expect_str_eq(q_text(db, sql, buf, sizeof(buf)), "final");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM snapshot WHERE process = %lld", (long long)p);
    cr_expect_eq(q_int(db, sql), 3);

    /* The live row holds its totals and the per-kind split. */
    cr_expect_str_eq(q_text(db, "SELECT bytes || '|' || blocks || '|' || python_bytes || '|' || "
                                "python_blocks || '|' || raw_bytes || '|' || raw_blocks || '|' || "
                                "native_bytes || '|' || native_blocks FROM live WHERE stack = 42",
                            buf, sizeof(buf)),
                     "1230|15|1000|10|200|2|30|3");
    snprintf(sql, sizeof(sql), "SELECT first_snapshot = %lld AND until_snapshot = %lld "
             "FROM live WHERE stack = 42", (long long)snap1, (long long)snap3);
    cr_expect_eq(q_int(db, sql), 1);
    cr_expect_eq(q_int(db, "SELECT until_snapshot IS NULL FROM live WHERE stack = 43"), 1,
                 "a row never ended is current");

    /* Through the view: snapshot 1 sees stack 42 only, 2 sees both, 3 sees 43 only. */
    snprintf(sql, sizeof(sql), "SELECT group_concat(stack) FROM "
             "(SELECT stack FROM snapshot_live WHERE snapshot = %lld ORDER BY stack)", (long long)snap1);
    cr_expect_str_eq(q_text(db, sql, buf, sizeof(buf)), "42");
    snprintf(sql, sizeof(sql), "SELECT group_concat(stack) FROM "
             "(SELECT stack FROM snapshot_live WHERE snapshot = %lld ORDER BY stack)", (long long)snap2);
    cr_expect_str_eq(q_text(db, sql, buf, sizeof(buf)), "42,43");
    snprintf(sql, sizeof(sql), "SELECT group_concat(stack) FROM "
             "(SELECT stack FROM snapshot_live WHERE snapshot = %lld ORDER BY stack)", (long long)snap3);
    cr_expect_str_eq(q_text(db, sql, buf, sizeof(buf)), "43");
    snprintf(sql, sizeof(sql), "SELECT sum(bytes) FROM snapshot_live WHERE snapshot = %lld",
             (long long)snap2);
    cr_expect_eq(q_int(db, sql), 1230 + 4096);

    cr_expect_eq(q_int(db, "SELECT count(*) FROM churn"), 2, "churn is one row per stack");
    cr_expect_str_eq(q_text(db, "SELECT alloc_bytes || '|' || alloc_blocks FROM churn WHERE stack = 42",
                            buf, sizeof(buf)), "5000|70");
    cr_expect_str_eq(q_text(db, "SELECT alloc_bytes || '|' || alloc_blocks FROM churn WHERE stack = 43",
                            buf, sizeof(buf)), "4096|1");
    cr_expect_str_eq(q_text(db, "SELECT group_concat(x) FROM (SELECT time || ':' || heap_bytes || ':' "
                                "|| rss_bytes AS x FROM timeline ORDER BY time)", buf, sizeof(buf)),
                     "0.1:100:2000,0.2:300:4000");
    sqlite3_close(db);
}

Test(store, rollback_discards_and_commit_keeps)
{
    struct pm_store *st = open_store();
    sqlite3 *db;

    cr_assert_eq(pm_store_begin(st), 0);
    cr_assert_eq(pm_store_add_timeline(st, 1, 0.5, 111, 1), 0);
    pm_store_rollback(st);
    cr_assert_eq(pm_store_begin(st), 0);
    cr_assert_eq(pm_store_add_timeline(st, 1, 0.6, 222, 2), 0);
    cr_assert_eq(pm_store_add_timeline(st, 1, 0.7, 333, 3), 0);

    db = open_ro();
    cr_expect_eq(q_int(db, "SELECT count(*) FROM timeline"), 0, "uncommitted rows are invisible");
    cr_assert_eq(pm_store_commit(st), 0);
    cr_expect_eq(q_int(db, "SELECT count(*) FROM timeline"), 2);
    cr_expect_eq(q_int(db, "SELECT sum(heap_bytes) FROM timeline"), 555);
    sqlite3_close(db);
    pm_store_close(st);
}

Test(store, reopening_keeps_the_data)
{
    struct pm_store *st = open_store();
    sqlite3 *db;

    cr_assert_eq(pm_store_add_frame(st, 5, "a.py", "f", 1), 0);
    pm_store_close(st);
    st = open_store();
    cr_assert_eq(pm_store_add_frame(st, 6, "a.py", "g", 2), 0);
    pm_store_close(st);

    db = open_ro();
    cr_expect_eq(q_int(db, "SELECT count(*) FROM frame"), 2);
    cr_expect_eq(q_int(db, "PRAGMA user_version"), PM_SCHEMA_VERSION);
    sqlite3_close(db);
}

Test(store, two_writers_share_one_file)
{
    struct pm_store *a = open_store();
    struct pm_store *b = open_store();  /* a forked child opens the same profile */
    sqlite3 *db;

    cr_assert_eq(pm_store_add_timeline(a, 1, 0.1, 1, 1), 0);
    cr_assert_eq(pm_store_add_timeline(b, 2, 0.1, 2, 2), 0);
    cr_assert_eq(pm_store_add_frame(a, 9, "x.py", "f", 1), 0);
    cr_assert_eq(pm_store_add_frame(b, 9, "x.py", "f", 1), 0, "same frame from two processes");
    pm_store_close(a);
    pm_store_close(b);
    db = open_ro();
    cr_expect_eq(q_int(db, "SELECT count(*) FROM timeline"), 2);
    cr_expect_eq(q_int(db, "SELECT count(*) FROM frame"), 1);
    sqlite3_close(db);
}

Test(store, empty_existing_file_becomes_a_profile)
{
    sqlite3 *db;

    write_file(path, "", 0);
    pm_store_close(open_store());
    db = open_ro();
    cr_expect_eq(q_int(db, "PRAGMA user_version"), PM_SCHEMA_VERSION);
    sqlite3_close(db);
}

Test(store, symlink_at_path_is_refused)
{
    struct pm_store *st = (struct pm_store *)1;
    struct pm_diag diag = {0};
    char target[PATH_MAX];
    struct stat sb;

    pm_test_path(target, dir, "elsewhere");
    cr_assert_eq(symlink(target, path), 0);

    int rc = pm_store_open(path, &st, &diag);
    cr_expect_lt(rc, 0, "dangling symlink accepted");
    cr_expect_null(st);
    cr_expect_eq(diag.code, rc);
    cr_expect_neq(diag.msg[0], '\0', "the diag says why");
    cr_expect_eq(lstat(target, &sb), -1, "nothing created through the symlink");

    write_file(target, "precious", 8);
    st = (struct pm_store *)1;
    rc = pm_store_open(path, &st, &diag);
    cr_expect_lt(rc, 0, "symlink to an existing file accepted");
    cr_expect_null(st);
    cr_assert_eq(stat(target, &sb), 0);
    cr_expect_eq(sb.st_size, 8, "the target is untouched");
}

Test(store, unknown_schema_version_is_refused_with_eschema)
{
    struct pm_store *st = NULL;
    struct pm_diag diag = {0};
    sqlite3 *db;
    char *err = NULL;

    /* A profile from a future pymem: our schema, user_version 99. */
    pm_store_close(open_store());
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, &err), SQLITE_OK, "%s", err);
    sqlite3_close(db);

    int rc = pm_store_open(path, &st, &diag);
    cr_expect_eq(rc, -PM_ESCHEMA, "rc %d (%s): %s", rc, pm_strerror(rc), diag.msg);
    cr_expect_null(st);
    cr_expect_eq(diag.code, -PM_ESCHEMA);
    cr_expect_neq(strstr(diag.msg, "99"), NULL, "message names the version: %s", diag.msg);

    db = open_ro();
    cr_expect_eq(q_int(db, "PRAGMA user_version"), 99, "the refused file is left as it was");
    sqlite3_close(db);
}

Test(store, non_sqlite_file_is_refused_and_left_alone)
{
    static const char text[] = "this is somebody's notes file, not a database\n"
                               "it is long enough to have a header-sized prefix..................";
    struct pm_store *st = (struct pm_store *)1;
    struct pm_diag diag = {0};
    char back[sizeof(text)] = {0};
    FILE *f;

    write_file(path, text, sizeof(text) - 1);
    int rc = pm_store_open(path, &st, &diag);
    cr_expect_lt(rc, 0, "a text file was accepted as a profile");
    cr_expect_null(st);
    cr_expect_eq(diag.code, rc);
    cr_expect_neq(diag.msg[0], '\0');
    cr_log_info("non-SQLite file: rc %d (%s): %s", rc, pm_strerror(rc), diag.msg);

    f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_expect_eq(fread(back, 1, sizeof(back), f), sizeof(text) - 1, "size unchanged");
    fclose(f);
    cr_expect_str_eq(back, text, "content unchanged");
}

Test(store, unwritable_directory_is_reported)
{
    struct pm_store *st = (struct pm_store *)1;
    struct pm_diag diag = {0};
    char p[PATH_MAX];

    pm_test_path(p, dir, "no/such/dir.pymem");
    int rc = pm_store_open(p, &st, &diag);
    cr_expect_eq(rc, -ENOENT, "rc %d: %s", rc, diag.msg);
    cr_expect_null(st);
}

Test(store, allocation_failures_during_open_are_reported_not_fatal)
{
    int failed = 0, succeeded = 0;

    for (unsigned long n = 1; n <= 400; n++) {
        struct pm_store *st = (struct pm_store *)1;
        struct pm_diag diag = {0};

        pm_alloc_fail_after = n;
        int rc = pm_store_open(path, &st, &diag);
        pm_alloc_fail_after = 0;
        if (rc == 0) {
            cr_assert_not_null(st);
            succeeded++;
            /* whatever failed inside SQLite was recovered: the store works */
            cr_expect_eq(pm_store_add_timeline(st, 1, (double)n, 1, 1), 0, "n = %lu", n);
            pm_store_close(st);
        } else {
            cr_expect_lt(rc, 0);
            cr_expect_null(st, "n = %lu: *out set on failure", n);
            cr_expect_eq(diag.code, rc, "n = %lu", n);
            failed++;
        }
    }
    cr_expect_gt(failed, 0, "the seam reached pm_store_open");
    cr_expect_gt(succeeded, 0);
}

/* Rows are buffered and written 64 to a statement: every count, value and order must come out
 * as if each had been written alone, across full and partial batches. */
Test(store, buffered_rows_land_exactly_across_batches)
{
    struct pm_store *st = open_store();
    struct pm_process_row proc = {.pid = 7, .ppid = 1, .argv_json = "[]", .mode = "full",
                                  .start_time = 1.0};
    struct pm_snapshot_row s = {.kind = PM_SNAPSHOT_PERIODIC, .time = 1.0};
    int64_t p, run, snap1, snap2, rowid[200];
    sqlite3 *db;
    enum { N = 200 };   /* three full batches and a partial one */

    cr_assert_eq(pm_store_begin(st), 0);
    cr_assert_eq(pm_store_add_process(st, &proc, &p, &run), 0);
    s.process = p;
    cr_assert_eq(pm_store_add_snapshot(st, &s, &snap1), 0);
    for (int i = 0; i < N; i++) {
        struct pm_counts c = {.bytes = {i, 0, 1}, .blocks = {1, 0, 1}};
        cr_assert_eq(pm_store_add_frame(st, 1000 + i, "f.py", "fn", i), 0);
        cr_assert_eq(pm_store_add_stack(st, 5000 + i, i ? 4999 + i : 0, 1000 + i, i + 1, 9000 + i), 0);
        cr_assert_eq(pm_store_add_live(st, p, 5000 + i, snap1, &c, &rowid[i]), 0);
        cr_assert_eq(pm_store_set_churn(st, p, 5000 + i, 10 * i, i), 0);
        if (i)
            cr_expect_eq(rowid[i], rowid[i - 1] + 1, "rowids are handed out in order");
    }
    cr_assert_eq(pm_store_set_churn(st, p, 5000, 777, 7), 0, "replaces a row of an earlier batch");
    cr_assert_eq(pm_store_add_snapshot(st, &s, &snap2), 0);
    /* newest first: the first full batch of ends holds rows that are still buffered */
    for (int i = N - 1; i > 0; i -= 2)
        cr_assert_eq(pm_store_end_live(st, rowid[i], snap2), 0);
    cr_assert_eq(pm_store_commit(st), 0);

    cr_assert_eq(pm_store_begin(st), 0);
    cr_assert_eq(pm_store_add_frame(st, 99999, "gone.py", "fn", 1), 0);
    pm_store_rollback(st);
    pm_store_close(st);

    db = open_ro();
    cr_expect_eq(q_int(db, "SELECT count(*) FROM frame"), N, "the rolled-back frame is not there");
    cr_expect_eq(q_int(db, "SELECT sum(line) FROM frame"), N * (N - 1) / 2);
    cr_expect_eq(q_int(db, "SELECT count(*) FROM stack"), N);
    cr_expect_eq(q_int(db, "SELECT max(depth) FROM stack"), N);
    cr_expect_eq(q_int(db, "SELECT count(*) FROM live"), N);
    cr_expect_eq(q_int(db, "SELECT sum(python_bytes) FROM live"), N * (N - 1) / 2);
    cr_expect_eq(q_int(db, "SELECT sum(bytes) FROM live"), N * (N - 1) / 2 + N);
    cr_expect_eq(q_int(db, "SELECT count(*) FROM live WHERE until_snapshot IS NOT NULL"), N / 2);
    cr_expect_eq(q_int(db, "SELECT count(*) FROM live WHERE until_snapshot IS NOT NULL "
                           "AND (stack - 5000) % 2 = 1"), N / 2, "exactly the odd rows ended");
    cr_expect_eq(q_int(db, "SELECT count(*) FROM churn"), N);
    cr_expect_eq(q_int(db, "SELECT alloc_bytes FROM churn WHERE stack = 5000"), 777);
    cr_expect_eq(q_int(db, "SELECT sum(alloc_blocks) FROM churn"), N * (N - 1) / 2 + 7);
    sqlite3_close(db);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* While another connection writes, pm_store_try_begin waits at most as long as asked and says
 * -PM_EBUSY, or -EINTR at once when its give-up flag is set, with nothing begun; once the other
 * one commits it begins. */
Test(store, try_begin_waits_as_long_as_asked)
{
    struct pm_store *holder = open_store(), *st = open_store();
    atomic_bool give_up = false;
    double t0;

    cr_assert_eq(pm_store_begin(holder), 0);
    t0 = now_s();
    cr_expect_eq(pm_store_try_begin(st, 200, 200, &give_up), -PM_EBUSY);
    cr_expect_geq(now_s() - t0, 0.15, "waited %.3f s", now_s() - t0);
    cr_expect_lt(now_s() - t0, 2.0, "waited %.3f s", now_s() - t0);
    atomic_store(&give_up, true);
    t0 = now_s();
    cr_expect_eq(pm_store_try_begin(st, 10000, 10000, &give_up), -EINTR);
    cr_expect_lt(now_s() - t0, 0.5, "with the flag set: waited %.3f s", now_s() - t0);
    atomic_store(&give_up, false);
    cr_assert_eq(pm_store_commit(holder), 0);
    cr_expect_eq(pm_store_try_begin(st, 200, 200, &give_up), 0, "the lock is free");
    cr_expect_eq(pm_store_commit(st), 0);
    pm_store_close(holder);
    pm_store_close(st);
}

/* Another connection that holds the write lock for `seconds` while it writes: with a one-page
 * cache its inserts spill into the write-ahead log as they go, so the log moves all along. */
struct log_mover {
    double seconds;
    atomic_bool holding;
};

static void *
hold_while_writing(void *arg)
{
    struct log_mover *m = arg;
    sqlite3 *db;
    double t0;

    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA cache_size = 1; BEGIN IMMEDIATE; "
                                  "CREATE TABLE filler(x)", NULL, NULL, NULL), SQLITE_OK);
    atomic_store(&m->holding, true);
    t0 = now_s();
    while (now_s() - t0 < m->seconds) {
        cr_assert_eq(sqlite3_exec(db, "INSERT INTO filler VALUES (zeroblob(8192))", NULL, NULL,
                                  NULL), SQLITE_OK);
        nanosleep(&(struct timespec){ 0, 5 * 1000000 }, NULL);
    }
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    return NULL;
}

/* Waits in pm_store_try_begin while a thread holds the lock for `hold` seconds writing; returns
 * try_begin's result and sets *waited. */
static int
try_begin_against_writer(struct pm_store *st, double hold, int idle_ms, int max_ms,
                         double *waited)
{
    struct log_mover m = { .seconds = hold };
    pthread_t t;
    double t0;
    int rc;

    cr_assert_eq(pthread_create(&t, NULL, hold_while_writing, &m), 0);
    while (!atomic_load(&m.holding))
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    t0 = now_s();
    rc = pm_store_try_begin(st, idle_ms, max_ms, NULL);
    *waited = now_s() - t0;
    if (rc == 0)
        pm_store_rollback(st);
    pthread_join(t, NULL);
    return rc;
}

/* With a longer bound than its idle one, pm_store_try_begin keeps waiting while the holder of
 * the lock writes (a queue of writers taking turns), up to that bound; a lock held still ends
 * the wait at the idle bound, as before. */
Test(store, try_begin_waits_longer_while_others_write)
{
    struct pm_store *holder = open_store(), *st = open_store();
    double waited, t0;

    cr_assert_eq(pm_store_begin(holder), 0);
    t0 = now_s();
    cr_expect_eq(pm_store_try_begin(st, 200, 5000, NULL), -PM_EBUSY);
    waited = now_s() - t0;
    cr_expect(waited >= 0.15 && waited < 1.5, "held still: waited %.3f s, not its 5 s", waited);
    pm_store_rollback(holder);

    cr_expect_eq(try_begin_against_writer(st, 1.0, 200, 5000, &waited), 0);
    cr_expect(waited >= 0.8 && waited < 4.0, "writing holder, 1 s: waited %.3f s", waited);
    cr_expect_eq(try_begin_against_writer(st, 3.0, 200, 1000, &waited), -PM_EBUSY);
    cr_expect(waited >= 0.9 && waited < 2.5, "writing holder, 3 s, bound 1 s: waited %.3f s",
              waited);
    pm_store_close(holder);
    pm_store_close(st);
}

static int64_t
live_index_count(void)
{
    sqlite3 *db = open_ro();
    int64_t n = q_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                          " AND tbl_name = 'live'");
    sqlite3_close(db);
    return n;
}

/* Adds n live rows of process p at snapshot snap, in one transaction. */
static void
add_live_rows(struct pm_store *st, int64_t p, int64_t snap, int n)
{
    struct pm_counts c = {.bytes = {64, 0, 0}, .blocks = {1, 0, 0}};
    int64_t rowid;

    cr_assert_eq(pm_store_begin(st), 0);
    for (int i = 0; i < n; i++)
        cr_assert_eq(pm_store_add_live(st, p, 5000 + i, snap, &c, &rowid), 0);
    cr_assert_eq(pm_store_commit(st), 0);
}

Test(store, live_index_is_made_when_the_table_reaches_its_size, .timeout = 60)
{
    struct pm_store *st = open_store();
    struct pm_process_row proc = {.pid = 7, .ppid = 1, .argv_json = "[]", .mode = "full",
                                  .start_time = 1.0};
    struct pm_snapshot_row s = {.kind = PM_SNAPSHOT_PERIODIC, .time = 1.0};
    int64_t p, run, snap;

    cr_assert_eq(pm_store_begin(st), 0);
    cr_assert_eq(pm_store_add_process(st, &proc, &p, &run), 0);
    s.process = p;
    cr_assert_eq(pm_store_add_snapshot(st, &s, &snap), 0);
    cr_assert_eq(pm_store_commit(st), 0);
    cr_expect_eq(live_index_count(), 0, "a new file has no index on live");
    /* another process's connection, open with its statements prepared before the change */
    struct pm_store *other = open_store();
    add_live_rows(other, p, snap, 1);
    add_live_rows(st, p, snap, PM_LIVE_INDEX_ROWS - 2);
    cr_expect_eq(live_index_count(), 0, "one row short of the size: still none");
    add_live_rows(st, p, snap, 1);
    cr_expect_eq(live_index_count(), 2, "the transaction reaching the size makes both");
    add_live_rows(st, p, snap, 1);
    pm_store_close(st);
    /* its prepared statements predate the new schema: SQLite prepares them again */
    add_live_rows(other, p, snap, 1);
    pm_store_close(other);
    sqlite3 *db = open_ro();
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM live INDEXED BY live_by_until"
             " WHERE process = %lld AND until_snapshot IS NULL", (long long)p);
    cr_expect_eq(q_int(db, sql), PM_LIVE_INDEX_ROWS + 2,
                 "the index holds every row, those before it was made too");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM live INDEXED BY live_by_snapshot"
             " WHERE process = %lld AND first_snapshot = %lld", (long long)p, (long long)snap);
    cr_expect_eq(q_int(db, sql), PM_LIVE_INDEX_ROWS + 2);
    sqlite3_close(db);
}

/* A partial batch goes out in statements of every size (85 = 64 + 16 + 4 + 1 rows); ends of
 * rows committed earlier go out while newer rows wait buffered, and every row lands once. */
Test(store, partial_batches_and_ends_of_older_rows_land_exactly)
{
    struct pm_store *st = open_store();
    struct pm_process_row proc = {.pid = 7, .ppid = 1, .argv_json = "[]", .mode = "full",
                                  .start_time = 1.0};
    struct pm_snapshot_row s = {.kind = PM_SNAPSHOT_PERIODIC, .time = 1.0};
    struct pm_counts c = {.bytes = {8, 0, 0}, .blocks = {1, 0, 0}};
    enum { OLD = 150, NEW = 85 };
    int64_t p, run, snap1, snap2, old[OLD], fresh[NEW];

    cr_assert_eq(pm_store_begin(st), 0);
    cr_assert_eq(pm_store_add_process(st, &proc, &p, &run), 0);
    s.process = p;
    cr_assert_eq(pm_store_add_snapshot(st, &s, &snap1), 0);
    for (int i = 0; i < OLD; i++)
        cr_assert_eq(pm_store_add_live(st, p, 5000 + i, snap1, &c, &old[i]), 0);
    cr_assert_eq(pm_store_commit(st), 0);

    cr_assert_eq(pm_store_begin(st), 0);
    cr_assert_eq(pm_store_add_snapshot(st, &s, &snap2), 0);
    for (int i = 0; i < NEW; i++) {
        cr_assert_eq(pm_store_add_live(st, p, 9000 + i, snap2, &c, &fresh[i]), 0);
        cr_assert_eq(pm_store_end_live(st, old[i], snap2), 0);  /* two full batches of ends */
    }
    cr_assert_eq(pm_store_end_live(st, fresh[NEW - 1], snap2 + 1), 0, "a buffered row ends too");
    cr_assert_eq(pm_store_commit(st), 0);
    pm_store_close(st);

    sqlite3 *db = open_ro();
    cr_expect_eq(q_int(db, "SELECT count(*) FROM live"), OLD + NEW);
    cr_expect_eq(q_int(db, "SELECT count(DISTINCT stack) FROM live"), OLD + NEW);
    cr_expect_eq(q_int(db, "SELECT count(*) FROM live WHERE stack >= 9000"), NEW,
                 "every new row of the partial batch landed");
    cr_expect_eq(q_int(db, "SELECT sum(stack - 9000) FROM live WHERE stack >= 9000"),
                 NEW * (NEW - 1) / 2);
    cr_expect_eq(q_int(db, "SELECT count(*) FROM live WHERE stack < 9000 AND until_snapshot"
                           " IS NOT NULL"), NEW, "the older rows ended, no more");
    cr_expect_eq(q_int(db, "SELECT max(stack) FROM live WHERE stack < 9000 AND until_snapshot"
                           " IS NOT NULL"), 5000 + NEW - 1);
    cr_expect_eq(q_int(db, "SELECT count(*) FROM live WHERE stack >= 9000 AND until_snapshot"
                           " IS NOT NULL"), 1);
    cr_expect_eq(q_int(db, "SELECT stack FROM live WHERE stack >= 9000 AND until_snapshot"
                           " IS NOT NULL"), 9000 + NEW - 1);
    sqlite3_close(db);
}
