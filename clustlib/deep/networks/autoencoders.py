"""Autoencoders of the ClustPy benchmark: feed-forward d-500-500-2000-m and d-512-256-128-m.

The ResNet18 convolutional autoencoder lives in :mod:`clustlib.deep.networks.resnet_ae`; all are built by
name through :func:`build_autoencoder`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from clustlib.errors import InvalidParameter, UnknownName

__all__ = [
    "FeedforwardAutoencoder",
    "AUTOENCODER_HIDDEN",
    "build_autoencoder",
    "list_autoencoders",
]

#: Hidden widths of the feed-forward autoencoders, by name (encoder side; the decoder mirrors it).
AUTOENCODER_HIDDEN: dict[str, tuple[int, ...]] = {
    "ff_500_500_2000": (500, 500, 2000),
    "ff_512_256_128": (512, 256, 128),
}
_CONV_NAMES: tuple[str, ...] = ("resnet18",)


def _mlp(widths: Sequence[int], negative_slope: float) -> nn.Sequential:
    """Linear layers between consecutive widths, LeakyReLU between them, none after the last."""
    layers: list[nn.Module] = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(nn.LeakyReLU(negative_slope))
    return nn.Sequential(*layers)


class FeedforwardAutoencoder(nn.Module):
    """Fully connected autoencoder with a linear embedding and a linear reconstruction.

    Encoder ``d -> h_1 -> ... -> h_L -> m`` with LeakyReLU(0.01) after every hidden layer and no
    activation on the embedding; the decoder mirrors it and ends in a linear output (no sigmoid),
    as ClustPy's ``FeedforwardAutoencoder`` used in the benchmark. No batch norm, no dropout,
    PyTorch's default ``Linear`` initialisation.

    Parameters
    ----------
    layers : sequence of int
        ``(d, h_1, ..., h_L, m)``: input size, hidden widths, embedding size.
    negative_slope : float, default=0.01
        Slope of LeakyReLU for negative inputs.

    Attributes
    ----------
    encoder, decoder : torch.nn.Sequential
    input_dim : int
        ``d``, the number of input features.
    embedding_size : int
        ``m``.

    References
    ----------
    Leiber, Miklautz, Plant, Böhm, "Benchmarking Deep Clustering Algorithms With ClustPy", ICDMW 2023.
    Code: https://github.com/collinleiber/ClustPy (``clustpy/deep/neural_networks/feedforward_autoencoder.py``).
    """

    def __init__(self, layers: Sequence[int], negative_slope: float = 0.01) -> None:
        super().__init__()
        layers = [int(w) for w in layers]
        if len(layers) < 2 or min(layers) < 1:
            raise InvalidParameter(
                f"layers must hold at least an input size and an embedding size, all >= 1; got {layers}. "
                "Example: [784, 500, 500, 2000, 10]."
            )
        self.layers = tuple(layers)
        self.encoder = _mlp(layers, negative_slope)
        self.decoder = _mlp(layers[::-1], negative_slope)

    @property
    def input_dim(self) -> int:
        return self.layers[0]

    @property
    def embedding_size(self) -> int:
        return self.layers[-1]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, ``(d,)``."""
        return (self.layers[0],)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Embed ``x`` of shape (B, d) into (B, m)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstruct (B, d) from embeddings (B, m)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def list_autoencoders() -> list[str]:
    """Names accepted by :func:`build_autoencoder`."""
    return sorted([*AUTOENCODER_HIDDEN, *_CONV_NAMES])


def build_autoencoder(
    name: str,
    input_shape: int | Sequence[int],
    embedding_size: int = 10,
    *,
    seed: int | None = None,
) -> nn.Module:
    """Build an untrained autoencoder by name.

    Parameters
    ----------
    name : {"ff_500_500_2000", "ff_512_256_128", "resnet18"}
        Architecture. ``ff_*`` take flat inputs; ``resnet18`` takes images (C, H, W).
    input_shape : int or sequence of int
        ``d`` (or ``(d,)``) for the feed-forward networks; ``(C, H, W)`` for ``resnet18``.
    embedding_size : int, default=10
        ``m``, the size of the embedding (>= 1).
    seed : int or None
        Seeds the weight initialisation without touching the global torch RNG.

    Returns
    -------
    torch.nn.Module
        A module with ``encode``, ``decode``, ``input_shape`` and ``embedding_size``.
    """
    if name not in AUTOENCODER_HIDDEN and name not in _CONV_NAMES:
        raise UnknownName("autoencoder", name, list_autoencoders())
    if int(embedding_size) < 1:
        raise InvalidParameter(f"embedding_size must be >= 1, got {embedding_size}.")
    shape = (int(input_shape),) if isinstance(input_shape, int) else tuple(int(s) for s in input_shape)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(int(seed))
        if name in _CONV_NAMES:
            from clustlib.deep.networks.resnet_ae import ResNet18Autoencoder

            if len(shape) != 3:
                raise InvalidParameter(
                    f"autoencoder {name!r} needs input_shape (C, H, W); got {shape}. Pass images, not flat vectors."
                )
            return ResNet18Autoencoder(shape, int(embedding_size))
        d = 1
        for s in shape:
            d *= s
        return FeedforwardAutoencoder([d, *AUTOENCODER_HIDDEN[name], int(embedding_size)])
