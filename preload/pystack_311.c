/* SPDX-License-Identifier: MIT */
/* CPython 3.11: walk tstate->cframe->current_frame through _PyInterpreterFrame.previous, skipping
 * incomplete frames, exactly as the interpreter's own traceback code does. Only the owning thread
 * pushes and pops its frames, so reading them from that thread needs no GIL. */
#define Py_BUILD_CORE 1
#ifndef NDEBUG
#define NDEBUG 1    /* CPython's inline asserts may reference data symbols we never link */
#endif
#include <Python.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_runtime.h>

#include <pthread.h>
#include <string.h>

#include "pm.h"
#include "pyapi.h"
#include "pystack.h"

#if PY_VERSION_HEX < 0x030b0000 || PY_VERSION_HEX >= 0x030c0000
#error "pystack_311.c must be built against CPython 3.11 headers"
#endif

/* PyGILState_GetThisThreadState() is a function call chain ending in pthread_getspecific on
 * the runtime's autoTSSkey; on every allocation it is worth reading the key directly. */
static inline PyThreadState *
this_thread_state(void)
{
    const _PyRuntimeState *runtime = pm_py.runtime;

    if (!runtime || !runtime->gilstate.autoInterpreterState ||
        !runtime->gilstate.autoTSSkey._is_initialized)
        return NULL;
    return pthread_getspecific(runtime->gilstate.autoTSSkey._key);
}

/* Whether the callers of f, which is known's frame at depth d, are still known's frames
 * 0..d-1: each caller is at the address known has for it and reads the same instruction,
 * and the outermost has no caller. Frames are only dereferenced once the link to
 * them is confirmed; but the next address comes from `known`, not from the link just loaded,
 * so the loads do not wait for each other as a pointer chase does (the branch predictor runs
 * ahead): a deep stack is checked in a fraction of the time a walk takes. 3.11 keeps the
 * bytecode inside the code object, so the same instruction address means the same (live) code
 * object too. */
static bool
callers_known(const _PyInterpreterFrame *f, const struct pm_walk_known *known, unsigned d)
{
    const struct pm_known_frame *k = known->end - d;    /* depth d - 1, then outwards */
    const struct pm_known_frame *end = known->end;      /* end->addr: NULL, the root's caller */
    const struct pm_known_frame *pair_end = k + (d & ~1u);

    if (f->previous != k->addr)
        return false;
    /* k->addr is confirmed here: check its instruction and its own link. Two frames a turn (on
     * deep stacks the loop's own counting was a third of the work). */
    for (; k != pair_end; k += 2) {
        const _PyInterpreterFrame *q = k[0].addr, *r = k[1].addr;
        __asm__("" : "+r"(q), "+r"(r));     /* keep using the known addresses, not the links */
        if (q->prev_instr != k[0].instr || q->previous != r || r->prev_instr != k[1].instr ||
            r->previous != k[2].addr)
            return false;
    }
    if (k < end) {
        const _PyInterpreterFrame *q = k[0].addr;
        __asm__("" : "+r"(q));
        if (q->prev_instr != k[0].instr || q->previous != k[1].addr)
            return false;
    }
    return true;
}

/* The innermost frame to report: only the innermost frames can be incomplete (still in their
 * preamble); a frame that has called another is past it. Checking just those saves a
 * code-object load per frame. NULL if the thread has no frames. */
static inline _PyInterpreterFrame *
innermost_complete(PyThreadState *ts)
{
    _PyInterpreterFrame *f = ts->cframe ? ts->cframe->current_frame : NULL;

    while (f && _PyFrame_IsIncomplete(f))
        f = f->previous;
    return f;
}

static inline int
walk_on(_PyInterpreterFrame *f, unsigned o, struct pm_raw_frame *out, const void **addr,
        unsigned cap, bool *more)
{
    for (; f && o < cap; f = f->previous, o++) {
        out[o].code = f->f_code;
        out[o].instr = f->prev_instr;
        addr[o] = f;
    }
    *more = f != NULL;
    return (int)o;
}

static int
walk(struct pm_raw_frame *out, const void **addr, unsigned cap, bool *more)
{
    PyThreadState *ts = this_thread_state();

    return ts ? walk_on(innermost_complete(ts), 0, out, addr, cap, more) : -1;
}

/* How many of known's innermost frames a walk looks for among its first frames: usually the
 * stack grew or shrank by a frame or two, or only the innermost frame moved. */
#define KNOWN_LOOKBACK 4u
#define WALK_LOOKAHEAD 4u

static int
walk_known(struct pm_raw_frame *out, const void **addr, unsigned cap, bool *more,
           const struct pm_walk_known *known, unsigned *shared)
{
    PyThreadState *ts = this_thread_state();
    unsigned o = 0, look = known->n < KNOWN_LOOKBACK ? known->n : KNOWN_LOOKBACK;
    _PyInterpreterFrame *f;

    *shared = 0;
    if (!ts)
        return -1;
    for (f = innermost_complete(ts); look && f && o < WALK_LOOKAHEAD && o < cap;
         f = f->previous, o++) {
        out[o].code = f->f_code;
        out[o].instr = f->prev_instr;
        addr[o] = f;
        for (unsigned i = 0; i < look; i++) {
            unsigned d = known->n - 1 - i;  /* known's frame at depth d */
            if ((const void *)f != known->end[-1 - (int)d].addr)
                continue;
            if (o + 1 + d <= cap && callers_known(f, known, d)) {
                *shared = d;
                *more = false;
                return (int)o + 1;
            }
            look = 0;   /* known's frames have moved: walk on */
            break;
        }
    }
    return walk_on(f, o, out, addr, cap, more);
}

/* The previous capture's stack again, but for where its innermost frame is now: the innermost
 * complete frame is known's innermost one (same address, same code) and its callers are all
 * still known's. */
static int
same_callers(const struct pm_walk_known *known, const void *code, const void **instr)
{
    PyThreadState *ts = this_thread_state();
    unsigned d = known->n - 1;
    _PyInterpreterFrame *f;

    if (!ts)
        return -1;
    f = innermost_complete(ts);
    if (!f || (const void *)f != known->end[-1 - (int)d].addr || f->f_code != code ||
        !callers_known(f, known, d))
        return 0;
    *instr = f->prev_instr;
    return 1;
}

/* UTF-8 of a str without PyUnicode_AsUTF8 (which may allocate): encode from the canonical
 * 1/2/4-byte representation. Truncates to cap - 1 bytes. */
static size_t
utf8_of(PyObject *s, char *buf, size_t cap)
{
    size_t n = 0;

    if (!s || !PyUnicode_Check(s) || !PyUnicode_IS_READY(s)) {
        memcpy(buf, "?", 2);
        return 1;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        unsigned char tmp[4];
        size_t k;
        if (c < 0x80) {
            tmp[0] = (unsigned char)c;
            k = 1;
        } else if (c < 0x800) {
            tmp[0] = (unsigned char)(0xc0 | c >> 6);
            tmp[1] = (unsigned char)(0x80 | (c & 0x3f));
            k = 2;
        } else if (c < 0x10000) {
            tmp[0] = (unsigned char)(0xe0 | c >> 12);
            tmp[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
            tmp[2] = (unsigned char)(0x80 | (c & 0x3f));
            k = 3;
        } else {
            tmp[0] = (unsigned char)(0xf0 | c >> 18);
            tmp[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
            tmp[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
            tmp[3] = (unsigned char)(0x80 | (c & 0x3f));
            k = 4;
        }
        if (n + k >= cap)
            break;
        memcpy(buf + n, tmp, k);
        n += k;
    }
    buf[n] = '\0';
    return n;
}

static void
names(const void *code, struct pm_code_names *out)
{
    const PyCodeObject *co = code;

    out->file_len = utf8_of(co->co_filename, out->file, sizeof(out->file));
    out->function_len = utf8_of(co->co_name, out->function, sizeof(out->function));
}

/* _PyCode_CheckLineNumber (pm_py.line_number_step) is exported; the range's start is not, and
 * is this (3.11 Objects/codeobject.c, _PyLineTable_InitAddressRange). */
_Static_assert(sizeof(PyCodeAddressRange) <= sizeof(((struct pm_line_cursor *)0)->state),
               "pm_line_cursor too small");

static int
line(const void *code, const void *instr, struct pm_line_cursor *cur)
{
    PyCodeObject *co = (PyCodeObject *)code;
    int addr = (int)((const _Py_CODEUNIT *)instr - _PyCode_CODE(co)) * (int)sizeof(_Py_CODEUNIT);
    PyCodeAddressRange *range = (PyCodeAddressRange *)cur->state;

    if (addr < 0)
        return co->co_firstlineno;      /* not started yet */
    if (!pm_py.line_number_step)
        return pm_py.PyCode_Addr2Line(co, addr);
    if (!cur->started) {
        range->opaque.lo_next = (const uint8_t *)PyBytes_AS_STRING(co->co_linetable);
        range->opaque.limit = range->opaque.lo_next + PyBytes_GET_SIZE(co->co_linetable);
        range->ar_start = -1;
        range->ar_end = 0;
        range->opaque.computed_line = co->co_firstlineno;
        range->ar_line = -1;
        cur->started = true;
    }
    return pm_py.line_number_step(addr, range);
}

static void *
audit_hook_entry(void *hook)
{
    const _PyRuntimeState *rt = pm_py.runtime;

    for (_Py_AuditHookEntry *e = rt ? rt->audit_hook_head : NULL; e; e = e->next)
        if ((void *)e->hookCFunction == hook)
            return e;
    return NULL;
}

const struct pm_pystack_ops pm_pystack_311 = { walk, walk_known, same_callers, names,
                                               line, audit_hook_entry };

const struct pm_pystack_ops *
pm_pystack_ops_for(unsigned version_hex)
{
    return version_hex == 0x030b ? &pm_pystack_311 : NULL;
}
