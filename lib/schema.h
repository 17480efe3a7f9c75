/* SPDX-License-Identifier: MIT */
/* The profile file's schema: the public contract documented in README.md. Bump PM_SCHEMA_VERSION
 * on any incompatible change; the viewer refuses versions it does not know. */
#pragma once

#define PM_SCHEMA_VERSION 2

/* Frame ids are 63-bit content hashes: every process that sees a frame writes the same row
 * (INSERT OR IGNORE). A stack's id is (process id << 32 | n) for the process that first met it
 * (a forked child shares its parent's; forked processes of one tree reuse a row another of them
 * committed), so each process appends to the stack table instead of inserting all over it; its
 * content hash is its `key`, the same in every process and file. */
#define PM_SCHEMA_SQL \
    "CREATE TABLE IF NOT EXISTS process(\n" \
    "  id INTEGER PRIMARY KEY,\n" \
    "  run INTEGER NOT NULL,\n"             /* id of the run's root process */ \
    "  parent INTEGER,\n"                   /* process(id) that forked/exec'd us; NULL for a root */ \
    "  pid INTEGER NOT NULL,\n" \
    "  ppid INTEGER NOT NULL,\n" \
    "  argv TEXT NOT NULL,\n"               /* JSON array of strings */ \
    "  executable TEXT,\n" \
    "  python_version TEXT,\n" \
    "  mode TEXT NOT NULL,\n"               /* 'full': every allocation with its traceback */ \
    "  start_time REAL NOT NULL,\n"         /* unix seconds */ \
    "  end_time REAL,\n"                    /* NULL while running or after SIGKILL */ \
    "  end_reason TEXT,\n"                  /* exit | _exit | exec | signal | fork-exit */ \
    "  exit_status INTEGER\n"               /* exit status, or signal number for 'signal' */ \
    ");\n" \
    "CREATE INDEX IF NOT EXISTS process_by_pid ON process(pid);\n" \
    "CREATE TABLE IF NOT EXISTS frame(\n" \
    "  id INTEGER PRIMARY KEY,\n" \
    "  file TEXT NOT NULL,\n" \
    "  function TEXT NOT NULL,\n" \
    "  line INTEGER NOT NULL\n" \
    ");\n" \
    "CREATE TABLE IF NOT EXISTS stack(\n"   /* a trie: innermost frame + caller stack */ \
    "  id INTEGER PRIMARY KEY,\n" \
    "  parent INTEGER NOT NULL,\n"          /* caller stack id; 0 = none (outermost frame) */ \
    "  frame INTEGER NOT NULL,\n"           /* frame(id) of the innermost frame */ \
    "  depth INTEGER NOT NULL,\n"           /* 1 for an outermost frame */ \
    "  key INTEGER NOT NULL\n"              /* content hash of (parent's key, frame) */ \
    ");\n" \
    "CREATE TABLE IF NOT EXISTS snapshot(\n" \
    "  id INTEGER PRIMARY KEY,\n" \
    "  process INTEGER NOT NULL,\n" \
    "  kind TEXT NOT NULL,\n"               /* peak | periodic | signal | manual | final */ \
    "  label TEXT,\n" \
    "  time REAL NOT NULL,\n"               /* seconds since the process started */ \
    "  heap_bytes INTEGER NOT NULL,\n"      /* live tracked bytes at that moment */ \
    "  heap_blocks INTEGER NOT NULL,\n" \
    "  rss_bytes INTEGER NOT NULL,\n"       /* RSS when written; peak RSS for kind 'peak' */ \
    "  tool_bytes INTEGER NOT NULL\n"       /* pymem's own memory (its private arena) */ \
    ");\n" \
    "CREATE INDEX IF NOT EXISTS snapshot_by_process ON snapshot(process, kind);\n" \
    /* Live memory per stack. A row holds for the snapshots s of its process with \
     * first_snapshot <= s.id < until_snapshot (until NULL = still current): only changes are \
     * stored. Use the view snapshot_live rather than this table directly. */ \
    "CREATE TABLE IF NOT EXISTS live(\n" \
    "  process INTEGER NOT NULL,\n" \
    "  stack INTEGER NOT NULL,\n" \
    "  first_snapshot INTEGER NOT NULL,\n" \
    "  until_snapshot INTEGER,\n" \
    "  bytes INTEGER NOT NULL,\n" \
    "  blocks INTEGER NOT NULL,\n" \
    "  python_bytes INTEGER NOT NULL,\n"    /* PyMem_Malloc / PyObject_Malloc (MEM, OBJ) */ \
    "  python_blocks INTEGER NOT NULL,\n" \
    "  raw_bytes INTEGER NOT NULL,\n"       /* PyMem_RawMalloc (RAW) */ \
    "  raw_blocks INTEGER NOT NULL,\n" \
    "  native_bytes INTEGER NOT NULL,\n"    /* malloc & co. called by C code */ \
    "  native_blocks INTEGER NOT NULL\n" \
    ");\n" \
    "CREATE TABLE IF NOT EXISTS churn(\n"   /* allocated over the whole life of a process */ \
    "  process INTEGER NOT NULL,\n" \
    "  stack INTEGER NOT NULL,\n" \
    "  alloc_bytes INTEGER NOT NULL,\n" \
    "  alloc_blocks INTEGER NOT NULL,\n" \
    "  PRIMARY KEY(process, stack)\n" \
    ") WITHOUT ROWID;\n" \
    "CREATE TABLE IF NOT EXISTS timeline(\n" \
    "  process INTEGER NOT NULL,\n" \
    "  time REAL NOT NULL,\n"               /* seconds since the process started */ \
    "  heap_bytes INTEGER NOT NULL,\n" \
    "  rss_bytes INTEGER NOT NULL\n" \
    ");\n" \
    "CREATE INDEX IF NOT EXISTS timeline_by_process ON timeline(process, time);\n" \
    "CREATE VIEW IF NOT EXISTS snapshot_live AS\n" \
    "  SELECT s.id AS snapshot, l.stack, l.bytes, l.blocks, l.python_bytes, l.python_blocks,\n" \
    "         l.raw_bytes, l.raw_blocks, l.native_bytes, l.native_blocks\n" \
    "  FROM snapshot s JOIN live l ON l.process = s.process AND l.first_snapshot <= s.id\n" \
    "   AND (l.until_snapshot IS NULL OR l.until_snapshot > s.id);\n"

/* The live table's indexes. live_by_until: rows live at S = still-open rows started by S + one
 * seek per later until_snapshot; covering, so `top` reads no table pages (0.5 s instead of
 * 1.5 s on a 1 GB file). live_by_snapshot: one process's rows started by S. Made by the writer
 * whose batch takes the live table past PM_LIVE_INDEX_ROWS rows, not with the schema: keeping
 * them costs every insert and end (black: 2.32x -> 2.17x plain), and below that size `top` is
 * about as fast without them (0.16 s against 0.15 s on 550k rows; pymem-view uses them when the
 * file has them). */
#define PM_LIVE_INDEX_ROWS 524288
#define PM_LIVE_INDEX_SQL \
    "CREATE INDEX IF NOT EXISTS live_by_snapshot ON live(process, first_snapshot);\n" \
    "CREATE INDEX IF NOT EXISTS live_by_until ON live(process, until_snapshot, first_snapshot, " \
    "stack, bytes, blocks)"
