/* SPDX-License-Identifier: MIT */
/* SQLite write side: open with the pragmas and schema, prepared statements, row inserts. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "schema.h"

#define PM_STATEMENTS(X) \
    X(begin, "BEGIN IMMEDIATE") \
    X(commit, "COMMIT") \
    X(rollback, "ROLLBACK") \
    X(add_process, "INSERT INTO process(run, parent, pid, ppid, argv, executable, " \
                   "python_version, mode, start_time) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)") \
    X(set_run, "UPDATE process SET run = id WHERE id = ?1") \
    X(find_running, "SELECT id, run FROM process WHERE pid = ?1 AND end_time IS NULL " \
                    "ORDER BY id DESC LIMIT 1") \
    X(find_exec, "SELECT id, run FROM process WHERE pid = ?1 AND end_reason = 'exec' " \
                 "ORDER BY id DESC LIMIT 1") \
    X(end_process, "UPDATE process SET end_time = ?2, end_reason = ?3, exit_status = ?4 " \
                   "WHERE id = ?1") \
    X(add_snapshot, "INSERT INTO snapshot(process, kind, label, time, heap_bytes, heap_blocks, " \
                    "rss_bytes, tool_bytes) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)") \
    X(finish_snapshot, "UPDATE snapshot SET heap_blocks = ?2, tool_bytes = tool_bytes + ?3 " \
                      "WHERE id = ?1") \
    X(max_live_rowid, "SELECT coalesce(max(rowid), 0) FROM live") \
    X(max_stack_id, "SELECT coalesce(max(id), 0) FROM stack WHERE id BETWEEN ?1 AND ?2") \
    X(add_timeline, "INSERT INTO timeline(process, time, heap_bytes, rss_bytes) " \
                    "VALUES(?1, ?2, ?3, ?4)")

/* Row inserts go out BATCH_ROWS at a time, as one multi-row statement: per row that costs half
 * of what one statement per row does (SQLite's per-statement work, binding aside, is as large
 * as a B-tree insert). Rows wait in the store until their batch is full, until a statement that
 * depends on them runs, or until commit or close. {name, SQL up to VALUES, columns} */
#define PM_BATCHES(X) \
    X(frame, "INSERT OR IGNORE INTO frame(id, file, function, line)", 4) \
    X(stack, "INSERT OR IGNORE INTO stack(id, parent, frame, depth, key)", 5) \
    X(live, "INSERT INTO live(rowid, process, stack, first_snapshot, bytes, blocks, " \
            "python_bytes, python_blocks, raw_bytes, raw_blocks, native_bytes, " \
            "native_blocks)", 12) \
    X(churn, "INSERT OR REPLACE INTO churn(process, stack, alloc_bytes, alloc_blocks)", 4)

#define BATCH_ROWS 64
#define BATCH_MAX_COLS 12
/* Statements of BATCH_ROWS, BATCH_ROWS / 4, ... 1 rows: a partial batch (flushed because a
 * statement depends on it, or at commit) goes out in a few of them, not row by row. */
#define BATCH_SIZES 4
_Static_assert(BATCH_ROWS >> (2 * (BATCH_SIZES - 1)) == 1, "batch sizes end at one row");

/* One value of a buffered row: an integer, or borrowed text when text is not NULL. */
struct cell {
    int64_t i;
    const char *text;
};

struct batch {
    int ncol, n;                        /* n rows buffered */
    sqlite3_stmt *insert[BATCH_SIZES];  /* INSERT of BATCH_ROWS >> 2k rows */
    struct cell row[BATCH_ROWS][BATCH_MAX_COLS];
};

/* Ends of live rows: one UPDATE ... WHERE rowid IN (BATCH_ROWS ids), all with the same end. */
struct end_batch {
    sqlite3_stmt *stmt;
    int64_t until;
    int n;
    int64_t rowid[BATCH_ROWS];
};

struct pm_store {
    sqlite3 *db;
#define PM_STMT_FIELD(name, sql) sqlite3_stmt *name;
    PM_STATEMENTS(PM_STMT_FIELD)
#undef PM_STMT_FIELD
#define PM_BATCH_FIELD(name, sql, ncol) struct batch name;
    PM_BATCHES(PM_BATCH_FIELD)
#undef PM_BATCH_FIELD
    struct end_batch ends;
    int64_t next_live_rowid;    /* 0 = not known in this transaction yet */
    bool live_indexed;          /* the live table is past PM_LIVE_INDEX_ROWS and indexed */
    int wait_naps;              /* how long wait_for_lock waits now, in naps, with no other */
    int cap_naps;               /* writer moving the log; never more than cap_naps in all */
    int moved_at;               /* the attempt at which the log was last seen to move */
    struct stat log_seen;       /* the log file as it was then */
    const atomic_bool *give_up; /* in pm_store_try_begin: once set, stop waiting; else NULL */
};

static void discard_pending(struct pm_store *st);

/* SQLite allocates from pymem's arena, never from the profiled program's heap. */
static void *sq_malloc(int n) { return pm_malloc((size_t)n); }
static void sq_free(void *p) { pm_free(p); }
static void *sq_realloc(void *p, int n) { return pm_realloc(p, (size_t)n); }
static int sq_roundup(int n) { return (n + 15) & ~15; }
static int sq_init(void *arg) { return SQLITE_OK; }
static void sq_shutdown(void *arg) { }

/* pm_je has no cheap "size of block": keep it in an 16-byte header. */
static void *
hdr_malloc(int n)
{
    int64_t *p = sq_malloc(n + 16);
    if (!p)
        return NULL;
    p[0] = n;
    return p + 2;
}

static void
hdr_free(void *p)
{
    if (p)
        sq_free((int64_t *)p - 2);
}

static void *
hdr_realloc(void *p, int n)
{
    int64_t *h;
    if (!p)
        return hdr_malloc(n);
    h = sq_realloc((int64_t *)p - 2, n + 16);
    if (!h)
        return NULL;
    h[0] = n;
    return h + 2;
}

static int
hdr_size(void *p)
{
    return p ? (int)((int64_t *)p)[-2] : 0;
}

static void
configure_sqlite_once(void)
{
    static const sqlite3_mem_methods methods = {
        hdr_malloc, hdr_free, hdr_realloc, hdr_size, sq_roundup, sq_init, sq_shutdown, NULL,
    };
    (void)sq_malloc;
    (void)sq_free;
    (void)sq_realloc;
    sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
}

static int
fail_sqlite(struct pm_store *st, struct pm_diag *diag, const char *what)
{
    return pm_diag_set(diag, -PM_ESQLITE, "%s: %s", what,
                       st && st->db ? sqlite3_errmsg(st->db) : "out of memory");
}

/* Busy handler: the processes of a run share the file and take turns writing. SQLite's default
 * backs off to 50-100 ms naps, so a waiter oversleeps a lock held for 0.2 s by up to 50 ms, and
 * a program exiting waits for its final snapshot. Nap 2 ms at a time instead, for as long as
 * the caller allows (10 s unless pm_store_try_begin says otherwise). A caller may allow a
 * longer wait while other writers make progress (a queue of processes writing in turn, not a
 * lock held still): then every LOOK_EVERY naps the write-ahead log is looked at, and the wait
 * counts from the last time it moved. */
#define NAP_MS 2
#define DEFAULT_WAIT_MS 10000
#define LOOK_EVERY 25

/* Whether the log file changed (size or modification time) since the last look. */
static bool
log_moved(struct pm_store *st)
{
    const char *log = sqlite3_filename_wal(sqlite3_db_filename(st->db, "main"));
    struct stat now;
    bool moved;

    if (!log || stat(log, &now) < 0)
        return false;
    moved = now.st_size != st->log_seen.st_size ||
            now.st_mtim.tv_sec != st->log_seen.st_mtim.tv_sec ||
            now.st_mtim.tv_nsec != st->log_seen.st_mtim.tv_nsec;
    st->log_seen = now;
    return moved;
}

static int
wait_for_lock(void *arg, int attempts)
{
    struct pm_store *st = arg;
    const struct timespec nap = { 0, NAP_MS * 1000000 };
    bool queue = st->cap_naps > st->wait_naps;

    if (st->give_up && atomic_load(st->give_up))
        return 0;
    if (attempts == 0) {
        st->moved_at = 0;
        if (queue)
            log_moved(st);  /* where the log is as the wait starts */
    } else if (queue && attempts % LOOK_EVERY == 0 && log_moved(st)) {
        st->moved_at = attempts;
    }
    if (attempts - st->moved_at >= st->wait_naps || attempts >= st->cap_naps)
        return 0;
    nanosleep(&nap, NULL);
    return 1;
}

/* Creates the file ourselves so that it is 0600 and a symlink planted at path is refused. */
static int
create_file(const char *path, struct pm_diag *diag)
{
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0)
        return pm_diag_set(diag, -errno, "cannot create '%s': %s", path, strerror(errno));
    close(fd);
    return 0;
}

static int
check_schema(struct pm_store *st, struct pm_diag *diag)
{
    sqlite3_stmt *s = NULL;
    int version = -1;

    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return fail_sqlite(st, diag, "cannot read schema version");
    if (sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version == 0) {
        /* a new file, or another application's database: never add our tables to that */
        int objects = 0;
        if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL) !=
            SQLITE_OK)
            return fail_sqlite(st, diag, "cannot read the schema");
        if (sqlite3_step(s) == SQLITE_ROW)
            objects = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
        if (objects > 0)
            return pm_diag_set(diag, -PM_ESCHEMA, "not a pymem profile (another database)");
        return 0;
    }
    if (version != PM_SCHEMA_VERSION)
        return pm_diag_set(diag, -PM_ESCHEMA, "profile has schema version %d, this pymem writes %d",
                           version, PM_SCHEMA_VERSION);
    return 0;
}

static int
create_schema(struct pm_store *st, struct pm_diag *diag)
{
    char pragma[64];

    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail_sqlite(st, diag, "cannot lock the profile");
    if (check_schema(st, diag) < 0) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return diag ? diag->code : -PM_ESCHEMA;
    }
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", PM_SCHEMA_VERSION);
    if (sqlite3_exec(st->db, PM_SCHEMA_SQL, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(st->db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = fail_sqlite(st, diag, "cannot create the schema");
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return 0;
}

static int
prepare(struct pm_store *st, const char *sql, sqlite3_stmt **out)
{
    return sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) == SQLITE_OK
               ? 0
               : -PM_ESQLITE;
}

/* Appends "(?, ?, ...)" rows of ncol parameters to the text at sql (room for cap bytes). */
static void
values_rows(char *sql, size_t cap, int ncol, int rows)
{
    size_t len = strlen(sql);

    len += (size_t)snprintf(sql + len, cap - len, " VALUES");
    for (int r = 0; r < rows && len < cap; r++)
        for (int c = 0; c < ncol && len < cap; c++)
            len += (size_t)snprintf(sql + len, cap - len, "%s?%s", c ? ", " : r ? ", (" : "(",
                                    c == ncol - 1 ? ")" : "");
}

static int
prepare_batch(struct pm_store *st, struct batch *b, const char *head, int ncol)
{
    char sql[BATCH_ROWS * BATCH_MAX_COLS * 4 + 512];

    b->ncol = ncol;
    for (int k = 0; k < BATCH_SIZES; k++) {
        snprintf(sql, sizeof(sql), "%s", head);
        values_rows(sql, sizeof(sql), ncol, BATCH_ROWS >> (2 * k));
        if (prepare(st, sql, &b->insert[k]) < 0)
            return -PM_ESQLITE;
    }
    return 0;
}

static int
prepare_statements(struct pm_store *st, struct pm_diag *diag)
{
    char sql[BATCH_ROWS * 8 + 128];     /* ", ?NNNNN" a row at most */
    size_t len;

#define PM_STMT_PREPARE(name, sql) \
    if (prepare(st, sql, &st->name) < 0) \
        return fail_sqlite(st, diag, "cannot prepare " #name);
    PM_STATEMENTS(PM_STMT_PREPARE)
#undef PM_STMT_PREPARE
#define PM_BATCH_PREPARE(name, sql, ncol) \
    if (prepare_batch(st, &st->name, sql, ncol) < 0) \
        return fail_sqlite(st, diag, "cannot prepare " #name " rows");
    PM_BATCHES(PM_BATCH_PREPARE)
#undef PM_BATCH_PREPARE
    len = (size_t)snprintf(sql, sizeof(sql),
                           "UPDATE live SET until_snapshot = ?1 WHERE rowid IN (?2");
    for (int i = 1; i < BATCH_ROWS; i++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, ", ?%d", i + 2);
    snprintf(sql + len, sizeof(sql) - len, ")");
    if (prepare(st, sql, &st->ends.stmt) < 0)
        return fail_sqlite(st, diag, "cannot prepare live row ends");
    return 0;
}

int
pm_store_open(const char *path, struct pm_store **out, struct pm_diag *diag)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct pm_store *st;
    int rc;

    *out = NULL;
    pthread_once(&once, configure_sqlite_once);
    if ((rc = create_file(path, diag)) < 0)
        return rc;
    st = pm_calloc(1, sizeof(*st));
    if (!st)
        return pm_diag_set(diag, -ENOMEM, "out of memory");
    /* NOMUTEX: one thread (the writer) uses a connection; no lock per call */
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = fail_sqlite(st, diag, "cannot open the profile");
        goto fail;
    }
    st->wait_naps = st->cap_naps = DEFAULT_WAIT_MS / NAP_MS;
    sqlite3_busy_handler(st->db, wait_for_lock, st);
    /* The page cache may grow to 16 MiB (SQLite's default is 2): a stack table larger than the
     * cache is re-read on every batch of inserts. Bigger buys little more and costs RSS. */
    if (sqlite3_exec(st->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                     "PRAGMA cache_size = -16384", NULL, NULL, NULL) != SQLITE_OK) {
        rc = fail_sqlite(st, diag, "not an SQLite file or not writable");
        goto fail;
    }
    if ((rc = create_schema(st, diag)) < 0 || (rc = prepare_statements(st, diag)) < 0)
        goto fail;
    *out = pm_steal(&st);
    return 0;
fail:
    pm_store_close(st);
    return rc;
}

static void
finalize_statements(struct pm_store *st)
{
#define PM_STMT_FINALIZE(name, sql) sqlite3_finalize(st->name);
    PM_STATEMENTS(PM_STMT_FINALIZE)
#undef PM_STMT_FINALIZE
#define PM_BATCH_FINALIZE(name, sql, ncol) \
    for (int k = 0; k < BATCH_SIZES; k++) \
        sqlite3_finalize(st->name.insert[k]);
    PM_BATCHES(PM_BATCH_FINALIZE)
#undef PM_BATCH_FINALIZE
    sqlite3_finalize(st->ends.stmt);
}

void
pm_store_close(struct pm_store *st)
{
    if (!st)
        return;
    if (st->db)
        pm_store_flush(st);     /* rows added outside a transaction */
    finalize_statements(st);
    sqlite3_close(st->db);
    pm_free(st);
}

int
pm_store_list_fds(struct pm_store *st, struct pm_store_fd *fds, int max)
{
    const char *path = st ? sqlite3_db_filename(st->db, "main") : NULL;
    size_t len = path ? strlen(path) : 0;
    char link[PATH_MAX + 1], name[64];
    struct dirent *e;
    DIR *dir;
    int n = 0;

    if (!len || !(dir = opendir("/proc/self/fd")))
        return 0;
    while ((e = readdir(dir)) && n < max) {
        struct stat sb;
        ssize_t k;
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dirfd(dir))
            continue;
        snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
        if ((k = readlink(name, link, sizeof(link) - 1)) < 0)
            continue;
        link[k] = '\0';
        if ((size_t)k < len || memcmp(link, path, len) != 0 ||
            (link[len] && strcmp(link + len, "-wal") && strcmp(link + len, "-shm")))
            continue;
        if (fstat(fd, &sb) == 0)
            fds[n++] = (struct pm_store_fd){ fd, sb.st_dev, sb.st_ino };
    }
    closedir(dir);
    return n;
}

int
pm_store_close_orphan(struct pm_store *st, const struct pm_store_fd *fds, int n)
{
    int devnull;

    if (!st)
        return 0;
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (fstat(fds[i].fd, &sb) == 0) {
            if (sb.st_dev == fds[i].dev && sb.st_ino == fds[i].ino)
                continue;   /* still ours */
            goto leak;      /* the number now belongs to someone else */
        }
        /* closed: occupy exactly that number (F_DUPFD never replaces an open descriptor) */
        int got = devnull < 0 ? -1 : fcntl(devnull, F_DUPFD_CLOEXEC, fds[i].fd);
        if (got != fds[i].fd) {
            if (got >= 0)
                close(got);
            goto leak;
        }
    }
    if (devnull >= 0)
        close(devnull);
    sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    discard_pending(st);        /* nothing may be written through this connection any more */
    pm_store_close(st);
    return 0;
leak:
    if (devnull >= 0)
        close(devnull);
    return -EBUSY;
}

const char *
pm_store_errmsg(struct pm_store *st)
{
    return st && st->db ? sqlite3_errmsg(st->db) : "no database";
}

/* Runs a bound statement to completion and resets it. */
static int
run(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -PM_ESQLITE;
}

/* Binds row r of b's buffer to parameters from `first` on. */
static void
bind_row(sqlite3_stmt *s, int first, const struct batch *b, int r)
{
    for (int c = 0; c < b->ncol; c++) {
        const struct cell *v = &b->row[r][c];
        if (v->text)
            sqlite3_bind_text(s, first + c, v->text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(s, first + c, v->i);
    }
}

/* Writes b's buffered rows, in order, each time in the largest statement that they fill. */
static int
flush_batch(struct batch *b)
{
    int rc = 0, n = b->n, r = 0;

    b->n = 0;
    for (int k = 0; k < BATCH_SIZES && rc == 0; k++) {
        int rows = BATCH_ROWS >> (2 * k);
        for (; n - r >= rows && rc == 0; r += rows) {
            for (int i = 0; i < rows; i++)
                bind_row(b->insert[k], 1 + i * b->ncol, b, r + i);
            rc = run(b->insert[k]);
        }
    }
    return rc;
}

static int
flush_ends(struct end_batch *e)
{
    int n = e->n;

    if (!n)
        return 0;
    e->n = 0;
    sqlite3_bind_int64(e->stmt, 1, e->until);
    for (int i = 0; i < n; i++)
        sqlite3_bind_int64(e->stmt, 2 + i, e->rowid[i]);
    return run(e->stmt);    /* unused ids stay NULL: "rowid IN (NULL)" matches nothing */
}

/* Buffers a row of b->ncol cells; flushes b first when it is full. */
static int
add_row(struct batch *b, const struct cell *cells)
{
    int rc = b->n == BATCH_ROWS ? flush_batch(b) : 0;

    memcpy(b->row[b->n++], cells, (size_t)b->ncol * sizeof(*cells));
    return rc;
}

static void
discard_pending(struct pm_store *st)
{
#define PM_BATCH_DISCARD(name, sql, ncol) st->name.n = 0;
    PM_BATCHES(PM_BATCH_DISCARD)
#undef PM_BATCH_DISCARD
    st->ends.n = 0;
    st->next_live_rowid = 0;
}

int
pm_store_flush(struct pm_store *st)
{
    int rc = 0;

    /* live rows before their ends: a row may end in the batch that started it */
#define PM_BATCH_FLUSH(name, sql, ncol) \
    if (rc == 0) \
        rc = flush_batch(&st->name);
    PM_BATCHES(PM_BATCH_FLUSH)
#undef PM_BATCH_FLUSH
    if (rc == 0)
        rc = flush_ends(&st->ends);
    if (rc < 0)
        discard_pending(st);
    if (sqlite3_get_autocommit(st->db))
        st->next_live_rowid = 0;    /* outside a transaction another process may insert */
    return rc;
}

int
pm_store_begin(struct pm_store *st)
{
    st->next_live_rowid = 0;
    return run(st->begin);
}

int
pm_store_try_begin(struct pm_store *st, int max_idle_ms, int max_wait_ms,
                   const atomic_bool *give_up)
{
    int rc;

    st->next_live_rowid = 0;
    st->wait_naps = max_idle_ms / NAP_MS;
    st->cap_naps = (max_wait_ms > max_idle_ms ? max_wait_ms : max_idle_ms) / NAP_MS;
    st->give_up = give_up;
    rc = sqlite3_step(st->begin);
    sqlite3_reset(st->begin);
    st->wait_naps = st->cap_naps = DEFAULT_WAIT_MS / NAP_MS;
    st->give_up = NULL;
    if (rc == SQLITE_DONE)
        return 0;
    if ((rc & 0xff) != SQLITE_BUSY)
        return -PM_ESQLITE;
    return give_up && atomic_load(give_up) ? -EINTR : -PM_EBUSY;
}

/* The transaction that takes the live table past PM_LIVE_INDEX_ROWS rows adds the table's
 * indexes, once; IF NOT EXISTS makes it a no-op when another process added them first. They
 * only make the viewer faster: if they cannot be made, the rows still go in (an error that
 * undid the transaction fails its COMMIT, as any other would). */
static void
index_live_when_big(struct pm_store *st)
{
    if (st->live_indexed || st->next_live_rowid <= PM_LIVE_INDEX_ROWS)
        return;
    st->live_indexed = true;
    (void)sqlite3_exec(st->db, PM_LIVE_INDEX_SQL, NULL, NULL, NULL);
}

int
pm_store_commit(struct pm_store *st)
{
    int rc = pm_store_flush(st);

    if (rc == 0)
        index_live_when_big(st);
    st->next_live_rowid = 0;
    return rc < 0 ? rc : run(st->commit);
}

void
pm_store_rollback(struct pm_store *st)
{
    discard_pending(st);
    run(st->rollback);
}

static void
bind_text(sqlite3_stmt *s, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

int
pm_store_add_process(struct pm_store *st, const struct pm_process_row *row, int64_t *id,
                     int64_t *run_id)
{
    sqlite3_stmt *s = st->add_process;
    int rc;

    sqlite3_bind_int64(s, 1, row->parent ? row->run : 0);
    if (row->parent)
        sqlite3_bind_int64(s, 2, row->parent);
    else
        sqlite3_bind_null(s, 2);
    sqlite3_bind_int64(s, 3, row->pid);
    sqlite3_bind_int64(s, 4, row->ppid);
    bind_text(s, 5, row->argv_json ? row->argv_json : "[]");
    bind_text(s, 6, row->executable);
    bind_text(s, 7, row->python_version);
    bind_text(s, 8, row->mode);
    sqlite3_bind_double(s, 9, row->start_time);
    if ((rc = run(s)) < 0)
        return rc;
    *id = sqlite3_last_insert_rowid(st->db);
    *run_id = row->parent ? row->run : *id;
    if (!row->parent) {
        sqlite3_bind_int64(st->set_run, 1, *id);
        return run(st->set_run);
    }
    return 0;
}

int
pm_store_find_process(struct pm_store *st, pid_t pid, int exec_only, int64_t *id, int64_t *run_id)
{
    sqlite3_stmt *s = exec_only ? st->find_exec : st->find_running;
    int rc = -PM_ENOTFOUND;

    sqlite3_bind_int64(s, 1, pid);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        *run_id = sqlite3_column_int64(s, 1);
        rc = 0;
    }
    sqlite3_reset(s);
    return rc;
}

int
pm_store_max_stack_id(struct pm_store *st, int64_t lo, int64_t hi, int64_t *out)
{
    sqlite3_stmt *s = st->max_stack_id;
    int rc;

    if ((rc = pm_store_flush(st)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, lo);
    sqlite3_bind_int64(s, 2, hi);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : -PM_ESQLITE;
}

int
pm_store_end_process(struct pm_store *st, int64_t id, double end_time, const char *reason,
                     int status)
{
    sqlite3_stmt *s = st->end_process;

    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_double(s, 2, end_time);
    bind_text(s, 3, reason);
    sqlite3_bind_int(s, 4, status);
    return run(s);
}

int
pm_store_add_frame(struct pm_store *st, int64_t id, const char *file, const char *function,
                   int line)
{
    return add_row(&st->frame, (const struct cell[]){ { .i = id }, { .text = file },
                                                      { .text = function }, { .i = line } });
}

int
pm_store_add_stack(struct pm_store *st, int64_t id, int64_t parent, int64_t frame, int depth,
                   int64_t key)
{
    return add_row(&st->stack, (const struct cell[]){ { .i = id }, { .i = parent }, { .i = frame },
                                                      { .i = depth }, { .i = key } });
}

int
pm_store_add_snapshot(struct pm_store *st, const struct pm_snapshot_row *row, int64_t *id)
{
    sqlite3_stmt *s = st->add_snapshot;
    int rc;

    sqlite3_bind_int64(s, 1, row->process);
    sqlite3_bind_text(s, 2, pm_snapshot_kind_name(row->kind), -1, SQLITE_STATIC);
    bind_text(s, 3, row->label);
    sqlite3_bind_double(s, 4, row->time);
    sqlite3_bind_int64(s, 5, row->heap_bytes);
    sqlite3_bind_int64(s, 6, row->heap_blocks);
    sqlite3_bind_int64(s, 7, row->rss_bytes);
    sqlite3_bind_int64(s, 8, row->tool_bytes);
    if ((rc = run(s)) < 0)
        return rc;
    *id = sqlite3_last_insert_rowid(st->db);
    return 0;
}

int
pm_store_finish_snapshot(struct pm_store *st, int64_t snapshot, int64_t blocks, int64_t more_tool)
{
    sqlite3_bind_int64(st->finish_snapshot, 1, snapshot);
    sqlite3_bind_int64(st->finish_snapshot, 2, blocks);
    sqlite3_bind_int64(st->finish_snapshot, 3, more_tool);
    return run(st->finish_snapshot);
}

/* Live rows get their rowids from us, so that they can be buffered: we hold the write lock,
 * so nobody else inserts meanwhile. */
static int
next_live_rowid(struct pm_store *st, int64_t *rowid)
{
    if (!st->next_live_rowid) {
        if (sqlite3_step(st->max_live_rowid) != SQLITE_ROW) {
            sqlite3_reset(st->max_live_rowid);
            return -PM_ESQLITE;
        }
        st->next_live_rowid = sqlite3_column_int64(st->max_live_rowid, 0) + 1;
        sqlite3_reset(st->max_live_rowid);
    }
    *rowid = st->next_live_rowid++;
    return 0;
}

int
pm_store_add_live(struct pm_store *st, int64_t process, int64_t stack, int64_t snapshot,
                  const struct pm_counts *c, int64_t *rowid)
{
    int rc;

    if ((rc = next_live_rowid(st, rowid)) < 0)
        return rc;
    struct cell v[BATCH_MAX_COLS] = { { .i = *rowid }, { .i = process }, { .i = stack },
                                      { .i = snapshot }, { .i = pm_counts_bytes(c) },
                                      { .i = pm_counts_blocks(c) } };
    for (int k = 0; k < PM_KIND_COUNT; k++) {
        v[6 + 2 * k] = (struct cell){ .i = c->bytes[k] };
        v[7 + 2 * k] = (struct cell){ .i = c->blocks[k] };
    }
    return add_row(&st->live, v);
}

/* Whether a buffered end names a live row still buffered: those hold the newest rowids. */
static bool
ends_buffered_row(const struct pm_store *st)
{
    int64_t first_buffered = st->next_live_rowid - st->live.n;

    for (int i = 0; st->live.n && i < st->ends.n; i++)
        if (st->ends.rowid[i] >= first_buffered)
            return true;
    return false;
}

int
pm_store_end_live(struct pm_store *st, int64_t rowid, int64_t until)
{
    struct end_batch *e = &st->ends;
    int rc = 0;

    if (e->n == BATCH_ROWS || (e->n && e->until != until)) {
        if (ends_buffered_row(st))
            rc = flush_batch(&st->live);
        if (rc == 0)
            rc = flush_ends(e);
    }
    e->until = until;
    e->rowid[e->n++] = rowid;
    return rc;
}

int
pm_store_set_churn(struct pm_store *st, int64_t process, int64_t stack, int64_t bytes,
                   int64_t blocks)
{
    return add_row(&st->churn, (const struct cell[]){ { .i = process }, { .i = stack },
                                                      { .i = bytes }, { .i = blocks } });
}

int
pm_store_add_timeline(struct pm_store *st, int64_t process, double time, int64_t heap_bytes,
                      int64_t rss_bytes)
{
    sqlite3_stmt *s = st->add_timeline;

    sqlite3_bind_int64(s, 1, process);
    sqlite3_bind_double(s, 2, time);
    sqlite3_bind_int64(s, 3, heap_bytes);
    sqlite3_bind_int64(s, 4, rss_bytes);
    return run(s);
}
