/* SPDX-License-Identifier: MIT */
/* dlsym(RTLD_DEFAULT) resolution of the CPython API. */
#include "pyapi.h"

#include <dlfcn.h>
#include <stdlib.h>

struct pm_pyapi pm_py;

bool
pm_pyapi_resolve(void)
{
    bool ok = true;

#define RESOLVE(name)                                                  \
    do {                                                               \
        *(void **)&pm_py.name = dlsym(RTLD_DEFAULT, #name);            \
        ok = ok && pm_py.name != NULL;                                 \
    } while (0)
    RESOLVE(PySys_AddAuditHook);
    if (!ok)
        return false;   /* not a Python process: resolve nothing more */
    RESOLVE(Py_IsInitialized);
    RESOLVE(Py_GetVersion);
    RESOLVE(PyMem_GetAllocator);
    RESOLVE(PyMem_SetAllocator);
    RESOLVE(PyCode_Addr2Line);
    RESOLVE(PyImport_ImportModule);
    RESOLVE(PyObject_GetAttrString);
    RESOLVE(PyObject_SetAttrString);
    RESOLVE(PyObject_CallNoArgs);
    RESOLVE(PyObject_CallFunctionObjArgs);
    RESOLVE(PyCFunction_NewEx);
    RESOLVE(Py_IncRef);
    RESOLVE(Py_DecRef);
    RESOLVE(PyErr_Clear);
    RESOLVE(PyObject_IsTrue);
    RESOLVE(PyCode_Type);
    pm_py.none = dlsym(RTLD_DEFAULT, "_Py_NoneStruct");
    ok = ok && pm_py.none;
    pm_py.runtime = dlsym(RTLD_DEFAULT, "_PyRuntime");
    *(void **)&pm_py.line_number_step = dlsym(RTLD_DEFAULT, "_PyCode_CheckLineNumber");
    *(void **)&pm_py.current_allocator_name = dlsym(RTLD_DEFAULT, "_PyMem_GetCurrentAllocatorName");
#undef RESOLVE
    return ok;
}

unsigned
pm_pyapi_version(void)
{
    const char *v = pm_py.Py_GetVersion ? pm_py.Py_GetVersion() : NULL;
    char *end;
    unsigned long major, minor;

    if (!v)
        return 0;
    major = strtoul(v, &end, 10);
    if (*end != '.')
        return 0;
    minor = strtoul(end + 1, &end, 10);
    return (unsigned)(major << 8 | minor);
}
