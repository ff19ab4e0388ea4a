"""DipEncoder as run in the ClustPy benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from clustlib.deep.autoencoder.base import DeepClusterer, encode_all
from clustlib.stats.dip import dip_gradient, dip_statistic, mirrored_modal_interval
from clustlib.deep.networks.autoencoders import build_autoencoder
from clustlib.deep.engine import to_device_batch
from clustlib.deep.autoencoder.training import make_adam, train_epochs
from clustlib.errors import InvalidParameter

__all__ = ["DipEncoder", "dip_loss_value"]

_MIN_POINTS = 10  # a cluster pair is skipped when either side has fewer batch members


class _Dip(torch.autograd.Function):
    """dip(values) with the modal-triangle gradient (only three values get a gradient)."""

    @staticmethod
    def forward(ctx, values: torch.Tensor) -> torch.Tensor:
        v = values.detach().double().cpu().numpy()
        order = np.argsort(v, kind="stable")
        xs = v[order]
        d, _, tri = dip_statistic(xs, is_sorted=True)
        grad = np.zeros_like(v)
        if tri[0] >= 0:
            grad[order[list(tri)]] = dip_gradient(xs, tri)
        ctx.save_for_backward(torch.from_numpy(grad).to(values.device, values.dtype))
        return values.new_tensor(d)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (grad,) = ctx.saved_tensors
        return grad_out * grad


def dip_loss_value(values: torch.Tensor) -> torch.Tensor:
    """Differentiable Hartigan dip of a 1-D tensor (the DipEncoder's building block)."""
    return _Dip.apply(values)


class _DipState(nn.Module):
    def __init__(self, axes: np.ndarray, labels: np.ndarray) -> None:
        super().__init__()
        self.axes = nn.Parameter(torch.as_tensor(axes, dtype=torch.float32).clone())  # (P, m)
        self.register_buffer("labels", torch.as_tensor(labels, dtype=torch.int64).clone())


def _pairs(k: int) -> list[tuple[int, int]]:
    return [(m, n) for m in range(k - 1) for n in range(m + 1, k)]


def _vote(Z: np.ndarray, axes: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, list]:
    """DipEncoder's label update: per pair, a threshold halfway between the two modal intervals."""
    votes = np.zeros((Z.shape[0], k))
    members = [np.flatnonzero(labels == c) for c in range(k)]
    thresholds = []
    for p, (m, n) in enumerate(_pairs(k)):
        if len(members[m]) == 0 or len(members[n]) == 0:
            thresholds.append((np.nan, (m, n)))
            continue
        proj = Z @ axes[p]
        bounds = []
        for c in (m, n):
            pc = np.sort(proj[members[c]])
            bounds.append((pc.mean(), pc.mean()) if len(pc) < 4 else mirrored_modal_interval(pc))
        (lo_m, hi_m), (lo_n, hi_n) = bounds
        if lo_m > hi_n:
            left, right, thr = n, m, hi_n + (lo_m - hi_n) / 2
        elif lo_n > hi_m:
            left, right, thr = m, n, hi_m + (lo_n - hi_m) / 2
        elif (lo_m + hi_m) / 2 > (lo_n + hi_n) / 2:  # overlapping intervals: m is the right one
            left, right, thr = n, m, lo_m + (hi_n - lo_m) / 2
        else:
            left, right, thr = m, n, lo_n + (hi_m - lo_n) / 2
        votes[proj < thr, left] += 1
        votes[proj >= thr, right] += 1
        thresholds.append((float(thr), (left, right)))
    return votes.argmax(1).astype(np.int64), thresholds


class DipEncoder(DeepClusterer):
    """DipEncoder: an autoencoder whose embedding is made multimodal between clusters along learned axes.

    One learnable projection axis per cluster pair, initialised as the difference of the initial
    k-means centres. Batch loss: the mean over pairs of ``0.5 (dip(C_m) + dip(C_n)) - dip(C_m ∪ C_n)``
    on the batch members projected onto the pair's axis (pairs with fewer than 10 members on a
    side are skipped; the larger side is subsampled to at most ``max_cluster_size_diff_factor``
    times the smaller), plus the MSE reconstruction times ``reconstruction_loss_weight``, which by
    default is ``1 / (4 L0)`` with ``L0`` the first batch's reconstruction loss under a fresh,
    untrained autoencoder of the same architecture. The dip's gradient flows through its modal
    triangle (:mod:`clustlib.stats.dip`). Labels are recomputed before every epoch and after the
    last by pairwise thresholds halfway between the clusters' (mirrored) modal intervals, each
    threshold casting a vote; ``labels_`` are these votes (the benchmark scores them directly).

    Parameters
    ----------
    n_clusters : int
        K, in [2, N]; required (``fit`` refuses None).
    max_cluster_size_diff_factor : float, default=3.0
    cluster_loss_weight : float, default=1.0
    reconstruction_loss_weight : float or None, default=None
        None -> the automatic ``1 / (4 L0)`` above.
    embedding_size ... progress
        The family's shared parameters (:data:`~clustlib.deep.autoencoder.base.AE_PARAMS`), as in
        :class:`clustlib.deep.DEC` (the benchmark uses batch 256 and 150 epochs).

    Attributes
    ----------
    See :class:`clustlib.deep.DeepClusterer`; also ``projection_axes_`` (K(K-1)/2, m) and
    ``thresholds_`` (one ``(threshold, (left_cluster, right_cluster))`` per pair).
    ``cluster_centers_`` are the embedding means of the final clusters.

    References
    ----------
    Leiber, Bauer, Neumayr, Plant, Böhm, "The DipEncoder: Enforcing Multimodality in Autoencoders",
    KDD 2022. Leiber et al., "Benchmarking Deep Clustering Algorithms With ClustPy", ICDMW 2023;
    https://github.com/collinleiber/ClustPy (``clustpy/deep/dipencoder.py``).
    """

    _method_name = "DipEncoder"

    _own_params = {"max_cluster_size_diff_factor": 3.0, "cluster_loss_weight": 1.0,
                   "reconstruction_loss_weight": None}

    def _extra_param_errors(self, X) -> None:
        if not self.max_cluster_size_diff_factor >= 1:
            raise InvalidParameter(f"max_cluster_size_diff_factor must be >= 1, got {self.max_cluster_size_diff_factor}.")
        if self.cluster_loss_weight < 0:
            raise InvalidParameter(f"cluster_loss_weight must be >= 0, got {self.cluster_loss_weight}.")
        w = self.reconstruction_loss_weight
        if w is not None and w < 0:
            raise InvalidParameter(f"reconstruction_loss_weight must be None or >= 0, got {w}.")

    def _auto_reconstruction_weight(self, Xt: torch.Tensor, ae: nn.Module, seed: int) -> float:
        device = next(ae.parameters()).device
        fresh = build_autoencoder(self.network, tuple(Xt.shape[1:]), self.embedding_size,
                                  seed=seed + 1).to(device)
        g = torch.Generator().manual_seed(seed)
        first = to_device_batch(Xt, torch.randperm(Xt.shape[0], generator=g)[: self.batch_size], device)
        with torch.no_grad():
            l0 = float(torch.nn.functional.mse_loss(fresh(first), first))
        return 1.0 / (4.0 * l0) if l0 > 0 else 1.0

    def _cluster(self, Xt, ae, km0, *, generator, device, checkpoint_config):
        k = self.n_clusters
        pairs = _pairs(k)
        centers = km0.cluster_centers_
        axes = np.stack([centers[n] - centers[m] for m, n in pairs])  # (P, m)
        state = _DipState(axes, km0.labels_).to(device)
        w_rec = self.reconstruction_loss_weight
        if w_rec is None:
            w_rec = self._auto_reconstruction_weight(Xt, ae, self._seed())
        w_rec, w_dip, factor = float(w_rec), float(self.cluster_loss_weight), float(self.max_cluster_size_diff_factor)
        optimizer = make_adam(list(ae.parameters()) + [state.axes], self.lr)

        def relabel(epoch: int | None = None) -> None:
            Z = encode_all(ae, Xt).cpu().numpy().astype(np.float64)
            labels, self.thresholds_ = _vote(Z, state.axes.detach().cpu().numpy().astype(np.float64),
                                             state.labels.cpu().numpy(), k)
            state.labels.copy_(torch.from_numpy(labels))

        def batch_loss(idx: torch.Tensor, xb: torch.Tensor, xa: torch.Tensor | None = None) -> torch.Tensor:
            z = ae.encode(xb)
            loss = w_rec * torch.nn.functional.mse_loss(ae.decode(z), xb)
            lab = state.labels.index_select(0, idx)
            if xa is not None:  # augmentation: augmented copies join their clean samples' clusters
                za = ae.encode(xa)
                loss = 0.5 * (loss + w_rec * torch.nn.functional.mse_loss(ae.decode(za), xa))
                z, lab = torch.cat([z, za]), torch.cat([lab, lab])
            members = [torch.nonzero(lab == c).squeeze(1) for c in range(k)]
            dip_sum = z.new_zeros(())
            for p, (m, n) in enumerate(pairs):
                im, iN = members[m], members[n]
                if len(im) < _MIN_POINTS or len(iN) < _MIN_POINTS:
                    continue
                proj = z @ state.axes[p]  # (B,)
                dm, dn = dip_loss_value(proj[im]), dip_loss_value(proj[iN])
                if len(im) > factor * len(iN):
                    im = im[torch.randperm(len(im), generator=generator)[: int(len(iN) * factor)].to(im.device)]
                elif len(iN) > factor * len(im):
                    iN = iN[torch.randperm(len(iN), generator=generator)[: int(len(im) * factor)].to(iN.device)]
                dmn = dip_loss_value(proj[torch.cat([im, iN])])
                dip_sum = dip_sum + 0.5 * (dm + dn) - dmn
            return loss + w_dip * dip_sum / len(pairs)

        resuming = self.checkpoint_path is not None and Path(self.checkpoint_path).exists()
        if not resuming:
            relabel()
        history = train_epochs(Xt, batch_loss, optimizer, {"autoencoder": ae, "dip": state}, on_epoch_end=relabel,
                               **self._train_kwargs(generator, device, checkpoint_config))
        if resuming and not history.losses[history.resumed_from:]:
            relabel()
        self.reconstruction_weight_ = w_rec
        self.projection_axes_ = state.axes.detach().cpu().numpy()
        self._dip_labels = state.labels.cpu().numpy().copy()
        return self._dip_labels, history

    def _final_clustering(self, Z: np.ndarray, seed: int) -> None:
        labels = self._dip_labels
        del self._dip_labels
        self.labels_ = labels.astype(np.int64)
        centers = np.zeros((self.n_clusters, Z.shape[1]), dtype=np.float32)
        for c in range(self.n_clusters):
            if np.any(labels == c):
                centers[c] = Z[labels == c].mean(0)
        self.cluster_centers_ = centers

    def predict(self, X) -> np.ndarray:
        """Labels of new points by the fitted pairwise thresholds (each casts a vote); int64 (N,)."""
        Z = self.transform(X).astype(np.float64)
        votes = np.zeros((Z.shape[0], self.n_clusters))
        for p, (thr, (left, right)) in enumerate(self.thresholds_):
            if np.isnan(thr):
                continue
            proj = Z @ self.projection_axes_[p].astype(np.float64)
            votes[proj < thr, left] += 1
            votes[proj >= thr, right] += 1
        return votes.argmax(1).astype(np.int64)
