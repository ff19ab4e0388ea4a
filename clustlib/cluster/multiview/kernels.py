"""Gaussian kernels of the multi-view baselines, their Sigest bandwidth, and the memory their dense N x N matrices need.

References
----------
B. Caputo, K. Sim, F. Furesjo, A. Smola, "Appearance-based object recognition using SVMs: which kernel should I
use?", NIPS workshop 2002 (Sigest); kernlab ``sigest`` (Karatzoglou et al., JSS 2004).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from clustlib.errors import InvalidParameter, MemoryBudgetExceeded

__all__ = ["sigest", "rbf_kernel", "view_kernels", "kernel_memory_bytes", "memory_reason", "check_memory"]


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


def view_kernels(views: list[np.ndarray], kernel_gamma, frac: float, rng) -> tuple[list[np.ndarray], list[float]]:
    """One dense RBF kernel (n, n) per view and the gamma of each (Sigest's when ``kernel_gamma="sigest"``)."""
    if isinstance(kernel_gamma, str):
        gammas = [_sigest_gamma(X, frac, rng) for X in views]
    else:
        g = np.atleast_1d(np.asarray(kernel_gamma, dtype=np.float64))
        if g.size not in (1, len(views)):
            raise InvalidParameter(f"kernel_gamma has {g.size} values for {len(views)} views; give one or one per view.")
        gammas = [float(v) for v in np.broadcast_to(g, (len(views),))]
    return [rbf_kernel(X, g) for X, g in zip(views, gammas)], gammas


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


def check_memory(method: str, n: int, m: int, limit: int | None) -> None:
    """Raise :class:`MemoryBudgetExceeded` (with :func:`memory_reason`) before any kernel is built."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit <= 0):
        raise InvalidParameter(f"max_memory_bytes must be a positive integer or None; got {limit!r}.")
    reason = memory_reason(method, n, m, limit)
    if reason:
        raise MemoryBudgetExceeded(reason)
