"""What every deep estimator shares, whatever its family: parameter checks, the input check, k-means, the
per-epoch history, the data fingerprint of checkpoints, and the base of the image clusterers (DAC, MMDC).

numpy and scikit-learn only (no torch), so the lightest family module can import it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans

from clustlib.errors import InvalidParameter
from clustlib.repro import data_fingerprint  # noqa: F401 - re-exported (the families import it from here)

__all__ = ["store_init_args", "check_n_clusters", "is_int", "is_finite_number", "check_inputs", "kmeans", "data_fingerprint",
           "TrainHistory", "ImageClusterer"]


def store_init_args(estimator, args: dict) -> None:
    """Set every parameter of ``type(estimator).__init__`` as an attribute of the same name, from ``args``
    (the constructor's ``locals()``): scikit-learn's contract, without one assignment line per parameter."""
    for name in inspect.signature(type(estimator).__init__).parameters:
        if name != "self":
            setattr(estimator, name, args[name])


def is_int(v, minimum: int) -> bool:
    """``v`` is an integer (not a bool) >= ``minimum``: the parameter checks of every estimator."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum


def is_finite_number(v) -> bool:
    """``v`` is a finite int or float (not a bool)."""
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool) and bool(np.isfinite(v))


def check_n_clusters(k, n_samples: int, owner: str) -> int:
    """``k`` as an int after checking it is given and in [2, ``n_samples``]; ``owner`` names the estimator."""
    if k is None:
        raise InvalidParameter(f"n_clusters is required: {owner}(n_clusters=K, ...).")
    if not is_int(k, 2) or k > n_samples:
        raise InvalidParameter(f"n_clusters must be an integer in [2, number of samples = {n_samples}], got {k!r}.")
    return int(k)


def check_inputs(X, ndims: tuple[int, ...], expected: str) -> np.ndarray:
    """``X`` as a C-contiguous float32 array after checking rank (one of ``ndims``), N >= 2, numbers, finiteness.

    ``expected`` describes the accepted shapes in the error message (e.g. ``"(N, C, H, W) images"``).
    """
    X = np.asarray(X)
    if X.ndim not in ndims or X.shape[0] < 2:
        raise InvalidParameter(f"X must have shape {expected}, with N >= 2; got {X.shape}.")
    if not np.issubdtype(X.dtype, np.number):
        raise InvalidParameter(f"X must be numeric, got dtype {X.dtype}.")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if not np.all(np.isfinite(X)):
        raise InvalidParameter("X holds NaN or infinite values; clean or impute them first.")
    return X


def kmeans(Z: np.ndarray, n_clusters: int, n_init: int, seed: int) -> KMeans:
    """scikit-learn k-means with k-means++ and a pinned ``n_init``."""
    return KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit(np.asarray(Z, dtype=np.float64))


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


class ImageClusterer(ClusterMixin, BaseEstimator):
    """Base of the image clusterers that train one network from scratch (DAC, MMDC): named presets, the
    (N, C, H, W) input check and ``fit`` (check, resolve, :meth:`_fit`). A subclass sets ``_presets`` to its
    family's ``PRESETS``.

    Parameters every subclass takes
    -------------------------------
    device : str, optional
        None: the first CUDA device when there is one, else the CPU.
    random_state : int, optional
        Seed of everything random in the fit (None -> 0). Same seed, same numbers on the CPU.
    progress : bool, default=True
        A ``tqdm`` bar over the epochs.
    checkpoint_path : path, optional
        Written atomically after every epoch; resumed when it matches this configuration and data, refused
        (:class:`clustlib.errors.CheckpointMismatch`) otherwise.
    amp : {False, True, "bfloat16", "float16"}, default=False
        Mixed precision (:func:`clustlib.deep.engine.resolve_precision`): False trains in float32; True uses
        bfloat16 (float16 with a loss scaler on CUDA devices without bfloat16).

    Attributes
    ----------
    (set by every subclass's ``fit``, :func:`clustlib.deep.engine.finish_fit`)
    precision_ : str
        "float32", "bfloat16" or "float16": what the fit trained in.
    epoch_seconds_, total_seconds_ : float
        Mean seconds per computed epoch, and of the whole fit.
    n_features_in_ : int
    """

    _presets: dict[str, dict] = {}

    @classmethod
    def from_preset(cls, preset: str, n_clusters: int | None = None, **overrides):
        """An estimator with the settings of ``preset`` (a key of its module's ``PRESETS``), then ``overrides``."""
        if preset not in cls._presets:
            raise InvalidParameter(f"Unknown {cls.__name__} preset {preset!r}; valid: {sorted(cls._presets)}.")
        return cls(n_clusters, **{**cls._presets[preset], **overrides})

    def _check_X(self, X) -> np.ndarray:
        return check_inputs(X, (4,), "(N, C, H, W) images (reshape flat rows first, e.g. X.reshape(-1, 1, 28, 28))")

    def fit(self, X, y=None):
        """Train on ``X``, (N, C, H, W) images prepared as the class says, after checking every parameter against
        it (before any compute); ``y`` is ignored. Returns ``self`` with ``labels_`` (N,) int64."""
        from clustlib.deep.engine import begin_fit  # torch: imported when a network is trained, not before

        X = self._check_X(X)
        r = self._resolved(X)
        self._fit(X, r, begin_fit(self))
        return self

    def _fit(self, X: np.ndarray, r: dict, start) -> None:
        """Train on the checked X with the resolved settings ``r`` from ``start`` (:func:`~clustlib.deep.engine.
        begin_fit`: seed, device, precision, generator); set the fitted attributes."""
        raise NotImplementedError
