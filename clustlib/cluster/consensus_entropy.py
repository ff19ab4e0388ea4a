"""Entropy-weighted cluster consensus (LWGP) and DeepCluE's multi-layer ensemble.

Every cluster ``C_i`` of an ensemble of ``M`` base clusterings gets an uncertainty

    H*(C_i) = sum_m H^m(C_i),   H^m(C_i) = - sum_j P(C_i, C_j^m) log2 P(C_i, C_j^m),
    P(C_i, C_j^m) = |C_i & C_j^m| / |C_i|,

(how its members scatter over clustering ``m``'s clusters; the clustering that holds ``C_i``
adds 0) and a weight, the *entropy-based cluster index* ECI,

    w(C_i) = exp(-H*(C_i) / (theta M))  in (0, 1].

DeepCluE (eq. 17) uses ``theta = 1``; LWEA/LWGP's default is 0.4. The consensus builds the
``N x k_c`` bipartite graph sample -- cluster with ``B[i, j] = w(C_j)`` when ``x_i`` is in
``C_j`` (eqs. 18-19) and cuts it into ``K`` groups by transfer cut.

:func:`multilayer_ensemble` is DeepCluE's ensemble stage on a list of layer features: PCA of
any layer wider than ``pca_dim``, ``M'`` U-SPEC base clusterings per layer with
``k ~ U[K, floor(sqrt(N))]`` (the U-SENC generator), weights, consensus.

References
----------
.. [1] D. Huang, C.-D. Wang, J.-H. Lai, "Locally Weighted Ensemble Clustering", IEEE Trans.
   Cybernetics 48(5), 2018 (ECI, LWGP). Code: github.com/huangdonghere/LWEA_LWGP.
.. [2] D. Huang, D.-H. Chen, X. Chen, C.-D. Wang, J.-H. Lai, "DeepCluE: Enhanced Deep
   Clustering via Multi-Layer Ensembles in Neural Networks", IEEE TETCI 8(2), 2024, Section III-D.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state

from clustlib.cluster._validation import check_features, check_label_views, check_n_clusters
from clustlib.cluster.uspec import (
    _check_distance,
    _check_int,
    _check_random_state,
    _transfer_cut,
    usenc_ensemble,
)
from clustlib.errors import InvalidParameter

__all__ = [
    "EnsembleResult",
    "cluster_uncertainty",
    "entropy_cluster_weights",
    "multilayer_ensemble",
    "weighted_bipartite_consensus",
    "weighted_cluster_bipartite",
]


class EnsembleResult(NamedTuple):
    """Outcome of :func:`multilayer_ensemble`.

    Attributes
    ----------
    labels : ndarray of int64, shape (N,)
        Consensus clustering, ``0..K - 1``.
    base_labels : ndarray of int64, shape (N, M)
        The base clusterings, ``M = clusterings_per_layer * n_layers``, layer by layer.
    layer_of_clustering : ndarray of int64, shape (M,)
        Layer index of each base clustering.
    base_ks : ndarray of int64, shape (M,)
        Number of clusters asked of each base clustering.
    cluster_weights : ndarray of float64, shape (k_c,)
        ECI weight of every base cluster, clustering by clustering (cluster ``j`` of clustering
        ``m`` after the clusters of clusterings ``0..m-1``).
    pca_dims : tuple of int
        Width of each layer as clustered (after PCA where it was wider than ``pca_dim``).
    """

    labels: np.ndarray
    base_labels: np.ndarray
    layer_of_clustering: np.ndarray
    base_ks: np.ndarray
    cluster_weights: np.ndarray
    pca_dims: tuple[int, ...]


def _check_theta(theta) -> float:
    if isinstance(theta, bool) or not isinstance(theta, (int, float, np.integer, np.floating)) or not (
        np.isfinite(theta) and theta > 0
    ):
        raise InvalidParameter(f"theta must be a finite number > 0, got {theta!r}. DeepCluE uses 1, LWEA 0.4.")
    return float(theta)


def _as_codes(base_labels) -> np.ndarray:
    """(N, M) or sequence of M label vectors -> coded int64 (N, M); M >= 1."""
    if isinstance(base_labels, np.ndarray) and base_labels.ndim == 2:
        base_labels = list(base_labels.T)  # columns are clusterings here
    return check_label_views(base_labels, min_views=1)


def _membership(codes: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sparse one-hot (N, k_c) of all base clusters and the offset of each clustering's block (M + 1,)."""
    n, m = codes.shape
    sizes = codes.max(axis=0) + 1
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    cols = (codes + offsets[:-1][None, :]).ravel()
    rows = np.repeat(np.arange(n), m)
    A = sp.csr_matrix((np.ones(n * m), (rows, cols)), shape=(n, int(offsets[-1])))
    return A, offsets


def _uncertainty(A: sp.csr_matrix) -> np.ndarray:
    """H* (k_c,) from the membership matrix, log base 2."""
    overlap = (A.T @ A).tocsr()  # (k_c, k_c): |C_i & C_j|
    sizes = overlap.diagonal()
    coo = overlap.tocoo()
    prob = coo.data / sizes[coo.row]
    # the -P log2 P terms summed over each row cover every clustering's block at once
    terms = -prob * np.log2(prob)
    H = np.bincount(coo.row, weights=terms, minlength=overlap.shape[0])
    return np.maximum(H, 0.0)  # the own clustering gives log2(1) = 0 exactly; clip rounding


def cluster_uncertainty(base_labels) -> np.ndarray:
    """Uncertainty ``H*`` (log2 entropy summed over the ensemble) of every base cluster.

    Parameters
    ----------
    base_labels : array-like of int, shape (N, M), or a sequence of M label vectors of length N
        The base clusterings (any integer labels; they are recoded ``0..k^m - 1``).

    Returns
    -------
    H : ndarray of float64, shape (k_c,)
        ``H*(C_i)`` for the clusters of clustering 0 (in sorted label order), then clustering 1, ...

    References
    ----------
    .. [1] D. Huang et al., DeepCluE, IEEE TETCI 2024, eqs. 13-15; ``computeECI.m`` in
       github.com/huangdonghere/LWEA_LWGP.
    """
    A, _ = _membership(_as_codes(base_labels))
    return _uncertainty(A)


def entropy_cluster_weights(base_labels, *, theta: float = 1.0) -> np.ndarray:
    """Entropy-based cluster index ``w = exp(-H* / (theta M))`` of every base cluster.

    Parameters
    ----------
    base_labels : array-like of int, shape (N, M), or a sequence of M label vectors
        The base clusterings.
    theta : float, default 1.0
        Temperature; DeepCluE eq. 17 is ``theta = 1``, LWEA/LWGP default to 0.4.

    Returns
    -------
    weights : ndarray of float64, shape (k_c,)
        In ``(0, 1]``; 1 for a cluster every clustering keeps together. Order as in
        :func:`cluster_uncertainty`.

    References
    ----------
    .. [1] D. Huang, C.-D. Wang, J.-H. Lai, "Locally Weighted Ensemble Clustering", IEEE Trans.
       Cybernetics 48(5), 2018, eq. 9.
    """
    theta = _check_theta(theta)
    codes = _as_codes(base_labels)
    A, _ = _membership(codes)
    return np.exp(-_uncertainty(A) / (theta * codes.shape[1]))


def weighted_cluster_bipartite(base_labels, *, theta: float = 1.0, weighted: bool = True) -> sp.csr_matrix:
    """DeepCluE's weighted-cluster bipartite graph ``B`` (N, k_c), eqs. 18-19.

    Parameters
    ----------
    base_labels : array-like of int, shape (N, M), or a sequence of M label vectors
        The base clusterings.
    theta : float, default 1.0
        Temperature of the cluster weights.
    weighted : bool, default True
        False gives every cluster weight 1 (the paper's "without weighted clusters" ablation).

    Returns
    -------
    B : scipy.sparse.csr_matrix of float64, shape (N, k_c)
        ``B[i, j] = w(C_j)`` if sample ``i`` is in cluster ``C_j``, else 0; M non-zeros per row.
    """
    theta = _check_theta(theta)
    codes = _as_codes(base_labels)
    A, _ = _membership(codes)
    if not weighted:
        return A
    w = np.exp(-_uncertainty(A) / (theta * codes.shape[1]))
    return (A @ sp.diags(w)).tocsr()


def weighted_bipartite_consensus(
    base_labels,
    n_clusters: int,
    *,
    theta: float = 1.0,
    weighted: bool = True,
    kmeans_iter: int = 100,
    kmeans_replicates: int = 3,
    random_state: int | np.random.RandomState | None = None,
) -> np.ndarray:
    """Consensus clustering by transfer cut of the entropy-weighted cluster bipartite graph.

    Parameters
    ----------
    base_labels : array-like of int, shape (N, M), or a sequence of M label vectors
        The base clusterings.
    n_clusters : int
        ``K``, with ``2 <= K <= min(N, k_c)``.
    theta : float, default 1.0
        Temperature of the cluster weights (DeepCluE: 1).
    weighted : bool, default True
        False: every cluster weighs 1 (ablation).
    kmeans_iter, kmeans_replicates : int, default 100 and 3
        The transfer cut's final k-means.
    random_state : int, RandomState or None
        Seeds that k-means.

    Returns
    -------
    labels : ndarray of int64, shape (N,)

    References
    ----------
    .. [1] D. Huang et al., DeepCluE, IEEE TETCI 2024, Section III-D; LWGP in
       github.com/huangdonghere/LWEA_LWGP.
    """
    theta = _check_theta(theta)
    codes = _as_codes(base_labels)
    _check_int(kmeans_iter, "kmeans_iter", 1, "The authors' default is 100.")
    _check_int(kmeans_replicates, "kmeans_replicates", 1, "The authors' default is 3.")
    _check_random_state(random_state)
    k_c = int((codes.max(axis=0) + 1).sum())
    k = check_n_clusters(n_clusters, codes.shape[0])
    if k > k_c:
        raise InvalidParameter(
            f"n_clusters={k} exceeds the {k_c} clusters in the ensemble; the consensus cannot find more "
            "groups than the base clusterings hold. Give the base clusterings more clusters."
        )
    B = weighted_cluster_bipartite(codes, theta=theta, weighted=weighted)
    return _transfer_cut(B, k, int(kmeans_iter), int(kmeans_replicates), check_random_state(random_state))


def _check_layers(layers) -> list[np.ndarray]:
    if isinstance(layers, np.ndarray) or not isinstance(layers, Sequence) or len(layers) == 0:
        raise InvalidParameter("layers must be a non-empty list of 2-D arrays, one (N, D_l) array per layer.")
    out = [check_features(v, name=f"layer {j}") for j, v in enumerate(layers)]
    rows = [v.shape[0] for v in out]
    if len(set(rows)) != 1:
        raise InvalidParameter(f"All layers must describe the same samples, but their numbers of rows differ: {rows}.")
    return out


def multilayer_ensemble(
    layers,
    n_clusters: int,
    *,
    clusterings_per_layer: int = 5,
    pca_dim: int = 1000,
    n_representatives: int = 1000,
    knn: int = 5,
    distance: str = "euclidean",
    theta: float = 1.0,
    weighted: bool = True,
    random_state: int | np.random.RandomState | None = None,
) -> EnsembleResult:
    """DeepCluE's multi-layer ensemble clustering of feature matrices.

    Each layer wider than ``pca_dim`` is reduced by PCA to ``pca_dim`` dimensions; each layer then
    gives ``clusterings_per_layer`` U-SPEC base clusterings (U-SENC generator: transfer-cut k-means
    with 5 iterations and 1 replicate) whose numbers of clusters are drawn uniformly from
    ``K..max(K, floor(sqrt(N)))``; the clusters are weighted by their entropy-based uncertainty and
    the weighted-cluster bipartite graph is cut into ``K`` groups by transfer cut (k-means 100
    iterations x 3 replicates).

    Parameters
    ----------
    layers : sequence of array-like, each of shape (N, D_l)
        Feature matrices of the same N samples (e.g. flattened network activations).
    n_clusters : int
        ``K``.
    clusterings_per_layer : int, default 5
        ``M'``; the ensemble holds ``M = M' * len(layers)`` base clusterings.
    pca_dim : int, default 1000
        PCA threshold and target width.
    n_representatives, knn, distance :
        U-SPEC settings (defaults of the authors' code: 1000, 5, Euclidean).
    theta : float, default 1.0
        Temperature of the cluster weights (DeepCluE eq. 17: 1).
    weighted : bool, default True
        False: every cluster weighs 1 (the paper's ablation).
    random_state : int, RandomState or None
        Seeds PCA, every base clustering and the consensus.

    Returns
    -------
    EnsembleResult

    Notes
    -----
    Cost: PCA of each wide layer, ``M`` U-SPEC runs (each about ``O(N p D)``), and one transfer cut
    with ``k_c = sum k^m`` columns (dense eigendecomposition up to 3000 columns, Lanczos beyond).

    References
    ----------
    .. [1] D. Huang, D.-H. Chen, X. Chen, C.-D. Wang, J.-H. Lai, "DeepCluE: Enhanced Deep
       Clustering via Multi-Layer Ensembles in Neural Networks", IEEE TETCI 8(2), 2024,
       Sections III-C and III-D, Algorithm 1.
    """
    layers = _check_layers(layers)
    n = layers[0].shape[0]
    m_per = _check_int(clusterings_per_layer, "clusterings_per_layer", 1, "DeepCluE uses 5.")
    pca_dim = _check_int(pca_dim, "pca_dim", 1, "DeepCluE reduces layers wider than 1000 to 1000.")
    _check_int(n_representatives, "n_representatives", 2, "The paper's default is 1000.")
    _check_int(knn, "knn", 1, "The paper's default is 5.")
    _check_distance(distance)
    theta = _check_theta(theta)
    _check_random_state(random_state)
    if n < 3:
        raise InvalidParameter(f"layers must have at least 3 rows, got {n}.")
    p = min(int(n_representatives), n)
    k = check_n_clusters(n_clusters, p)
    k_max = max(k, int(np.floor(np.sqrt(n))))
    k_max = min(k_max, p)

    rng = check_random_state(random_state)
    base, layer_of, ks, dims = [], [], [], []
    for li, Z in enumerate(layers):
        if Z.shape[1] > pca_dim:
            n_comp = min(pca_dim, n)
            Z = PCA(n_components=n_comp, random_state=int(rng.randint(np.iinfo(np.int32).max))).fit_transform(Z)
        dims.append(int(Z.shape[1]))
        labels, layer_ks = usenc_ensemble(
            Z,
            m_per,
            (k, k_max),
            n_representatives=p,
            knn=knn,
            distance=distance,
            random_state=int(rng.randint(np.iinfo(np.int32).max)),
        )
        base.append(labels)
        ks.append(layer_ks)
        layer_of.append(np.full(m_per, li, dtype=np.int64))
    base_labels = np.concatenate(base, axis=1)
    codes = _as_codes(base_labels)
    A, _ = _membership(codes)
    weights = np.exp(-_uncertainty(A) / (theta * codes.shape[1]))
    B = (A @ sp.diags(weights)).tocsr() if weighted else A
    if k > B.shape[1]:  # only possible when base clusterings collapsed on duplicated rows
        raise InvalidParameter(
            f"The base clusterings hold only {B.shape[1]} clusters, fewer than n_clusters={k}. "
            "Check the layers for duplicated or constant rows."
        )
    labels = _transfer_cut(B, k, 100, 3, rng)
    return EnsembleResult(
        labels=labels,
        base_labels=base_labels,
        layer_of_clustering=np.concatenate(layer_of),
        base_ks=np.concatenate(ks),
        cluster_weights=weights,
        pca_dims=tuple(dims),
    )
