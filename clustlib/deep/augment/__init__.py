"""Batch augmentations on the device, each seeded and checkpointable (:class:`clustlib.deep.engine.GeneratorState`).

- :mod:`~clustlib.deep.augment.affine`: the ClustPy benchmark's random affine (experiment H) and the colour-space
  conversions the MMDC and Contrastive Clustering augmentations share;
- :mod:`~clustlib.deep.augment.keras`: Keras 1's ImageDataGenerator as DAC's scripts configure it;
- :mod:`~clustlib.deep.augment.mmdc`: MMDC's crops, flips, colour jitter and rotations;
- :mod:`~clustlib.deep.augment.contrastive`: Contrastive Clustering's two augmented views.
"""

from clustlib.deep.augment.affine import (AUGMENTATIONS, RandomAffineBatch, affine_thetas, hsv_to_rgb,
                                          make_augmentation, rgb_to_grey, rgb_to_hsv)
from clustlib.deep.augment.contrastive import ContrastiveAugment
from clustlib.deep.augment.keras import KerasImageAugment
from clustlib.deep.augment.mmdc import MMDCAugment

__all__ = ["RandomAffineBatch", "AUGMENTATIONS", "affine_thetas", "make_augmentation", "rgb_to_grey", "rgb_to_hsv",
           "hsv_to_rgb", "KerasImageAugment", "MMDCAugment", "ContrastiveAugment"]
