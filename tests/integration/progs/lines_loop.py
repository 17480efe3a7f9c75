"""Scenario 10c: one function allocating on several lines inside loops that jump backwards, so
that line lookups of one code object move back and forth through its line table."""
KEEP = []


def work(rounds):
    i = 0
    while i < rounds:
        KEEP.append(bytearray(1000))  # LINE:A
        if i % 2:
            KEEP.append(bytearray(3000))  # LINE:B
            i += 1
            continue
        KEEP.append(bytearray(5000))  # LINE:C
        i += 1
    KEEP.append(bytearray(7000))  # LINE:D
    for _ in range(rounds):
        KEEP.append(bytearray(11000))  # LINE:E


work(200)
print("kept", len(KEEP))
