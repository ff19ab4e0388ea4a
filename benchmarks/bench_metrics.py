"""ACC at N = 1,000,000, K = 100 on one core: clustlib vs. the usual sparse-contingency implementation.

Run: ``.venv/bin/python benchmarks/bench_metrics.py`` (prints a markdown table).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402
from sklearn.metrics.cluster import contingency_matrix  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from clustlib import metrics  # noqa: E402


def reference_acc(y, p) -> float:
    """The common implementation: sklearn's contingency matrix (np.unique inside) + Hungarian."""
    table = contingency_matrix(y, p)
    rows, cols = linear_sum_assignment(-table)
    return table[rows, cols].sum() / len(y)


def best_of(fn, repeats=5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = np.random.default_rng(0)
    n, k = 1_000_000, 100
    y = rng.integers(0, k, n)
    noisy = np.where(rng.random(n) < 0.3, rng.integers(0, k, n), rng.permutation(k)[y])
    rows = []
    with threadpool_limits(1):
        for name, p in (("random labels", rng.integers(0, k, n)), ("70% correct", noisy)):
            assert abs(metrics.acc(y, p) - reference_acc(y, p)) < 1e-12
            t_ours = best_of(lambda: metrics.acc(y, p))
            t_ref = best_of(lambda: reference_acc(y, p))
            t_nmi = best_of(lambda: metrics.nmi(y, p), repeats=3)
            rows.append((name, t_ours, t_ref, t_ref / t_ours, t_nmi))
    print(f"N = {n:,}, K = {k}, one core (best of 5)\n")
    print("| labels | clustlib acc (s) | sklearn contingency + Hungarian (s) | speed-up | clustlib nmi (s) |")
    print("|---|---|---|---|---|")
    for name, t_ours, t_ref, ratio, t_nmi in rows:
        print(f"| {name} | {t_ours:.3f} | {t_ref:.3f} | {ratio:.1f}x | {t_nmi:.3f} |")


if __name__ == "__main__":
    main()
