"""DAC's named settings: the paper's rule, the authors' scripts (vector-1127/DAC) and their augmentations.

A preset is a tag of the registered ``dac`` method (:func:`clustlib.deep.create_method`, ``preset=``) and a key
of :data:`PRESETS` (:meth:`clustlib.deep.DAC.from_preset`).
"""

from __future__ import annotations

__all__ = ["AUGMENTATION_PRESETS", "DAC_SCRIPT_SETTINGS", "PRESETS", "PAPER_ETA", "VARIANTS", "SCHEDULES", "PAIR_MODES",
           "PAIR_LOSSES", "DISTILL_ON"]

VARIANTS = ("dac", "dac_star")
SCHEDULES = ("paper", "script")
PAIR_MODES = ("chunk", "batch")
PAIR_LOSSES = ("bce", "mse", "keras1_swapped_bce")
DISTILL_ON = ("label_features", "softmax")
#: The paper's adaptive rule (Sec. 5.4): u(λ) = PAPER_UPPER - λ, l(λ) = PAPER_LOWER + PAPER_LOWER_SLOPE λ,
#: λ from 0 with learning rate PAPER_ETA; DAC* anneals u = l from PAPER_UPPER to PAPER_STAR_END.
PAPER_UPPER, PAPER_LOWER, PAPER_LOWER_SLOPE, PAPER_ETA, PAPER_STAR_END = 0.95, 0.455, 0.1, 0.009, 0.5

#: The ImageDataGenerator settings of the authors' scripts. ``rotation`` in degrees; ``shift`` a
#: fraction of the image size; ``channel_shift`` an additive per-channel offset; ``rescale`` a
#: constant intensity factor applied to every augmented image; ``zoom`` the range of the
#: independent x and y zoom factors; ``flip`` random horizontal flips.
AUGMENTATION_PRESETS: dict[str, dict] = {
    "mnist": dict(rotation=10.0, shift=0.1, channel_shift=0.05, rescale=0.975, zoom=(0.95, 1.05), flip=False),
    "cifar100": dict(rotation=20.0, shift=0.18, channel_shift=0.1, rescale=0.95, zoom=(0.85, 1.15), flip=True),
    "cifar10_2": dict(rotation=10.0, shift=0.09, channel_shift=0.05, rescale=0.975, zoom=(0.95, 1.05), flip=True),
    "stl": dict(rotation=10.0, shift=0.1, channel_shift=0.05, rescale=0.975, zoom=(0.95, 1.05), flip=True),
}
#: ``augmentation=True`` picks the preset of the script the network comes from.
_PRESET_OF_NETWORK = {"mnist": "mnist", "small16": "mnist", "cifar": "cifar100", "cifar_v2": "cifar10_2",
                      "stl": "stl", "imagenet_dog": "stl"}

#: Keyword arguments of :class:`DAC` that reproduce each script of vector-1127/DAC (inputs must be
#: prepared as the script does, see :func:`center_images`). ``cifar100`` is the script the authors
#: ran for CIFAR-10 and CIFAR-100/20 (DAC*); ``cifar10_2`` the two-threshold DAC run (0.5222 ACC in
#: its log, the paper's 0.5218), the only two-threshold script.
_SCRIPT_COMMON = dict(threshold_schedule="script", pairs="batch", chunk_size=1000, lr=1e-3, pair_loss="bce",
                      restart_optimizer=False)
DAC_SCRIPT_SETTINGS: dict[str, dict] = {
    "mnist": dict(_SCRIPT_COMMON, variant="dac_star", network="mnist", upper=0.9, lower=0.5, epochs=20,
                  batch_size=128, chunk_passes=5, steps_per_batch=1, pair_loss="mse", distill_weight=0.0,
                  augmentation="mnist"),
    "cifar100": dict(_SCRIPT_COMMON, variant="dac_star", network="cifar", upper=0.99, lower=0.75, epochs=50,
                     batch_size=32, chunk_passes=10, steps_per_batch=2, distill_weight=10.0,
                     distill_on="label_features", augmentation="cifar100"),
    "cifar10_2": dict(_SCRIPT_COMMON, variant="dac", network="cifar_v2", upper=0.99, lower=0.80, epochs=50,
                      batch_size=32, chunk_passes=10, steps_per_batch=2, pair_loss="keras1_swapped_bce",
                      distill_weight=1.0, distill_on="softmax", augmentation="cifar10_2", restart_optimizer=True),
    "stl": dict(_SCRIPT_COMMON, variant="dac_star", network="stl", upper=0.99, lower=0.5, epochs=75, batch_size=32,
                chunk_passes=10, steps_per_batch=2, distill_weight=10.0, distill_on="label_features",
                augmentation="stl"),
    "imagenet10": dict(_SCRIPT_COMMON, variant="dac_star", network="stl", upper=0.99, lower=0.75, epochs=50,
                       batch_size=32, chunk_passes=10, steps_per_batch=2, distill_weight=10.0,
                       distill_on="label_features", augmentation="stl"),
    "imagenet_dog": dict(_SCRIPT_COMMON, variant="dac_star", network="imagenet_dog", upper=0.99, lower=0.75,
                         epochs=50, batch_size=32, chunk_passes=10, steps_per_batch=2, distill_weight=10.0,
                         distill_on="label_features", augmentation="stl"),
}
#: Named settings for :meth:`DAC.from_preset`: ``"paper"`` (the defaults: DAC as Sec. 4-5.4 state it),
#: ``"paper_star"`` (DAC*) and ``"script_<name>"`` for each script of :data:`DAC_SCRIPT_SETTINGS`.
PRESETS: dict[str, dict] = {"paper": {}, "paper_star": dict(variant="dac_star"),
                            **{f"script_{name}": kw for name, kw in DAC_SCRIPT_SETTINGS.items()}}
