"""Classical base clusterers on feature matrices: k-means (n_init pinned) and Ward agglomerative.

Both depend on the rows only through Euclidean geometry, so a feature matrix wider than it is
tall (a CNN's early layer: ~200,000 dims for a few thousand images) is first replaced by an
exact isometric embedding in at most N dims. Pairwise distances, hence Ward's tree and the
k-means objective, are unchanged; memory and time drop.

References
----------
.. [1] J. Guérin, S. Thiery, E. Nyiri, O. Gibaru, B. Boots, "Combining pretrained CNN feature
   extractors to enhance clustering of complex natural images", Neurocomputing 423, 2021
   (scikit-learn KMeans and AgglomerativeClustering with default settings as base clusterers).
.. [2] J. H. Ward, "Hierarchical grouping to optimize an objective function", JASA 58, 1963.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from clustlib.cluster._validation import check_feature_views, check_features, check_n_clusters
from clustlib.errors import UnknownName

__all__ = [
    "ALGORITHMS",
    "FeatureClustering",
    "LabelViews",
    "isometric_reduction",
    "cluster_features",
    "build_label_views",
]

ALGORITHMS = ("kmeans", "agglomerative")
_KMEANS_N_INIT = 10  # scikit-learn's default before 1.4, which the paper used
_CHUNK_BYTES = 1 << 27  # float64 column block for the Gram matrix: 128 MiB


class FeatureClustering(NamedTuple):
    """A base clustering of one feature matrix.

    Attributes
    ----------
    labels : ndarray of int64, shape (N,)
    seconds : float
        Wall time including the reduction.
    reduction : str
        What was done to the features first (``"none"`` or the isometric embedding used).
    """

    labels: np.ndarray
    seconds: float
    reduction: str


class LabelViews(NamedTuple):
    """Base clusterings of several views.

    Attributes
    ----------
    labels : ndarray of int64, shape (M, N)
    seconds : ndarray of float64, shape (M,)
        Per-view wall time (the paper's ``t_2^j``).
    reductions : list of str, length M
    """

    labels: np.ndarray
    seconds: np.ndarray
    reductions: list[str]


def _check_algorithm(algorithm) -> None:
    if algorithm not in ALGORITHMS:
        raise UnknownName("clustering algorithm", algorithm, ALGORITHMS)


def isometric_reduction(X: np.ndarray, chunk_bytes: int = _CHUNK_BYTES) -> tuple[np.ndarray, str]:
    """Exact Euclidean embedding of the rows of a wide matrix in at most ``N`` dimensions.

    The centred Gram matrix ``G = Xc Xc^T`` (``Xc`` the row-centred data) is accumulated in
    float64 over blocks of columns, so no float64 copy of ``X`` is made; its eigendecomposition
    ``G = V diag(lam) V^T`` gives ``Z = V diag(sqrt(lam))`` with ``Z Z^T = G``, hence the same
    pairwise distances as ``X`` up to rounding.

    Parameters
    ----------
    X : ndarray, shape (N, D)
        Finite features; nothing is done when ``D <= N``.
    chunk_bytes : int
        Size of one float64 column block.

    Returns
    -------
    Z : ndarray of float64, shape (N, r) with ``r <= N``, or ``X`` itself
    description : str
        ``"none"`` or ``"isometric D->r (centred Gram eigendecomposition)"``.
    """
    n_rows, n_cols = X.shape
    if n_cols <= n_rows:
        return X, "none"
    gram = np.zeros((n_rows, n_rows))
    col_mean = X.mean(axis=0, dtype=np.float64)  # (D,)
    step = max(1, chunk_bytes // (8 * n_rows))
    for start in range(0, n_cols, step):
        block = X[:, start:start + step].astype(np.float64) - col_mean[start:start + step]
        gram += block @ block.T
        del block
    gram = (gram + gram.T) / 2
    lam, vec = np.linalg.eigh(gram)
    keep = lam > lam[-1] * n_rows * np.finfo(np.float64).eps
    Z = vec[:, keep] * np.sqrt(lam[keep])
    return Z, f"isometric {n_cols}->{int(keep.sum())} (centred Gram eigendecomposition)"


def cluster_features(
    X,
    algorithm: str = "agglomerative",
    n_clusters: int = 8,
    random_state: int | np.random.RandomState | None = None,
    *,
    reduce: bool = True,
) -> FeatureClustering:
    """Cluster one feature matrix with k-means (``n_init=10``) or Ward agglomerative clustering.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Finite features.
    algorithm : {"kmeans", "agglomerative"}
        ``"agglomerative"`` is scikit-learn's default (Ward linkage, Euclidean), as in the paper.
    n_clusters : int
        ``K``, ``2 <= K <= N``.
    random_state : int, RandomState or None
        Seed for k-means++ (agglomerative is deterministic).
    reduce : bool
        Apply :func:`isometric_reduction` when ``D > N`` (same result, less memory and time).

    Returns
    -------
    FeatureClustering
        ``(labels, seconds, reduction)``.

    Raises
    ------
    UnknownName
        Unknown ``algorithm``.
    InvalidParameter
        Non-2-D or non-finite ``X``, ``K`` out of range.

    References
    ----------
    .. [1] Guérin et al., Neurocomputing 423, 2021, Section 3.
    """
    _check_algorithm(algorithm)
    X = check_features(X)
    n_clusters = check_n_clusters(n_clusters, X.shape[0])
    from sklearn.cluster import AgglomerativeClustering, KMeans

    t0 = time.perf_counter()
    Z, reduction = isometric_reduction(X) if reduce else (X, "none")
    if algorithm == "kmeans":
        model = KMeans(n_clusters=n_clusters, n_init=_KMEANS_N_INIT, random_state=random_state)
    else:
        model = AgglomerativeClustering(n_clusters=n_clusters, linkage="ward")
    if algorithm == "kmeans":
        # One thread: scikit-learn's k-means synchronises its OpenMP threads many times per iteration, and on
        # a 2-core machine with any other busy process, 2 threads ran 13x slower than 1 (N=1,797, D=1,280).
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            labels = model.fit_predict(Z).astype(np.int64)
    else:
        labels = model.fit_predict(Z).astype(np.int64)
    return FeatureClustering(labels, time.perf_counter() - t0, reduction)


def build_label_views(
    views: Sequence[np.ndarray],
    n_clusters: int,
    algorithm: str = "agglomerative",
    random_state: int | None = None,
    *,
    progress: bool = True,
) -> LabelViews:
    """Base-cluster every feature view (the first step of MVEC) and time each one.

    Parameters
    ----------
    views : sequence of array-like, each (N, D_j)
        At least two views of the same N rows.
    n_clusters : int
    algorithm : {"kmeans", "agglomerative"}
    random_state : int or None
        The same seed is used for every view.
    progress : bool
        Show a progress bar.

    Returns
    -------
    LabelViews
        ``labels`` (M, N), ``seconds`` (M,), ``reductions``.

    References
    ----------
    .. [1] Guérin et al., Neurocomputing 423, 2021, Section 4.3.
    """
    _check_algorithm(algorithm)
    views = check_feature_views(views)
    check_n_clusters(n_clusters, views[0].shape[0])
    out = [cluster_features(v, algorithm, n_clusters, random_state)
           for v in tqdm(views, desc="base clusterings", disable=not progress)]
    return LabelViews(np.stack([o.labels for o in out]), np.array([o.seconds for o in out]),
                      [o.reduction for o in out])
