"""Autoencoder pretraining, cached per (data, network, embedding size, seed, schedule).

The ClustPy benchmark pretrains one autoencoder per data set and repetition and hands the same
weights to every method; :func:`pretrain_autoencoder` does that through an on-disk cache under
``clustlib.paths.cache_root()/models/autoencoders/``. A run that is killed resumes from its
checkpoint (``<key>.ckpt``); the finished weights are written atomically to ``<key>.pt``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from clustlib.deep.augment.affine import make_augmentation
from clustlib.deep.networks.autoencoders import build_autoencoder
from clustlib.deep.autoencoder.training import (
    TrainHistory,
    amp_settings,
    atomic_torch_save,
    check_writable_folder,
    config_hash,
    make_adam,
    read_state_file,
    resolve_device,
    seed_everything,
    train_epochs,
)
from clustlib.deep.base import data_fingerprint
from clustlib.errors import InvalidParameter
from clustlib.paths import cache_root

__all__ = ["PretrainResult", "pretrain_autoencoder", "data_fingerprint", "autoencoder_cache_dir"]


@dataclass
class PretrainResult:
    """What :func:`pretrain_autoencoder` returns.

    Attributes
    ----------
    autoencoder : torch.nn.Module
        The trained network (eval mode, on the requested device).
    seconds : float
        Wall-clock seconds spent in this call (near 0 on a cache hit).
    epoch_seconds : float
        Mean seconds per epoch computed in this call (NaN on a cache hit).
    losses : list of float
        Mean reconstruction loss per epoch (from the cache on a hit).
    from_cache : bool
        True when the weights were loaded, not trained.
    path : pathlib.Path or None
        The cached weights file (None with ``use_cache=False``).
    key : str
        The cache key (configuration hash).
    """

    autoencoder: nn.Module
    seconds: float
    epoch_seconds: float
    losses: list
    from_cache: bool
    path: Path | None
    key: str


def autoencoder_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """``<cache_root>/models/autoencoders``."""
    return cache_root(cache_dir) / "models" / "autoencoders"


def _reconstruction_loss(ae: nn.Module) -> callable:
    def loss(idx: torch.Tensor, xb: torch.Tensor, xa: torch.Tensor | None = None) -> torch.Tensor:
        x = xb if xa is None else xa  # with augmentation the AE learns to reconstruct augmented images
        return torch.nn.functional.mse_loss(ae.decode(ae.encode(x)), x)

    return loss


def pretrain_autoencoder(
    X: np.ndarray,
    *,
    network: str = "ff_500_500_2000",
    embedding_size: int = 10,
    epochs: int = 100,
    lr: float = 1e-3,
    batch_size: int = 256,
    seed: int = 0,
    dataset_key: str | None = None,
    device: str | torch.device | None = None,
    amp: bool | None = None,
    augmentation: str | None = None,
    image_shape: tuple | None = None,
    augmentation_fill: float | tuple = 0.0,
    use_cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 5,
    progress: bool = True,
    _after_epoch=None,
) -> PretrainResult:
    """Pretrain an autoencoder with MSE reconstruction and Adam, or load it from the cache.

    Parameters
    ----------
    X : ndarray of float32, shape (N, D) or (N, C, H, W)
        Normalised inputs (see :func:`clustlib.deep.zscore_images`): flat for the ``ff_*``
        networks, images for ``resnet18``.
    network : str, default="ff_500_500_2000"
        A name from :func:`clustlib.deep.list_autoencoders`.
    embedding_size : int, default=10
        Embedding size m (>= 1).
    epochs : int, default=100
        Pretraining epochs (ClustPy benchmark: 100).
    lr : float, default=1e-3
        Adam learning rate (ClustPy benchmark: 1e-3).
    batch_size : int, default=256
    seed : int, default=0
        Seeds the weight initialisation and the batch order.
    dataset_key : str, optional
        Names the data in the cache key (e.g. an ImageSet fingerprint plus its normalisation).
        Default: a hash of ``X``'s bytes.
    device : str or torch.device, optional
        Default: CUDA when available, else CPU.
    amp : bool, optional
        Mixed precision: None = on for CUDA, off on the CPU; True on the CPU = bfloat16.
    augmentation : {None, "affine"}, optional
        Pretrain on augmented images (the benchmark's experiment H); see
        :class:`clustlib.deep.augment.affine.RandomAffineBatch`.
    image_shape : (H, W, C), optional
        Shape of one image in the flat rows of X (required with ``augmentation``).
    augmentation_fill : float or sequence of float, default=0.0
        A blank pixel in X's units (per channel).
    use_cache : bool, default=True
        Read and write ``<cache>/models/autoencoders/<key>.pt`` and resume from ``<key>.ckpt``.
    cache_dir : path, optional
        Overrides ``clustlib.paths.cache_root()``.
    checkpoint_every : int, default=5
        Epochs between checkpoints while training.
    progress : bool, default=True
        Show a progress bar.

    Returns
    -------
    PretrainResult

    References
    ----------
    Leiber et al., "Benchmarking Deep Clustering Algorithms With ClustPy", ICDMW 2023 (Sec. III:
    one pretrained autoencoder per data set and repetition, shared by all methods).
    """
    X = _check_inputs(X, network, embedding_size, epochs, lr, batch_size, seed)
    dev = resolve_device(device)
    config = {
        "kind": "autoencoder_pretraining",
        "data": dataset_key if dataset_key is not None else data_fingerprint(X),
        "input_shape": list(X.shape[1:]),
        "network": network,
        "embedding_size": int(embedding_size),
        "epochs": int(epochs),
        "lr": float(lr),
        "batch_size": int(batch_size),
        "seed": int(seed),
        "loss": "mse_mean",
        "optimizer": "adam",
        "precision": str(amp_settings(dev, amp)[1] or "float32"),
    }
    if augmentation is not None:
        fill = np.asarray(augmentation_fill, dtype=float).reshape(-1).round(6).tolist()
        config.update(augmentation=augmentation, image_shape=list(image_shape or ()), augmentation_fill=fill)
    key = f"{network}_m{embedding_size}_s{seed}_{config_hash(config)}"
    folder = autoencoder_cache_dir(cache_dir)
    final_path = folder / f"{key}.pt"
    ckpt_path = folder / f"{key}.ckpt"
    if use_cache and not final_path.exists():  # fail now rather than at the first checkpoint
        check_writable_folder(folder, what="The autoencoder cache folder",
                              fix="pass cache_dir= (or set CLUSTLIB_CACHE to) a writable folder, or use_cache=False.")
    ae = build_autoencoder(network, X.shape[1:], embedding_size, seed=seed)
    t0 = time.perf_counter()
    if use_cache and final_path.exists():
        state = read_state_file(final_path, map_location="cpu")
        if state.get("config_hash") != config_hash(config):
            raise InvalidParameter(
                f"Cached autoencoder {final_path} does not match this configuration; delete it to retrain."
            )
        ae.load_state_dict(state["state_dict"])
        ae.to(dev).eval()
        return PretrainResult(ae, time.perf_counter() - t0, float("nan"), list(state["losses"]), True, final_path, key)

    ae.to(dev)
    generator = seed_everything(seed)
    optimizer = make_adam(ae.parameters(), lr)
    Xt = torch.from_numpy(X)  # stays on the CPU; train_epochs moves one batch at a time
    augment = make_augmentation(augmentation, image_shape, fill=augmentation_fill, seed=seed + 1, device=dev)
    history: TrainHistory = train_epochs(
        Xt,
        _reconstruction_loss(ae),
        optimizer,
        {"autoencoder": ae},
        epochs=epochs,
        batch_size=batch_size,
        generator=generator,
        device=dev,
        amp=amp,
        augment=augment,
        on_epoch_end=_after_epoch,
        checkpoint_path=ckpt_path if use_cache else None,
        checkpoint_config=config if use_cache else None,
        checkpoint_every=checkpoint_every,
        desc=f"pretrain {network}",
        progress=progress,
    )
    ae.eval()
    seconds = time.perf_counter() - t0
    if use_cache:
        state_dict = {k: v.detach().cpu() for k, v in ae.state_dict().items()}
        atomic_torch_save(
            {"config_hash": config_hash(config), "config": config, "state_dict": state_dict,
             "losses": history.losses, "epoch_seconds": history.epoch_seconds},
            final_path,
        )
        ckpt_path.unlink(missing_ok=True)
    return PretrainResult(
        ae, seconds, history.mean_epoch_seconds, history.losses, False, final_path if use_cache else None, key
    )


def _check_inputs(X, network, embedding_size, epochs, lr, batch_size, seed) -> np.ndarray:
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    conv = network == "resnet18"
    if X.shape[0] < 1 or X.ndim != (4 if conv else 2):
        want = "(N, C, H, W) images" if conv else "(N, D) flat vectors (flatten images with X.reshape(len(X), -1))"
        raise InvalidParameter(f"network {network!r} takes {want}; got X of shape {X.shape}.")
    if not np.all(np.isfinite(X)):
        raise InvalidParameter("X holds NaN or infinite values; clean or impute them first.")
    if int(embedding_size) < 1:
        raise InvalidParameter(f"embedding_size must be >= 1, got {embedding_size}.")
    if int(epochs) < 0:
        raise InvalidParameter(f"epochs must be >= 0, got {epochs}.")
    if not float(lr) > 0:
        raise InvalidParameter(f"learning rate must be > 0, got {lr}.")
    if int(batch_size) < 1:
        raise InvalidParameter(f"batch_size must be >= 1, got {batch_size}.")
    if int(seed) < 0:
        raise InvalidParameter(f"seed must be >= 0, got {seed}.")
    return np.ascontiguousarray(X, dtype=np.float32)
