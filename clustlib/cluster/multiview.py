"""Multi-view clustering baselines of Guérin et al. (2021): MVSC and RMKKM with Gaussian kernels.

* :class:`MVSC`: co-regularised multi-view spectral clustering, pairwise variant (Kumar, Rai and
  Daumé III, NIPS 2011).
* :class:`RMKKM`: robust multiple kernel k-means with the L2,1 norm (Du et al., IJCAI 2015).

Both build one RBF kernel ``exp(-gamma ||x - y||^2)`` per view with ``gamma`` chosen by the Sigest
heuristic (Caputo et al. 2002, as in kernlab's ``sigest``), as Guérin et al. Section 6.1 state.
Each holds dense ``N x N`` kernels, which is why the paper reports N/A for its large datasets:
:func:`memory_reason` estimates the memory first, and ``fit`` raises :class:`MemoryBudgetExceeded`
(with the printable reason) before allocating anything.

The ``*_jule`` variants of the paper are these estimators run on the per-view JULE embeddings
(:func:`clustlib.deep.mvnet.fit_view_jules`).

References
----------
A. Kumar, P. Rai, H. Daumé III, "Co-regularized Multi-view Spectral Clustering", NIPS 2011.
L. Du, P. Zhou, L. Shi, H. Wang, M. Fan, W. Wang, Y.-D. Shen, "Robust Multiple Kernel K-means using
L21-norm", IJCAI 2015; code https://github.com/csliangdu/RMKKM.
B. Caputo, K. Sim, F. Furesjo, A. Smola, "Appearance-based object recognition using SVMs: which
kernel should I use?", NIPS workshop 2002 (Sigest).
J. Guérin et al., "Combining pretrained CNN feature extractors to enhance clustering of complex
natural images", Neurocomputing 423 (2021), Sections 6.1-6.2.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import check_random_state

from clustlib.errors import InvalidParameter, MemoryBudgetExceeded

__all__ = [
    "MVSC",
    "RMKKM",
    "MemoryBudgetExceeded",
    "check_views",
    "sigest",
    "rbf_kernel",
    "kernel_memory_bytes",
    "memory_reason",
    "make_multiview_blobs",
]


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------


def check_views(views, *, name: str = "views", min_views: int = 1) -> list[np.ndarray]:
    """Validate a multi-view dataset: a sequence of 2-D finite arrays with the same number of rows.

    Parameters
    ----------
    views : sequence of array-like, each of shape (n_samples, n_features_v)
    name : str
        Name used in error messages.
    min_views : int
        Minimum number of views.

    Returns
    -------
    list of float64 ndarrays.

    Raises
    ------
    InvalidParameter
        Not a sequence of 2-D arrays, different row counts, or NaN/inf values.
    """
    if isinstance(views, np.ndarray) or not isinstance(views, (list, tuple)):
        raise InvalidParameter(
            f"{name} must be a list of 2-D arrays (one (n_samples, n_features) matrix per view); got "
            f"{type(views).__name__}. Wrap a single matrix as [X].")
    if len(views) < min_views:
        raise InvalidParameter(f"{name} needs at least {min_views} views; got {len(views)}. Pass one "
                               "(n_samples, n_features) matrix per view.")
    out = []
    for v, X in enumerate(views):
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidParameter(f"{name}[{v}] is not numeric: {exc}") from exc
        if X.ndim != 2:
            raise InvalidParameter(f"{name}[{v}] must be 2-D (n_samples, n_features); got shape {X.shape}.")
        bad = ~np.isfinite(X)
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1))
            raise InvalidParameter(
                f"{name}[{v}] has {int(bad.sum())} NaN/inf values in {rows.size} rows (first rows: "
                f"{rows[:5].tolist()}). Impute or drop those samples in every view.")
        out.append(X)
    rows = [X.shape[0] for X in out]
    if len(set(rows)) > 1:
        raise InvalidParameter(
            f"All {name} must describe the same samples in the same order, but their row counts differ: "
            f"{rows}. Subset every view with the same indices.")
    return out


def _check_n_clusters(k, n_samples: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidParameter(f"n_clusters must be a positive integer; got {k!r}.")
    if k > n_samples:
        raise InvalidParameter(f"n_clusters={k} exceeds the number of samples ({n_samples}); pass at most "
                               f"{n_samples}, e.g. the number of classes of the dataset.")
    return int(k)


def _check_kernel_gamma(g) -> None:
    if isinstance(g, str):
        if g != "sigest":
            raise InvalidParameter(f"kernel_gamma must be 'sigest' or a positive number; got {g!r}.")
        return
    vals = np.atleast_1d(np.asarray(g, dtype=object))
    for x in vals:
        if isinstance(x, bool) or not isinstance(x, (int, float, np.number)) or not np.isfinite(x) or x <= 0:
            raise InvalidParameter(
                f"kernel_gamma (the RBF kernel bandwidth parameter in exp(-gamma ||x-y||^2)) must be > 0; "
                f"got {g!r}. Use 'sigest' to set it from the data.")


# class -> blob in each view: every view sees 3 blobs of 2 classes each, and any two views together
# tell all 6 classes apart
_BLOB_OF_CLASS = np.array([[0, 0, 1, 1, 2, 2], [0, 1, 0, 2, 1, 2], [0, 1, 2, 0, 2, 1]])


def make_multiview_blobs(n_per_class: int = 50, n_features: int = 10, *, separation: float = 3.0,
                         noise: float = 1.0, random_state=None) -> tuple[list[np.ndarray], np.ndarray]:
    """Synthetic 3-view, 6-class problem that no single view solves but the views together do.

    In each view the 6 classes form 3 Gaussian blobs of 2 classes each, and the pairing differs
    between views (view 0 pairs {0,1},{2,3},{4,5}; view 1 {0,2},{1,4},{3,5}; view 2 {0,3},{1,5},
    {2,4}), so a single view caps clustering accuracy near 0.5 while any two views identify every
    class.

    Parameters
    ----------
    n_per_class : int
    n_features : int
        Dimension of every view.
    separation : float
        Standard deviation of the blob centres (per coordinate).
    noise : float
        Standard deviation of the within-blob noise (per coordinate).
    random_state : int, RandomState or None

    Returns
    -------
    views : list of 3 ndarrays of shape (6 * n_per_class, n_features), float64
    labels : ndarray of shape (6 * n_per_class,), int64
    """
    rng = check_random_state(random_state)
    y = np.repeat(np.arange(6), int(n_per_class)).astype(np.int64)
    views = []
    for blob in _BLOB_OF_CLASS:
        centres = rng.normal(0.0, separation, (3, n_features))
        views.append(centres[blob[y]] + rng.normal(0.0, noise, (y.size, n_features)))
    return views, y


# ---------------------------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------------------------


def sigest(X, *, frac: float = 0.5, random_state=None) -> tuple[float, float, float]:
    """Sigest: range of good RBF ``gamma`` values from quantiles of random pair distances.

    Draws ``floor(frac * n)`` random pairs (with replacement), takes their squared distances
    (zeros dropped) and returns ``1 / quantile`` at 0.9, 0.5 and 0.1, i.e. (small, middle, large)
    gamma for the kernel ``exp(-gamma ||x - y||^2)``. kernlab's automatic choice is the mean of the
    first and last value.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    frac : float
        Fraction of ``n`` used as the number of pairs.
    random_state : int, RandomState or None

    Returns
    -------
    (gamma_low, gamma_mid, gamma_high) : tuple of float, in units of 1 / (feature units)^2.

    References
    ----------
    Caputo et al. 2002; kernlab ``sigest`` (Karatzoglou et al., JSS 2004).
    """
    X = np.asarray(X, dtype=np.float64)
    rng = check_random_state(random_state)
    n = X.shape[0]
    m = max(int(np.floor(frac * n)), 1)
    i, j = rng.randint(0, n, m), rng.randint(0, n, m)
    d = ((X[i] - X[j]) ** 2).sum(axis=1)
    d = d[d > 0]
    if d.size == 0:
        raise InvalidParameter("sigest: every sampled pair of samples is identical; the view is constant.")
    q = np.quantile(d, [0.9, 0.5, 0.1])
    return tuple(float(v) for v in 1.0 / q)


def _sigest_gamma(X: np.ndarray, frac: float, rng) -> float:
    lo, _, hi = sigest(X, frac=frac, random_state=rng)
    return 0.5 * (lo + hi)


def rbf_kernel(X, gamma: float) -> np.ndarray:
    """Dense Gaussian kernel ``exp(-gamma ||x_i - x_j||^2)`` -> (n_samples, n_samples) float64."""
    X = np.asarray(X, dtype=np.float64)
    sq = (X * X).sum(axis=1)
    D = sq[:, None] + sq[None, :] - 2.0 * (X @ X.T)
    np.maximum(D, 0.0, out=D)
    D *= -gamma
    return np.exp(D, out=D)


def _kernels(views: list[np.ndarray], kernel_gamma, frac: float, rng) -> tuple[list[np.ndarray], list[float]]:
    if isinstance(kernel_gamma, str):
        gammas = [_sigest_gamma(X, frac, rng) for X in views]
    else:
        g = np.atleast_1d(np.asarray(kernel_gamma, dtype=np.float64))
        if g.size not in (1, len(views)):
            raise InvalidParameter(f"kernel_gamma has {g.size} values for {len(views)} views; give one or one per view.")
        gammas = [float(v) for v in np.broadcast_to(g, (len(views),))]
    return [rbf_kernel(X, g) for X, g in zip(views, gammas)], gammas


# ---------------------------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------------------------

_DENSE_MATRICES = {"MVSC": lambda m: m + 3, "RMKKM": lambda m: m + 2}


def kernel_memory_bytes(method: str, n_samples: int, n_views: int) -> int:
    """Peak bytes of the dense ``N x N`` float64 matrices ``method`` holds (kernels + work arrays).

    MVSC holds one normalised kernel per view plus ~3 work matrices (the co-regularised operator and
    the eigensolver's copy); RMKKM one kernel per view plus the combined kernel and a distance buffer.
    """
    if method not in _DENSE_MATRICES:
        raise InvalidParameter(f"Unknown method {method!r}; valid: {sorted(_DENSE_MATRICES)}.")
    return int(_DENSE_MATRICES[method](int(n_views)) * int(n_samples) ** 2 * 8)


def _available_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def memory_reason(method: str, n_samples: int, n_views: int, max_memory_bytes: int | None = None) -> str | None:
    """``None`` when ``method`` fits in memory, else a one-line N/A reason a notebook can print.

    Parameters
    ----------
    method : {"MVSC", "RMKKM"}
    n_samples, n_views : int
    max_memory_bytes : int, optional
        Budget; default: memory available now (psutil). The paper's machine had 16 GB.
    """
    need = kernel_memory_bytes(method, n_samples, n_views)
    limit = _available_bytes() if max_memory_bytes is None else int(max_memory_bytes)
    if need <= limit:
        return None
    return (f"N/A: {method} on {n_samples} samples x {n_views} views needs about {need / 2**30:.1f} GiB "
            f"of dense N x N kernels, more than the {limit / 2**30:.1f} GiB allowed (max_memory_bytes).")


def _check_memory(method: str, n: int, m: int, limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit <= 0):
        raise InvalidParameter(f"max_memory_bytes must be a positive integer or None; got {limit!r}.")
    reason = memory_reason(method, n, m, limit)
    if reason:
        raise MemoryBudgetExceeded(reason)


# ---------------------------------------------------------------------------------------------
# MVSC
# ---------------------------------------------------------------------------------------------


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
        views = check_views(views)
        n, m = views[0].shape[0], len(views)
        k = _check_n_clusters(self.n_clusters, n)
        _check_kernel_gamma(self.kernel_gamma)
        lam = self.regularization
        if isinstance(lam, bool) or not isinstance(lam, (int, float, np.number)) or not lam >= 0:
            raise InvalidParameter(f"regularization must be a number >= 0; got {lam!r}.")
        for name in ("n_iter", "n_init"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (0 if name == "n_iter" else 1):
                raise InvalidParameter(f"{name} must be a non-negative integer (n_init >= 1); got {v!r}.")
        if not 0 < self.sigest_frac <= 1:
            raise InvalidParameter(f"sigest_frac must be in (0, 1]; got {self.sigest_frac!r}.")
        _check_memory("MVSC", n, m, self.max_memory_bytes)
        rng = check_random_state(self.random_state)

        Ks, gammas = _kernels(views, self.kernel_gamma, self.sigest_frac, rng)
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


# ---------------------------------------------------------------------------------------------
# RMKKM
# ---------------------------------------------------------------------------------------------


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
        views = check_views(views)
        n, m = views[0].shape[0], len(views)
        k = _check_n_clusters(self.n_clusters, n)
        _check_kernel_gamma(self.kernel_gamma)
        a = self.weight_exponent
        if isinstance(a, bool) or not isinstance(a, (int, float, np.number)) or not 0 < a < 1:
            raise InvalidParameter(f"weight_exponent (RMKKM's gamma) must be in (0, 1); got {a!r}.")
        for name in ("max_iter", "kmeans_max_iter", "n_init"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise InvalidParameter(f"{name} must be a positive integer; got {v!r}.")
        if not 0 < self.sigest_frac <= 1:
            raise InvalidParameter(f"sigest_frac must be in (0, 1]; got {self.sigest_frac!r}.")
        _check_memory("RMKKM", n, m, self.max_memory_bytes)
        rng = check_random_state(self.random_state)

        Ks, gammas = _kernels(views, self.kernel_gamma, self.sigest_frac, rng)
        w = np.full(m, 1.0 / m)
        label, history, it = None, [], 0
        Ka = np.empty((n, n))
        for it in range(1, int(self.max_iter) + 1):
            Ka[...] = 0.0
            for wv, K in zip(w, Ks):
                Ka += wv * K
            new, center, _ = _l21_kernel_kmeans(Ka, k, int(self.n_init), int(self.kmeans_max_iter), rng)
            # per-view squared residuals of each point to its centre, re-weighted by 1 / (2 ||r_i||)
            R = np.stack([_sq_dist_to_own_centre(K, new, center) for K in Ks], axis=1)  # (n, m)
            R = np.maximum(R, np.finfo(float).eps)
            d = 1.0 / (2.0 * np.sqrt(R @ w))
            h = (R * d[:, None]).sum(axis=0)  # (m,)
            w = h ** (1.0 / (a - 1.0)) / (h ** (a / (a - 1.0))).sum() ** (1.0 / a)
            Ka[...] = 0.0
            for wv, K in zip(w, Ks):
                Ka += wv * K
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
