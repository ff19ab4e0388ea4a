"""clustlib's DEC, IDEC and DCN side by side with ClustPy's own, on the same pretrained autoencoders.

Same data (scikit-learn digits, one global z-score as ClustPy does for Optdigits), same
d-500-500-2000-10 autoencoder weights per seed (pretrained once by clustlib, copied into ClustPy's
``FeedforwardAutoencoder``), same seeds, same hyperparameters. ClustPy (PyPI ``clustpy``) is
configured to the benchmark-era losses: ``ssl_loss_fn=torch.nn.MSELoss()`` (ClustPy >= 0.0.3
defaults to a per-sample sum), DCN's cluster weight ``0.05 / K`` (0.0.3 divides its cluster term by
B, the benchmark-era code by B*K), initial k-means with ``n_init=10``.

Prints one markdown table: ACC (mean ± std over seeds) of both, with ClustPy's final k-means both as
it returns it (``n_init='auto'``, i.e. 1) and re-scored like clustlib (``n_init=10``), and the mean
seconds per clustering epoch (the median over epochs, robust to other jobs on a shared machine;
each library's own epoch loop, ClustPy's timed through its ``trange``) with the ratio
clustlib / ClustPy.

Run: ``python benchmarks/bench_deep_vs_clustpy.py [--seeds 10] [--pretrain-epochs 100]
[--clustering-epochs 150] [--threads 2]``. Paper settings are the defaults (about 25 minutes on
2 CPU cores).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits


def _acc(y: np.ndarray, p: np.ndarray) -> float:
    k = int(max(y.max(), p.max())) + 1
    c = np.zeros((k, k))
    np.add.at(c, (p, y), 1)
    r, s = linear_sum_assignment(-c)
    return float(c[r, s].sum() / len(y))


def _to_clustpy(ae, layers):
    from clustpy.deep.neural_networks import FeedforwardAutoencoder as CPAE

    cp = CPAE(layers=list(layers))
    ours = [m for m in ae.encoder if isinstance(m, torch.nn.Linear)] + [
        m for m in ae.decoder if isinstance(m, torch.nn.Linear)]
    theirs = [m for m in cp.encoder.block if isinstance(m, torch.nn.Linear)] + [
        m for m in cp.decoder.block if isinstance(m, torch.nn.Linear)]
    assert len(ours) == len(theirs)
    with torch.no_grad():
        for a, b in zip(ours, theirs):
            b.weight.copy_(a.weight)
            b.bias.copy_(a.bias)
    cp.fitted = True
    cp.eval()
    return cp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed-offset", type=int, default=0, help="first seed (to split a long run in parts)")
    ap.add_argument("--pretrain-epochs", type=int, default=100)
    ap.add_argument("--clustering-epochs", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--methods", default="dec,idec,dcn")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # k-means too: oversubscribed OpenMP threads spin on a shared machine

    import clustpy
    import clustpy.deep.dcn as cp_dcn
    import clustpy.deep.dec as cp_dec
    from clustpy.deep import DCN as CDCN, DEC as CDEC, IDEC as CIDEC

    from clustlib.deep import DCN, DEC, IDEC, pretrain_autoencoder

    epoch_times: list[float] = []

    class _EpochClock:
        """Stands in for the ``tqdm`` module inside ClustPy's dec/dcn: times each epoch of ``trange``."""

        class trange:  # noqa: N801 - mirrors tqdm.trange
            def __init__(self, n, **kwargs):
                self.n = n

            def __iter__(self):
                epoch_times.clear()
                t = time.perf_counter()
                for i in range(self.n):
                    yield i
                    now = time.perf_counter()
                    epoch_times.append(now - t)
                    t = now

            def set_postfix(self, *args, **kwargs):
                pass

    cp_dec.tqdm = _EpochClock
    cp_dcn.tqdm = _EpochClock

    digits = load_digits()
    X = ((digits.data - digits.data.mean()) / digits.data.std()).astype(np.float32)
    y = digits.target
    K, E = 10, args.clustering_epochs
    layers = (X.shape[1], 500, 500, 2000, 10)
    ours = {"dec": (DEC, {}), "idec": (IDEC, {}), "dcn": (DCN, {})}
    theirs = {
        "dec": (CDEC, {}),
        "idec": (CIDEC, {}),
        "dcn": (CDCN, {"clustering_loss_weight": 0.05 / K}),
    }
    methods = [m.strip() for m in args.methods.split(",")]
    rows = {m: {"acc_cl": [], "acc_cp": [], "acc_cp_rescored": [], "t_cl": [], "t_cp": []} for m in methods}
    pre_t = []
    for seed in range(args.seed_offset, args.seed_offset + args.seeds):
        pre = pretrain_autoencoder(X, embedding_size=10, epochs=args.pretrain_epochs, seed=seed, device="cpu",
                                   progress=False, dataset_key="sklearn_digits:global_zscore")
        pre_t.append(pre.epoch_seconds)
        for m in methods:
            cls, kw = ours[m]
            est = cls(K, autoencoder=pre.autoencoder, clustering_epochs=E, random_state=seed, device="cpu",
                      progress=False, **kw).fit(X)
            rows[m]["acc_cl"].append(_acc(y, est.labels_))
            rows[m]["t_cl"].append(float(np.median(est.history_.epoch_seconds)))
            ccls, ckw = theirs[m]
            cp = ccls(K, pretrain_epochs=0, clustering_epochs=E, neural_network=_to_clustpy(pre.autoencoder, layers),
                      ssl_loss_fn=torch.nn.MSELoss(), initial_clustering_params={"n_init": 10}, device="cpu",
                      random_state=seed, **ckw).fit(X)
            rows[m]["acc_cp"].append(_acc(y, cp.labels_))
            with torch.no_grad():
                z = cp.neural_network_trained_.encode(torch.from_numpy(X)).numpy()
            rescored = KMeans(K, n_init=10, random_state=seed).fit(z.astype(np.float64)).labels_
            rows[m]["acc_cp_rescored"].append(_acc(y, rescored))
            rows[m]["t_cp"].append(float(np.median(epoch_times)))
            print(f"seed {seed} {m}: clustlib {rows[m]['acc_cl'][-1]:.3f} ({rows[m]['t_cl'][-1]:.3f} s/ep)  "
                  f"clustpy {rows[m]['acc_cp'][-1]:.3f} / rescored {rows[m]['acc_cp_rescored'][-1]:.3f} "
                  f"({rows[m]['t_cp'][-1]:.3f} s/ep)", flush=True)

    def ms(v):
        return f"{100 * np.mean(v):.1f} ± {100 * np.std(v):.1f}"

    print()
    print(f"digits (N={len(X)}, d={X.shape[1]}), AE {'-'.join(map(str, layers))}, pretrain {args.pretrain_epochs} "
          f"epochs, clustering {E} epochs, batch 256, {args.seeds} seeds, torch {torch.__version__}, "
          f"clustpy {clustpy.__version__}, {args.threads} threads; pretraining "
          f"{np.nanmean(pre_t):.3f} s/epoch (clustlib)")
    print()
    print("| method | ACC clustlib | ACC ClustPy (its labels_) | ACC ClustPy (re-scored n_init=10) | "
          "s/epoch clustlib | s/epoch ClustPy | ratio |")
    print("|---|---|---|---|---|---|---|")
    for m in methods:
        r = rows[m]
        tc, tp = float(np.median(r["t_cl"])), float(np.median(r["t_cp"]))
        print(f"| {m.upper()} | {ms(r['acc_cl'])} | {ms(r['acc_cp'])} | {ms(r['acc_cp_rescored'])} | "
              f"{tc:.4f} | {tp:.4f} | {tc / tp:.2f} |")


if __name__ == "__main__":
    main()
