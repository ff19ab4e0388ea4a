"""Per-sample random affine augmentation of whole mini-batches on the training device.

The ClustPy benchmark's augmentation experiment (Table IV) applies torchvision's
``RandomAffine(degrees=16, translate=(0.1, 0.1), shear=8, fill=0)`` to every grey image, one
independent draw per sample, inside a ``DataLoader``. Applied to a batch tensor, torchvision's
transform draws *one* set of parameters for the whole batch; :class:`RandomAffineBatch` draws one
per sample (same distributions as torchvision) and warps the batch with a single
``affine_grid``/``grid_sample`` call, so it runs on the GPU without a per-sample Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from clustlib.deep.engine import GeneratorState
from clustlib.errors import InvalidParameter

__all__ = ["RandomAffineBatch", "AUGMENTATIONS", "affine_thetas", "make_augmentation", "rgb_to_grey", "rgb_to_hsv",
           "hsv_to_rgb"]

#: Named augmentations a deep clusterer accepts (``augmentation=`` parameter).
AUGMENTATIONS = ("affine",)
#: ITU-R 601 luma weights of R, G, B (PIL's and torchvision's grey conversion).
_LUMA = (0.299, 0.587, 0.114)


class RandomAffineBatch(GeneratorState):
    """Random rotation, translation and x-shear, drawn independently for every sample of a batch.

    Parameters
    ----------
    image_shape : (H, W, C)
        Shape of one image. Flat inputs (B, H*W*C) are read in HWC order (as
        :func:`clustlib.deep.zscore_images` flattens); 4-d inputs are (B, C, H, W).
    degrees : float, default=16
        Rotation angle ~ U(-degrees, degrees).
    translate : float, default=0.1
        Shift ~ U(-translate*W, translate*W) pixels horizontally (H vertically), rounded to whole pixels.
    shear : float, default=8
        x-shear angle ~ U(-shear, shear) degrees.
    fill : float or sequence of float, default=0.0
        Value of pixels moved in from outside, per channel, in the units of the input (for
        z-scored images a black pixel is ``-mean / std``).
    seed : int, default=0
        Seeds the generator of the draws (its state can be saved with :meth:`get_state`).
    device : torch.device or str, default="cpu"

    Notes
    -----
    Nearest-neighbour sampling and rotation about the image centre, as torchvision's default.
    """

    def __init__(self, image_shape: Sequence[int], *, degrees: float = 16.0, translate: float = 0.1,
                 shear: float = 8.0, fill: float | Sequence[float] = 0.0, seed: int = 0,
                 device: torch.device | str = "cpu") -> None:
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise InvalidParameter(f"image_shape must be (H, W, C) with positive sizes, got {tuple(image_shape)}.")
        if degrees < 0 or shear < 0 or not 0 <= translate <= 1:
            raise InvalidParameter("degrees and shear must be >= 0 and translate in [0, 1].")
        self.image_shape = tuple(int(s) for s in image_shape)
        self.degrees, self.translate, self.shear = float(degrees), float(translate), float(shear)
        self.device = torch.device(device)
        c = self.image_shape[2]
        fill = np.broadcast_to(np.asarray(fill, dtype=np.float32).reshape(-1), (c,))
        self.fill = torch.as_tensor(np.array(fill), device=self.device).view(1, c, 1, 1)
        # CPU generator: the same draws on every device, and its state is a plain ByteTensor.
        self.generator = torch.Generator().manual_seed(int(seed))

    def __repr__(self) -> str:
        return (f"RandomAffineBatch(image_shape={self.image_shape}, degrees={self.degrees}, "
                f"translate={self.translate}, shear={self.shear})")

    def _thetas(self, b: int) -> torch.Tensor:
        """(B, 2, 3) ``affine_grid`` matrices of B independent draws."""
        h, w, _ = self.image_shape
        u = torch.rand(b, 4, generator=self.generator, dtype=torch.float64) * 2 - 1  # U(-1, 1)
        return affine_thetas(u[:, 0] * self.degrees, torch.round(u[:, 1] * self.translate * w),
                             torch.round(u[:, 2] * self.translate * h), u[:, 3] * self.shear, (h, w))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Augment a batch: (B, H*W*C) flat HWC or (B, C, H, W); returns the same shape and dtype."""
        h, w, c = self.image_shape
        flat = x.ndim == 2
        if flat:
            if x.shape[1] != h * w * c:
                raise InvalidParameter(f"augmentation expects {h * w * c} features per sample ({h}x{w}x{c}), "
                                       f"got {x.shape[1]}; pass the image_shape of the data.")
            img = x.view(-1, h, w, c).permute(0, 3, 1, 2)
        else:
            img = x
        theta = self._thetas(img.shape[0]).to(img.device)
        grid = F.affine_grid(theta, list(img.shape), align_corners=False)
        fill = self.fill.to(img.device, img.dtype)
        out = F.grid_sample(img - fill, grid.to(img.dtype), mode="nearest", padding_mode="zeros",
                            align_corners=False) + fill
        if flat:
            return out.permute(0, 2, 3, 1).reshape(x.shape)
        return out


def affine_thetas(angle: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor, shear: torch.Tensor,
                  size: tuple[int, int]) -> torch.Tensor:
    """``affine_grid`` matrices (B, 2, 3) of torchvision's ``affine`` with scale 1 and x-shear only.

    Parameters
    ----------
    angle, shear : (B,) float64 tensors
        Rotation and x-shear in degrees (torchvision's sign conventions).
    tx, ty : (B,) float64 tensors
        Translation in pixels.
    size : (H, W)

    Returns
    -------
    torch.Tensor, float32, shape (B, 2, 3)
        Maps output to input coordinates in ``[-1, 1]`` units (``align_corners=False``).
    """
    h, w = size
    rot, sx = torch.deg2rad(angle), torch.deg2rad(shear)
    cos_a, sin_a, tan_s = torch.cos(rot), torch.sin(rot), torch.tan(sx)
    m = torch.zeros(angle.shape[0], 3, 3, dtype=torch.float64)
    # Forward map about the image centre: translate @ rotate @ [[1, -tan(s)], [0, 1]].
    m[:, 0, 0], m[:, 0, 1] = cos_a, -cos_a * tan_s - sin_a
    m[:, 1, 0], m[:, 1, 1] = sin_a, -sin_a * tan_s + cos_a
    m[:, 0, 2], m[:, 1, 2], m[:, 2, 2] = tx, ty, 1.0
    inv = torch.linalg.inv(m)  # output pixel offset -> input pixel offset
    scale = torch.tensor([w / 2.0, h / 2.0], dtype=torch.float64)  # pixels per normalised unit
    theta = inv[:, :2, :2] * scale.view(1, 1, 2) / scale.view(1, 2, 1)
    shift = inv[:, :2, 2] / scale.view(1, 2)
    return torch.cat([theta, shift.unsqueeze(2)], dim=2).to(torch.float32)


def make_augmentation(name: str | None, image_shape, *, fill=0.0, seed: int = 0, device="cpu"):
    """The augmentation called ``name`` (one of :data:`AUGMENTATIONS`), or None for ``name=None``."""
    if name is None:
        return None
    if name not in AUGMENTATIONS:
        raise InvalidParameter(f"augmentation must be None or one of {AUGMENTATIONS}, got {name!r}.")
    if image_shape is None:
        raise InvalidParameter("augmentation needs image_shape=(H, W, C) to see images in flat inputs.")
    return RandomAffineBatch(image_shape, fill=fill, seed=seed, device=device)


def rgb_to_grey(x: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma of (B, 3, H, W) RGB in [0, 1] (torchvision's ``rgb_to_grayscale``); returns (B, 1, H, W)."""
    w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)  # (B, 1, H, W)


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> HSV in [0, 1] (torchvision's tensor colour-jitter conversion)."""
    r, g, b = x.unbind(1)
    maxc, minc = x.max(1).values, x.min(1).values
    cr = maxc - minc
    s = cr / torch.where(maxc == 0, torch.ones_like(maxc), maxc)
    crd = torch.where(cr == 0, torch.ones_like(cr), cr)
    rc, gc, bc = (maxc - r) / crd, (maxc - g) / crd, (maxc - b) / crd
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(cr == 0, torch.zeros_like(h), h)
    return torch.stack([(h / 6.0) % 1.0, s, maxc], 1)


def hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_hsv`: (B, 3, H, W) HSV in [0, 1] -> RGB."""
    h, s, v = x.unbind(1)
    i = torch.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.long() % 6
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    choices = torch.stack([torch.stack(c, 1) for c in
                           ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))], 0)  # (6, B, 3, H, W)
    idx = i[None, :, None].expand(1, *choices.shape[1:])
    return choices.gather(0, idx)[0]
