"""Deep clustering: the methods of the reproduced papers, by family, on one training engine.

Names are loaded lazily (``import clustlib.deep`` does not import torch until one is used). A method's file is one
step from its name, ``clustlib/deep/<family>/<method>.py``:

- ``autoencoder/``: AE+KMeans, DEC and IDEC, DCN, ACe/DeC, DipEncoder (the ClustPy benchmark), with the shared base,
  cached pretraining and the mini-batch epoch;
- ``jule/``: JULE and MVnet (Guérin et al. 2021); ``dac/``: DAC (Chang et al. 2017); ``mmdc/``: MMDC (Shiran &
  Weinshall 2021) and its NAT/RotNet baselines; ``contrastive/``: Contrastive Clustering (DeepCluE's network);
- ``networks/`` and ``augment/``: each family's networks and batch augmentations, named by family
  (``MMDCResNet18``, ``ResNet18Autoencoder``, ``KerasImageAugment``);
- :mod:`~clustlib.deep.engine` (one epoch runner, checkpoints, precision, batched inference),
  :mod:`~clustlib.deep.base` (what all families share) and :mod:`~clustlib.deep.registry`
  (:func:`list_methods`, :func:`create_method` with presets, :func:`method_info`: paper, code, input kind).

Every registered method keeps one contract (``tests/deep/test_contract.py`` checks each registry entry):

- ``n_clusters`` is the first parameter and has no working default: ``None`` (the default, so that an estimator
  can be built to read its parameters, as scikit-learn's checks build every estimator) is refused by ``fit`` with
  the fix;
- ``random_state=None`` means seed 0 (a rerun repeats the numbers); same seed -> bit-equal labels on the CPU;
- ``device=None`` means the first CUDA device when there is one, else the CPU; data stay on the CPU and move to
  the device one batch (or DAC chunk) at a time;
- ``fit(X)`` returns the estimator with ``labels_`` (N,) int64 in [0, K);
- ``amp`` (mixed precision) is off by default (float32, as the papers trained); ``amp=True`` is bfloat16 (float16
  with a loss scaler on CUDA devices without bfloat16) and the fit records it in ``precision_``/``history_``;
- ``checkpoint_path`` (every method trained by :func:`~clustlib.deep.engine.run_epochs`): written atomically after
  every epoch, and a fit interrupted after epoch e and resumed equals the uninterrupted fit bit for bit on the CPU;
  refused (:class:`clustlib.errors.CheckpointMismatch`) when another configuration or data wrote it;
- using an unfitted estimator raises :class:`clustlib.errors.NotFittedError` (scikit-learn's ``NotFittedError``
  and a ``ClustlibError``); ``get_params``/``sklearn.base.clone`` round-trip the parameters.
"""

from __future__ import annotations

import importlib


_WHERE = {
    # networks
    "FeedforwardAutoencoder": "networks.autoencoders",
    "build_autoencoder": "networks.autoencoders",
    "list_autoencoders": "networks.autoencoders",
    "ResNet18Autoencoder": "networks.resnet_ae",
    "DACNetwork": "networks.allconv",
    "restraint_layer": "networks.allconv",
    "MMDCSmallVGG": "networks.mmdc",
    "MMDCResNet18": "networks.mmdc",
    "SobelFilter": "networks.mmdc",
    "ContrastiveNetwork": "networks.contrastive",
    # engine and the autoencoder family's epoch
    "CheckpointMismatch": "engine",  # re-exported from clustlib.errors
    "seed_everything": "engine",
    "resolve_device": "engine",
    "config_hash": "engine",
    "run_epochs": "engine",
    "batched_inference": "engine",
    "resolve_precision": "engine",
    "TrainHistory": "base",
    "train_epochs": "autoencoder.training",
    "make_adam": "autoencoder.training",
    # registry
    "MethodInfo": "registry",
    "list_methods": "registry",
    "method_info": "registry",
    "list_presets": "registry",
    "create_method": "registry",
    # the autoencoder family
    "PretrainResult": "autoencoder.pretrain",
    "pretrain_autoencoder": "autoencoder.pretrain",
    "zscore_images": "autoencoder.preprocessing",
    "blank_pixel_value": "autoencoder.preprocessing",
    "DeepClusterer": "autoencoder.base",
    "INITIAL_CLUSTERINGS": "autoencoder.base",
    "initial_clustering": "autoencoder.base",
    "AEKMeans": "autoencoder.aekmeans",
    "DEC": "autoencoder.dec",
    "IDEC": "autoencoder.dec",
    "DCN": "autoencoder.dcn",
    "DipEncoder": "autoencoder.dipencoder",
    "ACeDeC": "autoencoder.acedec",
    "run_deep_clustering": "autoencoder.run",
    # JULE and MVnet
    "JULE": "jule.jule",
    "MVnet": "jule.mvnet",
    "fit_view_jules": "jule.mvnet",
    "concatenate_views": "jule.mvnet",
    # DAC
    "DAC": "dac.dac",
    "dac_thresholds": "dac.loss",
    "pair_targets": "dac.loss",
    "KerasImageAugment": "augment.keras",
    "DAC_SCRIPT_SETTINGS": "dac.presets",
    # MMDC
    "MMDC": "mmdc.mmdc",
    "MMDCAugment": "augment.mmdc",
    "MMDC_SETTINGS": "mmdc.presets",
    "assign_targets": "mmdc.targets",
    # Contrastive Clustering
    "ContrastiveClustering": "contrastive.contrastive",
    "ContrastiveAugment": "augment.contrastive",
    "instance_loss": "contrastive.loss",
    "cluster_loss": "contrastive.loss",
}

#: Names this package no longer has, with the one to use (ambiguous or moved).
_GONE = {
    "ResNet18": "MMDCResNet18 (MMDC's network; the autoencoders' is ResNet18Autoencoder)",
    "SmallVGG": "MMDCSmallVGG",
    "dip_statistic": "clustlib.stats.dip.dip_statistic (numpy only, outside clustlib.deep)",
}

__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    if name in _GONE:
        raise AttributeError(f"clustlib.deep.{name} was renamed: use {_GONE[name]}.")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
