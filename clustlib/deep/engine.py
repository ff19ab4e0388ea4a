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

One module of about 600 lines on purpose: the runner, its checkpoint format, the precision it records and the
helpers every estimator's ``fit`` starts and ends with change together.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from clustlib import repro
from clustlib._atomic import atomic_path, check_writable_folder  # noqa: F401 - re-exported
from clustlib.errors import CheckpointMismatch, InvalidParameter, NotFittedError

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
    "full_precision",
    "seed_everything",
    "resolve_device",
    "FitStart",
    "begin_fit",
    "finish_fit",
    "GeneratorState",
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


def full_precision(fn: Callable) -> Callable:
    """Decorator: run ``fn`` with autocast off and its floating-point tensor arguments in float32.

    For losses whose constants do not exist in half precision (a clamp to ``1 - 1e-7`` is 1 in bfloat16, so its
    log is -inf); in a float32 fit it changes nothing.
    """
    def cast(a):
        return a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        device = next((a.device.type for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)), "cpu")
        with torch.autocast(device_type=device, enabled=False):
            return fn(*map(cast, args), **{k: cast(v) for k, v in kwargs.items()})

    return wrapper


def seed_of(random_state) -> int:
    """The seed of a ``random_state`` parameter: ``None`` means 0 (fixed, so that a rerun repeats the numbers)."""
    return 0 if random_state is None else int(random_state)


@dataclass(frozen=True)
class FitStart:
    """What every fit sets up first (:func:`begin_fit`)."""

    seed: int
    device: torch.device
    precision: Precision
    generator: torch.Generator  # CPU generator of the batch order, seeded with ``seed``
    t0: float  # perf_counter() at the start


def begin_fit(estimator) -> FitStart:
    """Seed, device (``device=None``: CUDA when available), precision (``amp``, default float32) and start time
    of a fit of ``estimator`` (which has ``random_state`` and ``device``; ``random_state=None`` means seed 0)."""
    seed = seed_of(estimator.random_state)
    device = resolve_device(estimator.device)
    precision = resolve_precision(device, getattr(estimator, "amp", False))
    t0 = time.perf_counter()
    return FitStart(seed, device, precision, seed_everything(seed), t0)


def finish_fit(estimator, start: FitStart, history, X: np.ndarray) -> None:
    """Set the attributes every fitted estimator has: ``history_``, ``precision_``, ``epoch_seconds_`` (mean
    seconds of the epochs computed in this call), ``total_seconds_`` and ``n_features_in_``."""
    estimator.history_ = history
    estimator.precision_ = start.precision.name
    estimator.epoch_seconds_ = history.mean_epoch_seconds
    estimator.total_seconds_ = time.perf_counter() - start.t0
    estimator.n_features_in_ = int(np.prod(X.shape[1:]))


class GeneratorState:
    """Mixin of the augmentations: their random draws come from ``self.generator`` (a CPU generator), whose state
    :func:`run_epochs` checkpoints through :meth:`get_state`/:meth:`set_state`."""

    generator: torch.Generator

    def get_state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state)


def estimator_config(estimator, X: np.ndarray, *, skip: Sequence[str] = (), **extra) -> dict:
    """What defines a fit of ``estimator`` on ``X`` for the checkpoint hash: its parameters but those that do not
    change the numbers (``progress``, ``device``, ``checkpoint_path`` and ``skip``), its class and X's fingerprint,
    plus ``extra``."""
    drop = {"progress", "device", "checkpoint_path", *skip}
    cfg = {k: v for k, v in estimator.get_params(deep=False).items() if k not in drop}
    cfg.update(method=type(estimator).__name__, data=repro.data_fingerprint(X), **extra)
    return cfg


def check_fitted(estimator, attribute: str = "network_") -> None:
    """Raise :class:`clustlib.errors.NotFittedError` (scikit-learn's, and a ClustlibError) before ``fit``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"{type(estimator).__name__} is not fitted yet; call fit(X) first.")


# -- checkpoints -------------------------------------------------------------------------------------------------


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
    """``torch.save`` through :func:`clustlib._atomic.atomic_path`: a reader sees the old file or the new one."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


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


def check_checkpoint(path: str | os.PathLike, config: Mapping, *, fmt: int = CHECKPOINT_FORMAT,
                     ignore=(), upgradable=()) -> None:
    """Refuse, before any training, a checkpoint at ``path`` that another configuration or data wrote.

    Compares the configuration stored in the file with ``config`` on every key but ``ignore`` (what is only
    known once training started, such as the pretrained autoencoder's hash); :func:`load_checkpoint` still
    compares the whole hash when the run resumes. No file at ``path`` passes. A file in one of the
    ``upgradable`` formats passes too (its trainer rewrites it in format ``fmt`` before resuming).
    """
    if not Path(path).exists():
        return
    state = _read_checkpoint(path, map_location="cpu")
    stored, mine = state.get("config") or {}, _jsonable(config)
    differ = sorted(k for k in set(stored) | set(mine) if k not in ignore and stored.get(k) != mine.get(k))
    if state.get("format") not in (fmt, *upgradable) or differ:
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
    if state.get("format") != fmt:
        raise CheckpointMismatch(
            f"Checkpoint {path} has format {state.get('format')!r}, this clustlib reads format {fmt}; refusing to "
            "load it. Delete the file to start afresh."
        )
    if state.get("config_hash") != config_hash_:
        raise CheckpointMismatch(
            f"Checkpoint {path} was written by another configuration or data (its hash "
            f"{state.get('config_hash')!r}, this run {config_hash_!r}); refusing to load it. "
            "Delete the file to start afresh, or rerun with the configuration that wrote it."
        )
    return state


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
    values = {f.name: getattr(history, f.name) for f in fields(history)}
    return {name: list(v) for name, v in values.items() if isinstance(v, list)}


def _restore_history(history, saved: Mapping) -> None:
    for name, values in saved.items():
        setattr(history, name, [tuple(v) if isinstance(v, list) else v for v in values])


def write_checkpoint(path, payload: dict) -> None:
    """Write ``payload`` atomically to ``path`` (a hook point: tests interrupt a fit right after it)."""
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
    autocast_step: bool = True,
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
        A :class:`clustlib.deep.base.TrainHistory` (or subclass); ``epoch_seconds`` is filled here and
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
        Everything that defines the run (required with ``checkpoint_path``); the hash covers it and the precision.
    checkpoint_every : int, default=1
    desc : str
        Progress-bar label.
    progress : bool
        Show a ``tqdm`` bar.
    autocast_step : bool, default=True
        Run ``step`` inside ``precision.autocast()``; False when the step autocasts its own forward passes.

    Returns
    -------
    history
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise InvalidParameter(f"epochs must be an integer >= 0, got {epochs!r}.")
    if checkpoint_path is not None and config is None:
        raise InvalidParameter("checkpoint_path needs config (what defines the run) to guard resuming.")
    if hasattr(history, "precision"):
        history.precision = precision.name
    state = dict(state)
    if precision.scaler is not None:
        state["grad_scaler"] = precision.scaler
    # the precision changes the numbers: part of the hash, beside the configuration (which check_checkpoint compares)
    chash = None if config is None else config_hash({"config": config, "precision": precision.name})
    start = 0
    if checkpoint_path is not None and Path(checkpoint_path).exists():
        # on the CPU: generator states must be CPU tensors; modules and optimisers copy into their own device
        saved = load_checkpoint(checkpoint_path, chash, fmt=CHECKPOINT_FORMAT, map_location="cpu")
        for name, obj in state.items():
            _restore(obj, saved["state"][name])
        _restore_history(history, saved["history"])
        start = history.resumed_from = int(saved["epoch"])

    bar = tqdm(range(start, epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        with precision.autocast() if autocast_step else contextlib.nullcontext():
            records = step(epoch)
        for name, value in records.items():
            getattr(history, name).append(value)
        history.epoch_seconds.append(time.perf_counter() - t0)
        bar.set_postfix({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in records.items()
                         if isinstance(v, (int, float))})
        if checkpoint_path is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
            write_checkpoint(checkpoint_path, {
                "format": CHECKPOINT_FORMAT, "config_hash": chash, "config": _jsonable(config),
                "precision": precision.name, "epoch": epoch + 1,
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
    """Concatenate per-batch outputs: tensors, or tuples/dicts of them (nested), along the first axis."""
    first = outputs[0]
    if isinstance(first, Mapping):
        return {k: _cat([o[k] for o in outputs]) for k in first}
    if isinstance(first, tuple):
        return tuple(_cat(list(parts)) for parts in zip(*outputs))
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
