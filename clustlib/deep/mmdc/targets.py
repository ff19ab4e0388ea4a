"""MMDC's mixture targets: the component means, the targets drawn from them, and the per-batch assignment."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from clustlib.errors import InvalidParameter

__all__ = ["TARGET_MEANS", "gmm_means", "sample_targets", "assign_targets", "match_labels"]

TARGET_MEANS = ("one_hot", "random")


def gmm_means(n_clusters: int, dim: int, init: str = "one_hot", generator: torch.Generator | None = None
              ) -> torch.Tensor:
    """Component means of the target mixture, (K, dim) with unit rows.

    ``"one_hot"``: the first K rows of the identity (needs ``dim >= K``); ``"random"``: U(-0.1, 0.1)
    entries, each row L2-normalised (``utils/gmm.py``).
    """
    if init == "one_hot":
        if dim < n_clusters:
            raise InvalidParameter(f"one-hot target means need target_dim >= n_clusters ({n_clusters}), got {dim}.")
        return torch.eye(n_clusters, dim)
    if init == "random":
        return F.normalize(torch.rand(n_clusters, dim, generator=generator) * 0.2 - 0.1, dim=1)
    raise InvalidParameter(f"target_means must be one of {TARGET_MEANS}, got {init!r}.")


def sample_targets(n: int, means: torch.Tensor, sigma: float = 0.0, generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` targets: a uniformly random component each, plus N(0, sigma^2) noise, L2-normalised.

    Returns
    -------
    targets : torch.Tensor, shape (n, dim)
    components : torch.Tensor of int64, shape (n,)
        The component each target was drawn from. Sizes are multinomial(n, 1/K).
    """
    k, dim = means.shape
    comp = torch.randint(k, (n,), generator=generator)
    targets = means[comp]
    if sigma > 0:
        targets = targets + sigma * torch.randn(n, dim, generator=generator)
    return F.normalize(targets, dim=1), comp


def assign_targets(outputs: np.ndarray | torch.Tensor, targets: np.ndarray | torch.Tensor) -> np.ndarray:
    """Permutation of a batch's targets that minimises the summed Euclidean output-target distance.

    Parameters
    ----------
    outputs : array, shape (B, d)
        Network outputs of the batch (eval mode, centre crops).
    targets : array, shape (B, d)
        The targets the batch's images currently hold.

    Returns
    -------
    ndarray of int64, shape (B,)
        ``perm`` such that image ``i`` gets ``targets[perm[i]]`` (lap.lapjv on the distance matrix in
        the code; here :func:`scipy.optimize.linear_sum_assignment`).
    """
    o = np.asarray(torch.as_tensor(outputs).detach().float().cpu(), dtype=np.float64)
    t = np.asarray(torch.as_tensor(targets).detach().cpu(), dtype=np.float64)
    cost = np.sqrt(np.maximum(((o[:, None, :] - t[None, :, :]) ** 2).sum(-1), 0.0))  # (B, B)
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(len(rows), dtype=np.int64)
    perm[rows] = cols
    return perm


def match_labels(labels: np.ndarray, reference: np.ndarray, n_clusters: int) -> np.ndarray:
    """Rename ``labels`` so they overlap ``reference`` the most (Hungarian on the K x K overlap counts).

    Both are int arrays of shape (N,) with values in [0, K); returns the renamed labels (N,).
    """
    counts = np.zeros((n_clusters, n_clusters), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels), np.asarray(reference)), 1)  # (K, K): [new, old]
    rows, cols = linear_sum_assignment(-counts)
    mapping = np.empty(n_clusters, dtype=np.int64)
    mapping[rows] = cols
    return mapping[np.asarray(labels)]
