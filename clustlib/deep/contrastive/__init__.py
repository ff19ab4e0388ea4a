"""Contrastive Clustering (Li et al., AAAI 2021), the network DeepCluE (2022) ensembles the layers of.

- :mod:`~clustlib.deep.contrastive.contrastive`: the estimator :class:`ContrastiveClustering`;
- :mod:`~clustlib.deep.contrastive.loss`: the instance- and cluster-level contrastive losses;
- the network is :class:`clustlib.deep.networks.ContrastiveNetwork`, the augmentation
  :class:`clustlib.deep.augment.ContrastiveAugment`.
"""

from clustlib.deep.augment.contrastive import ContrastiveAugment
from clustlib.deep.contrastive.contrastive import ContrastiveClustering, ContrastiveHistory
from clustlib.deep.contrastive.loss import cluster_loss, instance_loss
from clustlib.deep.networks.contrastive import BACKBONES, CC_LAYERS, DEEPCLUE_LAYERS, ContrastiveNetwork

__all__ = ["ContrastiveClustering", "ContrastiveHistory", "ContrastiveNetwork", "ContrastiveAugment",
           "instance_loss", "cluster_loss", "BACKBONES", "CC_LAYERS", "DEEPCLUE_LAYERS"]
