"""A C extension's blocks freed or resized by another allocator family, each on its own line
(through ctypes): PyMem_Malloc freed by libc free() and by PyMem_RawFree, resized by libc
realloc() and by PyMem_RawRealloc, PyObject_Malloc freed by PyMem_Free. CPython's docs forbid
mixing, but pymalloc passes blocks above 512 bytes to malloc, so these work without pymem and
must work with it. Prints what a program would see: the bytes kept across each resize."""
import ctypes

MiB = 1024 * 1024
api = ctypes.pythonapi
libc = ctypes.CDLL(None)
for name in ("PyMem_Malloc", "PyObject_Malloc"):
    getattr(api, name).restype = ctypes.c_void_p
    getattr(api, name).argtypes = [ctypes.c_size_t]
for name in ("PyMem_Free", "PyMem_RawFree", "PyObject_Free"):
    getattr(api, name).argtypes = [ctypes.c_void_p]
api.PyMem_RawRealloc.restype = ctypes.c_void_p
api.PyMem_RawRealloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.realloc.restype = ctypes.c_void_p
libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]


def filled(p, n, byte):
    ctypes.memset(p, byte, n)
    return p


def intact(p, n, byte):
    return ctypes.string_at(p, n) == bytes([byte]) * n


KEEP = []
KEEP.append(api.PyMem_Malloc(5 * MiB))  # LINE:KEEP_MEM
KEEP.append(api.PyObject_Malloc(6 * MiB))  # LINE:KEEP_OBJ
libc.free(api.PyMem_Malloc(7 * MiB))  # LINE:MEM_LIBC_FREE
api.PyMem_RawFree(api.PyMem_Malloc(8 * MiB))  # LINE:MEM_RAW_FREE
api.PyMem_Free(api.PyObject_Malloc(9 * MiB))  # LINE:OBJ_MEM_FREE
p = filled(api.PyMem_Malloc(MiB), MiB, 0x5a)
q = libc.realloc(p, 10 * MiB)  # LINE:MEM_LIBC_REALLOC
print("libc realloc kept", intact(q, MiB, 0x5a))
KEEP.append(q)
p = filled(api.PyMem_Malloc(MiB), MiB, 0xa5)
q = api.PyMem_RawRealloc(p, 11 * MiB)  # LINE:MEM_RAW_REALLOC
print("raw realloc kept", intact(q, MiB, 0xa5))
KEEP.append(q)
print("kept", len(KEEP), all(KEEP))
