"""MMDC (Shiran & Weinshall, 2021 thesis): Multi-Modal Deep Clustering, and its Table 4.4 baselines.

- :mod:`~clustlib.deep.mmdc.mmdc`: the estimator :class:`MMDC`;
- :mod:`~clustlib.deep.mmdc.targets`: the mixture targets and the per-batch linear assignment;
- :mod:`~clustlib.deep.mmdc.presets`: the thesis's row and the README command of each dataset;
- :mod:`~clustlib.deep.mmdc.selfsup_baselines`: NAT and RotNet on MMDC's networks, k-means and the linear probe
  on their features;
- the networks are :class:`clustlib.deep.networks.MMDCSmallVGG` and :class:`~clustlib.deep.networks.MMDCResNet18`,
  the augmentation :class:`clustlib.deep.augment.MMDCAugment`.
"""

from clustlib.deep.augment.mmdc import MMDCAugment
from clustlib.deep.mmdc.mmdc import MMDC, MMDCHistory
from clustlib.deep.mmdc.presets import MMDC_README_SETTINGS, MMDC_SETTINGS, PRESETS
from clustlib.deep.mmdc.selfsup_baselines import (BASELINES, NAT, PROBE_DEFAULTS, RotNet, check_probe_params,
                                                  create_baseline, kmeans_scores, linear_probe, penultimate_features)
from clustlib.deep.mmdc.targets import assign_targets, gmm_means, match_labels, sample_targets

__all__ = ["MMDC", "MMDCHistory", "MMDCAugment", "MMDC_SETTINGS", "MMDC_README_SETTINGS", "PRESETS", "gmm_means",
           "sample_targets", "assign_targets", "match_labels", "NAT", "RotNet", "BASELINES", "create_baseline",
           "penultimate_features", "kmeans_scores", "linear_probe", "check_probe_params", "PROBE_DEFAULTS"]
