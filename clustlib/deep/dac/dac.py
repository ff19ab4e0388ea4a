"""DAC: Deep Adaptive Image Clustering (Chang et al., ICCV 2017), as the paper describes it by default.

DAC recasts clustering as binary pairwise classification. A ConvNet maps each image to a
K-dimensional *label feature* (the L2-normalised softmax, :func:`clustlib.deep.networks.allconv.restraint_layer`);
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
parameter: the ALL-ConvNets (:mod:`clustlib.deep.networks.allconv`; the paper defers them to its
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

The rules and losses are in :mod:`clustlib.deep.dac.loss`, the named settings in :mod:`clustlib.deep.dac.presets`;
this module (a little over 500 lines) is the estimator alone, most of it the description above and the
parameter documentation that names, for each choice the paper leaves open, where the value comes from.

References
----------
J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, "Deep Adaptive Image Clustering", ICCV 2017.
Code: https://github.com/vector-1127/DAC (Keras 1.1.2 + Theano; no license file, re-implemented).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from clustlib.deep.augment.keras import KerasImageAugment
from clustlib.deep.base import (ImageClusterer, TrainHistory, check_n_clusters, is_finite_number, is_int,
                                store_init_args)
from clustlib.deep.dac.loss import (_accumulate_chunk_gradient, _distill_loss, _gram, dac_thresholds, pair_loss,
                                   pair_targets, paper_iterations, select_pairs)
from clustlib.deep.dac.presets import (_PRESET_OF_NETWORK, AUGMENTATION_PRESETS, DISTILL_ON, PAIR_LOSSES, PAIR_MODES,
                                       PAPER_ETA, PAPER_LOWER, PAPER_STAR_END, PAPER_UPPER, PRESETS, SCHEDULES,
                                       VARIANTS)
from clustlib.deep.engine import (batched_inference, check_checkpoint_path, check_fitted,
                                  estimator_config, finish_fit, resolve_device, resolve_precision, run_epochs,
                                  to_device_batch)
from clustlib.deep.networks.allconv import ALLCONV_ARCHITECTURES, DACNetwork, default_architecture, list_dac_networks
from clustlib.errors import InvalidParameter

__all__ = ["DAC", "DACHistory", "center_images"]


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


@dataclass
class DACHistory(TrainHistory):
    """The :class:`~clustlib.deep.TrainHistory` of :meth:`DAC.fit` (an epoch is one iteration of Algorithm 1;
    ``losses``: mean loss over the epoch's gradient steps), with per epoch:

    Attributes
    ----------
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


class DAC(ImageClusterer):
    """Deep Adaptive Clustering: pairwise self-labelling of a ConvNet's label features.

    The defaults are the paper's (Chang et al. 2017, Sec. 3-5.4); where the paper is silent the value
    comes from the authors' scripts, as each parameter says. :meth:`from_preset` builds the scripts'
    settings (:data:`PRESETS`).

    Parameters
    ----------
    n_clusters : int
        K, in [2, N]; required (``fit`` refuses None).
        K, in [2, N]; the width of the network's softmax.
    variant : {"dac", "dac_star"}, default="dac"
        DAC (two thresholds, only confident pairs; the paper's method) or DAC* (one threshold, every
        pair labelled; the paper's ablation and what most scripts run). See the module docstring.
    network : str, default="auto"
        ALL-ConvNet variant (:func:`clustlib.deep.networks.allconv.list_dac_networks`). ``"auto"`` picks by
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
    device, random_state, progress, checkpoint_path, amp
        As every image clusterer takes them (:class:`clustlib.deep.base.ImageClusterer`); ``random_state`` seeds
        the initial weights, shuffles and augmentation, and ``amp=False`` trains in float32 as the scripts did.

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
    precision_, epoch_seconds_, total_seconds_, n_features_in_
        As every image clusterer sets them (:class:`clustlib.deep.base.ImageClusterer`).

    References
    ----------
    J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, "Deep Adaptive Image Clustering", ICCV 2017.
    Code: https://github.com/vector-1127/DAC.
    """

    def __init__(self, n_clusters: int | None = None, *, variant: str = "dac", network: str = "auto",
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
        check_n_clusters(self.n_clusters, n, type(self).__name__)
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

    def _fit(self, X: np.ndarray, r: dict, start) -> None:
        """Train the label-feature network on X (N, C, H, W) with the adaptive pairwise loop.

        X holds images prepared as the scripts do (:func:`center_images`: pixels / 255 minus the mean), with heights
        and widths that suit the network (16, 28, 32 or 96 with ``network="auto"``).
        """
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
