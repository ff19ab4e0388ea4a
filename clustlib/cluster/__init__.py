"""Clustering: classical base clusterers, MVEC and its combination sweep, multi-view baselines.

See :mod:`clustlib.cluster.classical`, :mod:`clustlib.cluster.mvec`, :mod:`clustlib.cluster.sweep`,
:mod:`clustlib.cluster.multiview`, :mod:`clustlib.cluster.uspec` (U-SPEC, transfer cut, U-SENC) and
:mod:`clustlib.cluster.consensus_entropy` (entropy-weighted consensus, DeepCluE's multi-layer ensemble).
"""

from clustlib.cluster.classical import (
    ALGORITHMS,
    FeatureClustering,
    LabelViews,
    build_label_views,
    cluster_features,
    isometric_reduction,
)
from clustlib.cluster.consensus_entropy import (
    EnsembleResult,
    cluster_uncertainty,
    entropy_cluster_weights,
    multilayer_ensemble,
    weighted_bipartite_consensus,
    weighted_cluster_bipartite,
)
from clustlib.cluster.mvec import CONSENSUS_ENGINES, MVEC, ConsensusResult, coassociation_consensus
from clustlib.cluster.multiview import (
    MVSC,
    RMKKM,
    kernel_memory_bytes,
    make_multiview_blobs,
    memory_reason,
    rbf_kernel,
    sigest,
)
from clustlib.cluster.subkmeans import NrKMeans, SubKMeans
from clustlib.cluster.sweep import SweepResult, all_combinations, combination_key, sweep_combinations
from clustlib.cluster.uspec import USPEC, transfer_cut, usenc_ensemble, uspec_affinity

__all__ = [
    "ALGORITHMS",
    "all_combinations",
    "build_label_views",
    "cluster_features",
    "cluster_uncertainty",
    "coassociation_consensus",
    "combination_key",
    "CONSENSUS_ENGINES",
    "ConsensusResult",
    "EnsembleResult",
    "entropy_cluster_weights",
    "FeatureClustering",
    "isometric_reduction",
    "kernel_memory_bytes",
    "LabelViews",
    "make_multiview_blobs",
    "memory_reason",
    "multilayer_ensemble",
    "MVEC",
    "MVSC",
    "NrKMeans",
    "rbf_kernel",
    "RMKKM",
    "sigest",
    "SubKMeans",
    "sweep_combinations",
    "SweepResult",
    "transfer_cut",
    "usenc_ensemble",
    "USPEC",
    "uspec_affinity",
    "weighted_bipartite_consensus",
    "weighted_cluster_bipartite",
]
