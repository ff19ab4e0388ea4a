"""One job of the ClustPy benchmark: fit one autoencoder method on one data set with one seed, timed."""

from __future__ import annotations

import time

import numpy as np

from clustlib.deep.registry import create_method, list_methods, method_info
from clustlib.errors import InvalidParameter

__all__ = ["run_deep_clustering"]


def run_deep_clustering(
    method: str,
    X: np.ndarray,
    n_clusters: int,
    *,
    seed: int,
    network: str = "ff_500_500_2000",
    embedding_size: int = 10,
    pretrain_epochs: int = 100,
    clustering_epochs: int = 150,
    batch_size: int = 256,
    lr: float | None = None,
    dataset_key: str | None = None,
    device: str | None = None,
    n_threads: int | None = None,
    progress: bool = False,
    **method_params,
) -> dict:
    """Fit one method on one data set with one seed and return what a results record needs.

    The autoencoder is pretrained once per (data, network, m, seed) and taken from the cache by
    every later method with the same seed, as in the ClustPy benchmark.

    Parameters
    ----------
    method : str
        A method of the autoencoder family (``clustlib.deep.list_methods("autoencoder")``).
    X : ndarray of float32, shape (N, D)
        Normalised inputs (:func:`clustlib.deep.zscore_images`).
    n_clusters : int
        K.
    seed : int
        Seed of pretraining, k-means and batch order.
    network, embedding_size, pretrain_epochs, clustering_epochs, batch_size
        See :class:`clustlib.deep.DEC`.
    lr : float, optional
        Clustering learning rate (default: the method's, 1e-4).
    dataset_key : str, optional
        Names the data in the pretraining cache (e.g. ``f"{imageset.fingerprint}:channel"``).
    device : str, optional
    n_threads : int, optional
        ``torch.set_num_threads`` for this call (restored afterwards).
    progress : bool, default=False
    **method_params
        Method-specific parameters (``alpha``, ``distortion_weight``...).

    Returns
    -------
    dict
        ``labels`` (int64 (N,), what the benchmark scores), ``method_labels`` (the method's own),
        ``init_labels``, ``pretrain_seconds``, ``pretrain_from_cache``, ``clustering_seconds``,
        ``epoch_seconds`` (mean per clustering epoch), ``clustering_epochs``, ``losses``,
        ``estimator`` (the fitted object).
    """
    import torch

    if method_info(method).family != "autoencoder":
        raise InvalidParameter(f"run_deep_clustering runs the autoencoder methods {list_methods('autoencoder')}, not "
                               f"{method!r}; build other methods with clustlib.deep.create_method({method!r}, ...).")
    params = dict(
        n_clusters=n_clusters, random_state=seed, network=network, embedding_size=embedding_size,
        pretrain_epochs=pretrain_epochs, batch_size=batch_size, dataset_key=dataset_key,
        device=device, progress=progress, **method_params,
    )
    if method != "ae_kmeans" or clustering_epochs:
        params["clustering_epochs"] = clustering_epochs
    if lr is not None:
        params["lr"] = lr
    est = create_method(method, **params)
    old_threads = torch.get_num_threads()
    if n_threads is not None:
        if n_threads < 1:
            raise InvalidParameter(f"n_threads must be >= 1, got {n_threads}.")
        torch.set_num_threads(int(n_threads))
    try:
        t0 = time.perf_counter()
        est.fit(X)
        total = time.perf_counter() - t0
    finally:
        torch.set_num_threads(old_threads)
    return {
        "method": method,
        "seed": int(seed),
        "labels": est.labels_,
        "method_labels": est.method_labels_,
        "init_labels": est.init_labels_,
        "pretrain_seconds": float(est.pretrain_seconds_),
        "pretrain_from_cache": bool(est.pretrain_from_cache_),
        "clustering_seconds": float(est.clustering_seconds_),
        "epoch_seconds": float(est.epoch_seconds_),
        "clustering_epochs": len(est.history_.losses),
        "losses": list(est.history_.losses),
        "total_seconds": total,
        "estimator": est,
    }
