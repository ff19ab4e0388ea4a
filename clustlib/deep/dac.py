"""DAC: Deep Adaptive Image Clustering (Chang et al., ICCV 2017), as the paper describes it by default.

DAC recasts clustering as binary pairwise classification. A ConvNet maps each image to a
K-dimensional *label feature* (the L2-normalised softmax, :func:`clustlib.deep.allconv.restraint_layer`);
the cosine similarity of two images is the dot product of their label features. Training
alternates (Algorithm 1):

1. with the network frozen, compute the label features of a chunk of ``m`` images and label every
   pair of distinct images in it, ``m (m - 1) / 2`` candidate pairs: "same cluster" when their
   similarity exceeds ``u(λ)``, "different" below ``l(λ)``, left out in between (eq. 6,
   :func:`select_pairs`);
2. update the network by minimising eq. 10, the binary cross-entropy (eq. 2) over the selected
   pairs of the chunk;
3. after a pass over all ``N // m`` chunks, update λ by gradient descent on ``E(λ) = u(λ) - l(λ)``
   (eq. 11-12) and stop once ``l(λ) > u(λ)``.

Cluster labels are the argmax of the label features (eq. 13).

The paper's schedule (Sec. 5.4, :func:`paper_thresholds`): ``u(λ) = 0.95 - λ``, ``l(λ) = 0.455 +
0.1 λ``, λ starts at 0 with learning rate ``η = 0.009``. "Iteration" is one pass of the ``repeat``
loop of Algorithm 1: the inner loop visits every chunk of the data (an epoch), then λ is updated
once (line 9). Eq. 12 is gradient descent on E, whose derivative is ``-1 - 0.1 = -1.1``, so λ grows
by ``1.1 η = 0.0099`` per iteration and ``l > u`` first holds after 46 iterations (λ = 0.455).
DAC* ("all the samples are considered for training in each iteration") uses one threshold
``u = l``, from 0.95 annealed linearly to 0.5; the paper gives neither the length of the
annealing nor of its constant start, so clustlib anneals from the first iteration to 0.5 at the
last of the same 46 iterations as DAC (equal budgets; :func:`paper_iterations`).

How the chunk's selected pairs become gradient steps is not stated beyond "update w by
minimizing Eq. (10)" per chunk (``pairs="chunk"``): each of ``chunk_passes`` RMSprop steps takes
the gradient of the mean BCE over *all* the chunk's selected pairs, accumulated over mini-batches
of ``batch_size`` images (a no-grad pass gives the chunk's label features and dL/dz, then each
mini-batch is re-run with gradients and back-propagates its rows of dL/dz), so memory stays at
one mini-batch and the gradient is that of the whole chunk. Each step sees a fresh augmentation
of the chunk.

What the paper leaves open is taken from the authors' scripts (vector-1127/DAC) and named at each
parameter: the ALL-ConvNets (:mod:`clustlib.deep.allconv`; the paper defers them to its
unpublished supplementary material), RMSprop with lr 1e-3, batch normalisation with batch
statistics (Keras ``mode=2``), the ImageDataGenerator augmentation of the network's script (the
paper does not mention augmentation), 32-image mini-batches, and 10 steps per chunk
(the scripts' 10 passes per chunk).

The scripts differ from the paper (:data:`DAC_SCRIPT_SETTINGS`, named presets
``"script_<name>"`` in :data:`PRESETS`, :meth:`DAC.from_preset`): all but ``cifar10_2.py`` run
DAC* with a threshold from 0.99 (0.9 in mnist.py) down by ``(upper - lower) / epochs`` per epoch
(``threshold_schedule="script"``); ``cifar10_2.py``'s two thresholds start at 0.99 and 0.80 and
meet half-way after 50 epochs; each chunk gets ``chunk_passes`` shuffled passes in mini-batches
and each mini-batch ``steps_per_batch`` steps on in-batch pairs only (``pairs="batch"``); they add
a self-distillation BCE against the frozen network's output at the start of the chunk (weight 10
for DAC*, 1 in cifar10_2.py, none in mnist.py); ``mnist.py`` uses a squared-error pair loss and
``cifar10_2.py`` Keras 1's swapped-argument BCE, sums its loss per row and recompiles (restarting
RMSprop) every epoch. All of these are off by default.

References
----------
J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, "Deep Adaptive Image Clustering", ICCV 2017.
Code: https://github.com/vector-1127/DAC (Keras 1.1.2 + Theano; no license file, re-implemented).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from clustlib.deep._base import ImageClusterer, is_finite_number, is_int, store_init_args
from clustlib.deep.allconv import ALLCONV_ARCHITECTURES, DACNetwork, default_architecture, list_dac_networks
from clustlib.deep.engine import (GeneratorState, batched_inference, begin_fit, check_fitted, estimator_config,
                                  finish_fit, full_precision, resolve_device, resolve_precision, run_epochs,
                                  to_device_batch)
from clustlib.deep.training import TrainHistory, check_checkpoint_path
from clustlib.errors import InvalidParameter

__all__ = [
    "DAC",
    "DACHistory",
    "KerasImageAugment",
    "AUGMENTATION_PRESETS",
    "DAC_SCRIPT_SETTINGS",
    "PRESETS",
    "PAPER_ETA",
    "dac_thresholds",
    "paper_thresholds",
    "paper_iterations",
    "script_thresholds",
    "select_pairs",
    "pair_targets",
    "pair_loss",
    "chunk_pair_loss",
    "center_images",
]

VARIANTS = ("dac", "dac_star")
SCHEDULES = ("paper", "script")
PAIR_MODES = ("chunk", "batch")
PAIR_LOSSES = ("bce", "mse", "keras1_swapped_bce")
DISTILL_ON = ("label_features", "softmax")
#: The paper's adaptive rule (Sec. 5.4): u(λ) = PAPER_UPPER - λ, l(λ) = PAPER_LOWER + PAPER_LOWER_SLOPE λ,
#: λ from 0 with learning rate PAPER_ETA; DAC* anneals u = l from PAPER_UPPER to PAPER_STAR_END.
PAPER_UPPER, PAPER_LOWER, PAPER_LOWER_SLOPE, PAPER_ETA, PAPER_STAR_END = 0.95, 0.455, 0.1, 0.009, 0.5
#: Keras 1's clipping constant in binary cross-entropy.
_EPS = 1e-7

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
#: its log, the paper's 0.5218), the only two-threshold script.
_SCRIPT_COMMON = dict(threshold_schedule="script", pairs="batch", chunk_size=1000, lr=1e-3, pair_loss="bce",
                      restart_optimizer=False)
DAC_SCRIPT_SETTINGS: dict[str, dict] = {
    "mnist": dict(_SCRIPT_COMMON, variant="dac_star", network="mnist", upper=0.9, lower=0.5, epochs=20,
                  batch_size=128, chunk_passes=5, steps_per_batch=1, pair_loss="mse", distill_weight=0.0,
                  augmentation="mnist"),
    "cifar100": dict(_SCRIPT_COMMON, variant="dac_star", network="cifar", upper=0.99, lower=0.75, epochs=50,
                     batch_size=32, chunk_passes=10, steps_per_batch=2, distill_weight=10.0,
                     distill_on="label_features", augmentation="cifar100"),
    "cifar10_2": dict(_SCRIPT_COMMON, variant="dac", network="cifar_v2", upper=0.99, lower=0.80, epochs=50,
                      batch_size=32, chunk_passes=10, steps_per_batch=2, pair_loss="keras1_swapped_bce",
                      distill_weight=1.0, distill_on="softmax", augmentation="cifar10_2", restart_optimizer=True),
    "stl": dict(_SCRIPT_COMMON, variant="dac_star", network="stl", upper=0.99, lower=0.5, epochs=75, batch_size=32,
                chunk_passes=10, steps_per_batch=2, distill_weight=10.0, distill_on="label_features",
                augmentation="stl"),
    "imagenet10": dict(_SCRIPT_COMMON, variant="dac_star", network="stl", upper=0.99, lower=0.75, epochs=50,
                       batch_size=32, chunk_passes=10, steps_per_batch=2, distill_weight=10.0,
                       distill_on="label_features", augmentation="stl"),
    "imagenet_dog": dict(_SCRIPT_COMMON, variant="dac_star", network="imagenet_dog", upper=0.99, lower=0.75,
                         epochs=50, batch_size=32, chunk_passes=10, steps_per_batch=2, distill_weight=10.0,
                         distill_on="label_features", augmentation="stl"),
}
#: Named settings for :meth:`DAC.from_preset`: ``"paper"`` (the defaults: DAC as Sec. 4-5.4 state it),
#: ``"paper_star"`` (DAC*) and ``"script_<name>"`` for each script of :data:`DAC_SCRIPT_SETTINGS`.
PRESETS: dict[str, dict] = {"paper": {}, "paper_star": dict(variant="dac_star"),
                            **{f"script_{name}": kw for name, kw in DAC_SCRIPT_SETTINGS.items()}}


# ---------------------------------------------------------------------------------------------
# the adaptive rules
# ---------------------------------------------------------------------------------------------


def _paper_lambda_step(eta: float) -> float:
    """λ's increment per iteration, eq. 12: ``-η dE/dλ`` with ``E = u - l``, ``dE/dλ = -1 - slope``."""
    return eta * (1.0 + PAPER_LOWER_SLOPE)


def paper_iterations(eta: float = PAPER_ETA, upper: float = PAPER_UPPER, lower: float = PAPER_LOWER) -> int:
    """Iterations the paper's rule trains before ``l(λ) > u(λ)`` stops it (Algorithm 1, line 10).

    Iteration ``k`` (0-based) trains with ``λ_k = k * 1.1 η``; after it λ is updated and training stops
    at the first ``k + 1`` with ``l(λ_{k+1}) > u(λ_{k+1})``, i.e. ``1.1 λ > upper - lower``. With the
    paper's values (η = 0.009, 0.95, 0.455): 46.
    """
    if not eta > 0:
        raise InvalidParameter(f"eta (the learning rate of λ) must be > 0, got {eta!r}.")
    gap = (upper - lower) / (1.0 + PAPER_LOWER_SLOPE)  # λ at which u = l
    return max(1, math.floor(gap / _paper_lambda_step(eta) + 1e-9) + 1)


def paper_thresholds(iteration: int, variant: str = "dac", *, eta: float = PAPER_ETA, upper: float = PAPER_UPPER,
                     lower: float | None = None) -> tuple[float, float]:
    """(u, l) of the paper's rule in iteration ``iteration`` (0-based).

    ``"dac"``: ``u = upper - λ``, ``l = lower + 0.1 λ`` (lower default 0.455) with ``λ = iteration * 1.1 η``.
    ``"dac_star"``: one threshold from ``upper`` at iteration 0 down linearly to ``lower`` (default 0.5)
    at the last of :func:`paper_iterations` ``(eta)`` iterations, returned twice.
    """
    if variant not in VARIANTS:
        raise InvalidParameter(f"variant must be one of {VARIANTS}, got {variant!r}.")
    if variant == "dac":
        lam = iteration * _paper_lambda_step(eta)
        lo = PAPER_LOWER if lower is None else lower
        return upper - lam, lo + PAPER_LOWER_SLOPE * lam
    end = PAPER_STAR_END if lower is None else lower
    n = paper_iterations(eta)
    th = upper - (upper - end) * min(iteration, n - 1) / max(n - 1, 1)
    return th, th


def script_thresholds(epoch: int, epochs: int, variant: str = "dac_star", upper: float = 0.99,
                      lower: float = 0.75) -> tuple[float, float]:
    """The (upper, lower) thresholds of the authors' scripts during epoch ``epoch`` (0-based) of ``epochs``.

    ``"dac_star"``: one threshold ``th = upper - epoch * (upper - lower) / epochs``, returned twice.
    ``"dac"`` (cifar10_2.py): ``u = upper - epoch * eta`` and ``l = lower + epoch * eta`` with
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


def dac_thresholds(epoch: int, epochs: int | None = None, variant: str = "dac", upper: float = PAPER_UPPER,
                   lower: float | None = None, *, schedule: str = "paper", eta: float = PAPER_ETA
                   ) -> tuple[float, float]:
    """The (upper, lower) thresholds of epoch ``epoch``: :func:`paper_thresholds` (``epochs`` unused) or
    :func:`script_thresholds` (``schedule="script"``; ``lower`` default 0.75 for DAC*, 0.80 for DAC)."""
    if schedule == "paper":
        return paper_thresholds(epoch, variant, eta=eta, upper=upper, lower=lower)
    if schedule == "script":
        lo = lower if lower is not None else (0.75 if variant == "dac_star" else 0.80)
        return script_thresholds(epoch, int(epochs or 0), variant, upper, lo)
    raise InvalidParameter(f"threshold_schedule must be one of {SCHEDULES}, got {schedule!r}.")


def pair_targets(similarity: torch.Tensor, upper: float, lower: float,
                 variant: str = "dac") -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pair labels from the frozen network's cosine similarities (Chang et al., eq. 6).

    Parameters
    ----------
    similarity : torch.Tensor, shape (M, M)
        Dot products of L2-normalised label features.
    upper, lower : float
        Thresholds from :func:`dac_thresholds`.
    variant : {"dac", "dac_star"}

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


def select_pairs(similarity: torch.Tensor, upper: float, lower: float,
                 variant: str = "dac") -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 6 over the ``M (M - 1) / 2`` candidate pairs of distinct images of a chunk.

    Returns the 0/1 ``target`` (M, M) of :func:`pair_targets` and a boolean ``mask`` (M, M) that is
    True only above the diagonal (``i < j``) and, for DAC, where the pair is selected (above ``upper``
    or below ``lower``). ``mask.sum()`` is the number of selected pairs, at most ``M (M - 1) / 2``
    (exactly that for DAC*).
    """
    target, selected = pair_targets(similarity, upper, lower, variant)
    mask = torch.ones_like(similarity, dtype=torch.bool).triu(1)
    return target, mask if selected is None else mask & selected


def _pair_elements(gram: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-pair loss of ``kind`` (see :func:`pair_loss`), same shape as ``gram``."""
    if kind == "bce":
        g = gram.clamp(_EPS, 1 - _EPS)
        return -(target * torch.log(g) + (1 - target) * torch.log(1 - g))
    if kind == "mse":
        return (gram - target) ** 2
    if kind == "keras1_swapped_bce":
        r = target.clamp(_EPS, 1 - _EPS)
        return -(gram * torch.log(r) + (1 - gram) * torch.log(1 - r))
    raise InvalidParameter(f"pair loss must be one of {PAIR_LOSSES}, got {kind!r}.")


@full_precision
def pair_loss(gram: torch.Tensor, target: torch.Tensor, selected: torch.Tensor | None = None,
              kind: str = "bce") -> torch.Tensor:
    """The scripts' pairwise loss of one mini-batch (``pairs="batch"``).

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
    elem = _pair_elements(gram, target, kind)  # (B, B)
    if selected is None:
        return elem.mean()
    sel = selected.to(elem.dtype)
    return (elem * sel).sum() / sel.sum().clamp_min(1.0) / gram.shape[0]


@full_precision
def chunk_pair_loss(z: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """Eq. 10 over a chunk (``pairs="chunk"``): the mean loss over the selected pairs of :func:`select_pairs`.

    Parameters
    ----------
    z : torch.Tensor, shape (M, K)
        Label features of the chunk (unit rows).
    target, mask : torch.Tensor, shape (M, M)
        From :func:`select_pairs`.
    kind : {"bce", "mse", "keras1_swapped_bce"}
        ``"bce"`` is eq. 2.

    Returns
    -------
    torch.Tensor
        Scalar; 0 when no pair is selected. The paper sums over the pairs; the mean only rescales the
        gradient, which RMSprop normalises anyway.
    """
    elem = _pair_elements(z @ z.T, target, kind)  # (M, M)
    sel = mask.to(elem.dtype)
    return (elem * sel).sum() / sel.sum().clamp_min(1.0)


@full_precision
def _gram(z: torch.Tensor) -> torch.Tensor:
    """Cosine similarities (M, M) of unit label features z (M, K), in float32 (thresholds near 1 need it)."""
    return z @ z.T


@full_precision
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


# ---------------------------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------------------------


@dataclass
class DACHistory(TrainHistory):
    """Per-epoch (per-iteration) record of :meth:`DAC.fit`.

    Attributes
    ----------
    losses, epoch_seconds, resumed_from
        As :class:`clustlib.deep.TrainHistory` (mean loss over the epoch's gradient steps).
    thresholds : list of (float, float)
        (upper, lower) used in each epoch.
    positive_fraction : list of float
        Fraction of a chunk's candidate pairs (distinct images) labelled "same cluster", mean over chunks.
    selected_fraction : list of float
        Fraction of a chunk's candidate pairs selected for training (1 for DAC*), mean over chunks.
    candidate_pairs : list of int
        Distinct pairs per chunk the loss can reach: ``m (m - 1) / 2`` with ``pairs="chunk"``; the pairs
        inside the mini-batches of one pass, ``(m // B) B (B - 1) / 2``, with ``pairs="batch"``.
    """

    thresholds: list = field(default_factory=list)
    positive_fraction: list = field(default_factory=list)
    selected_fraction: list = field(default_factory=list)
    candidate_pairs: list = field(default_factory=list)


def _batches(n: int, size: int) -> list[slice]:
    """Consecutive slices of ``size`` over ``n`` rows, a last one-row slice merged into the one before.

    Batch normalisation with batch statistics cannot normalise a batch of one.
    """
    bounds = list(range(0, n, size)) + [n]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def _forward_all(net: DACNetwork, X: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(softmax, label features), each (N, K) on the network's device, computed in order in batches of
    ``batch_size`` (:func:`_batches`; X on any device).

    With batch statistics (Keras mode 2) the network stays in training mode, as Keras' ``predict``
    behaves; otherwise it runs in eval mode.
    """
    return batched_inference(net, X, batch_size=batch_size, train_mode=net.batch_stats,
                             batches=_batches(X.shape[0], batch_size))



def _accumulate_chunk_gradient(net: DACNetwork, xa: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                               parts: list[slice], kind: str, distill: tuple | None = None,
                               backward=torch.Tensor.backward) -> torch.Tensor:
    """Add to the parameters' ``.grad`` the gradient of eq. 10 over a whole chunk, one mini-batch at a time.

    A no-grad pass gives the chunk's label features z (M, K) mini-batch by mini-batch (``parts``) and the
    gradient dL/dz of :func:`chunk_pair_loss`; each mini-batch is then run again with gradients (the same
    inputs and batch statistics, so the same z) and back-propagates its rows of dL/dz. The result equals
    back-propagating the loss of the concatenated mini-batch outputs, with one mini-batch in memory.
    ``distill`` = (weight, on_softmax, targets (M, K)) adds the scripts' self-distillation term (mean over
    the chunk). ``backward(surrogate)`` back-propagates (a float16 fit scales it first). Returns the loss
    (scalar, detached).
    """
    with torch.no_grad():
        z_all = torch.cat([net(xa[b])[1] for b in parts])  # (M, K)
    z_all.requires_grad_(True)
    loss = chunk_pair_loss(z_all, target, mask, kind)
    (grad_z,) = torch.autograd.grad(loss, z_all)  # (M, K)
    loss = loss.detach()
    m = xa.shape[0]
    for b in parts:
        y, z = net(xa[b])
        surrogate = (z * grad_z[b]).sum()
        if distill is not None:
            weight, on_softmax, targets = distill
            d = _distill_loss(y if on_softmax else z, targets[b]) * (z.shape[0] / m)
            surrogate = surrogate + weight * d
            loss = loss + weight * d.detach()
        backward(surrogate)
    return loss


class DAC(ImageClusterer):
    """Deep Adaptive Clustering: pairwise self-labelling of a ConvNet's label features.

    The defaults are the paper's (Chang et al. 2017, Sec. 3-5.4); where the paper is silent the value
    comes from the authors' scripts, as each parameter says. :meth:`from_preset` builds the scripts'
    settings (:data:`PRESETS`).

    Parameters
    ----------
    n_clusters : int, default=10
        K, in [2, N]; the width of the network's softmax.
    variant : {"dac", "dac_star"}, default="dac"
        DAC (two thresholds, only confident pairs; the paper's method) or DAC* (one threshold, every
        pair labelled; the paper's ablation and what most scripts run). See the module docstring.
    network : str, default="auto"
        ALL-ConvNet variant (:func:`clustlib.deep.allconv.list_dac_networks`). ``"auto"`` picks by
        image size the network of the authors' script for that size (the paper's are in its
        unpublished supplementary material): 28 -> "mnist", 32 -> "cifar" (DAC*) or "cifar_v2" (DAC),
        96 -> "stl", 16 -> "small16" (clustlib's small variant, not in the paper).
    threshold_schedule : {"paper", "script"}, default="paper"
        "paper": :func:`paper_thresholds` (u = 0.95 - λ, l = 0.455 + 0.1 λ, λ += 1.1 ``eta`` per
        iteration, stop when l > u; DAC* 0.95 -> 0.5). "script": :func:`script_thresholds` over
        ``epochs`` epochs (the scripts' presets).
    eta : float, default=0.009
        The paper's learning rate of λ (Sec. 5.4); the paper schedule trains :func:`paper_iterations`
        (eta) iterations (46). A larger ``eta`` runs the same curriculum in fewer iterations.
    upper : float, default=0.95
        Starting upper threshold (the single DAC* threshold starts here); 0.95 is the paper's u(0);
        the scripts start at 0.99 (mnist.py 0.9).
    lower : float, optional
        DAC: the starting lower threshold, default 0.455 (the paper's l(0); "script" schedule: 0.80,
        cifar10_2.py). DAC*: the threshold's end point, default 0.5 (the paper; "script": 0.75,
        cifar100.py). Needs ``0 < lower <= upper < 1``.
    epochs : int, optional
        Iterations (passes over the data; thresholds update after each). None: the schedule's own,
        46 for the paper's (:func:`paper_iterations`), 50 for "script" (cifar100.py). With the paper
        schedule an integer caps the 46 (the thresholds still follow the rule, so a cap stops part-way
        through the curriculum; raise ``eta`` to shorten it instead). 0 returns the untrained network's
        clustering.
    chunk_size : int, default=1000
        m, the images whose pairs are labelled at once with the frozen network (the paper's m = 1000;
        at most N). Each iteration visits ``N // m`` random chunks; the remainder waits for the next.
    pairs : {"chunk", "batch"}, default="chunk"
        "chunk": every gradient step minimises eq. 10 over all selected pairs of the chunk (the paper);
        "batch": each step uses the pairs inside one mini-batch only (the scripts).
    chunk_passes : int, default=10
        "chunk": gradient steps per chunk (the paper gives no number; 10 as the scripts' passes per
        chunk). "batch": shuffled passes over the chunk in mini-batches (scripts: 10, mnist.py 5).
    batch_size : int, default=32
        Mini-batch of images (the scripts' 32; mnist.py 128): "chunk" accumulates the chunk's gradient
        over such mini-batches, "batch" forms its pairs inside one; also the batch of inference, which
        sets the batch statistics. >= 2.
    steps_per_batch : int, default=1
        "batch" only: gradient steps per mini-batch, each on a new augmentation of it (scripts: 2,
        mnist.py 1). Must be 1 with "chunk".
    lr : float, default=1e-3
        RMSprop learning rate (rho 0.9, epsilon 1e-8: the scripts' Keras defaults; the paper names no
        optimiser).
    pair_loss : {"bce", "mse", "keras1_swapped_bce"}, default="bce"
        See :func:`pair_loss`. "bce" is the paper's eq. 2; "mse" mnist.py's, "keras1_swapped_bce"
        cifar10_2.py's.
    distill_weight : float, default=0.0
        Weight of the scripts' self-distillation BCE (not in the paper; 10 in the DAC* scripts, 1 in
        cifar10_2.py); 0 switches it off.
    distill_on : {"label_features", "softmax"}, optional
        Output the self-distillation acts on; default "label_features" for DAC* (stl.py), "softmax"
        for DAC (cifar10_2.py).
    restart_optimizer : bool, default=False
        Fresh RMSprop state every epoch, as cifar10_2.py's recompiling does.
    augmentation : bool, str or mapping, default=True
        True: the ImageDataGenerator settings of the script the network comes from (the paper does not
        mention augmentation); a name from :data:`AUGMENTATION_PRESETS`; a mapping of
        :class:`KerasImageAugment` arguments; False: none.
    bn_batch_stats : bool, default=True
        Batch normalisation with batch statistics at inference too (Keras ``mode=2`` in the scripts,
        which made the paper's numbers). Label features of a sample then depend on its batch: they are
        computed in batches of ``batch_size`` in the order of X. False: running statistics at inference.
    device : str, optional
        Default CUDA if available, else CPU.
    random_state : int, optional
        Seed of the initial weights, shuffles and augmentation (None -> 0). Same seed, same numbers on CPU.
    progress : bool, default=True
    checkpoint_path : path, optional
        Written after every epoch; resumed when it matches this configuration and data, refused
        (:class:`clustlib.errors.CheckpointMismatch`) otherwise.
    amp : {False, True, "bfloat16", "float16"}, default=False
        Mixed precision (:func:`clustlib.deep.engine.resolve_precision`): False trains in float32, as the
        scripts did; True uses bfloat16 (float16 with a loss scaler on CUDA devices without bfloat16).

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
    n_iterations_ : int
        Iterations the schedule ran for.
    precision_ : str
        "float32", "bfloat16" or "float16": what the fit trained in.
    epoch_seconds_, total_seconds_ : float
    n_features_in_ : int

    References
    ----------
    J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, "Deep Adaptive Image Clustering", ICCV 2017.
    Code: https://github.com/vector-1127/DAC.
    """

    def __init__(self, n_clusters: int = 10, *, variant: str = "dac", network: str = "auto",
                 threshold_schedule: str = "paper", eta: float = PAPER_ETA, upper: float = PAPER_UPPER,
                 lower: float | None = None, epochs: int | None = None, chunk_size: int = 1000,
                 pairs: str = "chunk", chunk_passes: int = 10, batch_size: int = 32, steps_per_batch: int = 1,
                 lr: float = 1e-3, pair_loss: str = "bce", distill_weight: float = 0.0,
                 distill_on: str | None = None, restart_optimizer: bool = False,
                 augmentation: bool | str | Mapping = True, bn_batch_stats: bool = True,
                 device: str | None = None, random_state: int | None = None, progress: bool = True,
                 checkpoint_path: str | os.PathLike | None = None, amp: bool | str = False) -> None:
        store_init_args(self, locals())

    _presets = PRESETS  # from_preset: "paper", "paper_star", "script_mnist", "script_cifar10_2"...

    # -- validation -----------------------------------------------------------------------------

    def check_params(self, X) -> dict:
        """Validate every parameter against ``X`` (or an array of X's shape) before any compute.

        Returns the settings with the defaults filled in; raises :class:`InvalidParameter` naming the fix.
        """
        return self._resolved(X)

    def _resolved(self, X: np.ndarray) -> dict:
        """Validate every parameter against X and return the defaults filled in (before any compute)."""
        n = X.shape[0]
        k = self.n_clusters
        if not is_int(k, 2) or not k <= n:
            raise InvalidParameter(f"n_clusters must be an integer in [2, number of samples = {n}], got {k!r}.")
        if self.variant not in VARIANTS:
            raise InvalidParameter(f"variant must be one of {VARIANTS}, got {self.variant!r}.")
        if self.threshold_schedule not in SCHEDULES:
            raise InvalidParameter(f"threshold_schedule must be one of {SCHEDULES}, got {self.threshold_schedule!r}.")
        if self.pairs not in PAIR_MODES:
            raise InvalidParameter(f"pairs must be one of {PAIR_MODES}, got {self.pairs!r}.")
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
        paper = self.threshold_schedule == "paper"
        if paper:
            lower = self.lower if self.lower is not None else (PAPER_LOWER if self.variant == "dac" else PAPER_STAR_END)
        else:
            lower = self.lower if self.lower is not None else (0.75 if self.variant == "dac_star" else 0.80)
        for name, v in (("upper", self.upper), ("lower", lower)):
            if not is_finite_number(v):
                raise InvalidParameter(f"{name} must be a number in (0, 1), got {v!r}.")
        if not 0 < lower <= self.upper < 1:
            raise InvalidParameter(f"thresholds must satisfy 0 < lower <= upper < 1, got lower={lower}, "
                                   f"upper={self.upper}.")
        if not is_finite_number(self.eta) or not self.eta > 0:
            raise InvalidParameter(f"eta (the learning rate of λ) must be a number > 0, got {self.eta!r}.")
        if self.epochs is not None and not is_int(self.epochs, 0):
            raise InvalidParameter(f"epochs must be None or an integer >= 0, got {self.epochs!r}.")
        if paper:
            rule = paper_iterations(float(self.eta), float(self.upper), lower) if self.variant == "dac" else \
                paper_iterations(float(self.eta))
            iterations = rule if self.epochs is None else min(int(self.epochs), rule)
        else:
            iterations = 50 if self.epochs is None else int(self.epochs)
        for name, minimum in (("chunk_size", 2), ("chunk_passes", 1), ("batch_size", 2), ("steps_per_batch", 1)):
            v = getattr(self, name)
            if not is_int(v, minimum):
                raise InvalidParameter(f"{name} must be an integer >= {minimum}, got {v!r}.")
        if self.pairs == "chunk" and self.steps_per_batch != 1:
            raise InvalidParameter(f"steps_per_batch applies to pairs='batch' (the scripts' in-batch steps); with "
                                   f"pairs='chunk' every step covers the whole chunk, got {self.steps_per_batch}.")
        chunk = min(int(self.chunk_size), n)
        if self.batch_size > chunk:
            raise InvalidParameter(f"batch_size ({self.batch_size}) exceeds the chunk of {chunk} images; lower "
                                   "batch_size or raise chunk_size.")
        if not is_finite_number(self.lr) or not self.lr > 0:
            raise InvalidParameter(f"lr (learning rate) must be > 0, got {self.lr!r}.")
        if self.pair_loss not in PAIR_LOSSES:
            raise InvalidParameter(f"pair_loss must be one of {PAIR_LOSSES}, got {self.pair_loss!r}.")
        dw = self.distill_weight
        if not is_finite_number(dw) or dw < 0:
            raise InvalidParameter(f"distill_weight must be a finite number >= 0, got {dw!r}.")
        don = self.distill_on or ("label_features" if self.variant == "dac_star" else "softmax")
        if don not in DISTILL_ON:
            raise InvalidParameter(f"distill_on must be one of {DISTILL_ON}, got {don!r}.")
        if not isinstance(self.restart_optimizer, (bool, np.bool_)):
            raise InvalidParameter(f"restart_optimizer must be True or False, got {self.restart_optimizer!r}.")
        aug = self._augmentation_settings(network)
        rs = self.random_state
        if rs is not None and not is_int(rs, 0):
            raise InvalidParameter(f"random_state must be None or an integer >= 0, got {rs!r}.")
        check_checkpoint_path(self.checkpoint_path)
        resolve_precision(resolve_device(self.device), self.amp)
        return dict(network=network, lower=float(lower), iterations=int(iterations), distill_weight=float(dw),
                    distill_on=don, augmentation=aug, chunk=chunk)

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
        return estimator_config(self, X, resolved=r)

    def thresholds(self, epoch: int, r: dict) -> tuple[float, float]:
        """(upper, lower) of epoch ``epoch`` under this estimator's schedule (``r``: :meth:`check_params`)."""
        return dac_thresholds(epoch, r["iterations"], self.variant, float(self.upper), r["lower"],
                              schedule=self.threshold_schedule, eta=float(self.eta))

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
        start = begin_fit(self)
        seed, device, precision, generator = start.seed, start.device, start.precision, start.generator
        net = DACNetwork(X.shape[1], int(self.n_clusters), r["network"], batch_stats=bool(self.bn_batch_stats),
                         generator=torch.Generator().manual_seed(seed)).to(device)
        augment = KerasImageAugment(**r["augmentation"], seed=seed + 1) if r["augmentation"] else None
        optimizer = self._optimizer(net)
        Xt = torch.from_numpy(X)  # stays on the CPU; chunks go to the device one at a time
        epoch_step = self._chunk_epoch if self.pairs == "chunk" else self._batch_epoch

        def step(epoch: int) -> dict:
            if self.restart_optimizer:
                optimizer.state.clear()  # cifar10_2.py recompiles every epoch: fresh RMSprop state
            upper, lower = self.thresholds(epoch, r)
            loss, pos, sel, candidates = epoch_step(Xt, net, optimizer, augment, generator, upper, lower, r,
                                                    precision)
            return dict(losses=loss, thresholds=(upper, lower), positive_fraction=pos, selected_fraction=sel,
                        candidate_pairs=candidates)

        state = dict(network=net, optimizer=optimizer, generator=generator)
        if augment is not None:
            state["augment"] = augment
        history = run_epochs(step, epochs=r["iterations"], history=DACHistory(), state=state, precision=precision,
                             checkpoint_path=self.checkpoint_path, config=self._checkpoint_config(X, r),
                             desc="DAC", progress=self.progress)
        with precision.autocast():
            z_all = self._label_features(net, Xt)
        self.network_ = net
        self.network_name_ = r["network"]
        self.n_iterations_ = r["iterations"]
        self.label_features_ = z_all.float().cpu().numpy()
        self.labels_ = z_all.argmax(1).cpu().numpy().astype(np.int64)
        finish_fit(self, start, history, X)
        return self

    def _label_features(self, net: DACNetwork, X: torch.Tensor) -> torch.Tensor:
        """Label features (N, K) of X (any device) in order, in batches of ``batch_size`` (see
        :func:`_forward_all`)."""
        return _forward_all(net, X, int(self.batch_size))[1]

    def _optimizer(self, net: DACNetwork) -> torch.optim.Optimizer:
        return torch.optim.RMSprop(net.parameters(), lr=float(self.lr), alpha=0.9, eps=1e-8)

    def _chunks(self, Xt, net, generator, r):
        """Yield, per chunk of one epoch: its images (M, C, H, W) on the network's device, the frozen network's
        (softmax, label features) on the clean images and their similarities (M, M)."""
        n, chunk = Xt.shape[0], r["chunk"]
        device = next(net.parameters()).device
        perm = torch.randperm(n, generator=generator)
        for c in range(n // chunk):
            Xc = to_device_batch(Xt, perm[c * chunk:(c + 1) * chunk], device)  # (M, C, H, W)
            y_frozen, z_frozen = _forward_all(net, Xc, int(self.batch_size))  # frozen network, clean images
            yield Xc, y_frozen, z_frozen, _gram(z_frozen)

    @staticmethod
    def _pair_shares(target: torch.Tensor, mask: torch.Tensor) -> tuple[float, float]:
        """(positive, selected) fractions of the chunk's M (M - 1) / 2 candidate pairs."""
        m = target.shape[0]
        candidates = m * (m - 1) / 2
        return float(target.triu(1).sum()) / candidates, float(mask.sum()) / candidates

    def _chunk_epoch(self, Xt, net, optimizer, augment, generator, upper, lower, r, precision):
        """The paper's iteration (``pairs="chunk"``): per chunk, ``chunk_passes`` steps on eq. 10 over all its
        selected pairs. Returns (mean loss, positive fraction, selected fraction, candidate pairs per chunk)."""
        bs, chunk = int(self.batch_size), r["chunk"]
        wd, on_softmax = r["distill_weight"], r["distill_on"] == "softmax"
        total = torch.zeros((), device=next(net.parameters()).device)
        steps, pos, sel, n_chunks = 0, 0.0, 0.0, 0
        parts = _batches(chunk, bs)
        for Xc, y_frozen, z_frozen, sim in self._chunks(Xt, net, generator, r):
            target, mask = select_pairs(sim, upper, lower, self.variant)  # (M, M) each
            p, s = self._pair_shares(target, mask)
            pos, sel, n_chunks = pos + p, sel + s, n_chunks + 1
            distill_target = y_frozen if on_softmax else z_frozen
            net.train()
            for _ in range(self.chunk_passes):
                xa = augment(Xc) if augment is not None else Xc
                optimizer.zero_grad(set_to_none=True)
                loss = _accumulate_chunk_gradient(net, xa, target, mask, parts, self.pair_loss,
                                                  (wd, on_softmax, distill_target) if wd > 0 else None,
                                                  backward=precision.backward)
                precision.step(optimizer)
                total += loss
                steps += 1
        return float(total) / max(steps, 1), pos / max(n_chunks, 1), sel / max(n_chunks, 1), chunk * (chunk - 1) // 2

    def _batch_epoch(self, Xt, net, optimizer, augment, generator, upper, lower, r, precision):
        """The scripts' epoch (``pairs="batch"``): per chunk, ``chunk_passes`` shuffled passes in mini-batches,
        ``steps_per_batch`` steps on each mini-batch's own pairs (a remainder batch is dropped). Returns as
        :meth:`_chunk_epoch`."""
        chunk, bs = r["chunk"], int(self.batch_size)
        wd, on_softmax = r["distill_weight"], r["distill_on"] == "softmax"
        total = torch.zeros((), device=next(net.parameters()).device)
        steps, pos, sel, n_chunks = 0, 0.0, 0.0, 0
        for Xc, y_frozen, z_frozen, sim in self._chunks(Xt, net, generator, r):
            p, s = self._pair_shares(*select_pairs(sim, upper, lower, self.variant))
            pos, sel, n_chunks = pos + p, sel + s, n_chunks + 1
            target, selected = pair_targets(sim, upper, lower, self.variant)  # (M, M), diagonal included
            distill_target = y_frozen if on_softmax else z_frozen
            net.train()
            for _ in range(self.chunk_passes):
                order = torch.randperm(chunk, generator=generator).to(Xc.device)
                for j in range(chunk // bs):
                    idx = order[j * bs:(j + 1) * bs]  # (B,)
                    xb = Xc.index_select(0, idx)
                    t_b = target[idx][:, idx]  # (B, B): only in-batch pairs
                    s_b = None if selected is None else selected[idx][:, idx]
                    d_b = distill_target.index_select(0, idx)
                    for _ in range(self.steps_per_batch):
                        xa = augment(xb) if augment is not None else xb
                        y, z = net(xa)
                        loss = pair_loss(_gram(z), t_b, s_b, self.pair_loss)
                        if wd > 0:
                            loss = loss + wd * _distill_loss(y if on_softmax else z, d_b)
                        optimizer.zero_grad(set_to_none=True)
                        precision.backward(loss)
                        precision.step(optimizer)
                        total += loss.detach()
                        steps += 1
        return (float(total) / max(steps, 1), pos / max(n_chunks, 1), sel / max(n_chunks, 1),
                (chunk // bs) * bs * (bs - 1) // 2)

    # -- inference ------------------------------------------------------------------------------

    def transform(self, X) -> np.ndarray:
        """Label features (N, K) float32 of X with the trained network (batches of ``batch_size`` in order)."""
        check_fitted(self)
        X = self._check_X(X)
        if tuple(X.shape[1:]) != self.network_.input_shape:
            raise InvalidParameter(f"X has images of shape {X.shape[1:]}, the network was trained on "
                                   f"{self.network_.input_shape} (C, H, W).")
        return self._label_features(self.network_, torch.from_numpy(X)).float().cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """Cluster of each image: argmax of its label feature; int64 (N,)."""
        return self.transform(X).argmax(1).astype(np.int64)

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_
