"""RMKKM: robust multiple kernel k-means with the L2,1 norm, one Sigest RBF kernel per view.

References
----------
L. Du, P. Zhou, L. Shi, H. Wang, M. Fan, W. Wang, Y.-D. Shen, "Robust Multiple Kernel K-means using L21-norm",
IJCAI 2015; code https://github.com/csliangdu/RMKKM. J. Guérin et al., Neurocomputing 423 (2021), Section 6.1.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import check_random_state

from clustlib.cluster.multiview.checks import check_kernel_fit
from clustlib.cluster.multiview.kernels import check_memory, view_kernels
from clustlib.errors import InvalidParameter

__all__ = ["RMKKM"]


def _l21_kernel_kmeans(K: np.ndarray, k: int, n_init: int, max_iter: int, rng) -> tuple[np.ndarray, np.ndarray, float]:
    """Kernel k-means with the L2,1 norm (re-weighted): best of ``n_init`` random-sample starts.

    Returns labels (n,), the weighted-indicator centre matrix (n, k) whose columns sum to 1, and the
    objective sum_i ||phi(x_i) - c_{l_i}||.
    """
    n = K.shape[0]
    diag = np.diag(K).copy()
    best = None
    for _ in range(n_init):
        seeds = rng.choice(n, k, replace=False)
        center = np.zeros((n, k))
        center[seeds, np.arange(k)] = 1.0
        label = np.full(n, -1)
        for _ in range(max_iter):
            KC = K @ center  # (n, k)
            D = -2.0 * KC + np.einsum("ik,ik->k", center, KC)[None, :]
            new = np.argmin(D, axis=1)
            val = D[np.arange(n), new]
            missing = np.setdiff1d(np.arange(k), new)
            if missing.size:  # refill empty clusters with the worst-fitted points
                far = np.argsort(-(diag + val), kind="stable")[:missing.size]
                new[far] = missing
            dist = np.maximum(diag + val, np.finfo(float).eps)
            sw = 0.5 / np.sqrt(dist)
            tiny = dist < 1e-10
            if (~tiny).any():
                sw[tiny] = sw[~tiny].mean()  # a point on its centre would get infinite weight
            sw /= sw.max()
            center = np.zeros((n, k))
            center[np.arange(n), new] = sw
            center /= np.maximum(center.sum(axis=0), 1e-10)
            if np.array_equal(new, label):
                break
            label = new
        obj = _l21_objective(K, label, center)
        if best is None or obj < best[2]:
            best = (label.copy(), center.copy(), obj)
    return best


def _sq_dist_to_own_centre(K: np.ndarray, label: np.ndarray, center: np.ndarray) -> np.ndarray:
    KC = K @ center
    cKc = np.einsum("ik,ik->k", center, KC)
    n = K.shape[0]
    return np.diag(K) - 2.0 * KC[np.arange(n), label] + cKc[label]


def _l21_objective(K: np.ndarray, label: np.ndarray, center: np.ndarray) -> float:
    return float(np.sqrt(np.maximum(_sq_dist_to_own_centre(K, label, center), np.finfo(float).eps)).sum())


def _combine(Ks: list[np.ndarray], w: np.ndarray, *, out: np.ndarray) -> None:
    """``out = sum_v w_v K_v`` in place (n, n), summed in view order."""
    out[...] = 0.0
    for wv, K in zip(w, Ks):
        out += wv * K


def _same_partition(a: np.ndarray | None, b: np.ndarray) -> bool:
    return a is not None and adjusted_rand_score(a, b) == 1.0


class RMKKM(ClusterMixin, BaseEstimator):
    """Robust multiple kernel k-means (L2,1 norm) with Sigest RBF kernels, one kernel per view.

    Minimises ``sum_i ||phi_w(x_i) - c_{l_i}||`` (not squared, hence robust to outliers) over labels,
    centres and kernel weights ``w`` with ``sum_v w_v^gamma = 1``, where ``phi_w`` is the feature map
    of ``K_w = sum_v w_v K_v``. Alternates (a) L2,1 kernel k-means on ``K_w`` (re-weighted, best of
    ``n_init`` random starts) and (b) the closed-form weight update
    ``w_v ∝ h_v^(1/(gamma-1))`` with ``h_v`` the re-weighted residual of view ``v``, until the
    partition stops changing.

    Parameters
    ----------
    n_clusters : int
    weight_exponent : float in (0, 1), default 0.7
        The paper's gamma (the authors' code declares 0.7 as default; its experiments grid 0.1-0.9).
    kernel_gamma : "sigest", float or sequence of float, default "sigest"
        RBF parameter per view.
    sigest_frac : float, default 0.5
    max_iter : int, default 50
        Outer iterations (the authors' experiment scripts use 50).
    kmeans_max_iter : int, default 30
    n_init : int, default 10
        Random starts of the inner L2,1 kernel k-means.
    max_memory_bytes : int, optional
    random_state : int, RandomState or None

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
    kernel_weights_ : ndarray of shape (n_views,)
    kernel_gammas_ : list of float
    objective_history_ : list of float
        L2,1 objective after each outer iteration.
    n_iter_ : int

    References
    ----------
    L. Du et al., "Robust Multiple Kernel K-means using L21-norm", IJCAI 2015;
    https://github.com/csliangdu/RMKKM. J. Guérin et al., Neurocomputing 423 (2021), Section 6.1.
    """

    def __init__(self, n_clusters: int = 10, *, weight_exponent: float = 0.7, kernel_gamma="sigest",
                 sigest_frac: float = 0.5, max_iter: int = 50, kmeans_max_iter: int = 30, n_init: int = 10,
                 max_memory_bytes: int | None = None, random_state=None) -> None:
        self.n_clusters = n_clusters
        self.weight_exponent = weight_exponent
        self.kernel_gamma = kernel_gamma
        self.sigest_frac = sigest_frac
        self.max_iter = max_iter
        self.kmeans_max_iter = kmeans_max_iter
        self.n_init = n_init
        self.max_memory_bytes = max_memory_bytes
        self.random_state = random_state

    def fit(self, views: Sequence, y=None) -> "RMKKM":
        """Cluster a list of views, each of shape (n_samples, n_features_v); ``y`` is ignored."""
        views, k = check_kernel_fit(self, views, {"max_iter": 1, "kmeans_max_iter": 1, "n_init": 1})
        n, m = views[0].shape[0], len(views)
        a = self.weight_exponent
        if isinstance(a, bool) or not isinstance(a, (int, float, np.number)) or not 0 < a < 1:
            raise InvalidParameter(f"weight_exponent (RMKKM's gamma) must be in (0, 1); got {a!r}.")
        check_memory("RMKKM", n, m, self.max_memory_bytes)
        rng = check_random_state(self.random_state)

        Ks, gammas = view_kernels(views, self.kernel_gamma, self.sigest_frac, rng)
        w = np.full(m, 1.0 / m)
        label, history, it = None, [], 0
        Ka = np.empty((n, n))
        for it in range(1, int(self.max_iter) + 1):
            _combine(Ks, w, out=Ka)
            new, center, _ = _l21_kernel_kmeans(Ka, k, int(self.n_init), int(self.kmeans_max_iter), rng)
            # per-view squared residuals of each point to its centre, re-weighted by 1 / (2 ||r_i||)
            R = np.stack([_sq_dist_to_own_centre(K, new, center) for K in Ks], axis=1)  # (n, m)
            R = np.maximum(R, np.finfo(float).eps)
            d = 1.0 / (2.0 * np.sqrt(R @ w))
            h = (R * d[:, None]).sum(axis=0)  # (m,)
            w = h ** (1.0 / (a - 1.0)) / (h ** (a / (a - 1.0))).sum() ** (1.0 / a)
            _combine(Ks, w, out=Ka)
            history.append(_l21_objective(Ka, new, center))
            converged = _same_partition(label, new)
            label = new
            if converged:
                break
        self.labels_ = label.astype(np.int64)
        self.kernel_weights_ = w
        self.kernel_gammas_ = gammas
        self.objective_history_ = history
        self.n_iter_ = it
        return self
