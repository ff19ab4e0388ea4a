"""clustlib's DEC, IDEC and DCN side by side with ClustPy's own, on the same pretrained autoencoder.

ClustPy (PyPI ``clustpy``) is an optional dependency. :func:`side_by_side` runs both libraries on the
same data, the same autoencoder weights (clustlib's, copied into ClustPy's ``FeedforwardAutoencoder``),
the same seeds and hyperparameters, and returns ACC and the median seconds per clustering epoch of each.
ClustPy is configured to the benchmark-era losses: ``ssl_loss_fn=MSELoss()`` (0.0.3 defaults to a
per-sample sum) and DCN's cluster weight ``0.05 / K`` (0.0.3 divides the cluster term by B, the
benchmark-era code by B*K); both start from k-means with ``n_init=10``.

References
----------
C. Leiber, L. Miklautz, C. Plant, C. Böhm, "Benchmarking Deep Clustering Algorithms With ClustPy",
ICDMW 2023; https://github.com/collinleiber/ClustPy.
"""

from __future__ import annotations

import contextlib
import importlib.util
import time

import numpy as np
import pandas as pd
import torch
from sklearn.cluster import KMeans
from torch import nn

from clustlib import metrics
from clustlib.errors import InvalidParameter

__all__ = ["SIDE_BY_SIDE_METHODS", "clustpy_available", "to_clustpy_autoencoder", "fit_clustpy", "side_by_side",
           "summarise_side_by_side"]

#: Methods both libraries implement with the same losses.
SIDE_BY_SIDE_METHODS = ("dec", "idec", "dcn")


def clustpy_available() -> bool:
    """True when ``import clustpy`` works (``pip install clustpy``)."""
    return importlib.util.find_spec("clustpy") is not None


def _require_clustpy() -> None:
    if not clustpy_available():
        raise InvalidParameter("The side-by-side needs ClustPy: pip install 'clustlib[clustpy]' (or clustpy).")


def to_clustpy_autoencoder(ae: nn.Module) -> nn.Module:
    """Copy a clustlib feed-forward autoencoder's weights into ClustPy's ``FeedforwardAutoencoder``."""
    _require_clustpy()
    from clustpy.deep.neural_networks import FeedforwardAutoencoder

    ours = [m for m in list(ae.encoder) + list(ae.decoder) if isinstance(m, nn.Linear)]
    layers = [ours[0].in_features] + [m.out_features for m in ours[: len(ours) // 2]]
    cp = FeedforwardAutoencoder(layers=layers)
    theirs = [m for m in list(cp.encoder.block) + list(cp.decoder.block) if isinstance(m, nn.Linear)]
    if [tuple(m.weight.shape) for m in ours] != [tuple(m.weight.shape) for m in theirs]:
        raise InvalidParameter(f"ClustPy builds a different network for layers {layers}; only the feed-forward "
                               "autoencoders (ff_500_500_2000, ff_512_256_128) can be copied.")
    with torch.no_grad():
        for a, b in zip(ours, theirs):
            b.weight.copy_(a.weight)
            b.bias.copy_(a.bias)
    cp.fitted = True
    return cp.eval()


@contextlib.contextmanager
def _clock_clustpy_epochs(epoch_seconds: list):
    """Time each epoch of ClustPy's DEC/DCN loop by standing in for the ``tqdm`` module it iterates with."""
    import clustpy.deep.dcn as cp_dcn
    import clustpy.deep.dec as cp_dec

    class _Clock:
        class trange:  # noqa: N801 - mirrors tqdm.trange
            def __init__(self, n, **kwargs):
                self.n = n

            def __iter__(self):
                t = time.perf_counter()
                for i in range(self.n):
                    yield i
                    now = time.perf_counter()
                    epoch_seconds.append(now - t)
                    t = now

            def set_postfix(self, *args, **kwargs):
                pass

    saved = cp_dec.tqdm, cp_dcn.tqdm
    cp_dec.tqdm = cp_dcn.tqdm = _Clock
    try:
        yield
    finally:
        cp_dec.tqdm, cp_dcn.tqdm = saved


def fit_clustpy(method: str, X: np.ndarray, n_clusters: int, autoencoder: nn.Module, *, seed: int,
                clustering_epochs: int = 150, batch_size: int = 256) -> dict:
    """Fit ClustPy's DEC, IDEC or DCN from clustlib's pretrained ``autoencoder``.

    Returns
    -------
    dict
        ``labels`` (ClustPy's ``labels_``: k-means with its default ``n_init``), ``labels_rescored``
        (k-means with ``n_init=10`` on its trained embedding, as clustlib scores), ``epoch_seconds``
        (median over epochs).
    """
    _require_clustpy()
    from clustpy.deep import DCN, DEC, IDEC

    classes = {"dec": (DEC, {}), "idec": (IDEC, {}), "dcn": (DCN, {"clustering_loss_weight": 0.05 / n_clusters})}
    if method not in classes:
        raise InvalidParameter(f"method must be one of {list(classes)}, got {method!r}.")
    cls, extra = classes[method]
    times: list[float] = []
    with _clock_clustpy_epochs(times):
        est = cls(n_clusters, pretrain_epochs=0, clustering_epochs=clustering_epochs, batch_size=batch_size,
                  neural_network=to_clustpy_autoencoder(autoencoder), ssl_loss_fn=torch.nn.MSELoss(),
                  initial_clustering_params={"n_init": 10}, device=torch.device("cpu"), random_state=seed,
                  **extra).fit(X)
    with torch.no_grad():
        z = est.neural_network_trained_.encode(torch.from_numpy(X)).numpy().astype(np.float64)
    rescored = KMeans(n_clusters, n_init=10, random_state=seed).fit(z).labels_
    return {"labels": np.asarray(est.labels_), "labels_rescored": rescored,
            "epoch_seconds": float(np.median(times)) if times else float("nan")}


def side_by_side(X: np.ndarray, y: np.ndarray, n_clusters: int, *, methods=SIDE_BY_SIDE_METHODS, seeds=(0,),
                 pretrain_epochs: int = 100, clustering_epochs: int = 150, batch_size: int = 256,
                 network: str = "ff_500_500_2000", dataset_key: str | None = None, bf16: bool = False,
                 progress=None) -> pd.DataFrame:
    """Both libraries on the same pretrained autoencoders, seed by seed, on the CPU.

    Parameters
    ----------
    X : ndarray of float32, shape (N, D)
        Normalised inputs (:func:`clustlib.deep.zscore_images`).
    y : ndarray of int, shape (N,)
        Ground truth for ACC.
    n_clusters : int
    methods : sequence of {"dec", "idec", "dcn"}
    seeds : sequence of int
        One autoencoder pretraining per seed (cached, shared by every method and both libraries).
    pretrain_epochs, clustering_epochs, batch_size, network, dataset_key
        As in :func:`clustlib.deep.run_deep_clustering`.
    bf16 : bool, default=False
        Also fit clustlib with bfloat16 autocast (``amp=True``).
    progress : callable, optional
        Called with one line of text after each (seed, method).

    Returns
    -------
    pandas.DataFrame
        One row per (seed, method, library) with ``acc``, ``acc_rescored`` (ClustPy only) and
        ``epoch_s`` (median seconds per clustering epoch).
    """
    from clustlib.deep import create_method, pretrain_autoencoder

    _require_clustpy()
    bad = [m for m in methods if m not in SIDE_BY_SIDE_METHODS]
    if bad:
        raise InvalidParameter(f"side_by_side compares {list(SIDE_BY_SIDE_METHODS)}; got {bad}.")
    rows = []
    for seed in seeds:
        pre = pretrain_autoencoder(X, network=network, embedding_size=10, epochs=pretrain_epochs, seed=seed,
                                   batch_size=batch_size, device="cpu", progress=False, dataset_key=dataset_key)
        for method in methods:
            variants = [("clustlib", False)] + ([("clustlib bf16", True)] if bf16 else [])
            for library, amp in variants:
                est = create_method(method, n_clusters=n_clusters, autoencoder=pre.autoencoder,
                                    clustering_epochs=clustering_epochs, batch_size=batch_size, random_state=seed,
                                    device="cpu", amp=amp, progress=False).fit(X)
                rows.append({"seed": seed, "method": method, "library": library, "acc": metrics.acc(y, est.labels_),
                             "acc_rescored": np.nan, "epoch_s": float(np.median(est.history_.epoch_seconds))})
            cp = fit_clustpy(method, X, n_clusters, pre.autoencoder, seed=seed, clustering_epochs=clustering_epochs,
                             batch_size=batch_size)
            rows.append({"seed": seed, "method": method, "library": "ClustPy", "acc": metrics.acc(y, cp["labels"]),
                         "acc_rescored": metrics.acc(y, cp["labels_rescored"]), "epoch_s": cp["epoch_seconds"]})
            if progress is not None:
                progress("  ".join(f"{r['library']} {r['acc']:.3f} ({r['epoch_s']:.3f} s/ep)"
                                   for r in rows if r["seed"] == seed and r["method"] == method)
                         + f"  [seed {seed} {method}]")
    return pd.DataFrame(rows)


def summarise_side_by_side(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method: ACC mean ± std (%) per library, median seconds per epoch, and clustlib / ClustPy ratios."""
    out = []
    for method, part in frame.groupby("method", sort=False):
        row = {"method": method.upper()}
        by_lib = dict(tuple(part.groupby("library", sort=False)))
        for library, lib in by_lib.items():
            row[f"ACC {library}"] = f"{100 * lib['acc'].mean():.1f} ± {100 * lib['acc'].std(ddof=0):.1f}"
        if "ClustPy" in by_lib:
            cp = by_lib["ClustPy"]
            row["ACC ClustPy re-scored"] = f"{100 * cp['acc_rescored'].mean():.1f} ± {100 * cp['acc_rescored'].std(ddof=0):.1f}"
        for library, lib in by_lib.items():
            row[f"s/epoch {library}"] = round(float(lib["epoch_s"].median()), 4)
        if "ClustPy" in by_lib:
            for library in by_lib:
                if library != "ClustPy":
                    row[f"ratio {library}"] = round(row[f"s/epoch {library}"] / row["s/epoch ClustPy"], 2)
        out.append(row)
    return pd.DataFrame(out)
