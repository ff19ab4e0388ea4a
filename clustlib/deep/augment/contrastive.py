"""Contrastive Clustering's augmentation (the authors' torchvision pipeline) on whole batches."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from clustlib.deep.augment.affine import hsv_to_rgb, rgb_to_grey, rgb_to_hsv
from clustlib.deep.engine import GeneratorState
from clustlib.errors import InvalidParameter

__all__ = ["ContrastiveAugment", "resize_images"]

def resize_images(x: torch.Tensor, size: int) -> torch.Tensor:
    """CC's test transform on tensors: ``Resize((size, size))`` (bilinear, antialiased when shrinking)."""
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                         antialias=bool(size < max(x.shape[-2:])))


class ContrastiveAugment(GeneratorState):
    """CC's training transform, drawn independently for every image of a (B, 3, H, W) batch in [0, 1].

    RandomResizedCrop(size, scale, ratio) -> horizontal flip (p ``flip_p``) -> ColorJitter(0.8 s,
    0.8 s, 0.8 s, 0.2 s) in a random order of its four operations, applied with p ``jitter_p`` ->
    grayscale (p ``grayscale_p``) -> Gaussian blur (kernel ``blur_kernel``, sigma ~ U(0.1, 2.0),
    p ``blur_p``) when ``blur``. No mean/std normalisation.

    Parameters
    ----------
    size : int
        Output height = width (CC: 224).
    color_strength : float, default=0.5
        s (CC: 0.5 for CIFAR and Tiny-ImageNet, 1.0 with blur for ImageNet-10/dogs).
    blur : bool, default=False
    crop_scale : (float, float), default=(0.08, 1.0)
        Range of the crop's area as a fraction of the image.
    crop_ratio : (float, float), default=(3/4, 4/3)
        Range of the crop's aspect ratio (drawn log-uniformly).
    flip_p, jitter_p, grayscale_p, blur_p : float
        Probabilities (0.5, 0.8, 0.2, 0.5).
    blur_kernel : int, default=23
        Odd kernel width of the blur (CC's cv2 kernel); reflect-101 borders as cv2.
    seed : int, default=0
        Seeds the CPU generator of the draws (state via :meth:`get_state`/:meth:`set_state`).

    Notes
    -----
    Crop, flip and resize are one ``affine_grid``/``grid_sample`` (bilinear) per batch; torchvision
    resizes a PIL crop with an antialiasing filter, so pixels differ slightly when a crop shrinks.
    A crop is drawn by torchvision's rule: up to 10 tries of (area, ratio), the first that fits, else a
    centre crop clamped to the ratio range.
    """

    def __init__(self, size: int, *, color_strength: float = 0.5, blur: bool = False,
                 crop_scale: tuple[float, float] = (0.08, 1.0), crop_ratio: tuple[float, float] = (3 / 4, 4 / 3),
                 flip_p: float = 0.5, jitter_p: float = 0.8, grayscale_p: float = 0.2, blur_p: float = 0.5,
                 blur_kernel: int = 23, seed: int = 0) -> None:
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
            raise InvalidParameter(f"size must be a positive integer, got {size!r}.")
        if not 0 <= color_strength <= 1.25:
            raise InvalidParameter(f"color_strength must lie in [0, 1.25] (brightness factor 1 - 0.8 s >= 0), "
                                   f"got {color_strength!r}.")
        if len(crop_scale) != 2 or not 0 < crop_scale[0] <= crop_scale[1] <= 1:
            raise InvalidParameter(f"crop_scale must be (low, high) with 0 < low <= high <= 1, got {crop_scale!r}.")
        if len(crop_ratio) != 2 or not 0 < crop_ratio[0] <= crop_ratio[1]:
            raise InvalidParameter(f"crop_ratio must be (low, high) with 0 < low <= high, got {crop_ratio!r}.")
        for name, p in (("flip_p", flip_p), ("jitter_p", jitter_p), ("grayscale_p", grayscale_p), ("blur_p", blur_p)):
            if not 0 <= p <= 1:
                raise InvalidParameter(f"{name} must be a probability in [0, 1], got {p!r}.")
        if not isinstance(blur_kernel, (int, np.integer)) or blur_kernel < 1 or blur_kernel % 2 == 0:
            raise InvalidParameter(f"blur_kernel must be an odd positive integer, got {blur_kernel!r}.")
        self.size, self.color_strength, self.blur = int(size), float(color_strength), bool(blur)
        self.crop_scale = (float(crop_scale[0]), float(crop_scale[1]))
        self.crop_ratio = (float(crop_ratio[0]), float(crop_ratio[1]))
        self.flip_p, self.jitter_p, self.grayscale_p, self.blur_p = map(float, (flip_p, jitter_p, grayscale_p, blur_p))
        self.blur_kernel = int(blur_kernel)
        self.generator = torch.Generator().manual_seed(int(seed))

    def __repr__(self) -> str:
        return (f"ContrastiveAugment(size={self.size}, color_strength={self.color_strength}, blur={self.blur}, "
                f"crop_scale={self.crop_scale}, crop_ratio={self.crop_ratio}, flip_p={self.flip_p}, "
                f"jitter_p={self.jitter_p}, grayscale_p={self.grayscale_p})")

    def _rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=self.generator, dtype=torch.float64)

    def crop_boxes(self, b: int, h: int, w: int) -> torch.Tensor:
        """(B, 4) int64 boxes (top, left, height, width) by torchvision's RandomResizedCrop rule."""
        tries = 10
        area = h * w * (self.crop_scale[0] + (self.crop_scale[1] - self.crop_scale[0]) * self._rand(b, tries))
        lo, hi = math.log(self.crop_ratio[0]), math.log(self.crop_ratio[1])
        ratio = torch.exp(lo + (hi - lo) * self._rand(b, tries))
        cw = torch.round(torch.sqrt(area * ratio)).long()  # (B, tries)
        ch = torch.round(torch.sqrt(area / ratio)).long()
        ok = (cw > 0) & (cw <= w) & (ch > 0) & (ch <= h)
        first = torch.where(ok.any(1), ok.long().argmax(1), torch.full((b,), -1))
        # fallback: a centre crop of the whole image clamped to the ratio range
        in_ratio = w / h
        if in_ratio < self.crop_ratio[0]:
            fw, fh = w, int(round(w / self.crop_ratio[0]))
        elif in_ratio > self.crop_ratio[1]:
            fw, fh = int(round(h * self.crop_ratio[1])), h
        else:
            fw, fh = w, h
        pick = first.clamp_min(0)[:, None]
        bh = torch.where(first >= 0, ch.gather(1, pick)[:, 0], torch.full((b,), fh))
        bw = torch.where(first >= 0, cw.gather(1, pick)[:, 0], torch.full((b,), fw))
        u = self._rand(b, 2)
        top = torch.where(first >= 0, torch.floor(u[:, 0] * (h - bh + 1)).long(), torch.full((b,), (h - fh) // 2))
        left = torch.where(first >= 0, torch.floor(u[:, 1] * (w - bw + 1)).long(), torch.full((b,), (w - fw) // 2))
        return torch.stack([top, left, bh, bw], 1)

    def _crop_flip_resize(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        top, left, bh, bw = self.crop_boxes(b, h, w).double().unbind(1)
        flip = self._rand(b) < self.flip_p
        theta = torch.zeros(b, 2, 3, dtype=torch.float64)
        theta[:, 0, 0] = torch.where(flip, -bw / w, bw / w)
        theta[:, 1, 1] = bh / h
        theta[:, 0, 2] = (2 * left + bw) / w - 1  # box centre in normalised coordinates
        theta[:, 1, 2] = (2 * top + bh) / h - 1
        grid = F.affine_grid(theta.to(x.device, x.dtype), [b, x.shape[1], self.size, self.size], align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def _jitter(self, x: torch.Tensor) -> torch.Tensor:
        """ColorJitter(0.8 s, 0.8 s, 0.8 s, 0.2 s), random order per image, applied with p ``jitter_p``."""
        b, s = x.shape[0], self.color_strength
        bcs = 0.8 * s
        lo = max(0.0, 1 - bcs)
        factors = torch.cat([lo + (1 + bcs - lo) * self._rand(b, 3), 0.2 * s * (2 * self._rand(b, 1) - 1)], 1)
        factors = factors.to(x.device, x.dtype)  # (B, 4): brightness, contrast, saturation, hue
        order = torch.argsort(self._rand(b, 4), 1).to(x.device)  # (B, 4): the op applied at each step
        apply = (self._rand(b) < self.jitter_p).to(x.device).view(-1, 1, 1, 1)
        y = x
        for step in range(4):
            op = order[:, step]
            f = factors.gather(1, op[:, None])[:, 0].view(-1, 1, 1, 1)  # (B, 1, 1, 1)
            bright = (y * f).clamp(0, 1)
            mean = rgb_to_grey(y).mean((2, 3), keepdim=True)
            contrast = (f * y + (1 - f) * mean).clamp(0, 1)
            saturation = (f * y + (1 - f) * rgb_to_grey(y)).clamp(0, 1)
            hsv = rgb_to_hsv(y)
            hue = hsv_to_rgb(torch.cat([(hsv[:, :1] + f) % 1.0, hsv[:, 1:]], 1))
            out = torch.stack([bright, contrast, saturation, hue], 0)  # (4, B, C, H, W)
            y = out.gather(0, op.view(1, -1, 1, 1, 1).expand(1, *y.shape))[0]
        return torch.where(apply, y, x)

    def _gaussian_blur(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        k = self.blur_kernel
        sigma = (0.1 + 1.9 * self._rand(b)).to(x.device, x.dtype)  # (B,)
        apply = (self._rand(b) < self.blur_p).to(x.device).view(-1, 1, 1, 1)
        r = torch.arange(k, device=x.device, dtype=x.dtype) - (k - 1) / 2
        kern = torch.exp(-r[None] ** 2 / (2 * sigma[:, None] ** 2))
        kern = (kern / kern.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*C, k)
        pad = k // 2
        mode = "reflect" if pad < min(h, w) else "replicate"  # cv2's BORDER_REFLECT_101 where it fits
        y = F.pad(x.reshape(1, b * c, h, w), (pad, pad, pad, pad), mode=mode)
        y = F.conv2d(y, kern.view(b * c, 1, 1, k), groups=b * c)
        y = F.conv2d(y, kern.view(b * c, 1, k, 1), groups=b * c).view(b, c, h, w)
        return torch.where(apply, y, x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """One augmented view: (B, 3, H, W) in [0, 1] -> (B, 3, size, size) in [0, 1]."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise InvalidParameter(f"ContrastiveAugment takes (B, 3, H, W) RGB batches, got {tuple(x.shape)}.")
        y = self._crop_flip_resize(x)
        y = self._jitter(y)
        grey = (self._rand(y.shape[0]) < self.grayscale_p).to(y.device).view(-1, 1, 1, 1)
        y = torch.where(grey, rgb_to_grey(y).expand_as(y), y)
        if self.blur:
            y = self._gaussian_blur(y)
        return y
