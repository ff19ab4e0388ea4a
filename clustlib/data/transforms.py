"""Deterministic image transforms on uint8 (N, H, W, C) arrays: resizing and channel handling.

Resizing follows the Keras ``load_img(target_size=...)`` behaviour the pretrained-feature paper
used: every image is stretched to the target size, ignoring its aspect ratio, with no cropping.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from clustlib.errors import InvalidParameter

__all__ = ["RESAMPLE", "check_resample", "check_image_size", "resize_image", "resize_images", "to_rgb"]

#: Interpolation names accepted by ``resample=``, mapped to Pillow's filters.
RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,  # Keras load_img's default
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}


def check_resample(resample: str) -> Image.Resampling:
    """Pillow's filter for ``resample``, or :class:`InvalidParameter` listing the valid names."""
    if not isinstance(resample, str) or resample not in RESAMPLE:
        raise InvalidParameter(
            f"resample={resample!r} is not an interpolation clustlib knows; use one of {', '.join(RESAMPLE)}."
        )
    return RESAMPLE[resample]


def check_image_size(image_size, *, allow_none: bool = True) -> tuple[int, int] | None:
    """Validate ``image_size`` (an int S for S x S, or a (height, width) pair) and return (H, W)."""
    if image_size is None and allow_none:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        size = (int(image_size), int(image_size))
    elif (isinstance(image_size, (tuple, list)) and len(image_size) == 2
          and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in image_size)):
        size = (int(image_size[0]), int(image_size[1]))
    else:
        raise InvalidParameter(
            f"image_size={image_size!r} must be a positive int S (for S x S pixels) or a (height, width) pair"
            + (", or None for the dataset's default." if allow_none else ".")
        )
    if min(size) < 1:
        raise InvalidParameter(f"image_size={image_size!r} must be positive.")
    return size


def resize_image(image: Image.Image, size: tuple[int, int], resample: str = "bilinear") -> np.ndarray:
    """Stretch one PIL image to ``size`` = (height, width), aspect ratio ignored, as a uint8 (H, W, C) array."""
    filt = check_resample(resample)
    height, width = size
    if image.size != (width, height):
        image = image.resize((width, height), resample=filt)
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def resize_images(images: np.ndarray, image_size, resample: str = "bilinear") -> np.ndarray:
    """Resize a uint8 batch (N, H, W, C) to (N, H', W', C), image by image with Pillow.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, H, W, C), C in {1, 3}
    image_size : int or (int, int)
        Target S (square) or (height, width); aspect ratio is not kept (Keras ``load_img`` style).
    resample : {"nearest", "bilinear", "bicubic", "lanczos", "box"}

    Returns
    -------
    ndarray of uint8, shape (N, H', W', C)
        The input itself when it already has the target size.
    """
    size = check_image_size(image_size, allow_none=False)
    check_resample(resample)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise InvalidParameter(f"images must be uint8 (N, H, W, C) with C in (1, 3); got {images.dtype} "
                               f"{images.shape}.")
    if tuple(images.shape[1:3]) == size:
        return images
    out = np.empty((images.shape[0], *size, images.shape[-1]), dtype=np.uint8)
    grey = images.shape[-1] == 1
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if grey else image)
        out[i] = resize_image(pil, size, resample)
    return out


def to_rgb(images: np.ndarray) -> np.ndarray:
    """Replicate a grey channel three times: (N, H, W, 1) -> (N, H, W, 3); RGB input is returned as is."""
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise InvalidParameter(f"images must have shape (N, H, W, C) with C in (1, 3); got {images.shape}.")
    if images.shape[-1] == 3:
        return images
    return np.repeat(images, 3, axis=-1)
