"""MMDC's augmentation (the thesis code's torchvision pipeline) on whole batches."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from clustlib.deep.augment.affine import hsv_to_rgb, rgb_to_grey, rgb_to_hsv
from clustlib.deep.engine import GeneratorState
from clustlib.errors import InvalidParameter

__all__ = ["MMDCAugment"]

class MMDCAugment(GeneratorState):
    """The code's torchvision pipelines, drawn independently for every image of a batch tensor.

    Parameters
    ----------
    image_size : int
        Height = width of the input images.
    crop_sizes : tuple of int
        Random crops pick one of these sizes per image; the centre crop uses the first.
    input_size : int
        Crops are resized (bilinear) to this size.
    flip : bool, default=False
        Random horizontal flip.
    color_jitter : bool, default=False
        ColorJitter(0.4, 0.4, 0.4, hue=0.125) in random order, then RandomGrayscale(0.2) (3 channels,
        pixels in [0, 1]).
    rotation_degrees : float, default=0
        Rotation ~ U(-degrees, degrees) about the centre, zero fill.
    seed : int, default=0
        Seeds the CPU generator of the draws (state via :meth:`get_state`/:meth:`set_state`).

    Notes
    -----
    Flip, rotation, crop and resize are one ``affine_grid``/``grid_sample`` (bilinear, zero
    padding) per batch. torchvision samples the rotation with nearest neighbours and resizes with
    PIL's bilinear filter, so pixels differ slightly; the geometry is the same.
    """

    def __init__(self, image_size: int, crop_sizes: tuple[int, ...], input_size: int, *, flip: bool = False,
                 color_jitter: bool = False, rotation_degrees: float = 0.0, seed: int = 0) -> None:
        if not crop_sizes or any(not 1 <= c <= image_size for c in crop_sizes):
            raise InvalidParameter(f"crop sizes must lie in [1, image size = {image_size}], got {crop_sizes!r}.")
        if rotation_degrees < 0:
            raise InvalidParameter(f"rotation_degrees must be >= 0, got {rotation_degrees!r}.")
        self.image_size, self.input_size = int(image_size), int(input_size)
        self.crop_sizes = tuple(int(c) for c in crop_sizes)
        self.flip, self.color_jitter, self.rotation_degrees = bool(flip), bool(color_jitter), float(rotation_degrees)
        self.generator = torch.Generator().manual_seed(int(seed))

    def __repr__(self) -> str:
        return (f"MMDCAugment(image_size={self.image_size}, crop_sizes={self.crop_sizes}, "
                f"input_size={self.input_size}, flip={self.flip}, color_jitter={self.color_jitter}, "
                f"rotation_degrees={self.rotation_degrees})")

    def _u(self, b: int, low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(b, generator=self.generator)

    def _crop_resize(self, x: torch.Tensor, sizes: torch.Tensor, tops: torch.Tensor, lefts: torch.Tensor,
                     angles: torch.Tensor | None = None, flips: torch.Tensor | None = None) -> torch.Tensor:
        """crop(rotate(flip(x))) resized to ``input_size``: one affine map per image (CPU tensors of (B,))."""
        b, s = x.shape[0], float(self.image_size)
        sizes = sizes.double()
        theta = torch.zeros(b, 2, 3, dtype=torch.float64)
        theta[:, 0, 0] = sizes / s
        theta[:, 1, 1] = sizes / s
        theta[:, 0, 2] = (2 * lefts.double() + sizes) / s - 1  # crop box centre in normalised coordinates
        theta[:, 1, 2] = (2 * tops.double() + sizes) / s - 1
        if angles is not None:
            a = torch.deg2rad(angles.double())
            rot = torch.stack([torch.stack([a.cos(), -a.sin()], 1), torch.stack([a.sin(), a.cos()], 1)], 1)  # (B,2,2)
            theta = rot @ theta
        if flips is not None:
            theta[:, 0] = torch.where(flips[:, None], -theta[:, 0], theta[:, 0])
        theta = theta.to(device=x.device, dtype=x.dtype)
        grid = F.affine_grid(theta, [b, x.shape[1], self.input_size, self.input_size], align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def _random_crop(self, b: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        choice = torch.randint(len(self.crop_sizes), (b,), generator=self.generator)
        sizes = torch.tensor(self.crop_sizes)[choice]
        span = (self.image_size - sizes + 1).double()
        tops = torch.floor(torch.rand(b, generator=self.generator, dtype=torch.float64) * span).long()
        lefts = torch.floor(torch.rand(b, generator=self.generator, dtype=torch.float64) * span).long()
        return sizes, tops, lefts

    def center(self, x: torch.Tensor) -> torch.Tensor:
        """CenterCrop(crop_sizes[0]) -> Resize(input_size): (B, C, S, S) -> (B, C, input_size, input_size)."""
        c = self.crop_sizes[0]
        off = int(round((self.image_size - c) / 2.0))
        if c == self.input_size:
            return x[:, :, off:off + c, off:off + c]
        crop = x[:, :, off:off + c, off:off + c]
        return F.interpolate(crop, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The clustering view: jitter/greyscale, flip, rotation, random crop, resize; (B, C, S, S) -> (B, C, s, s)."""
        b = x.shape[0]
        if self.color_jitter:
            x = self._jitter(x)
        flips = torch.rand(b, generator=self.generator) < 0.5 if self.flip else None
        angles = self._u(b, -self.rotation_degrees, self.rotation_degrees) if self.rotation_degrees > 0 else None
        return self._crop_resize(x, *self._random_crop(b), angles=angles, flips=flips)

    def rotnet(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """RotNet batch: each image rotated by 0/90/180/270 degrees, then its own random crop and resize.

        Returns images (4B, C, s, s), ordered image-major (image 0 at 4 angles, then image 1...), and
        rotation labels (4B,) in {0, 1, 2, 3} on x's device.
        """
        b = x.shape[0]
        x4 = torch.stack([torch.rot90(x, k, dims=(2, 3)) for k in range(4)], 1).flatten(0, 1)  # (4B, C, S, S)
        labels = torch.arange(4, device=x.device).repeat(b)
        return self._crop_resize(x4, *self._random_crop(4 * b)), labels

    def _jitter(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        g = self.generator
        factors = torch.stack([self._u(b, 0.6, 1.4), self._u(b, 0.6, 1.4), self._u(b, 0.6, 1.4),
                               self._u(b, -0.125, 0.125)], 1).to(x.device, x.dtype)  # (B, 4)
        order = torch.argsort(torch.rand(b, 4, generator=g), 1).to(x.device)  # (B, 4): op applied at each step
        view = (-1, 1, 1, 1)
        for step in range(4):
            op = order[:, step]
            f = factors.gather(1, op[:, None])[:, 0].view(view)  # (B, 1, 1, 1)
            bright = (x * f).clamp(0, 1)
            mean = rgb_to_grey(x).mean((2, 3), keepdim=True)
            contrast = (f * x + (1 - f) * mean).clamp(0, 1)
            saturation = (f * x + (1 - f) * rgb_to_grey(x)).clamp(0, 1)
            hsv = rgb_to_hsv(x)
            hsv = torch.cat([(hsv[:, :1] + f) % 1.0, hsv[:, 1:]], 1)
            hue = hsv_to_rgb(hsv)
            out = torch.stack([bright, contrast, saturation, hue], 0)  # (4, B, C, H, W)
            x = out.gather(0, op.view(1, -1, 1, 1, 1).expand(1, *x.shape))[0]
        grey = torch.rand(b, generator=g) < 0.2
        return torch.where(grey.to(x.device).view(view), rgb_to_grey(x).expand_as(x), x)
