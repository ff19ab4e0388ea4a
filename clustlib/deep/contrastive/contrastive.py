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
from sklearn.base import BaseEstimator, ClusterMixin

from clustlib.deep.augment.contrastive import ContrastiveAugment, resize_images
from clustlib.deep.base import TrainHistory, check_inputs, check_n_clusters, is_finite_number, is_int, store_init_args
from clustlib.deep.contrastive.loss import cluster_loss, instance_loss
from clustlib.deep.engine import (batched_inference, begin_fit, check_checkpoint_path, check_fitted,
                                  estimator_config, finish_fit, resolve_device, resolve_precision, run_epochs,
                                  to_device_batch)
from clustlib.deep.networks.contrastive import BACKBONES, CC_LAYERS, DEEPCLUE_LAYERS, ContrastiveNetwork
from clustlib.errors import InvalidParameter

__all__ = ["ContrastiveClustering", "ContrastiveHistory"]


@dataclass
class ContrastiveHistory(TrainHistory):
    """The :class:`~clustlib.deep.TrainHistory` of :meth:`ContrastiveClustering.fit` (``losses``: mean total loss
    over the epoch's batches), with per epoch:

    Attributes
    ----------
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
        K, in [2, N]; the width of the cluster head; required (``fit`` refuses None).
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

    def __init__(self, n_clusters: int | None = None, *, backbone: str = "resnet34", image_size: int = 224, epochs: int = 1000,
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
        k = check_n_clusters(self.n_clusters, n, type(self).__name__)
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
