"""DAC's label-feature networks: ALL-ConvNet variants with a K-way softmax head and the restraint layer.

Each network maps an image batch (B, C, H, W) to K logits and returns the softmax ``y`` and the
label features ``z`` of the restraint layer (Chang et al., eq. 9): ``exp(l - max l)`` L2-normalised,
which equals the L2-normalised softmax. The layer lists follow the authors' Keras 1 scripts
(vector-1127/DAC): 'valid' 3x3 convolutions (he_normal, zero bias), each followed by batch
normalisation and ReLU, max pooling, a 1x1 convolution to K channels, average pooling down to 1x1,
and two K x K dense layers initialised to the identity, each followed by batch normalisation.

Batch normalisation follows Keras' ``mode=2``: batch statistics at training *and* at inference, so
a sample's label feature depends on the other samples of its batch. This is what produced the
paper's numbers and is the default (``batch_stats=True``); ``batch_stats=False`` gives standard
batch normalisation (running averages, momentum 0.01 as Keras' 0.99) used in ``eval()`` mode.
Keras 1's batch-normalisation epsilon (1e-3) is kept.

Variants (:data:`ALLCONV_ARCHITECTURES`, spatial sizes after each stage in brackets):

* ``"mnist"`` (28x28, ``MNIST/mnist.py``): 3 x conv64 -> MaxPool2 -> BN [11], 3 x conv128 ->
  MaxPool2 -> BN [2], conv1x1-K, BN, ReLU -> AvgPool2 -> BN [1], dense-BN-ReLU twice.
* ``"cifar"`` (32x32, ``CIFAR100/cifar100.py``, which the authors ran for CIFAR-10 and CIFAR-100):
  2 x conv64 -> MaxPool2 [14], 2 x conv128 -> MaxPool2 [5], conv1x1-K -> AvgPool4 [1],
  dense-BN-ReLU, dense-BN (no ReLU before the softmax).
* ``"cifar_v2"`` (32x32, ``CIFAR10/cifar10_2.py``, the two-threshold DAC run): 3 convs per stage
  [13, 3], AvgPool3, otherwise as ``"cifar"``.
* ``"stl"`` (96x96, ``STL10/stl.py`` and ``IMAGENET10/imagenet10.py``): 3 x conv64, 3 x conv128,
  3 x conv256, each stage max-pooled [45, 19, 6], conv1x1-K -> AvgPool6, dense-BN-ReLU twice.
* ``"imagenet_dog"`` (96x96, ``IMAGENET-DOG/imagenetdog.py``): 2 x conv5x5-64 -> MaxPool4 [22],
  2 x conv3x3-128 -> MaxPool4 [4], conv1x1-K -> AvgPool4, dense-BN-ReLU twice.
* ``"small16"`` (16x16) is **not from the paper**: a small network of the same family
  (2 x conv32 -> MaxPool2 [6], 2 x conv64 [2], conv1x1-K -> AvgPool2) for scikit-learn's 8x8
  digits upsampled to 16x16 and for fast tests.

References
----------
J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, "Deep Adaptive Image Clustering", ICCV 2017 (Sec. 3.3,
4.1). Code: https://github.com/vector-1127/DAC (Keras 1.1.2 + Theano).
J. T. Springenberg et al., "Striving for Simplicity: The All Convolutional Net", ICLR workshop 2015.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from clustlib.errors import InvalidParameter

__all__ = ["AllConvSpec", "ALLCONV_ARCHITECTURES", "DACNetwork", "restraint_layer", "default_architecture",
           "list_dac_networks"]

#: Keras 1's BatchNormalization epsilon.
_BN_EPS = 1e-3


@dataclass(frozen=True)
class AllConvSpec:
    """Layer list of one ALL-ConvNet variant.

    Attributes
    ----------
    input_size : int
        Height = width of the images the variant takes (the valid convolutions and fixed pools bring
        exactly this size down to 1x1).
    stages : tuple of (channels, n_convs, kernel, pool)
        Each stage: ``n_convs`` x [conv kernel x kernel, BN, ReLU], then MaxPool ``pool`` (1 = none).
    bn_after_pool : bool
        A BN layer after every max pooling and after the head's average pooling (mnist.py only).
    head_pool : int
        Average-pooling size after the 1x1 convolution to K channels.
    final_relu : bool
        ReLU after the second dense layer's BN, before the softmax.
    origin : str
        The script (or "clustlib") the variant comes from.
    """

    input_size: int
    stages: tuple
    bn_after_pool: bool
    head_pool: int
    final_relu: bool
    origin: str


ALLCONV_ARCHITECTURES: dict[str, AllConvSpec] = {
    "mnist": AllConvSpec(28, ((64, 3, 3, 2), (128, 3, 3, 2)), True, 2, True, "MNIST/mnist.py"),
    "cifar": AllConvSpec(32, ((64, 2, 3, 2), (128, 2, 3, 2)), False, 4, False, "CIFAR100/cifar100.py"),
    "cifar_v2": AllConvSpec(32, ((64, 3, 3, 2), (128, 3, 3, 2)), False, 3, False, "CIFAR10/cifar10_2.py"),
    "stl": AllConvSpec(96, ((64, 3, 3, 2), (128, 3, 3, 2), (256, 3, 3, 2)), False, 6, True, "STL10/stl.py"),
    "imagenet_dog": AllConvSpec(96, ((64, 2, 5, 4), (128, 2, 3, 4)), False, 4, True,
                                "IMAGENET-DOG/imagenetdog.py"),
    "small16": AllConvSpec(16, ((32, 2, 3, 2), (64, 2, 3, 1)), False, 2, True, "clustlib (not in the paper)"),
}


def list_dac_networks() -> list[str]:
    """Names of the ALL-ConvNet variants (:data:`ALLCONV_ARCHITECTURES`)."""
    return sorted(ALLCONV_ARCHITECTURES)


def default_architecture(image_size: int, variant: str = "dac_star") -> str:
    """The variant the authors used for images of this size.

    28 -> ``"mnist"``; 32 -> ``"cifar"`` (DAC*, cifar100.py) or ``"cifar_v2"`` (DAC, cifar10_2.py);
    96 -> ``"stl"``; 16 -> ``"small16"`` (clustlib's). Other sizes raise :class:`InvalidParameter`.
    """
    if image_size == 32:
        return "cifar_v2" if variant == "dac" else "cifar"
    by_size = {28: "mnist", 96: "stl", 16: "small16"}
    if image_size not in by_size:
        raise InvalidParameter(
            f"DAC's networks take 16x16, 28x28, 32x32 or 96x96 images, got {image_size}x{image_size}; resize the "
            "images first (e.g. torch.nn.functional.interpolate) or pick network= explicitly."
        )
    return by_size[image_size]


def restraint_layer(logits: torch.Tensor) -> torch.Tensor:
    """Chang et al.'s restraint layer (eq. 9): ``exp(l - max l)`` divided by its L2 norm; (B, K) -> (B, K).

    The result equals the L2-normalised softmax of ``logits``: non-negative unit vectors whose dot
    products are the cosine similarities DAC thresholds.
    """
    e = torch.exp(logits - logits.amax(dim=1, keepdim=True))  # (B, K), max entry 1
    return e / e.norm(dim=1, keepdim=True)


class DACNetwork(nn.Module):
    """An ALL-ConvNet label-feature network with K outputs.

    Parameters
    ----------
    in_channels : int
        C of the (B, C, H, W) inputs.
    n_clusters : int
        K (the width of the 1x1 convolution and of both dense layers).
    architecture : str, default="mnist"
        One of :func:`list_dac_networks`.
    batch_stats : bool, default=True
        Batch normalisation with batch statistics at inference too (Keras ``mode=2``, the code's);
        False: running statistics in ``eval()`` mode.
    generator : torch.Generator, optional
        Source of the he_normal draws.

    Notes
    -----
    ``forward`` returns ``(y, z)``: the softmax (B, K) and the label features (B, K). Inputs must be
    ``input_size`` x ``input_size`` of the variant. Batches of one sample are refused by batch
    normalisation in training mode (and, with ``batch_stats``, at inference).
    """

    def __init__(self, in_channels: int, n_clusters: int, architecture: str = "mnist", *,
                 batch_stats: bool = True, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if architecture not in ALLCONV_ARCHITECTURES:
            raise InvalidParameter(f"architecture must be one of {list_dac_networks()}, got {architecture!r}.")
        if int(in_channels) < 1 or int(n_clusters) < 2:
            raise InvalidParameter(f"need in_channels >= 1 and n_clusters >= 2, got {in_channels}, {n_clusters}.")
        spec = ALLCONV_ARCHITECTURES[architecture]
        self.architecture, self.spec = architecture, spec
        self.in_channels, self.n_clusters, self.batch_stats = int(in_channels), int(n_clusters), bool(batch_stats)
        k = self.n_clusters

        def bn2d(c):
            return nn.BatchNorm2d(c, eps=_BN_EPS, momentum=0.01, track_running_stats=not batch_stats)

        layers: list[nn.Module] = []
        c_in = self.in_channels
        for channels, n_convs, kernel, pool in spec.stages:
            for _ in range(n_convs):
                layers += [nn.Conv2d(c_in, channels, kernel), bn2d(channels), nn.ReLU()]
                c_in = channels
            if pool > 1:
                layers.append(nn.MaxPool2d(pool))
                if spec.bn_after_pool:
                    layers.append(bn2d(c_in))
        layers += [nn.Conv2d(c_in, k, 1), bn2d(k), nn.ReLU(), nn.AvgPool2d(spec.head_pool)]
        if spec.bn_after_pool:
            layers.append(bn2d(k))
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = []
        for i in range(2):
            head += [nn.Linear(k, k), nn.BatchNorm1d(k, eps=_BN_EPS, momentum=0.01,
                                                     track_running_stats=not batch_stats)]
            if i == 0 or spec.final_relu:
                head.append(nn.ReLU())
        self.head = nn.Sequential(*head)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # Keras 1 he_normal: N(0, 2 / fan_in), untruncated; zero bias.
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu", generator=generator)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.eye_(m.weight)  # Keras init='identity'
                nn.init.zeros_(m.bias)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one input image."""
        s = self.spec.input_size
        return (self.in_channels, s, s)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, K) pre-softmax activations."""
        if tuple(x.shape[1:]) != self.input_shape:
            raise InvalidParameter(f"the {self.architecture!r} network takes (B, {self.in_channels}, "
                                   f"{self.spec.input_size}, {self.spec.input_size}) inputs, got {tuple(x.shape)}.")
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, H, W) -> softmax y (B, K) and label features z (B, K), unit rows."""
        logits = self.logits(x)
        return torch.softmax(logits, dim=1), restraint_layer(logits)
