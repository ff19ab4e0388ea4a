"""JULE (Yang et al., CVPR 2016) as Guérin et al. (2021) run it, and MVnet, which trains on JULE's loop.

- :mod:`~clustlib.deep.jule.jule`: the estimator :class:`JULE`, agglomerative merging and the triplet loss;
- :mod:`~clustlib.deep.jule.mvnet`: :class:`MVnet` (one JULE per view, then a joint network).
"""

from clustlib.deep.jule.jule import (JULE, EmbeddingMLP, affinity_memory_bytes, merge_clusters,
                                     merge_clusters_reference, nn_chain_init, renorm, sample_affinity, triplet_loss)
from clustlib.deep.jule.mvnet import MVnet, MVnetModule, concatenate_views, fit_view_jules

__all__ = ["JULE", "EmbeddingMLP", "nn_chain_init", "sample_affinity", "merge_clusters", "merge_clusters_reference",
           "triplet_loss", "affinity_memory_bytes", "renorm", "MVnet", "MVnetModule", "fit_view_jules",
           "concatenate_views"]
