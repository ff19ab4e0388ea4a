"""Contrastive Clustering's losses (Li et al., AAAI 2021, eq. 2-3 and 5-8): instance- and cluster-level NT-Xent."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from clustlib.deep.engine import full_precision
from clustlib.errors import InvalidParameter

__all__ = ["instance_loss", "cluster_loss"]

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
