"""The in-memory image dataset every study starts from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from clustlib.errors import InvalidParameter

__all__ = ["ImageSet"]


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Images with ground-truth labels.

    Attributes
    ----------
    name : str
        Canonical dataset name (``"digits"``, ``"fashion_mnist"``, ``"folder:/x"``...).
    images : ndarray of uint8, shape (N, H, W, C)
        Pixel values in [0, 255]; C is 1 (grey) or 3 (RGB).
    labels : ndarray of int64, shape (N,)
        Class index in ``[0, len(classes))``.
    classes : tuple of str
        Class names, indexed by label.
    source : str
        Where the pixels came from (file paths or library), for provenance.
    split : str
        ``"train"``, ``"test"`` or ``"all"``.
    """

    name: str
    images: np.ndarray
    labels: np.ndarray
    classes: tuple
    source: str
    split: str = "all"
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
            raise InvalidParameter(
                f"ImageSet {self.name!r}: images must be a uint8 array of shape (N, H, W, C); got "
                f"{getattr(images, 'dtype', type(images).__name__)} with shape {getattr(images, 'shape', None)}. "
                "Convert with np.asarray(x, dtype=np.uint8) and add a channel axis for grey images."
            )
        if images.shape[-1] not in (1, 3):
            raise InvalidParameter(
                f"ImageSet {self.name!r}: images must have 1 or 3 channels last; got shape {images.shape}."
            )
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise InvalidParameter(
                f"ImageSet {self.name!r}: labels must have shape ({images.shape[0]},), got {labels.shape}."
            )
        if len(labels) == 0:
            raise InvalidParameter(f"ImageSet {self.name!r} is empty: it holds no images.")
        labels = labels.astype(np.int64, copy=False)
        if labels.min() < 0 or labels.max() >= len(self.classes):
            raise InvalidParameter(
                f"ImageSet {self.name!r}: labels must lie in [0, {len(self.classes)}) (one per class name)."
            )
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "fingerprint", _fingerprint(images, labels))

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of classes K."""
        return len(self.classes)

    @property
    def image_shape(self) -> tuple:
        """(H, W, C) of every image."""
        return tuple(self.images.shape[1:])

    def take(self, indices: np.ndarray, *, name: str | None = None) -> "ImageSet":
        """A new ImageSet with the rows ``indices`` (in that order)."""
        indices = np.asarray(indices, dtype=np.int64)
        return ImageSet(
            name=name or self.name,
            images=self.images[indices],
            labels=self.labels[indices],
            classes=self.classes,
            source=self.source,
            split=self.split,
        )

    def flat_pixels(self) -> np.ndarray:
        """Raw pixels as float32 (N, H*W*C) in [0, 1], the paper's pixel baseline input."""
        return self.images.reshape(len(self), -1).astype(np.float32) / 255.0

    def __repr__(self) -> str:
        return (
            f"ImageSet({self.name!r}, split={self.split!r}, n={len(self)}, shape={self.image_shape}, "
            f"classes={self.n_classes}, fingerprint={self.fingerprint[:12]})"
        )


def _fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 over shape, pixels and labels: equal content gives an equal key for every cache."""
    digest = hashlib.sha256()
    digest.update(repr(images.shape).encode())
    digest.update(np.ascontiguousarray(images).data)
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).data)
    return digest.hexdigest()
