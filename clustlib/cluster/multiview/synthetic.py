"""A synthetic multi-view problem that no single view solves: the test bed of MVSC, RMKKM, MVEC and MVnet."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_multiview_blobs"]

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
