"""JULE: joint unsupervised learning of deep representations and image clusters, for vector inputs.

JULE (Yang et al., CVPR 2016) is recurrent agglomerative clustering. Starting from small clusters
found by nearest-neighbour chains, it alternates two steps until ``n_clusters`` remain:

1. *learn*: train the network :math:`\\varphi_\\theta` for ``epochs_per_period`` epochs with a
   weighted triplet loss whose positives share the current cluster label;
2. *merge*: embed all samples, build the directed K_s-nearest-neighbour affinity graph, and merge the
   ``ceil(eta * C)`` cluster pairs with the best graph-degree-linkage (GDL) affinity, one pair at a
   time.

Defaults are those of the authors' public code (JULE.torch) with the unfolding rate the README gives
for non-face data (``eta = 0.9``; use 0.2 for faces), and the network is the MLP Guérin et al. use
inside MVnet (``d -> 160 -> 160``, ReLU, linear output, L2-normalised, Xavier init, L2 weight decay).

The merge step (:mod:`clustlib.deep.jule.merging`, numpy/SciPy only: initial clusters, affinities, GDL merges)
keeps the cluster affinity matrix up to date after each merge instead of rebuilding it.

The recurrent loop (:func:`run_jule`, which MVnet's stages use too) runs on
:func:`clustlib.deep.engine.run_epochs` with one step per period (:func:`jule_schedule`): with a
``checkpoint_path`` a fit killed after period e resumes bit for bit from the network, optimiser,
generator, cluster labels (a tensor) and iteration count saved after that period.

References
----------
J. Yang, D. Parikh, D. Batra, "Joint Unsupervised Learning of Deep Representations and Image
Clusters", CVPR 2016. Code: https://github.com/jwyang/JULE.torch (MIT).
W. Zhang, X. Wang, D. Zhao, X. Tang, "Graph Degree Linkage: Agglomerative Clustering on a Directed
Graph", ECCV 2012.
J. Guérin, S. Thiery, E. Nyiri, O. Gibaru, B. Boots, "Combining pretrained CNN feature extractors to
enhance clustering of complex natural images", Neurocomputing 423, 2021, Section 5.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin

from clustlib.deep.base import TrainHistory, check_inputs, is_finite_number, is_int, store_init_args
from clustlib.deep.engine import (FitStart, Precision, batched_inference, check_checkpoint_path, check_fitted,
                                  estimator_config, finish_fit, full_precision, resolve_device, resolve_precision,
                                  run_epochs, seed_of, to_device_batch)
from clustlib.deep.jule.merging import (merge_clusters, merge_clusters_reference, nn_chain_init,  # noqa: F401
                                      renorm, sample_affinity)  # re-exported: JULE's public merging API
from clustlib.errors import InvalidParameter, MemoryBudgetExceeded

__all__ = [
    "JULE",
    "JuleHistory",
    "JuleResult",
    "run_jule",
    "jule_schedule",
    "check_jule_params",
    "embed",
    "EmbeddingMLP",
    "nn_chain_init",
    "sample_affinity",
    "merge_clusters",
    "merge_clusters_reference",
    "triplet_loss",
    "affinity_memory_bytes",
    "renorm",
]

# ---------------------------------------------------------------------------------------------
# network
# ---------------------------------------------------------------------------------------------


class EmbeddingMLP(torch.nn.Module):
    """MLP ``in_dim -> hidden... -> out_dim`` with ReLU between layers and an L2-normalised output.

    This is the network JULE trains on vector inputs and the building block of MVnet
    (``d -> 160 -> 160``, Guérin et al. Section 6.1). The last layer is linear and followed by an
    L2 normalisation, as in JULE's networks.

    Parameters
    ----------
    in_dim : int
        Input dimension ``d``.
    hidden_dims : sequence of int
        Hidden layer widths (ReLU after each).
    out_dim : int
        Embedding dimension.
    init : {"xavier", "normal"}
        ``"xavier"`` (Glorot uniform, as Guérin et al. state) or ``"normal"`` (N(0, 0.01), as
        JULE.torch does); biases start at zero.
    generator : torch.Generator, optional
        Source of randomness for the initial weights.
    """

    def __init__(self, in_dim: int, hidden_dims: Sequence[int] = (160,), out_dim: int = 160, *,
                 init: str = "xavier", generator: torch.Generator | None = None) -> None:
        super().__init__()
        dims = [int(in_dim), *map(int, hidden_dims), int(out_dim)]
        layers: list[torch.nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            lin = torch.nn.Linear(a, b)
            if init == "xavier":
                torch.nn.init.xavier_uniform_(lin.weight, generator=generator)
            else:
                torch.nn.init.normal_(lin.weight, 0.0, 0.01, generator=generator)
            torch.nn.init.zeros_(lin.bias)
            layers.append(lin)
            if i < len(dims) - 2:
                layers.append(torch.nn.ReLU())
        self.body = torch.nn.Sequential(*layers)
        self.in_dim, self.out_dim = dims[0], dims[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, d) -> (B, out_dim), unit rows
        return torch.nn.functional.normalize(self.body(x), dim=1)


# ---------------------------------------------------------------------------------------------
# loss
# ---------------------------------------------------------------------------------------------


@full_precision  # a half-precision embedding is compared in float32 (no change in a float32 fit)
def triplet_loss(z: torch.Tensor, y: torch.Tensor, *, n_negatives: int = 20, gamma: float = 1.0,
                 margin: float = 0.2, generator: torch.Generator | None = None) -> torch.Tensor | None:
    """JULE's weighted triplet loss inside one mini-batch.

    Every ordered pair ``(a, p)`` of distinct batch members with the same label is a positive pair;
    it gets up to ``n_negatives`` negatives drawn at random from batch members with another label.
    The loss is the mean over triplets of ``max(0, gamma * ||z_a - z_p||^2 - ||z_a - z_n||^2 + margin)``.

    Parameters
    ----------
    z : Tensor of shape (B, D)
        Embeddings.
    y : Tensor of shape (B,), int64
        Current cluster labels.
    n_negatives, gamma, margin
        JULE.torch ``num_nsampling``, ``gamma_tr``, ``margin_tr``.
    generator : torch.Generator, optional

    Returns
    -------
    Tensor (scalar) or None when the batch has no positive pair or no negative.

    References
    ----------
    Yang et al. 2016, Section 3.3 (eq. 11); JULE.torch ``organize_samples``.
    """
    B = y.shape[0]
    same = y[:, None] == y[None, :]  # (B, B)
    pos = same & ~torch.eye(B, dtype=torch.bool, device=y.device)
    a, p = pos.nonzero(as_tuple=True)  # (P,)
    if a.numel() == 0:
        return None
    neg_ok = ~same[a]  # (P, B)
    k = min(int(n_negatives), int(neg_ok.sum(dim=1).max()))
    if k == 0:
        return None
    r = torch.rand(a.shape[0], B, generator=generator, device="cpu").to(y.device)
    r = torch.where(neg_ok, r, torch.full_like(r, -1.0))
    val, neg = r.topk(k, dim=1)  # (P, k)
    valid = val >= 0
    d_ap = (z[a] - z[p]).pow(2).sum(dim=1)  # (P,)
    d_an = (z[a][:, None, :] - z[neg]).pow(2).sum(dim=2)  # (P, k)
    terms = torch.relu(gamma * d_ap[:, None] - d_an + margin)
    return terms[valid].mean()


# ---------------------------------------------------------------------------------------------
# the recurrent process (JULE's, CC's and MVnet's), on clustlib.deep.engine.run_epochs
# ---------------------------------------------------------------------------------------------


@dataclass
class JuleHistory(TrainHistory):
    """Per-step record of :func:`run_jule`; a step is one learn-and-merge period, or the final fine-tuning.

    Attributes
    ----------
    losses : list of float
        Mean triplet loss over the step's epochs (NaN for a merge without training).
    epoch_losses : list of list of float
        Mean triplet loss of every epoch of the step (empty for a merge without training).
    n_clusters : list of int
        Clusters after the step.
    stage : list of str
        ``"period"`` (train, then merge) or ``"finetune"`` (train on the final clusters).
    epoch_seconds, resumed_from, precision
        As :class:`clustlib.deep.base.TrainHistory`, counted in steps.
    """

    epoch_losses: list = field(default_factory=list)
    n_clusters: list = field(default_factory=list)
    stage: list = field(default_factory=list)


@dataclass
class JuleResult:
    """What :func:`run_jule` returns: the final clusters and embedding, and the record of every step."""

    labels: np.ndarray  # (N,) int64, ids 0..K-1
    embedding: np.ndarray  # (N, D) float64, the network's eval-mode output after the last step
    history: JuleHistory
    n_initial_clusters: int

    def _epochs(self, stage: str) -> list[list[float]]:
        return [list(e) for e, s in zip(self.history.epoch_losses, self.history.stage) if s == stage and len(e)]

    @property
    def n_clusters_history(self) -> list[int]:
        """Cluster count at the start and after each period, ending at ``n_clusters``."""
        h = self.history
        return [self.n_initial_clusters, *(int(c) for c, s in zip(h.n_clusters, h.stage) if s == "period")]

    @property
    def loss_history(self) -> list[list[float]]:
        """Per-epoch losses, one list per period that trained."""
        return self._epochs("period")

    @property
    def finetune_loss(self) -> list[float]:
        """Per-epoch losses of the final fine-tuning (empty without one)."""
        return [loss for epochs in self._epochs("finetune") for loss in epochs]

    @property
    def n_epochs(self) -> int:
        """Training epochs spent in the periods (fine-tuning not counted)."""
        return sum(len(e) for e in self.loss_history)


def embed(network: torch.nn.Module, inputs: Sequence[torch.Tensor], batch_size: int = 2048) -> np.ndarray:
    """Eval-mode outputs (N, D) float64 of ``network(*inputs)`` in batches of ``batch_size`` rows
    (:func:`clustlib.deep.engine.batched_inference`; the inputs stay where they are)."""
    return batched_inference(network, list(inputs), batch_size=batch_size).cpu().double().numpy()


def jule_schedule(n_initial: int, n_clusters: int, params: Mapping) -> list[tuple[int, int]]:
    """``(training epochs, merges)`` of every step of a JULE run that starts from ``n_initial`` clusters.

    A period trains ``epochs_per_period`` epochs, then merges ``ceil(eta * C)`` pairs (never below
    ``n_clusters``); once another period would pass ``max_epochs``, one last step merges the rest without
    training; ``finetune_epochs > 0`` adds a final step that trains without merging. :func:`merge_clusters`
    merges exactly the pairs it is asked for, so the schedule is known before training.
    """
    steps, c, spent, per = [], int(n_initial), 0, params["epochs_per_period"]
    while c > n_clusters:
        if spent + per <= params["max_epochs"]:
            spent += per
            steps.append((per, min(math.ceil(params["eta"] * c), c - n_clusters)))
        else:  # epoch budget spent: the remaining merges happen without training
            steps.append((0, c - n_clusters))
        c -= steps[-1][1]
    if params["finetune_epochs"] > 0:
        steps.append((params["finetune_epochs"], 0))
    return steps


def _train_epochs(net: torch.nn.Module, opt: torch.optim.Optimizer, inputs: Sequence[torch.Tensor],
                  labels: np.ndarray, n_epochs: int, it0: int, p: dict, gen: torch.Generator,
                  device: torch.device, precision: Precision) -> tuple[list[float], int]:
    """Train ``n_epochs`` on the current labels with the inv LR policy; returns epoch losses, iterations."""
    y_all = torch.as_tensor(labels, device=device)
    n = inputs[0].shape[0]
    it = it0
    losses: list[float] = []
    net.train()
    for _ in range(n_epochs):
        perm = torch.randperm(n, generator=gen)
        total, count = 0.0, 0
        for s in range(0, n, p["batch_size"]):
            idx = perm[s:s + p["batch_size"]]
            lr = p["lr"] * (1.0 + p["lr_gamma"] * it) ** (-p["lr_power"])
            for g in opt.param_groups:
                g["lr"] = lr
            with precision.autocast():
                z = net(*[to_device_batch(x, idx, device) for x in inputs])  # (B, D); inputs stay where they are
            loss = triplet_loss(z, y_all[idx.to(device)], n_negatives=p["n_negatives"], gamma=p["triplet_gamma"],
                                margin=p["margin"], generator=gen)
            it += 1
            if loss is None:
                continue
            opt.zero_grad(set_to_none=True)
            precision.backward(loss)
            precision.step(opt)
            total += float(loss.detach()) * idx.shape[0]
            count += idx.shape[0]
        losses.append(total / max(count, 1))
    return losses, it


def affinity_memory_bytes(n_initial_clusters: int) -> int:
    """Bytes of the two dense (C0, C0) float64 cluster-affinity matrices of a JULE merge period."""
    return 2 * int(n_initial_clusters) ** 2 * 8


def run_jule(network: torch.nn.Module, inputs: Sequence[torch.Tensor], init_features: np.ndarray, params: dict,
             generator: torch.Generator, *, device: torch.device, precision: Precision,
             checkpoint_path: str | os.PathLike | None = None, config: Mapping | None = None,
             progress: bool = False, desc: str = "JULE") -> JuleResult:
    """JULE's recurrent process: initial clusters in ``init_features``, then learn/merge periods until
    ``params["n_clusters"]`` remain, one :func:`clustlib.deep.engine.run_epochs` step per period
    (:func:`jule_schedule`).

    Parameters
    ----------
    network : torch.nn.Module
        Maps batches of ``inputs`` (B, d_j) to unit rows (B, D) (:class:`EmbeddingMLP`, MVnet's network); trained
        in place with SGD.
    inputs : sequence of Tensor (N, d_j)
        The network's inputs, on any device (the CPU); batches move to ``device``.
    init_features : ndarray (N, F)
        Where the initial nearest-neighbour chains are found (JULE: its input; MVnet: its unified embedding).
    params : dict
        From :func:`check_jule_params`.
    generator : torch.Generator
        CPU generator of the batch order and the negative sampling.
    device : torch.device
        The network's device.
    precision : Precision
        The training forward passes autocast to it; the triplet loss and the merges run in float32/float64.
    checkpoint_path, config : optional
        As :func:`~clustlib.deep.engine.run_epochs`: after every step the network, optimiser, generator, cluster
        labels (a tensor), iteration count and history are saved, and resumed when ``config`` matches.
    progress : bool
        A progress bar over the steps.
    desc : str
        Its label.

    Raises
    ------
    InvalidParameter
        ``n_clusters`` above the initial clusters (JULE only merges).
    MemoryBudgetExceeded
        The merge step's dense matrices exceed ``params["max_memory_bytes"]`` ("N/A: ..." reason).
    Both before any training.
    """
    n_clusters = params["n_clusters"]
    # JULE.torch renorms the flattened input before its first affinity/1-NN search, as before every merge
    labels = nn_chain_init(renorm(init_features) if params["normalize"] else init_features)
    c0 = int(labels.max()) + 1
    if n_clusters > c0:
        raise InvalidParameter(
            f"n_clusters={n_clusters} is larger than the {c0} initial clusters that JULE's "
            f"nearest-neighbour chains found on these {init_features.shape[0]} samples; JULE only "
            f"merges clusters. Use n_clusters <= {c0}, or give more samples.")
    need = affinity_memory_bytes(c0)
    if params.get("max_memory_bytes") is not None and need > params["max_memory_bytes"]:
        raise MemoryBudgetExceeded(
            f"N/A: JULE's merge step on {init_features.shape[0]} samples starts from {c0} clusters and "
            f"needs about {need / 2**30:.1f} GiB for its dense cluster-affinity matrices, more than the "
            f"{params['max_memory_bytes'] / 2**30:.1f} GiB allowed (max_memory_bytes).")
    opt = torch.optim.SGD(network.parameters(), lr=params["lr"], momentum=params["momentum"],
                          weight_decay=params["weight_decay"])
    schedule = jule_schedule(c0, n_clusters, params)
    fit = {"labels": torch.from_numpy(labels), "iteration": 0}  # what the steps rebind (checkpointed)

    def step(i: int) -> dict:
        n_epochs, n_merges = schedule[i]
        current = fit["labels"].numpy()
        losses: list[float] = []
        if n_epochs:
            losses, fit["iteration"] = _train_epochs(network, opt, inputs, current, n_epochs, fit["iteration"],
                                                     params, generator, device, precision)
        if n_merges:
            current = merge_clusters(embed(network, inputs), current, n_merges, k_s=params["k_s"], k_c=params["k_c"],
                                     n_target=n_clusters, normalize=params["normalize"])
            fit["labels"] = torch.from_numpy(current)
        return dict(losses=float(np.mean(losses)) if losses else float("nan"), epoch_losses=losses,
                    n_clusters=int(current.max()) + 1, stage="period" if n_merges else "finetune")

    history = run_epochs(step, epochs=len(schedule), history=JuleHistory(), precision=precision,
                         state=dict(network=network, optimizer=opt, generator=generator, fit=fit),
                         checkpoint_path=checkpoint_path, config=config, desc=desc, progress=progress,
                         autocast_step=False)
    return JuleResult(labels=fit["labels"].numpy(), embedding=embed(network, inputs), history=history,
                      n_initial_clusters=c0)


# ---------------------------------------------------------------------------------------------
# validation (shared with MVnet)
# ---------------------------------------------------------------------------------------------


def _check_matrix(X) -> np.ndarray:
    try:
        X = np.asarray(X)
    except ValueError as exc:  # ragged rows
        raise InvalidParameter(f"X must be a numeric array of shape (n_samples, n_features): {exc}") from exc
    if X.ndim != 2:
        raise InvalidParameter(f"X must be 2-D (n_samples, n_features); got shape {X.shape}. Flatten images first "
                               "(X.reshape(len(X), -1)).")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise InvalidParameter(f"X needs at least 2 samples and 1 feature; got shape {X.shape}.")
    return check_inputs(X, (2,), "(n_samples, n_features)")


def check_jule_params(est, n_samples: int) -> dict:
    """Validate the parameters of a :class:`JULE` (or a template of MVnet's stages) for ``n_samples`` samples,
    before any compute; returns them resolved (what :func:`run_jule` takes)."""
    def _int(name: str, lo: int) -> int:
        v = getattr(est, name)
        if not is_int(v, lo):
            raise InvalidParameter(f"{name} must be an integer >= {lo}; got {v!r}.")
        return int(v)

    def _pos(name: str, allow_zero: bool = False) -> float:
        v = getattr(est, name)
        if not is_finite_number(v) or v < 0 or (v == 0 and not allow_zero):
            kind = ">= 0" if allow_zero else "> 0"
            raise InvalidParameter(f"{name} must be a finite number {kind}; got {v!r}.")
        return float(v)

    if est.n_clusters is None:
        raise InvalidParameter("n_clusters is required: JULE(n_clusters=K, ...) (MVnet(n_clusters=K, ...)).")
    k = _int("n_clusters", 1)
    if k >= n_samples:
        raise InvalidParameter(f"n_clusters={k} must be smaller than the number of samples ({n_samples}).")
    eta = est.eta
    if not is_finite_number(eta) or not (0 < eta <= 1):
        raise InvalidParameter(
            f"eta (the unfolding rate: fraction of clusters merged per period) must be in (0, 1]; got "
            f"{eta!r}. JULE uses 0.9 for objects and 0.2 for faces.")
    if est.init not in ("xavier", "normal"):
        raise InvalidParameter(f"init must be 'xavier' or 'normal'; got {est.init!r}.")
    if not isinstance(est.normalize, (bool, np.bool_)):
        raise InvalidParameter(f"normalize must be True or False; got {est.normalize!r}.")
    hidden = tuple(est.hidden_dims)
    if any(int(h) < 1 for h in hidden):
        raise InvalidParameter(f"hidden_dims must be positive widths; got {est.hidden_dims!r}.")
    check_checkpoint_path(est.checkpoint_path)
    resolve_precision(resolve_device(est.device), est.amp)
    return dict(
        n_clusters=k, eta=float(eta), epochs_per_period=_int("epochs_per_period", 1),
        max_epochs=_int("max_epochs", 0), k_s=_int("k_s", 1), k_c=_int("k_c", 1),
        batch_size=_int("batch_size", 2), lr=_pos("lr"), momentum=_pos("momentum", True),
        weight_decay=_pos("weight_decay", True), lr_gamma=_pos("lr_gamma", True),
        lr_power=_pos("lr_power", True), margin=_pos("margin", True),
        triplet_gamma=_pos("triplet_gamma"), n_negatives=_int("n_negatives", 1),
        finetune_epochs=_int("finetune_epochs", 0), embedding_dim=_int("embedding_dim", 1),
        max_memory_bytes=_memory_limit(est.max_memory_bytes), normalize=bool(est.normalize),
    )


def _memory_limit(v) -> int | None:
    if v is None:
        return None
    if not is_int(v, 1):
        raise InvalidParameter(f"max_memory_bytes must be a positive integer or None; got {v!r}.")
    return int(v)


def _seed(random_state) -> int:
    """The seed of ``random_state``: an int, None (seed 0, the package's contract: clustlib.deep.engine.seed_of),
    or one drawn from a RandomState / Generator."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    return seed_of(random_state)


# ---------------------------------------------------------------------------------------------
# estimator
# ---------------------------------------------------------------------------------------------


class JULE(ClusterMixin, BaseEstimator):
    """JULE recurrent agglomerative deep clustering of vectors (an MLP as :math:`\\varphi_\\theta`).

    Parameters
    ----------
    n_clusters : int
        Target number of clusters K*.
    eta : float, default 0.9
        Unfolding rate: each period merges ``ceil(eta * C)`` pairs (0.9 for objects, 0.2 for faces).
    epochs_per_period : int, default 20
        Training epochs between two merge periods (JULE.torch ``epoch_pp``).
    max_epochs : int, default 1000
        Cap on training epochs; once spent, the remaining merges happen without training.
    k_s, k_c : int, default 20, 5
        Sample neighbours of the affinity graph; neighbour clusters of the merge criterion.
    normalize : bool, default True
        Rescale every row with L2 norm above 1 to norm 1 (:func:`renorm`) before the initial 1-NN chains on
        ``X`` and before every merge period's affinity graph. Neither the JULE paper nor Guérin et al. say; this
        is JULE.torch's ``-normalize 1`` default (``features:renorm(2, 1, 1)`` in ``merge_label``). For CNN
        features, whose norms are far above 1, the chains are then those of the cosine distance. The network's
        own output is already unit-norm, so after the first period it changes nothing. ``False``: raw ``X``.
    hidden_dims : sequence of int, default (160,)
        Hidden widths of the MLP; with ``embedding_dim=160`` this is Guérin's ``d -> 160 -> 160``.
    embedding_dim : int, default 160
    init : {"xavier", "normal"}, default "xavier"
        Weight init (Guérin et al.: Xavier; JULE.torch: N(0, 0.01)).
    batch_size : int, default 100
    lr, momentum, weight_decay : float, default 0.01, 0.9, 5e-5
        SGD; ``weight_decay`` is the L2 regularisation.
    lr_gamma, lr_power : float, default 1e-4, 0.75
        Caffe "inv" policy ``lr * (1 + lr_gamma * iter) ** -lr_power``, iterations counted over all epochs.
    margin, triplet_gamma, n_negatives : float, float, int, default 0.2, 1.0, 20
        Triplet loss margin, weight of the positive distance, negatives per positive pair.
    finetune_epochs : int, default 0
        Optional final training on the K* clusters (Guérin et al. 5.2.1); labels do not change.
    max_memory_bytes : int, optional
        Budget for the dense (C0, C0) affinity matrices of the merge step (C0 = initial clusters,
        about N/4); exceeding it raises ``MemoryBudgetExceeded`` with an "N/A: ..." reason before
        any training. ``None``: no check.
    device : str, optional
        Default CUDA if available, else CPU (as every method in :mod:`clustlib.deep`).
    amp : {False, None, True, "bfloat16", "float16"}, default False
        Mixed precision of the training forward passes (:func:`clustlib.deep.engine.resolve_precision`); off by
        default (the papers trained in float32). The triplet loss and the merges stay in float32/float64.
    random_state : int, RandomState, Generator or None
        Seeds weights, batch order and negative sampling; same seed -> same result on CPU. None means seed 0,
        as for every method in :mod:`clustlib.deep` (it used to draw a fresh seed).
    verbose : bool, default False
        Progress bar (one step per period).
    checkpoint_path : path, optional
        Written after every period (network, optimiser, generator, cluster labels, history; tensors and plain
        values only), resumed when it matches this configuration and data; another one is refused.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
    embedding_ : ndarray of shape (n_samples, embedding_dim)
        Final L2-normalised embedding.
    network_ : EmbeddingMLP
        The trained network (``transform`` uses it).
    n_clusters_history_ : list of int
        Cluster count at the start and after each merge period, ending at ``n_clusters``.
    loss_history_ : list of list of float
        Mean triplet loss of every epoch, one list per training period.
    finetune_loss_ : list of float
    n_epochs_ : int
        Training epochs spent in the recurrent periods.
    history_ : JuleHistory
        Per-step record (loss, clusters, seconds, precision).
    precision_ : str
        "float32", "bfloat16" or "float16".
    fit_seconds_ : float
        Wall time of ``fit``, in seconds (also ``total_seconds_``).

    References
    ----------
    J. Yang, D. Parikh, D. Batra, "Joint Unsupervised Learning of Deep Representations and Image
    Clusters", CVPR 2016; code https://github.com/jwyang/JULE.torch.
    J. Guérin et al., Neurocomputing 423 (2021), Sections 5.2 and 6.1.
    """

    def __init__(self, n_clusters: int | None = None, *, eta: float = 0.9, epochs_per_period: int = 20,
                 max_epochs: int = 1000, k_s: int = 20, k_c: int = 5, normalize: bool = True,
                 hidden_dims: Sequence[int] = (160,),
                 embedding_dim: int = 160, init: str = "xavier", batch_size: int = 100, lr: float = 0.01,
                 momentum: float = 0.9, weight_decay: float = 5e-5, lr_gamma: float = 1e-4,
                 lr_power: float = 0.75, margin: float = 0.2, triplet_gamma: float = 1.0,
                 n_negatives: int = 20, finetune_epochs: int = 0, max_memory_bytes: int | None = None,
                 device: str | None = None, amp: bool | str | None = False, random_state=None,
                 verbose: bool = False, checkpoint_path: str | os.PathLike | None = None) -> None:
        store_init_args(self, locals())

    def fit(self, X, y=None) -> "JULE":
        """Cluster ``X`` of shape (n_samples, n_features); ``y`` is ignored."""
        t0 = time.perf_counter()
        X = _check_matrix(X)
        p = check_jule_params(self, X.shape[0])
        seed = _seed(self.random_state)
        device = resolve_device(self.device)
        start = FitStart(seed, device, resolve_precision(device, self.amp), torch.Generator().manual_seed(seed), t0)
        net = EmbeddingMLP(X.shape[1], self.hidden_dims, p["embedding_dim"], init=self.init,
                           generator=start.generator).to(device)
        config = None if self.checkpoint_path is None else \
            estimator_config(self, X, skip=("verbose", "max_memory_bytes", "random_state"), seed=seed)
        res = run_jule(net, [torch.as_tensor(X)], X, p, start.generator, device=device,  # X stays on the CPU
                       precision=start.precision, checkpoint_path=self.checkpoint_path, config=config,
                       progress=self.verbose)
        self.network_ = net.eval()
        self.labels_ = res.labels
        self.embedding_ = res.embedding
        self.n_clusters_history_ = res.n_clusters_history
        self.loss_history_ = res.loss_history
        self.finetune_loss_ = res.finetune_loss
        self.n_epochs_ = res.n_epochs
        finish_fit(self, start, res.history, X)
        self.fit_seconds_ = self.total_seconds_
        return self

    def transform(self, X) -> np.ndarray:
        """Embed ``X`` (n_samples, n_features) with the trained network -> (n_samples, embedding_dim)."""
        check_fitted(self)
        X = _check_matrix(X)
        if X.shape[1] != self.network_.in_dim:
            raise InvalidParameter(
                f"X has {X.shape[1]} features but JULE was fitted on {self.network_.in_dim}.")
        return embed(self.network_, [torch.as_tensor(X)])
