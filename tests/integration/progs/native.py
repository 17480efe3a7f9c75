"""Native allocations through every interposed allocator entry point, each on its own line,
called through ctypes (argv[1] = the C library, argv[2] = the C++ library or '-')."""
import ctypes
import sys

MiB = 1024 * 1024
lib = ctypes.CDLL(sys.argv[1])
for fn in ("pm_malloc", "pm_calloc", "pm_realloc_grow", "pm_reallocarray", "pm_posix_memalign",
           "pm_aligned_alloc", "pm_memalign", "pm_valloc", "pm_pvalloc"):
    getattr(lib, fn).restype = ctypes.c_void_p
    getattr(lib, fn).argtypes = [ctypes.c_size_t]
lib.pm_free.argtypes = [ctypes.c_void_p]
lib.pm_free_in_thread.argtypes = [ctypes.c_void_p]
lib.pm_native_thread.argtypes = [ctypes.c_size_t]

KEEP = {}
KEEP["malloc"] = lib.pm_malloc(11 * MiB)  # LINE:MALLOC
KEEP["calloc"] = lib.pm_calloc(12 * MiB)  # LINE:CALLOC
KEEP["realloc"] = lib.pm_realloc_grow(13 * MiB)  # LINE:REALLOC
KEEP["reallocarray"] = lib.pm_reallocarray(14 * MiB)  # LINE:REALLOCARRAY
KEEP["posix_memalign"] = lib.pm_posix_memalign(15 * MiB)  # LINE:POSIX_MEMALIGN
KEEP["aligned_alloc"] = lib.pm_aligned_alloc(16 * MiB)  # LINE:ALIGNED_ALLOC
KEEP["memalign"] = lib.pm_memalign(17 * MiB)  # LINE:MEMALIGN
KEEP["valloc"] = lib.pm_valloc(18 * MiB)  # LINE:VALLOC
KEEP["pvalloc"] = lib.pm_pvalloc(20 * MiB)  # LINE:PVALLOC
tmp = lib.pm_malloc(19 * MiB)  # LINE:FREED
lib.pm_free(tmp)
tmp = lib.pm_malloc(21 * MiB)  # LINE:XTHREAD_FREED
lib.pm_free_in_thread(tmp)
lib.pm_native_thread(22 * MiB)  # LINE:NATIVE_THREAD
if sys.argv[2] != "-":
    cxx = ctypes.CDLL(sys.argv[2])
    cxx.pm_new.restype = ctypes.c_void_p
    cxx.pm_new.argtypes = [ctypes.c_size_t]
    cxx.pm_delete.argtypes = [ctypes.c_void_p]
    KEEP["new"] = cxx.pm_new(23 * MiB)  # LINE:NEW
    cxx.pm_delete(cxx.pm_new(24 * MiB))  # LINE:NEW_DELETED
buf = bytearray()
chunk = b"x" * 10000
for i in range(3000): buf += chunk  # LINE:GROW
print("allocated", len(KEEP), all(KEEP.values()), len(buf))
print("grow-alloc", buf.__alloc__())
