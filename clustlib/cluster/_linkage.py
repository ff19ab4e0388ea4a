"""Compiled kernels: weighted average linkage on co-association sums, in exact integer arithmetic.

The consensus step of MVEC clusters ``D = 1 - M`` with average linkage, where ``M[i, j]`` is the
fraction of the ``m`` chosen views that put ``i`` and ``j`` in the same cluster. Rows with the
same label vector over the chosen views are at distance 0 from each other and at the same
distance from every other row, so average linkage merges them first, at height 0; afterwards
such a group behaves exactly like one point of weight ``w`` (its number of rows). This module
runs average linkage on those ``U`` weighted "super points".

Everything is kept in integers. For clusters ``A`` and ``B`` let
``S[A, B] = sum_{i in A, j in B} (number of chosen views with label_v(i) == label_v(j))``.
The average-linkage distance is ``1 - S[A, B] / (m |A| |B|)``, merging ``A`` and ``B`` gives
``S[A u B, C] = S[A, C] + S[B, C]`` (the Lance-Williams update of average linkage), and two
candidate distances are compared by cross-multiplication, so ties are exact ties and no
rounding ever decides a merge.

References
----------
.. [1] F. Murtagh, "A survey of recent advances in hierarchical clustering algorithms",
   The Computer Journal 26(4), 1983 (the nearest-neighbour chain algorithm).
.. [2] D. Müllner, "Modern hierarchical, agglomerative clustering algorithms",
   arXiv:1109.2378, 2011 (scipy's ``nn_chain``, whose conventions are followed here).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__: list[str] = []

# S values are at most m * (N/2)**2; int32 is enough while that stays below 2**31.
_INT32_LIMIT = 2**31 - 1
# Exact height comparison multiplies an S value by a product of two cluster sizes.
_EXACT_SORT_LIMIT = 2**62


def sums_dtype(n_rows: int, n_views: int) -> type:
    """Smallest integer dtype that holds every co-association sum for ``n_rows`` and ``n_views``."""
    return np.int32 if n_views * (n_rows // 2 + 1) ** 2 < _INT32_LIMIT else np.int64


@njit(cache=True, nogil=True)
def _cidx(n: int, i: int, j: int) -> int:
    """Condensed (scipy ``pdist``) index of the pair ``i < j`` among ``n`` points."""
    return n * i - (i * (i + 1)) // 2 + j - i - 1


@njit(cache=True, nogil=True)
def coassociation_sums(codes, weights, out):
    """Fill the condensed co-association sums between super points.

    Parameters
    ----------
    codes : ndarray of int64, shape (U, m)
        Label of each super point in each chosen view, each column coded ``0..K_v - 1``.
    weights : ndarray of int64, shape (U,)
        Number of rows behind each super point.
    out : ndarray of int32 or int64, shape (U * (U - 1) / 2,)
        Zero-filled on entry; on exit ``out[cidx(a, b)] = w_a * w_b * #views where a, b agree``.

    Notes
    -----
    Only pairs that share a label contribute, so the cost is ``sum_v sum_c g_vc**2 / 2`` for
    label groups of ``g_vc`` super points rather than ``m * U**2``.
    """
    n, m = codes.shape
    for v in range(m):
        order = np.argsort(codes[:, v], kind="mergesort")  # stable: indices ascend within a group
        start = 0
        while start < n:
            label = codes[order[start], v]
            stop = start + 1
            while stop < n and codes[order[stop], v] == label:
                stop += 1
            for p in range(start, stop):
                a = order[p]
                wa = weights[a]
                for q in range(p + 1, stop):
                    b = order[q]
                    out[_cidx(n, a, b)] += wa * weights[b]
            start = stop


@njit(cache=True, nogil=True)
def nn_chain_average(sums, weights):
    """Average linkage of weighted points by the nearest-neighbour chain, in exact arithmetic.

    Parameters
    ----------
    sums : ndarray of int32 or int64, shape (U * (U - 1) / 2,)
        Condensed similarity sums ``S`` (see the module docstring). Overwritten.
    weights : ndarray of int64, shape (U,)
        Initial cluster sizes (rows per super point).

    Returns
    -------
    pairs : ndarray of int64, shape (U - 1, 2)
        Merged slots ``(x, y)`` with ``x < y``, in the order the chain found them; slot ``x``
        holds a cluster containing point ``x`` (scipy's convention).
    num : ndarray of int64, shape (U - 1,)
        ``S`` between the two merged clusters.
    den : ndarray of int64, shape (U - 1,)
        Product of the two cluster sizes; the merge height is ``1 - num / (m * den)``.
    """
    n = weights.shape[0]
    size = weights.copy()
    pairs = np.empty((max(n - 1, 0), 2), dtype=np.int64)
    num = np.empty(max(n - 1, 0), dtype=np.int64)
    den = np.empty(max(n - 1, 0), dtype=np.int64)
    chain = np.empty(n, dtype=np.int64)
    length = 0
    for k in range(n - 1):
        if length == 0:
            for i in range(n):
                if size[i] > 0:
                    chain[0] = i
                    length = 1
                    break
        while True:
            x = chain[length - 1]
            # Prefer the previous chain element on ties so the chain cannot cycle.
            if length > 1:
                y = chain[length - 2]
                best_s = np.int64(sums[_cidx(n, min(x, y), max(x, y))])
                best_n = size[y]
            else:
                y = -1
                best_s = np.int64(-1)
                best_n = np.int64(1)
            # sim(x, i) = S[x, i] / (n_x n_i); n_x is common, so compare S[x, i] / n_i exactly.
            for i in range(x):
                ni = size[i]
                if ni == 0:
                    continue
                s = np.int64(sums[_cidx(n, i, x)])
                if s * best_n > best_s * ni:
                    best_s = s
                    best_n = ni
                    y = i
            base = _cidx(n, x, x + 1) - (x + 1) if x + 1 < n else 0
            for i in range(x + 1, n):
                ni = size[i]
                if ni == 0:
                    continue
                s = np.int64(sums[base + i])
                if s * best_n > best_s * ni:
                    best_s = s
                    best_n = ni
                    y = i
            if length > 1 and y == chain[length - 2]:
                break
            chain[length] = y
            length += 1
        length -= 2
        if x > y:
            x, y = y, x
        nx = size[x]
        ny = size[y]
        pairs[k, 0] = x
        pairs[k, 1] = y
        num[k] = best_s
        den[k] = nx * ny
        size[x] = 0
        size[y] = nx + ny
        for i in range(n):
            if size[i] == 0 or i == y:
                continue
            ix = _cidx(n, min(i, x), max(i, x))
            iy = _cidx(n, min(i, y), max(i, y))
            sums[iy] += sums[ix]
    return pairs, num, den


@njit(cache=True, nogil=True)
def _later(num, den, a, b) -> bool:
    """True when merge ``b`` must come before merge ``a`` (strictly higher similarity)."""
    return num[b] * den[a] > num[a] * den[b]


@njit(cache=True, nogil=True)
def stable_order_by_height(num, den):
    """Stable merge sort of merges by increasing height ``1 - num / (m den)``, exact.

    Parameters
    ----------
    num, den : ndarray of int64, shape (U - 1,)
        As returned by :func:`nn_chain_average`.

    Returns
    -------
    ndarray of int64, shape (U - 1,)
        Permutation; merges of equal height keep the chain's order, as scipy's ``linkage`` does.
    """
    n = num.shape[0]
    order = np.arange(n)
    buf = np.empty(n, dtype=np.int64)
    width = 1
    while width < n:
        lo = 0
        while lo < n:
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if _later(num, den, order[i], order[j]):
                    buf[k] = order[j]
                    j += 1
                else:
                    buf[k] = order[i]
                    i += 1
                k += 1
            while i < mid:
                buf[k] = order[i]
                i += 1
                k += 1
            while j < hi:
                buf[k] = order[j]
                j += 1
                k += 1
            lo = hi
        order, buf = buf, order
        width *= 2
    return order


@njit(cache=True, nogil=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True, nogil=True)
def cut_first_merges(n, pairs, order, n_merges):
    """Flat labels after applying the first ``n_merges`` merges in ``order``.

    This is scikit-learn's cut of a full tree into ``n - n_merges`` clusters
    (``AgglomerativeClustering`` undoes the last merges of the height-sorted tree).

    Returns
    -------
    ndarray of int64, shape (n,)
        Labels ``0..n - n_merges - 1``, numbered by first appearance.
    """
    parent = np.arange(n)
    for t in range(n_merges):
        k = order[t]
        ra = _find(parent, pairs[k, 0])
        rb = _find(parent, pairs[k, 1])
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    labels = np.empty(n, dtype=np.int64)
    code = np.full(n, -1, dtype=np.int64)
    nxt = 0
    for i in range(n):
        r = _find(parent, i)
        if code[r] < 0:
            code[r] = nxt
            nxt += 1
        labels[i] = code[r]
    return labels
