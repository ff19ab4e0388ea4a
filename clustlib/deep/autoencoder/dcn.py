"""DCN (Deep Clustering Network) as run in the ClustPy benchmark."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from clustlib.deep.autoencoder.base import DeepClusterer, encode_all, reconstruction_term
from clustlib.deep.engine import to_device_batch
from clustlib.deep.autoencoder.training import make_adam, train_epochs
from clustlib.errors import InvalidParameter

__all__ = ["DCN", "online_centroid_update"]


def online_centroid_update(
    centers: torch.Tensor, counts: torch.Tensor, z: torch.Tensor, labels: torch.Tensor
) -> None:
    """DCN's per-sample centroid update ``c <- (1 - 1/n_c) c + (1/n_c) z`` for a whole batch, in place.

    Feeding r points of one cluster one by one, each first incrementing ``n_c``, ends at
    ``(n_c c + sum z) / (n_c + r)``, a running mean with prior weight ``n_c``; this computes that
    closed form for every cluster at once (equal to the sequential loop up to float rounding).

    Parameters
    ----------
    centers : torch.Tensor, shape (K, m)
        Updated in place.
    counts : torch.Tensor, shape (K,)
        Per-centre counts (float), updated in place.
    z : torch.Tensor, shape (B, m)
    labels : torch.Tensor of int64, shape (B,)
    """
    k = centers.shape[0]
    r = torch.bincount(labels, minlength=k).to(centers.dtype)  # (K,)
    sums = torch.zeros_like(centers).index_add_(0, labels, z.to(centers.dtype))  # (K, m)
    centers.mul_(counts.unsqueeze(1)).add_(sums).div_((counts + r).unsqueeze(1))
    counts.add_(r)


class _DCNState(nn.Module):
    def __init__(self, centers: np.ndarray, initial_count: float) -> None:
        super().__init__()
        c = torch.as_tensor(np.asarray(centers), dtype=torch.float32).clone()
        self.register_buffer("centers", c)
        self.register_buffer("counts", torch.full((c.shape[0],), float(initial_count)))


class DCN(DeepClusterer):
    """Deep Clustering Network with ClustPy's benchmark decisions.

    Loss per batch: ``MSE_rec + 0.5 * lambda * mean_{B x K}(d^2 * onehot)``, the hard assignment
    taken to the current centres (the ``.mean()`` over the B x K matrix also divides the cluster
    term by K, as in ClustPy). Centres are not trained by gradient: after each epoch's gradient
    pass, a no-grad pass over the data in a new random order assigns every point to its nearest
    centre and moves that centre online, ``c <- (1 - 1/n_c) c + z/n_c``, with counts starting at
    100 (from the original DCN code, not in the paper). ``labels_`` is a final k-means on the
    trained embedding (what the benchmark scores); the nearest DCN centre is ``method_labels_``.

    Parameters
    ----------
    n_clusters : int
        K, in [2, N]; required (``fit`` refuses None).
    distortion_weight : float, default=0.05
        lambda, the degree of space distortion.
    reconstruction_loss_weight : float, default=1.0
        Degree of space preservation.
    initial_count : float, default=100
        Starting per-centre count of the online update.
    embedding_size ... progress
        The family's shared parameters (:data:`~clustlib.deep.autoencoder.base.AE_PARAMS`), as in
        :class:`clustlib.deep.DEC`.

    Attributes
    ----------
    See :class:`clustlib.deep.DeepClusterer`; also ``dcn_centers_`` (K, m).

    References
    ----------
    Yang, Fu, Sidiropoulos, Hong, "Towards K-means-friendly Spaces: Simultaneous Deep Learning and
    Clustering", ICML 2017. Leiber et al., "Benchmarking Deep Clustering Algorithms With ClustPy",
    ICDMW 2023; https://github.com/collinleiber/ClustPy (``clustpy/deep/dcn.py``).
    """

    _method_name = "DCN"

    _own_params = {"distortion_weight": 0.05, "reconstruction_loss_weight": 1.0, "initial_count": 100.0}

    def _extra_param_errors(self, X) -> None:
        if self.distortion_weight < 0 or self.reconstruction_loss_weight < 0:
            raise InvalidParameter("distortion_weight and reconstruction_loss_weight must be >= 0.")
        if not self.initial_count > 0:
            raise InvalidParameter(f"initial_count must be > 0, got {self.initial_count}.")

    def _cluster(self, Xt, ae, km0, *, generator, device, checkpoint_config):
        state = _DCNState(km0.cluster_centers_, self.initial_count).to(device)
        optimizer = make_adam(ae.parameters(), self.lr)
        w_dist, w_rec = 0.5 * float(self.distortion_weight), float(self.reconstruction_loss_weight)
        bs = self.batch_size

        def batch_loss(idx: torch.Tensor, xb: torch.Tensor, xa: torch.Tensor | None = None) -> torch.Tensor:
            z, za = ae.encode(xb), None
            d2 = (z.unsqueeze(1) - state.centers.unsqueeze(0)).pow(2).sum(2)  # (B, K)
            onehot = torch.zeros_like(d2).scatter_(1, d2.detach().argmin(1, keepdim=True), 1.0)
            cluster = (d2 * onehot).mean()
            if xa is not None:  # augmentation: the augmented copy goes to its clean sample's centre
                za = ae.encode(xa)
                d2a = (za.unsqueeze(1) - state.centers.unsqueeze(0)).pow(2).sum(2)
                cluster = 0.5 * (cluster + (d2a * onehot).mean())
            loss = w_dist * cluster
            if w_rec > 0:
                loss = loss + w_rec * reconstruction_term(ae, z, xb, za, xa)
            return loss

        @torch.no_grad()
        def centre_pass(epoch: int) -> None:
            ae.eval()
            perm = torch.randperm(Xt.shape[0], generator=generator)
            for start in range(0, Xt.shape[0], bs):
                z = ae.encode(to_device_batch(Xt, perm[start:start + bs], device)).float()
                labels = torch.cdist(z, state.centers).argmin(1)
                online_centroid_update(state.centers, state.counts, z, labels)

        history = train_epochs(Xt, batch_loss, optimizer, {"autoencoder": ae, "dcn": state},
                               on_epoch_end=centre_pass, **self._train_kwargs(generator, device, checkpoint_config))
        Z = encode_all(ae, Xt)
        labels = torch.cdist(Z, state.centers).argmin(1).cpu().numpy()
        self.dcn_centers_ = state.centers.cpu().numpy()
        return labels, history
