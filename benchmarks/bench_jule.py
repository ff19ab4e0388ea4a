"""Benchmark: JULE's merge period, incremental affinity updates vs rebuilding everything per merge.

Runs :func:`clustlib.deep.jule.merging.merge_clusters` (exact incremental updates of the GDL cluster
affinities and cached per-column top-K_c lists) and :func:`merge_clusters_reference` (rebuild the
affinity matrix and re-sort every column after each merge) on the same inputs in the same run,
checks they return the same partition, and prints a markdown table with the speed-up. Each case
merges from JULE's initial nearest-neighbour-chain clusters down to K = 10 in one period (the
largest period JULE ever runs), so it times the worst case of one merge step.

Usage::

    python benchmarks/bench_jule.py [--sizes 1797 3000 5000] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from clustlib.deep.jule.merging import merge_clusters, merge_clusters_reference, nn_chain_init


def _data(n: int, seed: int = 0) -> np.ndarray:
    X, _ = load_digits(return_X_y=True)
    X = X / 16.0
    if n <= len(X):
        return X[:n]
    rng = np.random.default_rng(seed)  # digits plus jittered copies: same structure, more samples
    extra = X[rng.integers(0, len(X), n - len(X))] + rng.normal(0, 0.05, (n - len(X), X.shape[1]))
    return np.vstack([X, extra])


def _time(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1797, 3000, 5000])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    print(f"threads: {args.threads}\n")
    print("| N | initial clusters | merges | fast (s) | reference (s) | speed-up | same partition |")
    print("|---:|---:|---:|---:|---:|---:|:---:|")
    with threadpool_limits(args.threads):
        for n in args.sizes:
            X = _data(n)
            lab = nn_chain_init(X)
            c0 = int(lab.max()) + 1
            fast, tf = _time(merge_clusters, X, lab, c0, n_target=10)
            ref, tr = _time(merge_clusters_reference, X, lab, c0, n_target=10)
            same = bool(np.array_equal(fast, ref))
            print(f"| {n} | {c0} | {c0 - 10} | {tf:.3f} | {tr:.3f} | {tr / tf:.1f}x | {same} |", flush=True)


if __name__ == "__main__":
    main()
