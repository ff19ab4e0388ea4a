"""The one training loop every deep-clustering method in :mod:`clustlib.deep` runs on.

It keeps the whole data set as one tensor on the device and draws mini-batches through a seeded
index permutation (no ``DataLoader``, no per-sample Python), sums the batch losses on the device
and synchronises once per epoch, uses AMP on CUDA (bfloat16 on the CPU on request), shows a ``tqdm`` bar, and writes a
checkpoint (modules, optimiser, RNG, history) atomically after every ``checkpoint_every`` epochs.
A checkpoint carries the hash of the configuration that wrote it; resuming with another
configuration raises :class:`CheckpointMismatch` instead of loading foreign weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from clustlib import repro
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

_CHECKPOINT_FORMAT = 1


@dataclass
class TrainHistory:
    """Per-epoch record of one :func:`train_epochs` call.

    Attributes
    ----------
    losses : list of float
        Mean batch loss of each epoch.
    epoch_seconds : list of float
        Wall-clock seconds of each epoch (including the ``on_epoch_end`` hook).
    resumed_from : int
        Number of epochs that were loaded from a checkpoint instead of computed (0 for a fresh run).
    precision : str
        "float32", "bfloat16" or "float16": the autocast type the epochs ran in.
    """

    losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    resumed_from: int = 0
    precision: str = "float32"

    @property
    def mean_epoch_seconds(self) -> float:
        """Mean seconds per epoch computed in this run (NaN when none was)."""
        own = self.epoch_seconds[self.resumed_from:]
        return float(np.mean(own)) if own else float("nan")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) and return a CPU generator for batch order.

    Parameters
    ----------
    seed : int
        Non-negative seed.

    Returns
    -------
    torch.Generator
        A CPU generator seeded with ``seed``; the training loop draws its permutations from it so
        that its state can be checkpointed.
    """
    seed = int(seed)
    if seed < 0:
        raise InvalidParameter(f"seed must be >= 0, got {seed}.")
    repro.seed_everything(seed, deterministic=False)  # Python, NumPy, torch (all devices)
    return torch.Generator().manual_seed(seed)


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` -> the first CUDA device when there is one, else the CPU; strings are validated."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidParameter(f"device {device!r} is not a torch device; use 'cpu', 'cuda' or 'cuda:0'.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameter(f"device {device!r} asked for CUDA but no CUDA device is visible; use device='cpu'.")
    return dev


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def config_hash(config: Mapping) -> str:
    """SHA-256 (hex, 16 chars) of a configuration mapping in canonical JSON."""
    blob = json.dumps(_jsonable(config), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def atomic_torch_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file in the same folder, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def check_writable_folder(folder: str | os.PathLike, *, what: str, fix: str) -> None:
    """Raise :class:`InvalidParameter` unless ``folder`` is, or can be created as, a writable folder.

    Checked on its nearest existing ancestor, so nothing is created; called before training so that a run fails
    at once rather than at its first save. ``what`` names the folder in the message, ``fix`` says what to do.
    """
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        reason = f"{existing} is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        reason = f"{existing} is read-only"
    else:
        return
    raise InvalidParameter(f"{what} {folder} is not writable ({reason}); {fix}")


def check_checkpoint_path(path: str | os.PathLike | None) -> None:
    """``checkpoint_path`` is None, or a file path in a writable folder (checked before any training)."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise InvalidParameter(f"checkpoint_path {path} is a folder; give a file path such as {path / 'run.pt'}.")
    check_writable_folder(path.parent, what="The folder of checkpoint_path",
                          fix="give a checkpoint_path in a writable folder, or checkpoint_path=None.")


def read_state_file(path: str | os.PathLike, map_location=None):
    """``torch.load`` with ``weights_only=True``: tensors and plain values only.

    A file holding pickled Python objects (which could run code on load: a checkpoint from a shared cache or a
    colleague) or one that is no torch file at all raises :class:`CheckpointMismatch` saying which.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" in str(exc) or "Weights only load failed" in str(exc):
            raise CheckpointMismatch(
                f"{path} holds pickled Python objects, not only tensors and plain values; refusing to load it "
                "(unpickling could run code). clustlib writes checkpoints and cached models with tensors and plain "
                "values only: delete the file to recompute it, or load it yourself if you trust its origin."
            ) from None
        error = exc
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file fails in many ways inside torch.load
        error = exc
    raise CheckpointMismatch(f"{path} is not a checkpoint clustlib can read ({type(error).__name__}: {error}). "
                             "Delete the file to start afresh, or point checkpoint_path at another file.")


def _read_checkpoint(path: str | os.PathLike, map_location=None) -> dict:
    state = read_state_file(path, map_location=map_location)
    if not isinstance(state, dict):
        raise CheckpointMismatch(f"Checkpoint {path} is not a checkpoint clustlib can read ({type(state).__name__}). "
                                 "Delete the file to start afresh, or point checkpoint_path at another file.")
    return state


def check_checkpoint(path: str | os.PathLike, config: Mapping, *, fmt: int = _CHECKPOINT_FORMAT,
                     ignore=()) -> None:
    """Refuse, before any training, a checkpoint at ``path`` that another configuration or data wrote.

    Compares the configuration stored in the file with ``config`` on every key but ``ignore`` (what is only
    known once training started, such as the pretrained autoencoder's hash); :func:`load_checkpoint` still
    compares the whole hash when the run resumes. No file at ``path`` passes.
    """
    if not Path(path).exists():
        return
    state = _read_checkpoint(path, map_location="cpu")
    stored, mine = state.get("config") or {}, _jsonable(config)
    differ = sorted(k for k in set(stored) | set(mine) if k not in ignore and stored.get(k) != mine.get(k))
    if state.get("format") != fmt or differ:
        raise CheckpointMismatch(
            f"Checkpoint {path} was written by another configuration or data (it differs in {differ or 'format'}); "
            "refusing to load it. Delete the file to start afresh, or rerun with the configuration that wrote it."
        )


def load_checkpoint(path: str | os.PathLike, config_hash_: str | None, *, fmt: int, map_location=None) -> dict:
    """Load a checkpoint written by this package, refusing one from another configuration.

    Raises :class:`CheckpointMismatch` when the file's format or configuration hash differs from
    ``fmt``/``config_hash_`` (the run would otherwise silently continue foreign weights), or when it is not a
    checkpoint at all.
    """
    state = _read_checkpoint(path, map_location=map_location)
    if state.get("format") != fmt or state.get("config_hash") != config_hash_:
        raise CheckpointMismatch(
            f"Checkpoint {path} was written by another configuration or data (its hash "
            f"{state.get('config_hash')!r}, this run {config_hash_!r}); refusing to load it. "
            "Delete the file to start afresh, or rerun with the configuration that wrote it."
        )
    return state


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
        The whole data set, already on ``device``.
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
        Augments each batch (e.g. :class:`clustlib.deep.augment.RandomAffineBatch`); its generator
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
    use_amp, amp_dtype, use_scaler = amp_settings(device, amp)
    scaler = torch.amp.GradScaler("cuda") if use_scaler else None
    history = TrainHistory()
    start_epoch = 0
    chash = config_hash(checkpoint_config) if checkpoint_config is not None else None

    if checkpoint_path is not None and Path(checkpoint_path).exists():
        state = load_checkpoint(checkpoint_path, chash, fmt=_CHECKPOINT_FORMAT, map_location=device)
        for name, module in modules.items():
            module.load_state_dict(state["modules"][name])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        if augment is not None and state.get("augment") is not None:
            augment.set_state(state["augment"])
        if scaler is not None and state.get("scaler") is not None:
            scaler.load_state_dict(state["scaler"])
        history.losses = list(state["losses"])
        history.epoch_seconds = list(state["epoch_seconds"])
        start_epoch = history.resumed_from = int(state["epoch"])

    def _save(epoch: int) -> None:
        atomic_torch_save(
            {
                "format": _CHECKPOINT_FORMAT,
                "config_hash": chash,
                "config": _jsonable(checkpoint_config),
                "epoch": epoch,
                "modules": {k: m.state_dict() for k, m in modules.items()},
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
                "augment": augment.get_state() if augment is not None else None,
                "scaler": scaler.state_dict() if scaler is not None else None,
                "losses": history.losses,
                "epoch_seconds": history.epoch_seconds,
            },
            checkpoint_path,
        )

    n = X.shape[0]
    bar = tqdm(range(start_epoch, epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        for module in modules.values():
            module.train()
        perm = torch.randperm(n, generator=generator).to(device, non_blocking=True)
        total = torch.zeros((), device=device)
        n_batches = 0
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            xb = X.index_select(0, idx)
            args = (idx, xb) if augment is None else (idx, xb, augment(xb))
            if use_amp:
                with torch.autocast(device_type=device.type, dtype=amp_dtype):
                    loss = batch_loss(*args)
            else:
                loss = batch_loss(*args)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            total += loss.detach().float()
            n_batches += 1
        if on_epoch_end is not None:
            on_epoch_end(epoch)
        mean_loss = float(total) / max(n_batches, 1)  # the one host sync of the epoch
        history.losses.append(mean_loss)
        history.epoch_seconds.append(time.perf_counter() - t0)
        bar.set_postfix(loss=f"{mean_loss:.4g}")
        if checkpoint_path is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
            _save(epoch + 1)
    return history
