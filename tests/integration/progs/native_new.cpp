// C++ operator new for progs/native.py (compiled by test_native.py with g++).
#include <cstddef>
#include <cstring>
extern "C" void *pm_new(std::size_t n) { char *p = new char[n]; std::memset(p, 1, n); return p; }
extern "C" void pm_delete(void *p) { delete[] static_cast<char *>(p); }
