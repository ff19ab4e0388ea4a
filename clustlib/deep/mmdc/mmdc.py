"""MMDC: Multi-Modal Deep Clustering (Shiran & Weinshall, ICPR 2020), as the authors' code runs it.

Every image gets a fixed *target*: a sample of a Gaussian mixture with K components in d
dimensions. With the code's defaults (sigma = 0, d = K, one-hot means) each target is exactly a
one-hot vector, its component drawn uniformly at random, so the target cluster sizes are a
multinomial draw (balanced only in expectation). A ConvNet with an L2-normalised d-dimensional
output is trained to map each image to its target; the cluster of an image is the mixture
component nearest to its output (the argmax for one-hot means).

Per epoch (``mmdc.py`` of guysrn/mmdc):

1. from ``refine_epoch`` on, the *refinement* stage: k-means (K clusters, 10 restarts as the
   scikit-learn of the time) on the eval-mode outputs of the centre-crop images; the k-means
   labels are matched (Hungarian, on overlap counts) to the current target components so the ids
   stay stable, and each image's target becomes the mean of its matched component. From then on
   the per-batch reassignment of step 3 stops;
2. with ``rotation=True`` (ResNet18 only), one RotNet epoch: every image of a shuffled batch of
   ``batch_size`` is rotated by 0/90/180/270 degrees *before* its own random crop and resize (no
   flip, jitter or small rotation), and the 4 x ``batch_size`` images train the 4-way rotation
   head with cross-entropy, with the same SGD optimiser and learning rate;
3. the clustering epoch over shuffled batches: before refinement, the network in *eval* mode
   embeds the batch's centre-crop images, and the targets currently held by the batch are permuted
   among its images by the linear assignment that minimises the summed Euclidean distance between
   outputs and targets (:func:`assign_targets`); then one SGD step in *train* mode on a differently
   augmented view, with the mean squared error between outputs and assigned targets;
4. the learning rate follows a MultiStepLR schedule, stepped once per epoch.

Augmentations (:class:`MMDCAugment`, the code's torchvision pipeline drawn per image on a batch
tensor): colour jitter (brightness, contrast, saturation 0.4, hue 0.125, in random order) and
random greyscale (p = 0.2), horizontal flip, a small rotation, then a random crop of a size drawn
from ``crop_sizes`` resized to ``input_size``. The assignment and evaluation view is the centre
crop of ``crop_sizes[0]`` resized to ``input_size``. Pixels are used as they come (the code scales
to [0, 1] and does not standardise).

Defaults are the thesis's (Sec. 4.2, per dataset in :data:`MMDC_SETTINGS`): SGD with lr 0.05 and
momentum 0.9, batch 128; the small VGG on grey images for MNIST, 50 epochs with the learning rate
divided by 10 after epoch 40, and the refinement stage (Sec. 4.4: "the refinement stage was invoked
only when using the MNIST dataset"); ResNet18 with the RotNet task on colour images for the other
datasets, 400 epochs with the learning rate divided by 5 after epoch 350, no refinement. What the
thesis leaves open comes from the README commands of guysrn/mmdc and is named at each parameter:
when MNIST's refinement starts (epoch 20), the crop sizes (MNIST {24, 20, 16} of 28 resized to 32
with rotations of +-25 degrees; CIFAR crop 20 of 32 resized to 32, with flip and colour jitter, the
"20x20 cropping" of Sec. 4.4.2). The README commands differ (:data:`MMDC_README_SETTINGS`, presets
``"readme_<dataset>"`` of :data:`PRESETS`): the learning rate drops by 5 at epoch 300 and every
ResNet18 dataset is refined from epoch 350 of 400.

Refinement, where it runs, starts at ``refine_epoch``; the labels at that moment (the network after
``refine_epoch`` epochs, as the authors' code evaluates after each epoch) are kept as
``labels_before_refinement_``, so one run gives both columns of Table 4.5. The thesis describes
refinement as "an additional step, performed after the main training is concluded"; appending it to
a schedule is ``epochs = E + R, refine_epoch = E`` (the first E epochs are then those of the run
without refinement, bit for bit). Table 4.3 is the Sobel x rotation ablation on CIFAR-10 (the thesis
says that without the rotation task the learning rate had to be lowered to 0.01).

References
----------
G. Shiran, D. Weinshall, "Multi-Modal Deep Clustering: Unsupervised Partitioning of Images",
ICPR 2020 (arXiv:1912.02678); M.Sc. thesis, Hebrew University of Jerusalem.
Code: https://github.com/guysrn/mmdc (re-implemented; no code copied).
S. Gidaris, P. Singh, N. Komodakis, "Unsupervised Representation Learning by Predicting Image
Rotations", ICLR 2018.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from clustlib.deep.augment.mmdc import MMDCAugment
from clustlib.deep.base import (ImageClusterer, TrainHistory, check_n_clusters, is_finite_number, is_int, kmeans,
                                store_init_args)
from clustlib.deep.engine import (batched_inference, check_checkpoint_path, check_fitted,
                                  estimator_config, finish_fit, resolve_device, resolve_precision, run_epochs,
                                  to_device_batch)
from clustlib.deep.mmdc.presets import _NETWORK_DEFAULTS, PRESETS
from clustlib.deep.mmdc.targets import TARGET_MEANS, assign_targets, gmm_means, match_labels, sample_targets
from clustlib.deep.networks.mmdc import MMDC_NETWORKS, build_mmdc_network
from clustlib.errors import InvalidParameter

__all__ = ["MMDC", "MMDCHistory"]

#: Restarts of the refinement k-means: scikit-learn's default when the code was written (< 0.24).
_REFINE_N_INIT = 10


@dataclass
class MMDCHistory(TrainHistory):
    """The :class:`~clustlib.deep.TrainHistory` of :meth:`MMDC.fit` (``losses``: mean clustering MSE over the epoch's
    batches), with per epoch:

    Attributes
    ----------
    rotation_losses : list of float
        Mean RotNet cross-entropy of the epoch (NaN without the rotation task).
    reassigned_fraction : list of float
        Fraction of images whose target component changed during the epoch (per-batch assignment or
        refinement).
    refined : list of bool
        Whether the epoch ran in the refinement stage.
    learning_rates : list of float
        Learning rate used in the epoch.
    """

    rotation_losses: list = field(default_factory=list)
    reassigned_fraction: list = field(default_factory=list)
    refined: list = field(default_factory=list)
    learning_rates: list = field(default_factory=list)


def _batches(perm: torch.Tensor, size: int) -> list[torch.Tensor]:
    """Consecutive chunks of ``perm``; a last chunk of one index joins the one before (train-mode BN needs 2)."""
    parts = list(torch.split(perm, size))
    if len(parts) > 1 and len(parts[-1]) == 1:
        parts[-2:] = [torch.cat(parts[-2:])]
    return parts


class MMDC(ImageClusterer):
    """Multi-Modal Deep Clustering: fit images to fixed mixture targets by per-batch linear assignment.

    Defaults follow the thesis (Sec. 4.2, 4.4) for the network chosen: the MNIST row for the VGG, the
    CIFAR-10 row for the ResNet18; :meth:`from_preset` gives each dataset's row (:data:`PRESETS`,
    ``"thesis_<dataset>"``) or the README command (``"readme_<dataset>"``).

    Parameters
    ----------
    n_clusters : int
        K, in [2, N]; the number of mixture components; required (``fit`` refuses None).
    network : {"auto", "vgg", "resnet18"}, default="auto"
        "auto": the small VGG for 1-channel images (MNIST), ResNet18 otherwise.
    sobel : bool, default=False
        Fixed Sobel input filter (the ablation of Table 4.3).
    rotation : bool, optional
        The RotNet epoch before each clustering epoch. Default: True for ResNet18, False for the VGG
        (which has no rotation head).
    epochs : int, optional
        Default 50 (VGG) or 400 (ResNet18), the thesis; 0 returns the untrained network's clustering.
    refine_epoch : int, optional
        First epoch (0-based) of the k-means refinement stage; ``>= epochs`` disables it. Default 20
        for the VGG (the thesis refines MNIST but does not say from when; 20 is the README's) and none
        for the ResNet18 (the thesis refines only MNIST in its main table; the README refines from 350).
    lr : float, default=0.05
        SGD learning rate (the thesis; 0.01 without the rotation task, Sec. 4.4.1).
    momentum : float, default=0.9
    weight_decay : float, default=5e-4
        Applied to weights with more than one dimension only (BN parameters and biases excluded; the
        code's choice). The thesis uses 1e-4 for CIFAR-100/20 and Tiny-ImageNet.
    lr_milestones : tuple of int, optional
        Epochs at which the learning rate is multiplied by ``lr_gamma`` (MultiStepLR). Default (40,)
        (VGG) or (350,) (ResNet18), the thesis; the README decays at 300.
    lr_gamma : float, optional
        Default 0.1 (VGG) or 0.2 (ResNet18), the thesis's division by 10 and by 5.
    batch_size : int, default=128
        Images per batch (the RotNet batch is 4 x this; the thesis); also the inference batch. >= 2;
        with fewer images, one batch of all of them.
    crop_sizes : tuple of int, optional
        Random-crop sizes of the clustering view; the first is the centre crop of the assignment and
        evaluation view. Default from the image size S: 28 -> (24, 20, 16) (VGG) and 32 -> (20,),
        64 -> (40,), 96 -> (64,) (ResNet18), the README's (the thesis names only the 20x20 crop of
        CIFAR); other sizes scale the same fractions.
    input_size : int, optional
        Crops are resized to this (a multiple of 16). Default 32 for S <= 32, else 64.
    flip, color_jitter : bool, optional
        Default True for ResNet18, False for the VGG. Colour jitter needs 3 channels in [0, 1].
    rotation_degrees : float, optional
        Small random rotation of the clustering view; default 25 (VGG) or 0 (ResNet18).
    target_dim : int, optional
        Dimension d of the targets and of the network output; default K.
    target_sigma : float, default=0.0
        Standard deviation of the isotropic noise around each mean (0: exact means).
    target_means : {"one_hot", "random"}, default="one_hot"
    device, random_state, progress, checkpoint_path, amp
        As every image clusterer takes them (:class:`clustlib.deep.base.ImageClusterer`); ``random_state`` seeds
        the weights, targets, batch order and augmentations, and ``amp=False`` trains in float32 as the paper's
        code did.

    Attributes
    ----------
    labels_ : ndarray of int64, shape (N,)
        What the code scores: the mixture component nearest to each image's output on its centre
        crop, after the last epoch (the argmax for one-hot means).
    labels_before_refinement_ : ndarray of int64, shape (N,), or None
        The same labels when the refinement stage starts (after ``refine_epoch`` epochs: the
        evaluation the code logs before its first k-means); None when no refinement ran.
    embedding_ : ndarray of float32, shape (N, d)
        Those outputs (unit rows).
    target_labels_ : ndarray of int64, shape (N,)
        The component of each image's final target.
    means_ : ndarray of float32, shape (K, d)
    network_ : MMDCSmallVGG or MMDCResNet18
    augment_ : MMDCAugment
    history_ : MMDCHistory
    network_name_ : str
    precision_, epoch_seconds_, total_seconds_, n_features_in_
        As every image clusterer sets them (:class:`clustlib.deep.base.ImageClusterer`).

    References
    ----------
    G. Shiran, D. Weinshall, "Multi-Modal Deep Clustering: Unsupervised Partitioning of Images",
    ICPR 2020. Code: https://github.com/guysrn/mmdc.
    """

    def __init__(self, n_clusters: int | None = None, *, network: str = "auto", sobel: bool = False,
                 rotation: bool | None = None, epochs: int | None = None, refine_epoch: int | None = None,
                 lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 5e-4,
                 lr_milestones: tuple[int, ...] | None = None, lr_gamma: float | None = None, batch_size: int = 128,
                 crop_sizes: tuple[int, ...] | None = None, input_size: int | None = None, flip: bool | None = None,
                 color_jitter: bool | None = None, rotation_degrees: float | None = None,
                 target_dim: int | None = None, target_sigma: float = 0.0, target_means: str = "one_hot",
                 device: str | None = None, random_state: int | None = None, progress: bool = True,
                 checkpoint_path: str | os.PathLike | None = None, amp: bool | str = False) -> None:
        store_init_args(self, locals())

    _presets = PRESETS  # from_preset: "thesis_cifar10", "readme_cifar10"...

    # -- validation -----------------------------------------------------------------------------

    def check_params(self, X) -> dict:
        """Validate every parameter against ``X`` (or an array of X's shape) before any compute.

        Returns the settings with the defaults filled in (``refine_epoch == epochs`` when there is no refinement
        stage); raises :class:`InvalidParameter` naming the fix.
        """
        return self._resolved(self._check_X(X))

    def _resolved(self, X: np.ndarray) -> dict:
        n, c, h, w = X.shape
        k = check_n_clusters(self.n_clusters, n, type(self).__name__)
        if h != w:
            raise InvalidParameter(f"MMDC takes square images, got {h}x{w}; crop or resize them first.")
        if self.network == "auto":
            network = "vgg" if c == 1 else "resnet18"
        elif self.network in MMDC_NETWORKS:
            network = self.network
        else:
            raise InvalidParameter(f"network must be 'auto' or one of {MMDC_NETWORKS}, got {self.network!r}.")
        d = _NETWORK_DEFAULTS[network]
        r = dict(network=network)
        for name in ("rotation", "epochs", "refine_epoch", "lr_milestones", "lr_gamma", "flip", "color_jitter",
                     "rotation_degrees"):
            v = getattr(self, name)
            r[name] = d[name] if v is None else v
        if r["refine_epoch"] is None:  # no refinement stage (the thesis's ResNet18 rows)
            r["refine_epoch"] = r["epochs"]
        if not isinstance(self.sobel, (bool, np.bool_)):
            raise InvalidParameter(f"sobel must be True or False, got {self.sobel!r}.")
        for name in ("rotation", "flip", "color_jitter"):
            if not isinstance(r[name], (bool, np.bool_)):
                raise InvalidParameter(f"{name} must be True, False or None, got {r[name]!r}.")
        if r["rotation"] and network != "resnet18":
            raise InvalidParameter("the rotation task needs the ResNet18's rotation head; use network='resnet18' or "
                                   "rotation=False.")
        if not is_int(r["epochs"], 0):
            raise InvalidParameter(f"epochs must be an integer >= 0, got {r['epochs']!r}.")
        if not is_int(r["refine_epoch"], 0):
            raise InvalidParameter(f"refine_epoch must be an integer >= 0 (>= epochs: no refinement), got "
                                   f"{r['refine_epoch']!r}.")
        ms = r["lr_milestones"]
        if not isinstance(ms, (tuple, list)) or not all(is_int(m, 1) for m in ms) or list(ms) != sorted(set(ms)):
            raise InvalidParameter(f"lr_milestones must be increasing epochs >= 1, e.g. (300,), got {ms!r}.")
        r["lr_milestones"] = tuple(int(m) for m in ms)
        if not is_finite_number(r["lr_gamma"]) or not r["lr_gamma"] > 0:
            raise InvalidParameter(f"lr_gamma must be a number > 0, got {r['lr_gamma']!r}.")
        if not is_finite_number(self.lr) or not self.lr > 0:
            raise InvalidParameter(f"lr (learning rate) must be > 0, got {self.lr!r}.")
        if not is_finite_number(self.momentum) or not 0 <= self.momentum < 1:
            raise InvalidParameter(f"momentum must be in [0, 1), got {self.momentum!r}.")
        if not is_finite_number(self.weight_decay) or self.weight_decay < 0:
            raise InvalidParameter(f"weight_decay must be >= 0, got {self.weight_decay!r}.")
        if not is_int(self.batch_size, 2):
            raise InvalidParameter(f"batch_size must be an integer >= 2, got {self.batch_size!r}.")
        input_size = self.input_size if self.input_size is not None else (32 if h <= 32 else 64)
        if not is_int(input_size, 16) or input_size % 16:
            raise InvalidParameter(f"input_size must be a multiple of 16 (the networks halve it 4 times), got "
                                   f"{input_size!r}.")
        crops = self.crop_sizes if self.crop_sizes is not None else _default_crops(network, h)
        if not isinstance(crops, (tuple, list)) or not crops or not all(is_int(s, 1) and s <= h for s in crops):
            raise InvalidParameter(f"crop_sizes must be a non-empty tuple of sizes in [1, {h}] (the image size), got "
                                   f"{crops!r}.")
        if not is_finite_number(r["rotation_degrees"]) or not 0 <= r["rotation_degrees"] <= 180:
            raise InvalidParameter(f"rotation_degrees must be in [0, 180], got {r['rotation_degrees']!r}.")
        if r["color_jitter"]:
            if c != 3:
                raise InvalidParameter(f"color_jitter needs RGB images (3 channels), X has {c}; set "
                                       "color_jitter=False.")
            if X.min() < 0 or X.max() > 1:
                raise InvalidParameter("color_jitter needs pixels in [0, 1] (the code's ToTensor scale); divide by "
                                       "255 or set color_jitter=False.")
        dim = self.target_dim if self.target_dim is not None else k
        if not is_int(dim, 1):
            raise InvalidParameter(f"target_dim must be a positive integer, got {dim!r}.")
        if self.target_means not in TARGET_MEANS:
            raise InvalidParameter(f"target_means must be one of {TARGET_MEANS}, got {self.target_means!r}.")
        if self.target_means == "one_hot" and dim < k:
            raise InvalidParameter(f"one-hot target means need target_dim >= n_clusters ({k}), got {dim}.")
        if not is_finite_number(self.target_sigma) or self.target_sigma < 0:
            raise InvalidParameter(f"target_sigma must be >= 0, got {self.target_sigma!r}.")
        rs = self.random_state
        if rs is not None and not is_int(rs, 0):
            raise InvalidParameter(f"random_state must be None or an integer >= 0, got {rs!r}.")
        check_checkpoint_path(self.checkpoint_path)
        resolve_precision(resolve_device(self.device), self.amp)
        r.update(input_size=int(input_size), crop_sizes=tuple(int(s) for s in crops), target_dim=int(dim),
                 rotation=bool(r["rotation"]), flip=bool(r["flip"]), color_jitter=bool(r["color_jitter"]),
                 rotation_degrees=float(r["rotation_degrees"]), lr_gamma=float(r["lr_gamma"]))
        return r

    # -- fitting --------------------------------------------------------------------------------

    def _checkpoint_config(self, X: np.ndarray, r: dict) -> dict:
        return estimator_config(self, X, resolved=r)

    def _fit(self, X: np.ndarray, r: dict, start) -> None:
        """Train the network to fit X, square images (N, C, S, S) with pixels in [0, 1] as the code's ``ToTensor``
        gives (no standardisation), onto the mixture targets."""
        seed, device, precision, generator = start.seed, start.device, start.precision, start.generator
        k, n = int(self.n_clusters), X.shape[0]
        net = build_mmdc_network(r["network"], X.shape[1], r["target_dim"], r["input_size"], sobel=bool(self.sobel),
                                 generator=torch.Generator().manual_seed(seed)).to(device)
        augment = MMDCAugment(X.shape[2], r["crop_sizes"], r["input_size"], flip=r["flip"],
                              color_jitter=r["color_jitter"], rotation_degrees=r["rotation_degrees"], seed=seed + 1)
        means = gmm_means(k, r["target_dim"], self.target_means, generator)
        targets, components = sample_targets(n, means, float(self.target_sigma), generator)
        optimizer = self._optimizer(net)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(r["lr_milestones"]),
                                                         gamma=r["lr_gamma"])
        Xt = torch.from_numpy(X)  # stays on the CPU; batches go to the device one at a time
        means_d = means.to(device)
        # what the epochs rebind: each image's target (N, d) and component (N,), and the labels before refinement
        fit = {"targets": targets.to(device), "components": components, "labels_before_refinement": None}

        def step(epoch: int) -> dict:
            before = fit["components"].clone()
            lr = optimizer.param_groups[0]["lr"]
            refining = epoch >= r["refine_epoch"]
            if refining:
                z = _embed(net, Xt, augment, int(self.batch_size))  # (N, d), eval mode, centre crops
                if fit["labels_before_refinement"] is None:  # the state the code evaluates before its first k-means
                    fit["labels_before_refinement"] = _nearest(z, means_d).cpu()
                fit["components"] = self._refine(z, fit["components"], seed + epoch)
                # sigma is not re-drawn: images move to their mean
                fit["targets"] = means_d[fit["components"].to(device)]
            rot_loss = (self._rotation_epoch(net, Xt, augment, optimizer, generator, precision) if r["rotation"]
                        else float("nan"))
            loss, fit["targets"], fit["components"] = self._clustering_epoch(
                net, Xt, augment, optimizer, generator, fit["targets"], fit["components"], assign=not refining,
                precision=precision)
            scheduler.step()
            return dict(losses=loss, rotation_losses=rot_loss,
                        reassigned_fraction=float((fit["components"] != before).float().mean()),
                        refined=bool(refining), learning_rates=float(lr))

        history = run_epochs(step, epochs=r["epochs"], history=MMDCHistory(), precision=precision,
                             state=dict(network=net, optimizer=optimizer, scheduler=scheduler, generator=generator,
                                        augment=augment, fit=fit),
                             checkpoint_path=self.checkpoint_path, config=self._checkpoint_config(X, r),
                             desc="MMDC", progress=self.progress)
        components, labels_before = fit["components"], fit["labels_before_refinement"]
        with precision.autocast():
            z = _embed(net, Xt, augment, int(self.batch_size))
        self.network_ = net
        self.network_name_ = r["network"]
        self.augment_ = augment
        self.means_ = means.numpy().astype(np.float32)
        self.embedding_ = z.float().cpu().numpy()
        self.labels_ = _nearest(z, means_d).cpu().numpy()
        self.labels_before_refinement_ = None if labels_before is None else labels_before.numpy().astype(np.int64)
        self.target_labels_ = components.cpu().numpy().astype(np.int64)
        finish_fit(self, start, history, X)

    def _optimizer(self, net: torch.nn.Module) -> torch.optim.Optimizer:
        params = [p for p in net.parameters() if p.requires_grad]
        no_decay = [p for p in params if p.ndim <= 1]  # BN weights and biases
        decay = [p for p in params if p.ndim > 1]
        return torch.optim.SGD([{"params": no_decay, "weight_decay": 0.0},
                                {"params": decay, "weight_decay": float(self.weight_decay)}],
                               lr=float(self.lr), momentum=float(self.momentum))

    def _refine(self, z: torch.Tensor, components: torch.Tensor, seed: int) -> torch.Tensor:
        """k-means on the eval-mode centre-crop outputs z (N, d), labels renamed to overlap the current targets."""
        labels = kmeans(z.double().cpu().numpy(), int(self.n_clusters), _REFINE_N_INIT, seed).labels_
        return torch.from_numpy(match_labels(labels, components.numpy(), int(self.n_clusters)))

    def _rotation_epoch(self, net, Xt, augment, optimizer, generator, precision) -> float:
        net.train()
        device = next(net.parameters()).device
        total, steps = torch.zeros((), device=device), 0
        for idx in _batches(torch.randperm(Xt.shape[0], generator=generator), int(self.batch_size)):
            x4, labels = augment.rotnet(to_device_batch(Xt, idx, device))  # (4B, C, s, s), (4B,)
            loss = F.cross_entropy(net.rotation_logits(x4), labels)
            optimizer.zero_grad(set_to_none=True)
            precision.backward(loss)
            precision.step(optimizer)
            total += loss.detach()
            steps += 1
        return float(total) / max(steps, 1)

    def _clustering_epoch(self, net, Xt, augment, optimizer, generator, targets, components, assign: bool,
                          precision):
        device = targets.device
        total, steps = torch.zeros((), device=device), 0
        for idx in _batches(torch.randperm(Xt.shape[0], generator=generator), int(self.batch_size)):
            idx_d = idx.to(device)
            xb = to_device_batch(Xt, idx, device)  # (B, C, S, S)
            if assign:
                net.eval()
                with torch.no_grad():
                    z_eval = net(augment.center(xb))  # (B, d)
                perm = torch.from_numpy(assign_targets(z_eval, targets[idx_d]))
                targets[idx_d] = targets[idx_d[perm.to(device)]]
                components[idx] = components[idx[perm]]
            net.train()
            z = net(augment(xb))  # (B, d)
            loss = F.mse_loss(z.float(), targets[idx_d])
            optimizer.zero_grad(set_to_none=True)
            precision.backward(loss)
            precision.step(optimizer)
            total += loss.detach()
            steps += 1
        return float(total) / max(steps, 1), targets, components

    # -- inference ------------------------------------------------------------------------------

    def transform(self, X) -> np.ndarray:
        """Unit embeddings (N, d) float32 of X's centre crops, network in eval mode."""
        check_fitted(self)
        X = self._check_X(X)
        size = self.augment_.image_size
        if X.shape[1] != self.network_.in_channels or X.shape[2] != size or X.shape[3] != size:
            raise InvalidParameter(f"X has images of shape {X.shape[1:]}, the network was trained on "
                                   f"{(self.network_.in_channels, size, size)} "
                                   "(C, H, W).")
        return _embed(self.network_, torch.from_numpy(X), self.augment_, int(self.batch_size)).float().cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """Cluster of each image: the nearest mixture mean to its embedding; int64 (N,)."""
        z = torch.from_numpy(self.transform(X))
        return _nearest(z, torch.from_numpy(self.means_)).numpy()

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_


def _default_crops(network: str, size: int) -> tuple[int, ...]:
    if network == "vgg":
        return (24, 20, 16) if size == 28 else tuple(max(1, round(size * f / 28)) for f in (24, 20, 16))
    return {32: (20,), 64: (40,), 96: (64,)}.get(size, (max(1, round(size * 0.625)),))


def _embed(net, Xt: torch.Tensor, augment: MMDCAugment, batch_size: int) -> torch.Tensor:
    """Eval-mode outputs (N, d) of the centre-crop view, in X's order, on the network's device (X on any)."""
    return batched_inference(net, Xt, batch_size=batch_size, forward=lambda x: net(augment.center(x)))


def _nearest(z: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """Index (N,) int64 of the nearest mean (``utils/gmm.py`` ``get_labels``)."""
    return torch.cdist(z.float(), means.to(z.device).float()).argmin(1).long()
