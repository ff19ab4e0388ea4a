"""NrKmeans and its special case SubKmeans: k-means in optimal, mutually orthogonal subspaces.

NrKmeans looks for S clusterings of the same data, each living in its own subspace of one
orthogonal rotation ``V`` of the feature space. Subspace ``s`` holds ``m_s`` rotated dimensions
(the columns ``P_s`` of ``V``) and ``K_s`` clusters; a subspace with a single cluster is the
*noise space*, which holds the directions that carry no cluster structure. The cost is

    sum_s  trace(P_s^T V^T S_s V P_s),   S_s = sum_i (x_i - mu_{s, l_s(i)}) (x_i - mu_{s, l_s(i)})^T,

the within-cluster scatter of each clustering measured in its own subspace (for the noise
space ``S`` is the scatter around the data mean). Lloyd-style iterations alternate

1. assignment of every point to its nearest centre *in each rotated subspace*;
2. centres = means of the assigned points (in the original space) and scatter matrices;
3. for every pair of subspaces (i, j): the eigen-decomposition of ``V_ij^T (S_i - S_j) V_ij``
   over their joint columns rotates them; the eigenvectors with negative eigenvalues (where
   subspace i's scatter is smaller than j's) go to i, the rest to j. This sets both V and m.

SubKmeans is NrKmeans with ``n_clusters = [K, 1]``: one cluster space plus the noise space,
and ``m`` = the number of negative eigenvalues of ``V^T (S_cluster - S_noise) V``.

Everything is vectorised NumPy: one iteration costs a few (N, d) x (d, d) products.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import ortho_group
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import kmeans_plusplus
from sklearn.utils import check_random_state

from clustlib.cluster._validation import check_features
from clustlib.errors import InvalidParameter

__all__ = ["NrKMeans", "SubKMeans"]

#: An eigenvalue below this counts as negative when the partner subspace is the noise space
#: (ClustPy's ``threshold_negative_eigenvalue``): exact zeros from rank deficiency stay in the noise.
_NOISE_EIGEN_THRESHOLD = -1e-7


def _check_X(X) -> np.ndarray:
    X = check_features(X)
    if X.shape[0] < 2:
        raise InvalidParameter(f"X must have at least 2 rows, got shape {X.shape}.")
    return np.ascontiguousarray(X, dtype=np.float64)


def _check_common(max_iter, n_init, random_state) -> None:
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InvalidParameter(f"max_iter must be an integer >= 1, got {max_iter!r}.")
    if not isinstance(n_init, (int, np.integer)) or n_init < 1:
        raise InvalidParameter(f"n_init must be an integer >= 1, got {n_init!r}.")
    if random_state is not None and not isinstance(random_state, (int, np.integer, np.random.RandomState)):
        raise InvalidParameter(f"random_state must be None, an integer or a numpy RandomState, got {random_state!r}.")


def _assign(Y: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Nearest centre (squared Euclidean) of every row of Y (N, m) among C (K, m); int64 (N,)."""
    if Y.shape[1] == 0:
        return np.zeros(Y.shape[0], dtype=np.int64)
    # ||y||^2 is the same for every centre; (K, N) layout makes argmin run along contiguous memory.
    d2 = (C * C).sum(1)[:, None] - 2.0 * (C @ Y.T)  # (K, N)
    return d2.argmin(0).astype(np.int64)


def _means_and_scatter(X: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster means (k, d) in the original space, counts (k,), and the within scatter matrix (d, d)."""
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    onehot = np.zeros((X.shape[0], k))
    onehot[np.arange(X.shape[0]), labels] = 1.0
    sums = onehot.T @ X  # (k, d)
    centers = sums / np.maximum(counts, 1.0)[:, None]
    R = X - centers[labels]
    return centers, counts, R.T @ R


def _nrkmeans_single(X: np.ndarray, n_clusters: list[int], max_iter: int, rs: np.random.RandomState):
    """One NrKmeans run from a random start: (labels (N, S), centers, V, P, scatters, n_iter)."""
    n, d = X.shape
    s_count = len(n_clusters)
    V = ortho_group.rvs(dim=d, random_state=rs) if d > 1 else np.ones((1, 1))
    # Random, as even as possible split of the d rotated dimensions over the subspaces.
    m = [d // s_count] * s_count
    for extra in rs.choice(s_count, d - sum(m), replace=False):
        m[extra] += 1
    order = rs.permutation(d)
    P = list(np.split(order, np.cumsum(m)[:-1]))
    x_sq = (X * X).sum(1)
    centers = [kmeans_plusplus(X, k, x_squared_norms=x_sq, random_state=rs)[0] for k in n_clusters]
    labels = np.zeros((n, s_count), dtype=np.int64)
    scatters = [np.zeros((d, d)) for _ in n_clusters]
    old = None
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        for s, k in enumerate(n_clusters):
            if k == 1 and n_iter > 1:
                continue  # the noise space's single cluster is the data mean; nothing changes
            Vs = V[:, P[s]]
            labels[:, s] = _assign(X @ Vs, centers[s] @ Vs)
            centers[s], counts, scatters[s] = _means_and_scatter(X, labels[:, s], k)
            empty = np.flatnonzero(counts == 0)
            if empty.size:
                # Re-seed each empty cluster at the point worst represented in this subspace
                # (scikit-learn's rule for k-means; the papers leave the case open).
                Y = X @ Vs
                far = ((Y - centers[s][labels[:, s]] @ Vs) ** 2).sum(1)
                for c, i in zip(empty, np.argsort(-far)[:empty.size]):
                    labels[i, s] = c
                centers[s], _, scatters[s] = _means_and_scatter(X, labels[:, s], k)
        if old is not None and np.array_equal(labels, old):
            break
        old = labels.copy()
        for i in range(s_count - 1):
            for j in range(i + 1, s_count):
                joint = np.concatenate([P[i], P[j]])
                if joint.size == 0:
                    continue
                Vij = V[:, joint]
                M = Vij.T @ (scatters[i] - scatters[j]) @ Vij
                e, W = np.linalg.eigh(0.5 * (M + M.T))  # ascending eigenvalues
                V[:, joint] = Vij @ W
                threshold = _NOISE_EIGEN_THRESHOLD if n_clusters[j] == 1 else 0.0
                n_neg = int((e < threshold).sum())
                P[i], P[j] = joint[:n_neg], joint[n_neg:][::-1]
    return labels, centers, V, P, scatters, n_iter


def _cost(V: np.ndarray, P: list[np.ndarray], scatters: list[np.ndarray]) -> float:
    return float(sum(np.trace(V[:, p].T @ S @ V[:, p]) for p, S in zip(P, scatters)))


def _nrkmeans(X: np.ndarray, n_clusters: list[int], max_iter: int, n_init: int, random_state):
    """Best of ``n_init`` runs by cost; V's columns reordered so subspace s is a contiguous block."""
    rs = check_random_state(random_state)
    best = None
    for _ in range(n_init):
        labels, centers, V, P, scatters, n_iter = _nrkmeans_single(X, n_clusters, max_iter, rs)
        cost = _cost(V, P, scatters)
        if best is None or cost < best[0]:
            best = (cost, labels, centers, V, P, scatters, n_iter)
    cost, labels, centers, V, P, scatters, n_iter = best
    V = V[:, np.concatenate(P)]
    m = [int(len(p)) for p in P]
    bounds = np.concatenate([[0], np.cumsum(m)])
    P = [np.arange(bounds[s], bounds[s + 1]) for s in range(len(m))]
    return labels, centers, V, m, P, scatters, n_iter, cost


class NrKMeans(TransformerMixin, ClusterMixin, BaseEstimator):
    """Non-redundant k-means: several k-means clusterings, each in its own orthogonal subspace.

    Parameters
    ----------
    n_clusters : sequence of int, default=(3, 3)
        Number of clusters of each subspace (>= 1 each, at least two subspaces). At most one
        entry may be 1 (the noise space), and it must come last.
    max_iter : int, default=300
        Maximum number of assignment / update / rotation rounds; a run stops earlier once no
        label changes.
    n_init : int, default=1
        Random restarts (random rotation, random dimension split, k-means++ centres); the run
        with the lowest cost is kept.
    random_state : int, RandomState or None, default=None
        Seeds the restarts. The same seed gives the same result.

    Attributes
    ----------
    labels_ : ndarray of int64, shape (N, S)
        Column s holds the labels of subspace s.
    cluster_centers_ : list of ndarray, shape (K_s, d)
        Centres in the original feature space (means of the assigned points).
    V_ : ndarray, shape (d, d)
        The orthogonal rotation; its columns are grouped by subspace (first ``m_[0]`` columns
        span subspace 0, and so on).
    m_ : list of int
        Dimensionality of each subspace (sums to d; may be 0 for a lost subspace).
    P_ : list of ndarray of int
        Columns of ``V_`` that span each subspace (contiguous ranges).
    scatter_matrices_ : list of ndarray, shape (d, d)
        Within-cluster scatter matrix of each subspace's clustering, in the original space.
    cost_ : float
        NrKmeans cost ``sum_s trace(P_s^T V^T S_s V P_s)`` of the result.
    n_iter_ : int
    n_features_in_ : int

    References
    ----------
    Mautz, Ye, Plant, Böhm, "Discovering Non-Redundant K-means Clusterings in Optimal
    Subspaces", KDD 2018. ClustPy ``clustpy/alternative/nrkmeans.py`` (Leiber et al.).
    """

    def __init__(self, n_clusters: Sequence[int] = (3, 3), *, max_iter: int = 300, n_init: int = 1,
                 random_state: int | np.random.RandomState | None = None) -> None:
        self.n_clusters = n_clusters
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state

    def _n_clusters_list(self, X: np.ndarray) -> list[int]:
        nc = self.n_clusters
        if isinstance(nc, (int, np.integer)) or not isinstance(nc, Sequence) or len(nc) < 2:
            raise InvalidParameter(
                f"n_clusters must list the number of clusters of each subspace, at least two entries "
                f"(e.g. [3, 3], or [K, 1] for SubKmeans); got {nc!r}."
            )
        n, d = X.shape
        if not all(isinstance(k, (int, np.integer)) and 1 <= k <= n for k in nc):
            raise InvalidParameter(f"every entry of n_clusters must be an integer in [1, N = {n}], got {list(nc)!r}.")
        ones = [i for i, k in enumerate(nc) if k == 1]
        if len(ones) > 1 or (ones and ones[0] != len(nc) - 1):
            raise InvalidParameter(
                f"at most one subspace may have a single cluster (the noise space), and it must be the last "
                f"entry of n_clusters; got {list(nc)!r}."
            )
        if d < len(nc):
            raise InvalidParameter(f"{len(nc)} subspaces need at least {len(nc)} features, X has {d}.")
        return [int(k) for k in nc]

    def fit(self, X, y=None):
        """Find the rotation, the subspace dimensionalities and the clusterings.

        Parameters
        ----------
        X : array-like of float, shape (N, d)
        y : ignored

        Returns
        -------
        self
        """
        X = _check_X(X)
        n_clusters = self._n_clusters_list(X)
        _check_common(self.max_iter, self.n_init, self.random_state)
        labels, centers, V, m, P, scatters, n_iter, cost = _nrkmeans(
            X, n_clusters, int(self.max_iter), int(self.n_init), self.random_state)
        self.labels_ = labels
        self.cluster_centers_ = centers
        self.V_, self.m_, self.P_ = V, m, P
        self.scatter_matrices_ = scatters
        self.cost_ = cost
        self.n_iter_ = n_iter
        self.n_features_in_ = X.shape[1]
        return self

    def _check_fitted(self, X) -> np.ndarray:
        if not hasattr(self, "V_"):
            raise InvalidParameter(f"{type(self).__name__} is not fitted yet; call fit(X) first.")
        X = _check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise InvalidParameter(f"X has {X.shape[1]} features, the model was fitted on {self.n_features_in_}.")
        return X

    def transform(self, X) -> np.ndarray:
        """Rotate ``X`` (N, d) with ``V_``: columns grouped by subspace (``P_``); returns (N, d)."""
        return self._check_fitted(X) @ self.V_

    def transform_subspace(self, X, subspace: int = 0) -> np.ndarray:
        """Project ``X`` (N, d) into subspace ``subspace``; returns (N, m_[subspace])."""
        return self._check_fitted(X) @ self.V_[:, self.P_[subspace]]

    def predict(self, X) -> np.ndarray:
        """Nearest centre of each subspace, measured in that subspace; int64 (N, S)."""
        X = self._check_fitted(X)
        cols = []
        for C, p in zip(self.cluster_centers_, self.P_):
            Vs = self.V_[:, p]
            cols.append(_assign(X @ Vs, C @ Vs))
        return np.stack(cols, 1)

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_


class SubKMeans(NrKMeans):
    """SubKmeans: k-means in the optimal m-dimensional subspace, m found by the algorithm.

    NrKmeans with ``n_clusters = [K, 1]``: a cluster space with K clusters plus a noise space
    (one cluster, the data mean) that absorbs every direction without cluster structure. The
    cluster-space dimensionality ``m_`` is the number of negative eigenvalues of
    ``V^T (S_cluster - S_noise) V``, so it is at most K - 1.

    Parameters
    ----------
    n_clusters : int
        K, in [2, N].
    max_iter : int, default=300
    n_init : int, default=1
        Random restarts; the lowest-cost run is kept.
    random_state : int, RandomState or None, default=None

    Attributes
    ----------
    labels_ : ndarray of int64, shape (N,)
    cluster_centers_ : ndarray, shape (K, d)
        Centres in the original space (means of the assigned points).
    V_ : ndarray, shape (d, d)
        Orthogonal rotation; its first ``m_`` columns span the cluster space, the rest the noise space.
    m_ : int
        Dimensionality of the cluster space.
    noise_center_ : ndarray, shape (d,)
        Mean of the data (the noise space's single centre).
    scatter_matrices_ : list of two ndarray, shape (d, d)
        Within-cluster scatter of the clustering and the scatter around the mean.
    cost_ : float
    n_iter_ : int
    n_features_in_ : int

    References
    ----------
    Mautz, Ye, Plant, Böhm, "Towards an Optimal Subspace for K-Means", KDD 2017.
    Mautz et al., "Discovering Non-Redundant K-means Clusterings in Optimal Subspaces", KDD 2018.
    """

    def __init__(self, n_clusters: int = 8, *, max_iter: int = 300, n_init: int = 1,
                 random_state: int | np.random.RandomState | None = None) -> None:
        super().__init__(n_clusters, max_iter=max_iter, n_init=n_init, random_state=random_state)

    def _n_clusters_list(self, X: np.ndarray) -> list[int]:
        k, n = self.n_clusters, X.shape[0]
        if not isinstance(k, (int, np.integer)) or not 2 <= k <= n:
            raise InvalidParameter(f"n_clusters must be an integer in [2, number of samples = {n}], got {k!r}.")
        if X.shape[1] < 2:
            raise InvalidParameter(f"SubKmeans needs at least 2 features (a cluster and a noise space), X has {X.shape[1]}.")
        return [int(k), 1]

    def fit(self, X, y=None):
        """Find the cluster subspace and the clustering of ``X`` (N, d) (``y`` ignored); returns self.

        :meth:`NrKMeans.fit` with a cluster space and a noise space, whose results are unpacked to one space.
        """
        super().fit(X)
        self.labels_ = self.labels_[:, 0]
        self.noise_center_ = self.cluster_centers_[1][0]
        self.cluster_centers_ = self.cluster_centers_[0]
        self.m_ = self.m_[0]
        return self

    def transform(self, X) -> np.ndarray:
        """Project ``X`` (N, d) into the cluster space; returns (N, m_)."""
        return self._check_fitted(X) @ self.V_[:, :self.m_]

    def predict(self, X) -> np.ndarray:
        """Nearest centre in the cluster space; int64 (N,)."""
        Vs = self.V_[:, :self.m_]
        return _assign(self._check_fitted(X) @ Vs, self.cluster_centers_ @ Vs)
