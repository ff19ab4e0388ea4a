"""Turning uint8 image batches into the normalised tensors an ImageNet network expects.

The whole image is resized to the network's square input size without cropping, as the paper's
Keras code did (``image.load_img(target_size=...)``), so nothing at the border of a dataset image
is lost. Resizing runs in torch on whole batches (on the extraction device), not per image in PIL.

Only arrays are resized here (fixed-size datasets such as CIFAR-10 or digits, upsampled once). Images of an image
tree, which ``clustlib.data.load`` decodes at 224 px, reach a network of another input size (299 or 331 px) already
decoded from their files at that size (:func:`clustlib.features.extract`), so they are never resampled twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from clustlib.errors import InvalidParameter

__all__ = ["Preprocessing", "preprocess_batch", "IMAGENET_MEAN", "IMAGENET_STD", "INCEPTION_MEAN", "INCEPTION_STD"]

#: torchvision's ImageNet statistics (RGB, images scaled to [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: TensorFlow "inception" scaling to [-1, 1] (Xception, Inception-ResNet-v2, NASNet ports).
INCEPTION_MEAN = (0.5, 0.5, 0.5)
INCEPTION_STD = (0.5, 0.5, 0.5)

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area")


@dataclass(frozen=True)
class Preprocessing:
    """How pixels become network input.

    Parameters
    ----------
    size : int
        Side of the square input, in pixels (224, 299, 331...).
    interpolation : {"nearest", "bilinear", "bicubic", "area"}
        Resize kernel. Keras' ``load_img``, used by the paper's code, defaults to ``"nearest"``;
        the registry records the kernel the weights were evaluated with.
    mean, std : tuple of 3 floats
        Per-channel (RGB) statistics for images scaled to [0, 1]: ``x = (pixel / 255 - mean) / std``.
    antialias : bool
        Low-pass filter when shrinking (bilinear/bicubic only), like PIL.
    """

    size: int
    interpolation: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    antialias: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.size, (int, np.integer)) or isinstance(self.size, bool) or self.size < 1:
            raise InvalidParameter(f"Preprocessing.size must be a positive int (pixels), got {self.size!r}.")
        if self.interpolation not in _INTERPOLATIONS:
            raise InvalidParameter(
                f"interpolation must be one of {', '.join(_INTERPOLATIONS)}; got {self.interpolation!r}."
            )
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise InvalidParameter("Preprocessing mean and std must be 3 numbers each, std > 0.")
        object.__setattr__(self, "size", int(self.size))
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))

    def replace(self, **changes) -> "Preprocessing":
        """A copy with some fields changed (validated again)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict:
        """JSON-able form (part of the feature cache key and of run provenance)."""
        return asdict(self)


def preprocess_batch(
    images: np.ndarray,
    prep: Preprocessing,
    device: torch.device | str = "cpu",
    *,
    channels_last: bool = True,
) -> torch.Tensor:
    """Resize and normalise a batch of uint8 images.

    Parameters
    ----------
    images : ndarray of uint8, shape (B, H, W, C)
        C is 1 (grey, repeated to RGB) or 3 (RGB).
    prep : Preprocessing
        Target size, kernel and statistics.
    device : torch.device or str
        Where the work happens; the uint8 batch is moved first (4x less traffic than float).
    channels_last : bool
        Return NHWC memory layout (faster convolutions on CPU with oneDNN).

    Returns
    -------
    torch.Tensor of float32, shape (B, 3, size, size)
    """
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device, non_blocking=True)  # (B, H, W, C) uint8
    x = x.permute(0, 3, 1, 2).float()  # (B, C, H, W); channels-last memory, no copy of the layout
    if x.shape[-2:] != (prep.size, prep.size):
        kwargs = {}
        if prep.interpolation in ("bilinear", "bicubic"):
            kwargs = {"align_corners": False, "antialias": prep.antialias}
        x = F.interpolate(x, size=(prep.size, prep.size), mode=prep.interpolation, **kwargs)
        if prep.interpolation == "bicubic":
            x = x.clamp_(0.0, 255.0)  # bicubic overshoots; PIL clips to the uint8 range too
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)  # grey -> RGB after the resize: a third of the work
    mean = torch.tensor(prep.mean, dtype=torch.float32, device=x.device)
    std = torch.tensor(prep.std, dtype=torch.float32, device=x.device)
    scale = (1.0 / (255.0 * std)).view(1, 3, 1, 1)
    shift = (-mean / std).view(1, 3, 1, 1)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    out = torch.empty(x.shape, dtype=torch.float32, device=x.device, memory_format=memory_format)
    torch.addcmul(shift, x, scale, out=out)  # (B, 3, S, S): (x / 255 - mean) / std in one pass
    return out
