"""AE+KMeans: k-means on the embedding of a pretrained autoencoder (the benchmark's baseline)."""

from __future__ import annotations

import numpy as np
from torch import nn

from clustlib.deep.autoencoder.base import DeepClusterer
from clustlib.deep.base import TrainHistory, store_init_args

__all__ = ["AEKMeans"]


class AEKMeans(DeepClusterer):
    """k-means (k-means++, ``kmeans_n_init`` restarts) on a pretrained autoencoder's embedding.

    There is no clustering phase: ``clustering_epochs`` and ``lr`` are accepted for a uniform
    interface and ignored; ``labels_ == method_labels_ == init_labels_``.

    Parameters
    ----------
    n_clusters : int, default=8
    embedding_size, network, autoencoder, pretrain_epochs, pretrain_lr, clustering_epochs, lr,
    batch_size, kmeans_n_init, initial_clustering, augmentation, image_shape, augmentation_fill,
    dataset_key, device, amp, random_state, use_cache, cache_dir,
    checkpoint_path, progress
        As in :class:`clustlib.deep.DEC`.

    References
    ----------
    Leiber et al., "Benchmarking Deep Clustering Algorithms With ClustPy", ICDMW 2023 (AE+KMeans).
    """

    _method_name = "AE+KMeans"

    def __init__(self, n_clusters: int = 8, *, embedding_size: int = 10, network: str = "ff_500_500_2000",
                 autoencoder: nn.Module | None = None, pretrain_epochs: int = 100, pretrain_lr: float = 1e-3,
                 clustering_epochs: int = 0, lr: float = 1e-4, batch_size: int = 256, kmeans_n_init: int = 10,
                 initial_clustering: str = "kmeans", augmentation: str | None = None,
                 image_shape: tuple | None = None, augmentation_fill: float | tuple = 0.0,
                 dataset_key: str | None = None, device: str | None = None, amp: bool | None = None,
                 random_state: int | None = None, use_cache: bool = True, cache_dir: str | None = None,
                 checkpoint_path: str | None = None, progress: bool = True) -> None:
        store_init_args(self, locals())

    def _cluster(self, Xt, ae, km0, *, generator, device, checkpoint_config):
        self._km0 = km0
        return km0.labels_, TrainHistory()

    def _final_clustering(self, Z: np.ndarray, seed: int) -> None:
        # The encoder did not change, so the initial k-means is the final one.
        self.labels_ = self._km0.labels_.astype(np.int64)
        self.cluster_centers_ = self._km0.cluster_centers_.astype(np.float32)
        del self._km0
