"""The loader contract: :func:`~clustlib.data.registry.load` hands a loader a :class:`LoadRequest` and gets
back a :class:`RawDataset` (labels now, pixels on demand).

Below the registry and every loader (:mod:`clustlib.data.folders`, :mod:`clustlib.data.catalog`), so they
share these types without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["LoadRequest", "RawDataset"]


@dataclass(frozen=True)
class LoadRequest:
    """What :func:`load` asks a loader for (arguments already validated).

    Attributes
    ----------
    name : str
    root : Path
        The resolved data root.
    split : {"train", "test", "all"}
    image_size : (int, int) or None
        Target (height, width); None keeps the native size of fixed-size datasets.
    resample : str
        Interpolation name (see :data:`clustlib.data.transforms.RESAMPLE`).
    n_jobs : int
        Decoding threads for image trees.
    progress : bool
        Show progress bars.
    """

    name: str
    root: Path
    split: str
    image_size: tuple | None
    resample: str
    n_jobs: int
    progress: bool


@dataclass(frozen=True)
class RawDataset:
    """Labels of a located dataset, with its pixels read on demand.

    Attributes
    ----------
    labels : ndarray of int64, shape (N,)
    classes : tuple of str
    source : str
        Provenance: the files (or library) the data comes from.
    read : callable
        ``read(indices)`` returns uint8 images (n, H, W, C) for sorted row ``indices``
        (or all N rows for None), already at the requested ``image_size`` when the loader resizes.
    """

    labels: np.ndarray
    classes: tuple
    source: str
    read: Callable

    @classmethod
    def from_arrays(cls, images: np.ndarray, labels: np.ndarray, classes, source: str) -> "RawDataset":
        """Wrap arrays already in memory."""
        return cls(np.asarray(labels, dtype=np.int64), tuple(classes), source,
                   lambda idx: images if idx is None else images[idx])
