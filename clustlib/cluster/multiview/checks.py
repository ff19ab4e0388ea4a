"""Input checks shared by the multi-view estimators: the views, ``n_clusters``, the kernel bandwidth and counts."""

from __future__ import annotations

import numpy as np

from clustlib.errors import InvalidParameter

__all__ = ["check_views", "check_kernel_fit"]


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


def _check_count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidParameter(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def check_kernel_fit(estimator, views, counts: dict[str, int]) -> tuple[list[np.ndarray], int]:
    """The checks every kernel estimator's ``fit`` makes first: returns the float64 views and ``n_clusters``.

    Validates ``views`` (:func:`check_views`), ``n_clusters`` against their rows, ``kernel_gamma``,
    ``sigest_frac`` in (0, 1], and each integer attribute named in ``counts`` against its minimum.
    """
    views = check_views(views)
    k = _check_n_clusters(estimator.n_clusters, views[0].shape[0])
    _check_kernel_gamma(estimator.kernel_gamma)
    for name, minimum in counts.items():
        _check_count(name, getattr(estimator, name), minimum)
    if not 0 < estimator.sigest_frac <= 1:
        raise InvalidParameter(f"sigest_frac must be in (0, 1]; got {estimator.sigest_frac!r}.")
    return views, k
