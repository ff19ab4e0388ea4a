"""U-SPEC (ultra-scalable spectral clustering), transfer cut and the U-SENC ensemble generator.

U-SPEC [1]_ replaces the ``N x N`` affinity of spectral clustering by a sparse ``N x p`` bipartite
affinity between the samples and ``p`` representatives:

1. *Hybrid representative selection*: draw ``10 p`` random samples and run k-means (10 Lloyd
   iterations, seeded with random samples) on them; the ``p`` centres are the representatives.
2. *Approximate K nearest representatives*: group the representatives into ``floor(sqrt(p))``
   rep-clusters (k-means, 20 iterations); a sample goes to its nearest rep-cluster, then to the
   nearest representative inside it; among the ``10 Knn + 1`` representatives nearest to that
   one (itself included) the sample keeps its ``Knn`` nearest.
3. *Bipartite affinity*: ``B[i, r] = exp(-d(i, r)^2 / (2 sigma^2))`` on the kept pairs, with
   ``sigma`` the mean of all kept distances; zeros become machine epsilon so the kept pairs stay
   edges.
4. *Transfer cut* [2]_ partitions the bipartite graph through an eigenproblem on the small
   ``p x p`` graph of representatives (:func:`transfer_cut`).

U-SENC [1]_ builds an ensemble of U-SPEC clusterings, each with fresh representatives and a number
of clusters drawn uniformly from ``[K_min, K_max]`` (:func:`usenc_ensemble`). DeepCluE [3]_ uses
it to cluster each network layer; its consensus lives in :mod:`clustlib.cluster.consensus_entropy`.

Defaults are those of the authors' MATLAB code (``USPEC.m``, ``USENC_EnsGen.m``,
``Tcut_for_bipartite_graph.m``): ``p = 1000``, ``Knn = 5``, Euclidean distance, and the
transfer cut's final k-means with 100 iterations and 3 replicates for a standalone U-SPEC but
5 iterations and 1 replicate inside the U-SENC generator.

One module of about 500 lines, half of them docstrings: U-SPEC, the transfer cut and U-SENC share one set of
checks, the affinity and the transfer-cut core (U-SENC runs U-SPEC's core per member), so split apart each file
would import the others' private helpers.

References
----------
.. [1] D. Huang, C.-D. Wang, J.-S. Wu, J.-H. Lai, C.-K. Kwoh, "Ultra-Scalable Spectral
   Clustering and Ensemble Clustering", IEEE TKDE 32(6), 2020.
   Code: github.com/huangdonghere/USPEC_USENC.
.. [2] Z. Li, X.-M. Wu, S.-F. Chang, "Segmentation using superpixels: a bipartite graph
   partitioning approach", CVPR 2012 (transfer cut).
.. [3] D. Huang, D.-H. Chen, X. Chen, C.-D. Wang, J.-H. Lai, "DeepCluE: Enhanced Deep
   Clustering via Multi-Layer Ensembles in Neural Networks", IEEE TETCI 8(2), 2024.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from clustlib.cluster._validation import check_features, check_n_clusters
from clustlib.errors import InvalidParameter

__all__ = ["USPEC", "transfer_cut", "usenc_ensemble", "uspec_affinity"]

DISTANCES = ("euclidean", "cosine")
#: Lloyd iterations of the representative selection (litekmeans, ``MaxIter`` 10 in USPEC.m).
_REP_KMEANS_ITER = 10
#: Samples drawn per representative before the selection k-means (USPEC.m: ``10 * p``).
_REP_OVERSAMPLING = 10
#: Lloyd iterations when grouping representatives into ``floor(sqrt(p))`` rep-clusters.
_REPCLUSTER_KMEANS_ITER = 20
#: Candidate neighbourhood of the approximate KNN: ``10 * Knn + 1`` representatives.
_CANDIDATE_FACTOR = 10
#: Largest ``Ny`` for which the transfer cut uses a dense (partial) eigendecomposition.
_DENSE_EIGEN_LIMIT = 3000
#: Bytes a block of the candidate-distance computation may take.
_CHUNK_BYTES = 32 * 2**20
_TINY = 1e-10


# --------------------------------------------------------------------------------------------
# validation


def _check_int(value, name: str, low: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InvalidParameter(f"{name} must be an integer >= {low}, got {value!r}. {fix}")
    return int(value)


def _check_random_state(random_state) -> None:
    if random_state is not None and (
        isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer, np.random.RandomState))
    ):
        raise InvalidParameter(
            f"random_state must be None, an integer or a numpy RandomState, got {random_state!r}."
        )


def _check_distance(distance) -> str:
    if distance not in DISTANCES:
        raise InvalidParameter(
            f"distance must be one of {DISTANCES}, got {distance!r}. Use 'cosine' for very "
            "high-dimensional features, 'euclidean' otherwise."
        )
    return distance


def _check_uspec_params(n_representatives, knn, distance, kmeans_iter, kmeans_replicates, random_state) -> None:
    _check_int(n_representatives, "n_representatives", 2, "The paper's default is 1000.")
    _check_int(knn, "knn", 1, "The paper's default is 5.")
    _check_distance(distance)
    _check_int(kmeans_iter, "kmeans_iter", 1, "Use 100 for U-SPEC, 5 inside U-SENC.")
    _check_int(kmeans_replicates, "kmeans_replicates", 1, "Use 3 for U-SPEC, 1 inside U-SENC.")
    _check_random_state(random_state)


def _check_X(X) -> np.ndarray:
    X = check_features(X)
    if X.shape[0] < 3:
        raise InvalidParameter(f"X must have at least 3 rows, got shape {X.shape}.")
    return np.ascontiguousarray(X, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# building blocks


def _kmeans(X: np.ndarray, k: int, max_iter: int, n_init: int, init: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd k-means; returns (labels (N,), centres (k, D)). Duplicate rows may leave fewer distinct centres."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # duplicates: fewer distinct clusters than k
        km = KMeans(n_clusters=k, init=init, n_init=n_init, max_iter=max_iter, random_state=seed).fit(X)
    return km.labels_.astype(np.int64), km.cluster_centers_


def _sq_dist(A: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, k) between the rows of A (n, D) and C (k, D), clipped at 0."""
    d2 = (A * A).sum(1)[:, None] - 2.0 * (A @ C.T) + (C * C).sum(1)[None, :]
    return np.maximum(d2, 0.0)


def _select_representatives(X: np.ndarray, p: int, rng: np.random.RandomState) -> np.ndarray:
    """Hybrid selection: k-means centres (p, D) of ``10 p`` random samples (all of them when fewer)."""
    n = X.shape[0]
    m = min(n, _REP_OVERSAMPLING * p)
    sample = X[np.sort(rng.choice(n, size=m, replace=False))] if m < n else X
    seed = int(rng.randint(np.iinfo(np.int32).max))
    return _kmeans(sample, p, _REP_KMEANS_ITER, 1, "random", seed)[1]


def _approx_knn(X: np.ndarray, reps: np.ndarray, knn: int, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Approximate ``knn`` nearest representatives: indices (N, knn) and squared distances (N, knn)."""
    n, dim = X.shape
    p = reps.shape[0]
    n_groups = max(1, int(np.floor(np.sqrt(p))))
    seed = int(rng.randint(np.iinfo(np.int32).max))
    group_of_rep, group_centres = _kmeans(reps, n_groups, _REPCLUSTER_KMEANS_ITER, 1, "random", seed)

    # nearest rep-cluster, then nearest representative inside it
    nearest_group = np.empty(n, dtype=np.int64)
    rows_per_block = max(1, _CHUNK_BYTES // (8 * max(n_groups, p)))
    for s in range(0, n, rows_per_block):
        nearest_group[s : s + rows_per_block] = _sq_dist(X[s : s + rows_per_block], group_centres).argmin(1)
    nearest_rep = np.empty(n, dtype=np.int64)
    for g in np.unique(nearest_group):
        members = np.flatnonzero(group_of_rep == g)
        rows = np.flatnonzero(nearest_group == g)
        if members.size == 0:  # an emptied rep-cluster: fall back to all representatives
            members = np.arange(p)
        for s in range(0, rows.size, rows_per_block):
            r = rows[s : s + rows_per_block]
            nearest_rep[r] = members[_sq_dist(X[r], reps[members]).argmin(1)]

    # candidate neighbourhood of each representative: its 10 Knn + 1 nearest representatives
    n_cand = min(p, _CANDIDATE_FACTOR * knn + 1)
    rep_d2 = _sq_dist(reps, reps)
    np.fill_diagonal(rep_d2, -1.0)  # a representative is its own first candidate
    cand_of_rep = np.argsort(rep_d2, axis=1, kind="stable")[:, :n_cand]  # (p, n_cand)

    idx = np.empty((n, knn), dtype=np.int64)
    d2 = np.empty((n, knn))
    x_norm = (X * X).sum(1)
    r_norm = (reps * reps).sum(1)
    rows_per_block = max(1, _CHUNK_BYTES // (8 * n_cand * dim))
    for s in range(0, n, rows_per_block):
        sl = slice(s, s + rows_per_block)
        cand = cand_of_rep[nearest_rep[sl]]  # (b, n_cand)
        dots = np.einsum("bd,bcd->bc", X[sl], reps[cand])
        cd2 = np.maximum(x_norm[sl, None] - 2.0 * dots + r_norm[cand], 0.0)  # (b, n_cand)
        keep = np.argsort(cd2, axis=1, kind="stable")[:, :knn]
        idx[sl] = np.take_along_axis(cand, keep, axis=1)
        d2[sl] = np.take_along_axis(cd2, keep, axis=1)
    return idx, d2


def _uspec_affinity(
    X: np.ndarray, p: int, knn: int, distance: str, rng: np.random.RandomState
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Core of :func:`uspec_affinity` on validated input; returns (B, representatives)."""
    if distance == "cosine":  # Euclidean on unit vectors orders neighbours as the cosine does
        X = X / (np.linalg.norm(X, axis=1, keepdims=True) + _TINY)
    reps = _select_representatives(X, p, rng)
    if distance == "cosine":
        reps = reps / (np.linalg.norm(reps, axis=1, keepdims=True) + _TINY)
    idx, d2 = _approx_knn(X, reps, knn, rng)
    if distance == "cosine":
        dist = np.maximum(d2 / 2.0, 0.0)  # ||a - b||^2 / 2 = 1 - cos(a, b) on unit vectors
    else:
        dist = np.sqrt(d2)
    sigma = dist.mean()
    if sigma <= 0:  # every sample sits on a representative
        sigma = 1.0
    vals = np.exp(-(dist**2) / (2.0 * sigma**2))
    vals[vals == 0] = np.finfo(np.float64).eps
    n = X.shape[0]
    B = sp.csr_matrix((vals.ravel(), idx.ravel(), np.arange(0, n * knn + 1, knn)), shape=(n, reps.shape[0]))
    B.sum_duplicates()
    return B, reps


# --------------------------------------------------------------------------------------------
# transfer cut


def _check_bipartite(B) -> sp.csr_matrix:
    if sp.issparse(B):
        B = sp.csr_matrix(B, dtype=np.float64)
        data = B.data
    else:
        arr = np.asarray(B)
        if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise InvalidParameter(
                f"B must be a 2-D real (N, Ny) array or scipy sparse matrix, got shape {arr.shape} "
                f"and dtype {arr.dtype}."
            )
        B = sp.csr_matrix(arr.astype(np.float64))
        data = B.data
    if B.shape[0] == 0 or B.shape[1] == 0:
        raise InvalidParameter(f"B must have at least one row and one column, got shape {B.shape}.")
    if not np.all(np.isfinite(data)) or np.any(data < 0):
        raise InvalidParameter("B must hold finite, non-negative affinities (found NaN, inf or a negative entry).")
    return B


def transfer_cut(
    B,
    n_segments: int,
    *,
    kmeans_iter: int = 100,
    kmeans_replicates: int = 3,
    random_state: int | np.random.RandomState | None = None,
) -> np.ndarray:
    """Partition a bipartite graph between N samples and Ny nodes by transfer cut.

    The normalised cut of the ``(N + Ny)``-node bipartite graph is solved through the small graph
    ``W_y = B^T D_x^{-1} B`` on the Ny nodes: its top ``n_segments`` normalised eigenvectors
    (the trivial one included) are transferred to the samples by ``D_x^{-1} B``, each row is
    L2-normalised and k-means cuts them into ``n_segments`` groups. Columns without any edge are
    dropped first (they carry no information and would make the degree matrix singular).

    Parameters
    ----------
    B : array-like or scipy sparse matrix, shape (N, Ny)
        Non-negative cross affinities; rows are samples, columns representatives or clusters.
    n_segments : int
        Number of groups, ``2 <= n_segments <= min(N, non-empty columns)``.
    kmeans_iter, kmeans_replicates : int
        Iterations and restarts (k-means++) of the final k-means (MATLAB ``MaxIter``/``Replicates``).
    random_state : int, RandomState or None
        Seeds the k-means (and the start vector of the sparse eigensolver for ``Ny > 3000``).

    Returns
    -------
    labels : ndarray of int64, shape (N,)
        Group of each sample, ``0..n_segments - 1``.

    Notes
    -----
    Cost: ``O(nnz(B) + Ny^3)`` with a dense partial eigendecomposition up to ``Ny = 3000``,
    Lanczos (``eigsh``) beyond; memory ``O(Ny^2)``.

    References
    ----------
    .. [1] Z. Li, X.-M. Wu, S.-F. Chang, "Segmentation using superpixels: a bipartite graph
       partitioning approach", CVPR 2012.
    .. [2] D. Huang et al., "Ultra-Scalable Spectral Clustering and Ensemble Clustering", IEEE TKDE
       32(6), 2020; ``Tcut_for_bipartite_graph.m`` in github.com/huangdonghere/USPEC_USENC.
    """
    B = _check_bipartite(B)
    _check_int(kmeans_iter, "kmeans_iter", 1, "The authors' default is 100.")
    _check_int(kmeans_replicates, "kmeans_replicates", 1, "The authors' default is 3.")
    _check_random_state(random_state)
    nonempty = np.flatnonzero(np.asarray(B.sum(axis=0)).ravel() > 0)
    if isinstance(n_segments, bool) or not isinstance(n_segments, (int, np.integer)):
        raise InvalidParameter(f"n_segments must be an integer, got {n_segments!r}.")
    upper = min(B.shape[0], nonempty.size)
    if not 2 <= n_segments <= upper:
        raise InvalidParameter(
            f"n_segments must be between 2 and min(rows, non-empty columns) = {upper}, got {n_segments}. "
            "Ask for fewer groups or give the graph more columns (e.g. more representatives)."
        )
    return _transfer_cut(B[:, nonempty], int(n_segments), kmeans_iter, kmeans_replicates, check_random_state(random_state))


def _transfer_cut(B: sp.csr_matrix, k: int, kmeans_iter: int, kmeans_replicates: int, rng: np.random.RandomState) -> np.ndarray:
    """Core of :func:`transfer_cut` on a validated B without empty columns."""
    dx = np.asarray(B.sum(axis=1)).ravel()
    dx[dx == 0] = _TINY
    Dx_inv = sp.diags(1.0 / dx)
    Wy = (B.T @ Dx_inv @ B).toarray()  # (Ny, Ny)
    dy = Wy.sum(1)
    d_isqrt = 1.0 / np.sqrt(dy)
    nWy = d_isqrt[:, None] * Wy * d_isqrt[None, :]
    nWy = (nWy + nWy.T) / 2.0
    ny = nWy.shape[0]
    if ny <= _DENSE_EIGEN_LIMIT:
        vals, vecs = scipy.linalg.eigh(nWy, subset_by_index=[ny - k, ny - 1])
    else:
        v0 = rng.uniform(-1.0, 1.0, size=ny)
        vals, vecs = eigsh(nWy, k=k, which="LA", v0=v0)
    order = np.argsort(-vals, kind="stable")
    ncut_vecs = d_isqrt[:, None] * vecs[:, order]  # (Ny, k)
    U = Dx_inv @ (B @ ncut_vecs)  # (N, k)
    U = U / (np.linalg.norm(U, axis=1, keepdims=True) + _TINY)
    seed = int(rng.randint(np.iinfo(np.int32).max))
    return _kmeans(U, k, kmeans_iter, kmeans_replicates, "k-means++", seed)[0]


# --------------------------------------------------------------------------------------------
# public API


def uspec_affinity(
    X,
    *,
    n_representatives: int = 1000,
    knn: int = 5,
    distance: str = "euclidean",
    random_state: int | np.random.RandomState | None = None,
) -> tuple[sp.csr_matrix, np.ndarray]:
    """U-SPEC's sparse bipartite affinity between samples and hybrid-selected representatives.

    Parameters
    ----------
    X : array-like of shape (N, D)
        Features.
    n_representatives : int, default 1000
        ``p``; capped at ``N``.
    knn : int, default 5
        Representatives kept per sample (capped at ``p``).
    distance : {"euclidean", "cosine"}, default "euclidean"
        Cosine uses ``1 - cos`` in the kernel and unit-normalised features for the neighbour search.
    random_state : int, RandomState or None
        Seeds the sampling and both k-means.

    Returns
    -------
    B : scipy.sparse.csr_matrix of shape (N, p)
        ``exp(-d^2 / (2 sigma^2))`` on each sample's ``knn`` approximate nearest representatives.
    representatives : ndarray of shape (p, D)
        The representatives (unit-normalised for cosine).

    References
    ----------
    .. [1] D. Huang et al., "Ultra-Scalable Spectral Clustering and Ensemble Clustering", IEEE TKDE
       32(6), 2020, Sections 3.1-3.2.
    """
    _check_uspec_params(n_representatives, knn, distance, 1, 1, random_state)
    X = _check_X(X)
    p = min(int(n_representatives), X.shape[0])
    return _uspec_affinity(X, p, min(int(knn), p), distance, check_random_state(random_state))


class USPEC(ClusterMixin, BaseEstimator):
    """Ultra-scalable spectral clustering (U-SPEC): representatives, sparse KNN affinity, transfer cut.

    Parameters
    ----------
    n_clusters : int
        ``K``, with ``2 <= K <= min(N, n_representatives)``.
    n_representatives : int, default 1000
        ``p`` representatives (capped at ``N``).
    knn : int, default 5
        Nearest representatives per sample.
    distance : {"euclidean", "cosine"}, default "euclidean"
        Distance of the neighbour search and kernel.
    kmeans_iter : int, default 100
        Iterations of the transfer cut's final k-means (5 inside U-SENC).
    kmeans_replicates : int, default 3
        Restarts of that k-means (1 inside U-SENC).
    random_state : int, RandomState or None, default None
        Seeds every random step; the same seed gives the same labels.

    Attributes
    ----------
    labels_ : ndarray of int64, shape (N,)
        Cluster of each sample.
    affinity_ : scipy.sparse.csr_matrix, shape (N, p)
        The bipartite affinity that was cut.
    representatives_ : ndarray, shape (p, D)
        The representatives.

    References
    ----------
    .. [1] D. Huang, C.-D. Wang, J.-S. Wu, J.-H. Lai, C.-K. Kwoh, "Ultra-Scalable Spectral
       Clustering and Ensemble Clustering", IEEE TKDE 32(6), 2020.
       Code: github.com/huangdonghere/USPEC_USENC (``USPEC.m``).
    """

    def __init__(
        self,
        n_clusters: int,
        *,
        n_representatives: int = 1000,
        knn: int = 5,
        distance: str = "euclidean",
        kmeans_iter: int = 100,
        kmeans_replicates: int = 3,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_representatives = n_representatives
        self.knn = knn
        self.distance = distance
        self.kmeans_iter = kmeans_iter
        self.kmeans_replicates = kmeans_replicates
        self.random_state = random_state

    def fit(self, X, y=None) -> "USPEC":
        """Cluster ``X`` (N, D); ``y`` is ignored."""
        _check_uspec_params(
            self.n_representatives, self.knn, self.distance, self.kmeans_iter, self.kmeans_replicates, self.random_state
        )
        X = _check_X(X)
        p = min(int(self.n_representatives), X.shape[0])
        k = check_n_clusters(self.n_clusters, p)
        rng = check_random_state(self.random_state)
        B, reps = _uspec_affinity(X, p, min(int(self.knn), p), self.distance, rng)
        nonempty = np.flatnonzero(np.asarray(B.sum(axis=0)).ravel() > 0)
        if nonempty.size < k:
            raise InvalidParameter(
                f"Only {nonempty.size} representatives are anyone's nearest neighbours, fewer than "
                f"n_clusters={k}. Increase knn or n_representatives."
            )
        self.labels_ = _transfer_cut(B[:, nonempty], k, int(self.kmeans_iter), int(self.kmeans_replicates), rng)
        self.affinity_ = B
        self.representatives_ = reps
        return self


def usenc_ensemble(
    X,
    n_clusterings: int,
    k_range: tuple[int, int],
    *,
    n_representatives: int = 1000,
    knn: int = 5,
    distance: str = "euclidean",
    kmeans_iter: int = 5,
    kmeans_replicates: int = 1,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """U-SENC ensemble generator: ``n_clusterings`` U-SPEC runs with random representatives and k.

    Parameters
    ----------
    X : array-like of shape (N, D)
        Features.
    n_clusterings : int
        ``M``, the ensemble size.
    k_range : (int, int)
        ``(k_min, k_max)``; each member's number of clusters is drawn uniformly from
        ``k_min..k_max`` inclusive (DeepCluE: ``(K, floor(sqrt(N)))``). ``2 <= k_min <= k_max <= p``.
    n_representatives, knn, distance : see :class:`USPEC`
    kmeans_iter : int, default 5
        Iterations of each member's transfer-cut k-means (``USENC_EnsGen.m``).
    kmeans_replicates : int, default 1
        Restarts of that k-means.
    random_state : int, RandomState or None
        Seeds the draws of k and every member.

    Returns
    -------
    labels : ndarray of int64, shape (N, M)
        Column ``m`` is member ``m``'s clustering.
    ks : ndarray of int64, shape (M,)
        The number of clusters asked of each member.

    References
    ----------
    .. [1] D. Huang et al., "Ultra-Scalable Spectral Clustering and Ensemble Clustering", IEEE TKDE
       32(6), 2020, Section 4 (U-SENC).
    """
    _check_uspec_params(n_representatives, knn, distance, kmeans_iter, kmeans_replicates, random_state)
    m = _check_int(n_clusterings, "n_clusterings", 1, "DeepCluE uses 5 per layer.")
    X = _check_X(X)
    p = min(int(n_representatives), X.shape[0])
    try:
        k_min, k_max = (int(v) for v in k_range)
    except (TypeError, ValueError):
        raise InvalidParameter(f"k_range must be a pair of integers (k_min, k_max), got {k_range!r}.") from None
    if not 2 <= k_min <= k_max <= p:
        raise InvalidParameter(
            f"k_range must satisfy 2 <= k_min <= k_max <= min(N, n_representatives) = {p}, got {k_range!r}. "
            "DeepCluE draws k from (n_clusters, floor(sqrt(N)))."
        )
    rng = check_random_state(random_state)
    ks = rng.randint(k_min, k_max + 1, size=m).astype(np.int64)
    seeds = rng.randint(np.iinfo(np.int32).max, size=m)
    labels = np.empty((X.shape[0], m), dtype=np.int64)
    for j in range(m):
        model = USPEC(
            int(ks[j]),
            n_representatives=p,
            knn=knn,
            distance=distance,
            kmeans_iter=kmeans_iter,
            kmeans_replicates=kmeans_replicates,
            random_state=int(seeds[j]),
        )
        labels[:, j] = model.fit(X).labels_
    return labels, ks
