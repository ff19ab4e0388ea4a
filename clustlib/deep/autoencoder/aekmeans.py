"""AE+KMeans: k-means on the embedding of a pretrained autoencoder (the benchmark's baseline)."""

from __future__ import annotations

import numpy as np

from clustlib.deep.autoencoder.base import DeepClusterer
from clustlib.deep.base import TrainHistory

__all__ = ["AEKMeans"]


class AEKMeans(DeepClusterer):
    """k-means (k-means++, ``kmeans_n_init`` restarts) on a pretrained autoencoder's embedding.

    There is no clustering phase: ``clustering_epochs`` and ``lr`` are accepted for a uniform
    interface and ignored; ``labels_ == method_labels_ == init_labels_``.

    Parameters
    ----------
    n_clusters : int
        K, in [2, N]; required (``fit`` refuses None).
    embedding_size ... progress
        The family's shared parameters (:data:`~clustlib.deep.autoencoder.base.AE_PARAMS`), as in
        :class:`clustlib.deep.DEC`.

    References
    ----------
    Leiber et al., "Benchmarking Deep Clustering Algorithms With ClustPy", ICDMW 2023 (AE+KMeans).
    """

    _method_name = "AE+KMeans"

    _changed_defaults = {"clustering_epochs": 0}

    def _cluster(self, Xt, ae, km0, *, generator, device, checkpoint_config):
        self._km0 = km0
        return km0.labels_, TrainHistory()

    def _final_clustering(self, Z: np.ndarray, seed: int) -> None:
        # The encoder did not change, so the initial k-means is the final one.
        self.labels_ = self._km0.labels_.astype(np.int64)
        self.cluster_centers_ = self._km0.cluster_centers_.astype(np.float32)
        del self._km0
