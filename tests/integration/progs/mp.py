"""multiprocessing Pool (start method argv[1]): workers allocate, results come back."""
import multiprocessing as mp
import sys


def work(n):
    data = [bytes(1000) for _ in range(2000)]  # LINE:W
    return n * len(data)


if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    with ctx.Pool(2) as pool:
        print(sum(pool.map(work, range(20))))
    print("done")
