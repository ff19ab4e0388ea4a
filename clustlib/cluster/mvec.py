"""MVEC: multi-view ensemble clustering through a co-association matrix (Guérin et al. 2021).

Each view (features of one pretrained CNN) is clustered on its own; the partitions are merged
through the co-association matrix ``M[i, j]`` = fraction of views that put rows ``i`` and ``j``
together, and ``1 - M`` is clustered with average linkage into ``K`` clusters (MVEC_agg).

References
----------
.. [1] J. Guérin, S. Thiery, E. Nyiri, O. Gibaru, B. Boots, "Combining pretrained CNN feature
   extractors to enhance clustering of complex natural images", Neurocomputing 423, 2021,
   Section 4.3. Code: github.com/jorisguerin/tutorial_IC (part 2).
.. [2] A. Fred, A. K. Jain, "Combining multiple clusterings using evidence accumulation",
   IEEE TPAMI 27(6), 2005.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from clustlib.cluster._consensus import ConsensusResult, consensus_fast, consensus_reference
from clustlib.cluster._validation import check_label_views, check_n_clusters
from clustlib.cluster.classical import ALGORITHMS, build_label_views
from clustlib.errors import UnknownName

__all__ = ["MVEC", "coassociation_consensus", "CONSENSUS_ENGINES", "ConsensusResult"]

CONSENSUS_ENGINES = ("fast", "reference")
_BASES = ALGORITHMS + ("precomputed",)


def coassociation_consensus(label_views, n_clusters: int, engine: str = "fast") -> ConsensusResult:
    """Average-linkage consensus of label views through their co-association matrix.

    Parameters
    ----------
    label_views : sequence of int arrays (N,) or ndarray (M, N)
        One base partition per view; ``M >= 1`` (one view returns that partition's K-cut).
    n_clusters : int
        ``K``, ``2 <= K <= N``.
    engine : {"fast", "reference"}
        ``"reference"``: dense ``N x N`` co-association and scikit-learn's
        ``AgglomerativeClustering(linkage="average", metric="precomputed")``, as the paper's code.
        ``"fast"``: the same average linkage on the distinct label vectors as weighted points, in
        exact integer arithmetic (memory ``O(U^2)`` int32 for ``U`` distinct vectors).

    Returns
    -------
    ConsensusResult
        ``labels`` (N,), ``n_unique``, ``t_coassoc``, ``t_linkage`` (seconds).

    Notes
    -----
    Where several merges tie exactly (frequent: co-associations take only ``m + 1`` values),
    average linkage is not unique. ``"fast"`` breaks ties by index like scipy's NN-chain, but
    in exact arithmetic, while the reference's choice depends on float rounding of its
    Lance-Williams updates (reordering rows or rescaling distances changes it too). Without
    ties both give the same partition.

    References
    ----------
    .. [1] Guérin et al., Neurocomputing 423, 2021, Section 4.3.
    """
    if engine not in CONSENSUS_ENGINES:
        raise UnknownName("consensus engine", engine, CONSENSUS_ENGINES)
    codes = check_label_views(label_views, min_views=1)
    n_clusters = check_n_clusters(n_clusters, codes.shape[0])
    return (consensus_fast if engine == "fast" else consensus_reference)(codes, n_clusters)


class MVEC(ClusterMixin, BaseEstimator):
    """Multi-view ensemble clustering (MVEC_agg of Guérin et al. 2021).

    Parameters
    ----------
    n_clusters : int, default=8
        ``K``, for every base clustering and for the consensus.
    base : {"agglomerative", "kmeans", "precomputed"}, default="agglomerative"
        Base clusterer per view: Ward agglomerative (the paper), k-means (``n_init=10``), or
        ``"precomputed"`` when ``fit`` receives label views (e.g. JULE's, for MVEC_jule).
    engine : {"fast", "reference"}, default="fast"
        Consensus implementation, see :func:`coassociation_consensus`.
    random_state : int or None
        Seed of k-means.
    progress : bool, default=False
        Progress bar over views.

    Attributes
    ----------
    labels_ : ndarray of int64, shape (N,)
        Consensus clusters.
    view_labels_ : ndarray of int64, shape (M, N)
        Base clustering of each view.
    view_seconds_ : ndarray of float64, shape (M,)
        Base clustering time of each view (NaN for precomputed views).
    reductions_ : list of str
        Feature reduction applied per view (see :func:`clustlib.cluster.cluster_features`).
    n_unique_ : int
        Distinct label vectors across views.
    consensus_seconds_ : dict
        ``{"coassoc": s, "linkage": s}``.

    Examples
    --------
    >>> model = MVEC(n_clusters=10).fit([features_a, features_b, features_c])  # doctest: +SKIP
    >>> model.labels_  # doctest: +SKIP

    References
    ----------
    .. [1] Guérin et al., Neurocomputing 423, 2021, Section 4.3.
    """

    def __init__(self, n_clusters: int = 8, base: str = "agglomerative", engine: str = "fast",
                 random_state: int | None = None, progress: bool = False) -> None:
        self.n_clusters = n_clusters
        self.base = base
        self.engine = engine
        self.random_state = random_state
        self.progress = progress

    def fit(self, X: Sequence[np.ndarray], y=None) -> MVEC:
        """Cluster each view, then merge the partitions.

        Parameters
        ----------
        X : sequence of M >= 2 arrays
            Feature views (N, D_j), or label views (N,) when ``base="precomputed"``.
        y : ignored

        Returns
        -------
        self
        """
        if self.base not in _BASES:
            raise UnknownName("MVEC base clusterer", self.base, _BASES)
        if self.engine not in CONSENSUS_ENGINES:
            raise UnknownName("consensus engine", self.engine, CONSENSUS_ENGINES)
        if self.base == "precomputed":
            codes = check_label_views(X, min_views=2)
            check_n_clusters(self.n_clusters, codes.shape[0])
            self.view_labels_ = codes.T.copy()
            self.view_seconds_ = np.full(codes.shape[1], np.nan)
            self.reductions_ = ["none"] * codes.shape[1]
        else:
            views = build_label_views(X, self.n_clusters, self.base, self.random_state,
                                      progress=self.progress)
            self.view_labels_, self.view_seconds_, self.reductions_ = views
        res = coassociation_consensus(self.view_labels_, self.n_clusters, self.engine)
        self.labels_ = res.labels
        self.n_unique_ = res.n_unique
        self.consensus_seconds_ = {"coassoc": res.t_coassoc, "linkage": res.t_linkage}
        return self

    def fit_predict(self, X: Sequence[np.ndarray], y=None) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X).labels_
