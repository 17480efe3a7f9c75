/* SPDX-License-Identifier: MIT */
/* pm_capture_stack: walk the Python frames, hash the (code, instruction) pairs, and look the
 * hash up in a lock-free cache of known stacks. Only a miss takes the intern lock, resolves
 * lines (once per instruction, then cached) and interns frames and stacks.
 *
 * Code objects die and their addresses get reused. Each address maps to a generation counter
 * (a small table) that is bumped when the OBJ domain frees a code object; the generation is
 * part of every hash, so stale cache entries simply stop matching. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc.h"
#include "hash.h"
#include "log.h"
#include "options.h"
#include "pyapi.h"
#include "pystack.h"
#include "tracker.h"

#define GEN_SLOTS 4096u
#define PROBES 8u

#define MEMO_FRAMES 128u

static const struct pm_pystack_ops *ops;
static unsigned depth_cap = PM_DEFAULT_DEPTH;
static atomic_bool walking;
static _Atomic uint32_t code_gen[GEN_SLOTS];
static _Atomic uint64_t code_frees;     /* any code object freed: memos are stale */

/* This thread's previous capture, with the running hash through each frame. Consecutive
 * allocations share most of their callers: only the frames below the shared part need hashing
 * (on deep stacks the hash chain was half the cost of a capture). The frames sit at the end of
 * `frame`, innermost first like a walk's output, so that the outer frame at depth j (from the
 * outermost, 0) is frame[MEMO_FRAMES - 1 - j]: the shared part is one block in both arrays. */
struct capture_memo {
    uint64_t code_frees;    /* code_frees when filled: a freed code's address may be reused */
    unsigned n;             /* 0 = empty */
    bool truncated;
    bool complete;          /* holds the whole stack (not truncated, at most MEMO_FRAMES) */
    struct pm_raw_frame frame[MEMO_FRAMES];
    /* the interpreter frame each was read from and its instruction (same order), then a
     * {NULL, NULL} that is never written: the outermost frame's caller */
    struct pm_known_frame known[MEMO_FRAMES + 1];
    uint64_t running[MEMO_FRAMES];  /* by depth from the outermost */
    uint32_t stack;         /* the capture's stack index; 0 = unknown (or truncated) */
};
static _Thread_local struct capture_memo memo PM_TLS_IE;

/* This thread's recently found stacks, direct-mapped by key, in front of the shared cache:
 * a program allocates from a working set of stacks far smaller than all of them, and a probe
 * of the shared table (megabytes, random) was a cache miss on most events. A key always means
 * the same stack (code generations are part of it), so an entry never needs invalidating. */
/* 48 KiB a thread (zeroed when the thread starts). 1024 slots: black missed 14% (256: 22%);
 * 4096 measured 0.02-0.12x less on black in four interleaved runs of 21-25 rounds. */
#define FRONT_SLOTS 4096u
static _Thread_local uint64_t front_key[FRONT_SLOTS] PM_TLS_IE;
static _Thread_local uint32_t front_stack[FRONT_SLOTS] PM_TLS_IE;

/* ---- lock-free stack cache: 64-bit raw hash -> stack index ---- */
struct cache_slot {
    _Atomic uint64_t key;   /* 0 = empty */
    _Atomic uint32_t stack;
};

struct stack_cache {
    uint32_t mask, used;
    struct stack_cache *retired;    /* older tables: readers may still be in them */
    struct cache_slot slot[];
};

static struct stack_cache *_Atomic cache;

/* ---- frame cache, under the intern lock: (code, instr, gen) -> frame index ---- */
struct frame_slot {
    const void *code;
    const void *instr;
    uint32_t gen;
    uint32_t frame;     /* 0 = empty */
};
static struct frame_slot *frame_cache;
static uint32_t frame_cap, frame_used;

/* ---- code cache, under the intern lock: (code, gen) -> names and line-table cursor ----
 * A new instruction of a known code object then costs a step of the line table, not a UTF-8
 * conversion of its names and a line-table scan from the start (PyCode_Addr2Line: 60% of the
 * slow path on an import-heavy start). The names point into the stack table's strings. */
struct code_slot {
    const void *code;   /* NULL = empty */
    uint32_t gen;
    uint32_t file_len, function_len;
    const char *file, *function;    /* NULL until the code's first frame is interned */
    struct pm_line_cursor cursor;
};
static struct code_slot *code_cache;
static uint32_t code_cap, code_used;

static inline uint32_t
gen_of(const void *code)
{
    return atomic_load_explicit(&code_gen[((uintptr_t)code >> 4) % GEN_SLOTS],
                                memory_order_relaxed);
}

const void *pm_code_type;

void
pm_stackcache_code_freed(const void *obj)
{
    atomic_fetch_add_explicit(&code_gen[((uintptr_t)obj >> 4) % GEN_SLOTS], 1,
                                  memory_order_relaxed);
    atomic_fetch_add_explicit(&code_frees, 1, memory_order_relaxed);
}

void
pm_stackcache_set_ops(const struct pm_pystack_ops *o, unsigned depth)
{
    ops = o;
    pm_code_type = o ? pm_py.PyCode_Type : NULL;
    depth_cap = depth < 2 ? 2 : depth;
    atomic_store(&walking, o != NULL);
}

void
pm_stackcache_stop_walking(void)
{
    atomic_store(&walking, false);
}

static uint32_t
cache_lookup(uint64_t key)
{
    struct stack_cache *c = atomic_load_explicit(&cache, memory_order_acquire);

    if (!c)
        return 0;
    for (uint32_t i = 0, at = (uint32_t)key & c->mask; i < PROBES; i++, at = (at + 1) & c->mask) {
        uint64_t k = atomic_load_explicit(&c->slot[at].key, memory_order_acquire);
        if (k == key) {
            uint32_t s = atomic_load_explicit(&c->slot[at].stack, memory_order_acquire);
            if (atomic_load_explicit(&c->slot[at].key, memory_order_acquire) == key)
                return s;
            return 0;
        }
        if (!k)
            return 0;
    }
    return 0;
}

static struct stack_cache *
cache_new(uint32_t cap)
{
    struct stack_cache *c = pm_calloc_table(1, sizeof(*c) + cap * sizeof(struct cache_slot));

    if (c)
        c->mask = cap - 1;
    return c;
}

static void
cache_put(struct stack_cache *c, uint64_t key, uint32_t stack)
{
    uint32_t at = (uint32_t)key & c->mask;

    for (uint32_t i = 0; i < PROBES; i++, at = (at + 1) & c->mask) {
        if (!atomic_load_explicit(&c->slot[at].key, memory_order_relaxed)) {
            atomic_store_explicit(&c->slot[at].stack, stack, memory_order_relaxed);
            atomic_store_explicit(&c->slot[at].key, key, memory_order_release);
            c->used++;
            return;
        }
    }
    at = (uint32_t)key & c->mask;   /* probe run full: overwrite its head (it is a cache) */
    atomic_store_explicit(&c->slot[at].key, 0, memory_order_release);
    atomic_store_explicit(&c->slot[at].stack, stack, memory_order_release);
    atomic_store_explicit(&c->slot[at].key, key, memory_order_release);
}

/* A retired table stays mapped, since a reader may still be probing it, but its slots' pages go
 * back to the system: a probe of them then reads zeros, which is a miss, and a miss is always
 * safe (the stack table, under the intern lock, is the authority). Nothing writes to a retired
 * table. Without this a grown cache kept every older table resident (black's workers: 8 MB). */
static void
release_slots(struct stack_cache *c)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)c->slot + page - 1) & ~(page - 1);
    uintptr_t hi = (uintptr_t)(c->slot + c->mask + 1) & ~(page - 1);

    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* Intern lock held. Grows the cache (copying live entries) at 1/2 load. */
static void
cache_insert(uint64_t key, uint32_t stack)
{
    struct stack_cache *c = atomic_load_explicit(&cache, memory_order_relaxed);

    if (!c || 2 * (c->used + 1) > c->mask + 1) {
        struct stack_cache *bigger = cache_new(c ? 2 * (c->mask + 1) : 4096);
        if (!bigger)
            return;     /* keep the old one: only slower */
        if (c) {
            for (uint32_t i = 0; i <= c->mask; i++) {
                uint64_t k = atomic_load_explicit(&c->slot[i].key, memory_order_relaxed);
                if (k)
                    cache_put(bigger, k, atomic_load(&c->slot[i].stack));
            }
        }
        bigger->retired = c;    /* never freed: a reader may still be probing it */
        atomic_store_explicit(&cache, bigger, memory_order_release);
        if (c)
            release_slots(c);
        c = bigger;
    }
    cache_put(c, key, stack);
}

/* A frame's hash input: the code address, and the instruction's offset in it (well below 4 GiB)
 * with the code's generation above it, each folded in with its own multiply. */
static inline uint64_t
frame_hash_step(uint64_t h, const struct pm_raw_frame *f, uint32_t gen)
{
    uint64_t offset = (uint64_t)((uintptr_t)f->instr - (uintptr_t)f->code) & 0xffffffffu;

    h = (h ^ (uint64_t)(uintptr_t)f->code) * 0x9e3779b97f4a7c15ULL;
    h = (h ^ (offset | (uint64_t)gen << 32)) * 0xc2b2ae3d27d4eb4fULL;
    return h ^ (h >> 29);
}

/* Doubles an open-addressing table of `size`-byte slots (power-of-two capacity *cap, rehashed
 * with hash_of; slot_used tells a filled slot). Intern lock held. Returns 0 or -ENOMEM. */
static int
grow_table(void **table, uint32_t *cap, size_t size, uint64_t (*hash_of)(const void *slot),
           bool (*slot_used)(const void *slot))
{
    uint32_t ncap = *cap ? *cap * 2 : 4096;
    char *fresh = pm_calloc_table(ncap, size), *old = *table;

    if (!fresh)
        return -ENOMEM;
    for (uint32_t i = 0; i < *cap; i++) {
        const void *e = old + (size_t)i * size;
        if (!slot_used(e))
            continue;
        uint32_t at = (uint32_t)hash_of(e) & (ncap - 1);
        while (slot_used(fresh + (size_t)at * size))
            at = (at + 1) & (ncap - 1);
        memcpy(fresh + (size_t)at * size, e, size);
    }
    pm_free(old);
    *table = fresh;
    *cap = ncap;
    return 0;
}

static uint64_t
frame_slot_hash(const void *slot)
{
    const struct frame_slot *e = slot;
    return frame_hash_step(0, &(struct pm_raw_frame){ (void *)e->code, e->instr }, e->gen);
}

static bool
frame_slot_used(const void *slot)
{
    return ((const struct frame_slot *)slot)->frame != 0;
}

static uint64_t
code_slot_hash(const void *slot)
{
    const struct code_slot *e = slot;
    return pm_hash_mix((uint64_t)(uintptr_t)e->code ^ e->gen);
}

static bool
code_slot_used(const void *slot)
{
    return ((const struct code_slot *)slot)->code != NULL;
}

/* Intern lock held. The code cache entry of code at generation gen, added if new; NULL if out
 * of memory. */
static struct code_slot *
code_entry(const void *code, uint32_t gen)
{
    uint32_t at;

    if (2 * (code_used + 1) > code_cap &&
        grow_table((void **)&code_cache, &code_cap, sizeof(*code_cache), code_slot_hash,
                   code_slot_used) < 0)
        return NULL;
    at = (uint32_t)pm_hash_mix((uint64_t)(uintptr_t)code ^ gen) & (code_cap - 1);
    for (; code_cache[at].code; at = (at + 1) & (code_cap - 1))
        if (code_cache[at].code == code && code_cache[at].gen == gen)
            return &code_cache[at];
    code_cache[at] = (struct code_slot){ .code = code, .gen = gen };
    code_used++;
    return &code_cache[at];
}

/* Intern lock held. Interns the frame of f from its code entry: names converted once per code
 * object, lines found by stepping the code's line-table cursor. */
static int
intern_frame(const struct pm_raw_frame *f, struct code_slot *c, uint32_t *idx)
{
    int line = ops->line(f->code, f->instr, &c->cursor);
    int rc;

    if (c->file)
        return pm_stacktab_frame(&pm_tracker.stacks, c->file, c->file_len, c->function,
                                 c->function_len, line, idx);
    static struct pm_code_names names;  /* 1.3 KiB: not on a hook's stack */
    ops->names(f->code, &names);
    if ((rc = pm_stacktab_frame(&pm_tracker.stacks, names.file, names.file_len, names.function,
                                names.function_len, line, idx)) < 0)
        return rc;
    const struct pm_frame_rec *rec = pm_stacktab_frame_at(&pm_tracker.stacks, *idx);
    c->file = rec->file;
    c->function = rec->function;
    c->file_len = (uint32_t)names.file_len;
    c->function_len = (uint32_t)names.function_len;
    return 0;
}

/* Intern lock held. Frame index of (code, instr) at its current generation; 0 if out of memory. */
static uint32_t
resolve_frame(const struct pm_raw_frame *f)
{
    uint32_t gen = gen_of(f->code);
    uint64_t h = frame_hash_step(0, f, gen);
    struct code_slot *c;
    uint32_t at, idx;

    if (2 * (frame_used + 1) > frame_cap &&
        grow_table((void **)&frame_cache, &frame_cap, sizeof(*frame_cache), frame_slot_hash,
                   frame_slot_used) < 0)
        return 0;
    for (at = (uint32_t)h & (frame_cap - 1); frame_cache[at].frame; at = (at + 1) & (frame_cap - 1)) {
        struct frame_slot *e = &frame_cache[at];
        if (e->code == f->code && e->instr == f->instr && e->gen == gen)
            return e->frame;
    }
    if (!(c = code_entry(f->code, gen)) || intern_frame(f, c, &idx) < 0)
        return 0;
    frame_cache[at] = (struct frame_slot){ f->code, f->instr, gen, idx };
    frame_used++;
    return idx;
}

/* Intern lock held. */
static uint32_t
push(uint32_t parent, uint32_t frame)
{
    uint32_t idx;
    bool is_new;

    if (!frame || pm_heap_reserve(&pm_tracker.heap, pm_stacktab_stack_count(&pm_tracker.stacks)) < 0 ||
        pm_stacktab_push(&pm_tracker.stacks, parent, frame, &idx, &is_new) < 0)
        return 0;
    return idx;
}

static inline uint64_t
key_seed(bool truncated)
{
    return truncated ? 0x5bd1e995u : 0;
}

/* The cache key of the outermost `len` frames, from their running hash. Never 0. */
static inline uint64_t
key_finish(uint64_t running, int len)
{
    /* every step already multiplied and folded its high bits down: no full mix needed */
    return (running ^ ((uint64_t)len * 0x9e3779b97f4a7c15ULL)) | 1;
}

/* Intern lock held. Every prefix (caller chain) of an interned stack is in the cache too, so
 * only the frames below the longest known prefix need interning: a new stack under a deep,
 * already-seen caller chain costs a few probes, not one intern per frame. The prefix is found
 * by binary search over its length (an evicted entry only makes the search settle shorter).
 * raw[0..n) must be the stack stack_key has just described (its prefix hashes are in the memo). */
static uint32_t
intern_missing(const struct pm_raw_frame *raw, int n, bool truncated)
{
    uint64_t prefix_key[n + 1];
    uint64_t running = key_seed(truncated);
    int lo = 0, hi = n;
    uint32_t stack, found = 0;

    /* stack_key has just put the running hash of every prefix it keeps in the memo */
    for (int len = 1; len <= n; len++) {
        if (len <= (int)MEMO_FRAMES)
            running = memo.running[len - 1];
        else
            running = frame_hash_step(running, &raw[n - len], gen_of(raw[n - len].code));
        prefix_key[len] = key_finish(running, len);
    }
    while (lo < hi) {   /* largest len in [0, n] whose prefix is cached; 0 = none */
        int mid = (lo + hi + 1) / 2;
        uint32_t s = cache_lookup(prefix_key[mid]);
        if (s) {
            lo = mid;
            found = s;
        } else {
            hi = mid - 1;
        }
    }
    if (lo > 0)
        stack = found;
    else
        stack = truncated ? push(0, pm_tracker.truncated_frame) : 0;
    for (int len = lo + 1; len <= n; len++) {
        stack = push(stack, resolve_frame(&raw[n - len]));
        if (!stack)
            return 0;
        cache_insert(prefix_key[len], stack);
    }
    return stack;
}

/* Intern lock held. The common new stack is the previous capture's outer `same` frames plus one
 * or two new ones: that prefix is an ancestor of the previous capture's stack (a few parent
 * links up), and the memo holds the running hash of every prefix, so only the new frames are
 * interned, with no hashing and no prefix search. prev is the previous stack, of prev_n frames
 * (not truncated, nor this one); the memo already describes raw[0..n). 0 if the shortcut does
 * not apply. */
static uint32_t
intern_below_previous(const struct pm_raw_frame *raw, unsigned n, unsigned same, uint32_t prev,
                      unsigned prev_n)
{
    struct pm_stacktab *t = &pm_tracker.stacks;
    uint32_t stack = prev;

    if (!prev || !same || n > MEMO_FRAMES || prev_n > MEMO_FRAMES || same > prev_n ||
        pm_stacktab_stack_at(t, prev)->depth != prev_n)
        return 0;
    for (unsigned d = prev_n; d > same; d--)
        stack = pm_stacktab_stack_at(t, stack)->parent;
    for (unsigned len = same + 1; len <= n; len++) {
        stack = push(stack, resolve_frame(&raw[n - len]));
        if (!stack)
            return 0;
        cache_insert(key_finish(memo.running[len - 1], (int)len), stack);
    }
    return stack;
}

static PM_COLD uint32_t
intern_slow(const struct pm_raw_frame *raw, int n, bool truncated, uint64_t key, unsigned same,
            uint32_t prev, unsigned prev_n)
{
    uint32_t stack;

    pm_stacktab_lock(&pm_tracker.stacks);
    stack = cache_lookup(key);      /* another thread may have just added it */
    if (!stack && !truncated)
        stack = intern_below_previous(raw, (unsigned)n, same, prev, prev_n);
    if (!stack)
        stack = intern_missing(raw, n, truncated);
    pm_stacktab_unlock(&pm_tracker.stacks);
    if (!stack) {
        pm_warn("cannot intern a stack (out of memory or too many stacks); "
                "attributing to <no python frame>");
        return pm_tracker.no_python_stack;
    }
    return stack;
}

static inline bool
same_block(const struct pm_raw_frame *a, const struct pm_raw_frame *b, unsigned k)
{
    return memcmp(a, b, k * sizeof(*a)) == 0;
}

static inline bool
same_frame(const struct pm_raw_frame *a, const struct pm_raw_frame *b)
{
    return a->code == b->code && a->instr == b->instr;
}

#define SHORT_STACK 8u

/* How many outermost frames raw[0..n) shares with the memo's m. Usually all but the innermost
 * one or two (another allocation in the same function, a call one deeper, a return): two block
 * compares settle that; otherwise frame by frame from the outermost. */
static inline unsigned
shared_outer(const struct pm_raw_frame *raw, unsigned n, const struct capture_memo *m)
{
    unsigned lim = n < m->n ? n : m->n;
    const struct pm_raw_frame *end = m->frame + MEMO_FRAMES;
    unsigned same = 0;

    if (lim > SHORT_STACK) {    /* a call to memcmp costs more than a short loop */
        if (same_block(raw + n - lim, end - lim, lim))
            return lim;
        if (same_block(raw + n - (lim - 1), end - (lim - 1), lim - 1))
            return lim - 1;
    }
    while (same < lim && same_frame(&raw[n - 1 - same], end - 1 - same))
        same++;
    return same;
}

/* The cache key of raw[0..n) (innermost first), reusing the running hash of the outer frames
 * this thread's previous capture had too: `known` of them when the walk stopped at the memo's
 * frames (raw then holds only the n - known inner ones), else found by comparing. The guard
 * keeps a signal handler's allocation from re-entering while the memo is half written. */
static inline uint64_t
stack_key(const struct pm_raw_frame *raw, const void *const *addr, unsigned n, bool truncated,
          unsigned known, unsigned *shared)
{
    struct capture_memo *m = &memo;
    uint64_t frees = atomic_load_explicit(&code_frees, memory_order_relaxed);
    unsigned same = known, kept = n < MEMO_FRAMES ? n : MEMO_FRAMES;
    uint64_t running;

    if (!same && m->n && m->truncated == truncated && m->code_frees == frees)
        same = shared_outer(raw + (n - kept), kept, m);
    running = same ? m->running[same - 1] : key_seed(truncated);
    for (unsigned j = same; j < n; j++) {
        running = frame_hash_step(running, &raw[n - 1 - j], gen_of(raw[n - 1 - j].code));
        if (PM_LIKELY(j < MEMO_FRAMES))     /* deeper stacks keep only their outermost part */
            m->running[j] = running;
    }
    /* the memo keeps the outermost `kept` frames; the shared ones are already in place (a
     * loop: usually one or two frames, for which a call to memcpy costs more) */
    for (unsigned i = 0; i < kept - same; i++) {
        m->frame[MEMO_FRAMES - kept + i] = raw[n - kept + i];
        m->known[MEMO_FRAMES - kept + i] =
            (struct pm_known_frame){ addr[n - kept + i], raw[n - kept + i].instr };
    }
    m->n = kept;
    m->truncated = truncated;
    m->complete = !truncated && kept == n;
    m->code_frees = frees;
    *shared = same;
    return key_finish(running, (int)n);
}

/* Below this many frames in the memo a plain walk is cheaper than looking for them (list-append,
 * 3-4 frames: +8% instructions). */
#define KNOWN_MIN 12u

/* Whether the memo can serve as the walk's `known` frames: a whole stack, with no code freed
 * since (a new code object at a reused address would match the memo's frames, but not its
 * hashes). */
static inline bool
memo_usable(void)
{
    return memo.complete &&
           memo.code_frees == atomic_load_explicit(&code_frees, memory_order_relaxed);
}

/* Completes raw[0..n) with the outer `known` frames the walk took from the memo (unchanged by
 * stack_key: they are the shared part). Only the slow path needs the whole stack. */
static void
fill_known(struct pm_raw_frame *raw, unsigned n, unsigned known)
{
    for (unsigned j = 0; j < known; j++)
        raw[n - 1 - j] = memo.frame[MEMO_FRAMES - 1 - j];
}

/* The stack of key: from this thread's front cache, else the shared cache, else interned
 * (raw[0..n), innermost first, completed first with the `known_outer` frames the walk took
 * from the memo; same, prev, prev_n as intern_slow takes them). */
static inline __attribute__((always_inline)) uint32_t
stack_of_key(uint64_t key, struct pm_raw_frame *raw, int n, bool truncated, unsigned known_outer,
             unsigned same, uint32_t prev, unsigned prev_n)
{
    uint32_t slot = (uint32_t)(key >> 7) & (FRONT_SLOTS - 1), stack;

    if (PM_LIKELY(front_key[slot] == key))
        return front_stack[slot];
    if (!(stack = cache_lookup(key))) {
        fill_known(raw, (unsigned)n, known_outer);
        stack = intern_slow(raw, n, truncated, key, same, prev, prev_n);
    }
    front_key[slot] = key;
    front_stack[slot] = stack;
    return stack;
}

/* The capture when only the previous one's innermost frame can have moved: the thread is still
 * in that frame under the same callers (black's workers: 65% of captures; alloc-heavy: all but
 * 0.1%). At the same instruction it is the same stack, a burst of allocations in one
 * instruction (black's workers: 37% of captures). Elsewhere it is the memo's stack with that
 * one frame hashed again onto its callers' running hash and looked up, or interned below its
 * callers. Either way no walk into buffers, no comparing or hashing of the callers, and none of
 * the general path's large stack frame (alloc-heavy at 100k iterations: 1.632 -> 1.468 G
 * instructions; black on one file, capture alone: 663 -> 604 M). False when the general path
 * must walk. */
static inline bool
capture_in_place(uint32_t *stack)
{
    if (!memo.stack || !memo_usable())
        return false;
    unsigned m = memo.n;
    struct pm_raw_frame *inner = &memo.frame[MEMO_FRAMES - m];
    struct pm_walk_known known = { memo.known + MEMO_FRAMES, m };
    const void *instr;
    int r = ops->same_callers(&known, inner->code, &instr);
    if (r == 0)
        return false;
    if (r < 0) {
        *stack = pm_tracker.native_thread_stack;
        return true;
    }
    if (instr == inner->instr) {
        *stack = memo.stack;
        return true;
    }
    uint32_t prev = memo.stack, found;
    struct pm_raw_frame now = { inner->code, instr };
    uint64_t running = frame_hash_step(m > 1 ? memo.running[m - 2] : key_seed(false), &now,
                                       gen_of(now.code));
    /* the memo now describes this stack; its frames, innermost first, are a walk's output */
    memo.running[m - 1] = running;
    inner->instr = instr;
    memo.known[MEMO_FRAMES - m].instr = instr;
    found = stack_of_key(key_finish(running, (int)m), inner, (int)m, false, 0, m - 1, prev, m);
    memo.stack = found == pm_tracker.no_python_stack ? 0 : found;
    *stack = found;
    return true;
}

/* The capture, into the caller's buffers of depth_cap frames. */
static inline __attribute__((always_inline)) uint32_t
capture_into(struct pm_raw_frame *raw, const void **addr)
{
    unsigned known_outer = 0;
    bool more;
    int n;
    if (memo.n >= KNOWN_MIN && memo_usable()) {
        struct pm_walk_known known = { memo.known + MEMO_FRAMES, memo.n };
        n = ops->walk_known(raw, addr, depth_cap, &more, &known, &known_outer);
    } else {
        n = ops->walk(raw, addr, depth_cap, &more);
    }

    if (n < 0)
        return pm_tracker.native_thread_stack;
    if (n == 0)
        return pm_tracker.no_python_stack;
    n += (int)known_outer;
    if (more)
        n--;    /* the outermost kept slot becomes the <truncated> marker */

    uint32_t prev = memo.stack, stack;
    unsigned prev_n = memo.n, same;
    uint64_t key = stack_key(raw, addr, (unsigned)n, more, known_outer, &same);
    stack = stack_of_key(key, raw, n, more, known_outer, same, prev, prev_n);
    memo.stack = more || stack == pm_tracker.no_python_stack ? 0 : stack;
    return stack;
}

/* PYMEM_DEPTH above the default: buffers sized at run time, out of the common path. */
static __attribute__((noinline)) uint32_t
capture_deep(void)
{
    struct pm_raw_frame raw[depth_cap];
    const void *addr[depth_cap];

    return capture_into(raw, addr);
}

/* Fixed-size buffers up to the default depth: variable-length arrays cost every capture a frame
 * pointer and their own setup (alloc-heavy at 200k iterations: 3.52 -> 3.46 G instructions,
 * ~22 a capture). */
uint32_t
pm_capture_stack(void)
{
    uint32_t stack;

    if (!atomic_load_explicit(&walking, memory_order_relaxed))
        return pm_tracker.no_python_stack;
    if (PM_LIKELY(capture_in_place(&stack)))
        return stack;
    if (PM_LIKELY(depth_cap <= PM_DEFAULT_DEPTH)) {
        struct pm_raw_frame raw[PM_DEFAULT_DEPTH];
        const void *addr[PM_DEFAULT_DEPTH];
        return capture_into(raw, addr);
    }
    return capture_deep();
}
