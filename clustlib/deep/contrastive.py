"""Contrastive Clustering (CC; Li et al., AAAI 2021), the network DeepCluE (Huang et al.) builds on.

A ResNet backbone (torchvision's ImageNet stem, trained from scratch, fc removed: 512-d average-pooled
features) feeds two heads on two augmented views of every image:

* the instance projector ``g_I``: Linear(512, 512) -> ReLU -> Linear(512, 128) -> L2 normalisation,
  trained with NT-Xent at temperature 0.5 over the 2B vectors of a batch (:func:`instance_loss`);
* the cluster projector ``g_C``: Linear(512, 512) -> ReLU -> Linear(512, K) -> softmax, whose K
  *columns* (one per cluster, over the batch) are contrasted the same way at temperature 1.0, plus
  ``log K - H(p)`` for each view's cluster marginal ``p`` (:func:`cluster_loss`).

Both losses weigh 1; Adam (lr 3e-4, no weight decay, no schedule), batches of 256 with the last
incomplete batch dropped. Cluster labels are the argmax of ``g_C`` in eval mode on the test transform
(a plain resize). Every detail follows the authors' code (Yunfan-Li/Contrastive-Clustering), which
differs from the paper's eq. 1 in masking the self-similarity out of the denominator.

:meth:`ContrastiveClustering.layer_features` returns the activations DeepCluE ensembles: backbone
stages (``conv1``, ``conv2_x`` ... ``conv5_x`` flattened, ``fc6`` the pooled vector), the instance
head's hidden layer ``fc7`` and output ``fc8``, and the cluster head's hidden layer ``fc9``.

References
----------
Y. Li, P. Hu, Z. Liu, D. Peng, J. T. Zhou, X. Peng, "Contrastive Clustering", AAAI 2021.
Code: https://github.com/Yunfan-Li/Contrastive-Clustering (MIT), re-implemented.
D. Huang, D.-H. Chen, X. Chen, C.-D. Wang, J.-H. Lai, "DeepCluE: Enhanced Deep Clustering via
Multi-Layer Ensembles in Neural Networks", IEEE TETCI 8(2), 2024 (arXiv 2206.00359).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClusterMixin
from torch import nn

from clustlib.deep._base import check_inputs, is_finite_number, is_int, store_init_args
from clustlib.deep.augment import hsv_to_rgb, rgb_to_grey, rgb_to_hsv
from clustlib.deep.engine import (GeneratorState, batched_inference, begin_fit, check_fitted, estimator_config,
                                  finish_fit, full_precision, resolve_device, resolve_precision, run_epochs,
                                  to_device_batch)
from clustlib.deep.training import TrainHistory, check_checkpoint_path
from clustlib.errors import InvalidParameter

__all__ = [
    "ContrastiveClustering",
    "ContrastiveNetwork",
    "ContrastiveAugment",
    "ContrastiveHistory",
    "instance_loss",
    "cluster_loss",
    "CC_LAYERS",
    "DEEPCLUE_LAYERS",
]

BACKBONES = ("resnet34", "resnet18")
#: Layers :meth:`ContrastiveNetwork.features` can return, in forward order. ``conv1`` is the 7x7
#: convolution after BN and ReLU (before the max-pool); ``conv2_x`` ... ``conv5_x`` the outputs of
#: torchvision's ``layer1`` ... ``layer4``; ``fc6`` the 512-d average-pooled vector; ``fc7`` and
#: ``fc9`` the hidden layers of the instance and cluster heads after their ReLU (Caffe-style
#: in-place ReLU, as "fc7" features are usually read); ``fc8`` the instance head's L2-normalised
#: 128-d output.
CC_LAYERS = ("conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "fc6", "fc7", "fc8", "fc9")
#: DeepCluE's six layers: three of the backbone (the notes' best guess), fc7/fc8 of g_I, fc9 of g_C.
DEEPCLUE_LAYERS = ("conv4_x", "conv5_x", "fc6", "fc7", "fc8", "fc9")


# ---------------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------------


def _nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent of paired rows: each of the 2n rows against its partner, itself masked out; mean over 2n."""
    n = a.shape[0]
    x = torch.cat([a, b], 0)  # (2n, d)
    logits = (x @ x.T) / temperature  # (2n, 2n)
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=x.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(x.device)
    # CC sums the cross-entropy and divides by 2n
    return F.cross_entropy(logits, target, reduction="sum") / (2 * n)


@full_precision
def instance_loss(z_i: torch.Tensor, z_j: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """CC's instance-level contrastive loss (NT-Xent) of two views.

    Parameters
    ----------
    z_i, z_j : torch.Tensor, shape (B, d)
        L2-normalised instance projections of the two views; row r of both comes from image r.
    temperature : float, default=0.5

    Returns
    -------
    torch.Tensor
        Scalar: for each of the 2B rows, ``-log(exp(s_pos / t) / sum_{k != self} exp(s_k / t))`` with
        ``s`` the dot products, averaged over the 2B rows. The self-similarity is left out of the
        denominator (the code; the paper's eq. 1 keeps it).
    """
    if z_i.shape != z_j.shape or z_i.ndim != 2 or z_i.shape[0] < 2:
        raise InvalidParameter(f"instance_loss needs two (B, d) tensors with B >= 2, got {tuple(z_i.shape)} "
                               f"and {tuple(z_j.shape)}.")
    return _nt_xent(z_i, z_j, float(temperature))


@full_precision
def cluster_loss(c_i: torch.Tensor, c_j: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """CC's cluster-level contrastive loss of two views, entropy term included.

    Parameters
    ----------
    c_i, c_j : torch.Tensor, shape (B, K)
        Soft cluster assignments (rows on the simplex) of the two views.
    temperature : float, default=1.0

    Returns
    -------
    torch.Tensor
        Scalar: NT-Xent over the 2K cluster columns compared by cosine similarity (mean over 2K), plus
        ``(log K - H(p_i)) + (log K - H(p_j))`` where ``p`` is a view's column sums divided by their
        total and ``H`` the natural-log entropy.
    """
    if c_i.shape != c_j.shape or c_i.ndim != 2 or c_i.shape[1] < 2:
        raise InvalidParameter(f"cluster_loss needs two (B, K) tensors with K >= 2, got {tuple(c_i.shape)} "
                               f"and {tuple(c_j.shape)}.")
    k = c_i.shape[1]
    entropy_term = c_i.new_zeros(())
    for c in (c_i, c_j):
        p = c.sum(0)
        p = p / p.sum()  # (K,)
        entropy_term = entropy_term + math.log(k) + (p * torch.log(p)).sum()
    cols_i = F.normalize(c_i.T, dim=1, eps=1e-8)  # (K, B)
    cols_j = F.normalize(c_j.T, dim=1, eps=1e-8)
    return _nt_xent(cols_i, cols_j, float(temperature)) + entropy_term


# ---------------------------------------------------------------------------------------------
# network
# ---------------------------------------------------------------------------------------------


class ContrastiveNetwork(nn.Module):
    """CC's network: torchvision ResNet (no fc) + instance projector + cluster projector.

    Parameters
    ----------
    n_clusters : int
        K, the width of the cluster head.
    backbone : {"resnet34", "resnet18"}, default="resnet34"
        torchvision's ResNet with the ImageNet stem (7x7 stride-2 conv, 3x3 stride-2 max-pool), no
        pretrained weights, its own initialisation (Kaiming-normal fan-out convs, BN 1/0,
        ``zero_init_residual=False``). Takes (B, 3, H, W) with H, W >= 32.
    feature_dim : int, default=128
        Width of the instance projection.
    seed : int, default=0
        Seeds the initial weights (torch's global generator is forked, not disturbed).

    Notes
    -----
    ``forward(x)`` returns ``(z, c)``: the L2-normalised instance projection (B, 128) and the cluster
    softmax (B, K).
    """

    def __init__(self, n_clusters: int, backbone: str = "resnet34", *, feature_dim: int = 128, seed: int = 0) -> None:
        super().__init__()
        import torchvision

        if backbone not in BACKBONES:
            raise InvalidParameter(f"backbone must be one of {BACKBONES}, got {backbone!r}.")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            resnet = getattr(torchvision.models, backbone)(weights=None)
            rep = resnet.fc.in_features  # 512
            resnet.fc = nn.Identity()
            self.backbone = resnet
            self.instance_projector = nn.Sequential(nn.Linear(rep, rep), nn.ReLU(), nn.Linear(rep, feature_dim))
            self.cluster_projector = nn.Sequential(nn.Linear(rep, rep), nn.ReLU(), nn.Linear(rep, int(n_clusters)),
                                                   nn.Softmax(dim=1))
        self.n_clusters = int(n_clusters)
        self.backbone_name = backbone

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.backbone(x)  # (B, 512)
        z = F.normalize(self.instance_projector(h), dim=1)  # (B, 128)
        c = self.cluster_projector(h)  # (B, K)
        return z, c

    def features(self, x: torch.Tensor, layers: tuple[str, ...] = DEEPCLUE_LAYERS) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` (names from :data:`CC_LAYERS`), each flattened to (B, D)."""
        r, want, out = self.backbone, set(layers), {}
        h = r.relu(r.bn1(r.conv1(x)))
        if "conv1" in want:
            out["conv1"] = h.flatten(1)
        h = r.maxpool(h)
        for name, stage in zip(("conv2_x", "conv3_x", "conv4_x", "conv5_x"), (r.layer1, r.layer2, r.layer3, r.layer4)):
            h = stage(h)
            if name in want:
                out[name] = h.flatten(1)
        h = torch.flatten(r.avgpool(h), 1)  # (B, 512)
        out["fc6"] = h
        hid_i = self.instance_projector[1](self.instance_projector[0](h))  # (B, 512), after ReLU
        out["fc7"] = hid_i
        out["fc8"] = F.normalize(self.instance_projector[2](hid_i), dim=1)  # (B, 128)
        out["fc9"] = self.cluster_projector[1](self.cluster_projector[0](h))  # (B, 512), after ReLU
        return {name: out[name] for name in layers}


# ---------------------------------------------------------------------------------------------
# augmentation
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------------------------


@dataclass
class ContrastiveHistory(TrainHistory):
    """Per-epoch record of :meth:`ContrastiveClustering.fit`.

    Attributes
    ----------
    losses, epoch_seconds, resumed_from
        As :class:`clustlib.deep.TrainHistory` (mean total loss over the epoch's batches).
    instance_losses, cluster_losses : list of float
        Mean instance and cluster losses (the latter with its entropy term).
    entropy_terms : list of float
        Mean ``2 log K - H(p_i) - H(p_j)`` (0 when both views' cluster marginals are uniform).
    """

    instance_losses: list = field(default_factory=list)
    cluster_losses: list = field(default_factory=list)
    entropy_terms: list = field(default_factory=list)



class ContrastiveClustering(ClusterMixin, BaseEstimator):
    """Contrastive Clustering: instance- and cluster-level contrastive learning on two augmented views.

    Parameters
    ----------
    n_clusters : int
        K, in [2, N]; the width of the cluster head.
    backbone : {"resnet34", "resnet18"}, default="resnet34"
        torchvision ResNet with the ImageNet stem, from scratch (CC and DeepCluE: ResNet34).
    image_size : int, default=224
        Every image (train crops and test resize) goes to this size (CC: 224, also for 32x32 CIFAR).
        At least 32.
    epochs : int, default=1000
        0 returns the untrained network's clustering.
    batch_size : int, default=256
        Images per step (the last incomplete batch of an epoch is dropped, as CC's DataLoader); in
        [2, N]. Also the inference batch.
    lr : float, default=3e-4
        Adam learning rate (weight decay 0, no schedule).
    instance_temperature, cluster_temperature : float, default=0.5, 1.0
    color_strength : float, default=0.5
        s of the colour jitter (CC: 0.5 for CIFAR/Tiny-ImageNet, 1.0 for ImageNet-10/dogs).
    blur : bool, default=False
        Gaussian blur in the augmentation (CC: only ImageNet-10/dogs).
    device : str, optional
        Default CUDA if available, else CPU.
    random_state : int, optional
        Seed of the initial weights, batch order and augmentation (None -> 0). Same seed, same
        numbers on CPU.
    progress : bool, default=True
    checkpoint_path : path, optional
        Written after every epoch; resumed when it matches this configuration (``epochs`` aside, so a
        run can be continued to more epochs) and data, refused
        (:class:`clustlib.errors.CheckpointMismatch`) otherwise.
    amp : {False, True, "bfloat16", "float16"}, default=False
        Mixed precision (:func:`clustlib.deep.engine.resolve_precision`): False trains in float32, as the
        paper's code did; True uses bfloat16 (float16 with a loss scaler on CUDA devices without bfloat16).

    Attributes
    ----------
    labels_ : ndarray of int64, shape (N,)
        argmax of the cluster head on the test transform, network in eval mode.
    probabilities_ : ndarray of float32, shape (N, K)
        The cluster head's softmax on the training images.
    network_ : ContrastiveNetwork
    history_ : ContrastiveHistory
    precision_ : str
        "float32", "bfloat16" or "float16": what the fit trained in.
    epoch_seconds_, total_seconds_ : float
    n_features_in_ : int

    Notes
    -----
    X holds RGB images (N, 3, H, W) with pixels in [0, 1] (CC's ``ToTensor`` without normalisation);
    replicate grey images to 3 channels first. The whole data set stays on the device at its own size;
    each batch is augmented there.

    References
    ----------
    Y. Li, P. Hu, Z. Liu, D. Peng, J. T. Zhou, X. Peng, "Contrastive Clustering", AAAI 2021.
    Code: https://github.com/Yunfan-Li/Contrastive-Clustering.
    """

    def __init__(self, n_clusters: int, *, backbone: str = "resnet34", image_size: int = 224, epochs: int = 1000,
                 batch_size: int = 256, lr: float = 3e-4, instance_temperature: float = 0.5,
                 cluster_temperature: float = 1.0, color_strength: float = 0.5, blur: bool = False,
                 device: str | None = None, random_state: int | None = None, progress: bool = True,
                 checkpoint_path: str | os.PathLike | None = None, amp: bool | str = False) -> None:
        store_init_args(self, locals())

    # -- validation -----------------------------------------------------------------------------

    def _check_X(self, X) -> np.ndarray:
        X = check_inputs(X, (4,), "(N, 3, H, W) RGB images")
        if X.shape[1] != 3:
            raise InvalidParameter(f"X must hold RGB images (N, 3, H, W), got {X.shape[1]} channel(s); replicate "
                                   "grey images first, e.g. np.repeat(X, 3, axis=1).")
        if X.min() < 0 or X.max() > 1:
            raise InvalidParameter(f"X's pixels must lie in [0, 1] (CC feeds ToTensor output, no normalisation), got "
                                   f"[{X.min():.3g}, {X.max():.3g}]; divide 8-bit images by 255.")
        return X

    def check_params(self, X) -> dict:
        """Validate every parameter against ``X`` (or an array of X's shape) before any compute.

        Returns the settings with the defaults filled in; raises :class:`InvalidParameter` naming the fix.
        """
        X = np.asarray(X)
        if X.ndim != 4:
            raise InvalidParameter(f"X must have shape (N, 3, H, W), got {X.shape}.")
        n = X.shape[0]
        k = self.n_clusters
        if not is_int(k, 2) or k > n:
            raise InvalidParameter(f"n_clusters must be an integer in [2, number of samples = {n}], got {k!r}.")
        if self.backbone not in BACKBONES:
            raise InvalidParameter(f"backbone must be one of {BACKBONES}, got {self.backbone!r}.")
        if not is_int(self.image_size, 32):
            raise InvalidParameter(f"image_size must be an integer >= 32 (the ResNet stem divides by 32), got "
                                   f"{self.image_size!r}; CC uses 224.")
        if not is_int(self.epochs, 0):
            raise InvalidParameter(f"epochs must be an integer >= 0, got {self.epochs!r}.")
        if not is_int(self.batch_size, 2) or self.batch_size > n:
            raise InvalidParameter(f"batch_size must be an integer in [2, number of samples = {n}] (the last "
                                   f"incomplete batch is dropped), got {self.batch_size!r}.")
        for name in ("lr", "instance_temperature", "cluster_temperature"):
            v = getattr(self, name)
            if not is_finite_number(v) or not v > 0:
                raise InvalidParameter(f"{name} must be a finite number > 0, got {v!r}.")
        if not is_finite_number(self.color_strength) or not 0 <= self.color_strength <= 1.25:
            raise InvalidParameter(f"color_strength must be a number in [0, 1.25], got {self.color_strength!r}.")
        if not isinstance(self.blur, (bool, np.bool_)):
            raise InvalidParameter(f"blur must be True or False, got {self.blur!r}.")
        rs = self.random_state
        if rs is not None and not is_int(rs, 0):
            raise InvalidParameter(f"random_state must be None or an integer >= 0, got {rs!r}.")
        check_checkpoint_path(self.checkpoint_path)
        resolve_precision(resolve_device(self.device), self.amp)
        return dict(n_clusters=int(k), backbone=self.backbone, image_size=int(self.image_size),
                    batch_size=int(self.batch_size), steps_per_epoch=n // int(self.batch_size))

    # -- fitting --------------------------------------------------------------------------------

    def _checkpoint_config(self, X: np.ndarray) -> dict:
        # no schedule depends on ``epochs``: a checkpoint may be continued to more epochs
        return estimator_config(self, X, skip=("epochs",))

    def fit(self, X, y=None):
        """Train CC's network on X and label every image by the argmax of its cluster head.

        Parameters
        ----------
        X : array-like of float, shape (N, 3, H, W)
            RGB images with pixels in [0, 1].
        y : ignored

        Returns
        -------
        self
        """
        self.check_params(X)
        X = self._check_X(X)
        start = begin_fit(self)
        seed, device, precision, generator = start.seed, start.device, start.precision, start.generator
        net = ContrastiveNetwork(int(self.n_clusters), self.backbone, seed=seed).to(device)
        augment = ContrastiveAugment(int(self.image_size), color_strength=float(self.color_strength),
                                     blur=bool(self.blur), seed=seed + 1)
        optimizer = torch.optim.Adam(net.parameters(), lr=float(self.lr), weight_decay=0.0)
        Xt = torch.from_numpy(X)  # stays on the CPU; batches go to the device one at a time

        def step(epoch: int) -> dict:
            totals = self._epoch(Xt, net, optimizer, augment, generator, precision)
            return dict(zip(("losses", "instance_losses", "cluster_losses", "entropy_terms"), totals))

        history = run_epochs(step, epochs=int(self.epochs), history=ContrastiveHistory(), precision=precision,
                             state=dict(network=net, optimizer=optimizer, generator=generator, augment=augment),
                             checkpoint_path=self.checkpoint_path, config=self._checkpoint_config(X),
                             desc="CC", progress=self.progress)
        self.network_ = net
        with precision.autocast():
            probs = self._infer(Xt, lambda x: net(x)[1])
        self.probabilities_ = probs.float().cpu().numpy()
        self.labels_ = probs.argmax(1).cpu().numpy().astype(np.int64)
        finish_fit(self, start, history, X)
        return self

    def _epoch(self, Xt, net, optimizer, augment, generator, precision) -> tuple[float, float, float, float]:
        """One pass in shuffled full batches; returns mean (total, instance, cluster, entropy term)."""
        n, bs = Xt.shape[0], int(self.batch_size)
        t_i, t_c = float(self.instance_temperature), float(self.cluster_temperature)
        k = int(self.n_clusters)
        device = next(net.parameters()).device
        perm = torch.randperm(n, generator=generator)
        sums = torch.zeros(4, device=device)
        net.train()
        steps = n // bs
        for s in range(steps):
            xb = to_device_batch(Xt, perm[s * bs:(s + 1) * bs], device)  # (B, 3, H, W)
            z_i, c_i = net(augment(xb))
            z_j, c_j = net(augment(xb))
            l_ins = instance_loss(z_i, z_j, t_i)
            l_clu = cluster_loss(c_i, c_j, t_c)
            loss = l_ins + l_clu
            optimizer.zero_grad(set_to_none=True)
            precision.backward(loss)
            precision.step(optimizer)
            with torch.no_grad():
                c_i, c_j = c_i.float(), c_j.float()
                ent = sum(math.log(k) + (p * p.log()).sum() for p in (c_i.sum(0) / c_i.sum(), c_j.sum(0) / c_j.sum()))
                sums += torch.stack([loss.detach().float(), l_ins.detach().float(), l_clu.detach().float(), ent])
        means = (sums / max(steps, 1)).tolist()
        return tuple(float(v) for v in means)

    # -- inference ------------------------------------------------------------------------------

    def _infer(self, Xt: torch.Tensor, head) -> torch.Tensor:
        """``head`` on the test transform of Xt (any device) in eval mode, batches of ``batch_size``; concatenated
        on the network's device."""
        size = int(self.image_size)
        return batched_inference(self.network_, Xt, batch_size=int(self.batch_size),
                                 forward=lambda x: head(resize_images(x, size)))

    def _inference_X(self, X) -> torch.Tensor:
        check_fitted(self)
        X = np.asarray(X)
        if not np.issubdtype(X.dtype, np.number):
            raise InvalidParameter(f"X must be numeric, got dtype {X.dtype}.")
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 4 or X.shape[0] < 1 or X.shape[1] != 3:
            raise InvalidParameter(f"X must hold RGB images (N, 3, H, W), got shape {X.shape}.")
        if not np.all(np.isfinite(X)) or X.min() < 0 or X.max() > 1:
            raise InvalidParameter("X's pixels must be finite and lie in [0, 1]; divide 8-bit images by 255.")
        return torch.from_numpy(X)  # batched_inference moves one batch at a time

    def predict_proba(self, X) -> np.ndarray:
        """Cluster head softmax (N, K) float32 of X (test transform, eval mode)."""
        return self._infer(self._inference_X(X), lambda x: self.network_(x)[1]).float().cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """Cluster of each image: argmax of the cluster head; int64 (N,)."""
        return self.predict_proba(X).argmax(1).astype(np.int64)

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_

    def layer_features(self, X, layers: tuple[str, ...] = DEEPCLUE_LAYERS) -> dict[str, np.ndarray]:
        """Activations of the trained network's layers for DeepCluE's multi-layer ensemble.

        Parameters
        ----------
        X : array-like of float, shape (N, 3, H, W)
            RGB images in [0, 1]; resized to ``image_size`` (the test transform), network in eval mode.
        layers : tuple of str, default=DEEPCLUE_LAYERS
            Names from :data:`CC_LAYERS`: ``conv1``, ``conv2_x`` ... ``conv5_x`` (feature maps
            flattened, C x H' x W'), ``fc6`` (512), ``fc7`` (512, after ReLU), ``fc8`` (128,
            L2-normalised), ``fc9`` (512, after ReLU).

        Returns
        -------
        dict of str -> ndarray of float32, shape (N, D)
            In the order of ``layers``. At 224 pixels conv4_x has D = 256 x 14 x 14 = 50176 and conv5_x
            512 x 7 x 7 = 25088; DeepCluE reduces layers wider than 1000 with PCA.
        """
        if isinstance(layers, str) or not layers or any(name not in CC_LAYERS for name in layers):
            raise InvalidParameter(f"layers must be a non-empty sequence of names from {CC_LAYERS}, got {layers!r}.")
        if len(set(layers)) != len(layers):
            raise InvalidParameter(f"layers must not repeat a name, got {layers!r}.")
        Xt = self._inference_X(X)
        feats = self._infer(Xt, lambda x: self.network_.features(x, tuple(layers)))
        return {name: feats[name].float().cpu().numpy() for name in layers}
