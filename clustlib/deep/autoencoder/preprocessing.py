"""Input normalisation of the ClustPy benchmark: z-scores per channel or over the whole set."""

from __future__ import annotations

import numpy as np

from clustlib.errors import InvalidParameter

__all__ = ["zscore_images", "blank_pixel_value", "NORMALIZATIONS"]

#: ``"channel"``: one mean/std per colour channel (ClustPy's ``normalize_channels=True``, used for
#: MNIST, USPS, (K/F)MNIST, CIFAR10, ImageNet10/Dog). ``"global"``: one scalar mean/std (ClustPy's
#: Optdigits). ``"none"``: pixels / 255.
NORMALIZATIONS = ("channel", "global", "none")


def zscore_images(images: np.ndarray, normalization: str = "channel", *, flatten: bool = True) -> np.ndarray:
    """Turn uint8 images into the float32 inputs the ClustPy benchmark feeds its autoencoders.

    Z-scores do not depend on the pixel scale, so normalising raw 0-255 values (ClustPy) and
    values in [0, 1] give the same numbers.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C)
        Pixels (uint8 in [0, 255], or floats), channels last as in :class:`clustlib.data.ImageSet`.
    normalization : {"channel", "global", "none"}, default="channel"
        See :data:`NORMALIZATIONS`.
    flatten : bool, default=True
        Return (N, H*W*C) in HWC order (ClustPy's order for the feed-forward AE); otherwise
        (N, C, H, W) for convolutional networks.

    Returns
    -------
    ndarray of float32, shape (N, H*W*C) or (N, C, H, W)

    References
    ----------
    Leiber et al., "Benchmarking Deep Clustering Algorithms With ClustPy", ICDMW 2023;
    https://github.com/collinleiber/BenchmarkingDeepClustering (``benchmark.py``).
    """
    if normalization not in NORMALIZATIONS:
        raise InvalidParameter(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}.")
    x = np.asarray(images)
    if x.ndim != 4:
        raise InvalidParameter(
            f"images must have shape (N, H, W, C); got {x.shape}. Add a channel axis to grey images: x[..., None]."
        )
    x = x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0)
    if normalization == "channel":
        mean, std = _stats(x, normalization)
        x = (x - mean.astype(np.float32)) / std.astype(np.float32)
    elif normalization == "global":
        mean, std = _stats(x, normalization)
        x = (x - np.float32(mean)) / np.float32(std)
    if flatten:
        return np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)


def _stats(x: np.ndarray, normalization: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (float64; per channel (C,) or scalar) used by the z-score; a zero std becomes 1."""
    axes = (0, 1, 2) if normalization == "channel" else None
    mean, std = x.mean(axis=axes, dtype=np.float64), x.std(axis=axes, dtype=np.float64)
    return np.asarray(mean), np.where(std > 0, std, 1.0)


def blank_pixel_value(images: np.ndarray, normalization: str = "channel") -> np.ndarray:
    """Where a black (0) pixel lands after :func:`zscore_images`: ``-mean / std``, one value per channel.

    Augmentations that move pixels in from outside the image fill them with this value, as
    torchvision's ``fill=0`` does on raw images before normalisation.

    Returns
    -------
    ndarray of float64, shape (C,)
    """
    if normalization not in NORMALIZATIONS:
        raise InvalidParameter(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}.")
    x = np.asarray(images)
    if x.ndim != 4:
        raise InvalidParameter(f"images must have shape (N, H, W, C); got {x.shape}.")
    if normalization == "none":
        return np.zeros(x.shape[3])
    mean, std = _stats(x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0), normalization)
    return np.broadcast_to(-mean / std, (x.shape[3],)).astype(np.float64)
