"""Scenario 2: numpy allocates 80,000,000 bytes natively for a user line; alive at exit."""
import numpy as np


def make():
    return np.ones(10_000_000)  # LINE:N


def make_big():
    return np.zeros(400_000_000)  # LINE:Z


ARR = make()
BIG = make_big()
print("ones", ARR.shape[0], ARR.dtype, int(ARR[:10].sum()), BIG.nbytes)
