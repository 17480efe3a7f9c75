"""Scenario 1: a 120 MiB temporary (line A) is the peak; 200k small strings (line B) stay."""
MiB = 1024 * 1024


def temporary():
    buf = bytearray(120 * MiB)  # LINE:A
    n = len(buf)
    del buf
    return n


def small_strings():
    return [f"s{i:09d}" for i in range(200_000)]  # LINE:B


print("temporary", temporary())
KEEP = small_strings()
print("kept", len(KEEP), KEEP[-1])
