"""NAT and RotNet on MMDC's networks, and the feature evaluation of MMDC's Table 4.4 (k-means, linear probe).

The thesis (Sec. 4.4.2) compares MMDC's features with those of two representation-learning methods trained
"with the same architecture and image transformations as our model":

* **NAT** (Noise As Targets, Bojanowski & Joulin 2017): one fixed target per image, drawn uniformly on the unit
  sphere of dimension d (a standard normal draw, L2-normalised); the network's L2-normalised output is fitted to
  its image's target by the squared error, and the targets held by each mini-batch are permuted among its images
  by the linear assignment minimising the summed output-target distance (Sec. 3.1 of the thesis), on
  ``reassign_every``-th epochs (NAT updates the assignment every 3 epochs);
* **RotNet** (Gidaris et al. 2018): the 4-way rotation classifier (0/90/180/270 degrees, cross-entropy), every
  image of a batch at the four angles, as MMDC's auxiliary task trains it;
* **NAT+Rot**: a RotNet epoch before every NAT epoch with one optimiser, as MMDC alternates its two tasks.

The networks are MMDC's (:func:`clustlib.deep.networks.mmdc.build_mmdc_network`): the ResNet18 uses its own
rotation head; the small VGG, which has none, gets a Linear(features, 4) head initialised as MMDC's linear
layers (N(0, 0.01), zero bias). The schedule, optimiser and augmentations are MMDC's for the same network, resolved
by :meth:`clustlib.deep.MMDC.check_params` (thesis Sec. 4.2: SGD lr 0.05, momentum 0.9, weight decay 5e-4 on
weights only, batch 128; ResNet18 400 epochs with the learning rate / 5 after 350, colour jitter, flip, 20x20
crops on CIFAR; small VGG 50 epochs / 10 after 40). NAT's target dimension is left open by the thesis; the
default is MMDC's (d = K = 10 for the 10-class datasets), the study passes each dataset's K.

Evaluation (Table 4.4): the *penultimate layer* is the network's ``features`` (ResNet18: the 512-d average pool;
small VGG: the flattened last block, 256 (S/16)^2), eval mode, centre crops (:func:`penultimate_features`).
:func:`kmeans_scores` clusters them with k-means; :func:`linear_probe` trains a linear classifier on the frozen
features with the thesis's protocol: SGD lr 0.1, momentum 0.9, weight decay 1e-5, batch 128, cosine annealing,
100 epochs, on the same augmented views as the unsupervised training ("including 20x20 cropping").

References
----------
P. Bojanowski, A. Joulin, "Unsupervised Learning by Predicting Noise", ICML 2017.
S. Gidaris, P. Singh, N. Komodakis, "Unsupervised Representation Learning by Predicting Image Rotations",
ICLR 2018.
G. Shiran, D. Weinshall, "Multi-Modal Deep Clustering: Unsupervised Partitioning of Images", ICPR 2020; M.Sc.
thesis, Hebrew University of Jerusalem, Sec. 4.4.2 and Table 4.4.
"""

from __future__ import annotations

import inspect
import os

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from torch import nn
from tqdm.auto import tqdm

from clustlib import metrics
from clustlib.deep.augment.mmdc import MMDCAugment
from clustlib.deep.base import check_inputs, is_finite_number, is_int, kmeans
from clustlib.deep.engine import begin_fit, check_fitted, estimator_config, finish_fit, run_epochs
from clustlib.deep.mmdc.mmdc import MMDC, MMDCHistory, _batches
from clustlib.deep.mmdc.targets import assign_targets
from clustlib.deep.networks.mmdc import build_mmdc_network
from clustlib.errors import InvalidParameter

__all__ = ["NAT", "RotNet", "BASELINES", "create_baseline", "penultimate_features", "kmeans_scores",
           "linear_probe", "check_probe_params", "PROBE_DEFAULTS"]

#: Restarts of the evaluation k-means (scikit-learn's default when the thesis was written).
_KMEANS_N_INIT = 10
#: The thesis's linear-probe protocol (Sec. 4.4.2).
PROBE_DEFAULTS = dict(epochs=100, lr=0.1, momentum=0.9, weight_decay=1e-5, batch_size=128, augmented=True)


class _SelfSupervised(BaseEstimator):
    """Shared engine of :class:`NAT` and :class:`RotNet`: MMDC's network, schedule, augmentation and checkpoints.

    A subclass sets ``_task`` ("nat" or "rotnet"); ``rotation`` adds the RotNet epoch before each NAT epoch. The
    keyword parameters here are those of both (RotNet's signature; NAT adds its own, see :func:`_nat_signature`).
    """

    _task = ""

    def __init__(self, *, network: str = "auto", sobel: bool = False, epochs: int | None = None, lr: float = 0.05,
                 momentum: float = 0.9, weight_decay: float = 5e-4, lr_milestones: tuple[int, ...] | None = None,
                 lr_gamma: float | None = None, batch_size: int = 128, crop_sizes: tuple[int, ...] | None = None,
                 input_size: int | None = None, flip: bool | None = None, color_jitter: bool | None = None,
                 rotation_degrees: float | None = None, device: str | None = None, random_state: int | None = None,
                 progress: bool = True, checkpoint_path: str | os.PathLike | None = None) -> None:
        for name, value in locals().items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    def _check_X(self, X) -> np.ndarray:
        return check_inputs(X, (4,), "(N, C, H, W) images (reshape flat rows first, e.g. X.reshape(-1, 1, 28, 28))")

    def _nat(self) -> bool:
        return self._task == "nat"

    def _rotation(self) -> bool:
        return self._task == "rotnet" or bool(getattr(self, "rotation", False))

    def check_params(self, X) -> dict:
        """Validate every parameter against ``X`` (or an array of its shape) before any compute; returns MMDC's
        resolved schedule and augmentation for the same network plus this method's own settings."""
        X = self._check_X(X)
        if X.shape[0] < 2:
            raise InvalidParameter(f"{type(self).__name__} needs at least 2 images, got {X.shape[0]}.")
        if not isinstance(getattr(self, "rotation", False), (bool, np.bool_)):
            raise InvalidParameter(f"rotation must be True or False, got {self.rotation!r}.")
        shared = {k: getattr(self, k) for k in ("network", "sobel", "epochs", "lr", "momentum", "weight_decay",
                                                "lr_milestones", "lr_gamma", "batch_size", "crop_sizes",
                                                "input_size", "flip", "color_jitter", "rotation_degrees",
                                                "random_state", "checkpoint_path")}
        r = MMDC(2, rotation=False, refine_epoch=None, **shared).check_params(X)
        r.pop("refine_epoch")
        r.pop("target_dim")
        r["rotation"] = self._rotation()
        if self._nat():
            if not is_int(self.target_dim, 1):
                raise InvalidParameter(f"target_dim must be an integer >= 1, got {self.target_dim!r}.")
            if not is_int(self.reassign_every, 1):
                raise InvalidParameter(f"reassign_every must be an integer >= 1 (epochs), got "
                                       f"{self.reassign_every!r}.")
            r.update(target_dim=int(self.target_dim), reassign_every=int(self.reassign_every))
        return r

    def fit(self, X, y=None):
        """Train the network on ``X`` (N, C, S, S), square images with pixels in [0, 1] as MMDC takes them, one
        :func:`clustlib.deep.engine.run_epochs` step per epoch; ``y`` is ignored. Returns self."""
        X = self._check_X(X)
        r = self.check_params(X)
        start = begin_fit(self)
        seed, device, generator = start.seed, start.device, start.generator
        init = torch.Generator().manual_seed(seed)
        out_dim = r["target_dim"] if self._nat() else 4
        net = build_mmdc_network(r["network"], X.shape[1], out_dim, r["input_size"], sobel=bool(self.sobel),
                                 generator=init)
        modules = nn.ModuleDict({"network": net})
        if r["rotation"] and not net.has_rotation_head:  # the small VGG: a head on its flattened features
            width = net.top_layer.in_features
            head = nn.Linear(width, 4)
            nn.init.normal_(head.weight, 0.0, 0.01, generator=init)
            nn.init.zeros_(head.bias)
            modules["rotation_head"] = head
        modules.to(device)
        augment = MMDCAugment(X.shape[2], r["crop_sizes"], r["input_size"], flip=r["flip"],
                              color_jitter=r["color_jitter"], rotation_degrees=r["rotation_degrees"], seed=seed + 1)
        n = X.shape[0]
        targets = F.normalize(torch.randn(n, out_dim, generator=generator), dim=1) if self._nat() else None
        # what the NAT epochs permute in place: image i holds targets[holder[i]]
        fit = {"holder": torch.randperm(n, generator=generator) if self._nat() else None}
        optimizer = _sgd(modules, self.lr, self.momentum, self.weight_decay)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(r["lr_milestones"]),
                                                         gamma=r["lr_gamma"])
        Xt = torch.from_numpy(X).to(device)
        targets = targets.to(device) if targets is not None else None
        rotation_logits = modules["rotation_head"] if "rotation_head" in modules else None
        batch = int(self.batch_size)

        def step(epoch: int) -> dict:
            lr = optimizer.param_groups[0]["lr"]
            rot = _rotation_epoch(net, rotation_logits, Xt, augment, optimizer, generator, batch) \
                if r["rotation"] else float("nan")
            loss, moved = float("nan"), 0.0
            if self._nat():
                before = fit["holder"].clone()
                loss = _nat_epoch(net, Xt, augment, optimizer, generator, targets, fit["holder"], batch,
                                  assign=epoch % r["reassign_every"] == 0)
                moved = float((fit["holder"] != before).float().mean())
            scheduler.step()
            return dict(losses=loss, rotation_losses=rot, reassigned_fraction=moved, refined=False,
                        learning_rates=float(lr))

        config = None if self.checkpoint_path is None else estimator_config(self, X, resolved=r)
        history = run_epochs(step, epochs=r["epochs"], history=MMDCHistory(), precision=start.precision,
                             state=dict(modules=modules, optimizer=optimizer, scheduler=scheduler,
                                        generator=generator, augment=augment, fit=fit),
                             checkpoint_path=self.checkpoint_path, config=config, desc=type(self).__name__,
                             progress=self.progress)
        holder = fit["holder"]
        self.network_ = net
        self.rotation_head_ = rotation_logits
        self.network_name_ = r["network"]
        self.augment_ = augment
        self.targets_ = None if targets is None else targets.cpu().numpy().astype(np.float32)
        self.target_index_ = None if holder is None else holder.numpy().astype(np.int64)
        finish_fit(self, start, history, X)
        return self

    def transform(self, X) -> np.ndarray:
        """Penultimate-layer features (N, F) float32 of X's centre crops (see :func:`penultimate_features`)."""
        check_fitted(self)
        return penultimate_features(self.network_, self.augment_, self._check_X(X), batch_size=int(self.batch_size))


_COMMON_DOC = """
    network : {"auto", "vgg", "resnet18"}, default="auto"
        MMDC's networks; "auto": the small VGG for 1-channel images, ResNet18 otherwise.
    sobel : bool, default=False
        MMDC's fixed Sobel input filter.
    epochs, lr_milestones, lr_gamma, crop_sizes, input_size, flip, color_jitter, rotation_degrees : optional
        As :class:`clustlib.deep.MMDC`, with MMDC's defaults for the network (the thesis's).
    lr : float, default=0.05
    momentum : float, default=0.9
    weight_decay : float, default=5e-4
        On weights with more than one dimension only, as MMDC.
    batch_size : int, default=128
        Images per batch (the RotNet batch is 4 x this).
    device : str, optional
    random_state : int, optional
        Seed of the weights, targets, batch order and augmentations (None -> 0); same seed, same numbers on CPU.
    progress : bool, default=True
    checkpoint_path : path, optional
        Written after every epoch, resumed when it matches this configuration and data.

    Attributes
    ----------
    network_ : SmallVGG or ResNet18
    rotation_head_ : torch.nn.Linear or None
        The head added to a network without one (small VGG) when the rotation task runs.
    augment_ : MMDCAugment
    history_ : MMDCHistory
        ``losses`` (NAT MSE, NaN for RotNet), ``rotation_losses`` (NaN without the task), ``reassigned_fraction``.
    epoch_seconds_, total_seconds_ : float
"""


class NAT(_SelfSupervised):
    """Noise As Targets on MMDC's network; NAT+Rot with ``rotation=True``.

    Parameters
    ----------
    target_dim : int, default=10
        Dimension d of the targets and of the network output (the thesis does not give it; MMDC's d = K).
    reassign_every : int, default=3
        Epochs between two passes of per-batch reassignment (NAT updates the assignment every 3 epochs).
    rotation : bool, default=False
        A RotNet epoch before every NAT epoch (the thesis's NAT+Rot).
    """ + _COMMON_DOC + """    targets_ : ndarray of float32, shape (N, d)
        The fixed unit targets; image i holds ``targets_[target_index_[i]]``.
    target_index_ : ndarray of int64, shape (N,)

    References
    ----------
    P. Bojanowski, A. Joulin, "Unsupervised Learning by Predicting Noise", ICML 2017.
    """

    _task = "nat"

    def __init__(self, target_dim: int = 10, *, reassign_every: int = 3, rotation: bool = False, **shared) -> None:
        super().__init__(**shared)  # a name not in _SelfSupervised's signature is a TypeError there
        self.target_dim = target_dim
        self.reassign_every = reassign_every
        self.rotation = rotation


def _nat_signature() -> inspect.Signature:
    """NAT's own parameters followed by the shared keyword ones, spelled out: what ``inspect.signature(NAT)``,
    scikit-learn's ``get_params`` and ``clone`` read instead of ``**shared``."""
    own = [q for q in inspect.signature(NAT.__init__).parameters.values() if q.kind is not q.VAR_KEYWORD]
    shared = list(inspect.signature(_SelfSupervised.__init__).parameters.values())[1:]  # after self
    return inspect.Signature(own + shared)


NAT.__init__.__signature__ = _nat_signature()


class RotNet(_SelfSupervised):
    """RotNet on MMDC's network: predict which of 0/90/180/270 degrees each image was rotated by.

    Parameters
    ----------""" + _COMMON_DOC + """
    References
    ----------
    S. Gidaris, P. Singh, N. Komodakis, "Unsupervised Representation Learning by Predicting Image Rotations",
    ICLR 2018.
    """

    _task = "rotnet"  # its parameters are _SelfSupervised's


#: Table 4.4's baselines as the thesis prints them -> (estimator class, fixed arguments).
BASELINES: dict[str, tuple[type, dict]] = {"NAT": (NAT, {}), "RotNet": (RotNet, {}), "NAT+Rot": (NAT, {"rotation": True})}


def create_baseline(name: str, n_clusters: int, **params) -> _SelfSupervised:
    """The estimator of one baseline of :data:`BASELINES` (``"NAT"``, ``"RotNet"``, ``"NAT+Rot"``); NAT's target
    dimension is ``n_clusters`` (MMDC's d = K) unless ``params`` sets ``target_dim``."""
    if name not in BASELINES:
        raise InvalidParameter(f"Unknown baseline {name!r}; valid: {list(BASELINES)}.")
    cls, fixed = BASELINES[name]
    clash = sorted(set(fixed) & set(params))
    if clash:
        raise InvalidParameter(f"{name} fixes {clash}; remove them from its parameters.")
    if cls is NAT:
        params = {"target_dim": int(n_clusters), **params}
    try:
        return cls(**fixed, **params)
    except TypeError as err:
        raise InvalidParameter(f"{name} does not take these parameters: {err}.") from None


def _sgd(modules: nn.Module, lr: float, momentum: float, weight_decay: float) -> torch.optim.SGD:
    params = [p for p in modules.parameters() if p.requires_grad]
    return torch.optim.SGD([{"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0},
                            {"params": [p for p in params if p.ndim > 1], "weight_decay": float(weight_decay)}],
                           lr=float(lr), momentum=float(momentum))


def _sgd_epoch(optimizer, batches: list[torch.Tensor], loss_of, device: torch.device) -> float:
    """One SGD step per batch of indices on ``loss_of(idx)`` (a scalar tensor); the mean loss over the batches."""
    total = torch.zeros((), device=device)
    for idx in batches:
        loss = loss_of(idx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach()
    return float(total) / max(len(batches), 1)


def _rotation_epoch(net, head, Xt, augment, optimizer, generator, batch_size: int) -> float:
    """One RotNet epoch: every image of a batch at the four angles, cross-entropy of the angle."""
    net.train()

    def loss_of(idx):
        x4, labels = augment.rotnet(Xt.index_select(0, idx.to(Xt.device)))  # (4B, C, s, s), (4B,)
        logits = head(net.features(x4)) if head is not None else net.rotation_logits(x4)  # (4B, 4)
        return F.cross_entropy(logits, labels)

    return _sgd_epoch(optimizer, _batches(torch.randperm(Xt.shape[0], generator=generator), batch_size), loss_of,
                      Xt.device)


def _nat_epoch(net, Xt, augment, optimizer, generator, targets, holder, batch_size: int, assign: bool) -> float:
    """One NAT epoch; ``holder`` (N,) is permuted in place within each batch when ``assign``."""
    def loss_of(idx):
        xb = Xt.index_select(0, idx.to(Xt.device))  # (B, C, S, S)
        if assign:
            net.eval()
            with torch.no_grad():
                z_eval = net(augment.center(xb))  # (B, d)
            perm = torch.from_numpy(assign_targets(z_eval, targets[holder[idx].to(Xt.device)]))
            holder[idx] = holder[idx[perm]]
        net.train()
        return F.mse_loss(net(augment(xb)), targets[holder[idx].to(Xt.device)])

    return _sgd_epoch(optimizer, _batches(torch.randperm(Xt.shape[0], generator=generator), batch_size), loss_of,
                      Xt.device)


@torch.no_grad()
def penultimate_features(network: nn.Module, augment: MMDCAugment, X, *, batch_size: int = 256) -> np.ndarray:
    """The penultimate layer of an MMDC network (``network.features``) on X's centre crops, eval mode.

    Parameters
    ----------
    network : SmallVGG or ResNet18
        A fitted network (``MMDC.network_``, ``NAT.network_``, ``RotNet.network_``).
    augment : MMDCAugment
        Its augmentation (``augment_``), for the centre-crop view it was evaluated on.
    X : ndarray of float, shape (N, C, S, S)

    Returns
    -------
    ndarray of float32, shape (N, F): F = 512 (ResNet18) or 256 (S/16)^2 (small VGG at input size S).
    """
    device = next(network.parameters()).device
    was_training = network.training
    network.eval()
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    out = [network.features(augment.center(Xt[i:i + batch_size].to(device))).float().cpu()
           for i in range(0, Xt.shape[0], batch_size)]
    network.train(was_training)
    return torch.cat(out).numpy()


def kmeans_scores(features: np.ndarray, labels_true: np.ndarray, n_clusters: int, *, random_state: int = 0
                  ) -> dict:
    """k-means (k-means++, 10 restarts) on penultimate features (N, F); NMI, ARI and ACC against the labels."""
    labels = kmeans(features, int(n_clusters), _KMEANS_N_INIT, int(random_state)).labels_
    return metrics.evaluate(labels_true, labels, metrics=("nmi", "ari", "acc"))


def check_probe_params(params: dict | None) -> dict:
    """Linear-probe arguments over :data:`PROBE_DEFAULTS` (known names, valid values), checked before any
    compute; returns the merged arguments."""
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise InvalidParameter(f"probe_params must be a mapping such as {{'epochs': 20}}, got {params!r}.")
    unknown = sorted(set(params) - set(PROBE_DEFAULTS))
    if unknown:
        raise InvalidParameter(f"Unknown linear-probe arguments {unknown}; valid: {sorted(PROBE_DEFAULTS)}.")
    p = {**PROBE_DEFAULTS, **params}
    for name in ("epochs", "batch_size"):
        if not is_int(p[name], 1):
            raise InvalidParameter(f"linear probe {name} must be an integer >= 1, got {p[name]!r}.")
    if not is_finite_number(p["lr"]) or not p["lr"] > 0:
        raise InvalidParameter(f"linear probe lr must be a number > 0, got {p['lr']!r}.")
    if not is_finite_number(p["weight_decay"]) or p["weight_decay"] < 0:
        raise InvalidParameter(f"linear probe weight_decay must be a number >= 0, got {p['weight_decay']!r}.")
    if not is_finite_number(p["momentum"]) or not 0 <= p["momentum"] < 1:
        raise InvalidParameter(f"linear probe momentum must be in [0, 1), got {p['momentum']!r}.")
    if not isinstance(p["augmented"], (bool, np.bool_)):
        raise InvalidParameter(f"linear probe augmented must be true or false, got {p['augmented']!r}.")
    return p


def linear_probe(network: nn.Module, augment: MMDCAugment, X_train, y_train, X_test, y_test, *, n_classes: int,
                 epochs: int = 100, lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 1e-5,
                 batch_size: int = 128, augmented: bool = True, random_state: int = 0, progress: bool = False
                 ) -> dict:
    """Train a linear classifier on the frozen penultimate features and score it on the test images.

    The thesis's protocol (Sec. 4.4.2, the defaults): SGD lr 0.1, momentum 0.9, weight decay 1e-5, batch 128,
    cosine annealing of the learning rate over ``epochs`` = 100. With ``augmented`` (the thesis: "the same image
    augmentations as for training the unsupervised methods, including 20x20 cropping") every batch is a fresh
    augmented view through the frozen network (eval mode); without it the centre-crop features are computed once
    (faster, labelled as such by the caller). Test images are always centre crops.

    Parameters
    ----------
    network, augment
        As :func:`penultimate_features`; the network is not updated.
    X_train, X_test : ndarray of float, shape (N, C, S, S)
    y_train, y_test : ndarray of int, shape (N,)
        Class labels in [0, n_classes).

    Returns
    -------
    dict with ``linear_acc`` (test accuracy, fraction) and ``train_acc``.
    """
    check_probe_params(dict(epochs=epochs, lr=lr, momentum=momentum, weight_decay=weight_decay,
                            batch_size=batch_size, augmented=augmented))
    if not is_int(n_classes, 2):
        raise InvalidParameter(f"linear probe n_classes must be an integer >= 2, got {n_classes!r}.")
    y_train, y_test = np.asarray(y_train, dtype=np.int64), np.asarray(y_test, dtype=np.int64)
    device = next(network.parameters()).device
    generator = torch.Generator().manual_seed(int(random_state))
    was_training = network.training
    network.eval()
    try:
        if augmented:
            Xt = torch.as_tensor(np.asarray(X_train, dtype=np.float32)).to(device)
            width = network.features(augment.center(Xt[:2])).shape[1]
        else:
            fixed = torch.from_numpy(penultimate_features(network, augment, X_train)).to(device)  # (N, F)
            width = fixed.shape[1]
        clf = nn.Linear(width, int(n_classes)).to(device)
        with torch.no_grad():  # PyTorch's default init, drawn from the seeded generator
            bound = 1.0 / np.sqrt(width)
            clf.weight.copy_(torch.empty(clf.weight.shape).uniform_(-bound, bound, generator=generator))
            clf.bias.copy_(torch.empty(clf.bias.shape).uniform_(-bound, bound, generator=generator))
        optimizer = torch.optim.SGD(clf.parameters(), lr=float(lr), momentum=float(momentum),
                                    weight_decay=float(weight_decay))
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=int(epochs))
        yt = torch.from_numpy(y_train).to(device)
        state = augment.get_state()
        augment.set_state(torch.Generator().manual_seed(int(random_state) + 1).get_state())
        for _ in tqdm(range(int(epochs)), desc="linear probe", disable=not progress, leave=False):
            for idx in torch.split(torch.randperm(len(y_train), generator=generator), int(batch_size)):
                idx = idx.to(device)
                if augmented:
                    with torch.no_grad():
                        feats = network.features(augment(Xt.index_select(0, idx)))  # (B, F)
                else:
                    feats = fixed.index_select(0, idx)
                loss = F.cross_entropy(clf(feats), yt.index_select(0, idx))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            scheduler.step()
        augment.set_state(state)  # the fitted method's augmentation stream is left as it was
        with torch.no_grad():
            train_f = torch.from_numpy(penultimate_features(network, augment, X_train)).to(device)
            test_f = torch.from_numpy(penultimate_features(network, augment, X_test)).to(device)
            train_acc = float((clf(train_f).argmax(1).cpu().numpy() == y_train).mean())
            test_acc = float((clf(test_f).argmax(1).cpu().numpy() == y_test).mean())
    finally:
        network.train(was_training)
    return {"linear_acc": test_acc, "train_acc": train_acc}
