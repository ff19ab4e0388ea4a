"""Keras 1's ``ImageDataGenerator`` as DAC's scripts (vector-1127/DAC) configure it, on whole batches."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from clustlib.deep.engine import GeneratorState
from clustlib.errors import InvalidParameter

__all__ = ["KerasImageAugment"]

class KerasImageAugment(GeneratorState):
    """Keras 1 ``ImageDataGenerator`` augmentation, drawn per sample and applied to a whole batch.

    Per image: rotation ~ U(-rotation, rotation) degrees, shifts ~ U(-shift, shift) x size, x and y
    zoom drawn independently from U(zoom), combined about the image centre and sampled with nearest
    neighbours and edge replication (Keras' ``order=0``, ``fill_mode='nearest'``); then one offset
    ~ U(-channel_shift, channel_shift) per channel, clipped to the image's own min and max; then a
    horizontal flip with probability 1/2 (``flip``); finally every pixel times ``rescale``.

    Parameters
    ----------
    rotation, shift, channel_shift, rescale : float
    zoom : (float, float)
    flip : bool
    seed : int, default=0
        Seeds the CPU generator of the draws (state via :meth:`get_state`/:meth:`set_state`).
    """

    def __init__(self, *, rotation: float = 10.0, shift: float = 0.1, channel_shift: float = 0.05,
                 rescale: float = 0.975, zoom: tuple[float, float] = (0.95, 1.05), flip: bool = False,
                 seed: int = 0) -> None:
        if rotation < 0 or not 0 <= shift < 1 or channel_shift < 0 or not rescale > 0:
            raise InvalidParameter("augmentation needs rotation >= 0, 0 <= shift < 1, channel_shift >= 0, rescale > 0.")
        if len(zoom) != 2 or not 0 < zoom[0] <= zoom[1]:
            raise InvalidParameter(f"zoom must be (low, high) with 0 < low <= high, got {zoom!r}.")
        self.rotation, self.shift, self.channel_shift = float(rotation), float(shift), float(channel_shift)
        self.rescale, self.zoom, self.flip = float(rescale), (float(zoom[0]), float(zoom[1])), bool(flip)
        self.generator = torch.Generator().manual_seed(int(seed))

    def __repr__(self) -> str:
        return (f"KerasImageAugment(rotation={self.rotation}, shift={self.shift}, channel_shift={self.channel_shift}, "
                f"rescale={self.rescale}, zoom={self.zoom}, flip={self.flip})")

    def thetas(self, b: int, h: int, w: int) -> torch.Tensor:
        """(B, 2, 3) ``affine_grid`` matrices (output -> input, normalised coordinates) of B draws."""
        u = torch.rand(b, 5, generator=self.generator, dtype=torch.float64)
        angle = torch.deg2rad((2 * u[:, 0] - 1) * self.rotation)
        tx, ty = (2 * u[:, 1] - 1) * self.shift * w, (2 * u[:, 2] - 1) * self.shift * h  # pixels
        lo, hi = self.zoom
        zx, zy = lo + (hi - lo) * u[:, 3], lo + (hi - lo) * u[:, 4]
        cos, sin = torch.cos(angle), torch.sin(angle)
        # input offset from the centre = R @ (Z @ output offset + t), in pixels, (x, y) order
        a = torch.stack([torch.stack([cos * zx, -sin * zy], 1), torch.stack([sin * zx, cos * zy], 1)], 1)  # (B,2,2)
        t = torch.stack([cos * tx - sin * ty, sin * tx + cos * ty], 1)  # (B, 2)
        half = torch.tensor([w / 2.0, h / 2.0], dtype=torch.float64)  # pixels per normalised unit
        theta = a * half.view(1, 1, 2) / half.view(1, 2, 1)
        return torch.cat([theta, (t / half).unsqueeze(2)], 2).to(torch.float32)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Augment a (B, C, H, W) batch; returns a new tensor of the same shape and dtype."""
        b, c, h, w = x.shape
        theta = self.thetas(b, h, w).to(x.device)
        grid = F.affine_grid(theta, [b, c, h, w], align_corners=False)
        out = F.grid_sample(x, grid.to(x.dtype), mode="nearest", padding_mode="border", align_corners=False)
        draws = torch.rand(b, c + 1, generator=self.generator)
        if self.channel_shift > 0:
            lo, hi = out.amin(dim=(1, 2, 3), keepdim=True), out.amax(dim=(1, 2, 3), keepdim=True)
            offset = ((2 * draws[:, :c] - 1) * self.channel_shift).to(x.device, x.dtype).view(b, c, 1, 1)
            out = torch.minimum(torch.maximum(out + offset, lo), hi)
        if self.flip:
            flip = (draws[:, c] < 0.5).to(x.device).view(b, 1, 1, 1)
            out = torch.where(flip, out.flip(3), out)
        return out * self.rescale
