"""MMDC's networks: the small VGG (MNIST) and the CIFAR-style ResNet18 with a rotation head.

Both map an image batch (B, C, S, S) to an L2-normalised embedding of width ``out_dim`` (the
dimension of the Gaussian-mixture targets, K by default). The layer lists follow the authors' code
(guysrn/mmdc, ``architectures/vgg.py`` and ``architectures/resnet.py``):

* :class:`MMDCSmallVGG`: four blocks of conv3x3 (padding 1, no bias) -> BN -> ReLU -> MaxPool2 with
  32, 64, 128, 256 channels, flatten (256 x (S/16)^2, 1024 for S = 32), Linear to ``out_dim``.
  It has no rotation head, so MNIST is trained without the RotNet task.
* :class:`MMDCResNet18`: CIFAR stem (conv3x3 stride 1, 64, no bias -> BN -> ReLU ->
  MaxPool(kernel 2, stride 2, padding 1)), BasicBlocks [2, 2, 2, 2] with 64/128/256/512 channels
  and strides 1/2/2/2, global average pooling to 512-d; ``top_layer`` Linear(512, out_dim) then
  L2 normalisation, and ``rotnet_head`` Linear(512, 4) on the un-normalised 512-d features.

Initialisation as in the code: convolutions Kaiming-normal (fan_in, ReLU gain), BN weight 1 and
bias 0, linear layers N(0, 0.01) with zero bias.

An optional fixed Sobel input filter (:class:`SobelFilter`, as in DeepCluster-style code) turns the
input into grey and then into the horizontal and vertical Sobel responses, so the first
convolution sees 2 channels. The public code's Sobel option cannot run (``_create_sobel`` uses
``self.sobel`` before assigning it and assumes RGB); this module implements what it intends and
averages however many channels the input has.

References
----------
G. Shiran, D. Weinshall, "Multi-Modal Deep Clustering: Unsupervised Partitioning of Images",
ICPR 2020 (arXiv:1912.02678); M.Sc. thesis, Hebrew University. Code: https://github.com/guysrn/mmdc.
K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from clustlib.errors import InvalidParameter

__all__ = ["SobelFilter", "MMDCSmallVGG", "MMDCResNet18", "MMDC_NETWORKS", "build_mmdc_network"]

#: Networks :class:`clustlib.deep.MMDC` accepts.
MMDC_NETWORKS = ("vgg", "resnet18")


class SobelFilter(nn.Module):
    """Fixed grey-level conversion followed by the two 3x3 Sobel kernels.

    Parameters
    ----------
    in_channels : int
        Channels of the input; the grey image is their mean (a 1x1 convolution with weights 1/C).

    Notes
    -----
    Input (B, C, H, W) -> output (B, 2, H, W): the x and y gradients with zero padding 1. The
    weights are buffers, so no optimiser updates them.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        gx = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
        self.register_buffer("grey", torch.full((1, in_channels, 1, 1), 1.0 / in_channels))
        self.register_buffer("kernels", torch.stack([gx, gx.T])[:, None])  # (2, 1, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(x, self.grey), self.kernels, padding=1)


def _init_weights(module: nn.Module, generator: torch.Generator | None) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu", generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01, generator=generator)
            nn.init.zeros_(m.bias)


class _MMDCNetwork(nn.Module):
    """Shared interface: ``forward`` gives the unit embedding, ``rotation_logits`` the RotNet head."""

    has_rotation_head: bool = False

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[2] != x.shape[3] or x.shape[2] % 16:
            raise InvalidParameter(f"{type(self).__name__} takes (B, {self.in_channels}, S, S) images with S a "
                                   f"multiple of 16, got {tuple(x.shape)}.")

    def _stem_input(self, x: torch.Tensor) -> torch.Tensor:
        return self.sobel(x) if self.sobel is not None else x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised embedding (B, out_dim)."""
        return F.normalize(self.top_layer(self.features(x)), dim=1)

    def rotation_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, 4) of the rotation classes 0/90/180/270 degrees."""
        if not self.has_rotation_head:
            raise InvalidParameter(f"{type(self).__name__} has no rotation head; use network='resnet18' or "
                                   "rotation=False.")
        return self.rotnet_head(self.features(x))


class MMDCSmallVGG(_MMDCNetwork):
    """MMDC's small VGG for 32x32 grey images.

    Parameters
    ----------
    in_channels : int
    out_dim : int
        Width of the embedding (the target dimension).
    input_size : int, default=32
        Height = width of the inputs, a multiple of 16.
    sobel : bool, default=False
        Put the fixed :class:`SobelFilter` in front (2 channels into the first convolution).
    generator : torch.Generator, optional
        Seeds the initial weights.

    Notes
    -----
    Input (B, C, S, S), output (B, out_dim) with unit rows.
    """

    def __init__(self, in_channels: int, out_dim: int, *, input_size: int = 32, sobel: bool = False,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        if input_size % 16 or input_size < 16:
            raise InvalidParameter(f"MMDCSmallVGG needs an input size that is a multiple of 16, got {input_size}.")
        self.in_channels, self.out_dim, self.input_size = int(in_channels), int(out_dim), int(input_size)
        self.sobel = SobelFilter(in_channels) if sobel else None
        layers, c = [], 2 if sobel else in_channels
        for width in (32, 64, 128, 256):
            layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            c = width
        self.body = nn.Sequential(*layers)
        self.top_layer = nn.Linear(256 * (input_size // 16) ** 2, out_dim)
        _init_weights(self, generator)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened output of the last block, (B, 256 (S/16)^2)."""
        self._check(x)
        return self.body(self._stem_input(x)).flatten(1)


class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class MMDCResNet18(_MMDCNetwork):
    """MMDC's ResNet18 with a CIFAR stem, an embedding ``top_layer`` and a 4-way ``rotnet_head``.

    Parameters
    ----------
    in_channels : int
    out_dim : int
        Width of the embedding (the target dimension).
    sobel : bool, default=False
        Put the fixed :class:`SobelFilter` in front (2 channels into the stem).
    generator : torch.Generator, optional
        Seeds the initial weights.

    Notes
    -----
    Input (B, C, S, S) with S a multiple of 16 (32 for CIFAR, 64 for STL-10 / ImageNet subsets);
    ``forward`` gives (B, out_dim) unit rows, ``features`` (B, 512), ``rotation_logits`` (B, 4).
    """

    has_rotation_head = True

    def __init__(self, in_channels: int, out_dim: int, *, sobel: bool = False,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.in_channels, self.out_dim = int(in_channels), int(out_dim)
        self.sobel = SobelFilter(in_channels) if sobel else None
        self.stem = nn.Sequential(nn.Conv2d(2 if sobel else in_channels, 64, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(kernel_size=2, stride=2, padding=1))
        blocks, c = [], 64
        for width, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [_BasicBlock(c, width, stride), _BasicBlock(width, width, 1)]
            c = width
        self.layers = nn.Sequential(*blocks)
        self.top_layer = nn.Linear(512, out_dim)
        self.rotnet_head = nn.Linear(512, 4)
        _init_weights(self, generator)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled output of the last stage, (B, 512)."""
        self._check(x)
        return F.adaptive_avg_pool2d(self.layers(self.stem(self._stem_input(x))), 1).flatten(1)


def build_mmdc_network(name: str, in_channels: int, out_dim: int, input_size: int, *, sobel: bool = False,
                       generator: torch.Generator | None = None) -> _MMDCNetwork:
    """:class:`MMDCSmallVGG` (``"vgg"``) or :class:`MMDCResNet18` (``"resnet18"``)."""
    if name == "vgg":
        return MMDCSmallVGG(in_channels, out_dim, input_size=input_size, sobel=sobel, generator=generator)
    if name == "resnet18":
        return MMDCResNet18(in_channels, out_dim, sobel=sobel, generator=generator)
    raise InvalidParameter(f"network must be one of {MMDC_NETWORKS}, got {name!r}.")
