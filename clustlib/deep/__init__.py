"""Deep clustering: autoencoders, the training engine, and the methods of the reproduced papers.

Names are loaded lazily (``import clustlib.deep`` does not import torch until one is used).

Every torch method trains on :mod:`clustlib.deep.engine` (one epoch runner, one batched-inference helper) and
keeps one contract:

- ``random_state=None`` means seed 0 (a rerun repeats the numbers); same seed -> bit-equal labels on the CPU;
- ``device=None`` means the first CUDA device when there is one, else the CPU; data stay on the CPU and move to
  the device one batch (or DAC chunk) at a time;
- ``amp`` (mixed precision) is off by default (float32, as the papers trained); ``amp=True`` is bfloat16 (float16
  with a loss scaler on CUDA devices without bfloat16) and the fit records it in ``precision_``/``history_``;
- ``checkpoint_path``: written atomically after every epoch, resumed bit-equal on the CPU after a kill, refused
  (:class:`clustlib.errors.CheckpointMismatch`) when another configuration or data wrote it;
- using an unfitted estimator raises :class:`clustlib.errors.NotFittedError` (scikit-learn's ``NotFittedError``
  and a ``ClustlibError``); ``sklearn.base.clone`` round-trips the parameters.
"""

from __future__ import annotations

import importlib

__all__ = [
    # networks
    "FeedforwardAutoencoder",
    "build_autoencoder",
    "list_autoencoders",
    # training loop
    "CheckpointMismatch",
    "TrainHistory",
    "seed_everything",
    "resolve_device",
    "train_epochs",
    "make_adam",
    "config_hash",
    "run_epochs",
    "batched_inference",
    "resolve_precision",
    # pretraining and inputs
    "PretrainResult",
    "pretrain_autoencoder",
    "zscore_images",
    "blank_pixel_value",
    # methods
    "DeepClusterer",
    "INITIAL_CLUSTERINGS",
    "initial_clustering",
    "AEKMeans",
    "DEC",
    "IDEC",
    "DCN",
    "DipEncoder",
    "ACeDeC",
    "dip_statistic",
    "list_methods",
    "create_method",
    "run_deep_clustering",
    # JULE and MVnet (Guérin et al. 2021)
    "JULE",
    "MVnet",
    "fit_view_jules",
    "concatenate_views",
    # DAC (Chang et al. 2017)
    "DAC",
    "DACNetwork",
    "restraint_layer",
    "dac_thresholds",
    "pair_targets",
    "KerasImageAugment",
    "DAC_SCRIPT_SETTINGS",
    # MMDC (Shiran & Weinshall 2020)
    "MMDC",
    "MMDCAugment",
    "MMDC_SETTINGS",
    "assign_targets",
    "SmallVGG",
    "ResNet18",
    "SobelFilter",
    # Contrastive Clustering (Li et al. 2021), DeepCluE's network
    "ContrastiveClustering",
    "ContrastiveNetwork",
    "ContrastiveAugment",
    "instance_loss",
    "cluster_loss",
]

_WHERE = {
    "JULE": "jule",
    "MVnet": "mvnet",
    "fit_view_jules": "mvnet",
    "concatenate_views": "mvnet",
    "DAC": "dac",
    "DACNetwork": "allconv",
    "restraint_layer": "allconv",
    "dac_thresholds": "dac",
    "pair_targets": "dac",
    "KerasImageAugment": "dac",
    "DAC_SCRIPT_SETTINGS": "dac",
    "MMDC": "mmdc",
    "MMDCAugment": "mmdc",
    "MMDC_SETTINGS": "mmdc",
    "assign_targets": "mmdc",
    "SmallVGG": "mmdc_networks",
    "ResNet18": "mmdc_networks",
    "SobelFilter": "mmdc_networks",
    "ContrastiveClustering": "contrastive",
    "ContrastiveNetwork": "contrastive",
    "ContrastiveAugment": "contrastive",
    "instance_loss": "contrastive",
    "cluster_loss": "contrastive",
    "FeedforwardAutoencoder": "networks",
    "build_autoencoder": "networks",
    "list_autoencoders": "networks",
    "CheckpointMismatch": "training",  # re-exported from clustlib.errors
    "TrainHistory": "training",
    "seed_everything": "training",
    "resolve_device": "training",
    "train_epochs": "training",
    "make_adam": "training",
    "config_hash": "training",
    "run_epochs": "engine",
    "batched_inference": "engine",
    "resolve_precision": "engine",
    "PretrainResult": "pretrain",
    "pretrain_autoencoder": "pretrain",
    "zscore_images": "preprocessing",
    "blank_pixel_value": "preprocessing",
    "DeepClusterer": "_base",
    "INITIAL_CLUSTERINGS": "_base",
    "initial_clustering": "_base",
    "AEKMeans": "aekmeans",
    "DEC": "dec",
    "IDEC": "dec",
    "DCN": "dcn",
    "DipEncoder": "dipencoder",
    "ACeDeC": "acedec",
    "dip_statistic": "dip",
    "list_methods": "run",
    "create_method": "run",
    "run_deep_clustering": "run",
}


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
