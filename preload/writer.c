/* SPDX-License-Identifier: MIT */
/* Writer thread: wakes every PYMEM_TIMELINE_MS (or when asked through an eventfd, which a
 * signal handler may write), and writes what is due in one transaction. Snapshots store only
 * the stacks whose counts changed since the previous snapshot of this process. */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "blockhdr.h"
#include "chunked.h"
#include "idorder.h"
#include "inherited.h"
#include "log.h"
#include "options.h"
#include "pyhooks.h"
#include "sharedstacks.h"
#include "stackrows.h"
#include "store.h"
#include "tracker.h"

enum {
    REQ_SIGNAL = 1 << 0,
    REQ_FINISH = 1 << 1,
};

/* What was last written for one stack in this process. */
struct last_written {
    struct pm_counts counts;
    int64_t rowid;          /* open live row, 0 = none */
    int64_t churn_bytes, churn_blocks;
};

struct pm_identity pm_identity;

static struct {
    pthread_t thread;
    pthread_mutex_t busy;   /* held while a batch is written; fork waits for it */
    int wake_fd;
    dev_t wake_dev;         /* identity of our eventfd, to notice fds closed under us */
    ino_t wake_ino;
    struct pm_store_fd store_fds[8];    /* SQLite's descriptors, to close it safely later */
    int n_store_fds;
    sem_t opened, finished;
    atomic_int requests;
    atomic_bool running, done;
    atomic_bool fork_waiting;   /* a fork waits for `busy`: stop waiting for the file's lock */
    int open_rc;
    const char *end_reason;
    int end_status;
    struct pm_store *store;
    int64_t process, run;
    uint32_t frames_written, stacks_written;    /* from 1: index 0 is no frame or stack */
    double interned_flush_time;     /* when flush_interned last ran */
    struct pm_chunked last;
    /* the snapshot being written's changes, kept from one snapshot to the next: growing a fresh
     * list to tens of thousands of entries each time (realloc, zeroing, page faults) was 0.9%
     * of black's samples */
    struct change *changes;
    size_t changes_cap;
    double next_periodic, next_churn, last_peak_time;
    int64_t last_peak_bytes;
    int64_t peak_seen_bytes;    /* the peak as of the last tick, and when it was first seen */
    double peak_seen_time;
    bool final_written;
    bool peak_written;      /* a peak snapshot of this process is in the file */
    bool forked;            /* this writer serves a forked child */
    /* Sharing stack rows across the fork tree (sharedstacks.h): stacks from index fork_point
     * on (those interned since this process last forked, or was forked) may be named by
     * another process's row: no child inherited them under this process's id. Rows written
     * from index publish_from on (since the first fork) are published once committed. */
    uint32_t fork_point, publish_from;
} w = { .busy = PTHREAD_MUTEX_INITIALIZER, .wake_fd = -1, .frames_written = 1,
        .stacks_written = 1, .fork_point = UINT32_MAX, .publish_from = UINT32_MAX };

static double
mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
since_start(void)
{
    return mono_now() - pm_identity.start_mono;
}

/* Reads a /proc file with read(2): stdio could allocate from the application's heap. */
static ssize_t
read_proc(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static int64_t
rss_now(void)
{
    char buf[256];
    long long pages = 0, resident = 0;

    if (read_proc("/proc/self/statm", buf, sizeof(buf)) <= 0 ||
        sscanf(buf, "%lld %lld", &pages, &resident) != 2)
        return 0;
    return resident * sysconf(_SC_PAGESIZE);
}

static int64_t
rss_peak(void)
{
    char buf[4096];
    const char *hwm;
    long long kb = 0;

    if (read_proc("/proc/self/status", buf, sizeof(buf)) <= 0 || !(hwm = strstr(buf, "VmHWM:")) ||
        sscanf(hwm + 6, "%lld", &kb) != 1)
        return rss_now();
    return kb * 1024;
}

static int64_t
frame_id(uint32_t idx)
{
    return pm_stacktab_frame_at(&pm_tracker.stacks, idx)->id;
}

static int64_t
stack_id(uint32_t idx)
{
    return pm_stackrows_id(idx, w.process);
}

static int
flush_interned(void)
{
    struct pm_stacktab *t = &pm_tracker.stacks;
    uint32_t nf = pm_stacktab_frame_count(t), ns = pm_stacktab_stack_count(t);
    uint32_t f0 = w.frames_written, s0 = w.stacks_written;
    struct pm_keyed *order = NULL;
    int rc = 0;

    if (f0 < nf) {
        if (!(order = pm_sorted_by_id(f0, nf, frame_id)))
            return -ENOMEM;
        for (uint32_t k = 0; k < nf - f0 && rc == 0; k++) {
            const struct pm_frame_rec *f = pm_stacktab_frame_at(t, order[k].idx);
            rc = pm_store_add_frame(w.store, f->id, f->file, f->function, f->line);
        }
        pm_free(order);
    }
    /* in index order, which is id order (stackrows.h): appended to the table */
    for (uint32_t i = s0; i < ns && rc == 0; i++) {
        const struct pm_stack_rec *s = pm_stacktab_stack_at(t, i);
        int64_t other = i >= w.fork_point ? pm_sharedstacks_find(s->key) : 0;
        if (other && pm_stackrows_share(i, other) == 0)
            continue;
        rc = pm_store_add_stack(w.store, stack_id(i), s->parent ? stack_id(s->parent) : 0,
                                pm_stacktab_frame_at(t, s->frame)->id, (int)s->depth, s->key);
    }
    if (rc == 0) {
        w.frames_written = nf;
        w.stacks_written = ns;
        w.interned_flush_time = mono_now();
    }
    return rc;
}

/* New frames and stacks go out ahead of the snapshots that need them, on this thread's core,
 * so that the final snapshot, written while the program waits at exit, has little left to do.
 * A tick flushes once the new stacks are a quarter of those written, or when they have waited
 * FLUSH_WAIT seconds: frame ids are content hashes, so a flush dirties pages all over the frame
 * table. (Stack rows are appended, see stackrows.h; on black, flushing at every tick instead
 * measured the same.) */
#define FLUSH_WAIT 2.0

static bool
interned_due(double now)
{
    uint32_t ns = pm_stacktab_stack_count(&pm_tracker.stacks);
    uint32_t written = w.stacks_written;

    if (ns <= written && pm_stacktab_frame_count(&pm_tracker.stacks) <= w.frames_written)
        return false;
    return ns - written >= written / 4 || now - w.interned_flush_time >= FLUSH_WAIT;
}

static bool
counts_zero(const struct pm_counts *c)
{
    static const struct pm_counts zero;
    return memcmp(c, &zero, sizeof(zero)) == 0;
}

/* A stack whose counts or run totals differ from what was last written for it. The values to
 * write are already in its last_written record (collect_changes puts them there): 8 bytes a
 * change instead of 72 kept the list of black's 57k changes at 0.5 MB instead of 4 MB of fresh
 * pages in every process. */
struct change {
    uint32_t idx;
    bool counts_differ, churn_differs;
};

/* Reads every written stack's counters, in index order (sequential memory: in id order the
 * reads were two cache misses a stack, 15 ms a snapshot on black), and lists in w.changes those
 * whose live (at_peak for a peak snapshot) counts or, with churn, run totals differ from what
 * was last written, storing the new values in their last_written records. All are read before
 * any is written, so that a snapshot is one moment of the program, not the span of its
 * inserts. *blocks gets the snapshot's block count, *python_blocks its MEM and OBJ ones.
 * Returns 0 or -ENOMEM (the writer then stops: the records need not match the file any more). */
static int
collect_changes(bool peak, bool with_churn, size_t *n_out, int64_t *blocks, int64_t *python_blocks)
{
    size_t n = 0;

    *blocks = *python_blocks = 0;
    for (uint32_t i = 1; i < w.stacks_written; i++) {
        struct pm_stack_view v;
        if (pm_chunked_reserve(&w.last, i) < 0)
            return -ENOMEM;
        struct last_written *last = pm_chunked_at(&w.last, i);
        pm_heap_read(&pm_tracker.heap, i, &v);
        const struct pm_counts *c = peak ? &v.at_peak : &v.live;
        bool counts_differ = memcmp(c, &last->counts, sizeof(*c)) != 0;
        bool churn_differs = with_churn && (v.alloc_bytes != last->churn_bytes ||
                                            v.alloc_blocks != last->churn_blocks);
        *blocks += pm_counts_blocks(c);
        *python_blocks += c->blocks[PM_KIND_PYTHON];
        if (!counts_differ && !churn_differs)
            continue;
        if (pm_grow(&w.changes, &w.changes_cap, n, sizeof(*w.changes)) < 0)
            return -ENOMEM;
        w.changes[n++] = (struct change){ i, counts_differ, churn_differs };
        if (counts_differ)
            last->counts = *c;
        if (churn_differs) {
            last->churn_bytes = v.alloc_bytes;
            last->churn_blocks = v.alloc_blocks;
        }
    }
    *n_out = n;
    return 0;
}

/* Writes the changed stacks' rows, in index order: stack id order, so B-tree keys arrive in
 * order and touch each page once (in random order, a page per row). churn_differs is only ever
 * set for a snapshot that carries run totals. */
static int
write_changes(const struct change *changed, size_t n, int64_t snap)
{
    int rc = 0;

    for (size_t k = 0; k < n && rc == 0; k++) {
        const struct change *ch = &changed[k];
        struct last_written *last = pm_chunked_at(&w.last, ch->idx);
        if (ch->counts_differ) {
            if (last->rowid)
                rc = pm_store_end_live(w.store, last->rowid, snap);
            last->rowid = 0;
            if (rc == 0 && !counts_zero(&last->counts))
                rc = pm_store_add_live(w.store, w.process, stack_id(ch->idx), snap, &last->counts,
                                       &last->rowid);
        }
        if (rc == 0 && ch->churn_differs)
            rc = pm_store_set_churn(w.store, w.process, stack_id(ch->idx), last->churn_bytes,
                                    last->churn_blocks);
    }
    return rc;
}

static int
write_snapshot(enum pm_snapshot_kind kind, bool finishing)
{
    struct pm_heap *h = &pm_tracker.heap;
    bool peak = kind == PM_SNAPSHOT_PEAK;
    struct pm_snapshot_row row = {
        .process = w.process,
        .kind = kind,
        .time = peak ? w.peak_seen_time : since_start(),
        .heap_bytes = peak ? atomic_load(&h->peak_bytes) : pm_heap_bytes(h),
        .rss_bytes = peak ? rss_peak() : rss_now(),
    };
    int64_t snap;
    int rc;
    /* Run-long totals change on nearly every stack between snapshots: writing them with every
     * periodic snapshot would rewrite every stack each time. They go with final and signal
     * snapshots, and with a periodic or peak one at most once a minute (a killed run keeps
     * those; at exit only the totals that moved since are written again). */
    bool with_churn = kind == PM_SNAPSHOT_FINAL || kind == PM_SNAPSHOT_SIGNAL ||
                      ((kind == PM_SNAPSHOT_PERIODIC || kind == PM_SNAPSHOT_PEAK) &&
                       !finishing && mono_now() >= w.next_churn);

    if (with_churn)
        w.next_churn = mono_now() + 60.0;
    if ((rc = flush_interned()) < 0 ||
        (kind == PM_SNAPSHOT_FINAL && (rc = pm_inherited_write_missing(w.store, w.process)) < 0))
        return rc;
    row.tool_bytes = (int64_t)pm_alloc_tool_bytes();
    if (pm_log_level >= PM_LOG_DEBUG)   /* the sizes walk every table: only when asked */
        pm_debug("%s snapshot: tool %lld B = live table %zu (%zu entries) + stacks %zu + "
                 "counters %zu + rest", pm_snapshot_kind_name(kind), (long long)row.tool_bytes,
                 pm_addrmap_bytes(&pm_tracker.live) + pm_addrmap_bytes(&pm_tracker.live_python),
                 pm_addrmap_count(&pm_tracker.live) + pm_addrmap_count(&pm_tracker.live_python),
                 pm_stacktab_bytes(&pm_tracker.stacks),
                 pm_chunked_bytes(&pm_tracker.heap.counters) +
                     pm_chunked_bytes(&pm_tracker.heap.shared));
    if ((rc = pm_store_add_snapshot(w.store, &row, &snap)) < 0)
        return rc;
    size_t n_changed = 0;
    int64_t blocks = 0, python_blocks = 0;
    if ((rc = collect_changes(peak, with_churn, &n_changed, &blocks, &python_blocks)) == 0)
        rc = write_changes(w.changes, n_changed, snap);
    if (rc == 0)
        rc = pm_store_finish_snapshot(w.store, snap, blocks,
                                      pm_pyhooks_inband ? python_blocks * PM_BLOCKHDR_SIZE : 0);
    if (peak && rc == 0) {
        w.last_peak_bytes = row.heap_bytes;
        w.last_peak_time = mono_now();
        w.peak_written = true;
    }
    return rc;
}

static bool
peak_moved(void)
{
    return atomic_load(&pm_tracker.heap.peak_bytes) != w.last_peak_bytes;
}

/* A peak snapshot is due at exit, and otherwise at most once per interval. The first one does
 * not wait for the interval: as soon as the peak has held for PEAK_SETTLE seconds it is written
 * (with the run totals), while the program runs on. Most programs peak early, so their exit no
 * longer waits for the rows of the peak and of the totals (black's processes: ~75% of their
 * final batch); and a process killed later (OOM) keeps a peak in the file. Short-lived workers
 * exit together and write their finals in turn, so every row written before the exit shortens
 * that queue: 0.1 s measured 2.31x against 2.45x for 0.25 s on black (35 interleaved rounds).
 * mypy, whose peak is now written while it still runs, pays ~3% (1.56x with 0.25 s, 1.60x with
 * 0.1 s, 25 interleaved rounds). */
#define PEAK_SETTLE 0.1

static bool
peak_due(double now, bool finishing)
{
    if (w.final_written || !peak_moved())
        return false;
    if (finishing)
        return true;
    if (pm_options.interval <= 0)
        return false;
    if (!w.peak_written)
        return now - pm_identity.start_mono - w.peak_seen_time >= PEAK_SETTLE;
    return now - w.last_peak_time >= pm_options.interval;
}

/* Publishes the stack rows that the transaction just committed wrote under this process's ids
 * (those from index `first`, the first stack it had to write), for the rest of the fork tree to
 * name them. */
static void
publish_written(uint32_t first)
{
    for (uint32_t i = first > w.publish_from ? first : w.publish_from; i < w.stacks_written; i++) {
        if (!pm_stackrows_is_shared(i))
            pm_sharedstacks_publish(pm_stacktab_stack_at(&pm_tracker.stacks, i)->key, stack_id(i));
    }
}

/* How long a batch waits for the write lock while another process of the run writes. A batch
 * that cannot get it is put off, its requests kept for the next tick: nothing is lost (the
 * counters keep accumulating), and a fork, which waits for the batch, is never held up by the
 * wait (w.fork_waiting ends it at once). Only the final snapshot, which the exiting program
 * waits for, gives up for good: after FINAL_IDLE_MS in which no other process wrote (a lock held
 * still), or after FINAL_WAIT_MS in all. A pool of workers that all exit at once queues for the
 * lock: each final waits for those before it, and with a few large ones that took longer than
 * 10 s, the last worker lost its final snapshot. The exiting program waits for the final up to
 * FINISH_WAIT_S. */
#define BATCH_WAIT_MS 1000
#define FINAL_IDLE_MS 10000
#define FINAL_WAIT_MS 60000
#define FINISH_WAIT_S (FINAL_WAIT_MS / 1000 + 15)

/* One batch: whatever is due now, in one transaction. Returns 0, 1 when it was put off (the
 * file stayed locked), or a negative code. */
static int
write_batch(int requests)
{
    double now = mono_now();
    bool finishing = requests & REQ_FINISH;
    int rc;

    pthread_mutex_lock(&w.busy);
    uint32_t first_stack = w.stacks_written;
    /* A peak snapshot is dated when the peak happened (to a tick), not when it is written. */
    int64_t peak_now = atomic_load(&pm_tracker.heap.peak_bytes);
    if (peak_now != w.peak_seen_bytes) {
        w.peak_seen_bytes = peak_now;
        w.peak_seen_time = now - pm_identity.start_mono;
    }
    rc = finishing ? pm_store_try_begin(w.store, FINAL_IDLE_MS, FINAL_WAIT_MS, &w.fork_waiting)
                   : pm_store_try_begin(w.store, BATCH_WAIT_MS, BATCH_WAIT_MS, &w.fork_waiting);
    if (rc == -EINTR || (rc == -PM_EBUSY && !finishing)) {
        atomic_fetch_or(&w.requests, requests);
        pm_debug("profile locked by another writer: batch put off");
        rc = 1;
        goto out;
    }
    if (rc < 0)
        goto out;
    double locked = mono_now();     /* BEGIN IMMEDIATE waits while another process writes */
    /* once tracking is off (retired after the final snapshot, or failed) the heap total no
     * longer moves: points would show a flat line that is not the program's */
    if (atomic_load_explicit(&pm_tracking_on, memory_order_relaxed))
        rc = pm_store_add_timeline(w.store, w.process, now - pm_identity.start_mono,
                                   pm_heap_bytes(&pm_tracker.heap), rss_now());
    if (rc == 0 && interned_due(now))
        rc = flush_interned();
    double interned = mono_now();
    /* After the final snapshot nothing more of the process is written: the interpreter is
     * tearing itself down (module globals freed), and tracking retires. */
    if (rc == 0 && !w.final_written && pm_options.interval > 0 && now >= w.next_periodic) {
        rc = write_snapshot(PM_SNAPSHOT_PERIODIC, finishing);
        w.next_periodic = now + pm_options.interval;
    }
    if (rc == 0 && peak_due(now, finishing))
        rc = write_snapshot(PM_SNAPSHOT_PEAK, finishing);
    if (rc == 0 && !w.final_written && (requests & REQ_SIGNAL))
        rc = write_snapshot(PM_SNAPSHOT_SIGNAL, finishing);
    if (rc == 0 && finishing && !w.final_written) {
        rc = write_snapshot(PM_SNAPSHOT_FINAL, finishing);
        w.final_written = rc == 0;
        if (w.final_written)
            pm_tracker_retire();
    }
    if (rc == 0 && finishing && w.end_reason) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        rc = pm_store_end_process(w.store, w.process, (double)ts.tv_sec + ts.tv_nsec / 1e9,
                                  w.end_reason, w.end_status);
    }
    double written = mono_now();
    if (rc == 0)
        rc = pm_store_commit(w.store);
    else
        pm_store_rollback(w.store);
    if (rc == 0)
        publish_written(first_stack);
    double end = mono_now();
    if (end - now > 0.1)
        pm_debug("batch %#x took %.3f s: lock wait %.3f, frames and stacks %.3f, snapshots "
                 "%.3f, commit %.3f", (unsigned)requests, end - now, locked - now,
                 interned - locked, written - interned, end - written);
out:
    pthread_mutex_unlock(&w.busy);
    return rc;
}

static int
open_wake_fd(void)
{
    struct stat st;

    w.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w.wake_fd < 0)
        return -errno;
    fstat(w.wake_fd, &st);
    w.wake_dev = st.st_dev;
    w.wake_ino = st.st_ino;
    return 0;
}

/* A program may close every descriptor (subprocess's close_fds after a fork, daemonizing), and
 * may then reuse the numbers. If our eventfd is gone, SQLite's descriptor is gone too: abandon
 * that connection without touching it (it could now write into someone else's file) and open a
 * fresh one. Returns 0, or a negative code if the profile cannot be reopened. */
static bool
descriptors_lost(void)
{
    struct stat st;

    return fstat(w.wake_fd, &st) != 0 || st.st_dev != w.wake_dev || st.st_ino != w.wake_ino;
}

/* Finds the process row we continue (exec) or descend from (a profiled ancestor). */
static void
find_parent(void)
{
    char path[64], buf[512];
    pid_t pid = pm_identity.ppid;
    int64_t id, run;

    if (pm_identity.parent_id)
        return;
    if (pm_store_find_process(w.store, pm_identity.pid, 1, &id, &run) == 0)
        goto found;     /* we are what an exec'd process became */
    for (int hops = 0; pid > 1 && hops < 16; hops++) {
        char *p;
        if (pm_store_find_process(w.store, pid, 0, &id, &run) == 0)
            goto found;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (read_proc(path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')))
            return;
        if (sscanf(p + 1, " %*c %d", &pid) != 1)
            return;
    }
    return;
found:
    pm_identity.parent_id = id;
    pm_identity.run_id = run;
}

static int
open_and_register(void)
{
    struct pm_diag diag = { 0 };
    int rc = pm_store_open(pm_options.output, &w.store, &diag);

    if (rc < 0) {
        if (!descriptors_lost())
            pm_warn("cannot write the profile: %s", diag.msg);
        return rc;
    }
    /* A fork meanwhile waits for this registration even while the file is locked: the child's
     * row must name this process's row as its parent. */
    if ((rc = pm_store_begin(w.store)) < 0)
        goto fail;
    find_parent();
    struct pm_process_row row = {
        .parent = pm_identity.parent_id,
        .run = pm_identity.run_id,
        .pid = pm_identity.pid,
        .ppid = pm_identity.ppid,
        .argv_json = pm_identity.argv_json,
        .executable = pm_identity.executable,
        .python_version = pm_identity.python_version,
        .mode = "full",
        .start_time = pm_identity.start_wall,
    };
    if ((rc = pm_store_add_process(w.store, &row, &w.process, &w.run)) < 0 ||
        (rc = pm_store_commit(w.store)) < 0) {
        pm_store_rollback(w.store);
        goto fail;
    }
    w.n_store_fds = pm_store_list_fds(w.store, w.store_fds, ARRAY_SIZE(w.store_fds));
    return 0;
fail:
    if (descriptors_lost()) {
        w.store = NULL;     /* abandoned: its descriptor number may be reused already */
        return rc;
    }
    pm_warn("cannot write the profile '%s': %s", pm_options.output, pm_store_errmsg(w.store));
    pm_store_close(w.store);
    w.store = NULL;
    return rc;
}

static int
check_descriptors(void)
{
    struct pm_diag diag = { 0 };
    int rc;

    if (!descriptors_lost())
        return 0;
    pm_debug("descriptors closed under us; reopening the profile");
    pthread_mutex_lock(&w.busy);    /* a fork meanwhile must not copy SQLite mid-call */
    if (pm_store_close_orphan(w.store, w.store_fds, w.n_store_fds) < 0) {
        w.store = NULL;     /* leaked: SQLite would keep using its stale lock state */
        rc = -EBUSY;
    } else {
        w.store = NULL;
        if ((rc = open_wake_fd()) == 0 &&
            (rc = pm_store_open(pm_options.output, &w.store, &diag)) < 0)
            pm_warn("cannot reopen the profile: %s", diag.msg);
    }
    if (rc == 0)
        w.n_store_fds = pm_store_list_fds(w.store, w.store_fds, ARRAY_SIZE(w.store_fds));
    pthread_mutex_unlock(&w.busy);
    return rc;
}

static void *
writer_main(void *arg)
{
    pm_guard_enter();   /* for life: nothing this thread allocates is the program's */
    if (w.forked) {
        /* A forked child often closes every descriptor and execs at once (subprocess with
         * preexec_fn): opening the file only after a short pause keeps SQLite out of that race;
         * an exec meanwhile still gets its final snapshot (the request waits for us). */
        struct pollfd pfd = { .fd = w.wake_fd, .events = POLLIN };
        poll(&pfd, 1, 50);
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_mutex_lock(&w.busy);    /* a fork meanwhile must not copy SQLite mid-call */
        w.open_rc = open_and_register();
        pthread_mutex_unlock(&w.busy);
        /* a forked child may close every descriptor while we open (subprocess, close_fds) */
        if (w.open_rc == 0 || !descriptors_lost() || open_wake_fd() < 0)
            break;
        w.store = NULL;     /* the failed open's connection was abandoned above */
    }
    sem_post(&w.opened);
    if (w.open_rc < 0) {
        pm_tracker_fail("no profile file");
        atomic_store(&w.done, true);
        sem_post(&w.finished);
        return NULL;
    }
    w.next_periodic = mono_now() + pm_options.interval;
    w.last_peak_time = mono_now();
    for (;;) {
        struct pollfd pfd = { .fd = w.wake_fd, .events = POLLIN };
        uint64_t ignored;
        poll(&pfd, 1, (int)pm_options.timeline_ms);
        if (pfd.revents & POLLIN)
            (void)!read(w.wake_fd, &ignored, sizeof(ignored));
        int req = atomic_exchange(&w.requests, 0), rc = 0;
        if (check_descriptors() < 0 || (rc = write_batch(req)) < 0) {
            pm_warn("cannot write the profile '%s': %s", pm_options.output,
                    pm_store_errmsg(w.store));
            pm_tracker_fail("writing the profile failed");
            atomic_store(&w.done, true);
            sem_post(&w.finished);
            return NULL;
        }
        if (rc > 0)
            continue;   /* put off: the requests wait for the next tick */
        if ((req & REQ_FINISH) && w.end_reason) {
            /* Closing checkpoints the WAL: a finished run leaves one self-contained file. */
            pm_store_close(w.store);
            w.store = NULL;
            atomic_store(&w.done, true);
            sem_post(&w.finished);
            return NULL;    /* the process is ending: nothing more to write */
        }
        if (req & REQ_FINISH)
            sem_post(&w.finished);
    }
}

int
pm_writer_start(bool wait)
{
    sigset_t all, old;
    int rc;

    pm_chunked_init(&w.last, sizeof(struct last_written));
    sem_init(&w.opened, 0, 0);
    sem_init(&w.finished, 0, 0);
    if ((rc = open_wake_fd()) < 0)
        return rc;
    sigfillset(&all);
    pm_guard_enter();   /* pthread_create allocates: not the program's memory */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&w.thread, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pm_guard_leave();
    if (rc != 0)
        return -rc;
    atomic_store(&w.running, true);
    if (!wait)
        return 0;
    while (sem_wait(&w.opened) < 0 && errno == EINTR)
        ;
    return w.open_rc;
}

static void
wake(void)
{
    uint64_t one = 1;
    (void)!write(w.wake_fd, &one, sizeof(one));
}

void
pm_writer_request_signal_snapshot(void)
{
    int saved = errno;

    if (atomic_load(&w.running) && !atomic_load(&w.done)) {
        atomic_fetch_or(&w.requests, REQ_SIGNAL);
        wake();
    }
    errno = saved;
}

bool
pm_writer_finished(void)
{
    return !atomic_load(&w.running) || atomic_load(&w.done);
}

void
pm_writer_finish(const char *reason, int status)
{
    struct timespec deadline;
    int saved = errno;

    if (pm_writer_finished())
        return;
    if (reason) {
        w.end_reason = reason;
        w.end_status = status;
    } else if (w.final_written) {
        return;
    }
    atomic_fetch_or(&w.requests, REQ_FINISH);
    wake();
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += FINISH_WAIT_S;
    while (sem_timedwait(&w.finished, &deadline) < 0 && errno == EINTR)
        ;
    errno = saved;
}

void
pm_writer_prefork(void)
{
    if (atomic_load(&w.running)) {
        atomic_store(&w.fork_waiting, true);
        pthread_mutex_lock(&w.busy);
        atomic_store(&w.fork_waiting, false);
    }
}

void
pm_writer_fork_point(uint32_t n_stacks)
{
    if (!atomic_load(&w.running))
        return;
    pm_sharedstacks_create();
    w.fork_point = n_stacks;
    if (w.publish_from == UINT32_MAX)
        w.publish_from = n_stacks;
}

void
pm_writer_postfork_parent(void)
{
    if (atomic_load(&w.running))
        pthread_mutex_unlock(&w.busy);
}

void
pm_writer_postfork_child(void)
{
    if (!atomic_load(&w.running))
        return;
    pthread_mutex_unlock(&w.busy);
    if (atomic_load(&w.done) || w.final_written)
        return;     /* the parent had finished (its tracking retired): the child is not profiled */
    /* Close the inherited connection now, before the program can close or reuse its
     * descriptors: SQLite keeps per-process lock bookkeeping per file, and a new connection in
     * this process would otherwise inherit the parent's (and wait on locks we do not hold). The
     * fcntl locks themselves belong to the parent and are untouched. No transaction is open:
     * prepare waited for the writer's batch. */
    pm_store_close_orphan(w.store, w.store_fds, w.n_store_fds);
    w.store = NULL;
    uint32_t n_stacks = pm_stacktab_stack_count(&pm_tracker.stacks);
    uint32_t n_frames = pm_stacktab_frame_count(&pm_tracker.stacks);
    if (w.process) {    /* the parent has a process row: what it interned, it writes */
        pm_inherited_note_fork(w.stacks_written, n_stacks, w.frames_written, n_frames);
        w.stacks_written = n_stacks;
        w.frames_written = n_frames;
    }
    pm_stackrows_after_fork(n_stacks, w.process);
    w.fork_point = w.publish_from = n_stacks;   /* its own stacks: shared from their first */
    pm_identity.parent_id = w.process;
    pm_identity.run_id = w.run;
    pm_identity.ppid = pm_identity.pid;
    pm_identity.pid = getpid();
    pm_identity.start_mono = mono_now();
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        pm_identity.start_wall = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    }
    w.final_written = false;
    w.peak_written = false;
    w.next_churn = 0;       /* run totals at most once a minute, per process: a child killed
                             * soon after its parent wrote its own must still have its own */
    w.end_reason = NULL;
    w.last_peak_bytes = 0;
    w.peak_seen_bytes = 0;
    atomic_store(&w.requests, 0);
    atomic_store(&w.running, false);
    w.forked = true;
    close(w.wake_fd);
    if (pm_writer_start(false) < 0)
        pm_tracker_fail("cannot start the writer in a forked child");
}
