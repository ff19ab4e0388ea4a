"""JULE's agglomerative half: the initial clusters, the sample affinity graph and the graph-degree-linkage merges.

numpy and SciPy only. :func:`merge_clusters` keeps the cluster affinity matrix up to date after each merge (exact,
O(cluster size x K_s + C) per merge) instead of rebuilding it; :func:`merge_clusters_reference` is the
straightforward rebuild-everything version the fast path is tested and benchmarked against. The learning half
and the estimator are in :mod:`clustlib.deep.jule.jule`.

References
----------
W. Zhang, X. Wang, D. Zhao, X. Tang, "Graph Degree Linkage: Agglomerative Clustering on a Directed Graph",
ECCV 2012. J. Yang, D. Parikh, D. Batra, CVPR 2016 (JULE).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.neighbors import NearestNeighbors


__all__ = ["nn_chain_init", "renorm", "sample_affinity", "merge_clusters", "merge_clusters_reference"]


# ---------------------------------------------------------------------------------------------
# initial clusters and sample affinities
# ---------------------------------------------------------------------------------------------


def nn_chain_init(X: np.ndarray) -> np.ndarray:
    """Initial JULE clusters: link every sample to its nearest other sample and take the chains.

    Following the links of the 1-nearest-neighbour graph gives chains; each connected chain is one
    cluster (usually 2-5 samples).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    labels : ndarray of shape (n_samples,), int64
        Cluster ids ``0..C-1``.

    References
    ----------
    Yang et al. 2016, Section 4.1; JULE.torch ``initial clustering``.
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    nbrs = NearestNeighbors(n_neighbors=min(2, n)).fit(X)
    idx = nbrs.kneighbors(X, return_distance=False)
    # duplicates can put the point itself second: take the first neighbour that is not the point
    nn = np.where(idx[:, 0] == np.arange(n), idx[:, -1], idx[:, 0])
    graph = sp.coo_matrix((np.ones(n), (np.arange(n), nn)), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="weak")
    return labels.astype(np.int64)


def renorm(features: np.ndarray) -> np.ndarray:
    """JULE.torch's ``features:renorm(2, 1, 1)``: every row with L2 norm above 1 rescaled to norm 1.

    Rows already inside the unit ball are left as they are. JULE.torch applies it (``-normalize 1``, its default)
    to the raw input before the initial nearest-neighbour chains and to the embedding before every merge.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)

    Returns
    -------
    ndarray of float64, same shape.
    """
    F = np.asarray(features, dtype=np.float64)
    norms = np.linalg.norm(F, axis=1, keepdims=True)
    return F / np.maximum(norms, 1.0)


def sample_affinity(features: np.ndarray, k_s: int = 20, *, normalize: bool = True) -> sp.csr_matrix:
    """Directed K_s-nearest-neighbour affinity graph of JULE.

    ``W[i, j] = exp(-d_ij^2 / sigma^2)`` for ``j`` among the ``k_s`` nearest neighbours of ``i``
    (itself excluded), 0 otherwise, with ``sigma^2`` the mean squared distance to those neighbours.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
    k_s : int
        Number of neighbours.
    normalize : bool
        First rescale rows with L2 norm above 1 to norm 1 (:func:`renorm`, JULE.torch ``-normalize 1``).

    Returns
    -------
    W : scipy.sparse.csr_matrix of shape (n_samples, n_samples), float64, not symmetric.
    """
    F = renorm(features) if normalize else np.asarray(features, dtype=np.float64)
    n = F.shape[0]
    k = min(int(k_s), n - 1)
    dist, idx = NearestNeighbors(n_neighbors=k + 1).fit(F).kneighbors(F)
    rows = np.arange(n)[:, None]
    # drop the point itself (first column, unless a duplicate came first), keep k neighbours
    is_self = idx == rows
    keep = ~is_self
    no_self = ~is_self.any(axis=1)
    keep[no_self, -1] = False
    idx = idx[keep].reshape(n, k)
    d2 = dist[keep].reshape(n, k) ** 2
    sigma2 = max(float(d2.mean()), np.finfo(float).tiny)
    w = np.exp(-d2 / sigma2)
    return sp.csr_matrix((w.ravel(), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))


def _cluster_affinity(W: sp.csr_matrix, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Asymmetric GDL affinity ``A[i, j] = sum_{a in C_i} (sum_{b in C_j} W[b, a]) (sum_{b in C_j} W[a, b])``."""
    n = W.shape[0]
    S = sp.csr_matrix((np.ones(n), (np.arange(n), labels)), shape=(n, n_clusters))
    U = (W.T @ S).tocsr()  # (N, C): weight into a from cluster j
    V = (W @ S).tocsr()  # (N, C): weight out of a into cluster j
    return np.asarray((S.T @ U.multiply(V)).todense())


def _symmetric_affinity(A: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    inv2 = 1.0 / sizes.astype(np.float64) ** 2
    return A * inv2[None, :] + A.T * inv2[:, None]


def _scores(top: np.ndarray, n_active: int, k_c: int) -> np.ndarray:
    """Merge score of each column from its top-k_c affinities (sorted descending, -inf padded)."""
    top1 = top[:, 0]
    if n_active <= 100 or k_c < 2:
        return top1
    rest = top[:, 1:k_c]
    ok = np.isfinite(rest) & np.isfinite(top1)[:, None]
    gap = np.where(ok, top1[:, None] - np.where(ok, rest, 0.0), 0.0)
    return top1 + gap.sum(axis=1) / (k_c - 1)


def _top_sorted(M: np.ndarray, k: int) -> np.ndarray:
    """Top-k values of every column of M, sorted descending -> (n_cols, k)."""
    n = M.shape[0]
    k = min(k, n)
    part = -np.partition(-M, k - 1, axis=0)[:k] if k < n else M
    return -np.sort(-part.T, axis=1)


# ---------------------------------------------------------------------------------------------
# merging
# ---------------------------------------------------------------------------------------------


def merge_clusters(features: np.ndarray, labels: np.ndarray, n_merges: int, *, k_s: int = 20,
                   k_c: int = 5, n_target: int = 1, force_factor: float = 20.0,
                   normalize: bool = True) -> np.ndarray:
    """One JULE merge period: merge ``n_merges`` cluster pairs by GDL affinity (fast, exact updates).

    The affinity between clusters is the graph-degree-linkage product of in- and out-degrees on the
    directed graph of :func:`sample_affinity`, symmetrised as
    ``A_s(i, j) = A(i->j)/|C_j|^2 + A(j->i)/|C_i|^2``. Each step merges the column with the best
    score ``top1 + sum_{k=2..K_c} (top1 - top_k) / (K_c - 1)`` (just ``top1`` once 100 or fewer
    clusters remain) with its most affine cluster. While more than ``force_factor * n_target``
    clusters remain, clusters with no affinity to any other are first merged into the cluster with
    the nearest centroid (JULE.torch does the same).

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
        Current embedding.
    labels : ndarray of shape (n_samples,)
        Current clusters, any integer ids.
    n_merges : int
        Number of merges; at most ``C - n_target`` are done.
    k_s, k_c : int
        Sample and cluster neighbourhood sizes.
    n_target : int
        Never go below this many clusters.
    force_factor : float
        See above.
    normalize : bool
        Renorm the features first (:func:`renorm`), for the affinity graph and the centroids.

    Returns
    -------
    labels : ndarray of shape (n_samples,), int64, ids ``0..C'-1`` in order of first appearance.

    References
    ----------
    Yang et al. 2016, Section 3.2 and eq. (3)-(5); Zhang et al. 2012 (GDL).
    """
    feats = np.asarray(features, dtype=np.float64)
    _, lab = np.unique(np.asarray(labels), return_inverse=True)
    lab = lab.astype(np.int64)
    C = int(lab.max()) + 1
    n_merges = int(min(n_merges, C - n_target))
    if n_merges <= 0:
        return _relabel(lab)
    W = sample_affinity(feats, k_s, normalize=normalize)
    Wt = W.T.tocsr()
    A = _cluster_affinity(W, lab, C)
    sizes = np.bincount(lab, minlength=C).astype(np.float64)
    As = _symmetric_affinity(A, sizes)
    np.fill_diagonal(As, -np.inf)
    active = np.ones(C, dtype=bool)
    members = _members(lab, C)
    n_active = C
    done = 0

    # forced merges of isolated clusters
    if n_active > force_factor * n_target:
        F = renorm(feats) if normalize else feats
        cent = np.stack([F[m].mean(axis=0) for m in members])
        for i in np.flatnonzero(np.max(As, axis=1) <= 0):
            if done >= n_merges or n_active <= force_factor * n_target:
                break
            if not active[i] or np.max(As[i]) > 0:
                continue
            d = np.linalg.norm(cent - cent[i], axis=1)
            d[~active] = np.inf
            d[i] = np.inf
            j = int(np.argmin(d))
            p, q = (i, j) if i < j else (j, i)
            cent[p] = (cent[p] * sizes[p] + cent[q] * sizes[q]) / (sizes[p] + sizes[q])
            _merge_pair(p, q, A, As, sizes, active, members, lab, W, Wt)
            n_active -= 1
            done += 1

    top = _top_sorted(As, k_c)  # (C, k_c) cached top values of every column
    top[~active] = -np.inf
    while done < n_merges:
        score = _scores(top, n_active, k_c)
        score[~active] = -np.inf
        j = int(np.argmax(score))
        i = int(np.argmax(As[:, j]))
        p, q = (i, j) if i < j else (j, i)
        old_p, old_q = _merge_pair(p, q, A, As, sizes, active, members, lab, W, Wt)
        n_active -= 1
        done += 1
        if done == n_merges:
            break
        # Columns whose top-k_c *values* may have changed: those that held p's or q's old value, those
        # the new p value enters, and column p itself. Affinities are >= 0 and mostly exactly 0, so a
        # column whose k-th value is 0 loses nothing when a 0 leaves or arrives (another 0 takes its
        # place) as long as it keeps more than k_c candidates; only ties at a positive k-th value are
        # ambiguous and recomputed.
        kth = top[:, -1]
        new_p = As[p]
        if n_active > k_c + 2:
            tie_ok = kth > 0
            dirty = ((old_p > kth) | (old_q > kth) | (new_p > kth)
                     | (tie_ok & ((old_p == kth) | (old_q == kth) | (new_p == kth))))
        else:
            dirty = np.ones(C, dtype=bool)
        dirty[p] = True
        dirty &= active
        cols = np.flatnonzero(dirty)
        if cols.size:
            top[cols] = _top_sorted(As[:, cols], k_c)
        top[q] = -np.inf
    return _relabel(lab)


def _members(lab: np.ndarray, C: int) -> list[np.ndarray]:
    order = np.argsort(lab, kind="stable")
    bounds = np.cumsum(np.bincount(lab, minlength=C))[:-1]
    return list(np.split(order, bounds))


def _weight_sums(M: sp.csr_matrix, rows: np.ndarray, n: int) -> np.ndarray:
    """Column sums of ``M[rows]`` as a dense (n,) vector."""
    starts, ends = M.indptr[rows], M.indptr[rows + 1]
    if rows.size == 1:
        sl = slice(starts[0], ends[0])
        return np.bincount(M.indices[sl], M.data[sl], minlength=n)
    pos = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])
    return np.bincount(M.indices[pos], M.data[pos], minlength=n)


def _merge_pair(p: int, q: int, A: np.ndarray, As: np.ndarray, sizes: np.ndarray, active: np.ndarray,
                members: list[np.ndarray], lab: np.ndarray, W: sp.csr_matrix,
                Wt: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Merge cluster q into p, update A, As (exact), sizes, members, labels in place.

    Returns the rows of ``As`` for p and q as they were before the merge.
    """
    n, C = lab.shape[0], A.shape[0]
    u_p, u_q = _weight_sums(W, members[p], n), _weight_sums(W, members[q], n)  # weight into a
    v_p, v_q = _weight_sums(Wt, members[p], n), _weight_sums(Wt, members[q], n)  # weight out of a
    cross = np.bincount(lab, u_p * v_q + u_q * v_p, minlength=C)
    A[p, :] += A[q, :]
    A[:, p] += A[:, q] + cross
    A[q, :] = 0.0
    A[:, q] = 0.0
    sizes[p] += sizes[q]
    sizes[q] = 0.0
    active[q] = False
    lab[members[q]] = p
    members[p] = np.concatenate([members[p], members[q]])
    members[q] = members[q][:0]
    old_p, old_q = As[p].copy(), As[q].copy()
    inv2 = np.zeros(C)
    inv2[active] = 1.0 / sizes[active] ** 2
    row = A[p, :] * inv2 + A[:, p] / sizes[p] ** 2
    row[~active] = -np.inf
    row[p] = -np.inf
    As[p, :] = row
    As[:, p] = row
    As[q, :] = -np.inf
    As[:, q] = -np.inf
    return old_p, old_q


def _relabel(lab: np.ndarray) -> np.ndarray:
    _, first = np.unique(lab, return_index=True)
    order = np.argsort(first)
    remap = np.empty(lab.max() + 1, dtype=np.int64)
    remap[np.unique(lab)[order]] = np.arange(order.size)
    return remap[lab]


def merge_clusters_reference(features: np.ndarray, labels: np.ndarray, n_merges: int, *, k_s: int = 20,
                             k_c: int = 5, n_target: int = 1, force_factor: float = 20.0,
                             normalize: bool = True) -> np.ndarray:
    """Straightforward version of :func:`merge_clusters`: rebuild every affinity after every merge.

    Same inputs, same output; O(C^2 log C) per merge. Kept as the reference the fast path is tested
    and benchmarked against.
    """
    feats = np.asarray(features, dtype=np.float64)
    _, lab = np.unique(np.asarray(labels), return_inverse=True)
    lab = lab.astype(np.int64)
    C0 = int(lab.max()) + 1
    n_merges = int(min(n_merges, C0 - n_target))
    W = sample_affinity(feats, k_s, normalize=normalize)
    F = renorm(feats) if normalize else feats
    done = 0

    def state():
        ids = np.unique(lab)
        compact = np.searchsorted(ids, lab)
        A = _cluster_affinity(W, compact, ids.size)
        sizes = np.bincount(compact).astype(np.float64)
        As = _symmetric_affinity(A, sizes)
        np.fill_diagonal(As, -np.inf)
        return ids, As

    if n_merges > 0 and C0 > force_factor * n_target:
        ids, As = state()
        isolated = ids[np.max(As, axis=1) <= 0]
        for c in isolated:
            if done >= n_merges or np.unique(lab).size <= force_factor * n_target:
                break
            ids, As = state()
            k = int(np.searchsorted(ids, c))
            if ids[k] != c or np.max(As[k]) > 0:
                continue
            cent = np.stack([F[lab == t].mean(axis=0) for t in ids])
            d = np.linalg.norm(cent - cent[k], axis=1)
            d[k] = np.inf
            other = ids[int(np.argmin(d))]
            p, q = min(c, other), max(c, other)
            lab[lab == q] = p
            done += 1
    while done < n_merges:
        ids, As = state()
        top = _top_sorted(As, k_c)
        score = _scores(top, ids.size, k_c)
        j = int(np.argmax(score))
        i = int(np.argmax(As[:, j]))
        p, q = min(ids[i], ids[j]), max(ids[i], ids[j])
        lab[lab == q] = p
        done += 1
    return _relabel(lab)
