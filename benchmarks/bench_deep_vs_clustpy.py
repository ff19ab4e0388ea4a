"""clustlib's DEC, IDEC and DCN side by side with ClustPy's own, on the same pretrained autoencoders.

Same data (scikit-learn digits, one global z-score as ClustPy does for Optdigits), same
d-500-500-2000-10 autoencoder weights per seed (pretrained once by clustlib, copied into ClustPy's
``FeedforwardAutoencoder``), same seeds, same hyperparameters; see
:mod:`clustlib.compare.clustpy_reference` for how ClustPy is configured and timed.

Prints one markdown table: ACC (mean ± std over seeds) of clustlib in float32 and, with ``--bf16``,
in bfloat16 autocast (``amp=True``; fast on CPUs with AMX/AVX512-BF16), of ClustPy (its ``labels_``,
k-means ``n_init='auto'``) and ClustPy re-scored like clustlib (``n_init=10``); the median seconds per
clustering epoch of each and the ratios clustlib / ClustPy, all measured in the same run, seed by seed.

Run: ``python benchmarks/bench_deep_vs_clustpy.py [--seeds 10] [--pretrain-epochs 100]
[--clustering-epochs 150] [--threads 1] [--bf16]``. Paper settings are the defaults (about 55 minutes
with ``--bf16`` on one CPU core). Needs ``pip install clustpy``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from clustlib.compare.clustpy_reference import clustpy_available, side_by_side, summarise_side_by_side


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed-offset", type=int, default=0, help="first seed (to split a long run in parts)")
    ap.add_argument("--pretrain-epochs", type=int, default=100)
    ap.add_argument("--clustering-epochs", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--methods", default="dec,idec,dcn")
    ap.add_argument("--bf16", action="store_true", help="also time clustlib with bfloat16 autocast (amp=True)")
    args = ap.parse_args()
    if not clustpy_available():
        print("ClustPy is not installed (pip install clustpy); skipping the side-by-side.")
        return
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # k-means too: oversubscribed OpenMP threads spin on a shared machine
    import clustpy

    digits = load_digits()
    X = ((digits.data - digits.data.mean()) / digits.data.std()).astype(np.float32)
    seeds = range(args.seed_offset, args.seed_offset + args.seeds)
    frame = side_by_side(X, digits.target, 10, methods=args.methods.split(","), seeds=seeds,
                         pretrain_epochs=args.pretrain_epochs, clustering_epochs=args.clustering_epochs,
                         dataset_key="sklearn_digits:global_zscore", bf16=args.bf16,
                         progress=lambda line: print(line, flush=True))
    print()
    print(f"digits (N={len(X)}, d={X.shape[1]}), AE {X.shape[1]}-500-500-2000-10, pretrain {args.pretrain_epochs} "
          f"epochs, clustering {args.clustering_epochs} epochs, batch 256, {args.seeds} seeds, torch "
          f"{torch.__version__}, clustpy {clustpy.__version__}, {args.threads} threads")
    print()
    table = summarise_side_by_side(frame)
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for row in table.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in row) + " |")


if __name__ == "__main__":
    main()
