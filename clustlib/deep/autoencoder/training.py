"""The mini-batch epoch of the autoencoder methods (pretraining, DEC, IDEC, DCN, DipEncoder, ACe/DeC), run by
:func:`clustlib.deep.engine.run_epochs`.

:func:`train_epochs` draws mini-batches through a seeded index permutation (no ``DataLoader``, no per-sample
Python), moves each batch to the device (the data set may stay on the CPU), sums the batch losses on the device
and synchronises once per epoch; the engine owns the checkpoint (modules, optimiser, RNG, history, written
atomically, refused with :class:`CheckpointMismatch` when another configuration wrote it), mixed precision, the
``tqdm`` bar and the timing. The checkpoint helpers are re-exported from :mod:`clustlib.deep.engine`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import torch
from torch import nn

from clustlib.deep.engine import (CHECKPOINT_FORMAT, atomic_torch_save, check_checkpoint,  # noqa: F401
                                  check_checkpoint_path, check_writable_folder, config_hash, load_checkpoint,
                                  read_state_file, resolve_device, resolve_precision, run_epochs, seed_everything,
                                  to_device_batch)
from clustlib.deep.base import TrainHistory  # noqa: F401  (re-exported: the history train_epochs returns)
from clustlib.errors import CheckpointMismatch, InvalidParameter

__all__ = [
    "CheckpointMismatch",
    "TrainHistory",
    "seed_everything",
    "resolve_device",
    "config_hash",
    "atomic_torch_save",
    "read_state_file",
    "train_epochs",
    "make_adam",
    "amp_settings",
    "load_checkpoint",
    "check_checkpoint",
    "check_checkpoint_path",
    "check_writable_folder",
]



def amp_settings(device: torch.device, amp: bool | None) -> tuple[bool, torch.dtype | None, bool]:
    """(use autocast, dtype, use GradScaler).

    ``amp=None``: on for CUDA (bfloat16 where supported, else float16 with a GradScaler), off on
    the CPU. ``amp=True`` on the CPU: bfloat16 autocast, which pays off on CPUs with AMX or
    AVX512-BF16 matrix units (about 2x per epoch for the feed-forward autoencoders) and is slower
    elsewhere. ``amp=False``: float32 everywhere.
    """
    use = device.type == "cuda" if amp is None else bool(amp)
    if not use:
        return False, None, False
    if device.type != "cuda":
        return True, torch.bfloat16, False
    if torch.cuda.is_bf16_supported():
        return True, torch.bfloat16, False
    return True, torch.float16, True


def make_adam(params, lr: float, *, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam with the fused kernel (one pass over all parameters instead of a Python loop per tensor).

    The update rule is torch's Adam; only the kernel differs (results agree to float rounding).
    A group may be a dict with its own ``lr`` (ACe/DeC's 10x rate for its beta weights).
    """
    if not lr > 0:
        raise InvalidParameter(f"learning rate must be > 0, got {lr}.")
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)


def _upgrade_format_1(path, config: Mapping, precision, state: Mapping) -> None:
    """Rewrite, in place, a checkpoint this loop wrote before the engine (format 1) in the engine's format.

    Only a file whose configuration hash equals this run's is rewritten (anything else is left for
    :func:`clustlib.deep.engine.run_epochs` to refuse), so a pretraining or clustering run interrupted before the
    upgrade resumes instead of starting over.
    """
    old = read_state_file(path, map_location="cpu")
    if not isinstance(old, dict) or old.get("format") != 1 or old.get("config_hash") != config_hash(config):
        return
    saved = {f"module.{k}": v for k, v in old["modules"].items()}
    saved.update(optimizer=old["optimizer"], generator=old["generator"])
    if "augment" in state:
        saved["augment"] = old["augment"]
    if precision.scaler is not None:
        if old.get("scaler") is None:
            return
        saved["grad_scaler"] = old["scaler"]
    atomic_torch_save({
        "format": CHECKPOINT_FORMAT, "config": old["config"], "precision": precision.name, "epoch": old["epoch"],
        "config_hash": config_hash({"config": config, "precision": precision.name}), "state": saved,
        "history": {"losses": list(old["losses"]), "epoch_seconds": list(old["epoch_seconds"])},
    }, path)


def train_epochs(
    X: torch.Tensor,
    batch_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    modules: Mapping[str, nn.Module],
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    device: torch.device,
    amp: bool | None = None,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    on_epoch_end: Callable[[int], None] | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_config: Mapping | None = None,
    checkpoint_every: int = 1,
    desc: str = "training",
    progress: bool = True,
) -> TrainHistory:
    """Run ``epochs`` passes of mini-batch gradient descent over ``X``.

    Parameters
    ----------
    X : torch.Tensor, shape (N, ...)
        The whole data set, on the CPU (each batch is moved to ``device``) or already on ``device``.
    batch_loss : callable ``(idx, xb) -> loss``, or ``(idx, xb, xa) -> loss`` with ``augment``
        ``idx`` is the (B,) int64 index of the batch rows in ``X`` (on ``device``), ``xb = X[idx]``,
        ``xa = augment(xb)`` the augmented batch. Returns a scalar loss tensor. Called under
        autocast when AMP is on.
    optimizer : torch.optim.Optimizer
    modules : mapping of str to torch.nn.Module
        Everything whose state must survive a restart (networks, centres as buffers or parameters).
        Set to train mode at the start of every epoch.
    epochs : int
        Number of epochs (>= 0).
    batch_size : int
        Mini-batch size; the last batch of an epoch may be smaller (no ``drop_last``, as ClustPy).
    generator : torch.Generator
        CPU generator for the batch permutations (from :func:`seed_everything`).
    device : torch.device
    amp : bool or None
        Mixed precision: ``None`` = on for CUDA, off on the CPU; ``True`` on the CPU = bfloat16.
    augment : callable ``(xb) -> xa``, optional
        Augments each batch (e.g. :class:`clustlib.deep.augment.affine.RandomAffineBatch`); its generator
        state (``get_state``/``set_state``) is checkpointed with the rest.
    on_epoch_end : callable ``(epoch) -> None``, optional
        Called after each epoch's gradient steps, before the checkpoint (DCN's centre pass goes here).
    checkpoint_path : path, optional
        Where to keep the checkpoint. An existing one is resumed if its configuration hash equals
        ``config_hash(checkpoint_config)``; otherwise :class:`CheckpointMismatch` is raised.
    checkpoint_config : mapping, optional
        Everything that defines the run (required with ``checkpoint_path``).
    checkpoint_every : int, default=1
        Save every this many epochs (and after the last one).
    desc : str
        Progress-bar label.
    progress : bool
        Show a ``tqdm`` bar.

    Returns
    -------
    TrainHistory
    """
    if epochs < 0:
        raise InvalidParameter(f"epochs must be >= 0, got {epochs}.")
    if batch_size < 1:
        raise InvalidParameter(f"batch_size must be >= 1, got {batch_size}.")
    if checkpoint_path is not None and checkpoint_config is None:
        raise InvalidParameter("checkpoint_path needs checkpoint_config (what defines the run) to guard resuming.")
    precision = resolve_precision(device, device.type == "cuda" if amp is None else bool(amp))
    n = X.shape[0]

    def step(epoch: int) -> dict:
        for module in modules.values():
            module.train()
        perm = torch.randperm(n, generator=generator)
        perm_d = perm.to(device, non_blocking=True)
        total = torch.zeros((), device=device)
        n_batches = 0
        for start in range(0, n, batch_size):
            idx = perm_d[start:start + batch_size]
            xb = X.index_select(0, idx) if X.device == device else to_device_batch(X, perm[start:start + batch_size],
                                                                                    device)
            args = (idx, xb) if augment is None else (idx, xb, augment(xb))
            with precision.autocast():
                loss = batch_loss(*args)
            optimizer.zero_grad(set_to_none=True)
            precision.backward(loss)
            precision.step(optimizer)
            total += loss.detach().float()
            n_batches += 1
        if on_epoch_end is not None:
            on_epoch_end(epoch)
        return {"losses": float(total) / max(n_batches, 1)}  # the one host sync of the epoch

    state = {f"module.{name}": module for name, module in modules.items()}
    state.update(optimizer=optimizer, generator=generator)
    if augment is not None:
        state["augment"] = augment
    if checkpoint_path is not None and os.path.exists(checkpoint_path):
        _upgrade_format_1(checkpoint_path, checkpoint_config, precision, state)
    return run_epochs(step, epochs=epochs, history=TrainHistory(), state=state, precision=precision,
                      checkpoint_path=checkpoint_path, config=checkpoint_config, checkpoint_every=checkpoint_every,
                      desc=desc, progress=progress, autocast_step=False)
