/* SPDX-License-Identifier: MIT */
/* Process life: the constructor (detect Python, register an audit hook), installation at the
 * first audit event after Py_Initialize (DESIGN §2.4), the final snapshot on every way out
 * (Python atexit, exit status via on_exit, _exit, exec, SIGTERM), the signal snapshot, fork. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "options.h"
#include "pyapi.h"
#include "pyhooks.h"
#include "pystack.h"
#include "real.h"
#include "tracker.h"
#include "writer.h"

/* CPython's PyMethodDef, declared here so this file needs no Python headers. */
struct py_method_def {
    const char *name;
    void *(*meth)(void *self, void *arg);
    int flags;
    const char *doc;
};
#define PY_METH_NOARGS 0x0004

static atomic_int install_state;    /* 0 waiting, 1 installing, 2 done */
static void *tracemalloc_stop;      /* the original _tracemalloc.stop */

static bool
profiling_this_process(void)
{
    return atomic_load_explicit(&install_state, memory_order_acquire) == 2 &&
           getpid() == pm_identity.pid;     /* false in a vfork child: it shares our memory */
}

/* Ends the record of this process (final snapshot + how it ended), once, on any path out. */
static void
finish(const char *reason, int status)
{
    if (!profiling_this_process())
        return;
    pm_guard_enter();
    pm_writer_finish(reason, status);
    pm_guard_leave();
}

/* ---- Python-level callbacks ---- */

static void *
on_python_atexit(void *self, void *unused)
{
    /* Globals are still alive here, so "live at exit" means something. */
    finish(NULL, 0);
    pm_stackcache_stop_walking();   /* finalization is next: frames and states go away */
    pm_py.Py_IncRef(pm_py.none);
    return pm_py.none;
}

static void *
on_tracemalloc_stop(void *self, void *unused)
{
    void *r = pm_py.PyObject_CallNoArgs(tracemalloc_stop);

    /* tracemalloc.stop() puts back the allocators it saw at start, removing ours. */
    if (!pm_pyhooks_installed()) {
        pm_guard_enter();
        if (pm_pyhooks_install() < 0)
            pm_tracker_fail("cannot reinstall the allocator hooks after tracemalloc.stop()");
        pm_guard_leave();
    }
    return r;
}

static struct py_method_def atexit_def = { "_pymem_atexit", on_python_atexit, PY_METH_NOARGS,
                                           NULL };
static struct py_method_def stop_def = { "stop", on_tracemalloc_stop, PY_METH_NOARGS,
                                         "Stop tracing Python memory allocations (pymem keeps "
                                         "its own hooks)." };

static void
register_python_atexit(void)
{
    void *mod = pm_py.PyImport_ImportModule("atexit");
    void *reg = mod ? pm_py.PyObject_GetAttrString(mod, "register") : NULL;
    void *fn = pm_py.PyCFunction_NewEx(&atexit_def, NULL, NULL);
    void *r = reg && fn ? pm_py.PyObject_CallFunctionObjArgs(reg, fn, NULL) : NULL;

    if (!r) {
        pm_py.PyErr_Clear();
        pm_warn("cannot register the atexit callback: the final snapshot comes at process exit");
    }
    if (r) pm_py.Py_DecRef(r);
    if (fn) pm_py.Py_DecRef(fn);
    if (reg) pm_py.Py_DecRef(reg);
    if (mod) pm_py.Py_DecRef(mod);
}

/* -X tracemalloc started before us: keep our hooks when it stops (DESIGN §2.4 b). */
static void
wrap_tracemalloc_stop(void)
{
    void *mod = pm_py.PyImport_ImportModule("_tracemalloc");
    void *is_tracing = mod ? pm_py.PyObject_GetAttrString(mod, "is_tracing") : NULL;
    void *tracing = is_tracing ? pm_py.PyObject_CallNoArgs(is_tracing) : NULL;

    if (tracing && pm_py.PyObject_IsTrue(tracing) == 1) {
        tracemalloc_stop = pm_py.PyObject_GetAttrString(mod, "stop");   /* kept for life */
        void *fn = pm_py.PyCFunction_NewEx(&stop_def, NULL, NULL);
        if (!tracemalloc_stop || !fn || pm_py.PyObject_SetAttrString(mod, "stop", fn) < 0)
            pm_warn("cannot wrap tracemalloc.stop(): stopping tracemalloc stops pymem");
        if (fn)
            pm_py.Py_DecRef(fn);
    }
    pm_py.PyErr_Clear();
    if (tracing) pm_py.Py_DecRef(tracing);
    if (is_tracing) pm_py.Py_DecRef(is_tracing);
    if (mod) pm_py.Py_DecRef(mod);
}

/* ---- signals ---- */

/* The final snapshot, then the signal with its default action: from the handler it is
 * delivered when the handler returns, from pm_handle_deferred_signal at once; either way the
 * exit status stays "killed by SIGTERM". */
static void
end_by_signal(int sig)
{
    int saved = errno;

    finish("signal", sig);
    signal(sig, SIG_DFL);
    pm_real.raise(sig);
    errno = saved;
}

/* Inside pymem code the thread may hold a lock that the writer needs for the final snapshot,
 * such as pymem's allocator's: the writer would block on it in mid-transaction, holding the
 * file's write lock, until this handler gave up after FINISH_WAIT_S, and every other process's
 * final would wait for it meanwhile. So the signal waits until the thread leaves that code
 * (guard.h). */
static void
on_sigterm(int sig)
{
    if (pm_guard_active()) {
        pm_deferred_signal = sig;
        return;
    }
    end_by_signal(sig);
}

void
pm_handle_deferred_signal(void)
{
    int sig = pm_deferred_signal;

    pm_deferred_signal = 0;
    end_by_signal(sig);
}

static void
on_snapshot_signal(int sig)
{
    pm_writer_request_signal_snapshot();
}

static void
install_signal_handlers(void)
{
    struct sigaction old, sa = { 0 };

    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
        sa.sa_handler = on_sigterm;
        sigaction(SIGTERM, &sa, NULL);
    }
    if (pm_options.signal) {
        if (sigaction(pm_options.signal, NULL, &old) == 0 &&
            (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN)) {
            sa.sa_handler = on_snapshot_signal;
            sigaction(pm_options.signal, &sa, NULL);
        } else {
            pm_warn("PYMEM_SIGNAL: signal %d already has a handler; not taking it",
                    pm_options.signal);
        }
    }
}

/* ---- exit status ---- */

static void
on_process_exit(int status, void *arg)
{
    finish("exit", status);
}

/* ---- fork ---- */

static void
fork_prepare(void)
{
    pm_guard_enter();
    pm_writer_prefork();
    pm_stacktab_lock(&pm_tracker.stacks);
    pm_writer_fork_point(pm_stacktab_stack_count(&pm_tracker.stacks));
    pm_addrmap_lock_all(&pm_tracker.live);
}

static void
fork_parent(void)
{
    pm_addrmap_unlock_all(&pm_tracker.live);
    pm_stacktab_unlock(&pm_tracker.stacks);
    pm_writer_postfork_parent();
    pm_guard_leave();
}

static void
fork_child(void)
{
    pm_deferred_signal = 0;     /* a SIGTERM during the fork was the parent's */
    pm_addrmap_unlock_all(&pm_tracker.live);
    pm_stacktab_unlock(&pm_tracker.stacks);
    pm_heap_reset_after_fork(&pm_tracker.heap);
    pm_writer_postfork_child();
    pm_guard_leave();
}

/* ---- identity ---- */

static size_t
json_append(char *dst, size_t at, size_t cap, const char *s, size_t len)
{
    for (size_t i = 0; i < len && at + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            dst[at++] = '\\';
            dst[at++] = (char)c;
        } else if (c < 0x20) {
            at += (size_t)snprintf(dst + at, cap - at, "\\u%04x", c);
        } else {
            dst[at++] = (char)c;
        }
    }
    return at;
}

static void
fill_identity(void)
{
    char cmd[8192];
    ssize_t n = 0;
    size_t at = 0, cap = sizeof(pm_identity.argv_json);
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    struct timespec ts;

    pm_identity.pid = getpid();
    pm_identity.ppid = getppid();
    if (fd >= 0) {
        n = read(fd, cmd, sizeof(cmd) - 1);
        close(fd);
    }
    pm_identity.argv_json[at++] = '[';
    for (ssize_t i = 0; i < n;) {
        size_t len = strnlen(cmd + i, (size_t)(n - i));
        if (at > 1)
            pm_identity.argv_json[at++] = ',';
        pm_identity.argv_json[at++] = '"';
        at = json_append(pm_identity.argv_json, at, cap, cmd + i, len);
        pm_identity.argv_json[at++] = '"';
        i += (ssize_t)len + 1;
    }
    pm_identity.argv_json[at++] = ']';
    pm_identity.argv_json[at] = '\0';
    n = readlink("/proc/self/exe", pm_identity.executable, sizeof(pm_identity.executable) - 1);
    pm_identity.executable[n > 0 ? n : 0] = '\0';
    snprintf(pm_identity.python_version, sizeof(pm_identity.python_version), "%s",
             pm_py.Py_GetVersion());
    pm_identity.python_version[strcspn(pm_identity.python_version, " ")] = '\0';
    clock_gettime(CLOCK_REALTIME, &ts);
    pm_identity.start_wall = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    pm_identity.start_mono = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- installation ---- */

/* GIL held, Python initialized, no user code run yet. */
static void
install(void)
{
    unsigned version = pm_pyapi_version();
    const struct pm_pystack_ops *ops = pm_pystack_ops_for(version);

    if (pm_tracker_init() < 0) {
        pm_warn("out of memory at start-up; not profiling");
        return;
    }
    if (!ops)
        pm_warn("CPython %u.%u is not supported: allocations are recorded without Python stacks",
                version >> 8, version & 0xff);
    pm_stackcache_set_ops(ops, pm_options.depth);
    fill_identity();
    if (pm_writer_start(true) < 0)
        return;     /* warned; the program runs unprofiled */
    if (pm_pyhooks_install() < 0) {
        pm_tracker_fail("cannot install the allocator hooks");
        return;
    }
    atomic_store(&pm_tracking_on, 1);
    register_python_atexit();
    wrap_tracemalloc_stop();
    install_signal_handlers();
    on_exit(on_process_exit, NULL);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    atomic_store_explicit(&install_state, 2, memory_order_release);
}

static int
audit_hook(const char *event, void *args, void *data)
{
    int expected = 0;

    if (PM_LIKELY(atomic_load_explicit(&install_state, memory_order_relaxed) != 0))
        return 0;
    if (!pm_py.Py_IsInitialized() || !atomic_compare_exchange_strong(&install_state, &expected, 1))
        return 0;
    pm_guard_enter();
    install();
    pm_guard_leave();
    if (atomic_load(&install_state) != 2)
        atomic_store(&install_state, 3);    /* failed: never try again */
    return 0;
}

__attribute__((constructor)) static void
pm_lifecycle_init(void)
{
    const struct pm_pystack_ops *ops;

    pm_guard_enter();
    if (!__atomic_load_n(&pm_real.malloc, __ATOMIC_ACQUIRE))
        pm_real_init();
    if (!pm_pyapi_resolve())
        goto out;   /* not Python: stay pass-through, no file, no thread, no output */
    pm_options_load();
    if (pm_options.disable)
        goto out;
    if (pm_py.PySys_AddAuditHook(audit_hook, NULL) < 0)
        goto out;
    ops = pm_pystack_ops_for(pm_pyapi_version());
    if (ops)
        pm_pyhooks_free_with_libc(ops->audit_hook_entry((void *)audit_hook));
out:
    pm_guard_leave();
}

/* ---- process exits and exec: write the final snapshot first ---- */

/* A signal whose default action ends the process, sent by the program to itself while that
 * default is in place: Python does this after finalizing on an unhandled KeyboardInterrupt. */
static bool
fatal_to_self(pid_t pid, int sig)
{
    struct sigaction sa;

    if (sig <= 0 || (pid != 0 && pid != getpid()) || sig == SIGCHLD || sig == SIGCONT ||
        sig == SIGURG || sig == SIGWINCH || sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
        sig == SIGTTOU)
        return false;
    return sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL;
}

PM_EXPORT int
kill(pid_t pid, int sig)
{
    if (!pm_real.kill)
        pm_real_init();
    if (fatal_to_self(pid, sig))
        finish("signal", sig);
    return pm_real.kill(pid, sig);
}

PM_EXPORT int
raise(int sig)
{
    if (!pm_real.raise)
        pm_real_init();
    if (fatal_to_self(0, sig))
        finish("signal", sig);
    return pm_real.raise(sig);
}

PM_EXPORT void
_exit(int status)
{
    if (!pm_real._exit)
        pm_real_init();
    finish("_exit", status);
    pm_real._exit(status);
}

PM_EXPORT void
_Exit(int status)
{
    if (!pm_real._Exit)
        pm_real_init();
    finish("_exit", status);
    pm_real._Exit(status);
}

PM_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
    if (!pm_real.execve)
        pm_real_init();
    finish("exec", 0);
    return pm_real.execve(path, argv, envp);
}

PM_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
    if (!pm_real.execvpe)
        pm_real_init();
    finish("exec", 0);
    return pm_real.execvpe(file, argv, envp);
}

PM_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
    if (!pm_real.fexecve)
        pm_real_init();
    finish("exec", 0);
    return pm_real.fexecve(fd, argv, envp);
}

PM_EXPORT int
execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

PM_EXPORT int
execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

/* The list forms: collect the arguments on the stack (no allocation), then the array forms. */
#define COLLECT_ARGS(first, argv, ap, extra)                 \
    size_t n_ = 1;                                           \
    va_start(ap, first);                                     \
    while (va_arg(ap, char *))                               \
        n_++;                                                \
    va_end(ap);                                              \
    char *argv[n_ + 1];                                      \
    va_start(ap, first);                                     \
    argv[0] = (char *)first;                                 \
    for (size_t i_ = 1; i_ <= n_; i_++)                      \
        argv[i_] = va_arg(ap, char *);                       \
    extra;                                                   \
    va_end(ap)

PM_EXPORT int
execl(const char *path, const char *arg, ...)
{
    va_list ap;
    COLLECT_ARGS(arg, argv, ap, (void)0);
    return execve(path, argv, environ);
}

PM_EXPORT int
execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    COLLECT_ARGS(arg, argv, ap, (void)0);
    return execvpe(file, argv, environ);
}

PM_EXPORT int
execle(const char *path, const char *arg, ...)
{
    va_list ap;
    char **envp;
    COLLECT_ARGS(arg, argv, ap, envp = va_arg(ap, char **));
    return execve(path, argv, envp);
}
