"""Stratified, seeded subsets: the same class proportions as the full set, the same rows for a seed."""

from __future__ import annotations

import numpy as np

from clustlib.errors import InvalidParameter

__all__ = ["stratified_counts", "stratified_subset", "check_subset_size"]


def check_subset_size(size, n_samples: int | None = None, *, what: str = "the dataset") -> int:
    """Validate a subset size: a positive int, at most ``n_samples`` when that is known."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise InvalidParameter(
            f"subset={size!r} must be a positive int (the total number of images to keep) or None for all."
        )
    size = int(size)
    if size < 1:
        raise InvalidParameter(f"subset={size} must be at least 1 (or None for the whole dataset).")
    if n_samples is not None and size > n_samples:
        raise InvalidParameter(
            f"subset={size:,} is larger than {what}, which has {n_samples:,} images; ask for at most "
            f"{n_samples:,}, or subset=None for all of them."
        )
    return size


def stratified_counts(labels: np.ndarray, size: int, *, class_names=None) -> np.ndarray:
    """Images to draw per class, proportional to the class sizes, rounded by largest remainder.

    Parameters
    ----------
    labels : ndarray of int, shape (N,)
        Class indices in ``[0, K)``.
    size : int
        Total number of images, ``1 <= size <= N``.
    class_names : sequence of str, optional
        Used in the error message.

    Returns
    -------
    ndarray of int64, shape (K,)
        Sums to ``size``. Class k gets ``floor(n_k * size / N)`` plus one for the
        ``size - sum(floor)`` classes with the largest remainders (ties: lower class index first).
        A class absent from ``labels`` gets 0.

    Raises
    ------
    InvalidParameter
        ``size`` is out of range, or a class present in ``labels`` would get no image.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = labels.shape[0]
    size = check_subset_size(size, n)
    counts = np.bincount(labels)  # (K,)
    product = counts * size
    base, remainder = product // n, product % n  # exact integer arithmetic, no float ties
    short = size - int(base.sum())
    order = np.lexsort((np.arange(len(counts)), -remainder))  # largest remainder first
    base[order[:short]] += 1
    starved = np.flatnonzero((counts > 0) & (base == 0))
    if starved.size:
        names = [str(class_names[k]) if class_names is not None else str(k) for k in starved[:10]]
        more = f" and {starved.size - 10} more" if starved.size > 10 else ""
        need = -(-n // int(counts[counts > 0].min()))  # ceil(N / smallest class) guarantees one each
        raise InvalidParameter(
            f"subset={size:,} is too small to keep every class: class(es) {', '.join(names)}{more} would get no "
            f"image (the smallest class has {int(counts[counts > 0].min()):,} of {n:,} images). Ask for "
            f"subset >= {need:,}, or subset=None."
        )
    return base


def stratified_subset(labels: np.ndarray, size: int, *, seed: int = 0, class_names=None) -> np.ndarray:
    """Row indices of a stratified random subset, sorted by original index.

    Parameters
    ----------
    labels : ndarray of int, shape (N,)
    size : int
        Total number of rows to keep, ``1 <= size <= N``.
    seed : int
        Seed of the NumPy generator; the same (labels, size, seed) always gives the same rows.
    class_names : sequence of str, optional
        Used in error messages.

    Returns
    -------
    ndarray of int64, shape (size,)
        Increasing row indices; per-class counts as :func:`stratified_counts`.

    Raises
    ------
    InvalidParameter
        ``size`` is not a positive int, exceeds N, or leaves a class without images.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidParameter(f"seed={seed!r} must be a non-negative int.")
    labels = np.asarray(labels, dtype=np.int64)
    per_class = stratified_counts(labels, size, class_names=class_names)
    rng = np.random.default_rng(int(seed))
    order = np.argsort(labels, kind="stable")  # rows grouped by class, increasing within each class
    bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=len(per_class)))])
    chosen = [
        rng.choice(order[bounds[k]:bounds[k + 1]], size=int(take), replace=False)
        for k, take in enumerate(per_class) if take
    ]
    return np.sort(np.concatenate(chosen))
