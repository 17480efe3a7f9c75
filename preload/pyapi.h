/* SPDX-License-Identifier: MIT */
/* The CPython C API we use, resolved at run time with dlsym(RTLD_DEFAULT) so that libpymem.so has
 * no link-time dependency on Python and loads harmlessly into any program (DESIGN §2.3).
 * Python types appear as void * here; only pystack_311.c and pyhooks.c see CPython headers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct pm_pyapi {
    int (*PySys_AddAuditHook)(int (*)(const char *, void *, void *), void *);
    int (*Py_IsInitialized)(void);
    const char *(*Py_GetVersion)(void);
    void (*PyMem_GetAllocator)(int, void *);
    void (*PyMem_SetAllocator)(int, void *);
    int (*PyCode_Addr2Line)(void *, int);
    void *(*PyImport_ImportModule)(const char *);
    void *(*PyObject_GetAttrString)(void *, const char *);
    int (*PyObject_SetAttrString)(void *, const char *, void *);
    void *(*PyObject_CallNoArgs)(void *);
    void *(*PyObject_CallFunctionObjArgs)(void *, ...);
    void *(*PyCFunction_NewEx)(void *, void *, void *);
    void (*Py_IncRef)(void *);
    void (*Py_DecRef)(void *);
    void (*PyErr_Clear)(void);
    int (*PyObject_IsTrue)(void *);
    void *PyCode_Type;      /* data: the address only, never linked against */
    void *none;           /* &_Py_NoneStruct */
    /* Optional, NULL when absent (the version-specific code falls back): the runtime state and
     * the exported line-table step. Looked up here, at load, because dlsym takes the loader's
     * lock, which a thread allocating inside dlopen holds: never from a hook. */
    void *runtime;        /* &_PyRuntime */
    int (*line_number_step)(int, void *);   /* _PyCode_CheckLineNumber */
    const char *(*current_allocator_name)(void);    /* _PyMem_GetCurrentAllocatorName */
};

extern struct pm_pyapi pm_py;

/* Resolves the table. Returns true when this process embeds CPython (every member found). */
bool pm_pyapi_resolve(void);

/* The running CPython's major.minor as 0xMMmm (e.g. 0x030b), 0 if unknown. */
unsigned pm_pyapi_version(void);
