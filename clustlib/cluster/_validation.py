"""Input checks shared by the clustering modules: every bad input fails here, before any compute."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from clustlib.errors import InvalidParameter

__all__: list[str] = []


def check_n_clusters(n_clusters, n_rows: int) -> int:
    """``K`` must be an integer with ``2 <= K <= N``."""
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
        raise InvalidParameter(f"n_clusters must be an integer, got {n_clusters!r}.")
    if not 2 <= int(n_clusters) <= n_rows:
        raise InvalidParameter(
            f"n_clusters must be between 2 and the number of rows ({n_rows}), got {n_clusters}. "
            "Pass the number of classes of the dataset."
        )
    return int(n_clusters)


def check_features(X, name: str = "X") -> np.ndarray:
    """A finite 2-D float array (N, D); integer input is converted to float64."""
    arr = np.asarray(X)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidParameter(f"{name} must be a non-empty 2-D array (N, D), got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise InvalidParameter(f"{name} must hold real numbers, got dtype {arr.dtype}.")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise InvalidParameter(
            f"{name} has {int(bad.sum())} NaN or infinite values (first bad rows: "
            f"{rows[:5].tolist()}). Remove or impute them before clustering."
        )
    return arr


def check_feature_views(views) -> list[np.ndarray]:
    """At least two finite 2-D feature views with the same number of rows."""
    if isinstance(views, np.ndarray) or not isinstance(views, Sequence):
        raise InvalidParameter("views must be a list of 2-D arrays, one (N, D_j) array per view.")
    if len(views) < 2:
        raise InvalidParameter(
            f"Multi-view clustering needs at least two views, got {len(views)}. "
            "Pass one feature matrix per extractor."
        )
    out = [check_features(v, name=f"view {j}") for j, v in enumerate(views)]
    _check_same_rows([v.shape[0] for v in out])
    return out


def _check_same_rows(rows: list[int]) -> None:
    if len(set(rows)) != 1:
        raise InvalidParameter(
            f"All views must describe the same rows, but their numbers of rows differ: {rows}."
        )


def check_label_views(label_views, min_views: int = 2) -> np.ndarray:
    """Integer label views -> coded array of int64, shape (N, M), column ``v`` in ``0..K_v - 1``.

    Accepts a sequence of 1-D label arrays or a 2-D array of shape (M, N) (one row per view).
    """
    if isinstance(label_views, np.ndarray):
        if label_views.ndim != 2:
            raise InvalidParameter(
                f"label_views as an array must be 2-D (M views, N rows), got shape {label_views.shape}."
            )
        views = list(label_views)
    elif isinstance(label_views, Sequence):
        views = [np.asarray(v) for v in label_views]
    else:
        raise InvalidParameter("label_views must be a list of 1-D integer arrays or an (M, N) array.")
    if len(views) < min_views:
        raise InvalidParameter(
            f"Need at least {min_views} label views, got {len(views)}. Pass one base clustering per view."
        )
    for j, v in enumerate(views):
        if v.ndim != 1 or v.size == 0:
            raise InvalidParameter(f"label view {j} must be a non-empty 1-D array, got shape {v.shape}.")
        if np.issubdtype(v.dtype, np.floating):
            if not np.all(np.isfinite(v)) or np.any(v != np.round(v)):
                raise InvalidParameter(f"label view {j} must hold integer labels (found NaN, inf or fractions).")
        elif not np.issubdtype(v.dtype, np.integer):
            raise InvalidParameter(f"label view {j} must hold integer labels, got dtype {v.dtype}.")
    _check_same_rows([v.size for v in views])
    codes = np.empty((views[0].size, len(views)), dtype=np.int64)
    for j, v in enumerate(views):
        codes[:, j] = np.unique(v, return_inverse=True)[1].reshape(-1)
    return codes


def check_combinations(combinations: Iterable | None, n_views: int) -> list[tuple[int, ...]]:
    """Validate view combinations: non-empty, in range, no repeated view, no duplicate combination."""
    if combinations is None:  # all subsets, by size then lexicographically
        from itertools import combinations as _subsets

        return [c for m in range(1, n_views + 1) for c in _subsets(range(n_views), m)]
    out: list[tuple[int, ...]] = []
    seen: dict[tuple[int, ...], int] = {}
    for pos, combo in enumerate(combinations):
        try:
            views = tuple(int(v) for v in combo)
        except (TypeError, ValueError):
            raise InvalidParameter(f"combination #{pos} ({combo!r}) must be an iterable of view indices.") from None
        if not views:
            raise InvalidParameter(f"combination #{pos} is empty; each needs at least one view.")
        if len(set(views)) != len(views):
            raise InvalidParameter(f"combination #{pos} {views} names a view twice.")
        if min(views) < 0 or max(views) >= n_views:
            raise InvalidParameter(f"combination #{pos} {views} has a view index outside 0..{n_views - 1}.")
        key = tuple(sorted(views))
        if key in seen:
            raise InvalidParameter(
                f"combination #{pos} {views} duplicates combination #{seen[key]}; "
                "each combination may appear once (order does not matter)."
            )
        seen[key] = pos
        out.append(key)
    if not out:
        raise InvalidParameter("combinations is empty; pass at least one, or None for all 2^M - 1.")
    return out
