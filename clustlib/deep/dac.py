"""DAC: Deep Adaptive Image Clustering (Chang et al., ICCV 2017), as the authors' code runs it.

DAC recasts clustering as binary pairwise classification. A ConvNet maps each image to a
K-dimensional *label feature* (the L2-normalised softmax, :func:`clustlib.deep.allconv.restraint_layer`);
the cosine similarity of two images is the dot product of their label features. Training alternates:

1. with the network frozen, compute the label features of a chunk of images and label each pair
   inside it "same cluster" when their similarity exceeds the upper threshold and "different" below
   the lower one (:func:`pair_targets`);
2. train the network on those pairs (binary cross-entropy between the similarity and the label);
3. after each epoch move the thresholds towards each other (:func:`dac_thresholds`), so that more
   pairs take part as the network improves.

Cluster labels are the argmax of the label features. The loop follows the authors' Keras scripts
(vector-1127/DAC): per epoch the images are shuffled and cut into ``N // chunk_size`` chunks of
``chunk_size`` (a remainder is left out of that epoch); each chunk gets ``chunk_passes`` shuffled
passes in mini-batches of ``batch_size`` (a remainder batch is dropped), and each mini-batch takes
``steps_per_batch`` RMSprop steps, each on a fresh random augmentation of the batch. Only pairs
inside a mini-batch are used.

Two variants:

* ``variant="dac_star"`` (DAC*, what most scripts and the README run): one threshold that starts at
  ``upper`` and falls linearly by ``(upper - lower) / epochs`` per epoch; every pair is labelled
  (1 above it, 0 below) and the loss is the mean BCE over all B x B pairs of the batch.
* ``variant="dac"`` (two thresholds, ``CIFAR10/cifar10_2.py``, the paper's DAC row for CIFAR-10):
  ``u`` starts at ``upper`` and ``l`` at ``lower``, each moves by ``(upper - lower) / (2 epochs)``
  per epoch; only pairs above ``u`` (label 1) or below ``l`` (label 0) are used, and the loss is
  their summed BCE divided by their count *and by the batch size* (the script's loss returns one
  value per row, each already divided by the global count, and Keras averages the rows). The script
  recompiles the model every epoch, which restarts RMSprop's accumulators; so does this class.

Both scripts add a self-distillation term that is not in the paper: the binary cross-entropy
between the network's output on the augmented batch and the frozen network's output on the clean
images at the start of the chunk, with weight 10 (DAC*) or 1 (DAC). ``distill_on`` picks the output:
the label features (stl.py, imagenet10.py, imagenetdog.py) or the softmax (cifar10_2.py;
cifar100.py feeds the frozen label features as the target of the softmax output). ``MNIST/mnist.py``
has no such term and uses a mean squared error pair loss; :data:`DAC_SCRIPT_SETTINGS` lists the
settings of each script.

References
----------
J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, "Deep Adaptive Image Clustering", ICCV 2017.
Code: https://github.com/vector-1127/DAC (Keras 1.1.2 + Theano; no license file, re-implemented).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClusterMixin
from tqdm.auto import tqdm

from clustlib.deep._base import check_inputs, store_init_args
from clustlib.deep.allconv import ALLCONV_ARCHITECTURES, DACNetwork, default_architecture, list_dac_networks
from clustlib.deep.pretrain import data_fingerprint
from clustlib.deep.training import (TrainHistory, atomic_torch_save, check_checkpoint_path, config_hash,
                                    load_checkpoint, resolve_device, seed_everything)
from clustlib.errors import InvalidParameter

__all__ = [
    "DAC",
    "DACHistory",
    "KerasImageAugment",
    "AUGMENTATION_PRESETS",
    "DAC_SCRIPT_SETTINGS",
    "dac_thresholds",
    "pair_targets",
    "pair_loss",
    "center_images",
]

VARIANTS = ("dac_star", "dac")
PAIR_LOSSES = ("bce", "mse", "keras1_swapped_bce")
DISTILL_ON = ("label_features", "softmax")
#: Keras 1's clipping constant in binary cross-entropy.
_EPS = 1e-7
_CHECKPOINT_FORMAT = 1

#: The ImageDataGenerator settings of the authors' scripts. ``rotation`` in degrees; ``shift`` a
#: fraction of the image size; ``channel_shift`` an additive per-channel offset; ``rescale`` a
#: constant intensity factor applied to every augmented image; ``zoom`` the range of the
#: independent x and y zoom factors; ``flip`` random horizontal flips.
AUGMENTATION_PRESETS: dict[str, dict] = {
    "mnist": dict(rotation=10.0, shift=0.1, channel_shift=0.05, rescale=0.975, zoom=(0.95, 1.05), flip=False),
    "cifar100": dict(rotation=20.0, shift=0.18, channel_shift=0.1, rescale=0.95, zoom=(0.85, 1.15), flip=True),
    "cifar10_2": dict(rotation=10.0, shift=0.09, channel_shift=0.05, rescale=0.975, zoom=(0.95, 1.05), flip=True),
    "stl": dict(rotation=10.0, shift=0.1, channel_shift=0.05, rescale=0.975, zoom=(0.95, 1.05), flip=True),
}
#: ``augmentation=True`` picks the preset of the script the network comes from.
_PRESET_OF_NETWORK = {"mnist": "mnist", "small16": "mnist", "cifar": "cifar100", "cifar_v2": "cifar10_2",
                      "stl": "stl", "imagenet_dog": "stl"}

#: Keyword arguments of :class:`DAC` that reproduce each script of vector-1127/DAC (inputs must be
#: prepared as the script does, see :func:`center_images`). ``cifar100`` is the script the authors
#: ran for CIFAR-10 and CIFAR-100/20 (DAC*); ``cifar10_2`` the two-threshold DAC run (0.5222 ACC in
#: its log, the paper's 0.5218).
DAC_SCRIPT_SETTINGS: dict[str, dict] = {
    "mnist": dict(variant="dac_star", network="mnist", upper=0.9, lower=0.5, epochs=20, batch_size=128,
                  chunk_passes=5, steps_per_batch=1, pair_loss="mse", distill_weight=0.0, augmentation="mnist"),
    "cifar100": dict(variant="dac_star", network="cifar", upper=0.99, lower=0.75, epochs=50, batch_size=32,
                     chunk_passes=10, steps_per_batch=2, pair_loss="bce", distill_weight=10.0,
                     distill_on="label_features", augmentation="cifar100"),
    "cifar10_2": dict(variant="dac", network="cifar_v2", upper=0.99, lower=0.80, epochs=50, batch_size=32,
                      chunk_passes=10, steps_per_batch=2, pair_loss="keras1_swapped_bce", distill_weight=1.0,
                      distill_on="softmax", augmentation="cifar10_2"),
    "stl": dict(variant="dac_star", network="stl", upper=0.99, lower=0.5, epochs=75, batch_size=32,
                chunk_passes=10, steps_per_batch=2, pair_loss="bce", distill_weight=10.0,
                distill_on="label_features", augmentation="stl"),
    "imagenet10": dict(variant="dac_star", network="stl", upper=0.99, lower=0.75, epochs=50, batch_size=32,
                       chunk_passes=10, steps_per_batch=2, pair_loss="bce", distill_weight=10.0,
                       distill_on="label_features", augmentation="stl"),
    "imagenet_dog": dict(variant="dac_star", network="imagenet_dog", upper=0.99, lower=0.75, epochs=50,
                         batch_size=32, chunk_passes=10, steps_per_batch=2, pair_loss="bce", distill_weight=10.0,
                         distill_on="label_features", augmentation="stl"),
}


# ---------------------------------------------------------------------------------------------
# the adaptive rules
# ---------------------------------------------------------------------------------------------


def dac_thresholds(epoch: int, epochs: int, variant: str = "dac_star", upper: float = 0.99,
                   lower: float = 0.75) -> tuple[float, float]:
    """The (upper, lower) selection thresholds used during epoch ``epoch`` (0-based) of ``epochs``.

    ``"dac_star"``: one threshold ``th = upper - epoch * (upper - lower) / epochs``, returned twice.
    ``"dac"``: ``u = upper - epoch * eta`` and ``l = lower + epoch * eta`` with
    ``eta = (upper - lower) / epochs / 2``, so they meet half-way after ``epochs`` epochs.
    Both update after an epoch, so epoch 0 uses the starting values and the end point is reached
    only after the last epoch.
    """
    if variant not in VARIANTS:
        raise InvalidParameter(f"variant must be one of {VARIANTS}, got {variant!r}.")
    if epochs < 1:
        return float(upper), float(upper if variant == "dac_star" else lower)
    if variant == "dac_star":
        th = upper - epoch * (upper - lower) / epochs
        return th, th
    eta = (upper - lower) / epochs / 2
    return upper - epoch * eta, lower + epoch * eta


def pair_targets(similarity: torch.Tensor, upper: float, lower: float,
                 variant: str = "dac_star") -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pair labels from the frozen network's cosine similarities (Chang et al., eq. 6).

    Parameters
    ----------
    similarity : torch.Tensor, shape (M, M)
        Dot products of L2-normalised label features.
    upper, lower : float
        Thresholds from :func:`dac_thresholds`.
    variant : {"dac_star", "dac"}

    Returns
    -------
    target : torch.Tensor of float, shape (M, M)
        1 where ``similarity > upper``, else 0.
    selected : torch.Tensor of bool, shape (M, M), or None
        ``"dac"``: the pairs used for training (``similarity > upper`` or ``similarity < lower``);
        ``"dac_star"``: None (every pair is used).
    """
    target = (similarity > upper).to(similarity.dtype)
    if variant == "dac_star":
        return target, None
    return target, (similarity > upper) | (similarity < lower)


def pair_loss(gram: torch.Tensor, target: torch.Tensor, selected: torch.Tensor | None = None,
              kind: str = "bce") -> torch.Tensor:
    """DAC's pairwise loss of one mini-batch.

    Parameters
    ----------
    gram : torch.Tensor, shape (B, B)
        Predicted similarities ``z @ z.T`` of the batch's label features.
    target : torch.Tensor, shape (B, B)
        0/1 pair labels (:func:`pair_targets`).
    selected : torch.Tensor of bool, shape (B, B), optional
        Pairs that count (DAC). None: all pairs, averaged (DAC*).
    kind : {"bce", "mse", "keras1_swapped_bce"}
        ``"bce"``: the paper's eq. 2 with Keras' clipping of the prediction to [1e-7, 1 - 1e-7].
        ``"mse"``: squared error (``MNIST/mnist.py``). ``"keras1_swapped_bce"``: what
        ``cifar10_2.py`` computes under Keras 1, whose backend ``binary_crossentropy`` takes
        ``(output, target)``: the script passes the labels as the output, giving
        ``-(g log r~ + (1 - g) log(1 - r~))`` with ``r~`` the labels clipped to [1e-7, 1 - 1e-7],
        about ``16.1 |r - g|``.

    Returns
    -------
    torch.Tensor
        Scalar. With ``selected``: the summed loss of the selected pairs divided by their count and by
        B (cifar10_2.py's per-row sums averaged by Keras); 0 when no pair is selected.
    """
    if kind == "bce":
        g = gram.clamp(_EPS, 1 - _EPS)
        elem = -(target * torch.log(g) + (1 - target) * torch.log(1 - g))  # (B, B)
    elif kind == "mse":
        elem = (gram - target) ** 2
    elif kind == "keras1_swapped_bce":
        r = target.clamp(_EPS, 1 - _EPS)
        elem = -(gram * torch.log(r) + (1 - gram) * torch.log(1 - r))
    else:
        raise InvalidParameter(f"pair loss must be one of {PAIR_LOSSES}, got {kind!r}.")
    if selected is None:
        return elem.mean()
    sel = selected.to(elem.dtype)
    return (elem * sel).sum() / sel.sum().clamp_min(1.0) / gram.shape[0]


def _distill_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Keras' ``binary_crossentropy`` with soft targets: mean over (B, K) of the clipped BCE."""
    p = pred.clamp(_EPS, 1 - _EPS)
    return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()


def center_images(X: np.ndarray, *, scale: float = 255.0, per_channel: bool = True) -> np.ndarray:
    """The scripts' input preparation: ``X / scale`` minus the mean over all images, no std division.

    Parameters
    ----------
    X : ndarray, shape (N, C, H, W)
        Raw pixels (0-255 for ``scale=255``).
    scale : float, default=255
    per_channel : bool, default=True
        Subtract one mean per channel (stl.py, read_data.py) or one over all pixels (mnist.py with
        its single channel gives the same).

    Returns
    -------
    ndarray of float32, shape (N, C, H, W)
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 4:
        raise InvalidParameter(f"X must be images (N, C, H, W), got shape {X.shape}.")
    X = X / np.float32(scale)
    mean = X.mean(axis=(0, 2, 3), keepdims=True) if per_channel else X.mean()
    return (X - mean).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# augmentation
# ---------------------------------------------------------------------------------------------


class KerasImageAugment:
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

    def get_state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state)

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


# ---------------------------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------------------------


@dataclass
class DACHistory(TrainHistory):
    """Per-epoch record of :meth:`DAC.fit`.

    Attributes
    ----------
    losses, epoch_seconds, resumed_from
        As :class:`clustlib.deep.TrainHistory` (mean loss over the epoch's gradient steps).
    thresholds : list of (float, float)
        (upper, lower) used in each epoch.
    positive_fraction : list of float
        Fraction of chunk pairs labelled "same cluster" (diagonal included), averaged over chunks.
    selected_fraction : list of float
        Fraction of chunk pairs used for training (1 for DAC*).
    """

    thresholds: list = field(default_factory=list)
    positive_fraction: list = field(default_factory=list)
    selected_fraction: list = field(default_factory=list)


def _batches(n: int, size: int) -> list[slice]:
    """Consecutive slices of ``size`` over ``n`` rows, a last one-row slice merged into the one before.

    Batch normalisation with batch statistics cannot normalise a batch of one.
    """
    bounds = list(range(0, n, size)) + [n]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


@torch.no_grad()
def _forward_all(net: DACNetwork, X: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(softmax, label features), each (N, K), computed in order in batches of ``batch_size``.

    With batch statistics (Keras mode 2) the network stays in training mode, as Keras' ``predict``
    behaves; otherwise it runs in eval mode.
    """
    was_training = net.training
    net.train(net.batch_stats)
    ys, zs = [], []
    for s in _batches(X.shape[0], batch_size):
        y, z = net(X[s])
        ys.append(y)
        zs.append(z)
    net.train(was_training)
    return torch.cat(ys), torch.cat(zs)


class DAC(ClusterMixin, BaseEstimator):
    """Deep Adaptive Clustering: pairwise self-labelling of a ConvNet's label features.

    Parameters
    ----------
    n_clusters : int, default=10
        K, in [2, N]; the width of the network's softmax.
    variant : {"dac_star", "dac"}, default="dac_star"
        DAC* (one threshold, all pairs; the README's "core code") or DAC (two thresholds, only
        confident pairs). See the module docstring.
    network : str, default="auto"
        ALL-ConvNet variant (:func:`clustlib.deep.allconv.list_dac_networks`). ``"auto"`` picks by
        image size: 28 -> "mnist", 32 -> "cifar" (DAC*) or "cifar_v2" (DAC), 96 -> "stl",
        16 -> "small16" (clustlib's small variant, not in the paper).
    upper : float, default=0.99
        Starting upper threshold (the single DAC* threshold starts here).
    lower : float, optional
        DAC*: the threshold's end point (default 0.75, cifar100.py); DAC: the starting lower
        threshold (default 0.80, cifar10_2.py). Needs ``0 < lower <= upper < 1``.
    epochs : int, default=50
        Number of epochs (threshold updates); 0 returns the untrained network's clustering.
    chunk_size : int, default=1000
        Images whose pairwise targets are computed at once with the frozen network (at most N).
    chunk_passes : int, default=10
        Shuffled passes over each chunk.
    batch_size : int, default=32
        Mini-batch size (pairs are formed inside a batch); also the batch of inference. >= 2.
    steps_per_batch : int, default=2
        Gradient steps per mini-batch, each on a new augmentation of it.
    lr : float, default=1e-3
        RMSprop learning rate (rho 0.9, epsilon 1e-8: Keras' defaults).
    pair_loss : {"bce", "mse", "keras1_swapped_bce"}, default="bce"
        See :func:`pair_loss`. "bce" is the paper's eq. 2 (and the DAC* scripts').
    distill_weight : float, optional
        Weight of the self-distillation BCE; default 10 for DAC*, 1 for DAC; 0 switches it off.
    distill_on : {"label_features", "softmax"}, optional
        Output the self-distillation acts on; default "label_features" for DAC*, "softmax" for DAC.
    augmentation : bool, str or mapping, default=True
        True: the ImageDataGenerator settings of the script the network comes from; a name from
        :data:`AUGMENTATION_PRESETS`; a mapping of :class:`KerasImageAugment` arguments; False: none.
    bn_batch_stats : bool, default=True
        Batch normalisation with batch statistics at inference too (Keras ``mode=2``, which made the
        paper's numbers). Label features of a sample then depend on its batch: they are computed in
        batches of ``batch_size`` in the order of X. False: running statistics at inference.
    device : str, optional
        Default CUDA if available, else CPU.
    random_state : int, optional
        Seed of the initial weights, shuffles and augmentation (None -> 0). Same seed, same numbers on CPU.
    progress : bool, default=True
    checkpoint_path : path, optional
        Written after every epoch; resumed when it matches this configuration and data, refused
        (:class:`clustlib.errors.CheckpointMismatch`) otherwise.

    Attributes
    ----------
    labels_ : ndarray of int64, shape (N,)
        argmax of the trained network's label features (eq. 13). Some clusters may stay empty.
    label_features_ : ndarray of float32, shape (N, K)
        The label features (unit rows, non-negative).
    network_ : DACNetwork
        The trained network.
    history_ : DACHistory
    network_name_ : str
    epoch_seconds_, total_seconds_ : float
    n_features_in_ : int

    References
    ----------
    J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, "Deep Adaptive Image Clustering", ICCV 2017.
    Code: https://github.com/vector-1127/DAC.
    """

    def __init__(self, n_clusters: int = 10, *, variant: str = "dac_star", network: str = "auto",
                 upper: float = 0.99, lower: float | None = None, epochs: int = 50, chunk_size: int = 1000,
                 chunk_passes: int = 10, batch_size: int = 32, steps_per_batch: int = 2, lr: float = 1e-3,
                 pair_loss: str = "bce", distill_weight: float | None = None, distill_on: str | None = None,
                 augmentation: bool | str | Mapping = True, bn_batch_stats: bool = True,
                 device: str | None = None, random_state: int | None = None, progress: bool = True,
                 checkpoint_path: str | os.PathLike | None = None) -> None:
        store_init_args(self, locals())

    # -- validation -----------------------------------------------------------------------------

    def _check_X(self, X) -> np.ndarray:
        return check_inputs(X, (4,), "(N, C, H, W) images (reshape flat rows first, e.g. X.reshape(-1, 1, 28, 28))")

    def check_params(self, X) -> dict:
        """Validate every parameter against ``X`` (or an array of X's shape) before any compute.

        Returns the settings with the defaults filled in; raises :class:`InvalidParameter` naming the fix.
        """
        return self._resolved(X)

    def _resolved(self, X: np.ndarray) -> dict:
        """Validate every parameter against X and return the defaults filled in (before any compute)."""
        n = X.shape[0]
        k = self.n_clusters
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 2 <= k <= n:
            raise InvalidParameter(f"n_clusters must be an integer in [2, number of samples = {n}], got {k!r}.")
        if self.variant not in VARIANTS:
            raise InvalidParameter(f"variant must be one of {VARIANTS}, got {self.variant!r}.")
        h, w = X.shape[2], X.shape[3]
        if self.network == "auto":
            if h != w:
                raise InvalidParameter(f"DAC's networks take square images, got {h}x{w}; resize them first.")
            network = default_architecture(h, self.variant)
        elif self.network in ALLCONV_ARCHITECTURES:
            network = self.network
            size = ALLCONV_ARCHITECTURES[network].input_size
            if (h, w) != (size, size):
                raise InvalidParameter(f"network {network!r} takes {size}x{size} images, X has {h}x{w}; resize X "
                                       "or use network='auto'.")
        else:
            raise InvalidParameter(f"network must be 'auto' or one of {list_dac_networks()}, got {self.network!r}.")
        lower = self.lower if self.lower is not None else (0.75 if self.variant == "dac_star" else 0.80)
        for name, v in (("upper", self.upper), ("lower", lower)):
            if not isinstance(v, (int, float, np.floating)) or isinstance(v, bool):
                raise InvalidParameter(f"{name} must be a number in (0, 1), got {v!r}.")
        if not 0 < lower <= self.upper < 1:
            raise InvalidParameter(f"thresholds must satisfy 0 < lower <= upper < 1, got lower={lower}, "
                                   f"upper={self.upper}.")
        for name, minimum in (("epochs", 0), ("chunk_size", 2), ("chunk_passes", 1), ("batch_size", 2),
                              ("steps_per_batch", 1)):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < minimum:
                raise InvalidParameter(f"{name} must be an integer >= {minimum}, got {v!r}.")
        chunk = min(int(self.chunk_size), n)
        if self.batch_size > chunk:
            raise InvalidParameter(f"batch_size ({self.batch_size}) exceeds the chunk of {chunk} images; lower "
                                   "batch_size or raise chunk_size.")
        if not isinstance(self.lr, (int, float)) or isinstance(self.lr, bool) or not self.lr > 0:
            raise InvalidParameter(f"lr (learning rate) must be > 0, got {self.lr!r}.")
        if self.pair_loss not in PAIR_LOSSES:
            raise InvalidParameter(f"pair_loss must be one of {PAIR_LOSSES}, got {self.pair_loss!r}.")
        dw = self.distill_weight if self.distill_weight is not None else (10.0 if self.variant == "dac_star" else 1.0)
        if not isinstance(dw, (int, float)) or isinstance(dw, bool) or not (np.isfinite(dw) and dw >= 0):
            raise InvalidParameter(f"distill_weight must be a finite number >= 0, got {dw!r}.")
        don = self.distill_on or ("label_features" if self.variant == "dac_star" else "softmax")
        if don not in DISTILL_ON:
            raise InvalidParameter(f"distill_on must be one of {DISTILL_ON}, got {don!r}.")
        aug = self._augmentation_settings(network)
        rs = self.random_state
        if rs is not None and not (isinstance(rs, (int, np.integer)) and not isinstance(rs, bool) and rs >= 0):
            raise InvalidParameter(f"random_state must be None or an integer >= 0, got {rs!r}.")
        check_checkpoint_path(self.checkpoint_path)
        return dict(network=network, lower=float(lower), distill_weight=float(dw), distill_on=don,
                    augmentation=aug, chunk=chunk)

    def _augmentation_settings(self, network: str) -> dict | None:
        a = self.augmentation
        if a is False or a is None:
            return None
        if a is True:
            return dict(AUGMENTATION_PRESETS[_PRESET_OF_NETWORK[network]])
        if isinstance(a, str):
            if a not in AUGMENTATION_PRESETS:
                raise InvalidParameter(f"augmentation must be True, False, a mapping or one of "
                                       f"{sorted(AUGMENTATION_PRESETS)}, got {a!r}.")
            return dict(AUGMENTATION_PRESETS[a])
        if isinstance(a, Mapping):
            keys = set(AUGMENTATION_PRESETS["mnist"])
            if not set(a) <= keys:
                raise InvalidParameter(f"augmentation mapping keys must be among {sorted(keys)}, got {sorted(a)}.")
            settings = {**AUGMENTATION_PRESETS["mnist"], **a}
            KerasImageAugment(**settings)  # validates the values
            return settings
        raise InvalidParameter(f"augmentation must be a bool, a preset name or a mapping, got {a!r}.")

    # -- fitting --------------------------------------------------------------------------------

    def _checkpoint_config(self, X: np.ndarray, r: dict) -> dict:
        skip = {"progress", "device", "checkpoint_path"}
        cfg = {k: v for k, v in self.get_params(deep=False).items() if k not in skip}
        aug = r["augmentation"]
        cfg.update(method="DAC", data=data_fingerprint(X), resolved={**r, "augmentation": aug})
        return cfg

    def fit(self, X, y=None):
        """Train the label-feature network on X with the adaptive pairwise loop.

        Parameters
        ----------
        X : array-like of float, shape (N, C, H, W)
            Images, prepared as the scripts do (:func:`center_images`: pixels / 255 minus the mean).
            Heights and widths must suit the network (16, 28, 32 or 96 with ``network="auto"``).
        y : ignored

        Returns
        -------
        self
        """
        X = self._check_X(X)
        r = self._resolved(X)
        seed = 0 if self.random_state is None else int(self.random_state)
        device = resolve_device(self.device)
        t0 = time.perf_counter()
        generator = seed_everything(seed)
        net = DACNetwork(X.shape[1], int(self.n_clusters), r["network"], batch_stats=bool(self.bn_batch_stats),
                         generator=torch.Generator().manual_seed(seed)).to(device)
        augment = KerasImageAugment(**r["augmentation"], seed=seed + 1) if r["augmentation"] else None
        optimizer = self._optimizer(net)
        history = DACHistory()
        start = 0
        cfg = self._checkpoint_config(X, r) if self.checkpoint_path is not None else None
        chash = config_hash(cfg) if cfg is not None else None
        if self.checkpoint_path is not None and Path(self.checkpoint_path).exists():
            start = self._resume(net, optimizer, generator, augment, history, chash, device)

        Xt = torch.from_numpy(X).to(device)
        bar = tqdm(range(start, self.epochs), desc="DAC", disable=not self.progress, leave=False)
        for epoch in bar:
            t_epoch = time.perf_counter()
            if self.variant == "dac":
                optimizer = self._optimizer(net)  # cifar10_2.py recompiles every epoch: fresh RMSprop state
            upper, lower = dac_thresholds(epoch, self.epochs, self.variant, float(self.upper), r["lower"])
            loss, pos, sel = self._epoch(Xt, net, optimizer, augment, generator, upper, lower, r)
            history.losses.append(loss)
            history.thresholds.append((upper, lower))
            history.positive_fraction.append(pos)
            history.selected_fraction.append(sel)
            history.epoch_seconds.append(time.perf_counter() - t_epoch)
            bar.set_postfix(loss=f"{loss:.4g}", th=f"{upper:.3f}")
            if self.checkpoint_path is not None:
                atomic_torch_save({
                    "format": _CHECKPOINT_FORMAT, "config_hash": chash, "config": cfg, "epoch": epoch + 1,
                    "network": net.state_dict(), "optimizer": optimizer.state_dict(),
                    "generator": generator.get_state(), "augment": augment.get_state() if augment else None,
                    "history": {k: getattr(history, k) for k in ("losses", "epoch_seconds", "thresholds",
                                                                   "positive_fraction", "selected_fraction")},
                }, self.checkpoint_path)

        y_all, z_all = _forward_all(net, Xt, int(self.batch_size))
        self.network_ = net
        self.network_name_ = r["network"]
        self.label_features_ = z_all.float().cpu().numpy()
        self.labels_ = z_all.argmax(1).cpu().numpy().astype(np.int64)
        self.history_ = history
        self.epoch_seconds_ = history.mean_epoch_seconds
        self.total_seconds_ = time.perf_counter() - t0
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        return self

    def _optimizer(self, net: DACNetwork) -> torch.optim.Optimizer:
        return torch.optim.RMSprop(net.parameters(), lr=float(self.lr), alpha=0.9, eps=1e-8)

    def _resume(self, net, optimizer, generator, augment, history, chash, device) -> int:
        state = load_checkpoint(self.checkpoint_path, chash, fmt=_CHECKPOINT_FORMAT, map_location=device)
        net.load_state_dict(state["network"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        if augment is not None and state["augment"] is not None:
            augment.set_state(state["augment"])
        for k, v in state["history"].items():
            setattr(history, k, [tuple(t) if isinstance(t, (list, tuple)) else t for t in v])
        history.resumed_from = int(state["epoch"])
        return int(state["epoch"])

    def _epoch(self, Xt, net, optimizer, augment, generator, upper, lower, r) -> tuple[float, float, float]:
        """One epoch over ``N // chunk`` chunks; returns (mean loss, positive fraction, selected fraction)."""
        n, chunk, bs = Xt.shape[0], r["chunk"], int(self.batch_size)
        wd, on_softmax = r["distill_weight"], r["distill_on"] == "softmax"
        perm = torch.randperm(n, generator=generator)
        total = torch.zeros((), device=Xt.device)
        steps, pos, sel = 0, 0.0, 0.0
        n_chunks = n // chunk
        for c in range(n_chunks):
            Xc = Xt.index_select(0, perm[c * chunk:(c + 1) * chunk].to(Xt.device))  # (M, C, H, W)
            y_frozen, z_frozen = _forward_all(net, Xc, bs)  # frozen network, clean images
            sim = z_frozen @ z_frozen.T  # (M, M) cosine similarities
            target, selected = pair_targets(sim, upper, lower, self.variant)
            distill_target = y_frozen if on_softmax else z_frozen
            pos += float(target.mean())
            sel += 1.0 if selected is None else float(selected.float().mean())
            net.train()
            for _ in range(self.chunk_passes):
                order = torch.randperm(chunk, generator=generator).to(Xt.device)
                for j in range(chunk // bs):
                    idx = order[j * bs:(j + 1) * bs]  # (B,)
                    xb = Xc.index_select(0, idx)
                    t_b = target[idx][:, idx]  # (B, B): only in-batch pairs
                    s_b = None if selected is None else selected[idx][:, idx]
                    d_b = distill_target.index_select(0, idx)
                    for _ in range(self.steps_per_batch):
                        xa = augment(xb) if augment is not None else xb
                        y, z = net(xa)
                        loss = pair_loss(z @ z.T, t_b, s_b, self.pair_loss)
                        if wd > 0:
                            loss = loss + wd * _distill_loss(y if on_softmax else z, d_b)
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        optimizer.step()
                        total += loss.detach()
                        steps += 1
        return float(total) / max(steps, 1), pos / max(n_chunks, 1), sel / max(n_chunks, 1)

    # -- inference ------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise InvalidParameter("DAC is not fitted yet; call fit(X) first.")

    def transform(self, X) -> np.ndarray:
        """Label features (N, K) float32 of X with the trained network (batches of ``batch_size`` in order)."""
        self._check_fitted()
        X = self._check_X(X)
        if tuple(X.shape[1:]) != self.network_.input_shape:
            raise InvalidParameter(f"X has images of shape {X.shape[1:]}, the network was trained on "
                                   f"{self.network_.input_shape} (C, H, W).")
        device = next(self.network_.parameters()).device
        return _forward_all(self.network_, torch.from_numpy(X).to(device), int(self.batch_size))[1].cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """Cluster of each image: argmax of its label feature; int64 (N,)."""
        return self.transform(X).argmax(1).astype(np.int64)

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_
