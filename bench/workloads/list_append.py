"""Lists grown one append at a time.

The list's item array is reallocated as it grows (amortised), ending in blocks of tens of
MB that realloc moves around: exercises realloc tracking of big blocks. Size: elements per
list (three lists are built and dropped).
"""

from _size import size


def grow(n):
    items = []
    for i in range(n):
        items.append(i & 0xFF)      # small ints are cached: the list array is what grows
    return items


def grow_bytes(n):
    buf = bytearray()
    for i in range(n // 4):
        buf += b"abcd"
    return buf


if __name__ == "__main__":
    n = size(3_000_000)
    total = 0
    for _ in range(3):
        total += len(grow(n)) + len(grow_bytes(n))
    print(total)
