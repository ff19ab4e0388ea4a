"""DAC (Chang et al., ICCV 2017): Deep Adaptive Image Clustering.

- :mod:`~clustlib.deep.dac.dac`: the estimator :class:`DAC` (Algorithm 1; what the paper leaves open) and the
  scripts' input preparation :func:`center_images`;
- :mod:`~clustlib.deep.dac.loss`: the adaptive thresholds (eq. 11-12), pair labels (eq. 6), the pairwise losses
  (eq. 2, 10) and the chunk gradient;
- :mod:`~clustlib.deep.dac.presets`: the paper's rule and the authors' scripts as named presets;
- the network is :class:`clustlib.deep.networks.DACNetwork`, the scripts' augmentation
  :class:`clustlib.deep.augment.KerasImageAugment`.
"""

from clustlib.deep.augment.keras import KerasImageAugment
from clustlib.deep.dac.dac import DAC, DACHistory, center_images
from clustlib.deep.dac.loss import (chunk_pair_loss, dac_thresholds, pair_loss, pair_targets, paper_iterations,
                                    paper_thresholds, script_thresholds, select_pairs)
from clustlib.deep.dac.presets import AUGMENTATION_PRESETS, DAC_SCRIPT_SETTINGS, PAPER_ETA, PRESETS

__all__ = ["DAC", "DACHistory", "KerasImageAugment", "AUGMENTATION_PRESETS", "DAC_SCRIPT_SETTINGS", "PRESETS",
           "PAPER_ETA", "dac_thresholds", "paper_thresholds", "paper_iterations", "script_thresholds", "select_pairs",
           "pair_targets", "pair_loss", "chunk_pair_loss", "center_images"]
