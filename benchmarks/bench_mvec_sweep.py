"""Benchmark: the MVEC 1023-combination sweep engine against the straightforward reference.

Ten label views of N rows, each a noisy copy of one common K-cluster partition (a fraction
``p`` of rows relabelled at random; ``p = 1`` gives independent random views), as CNN views of
an easy dataset behave (COIL-100: single-view NMI 0.93-0.97). For each agreement level the
engine solves all 1023 combinations (or a stratified sample with ``--engine-sample``); the
reference (dense co-association + scikit-learn average linkage) runs on a few combinations in
the same run, and its total is extrapolated with a per-m linear fit ``t(m) = a + b m``
weighted by ``C(10, m)``. Peak memory (tracemalloc, numpy buffers) is measured for the
largest combination (m = 10).

Run: ``python benchmarks/bench_mvec_sweep.py [--n 7200 --k 100 --levels 0.02 0.06 0.15 0.3 1.0]``
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
import tracemalloc
from math import comb

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from clustlib.cluster._consensus import consensus_fast, consensus_reference  # noqa: E402
from clustlib.metrics import nmi  # noqa: E402


def make_views(n: int, k: int, n_views: int, p: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(k), -(-n // k))[:n]
    rng.shuffle(truth)
    views = [np.where(rng.random(n) < p, rng.integers(0, k, n), truth) for _ in range(n_views)]
    return np.stack(views, axis=1).astype(np.int64), truth


def peak_mib(fn, *args) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=7200)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--views", type=int, default=10)
    ap.add_argument("--levels", type=float, nargs="+", default=[0.02, 0.06, 0.15, 0.3, 1.0])
    ap.add_argument("--ref-m", type=int, nargs="+", default=[2, 5, 10],
                    help="sizes m of the combinations the reference runs on (one each)")
    ap.add_argument("--engine-sample", type=int, default=0,
                    help="combinations per m for the engine (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    n, k, M = args.n, args.k, args.views
    consensus_fast(make_views(200, 5, 3, 0.2, 0)[0], 5)  # compile the kernels outside the timings
    rng = np.random.default_rng(args.seed)
    rows = []
    for p in args.levels:
        codes, truth = make_views(n, k, M, p, args.seed)
        agree = np.mean([nmi(codes[:, a], codes[:, b]) for a, b in itertools.combinations(range(M), 2)])
        # engine
        per_m: dict[int, list[float]] = {}
        combos = [c for m in range(1, M + 1) for c in itertools.combinations(range(M), m)]
        if args.engine_sample:
            combos = [c for m in range(1, M + 1)
                      for c in rng.permutation(np.array(list(itertools.combinations(range(M), m))))[:args.engine_sample]]
        t0 = time.perf_counter()
        for c in combos:
            t = time.perf_counter()
            consensus_fast(np.ascontiguousarray(codes[:, list(c)]), k)
            per_m.setdefault(len(c), []).append(time.perf_counter() - t)
        engine_wall = time.perf_counter() - t0
        engine_total = sum(comb(M, m) * np.mean(ts) for m, ts in per_m.items())
        # reference on a few combinations, the engine on the same ones
        ref_t, eng_t, same, dnmi = [], [], 0, []
        for m in args.ref_m:
            c = list(rng.choice(M, size=m, replace=False))
            sub = np.ascontiguousarray(codes[:, c])
            t = time.perf_counter()
            r = consensus_reference(sub, k)
            ref_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            f = consensus_fast(sub, k)
            eng_t.append(time.perf_counter() - t)
            d = abs(nmi(truth, r.labels) - nmi(truth, f.labels))
            dnmi.append(d)
            same += d <= 1e-6
        b, a = np.polyfit(args.ref_m, ref_t, 1) if len(args.ref_m) > 1 else (0.0, ref_t[0])
        ref_total = sum(comb(M, m) * max(a + b * m, min(ref_t)) for m in range(1, M + 1))
        full = np.ascontiguousarray(codes)
        mem_eng = peak_mib(consensus_fast, full, k)
        rows.append(dict(p=p, agree=agree, u10=consensus_fast(full, k).n_unique,
                         engine_total=engine_total, engine_wall=engine_wall, n_engine=len(combos),
                         ref_total=ref_total, speedup=ref_total / engine_total,
                         same_speedup=sum(ref_t) / sum(eng_t), mem_eng=mem_eng,
                         same=f"{same}/{len(args.ref_m)}", dnmi=max(dnmi)))
        print(f"p={p}: done ({engine_wall:.0f} s engine wall)", flush=True)
    mem_ref = peak_mib(consensus_reference, np.ascontiguousarray(codes), k)
    dense = n * n * 8 / 2**20

    print(f"\nN = {n}, K = {k}, {M} views, all {2**M - 1} combinations; "
          f"dense N x N float64 = {dense:.0f} MiB; reference peak (m = 10) = {mem_ref:.0f} MiB\n")
    print("| p relabelled | mean pairwise NMI | U at m=10 | engine, all combos (s) | reference, extrapolated (s) "
          "| speed-up | speed-up on the same combos | engine peak MiB (m=10) | same NMI on ref sample | max abs dNMI |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['p']:.2f} | {r['agree']:.3f} | {r['u10']} | {r['engine_total']:.1f} "
              f"({r['n_engine']} run) | {r['ref_total']:.0f} | {r['speedup']:.1f}x | {r['same_speedup']:.1f}x "
              f"| {r['mem_eng']:.0f} | {r['same']} | {r['dnmi']:.2g} |")


if __name__ == "__main__":
    main()
