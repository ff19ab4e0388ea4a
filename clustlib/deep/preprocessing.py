"""Input normalisation of the ClustPy benchmark: z-scores per channel or over the whole set."""

from __future__ import annotations

import numpy as np

from clustlib.errors import InvalidParameter

__all__ = ["zscore_images", "NORMALIZATIONS"]

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
        mean = x.mean(axis=(0, 1, 2), dtype=np.float64)
        std = x.std(axis=(0, 1, 2), dtype=np.float64)
        x = (x - mean.astype(np.float32)) / np.where(std > 0, std, 1.0).astype(np.float32)
    elif normalization == "global":
        mean, std = x.mean(dtype=np.float64), x.std(dtype=np.float64)
        x = (x - np.float32(mean)) / np.float32(std if std > 0 else 1.0)
    if flatten:
        return np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)
