"""The one epoch runner and the one batched-inference helper of every torch method in :mod:`clustlib.deep`.

A method supplies its *epoch step*, a function ``step(epoch) -> {name: value}`` that runs one pass of its own
algorithm (gradient steps, pseudo-label updates, threshold schedules) and returns that epoch's records;
:func:`run_epochs` owns everything around it:

- **resume**: an atomic checkpoint (tensors and plain values only, read with ``weights_only=True``) written
  after every ``checkpoint_every`` epochs holds the state of every object the step touches (networks,
  optimisers, schedulers, generators, augmentations, a dict of plain tensors) and the history; it carries the
  hash of the configuration that wrote it, and a checkpoint from another configuration or data is refused
  (:class:`clustlib.errors.CheckpointMismatch`) before anything is loaded;
- **mixed precision** (:func:`resolve_precision`): off by default (the papers trained in float32); asked for, it
  is bfloat16 autocast on the CPU and on CUDA devices that support it, float16 with a gradient scaler on other
  CUDA devices; the precision used is recorded in the history and the checkpoint configuration;
- **history and timing**: the step's records appended per epoch with the epoch's wall-clock seconds;
- **progress**: one ``tqdm`` bar showing the step's records.

:func:`batched_inference` runs a network over a data set in order, in batches moved to the network's device one
at a time, so no method puts a whole data set on the GPU.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from clustlib.errors import InvalidParameter, NotFittedError

__all__ = [
    "Precision",
    "PRECISIONS",
    "resolve_precision",
    "run_epochs",
    "write_checkpoint",
    "batched_inference",
    "to_device_batch",
    "check_fitted",
    "seed_of",
    "estimator_config",
]

#: Version of the checkpoints :func:`run_epochs` writes; older files are refused with the fix.
CHECKPOINT_FORMAT = 2

#: Values of the estimators' ``amp`` parameter: off, the device's default half type, or a named one.
PRECISIONS = (False, None, True, "bfloat16", "float16")


@dataclass(frozen=True)
class Precision:
    """Resolved mixed-precision setting of one fit.

    Attributes
    ----------
    dtype : torch.dtype or None
        Autocast type (``torch.bfloat16`` or ``torch.float16``); None: float32, no autocast.
    device_type : str
        ``"cpu"`` or ``"cuda"`` (what :func:`torch.autocast` needs).
    scaler : torch.amp.GradScaler or None
        Loss scaler, only for float16 (bfloat16 has float32's exponent range and needs none).
    """

    dtype: torch.dtype | None
    device_type: str
    scaler: torch.amp.GradScaler | None = None

    @property
    def name(self) -> str:
        """``"float32"``, ``"bfloat16"`` or ``"float16"``: what the history and ``precision_`` record."""
        return "float32" if self.dtype is None else str(self.dtype).removeprefix("torch.")

    def autocast(self):
        """Context manager: autocast to :attr:`dtype`, or nothing in float32."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()``, scaled first under float16."""
        (loss if self.scaler is None else self.scaler.scale(loss)).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """``optimizer.step()``; under float16 unscale, skip a step with inf/NaN gradients, update the scale."""
        if self.scaler is None:
            optimizer.step()
        else:
            self.scaler.step(optimizer)
            self.scaler.update()


def resolve_precision(device: torch.device, amp: bool | str | None = False) -> Precision:
    """The :class:`Precision` of ``amp`` on ``device``.

    Parameters
    ----------
    device : torch.device
    amp : {False, None, True, "bfloat16", "float16"}, default=False
        False or None: float32 (the default everywhere). True: bfloat16 on the CPU and on CUDA devices that support
        it, else float16 with a loss scaler. ``"bfloat16"``/``"float16"``: that type (float16 needs CUDA).
    """
    if amp is None or amp is False:
        return Precision(None, device.type)
    if amp is True:
        amp = "bfloat16" if device.type != "cuda" or torch.cuda.is_bf16_supported() else "float16"
    if amp == "bfloat16":
        return Precision(torch.bfloat16, device.type)
    if amp == "float16":
        if device.type != "cuda":
            raise InvalidParameter("amp='float16' needs a CUDA device (CPU autocast runs bfloat16); use amp=True or "
                                   "amp='bfloat16' on the CPU.")
        return Precision(torch.float16, device.type, torch.amp.GradScaler("cuda"))
    raise InvalidParameter(f"amp must be one of {PRECISIONS} (False: float32), got {amp!r}.")


def seed_of(random_state) -> int:
    """The seed of a ``random_state`` parameter: ``None`` means 0 (fixed, so that a rerun repeats the numbers)."""
    return 0 if random_state is None else int(random_state)


def estimator_config(estimator, X: np.ndarray, *, skip: Sequence[str] = (), **extra) -> dict:
    """What defines a fit of ``estimator`` on ``X`` for the checkpoint hash: its parameters but those that do not
    change the numbers (``progress``, ``device``, ``checkpoint_path`` and ``skip``), its class and X's fingerprint,
    plus ``extra``."""
    from clustlib.deep.pretrain import data_fingerprint  # pretrain imports training, which imports this module

    drop = {"progress", "device", "checkpoint_path", *skip}
    cfg = {k: v for k, v in estimator.get_params(deep=False).items() if k not in drop}
    cfg.update(method=type(estimator).__name__, data=data_fingerprint(X), **extra)
    return cfg


def check_fitted(estimator, attribute: str = "network_") -> None:
    """Raise :class:`clustlib.errors.NotFittedError` (scikit-learn's, and a ClustlibError) before ``fit``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"{type(estimator).__name__} is not fitted yet; call fit(X) first.")


# -- checkpoints -------------------------------------------------------------------------------------------------


def _state_of(obj):
    if hasattr(obj, "state_dict"):
        return obj.state_dict()
    if hasattr(obj, "get_state"):
        return obj.get_state()
    if isinstance(obj, Mapping):
        return {k: (v.detach().cpu() if isinstance(v, torch.Tensor) else v) for k, v in obj.items()}
    raise TypeError(f"cannot checkpoint a {type(obj).__name__}: give it state_dict() or get_state().")


def _restore(obj, state) -> None:
    if hasattr(obj, "load_state_dict"):
        obj.load_state_dict(state)
    elif hasattr(obj, "set_state"):
        obj.set_state(state)
    else:  # a mutable mapping of plain tensors and values, rebound in place
        device = {k: v.device for k, v in obj.items() if isinstance(v, torch.Tensor)}
        obj.clear()
        obj.update({k: (v.to(device[k]) if isinstance(v, torch.Tensor) and k in device else v)
                    for k, v in state.items()})


def _history_state(history) -> dict:
    return {f.name: list(getattr(history, f.name)) for f in fields(history) if isinstance(getattr(history, f.name), list)}


def _restore_history(history, saved: Mapping) -> None:
    for name, values in saved.items():
        setattr(history, name, [tuple(v) if isinstance(v, list) else v for v in values])


def write_checkpoint(path, payload: dict) -> None:
    """Write ``payload`` atomically to ``path`` (a hook point: tests interrupt a fit right after it)."""
    from clustlib.deep.training import atomic_torch_save

    atomic_torch_save(payload, path)


def run_epochs(
    step: Callable[[int], Mapping[str, object]],
    *,
    epochs: int,
    history,
    state: Mapping[str, object],
    precision: Precision,
    checkpoint_path: str | os.PathLike | None = None,
    config: Mapping | None = None,
    checkpoint_every: int = 1,
    desc: str = "training",
    progress: bool = True,
    map_location=None,
):
    """Run ``step(epoch)`` for the epochs not yet in the checkpoint, recording, timing and checkpointing them.

    Parameters
    ----------
    step : callable ``(epoch) -> mapping``
        One epoch of the method. The mapping's keys are fields of ``history`` (lists); each value is appended. It
        runs inside ``precision.autocast()``; use ``precision.backward``/``precision.step`` for gradient steps.
    epochs : int
        Total epochs (>= 0), counting those a checkpoint already holds.
    history : dataclass with list fields and ``resumed_from``
        A :class:`clustlib.deep.training.TrainHistory` (or subclass); ``epoch_seconds`` is filled here and
        ``precision`` is set, if the class has it.
    state : mapping of str to object
        Everything whose state the step changes: objects with ``state_dict``/``load_state_dict`` (modules,
        optimisers, schedulers, a GradScaler) or ``get_state``/``set_state`` (generators, augmentations), or a
        mutable dict of tensors and plain values (restored in place). Saved after every ``checkpoint_every``
        epochs and after the last one.
    precision : Precision
        From :func:`resolve_precision`; its scaler is checkpointed with the rest.
    checkpoint_path : path, optional
        Resumed when it exists and its configuration hash equals ``config``'s; otherwise
        :class:`clustlib.errors.CheckpointMismatch` is raised before anything is loaded.
    config : mapping, optional
        Everything that defines the run (required with ``checkpoint_path``); the precision is added to it.
    checkpoint_every : int, default=1
    desc : str
        Progress-bar label.
    progress : bool
        Show a ``tqdm`` bar.
    map_location : optional
        Where to load a checkpoint's tensors (default: where they were).

    Returns
    -------
    history
    """
    from clustlib.deep.training import _jsonable, config_hash, load_checkpoint

    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise InvalidParameter(f"epochs must be an integer >= 0, got {epochs!r}.")
    if checkpoint_path is not None and config is None:
        raise InvalidParameter("checkpoint_path needs config (what defines the run) to guard resuming.")
    if hasattr(history, "precision"):
        history.precision = precision.name
    state = dict(state)
    if precision.scaler is not None:
        state["grad_scaler"] = precision.scaler
    cfg = None if config is None else {**config, "precision": precision.name}
    chash = None if cfg is None else config_hash(cfg)
    start = 0
    if checkpoint_path is not None and Path(checkpoint_path).exists():
        saved = load_checkpoint(checkpoint_path, chash, fmt=CHECKPOINT_FORMAT, map_location=map_location)
        for name, obj in state.items():
            _restore(obj, saved["state"][name])
        _restore_history(history, saved["history"])
        start = history.resumed_from = int(saved["epoch"])

    bar = tqdm(range(start, epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        with precision.autocast():
            records = step(epoch)
        for name, value in records.items():
            getattr(history, name).append(value)
        history.epoch_seconds.append(time.perf_counter() - t0)
        bar.set_postfix({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in records.items()
                         if isinstance(v, (int, float))})
        if checkpoint_path is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
            write_checkpoint(checkpoint_path, {
                "format": CHECKPOINT_FORMAT, "config_hash": chash, "config": _jsonable(cfg), "epoch": epoch + 1,
                "state": {name: _state_of(obj) for name, obj in state.items()},
                "history": _history_state(history),
            })
    return history


# -- inference ---------------------------------------------------------------------------------------------------


def _device_of(module: nn.Module) -> torch.device:
    p = next(module.parameters(), None)
    if p is None:
        p = next(module.buffers(), None)
    return torch.device("cpu") if p is None else p.device


def _cat(outputs: list):
    first = outputs[0]
    if isinstance(first, Mapping):
        return {k: torch.cat([o[k] for o in outputs]) for k in first}
    if isinstance(first, tuple):
        return tuple(torch.cat(parts) for parts in zip(*outputs))
    return torch.cat(outputs)


@torch.no_grad()
def batched_inference(module: nn.Module, inputs: torch.Tensor | Sequence[torch.Tensor], *,
                      batch_size: int, forward: Callable | None = None, train_mode: bool = False,
                      batches: Sequence[slice] | None = None):
    """Run ``forward`` over ``inputs`` in order, one batch on the module's device at a time; outputs concatenated.

    Parameters
    ----------
    module : torch.nn.Module
        The network; set to eval mode for the pass (train mode with ``train_mode=True``: batch normalisation with
        batch statistics, as Keras' mode 2), then back to the mode it had.
    inputs : tensor (N, ...) or sequence of tensors (N, ...)
        On any device (usually the CPU); each batch is moved to the module's device.
    batch_size : int
        Rows per batch (the batch sets the statistics with ``train_mode``).
    forward : callable, optional
        ``forward(*batch)`` -> tensor, tuple of tensors or dict of tensors; default ``module(*batch)``.
    batches : sequence of slice, optional
        Row ranges to use instead of consecutive ``batch_size`` slices.

    Returns
    -------
    tensor, tuple or dict of tensors (N, ...) on the module's device, in the order of ``inputs``.
    """
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    forward = module if forward is None else forward
    device = _device_of(module)
    n = inputs[0].shape[0]
    if batches is None:
        batches = [slice(s, s + batch_size) for s in range(0, n, batch_size)]
    was_training = module.training
    module.train(bool(train_mode))
    try:
        out = [forward(*[x[b].to(device, non_blocking=True) for x in inputs]) for b in batches]
    finally:
        module.train(was_training)
    return _cat(out)


def to_device_batch(X: torch.Tensor, idx: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Rows ``idx`` of ``X`` (on any device) as a batch on ``device``."""
    return X.index_select(0, idx.to(X.device)).to(device, non_blocking=True)
