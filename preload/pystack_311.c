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

#include <dlfcn.h>
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
static _PyRuntimeState *runtime;

static inline PyThreadState *
this_thread_state(void)
{
    if (PM_UNLIKELY(!runtime))
        runtime = dlsym(RTLD_DEFAULT, "_PyRuntime");
    if (!runtime || !runtime->gilstate.autoInterpreterState ||
        !runtime->gilstate.autoTSSkey._is_initialized)
        return NULL;
    return pthread_getspecific(runtime->gilstate.autoTSSkey._key);
}

static int
walk(struct pm_raw_frame *out, unsigned cap, bool *more)
{
    PyThreadState *ts = this_thread_state();
    _PyInterpreterFrame *f;
    unsigned n = 0;

    *more = false;
    if (!ts)
        return -1;
    f = ts->cframe ? ts->cframe->current_frame : NULL;
    for (; f; f = f->previous) {
        /* Only the innermost frames can be incomplete (still in their preamble): a frame that
         * has called another is past it. Checking just those saves a code-object load per
         * frame on deep stacks. */
        if (n == 0 && _PyFrame_IsIncomplete(f))
            continue;
        if (n == cap) {
            *more = true;
            break;
        }
        out[n].code = f->f_code;
        out[n].lasti = (int)(f->prev_instr - _PyCode_CODE(f->f_code));
        n++;
    }
    return (int)n;
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
describe(const struct pm_raw_frame *f, struct pm_frame_text *out)
{
    PyCodeObject *co = f->code;

    out->file_len = utf8_of(co->co_filename, out->file, sizeof(out->file));
    out->function_len = utf8_of(co->co_name, out->function, sizeof(out->function));
    out->line = pm_py.PyCode_Addr2Line(co, f->lasti * (int)sizeof(_Py_CODEUNIT));
}

static void *
audit_hook_entry(void *hook)
{
    _PyRuntimeState *rt = dlsym(RTLD_DEFAULT, "_PyRuntime");

    for (_Py_AuditHookEntry *e = rt ? rt->audit_hook_head : NULL; e; e = e->next)
        if ((void *)e->hookCFunction == hook)
            return e;
    return NULL;
}

const struct pm_pystack_ops pm_pystack_311 = { walk, describe, audit_hook_entry };

const struct pm_pystack_ops *
pm_pystack_ops_for(unsigned version_hex)
{
    return version_hex == 0x030b ? &pm_pystack_311 : NULL;
}
