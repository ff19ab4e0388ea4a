"""The ResNet18 convolutional autoencoder of the ClustPy benchmark."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from clustlib.errors import InvalidParameter

__all__ = ["ResNet18Autoencoder"]


class _Up(nn.Module):
    """Nearest-neighbour resize to a scale factor or a fixed size."""

    def __init__(self, *, scale: int | None = None, size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.scale, self.size = scale, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size is not None:
            return F.interpolate(x, size=self.size, mode="nearest")
        return x if self.scale == 1 else F.interpolate(x, scale_factor=self.scale, mode="nearest")


def _resize_conv(cin: int, cout: int, scale: int, kernel: int) -> nn.Module:
    conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False)
    return conv if scale == 1 else nn.Sequential(_Up(scale=scale), conv)


class _DecoderBlock(nn.Module):
    """Mirror of a ResNet basic block: conv-BN-ReLU, (upsample+)conv-BN, skip, ReLU."""

    def __init__(self, cin: int, cout: int, scale: int = 1) -> None:
        super().__init__()
        self.conv1 = _resize_conv(cin, cin, 1, 3)
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv2 = _resize_conv(cin, cout, scale, 3)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = None
        if scale != 1 or cin != cout:
            self.skip = nn.Sequential(_resize_conv(cin, cout, scale, 1), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.skip is None else self.skip(x)))


class ResNet18Autoencoder(nn.Module):
    """ResNet18 encoder (ImageNet stem kept even for 32-px inputs) with a mirrored up-sampling decoder.

    Encoder: torchvision's ResNet18 body (7x7 stride-2 conv, max-pool, 4 stages, global average
    pool, 512 features; the first conv takes C channels) then one ``Linear(512, m)`` without
    activation. Decoder: ``Linear(m, 512)``, ``Linear(512, 512*4*4)``, a resize to (H/32, W/32),
    four stages of two residual blocks (512->256->128->64->64, each stage up-sampling x2), a final
    x2 resize and a 3x3 conv to C channels (linear output). Randomly initialised; no pretrained
    weights (as in the benchmark).

    Parameters
    ----------
    input_shape : (C, H, W)
        Channels and size; H and W must be multiples of 32 (ClustPy resizes to 32 or 224).
    embedding_size : int
        m (>= 1).

    References
    ----------
    He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.
    Leiber et al., "Benchmarking Deep Clustering Algorithms With ClustPy", ICDMW 2023
    (``ConvolutionalAutoencoder`` with ``resnet18``).
    """

    def __init__(self, input_shape: Sequence[int], embedding_size: int) -> None:
        super().__init__()
        import torchvision

        c, h, w = (int(s) for s in input_shape)
        if c < 1 or h < 32 or w < 32 or h % 32 or w % 32:
            raise InvalidParameter(
                f"ResNet18Autoencoder needs input_shape (C, H, W) with H and W multiples of 32 (>= 32); "
                f"got {tuple(input_shape)}. Resize images to 32x32 (or 224x224) first."
            )
        if embedding_size < 1:
            raise InvalidParameter(f"embedding_size must be >= 1, got {embedding_size}.")
        self.input_shape = (c, h, w)
        self.embedding_size = int(embedding_size)
        body = torchvision.models.resnet18(weights=None)
        if c != 3:
            body.conv1 = nn.Conv2d(c, 64, kernel_size=7, stride=2, padding=3, bias=False)
        body.fc = nn.Identity()
        self.conv_encoder = body
        self.fc_encoder = nn.Linear(512, self.embedding_size)
        self.fc_decoder = nn.Linear(self.embedding_size, 512)
        self.dec_linear = nn.Linear(512, 512 * 4 * 4)
        self.dec_resize = _Up(size=(h // 32, w // 32))
        stages, cin = [], 512
        for cout in (256, 128, 64, 64):
            stages += [_DecoderBlock(cin, cout, scale=2), _DecoderBlock(cout, cout)]
            cin = cout
        self.conv_decoder = nn.Sequential(*stages)
        self.dec_out = nn.Sequential(_Up(scale=2), nn.Conv2d(64, c, kernel_size=3, padding=1, bias=False))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, m)."""
        return self.fc_encoder(self.conv_encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, m) -> (B, C, H, W)."""
        x = self.dec_linear(self.fc_decoder(z)).view(z.shape[0], 512, 4, 4)
        return self.dec_out(self.conv_decoder(self.dec_resize(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
