/* SPDX-License-Identifier: MIT */
/* Reading the calling thread's Python stack without allocating or taking the GIL. The walk and
 * the meaning of a (code, instruction) pair are version-specific: one implementation file per
 * CPython version (pystack_311.c); an unknown version gets no Python frames at all. Hook-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pm_raw_frame {
    void *code;         /* PyCodeObject *, alive while it is on the thread's stack */
    const void *instr;  /* the frame's position in code's bytecode (one per instruction) */
};

/* Names of a code object, written into the caller's buffers. */
struct pm_code_names {
    char file[1024];
    char function[256];
    size_t file_len, function_len;
};

/* A position in a code object's line table, kept between lookups so that nearby instructions
 * cost a step or two instead of a scan from the start. Zero-filled = not started. */
struct pm_line_cursor {
    _Alignas(8) unsigned char state[40];
    bool started;
};

/* One frame of the previous walk, as the next one checks it: the interpreter frame's address
 * and the instruction it was at, side by side (one stream of loads per frame). */
struct pm_known_frame {
    const void *addr;
    const void *instr;
};

/* What this thread's previous walk found, by depth from the outermost: the frame at depth j was
 * at end[-1 - j]. end[0] is readable and its addr NULL (the outermost frame's caller), so the
 * check of every link is the same. n = 0: nothing known. */
struct pm_walk_known {
    const struct pm_known_frame *end;
    unsigned n;
};

struct pm_pystack_ops {
    /* Fills out[0..n) innermost first (addr[i]: the interpreter frame out[i] was read from),
     * returns n, or -1 if the thread has no Python state. Sets *more if frames remained
     * beyond cap. */
    int (*walk)(struct pm_raw_frame *out, const void **addr, unsigned cap, bool *more);
    /* The same, but when it meets a frame of `known` whose callers are all still known's, it
     * stops there: *shared is then the number of known's outer frames that complete the stack
     * (which has n + *shared frames, within cap), else 0. The result is exactly what a full
     * walk would read. For deep stacks (on shallow ones the looking costs more than it
     * saves). */
    int (*walk_known)(struct pm_raw_frame *out, const void **addr, unsigned cap, bool *more,
                      const struct pm_walk_known *known, unsigned *shared);
    /* Whether the thread is still in known's innermost frame (known->n >= 1: same interpreter
     * frame, same code) under all of known's callers: 1, with the instruction it is at now in
     * *instr; 0 if not; -1 if the thread has no Python state. */
    int (*same_callers)(const struct pm_walk_known *known, const void *code, const void **instr);
    /* File and function of a code object on this thread's stack. */
    void (*names)(const void *code, struct pm_code_names *out);
    /* Source line of instr in code (alive), moving cur, which belongs to that code object. */
    int (*line)(const void *code, const void *instr, struct pm_line_cursor *cur);
    /* The runtime's audit-hook list entry holding hook (allocated with libc malloc before
     * Py_Initialize), or NULL. */
    void *(*audit_hook_entry)(void *hook);
};

/* The ops for the running CPython, or NULL if its version is not supported. */
const struct pm_pystack_ops *pm_pystack_ops_for(unsigned version_hex);
extern const struct pm_pystack_ops pm_pystack_311;

/* Stack capture with caching (stackcache.c). */
void pm_stackcache_set_ops(const struct pm_pystack_ops *ops, unsigned depth);
/* Stops walking Python frames (interpreter finalizing): later events get no Python stack. */
void pm_stackcache_stop_walking(void);
/* A code object at obj is being freed: stacks cached with its address are no longer valid. */
void pm_stackcache_code_freed(const void *obj);

/* The type object of code objects, NULL until Python hooks are installed. */
extern const void *pm_code_type;

/* Called for every block the OBJ domain frees: cheap unless obj is a code object. */
static inline void
pm_stackcache_note_free(const void *obj)
{
    if (((const void *const *)obj)[1] == pm_code_type && pm_code_type)
        pm_stackcache_code_freed(obj);
}
