"""DAC's adaptive rules and pairwise losses (eq. 2, 6, 10-12 of Chang et al. 2017), and the chunk gradient.

See :mod:`clustlib.deep.dac.dac` for how the estimator uses them.
"""

from __future__ import annotations

import math

import torch

from clustlib.deep.dac.presets import (PAIR_LOSSES, PAPER_ETA, PAPER_LOWER, PAPER_LOWER_SLOPE, PAPER_STAR_END,
                                       PAPER_UPPER, SCHEDULES, VARIANTS)
from clustlib.deep.engine import full_precision
from clustlib.deep.networks.allconv import DACNetwork
from clustlib.errors import InvalidParameter

__all__ = ["dac_thresholds", "paper_thresholds", "paper_iterations", "script_thresholds", "select_pairs",
           "pair_targets", "pair_loss", "chunk_pair_loss"]

#: Keras 1's clipping constant in binary cross-entropy.
_EPS = 1e-7


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
