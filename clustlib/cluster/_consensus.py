"""Co-association consensus of label views: the plain reference and the exact fast engine.

Both take ``codes``, an int64 array of shape (N, m) whose column ``v`` holds view ``v``'s labels
coded ``0..K_v - 1``, and return ``K`` consensus clusters of average linkage on ``D = 1 - M``
(``M`` the co-association matrix), cut the way scikit-learn's ``AgglomerativeClustering`` cuts
(the last ``K - 1`` merges of the height-sorted tree are undone, so there are exactly ``K``
clusters even when merge heights tie).

References
----------
.. [1] J. Guérin, S. Thiery, E. Nyiri, O. Gibaru, B. Boots, "Combining pretrained CNN feature
   extractors to enhance clustering of complex natural images", Neurocomputing 423, 2021,
   Section 4.3 (MVEC_agg). Code: github.com/jorisguerin/tutorial_IC.
.. [2] A. Fred, A. K. Jain, "Combining multiple clusterings using evidence accumulation",
   IEEE TPAMI 27(6), 2005 (the co-association matrix).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from clustlib.cluster import _linkage

__all__: list[str] = []


class ConsensusResult(NamedTuple):
    """Labels of one consensus and where its time went.

    Attributes
    ----------
    labels : ndarray of int64, shape (N,)
        Consensus cluster of each row, ``0..K - 1``.
    n_unique : int
        Number of distinct label vectors over the chosen views (the "super points").
    t_coassoc : float
        Seconds spent building the co-association (matrix or super-point sums).
    t_linkage : float
        Seconds spent in average linkage and the cut into ``K`` clusters.
    """

    labels: np.ndarray
    n_unique: int
    t_coassoc: float
    t_linkage: float


def superpoints(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group rows with identical label vectors.

    Parameters
    ----------
    codes : ndarray of int64, shape (N, m)
        Coded label views (column ``v`` in ``0..K_v - 1``).

    Returns
    -------
    ids : ndarray of int64, shape (N,)
        Super point of each row, numbered by first occurrence.
    reps : ndarray of int64, shape (U,)
        First row of each super point (increasing).
    weights : ndarray of int64, shape (U,)
        Rows per super point.
    """
    ids = codes[:, 0]
    for v in range(1, codes.shape[1]):
        span = int(codes[:, v].max()) + 1
        _, ids = np.unique(ids * span + codes[:, v], return_inverse=True)
    _, first, ids = np.unique(ids, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    ids = rank[ids.reshape(-1)].astype(np.int64)
    reps = first[order].astype(np.int64)
    weights = np.bincount(ids, minlength=reps.size).astype(np.int64)
    return ids, reps, weights


def _split_to_k(ids: np.ndarray, n_unique: int, n_clusters: int) -> np.ndarray:
    """Fewer distinct label vectors than clusters: peel rows off the largest groups.

    scikit-learn would undo some height-0 merges here, which splits groups of identical rows in
    an order set by its tie-breaking; we split deterministically (largest group first, last rows
    first) since any such split is as good as another.
    """
    labels = ids.copy()
    nxt = n_unique
    counts = np.bincount(labels, minlength=n_unique)
    while nxt < n_clusters:
        g = int(np.argmax(counts))
        row = int(np.flatnonzero(labels == g)[-1])
        labels[row] = nxt
        counts[g] -= 1
        counts = np.append(counts, 1)
        nxt += 1
    return labels


def consensus_fast(codes: np.ndarray, n_clusters: int) -> ConsensusResult:
    """Exact average-linkage consensus on weighted super points (the sweep engine's core).

    Parameters
    ----------
    codes : ndarray of int64, shape (N, m)
        Coded label views.
    n_clusters : int
        ``K``, with ``2 <= K <= N``.

    Returns
    -------
    ConsensusResult

    Notes
    -----
    Memory: one condensed integer array of ``U (U - 1) / 2`` entries (int32 while
    ``m (N/2)^2 < 2^31``), against the reference's dense ``N x N`` float64 matrices.
    Time: ``O(U^2)`` for the nearest-neighbour chain plus ``sum_v sum_c g_vc^2`` for the sums.
    """
    t0 = time.perf_counter()
    n_rows, m = codes.shape
    ids, reps, weights = superpoints(codes)
    n_unique = reps.size
    sums = np.zeros(n_unique * (n_unique - 1) // 2, dtype=_linkage.sums_dtype(n_rows, m))
    _linkage.coassociation_sums(np.ascontiguousarray(codes[reps]), weights, sums)
    t1 = time.perf_counter()
    if n_unique <= n_clusters:
        labels = ids if n_unique == n_clusters else _split_to_k(ids, n_unique, n_clusters)
        return ConsensusResult(labels, int(n_unique), t1 - t0, time.perf_counter() - t1)
    pairs, num, den = _linkage.nn_chain_average(sums, weights)
    del sums
    if m * (n_rows // 2 + 1) ** 4 < _linkage._EXACT_SORT_LIMIT:
        order = _linkage.stable_order_by_height(num, den)
    else:  # beyond ~30,000 rows the exact product would overflow int64; heights in float64
        order = np.argsort(-(num / den), kind="stable")
    super_labels = _linkage.cut_first_merges(n_unique, pairs, order, n_unique - n_clusters)
    labels = super_labels[ids]
    return ConsensusResult(labels, int(n_unique), t1 - t0, time.perf_counter() - t1)


def consensus_reference(codes: np.ndarray, n_clusters: int) -> ConsensusResult:
    """The straightforward consensus: dense co-association, then scikit-learn average linkage.

    This is what the paper's code does (``AgglomerativeClustering(linkage="average")`` on a
    precomputed ``N x N`` matrix; scikit-learn runs scipy's ``linkage(method="average")`` on
    it and cuts the tree into exactly ``K`` clusters). Kept for tests and benchmarks; takes and returns
    what :func:`consensus_fast` does (``codes`` (N, m) int64, ``2 <= n_clusters <= N``; a ConsensusResult).
    """
    from sklearn.cluster import AgglomerativeClustering

    n_unique = superpoints(codes)[1].size  # reported only; the reference does not use it
    t0 = time.perf_counter()
    n_rows, m = codes.shape
    coassoc = np.zeros((n_rows, n_rows))
    for v in range(m):
        coassoc += codes[:, v, None] == codes[None, :, v]
    coassoc /= m
    dist = 1.0 - coassoc
    del coassoc
    t1 = time.perf_counter()
    model = AgglomerativeClustering(n_clusters=n_clusters, metric="precomputed", linkage="average")
    labels = model.fit_predict(dist).astype(np.int64)
    return ConsensusResult(labels, int(n_unique), t1 - t0, time.perf_counter() - t1)
