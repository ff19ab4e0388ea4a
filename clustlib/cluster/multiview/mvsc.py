"""MVSC: co-regularised multi-view spectral clustering, pairwise variant, with Sigest RBF kernels.

References
----------
A. Kumar, P. Rai, H. Daumé III, "Co-regularized Multi-view Spectral Clustering", NIPS 2011.
J. Guérin et al., Neurocomputing 423 (2021), Section 6.1 (RBF kernels, Sigest).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state

from clustlib.cluster.multiview.checks import check_kernel_fit
from clustlib.cluster.multiview.kernels import check_memory, view_kernels
from clustlib.errors import InvalidParameter

__all__ = ["MVSC"]


def _top_eigvecs(M: np.ndarray, k: int) -> np.ndarray:
    n = M.shape[0]
    M = 0.5 * (M + M.T)
    _, vecs = scipy.linalg.eigh(M, subset_by_index=[n - k, n - 1], overwrite_a=True, check_finite=False)
    return vecs[:, ::-1]


class MVSC(ClusterMixin, BaseEstimator):
    """Co-regularised multi-view spectral clustering (pairwise variant) with Sigest RBF kernels.

    For each view ``v`` the normalised affinity ``L_v = D^-1/2 K_v D^-1/2`` is built and ``U_v``
    initialised with its top ``k`` eigenvectors. Each iteration replaces ``U_v`` with the top ``k``
    eigenvectors of ``L_v + lambda * sum_{w != v} U_w U_w^T``. Finally the row-normalised ``U_v``
    are concatenated and clustered with k-means.

    Parameters
    ----------
    n_clusters : int
    regularization : float, default 0.01
        Co-regularisation weight lambda (Kumar et al. use 0.01-0.05).
    n_iter : int, default 10
        Alternating iterations.
    kernel_gamma : "sigest", float or sequence of float, default "sigest"
        RBF parameter per view; "sigest" uses the mean of Sigest's 0.1 and 0.9 quantile values.
    sigest_frac : float, default 0.5
    n_init : int, default 10
        k-means restarts (pinned).
    max_memory_bytes : int, optional
        Memory budget checked before any kernel is built (default: memory available now).
    random_state : int, RandomState or None

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
    embedding_ : ndarray of shape (n_samples, n_views * n_clusters)
        Concatenated row-normalised spectral embeddings.
    kernel_gammas_ : list of float
    objective_history_ : list of float
        Sum over views of trace(U_v^T L_v U_v) plus lambda times the pairwise agreement
        trace(U_v U_v^T U_w U_w^T), after each iteration (non-decreasing up to eigen-solver ties).

    References
    ----------
    A. Kumar, P. Rai, H. Daumé III, "Co-regularized Multi-view Spectral Clustering", NIPS 2011.
    J. Guérin et al., Neurocomputing 423 (2021), Section 6.1 (RBF kernels, Sigest).
    """

    def __init__(self, n_clusters: int = 10, *, regularization: float = 0.01, n_iter: int = 10,
                 kernel_gamma="sigest", sigest_frac: float = 0.5, n_init: int = 10,
                 max_memory_bytes: int | None = None, random_state=None) -> None:
        self.n_clusters = n_clusters
        self.regularization = regularization
        self.n_iter = n_iter
        self.kernel_gamma = kernel_gamma
        self.sigest_frac = sigest_frac
        self.n_init = n_init
        self.max_memory_bytes = max_memory_bytes
        self.random_state = random_state

    def fit(self, views: Sequence, y=None) -> "MVSC":
        """Cluster a list of views, each of shape (n_samples, n_features_v); ``y`` is ignored."""
        views, k = check_kernel_fit(self, views, {"n_iter": 0, "n_init": 1})
        n, m = views[0].shape[0], len(views)
        lam = self.regularization
        if isinstance(lam, bool) or not isinstance(lam, (int, float, np.number)) or not lam >= 0:
            raise InvalidParameter(f"regularization must be a number >= 0; got {lam!r}.")
        check_memory("MVSC", n, m, self.max_memory_bytes)
        rng = check_random_state(self.random_state)

        Ks, gammas = view_kernels(views, self.kernel_gamma, self.sigest_frac, rng)
        Ls = []
        for K in Ks:  # normalised affinity, in place
            d = 1.0 / np.sqrt(np.maximum(K.sum(axis=1), np.finfo(float).tiny))
            K *= d[:, None]
            K *= d[None, :]
            Ls.append(K)
        del Ks
        Us = [_top_eigvecs(L.copy(), k) for L in Ls]
        history = []
        for _ in range(int(self.n_iter)):
            for v in range(m):
                M = Ls[v].copy()
                for w in range(m):
                    if w != v:
                        M += lam * (Us[w] @ Us[w].T)
                Us[v] = _top_eigvecs(M, k)
                del M
            history.append(self._objective(Ls, Us, lam))
        Z = np.hstack([U / np.maximum(np.linalg.norm(U, axis=1, keepdims=True), 1e-12) for U in Us])
        km = KMeans(k, n_init=int(self.n_init), random_state=rng.randint(2**31 - 1)).fit(Z)
        self.labels_ = km.labels_.astype(np.int64)
        self.embedding_ = Z
        self.kernel_gammas_ = gammas
        self.objective_history_ = history
        return self

    @staticmethod
    def _objective(Ls, Us, lam) -> float:
        val = sum(float(np.trace(U.T @ L @ U)) for L, U in zip(Ls, Us))
        for v in range(len(Us)):
            for w in range(v + 1, len(Us)):
                val += lam * float(np.linalg.norm(Us[v].T @ Us[w]) ** 2)
        return val
