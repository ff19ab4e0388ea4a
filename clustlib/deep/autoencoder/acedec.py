"""ACe/DeC (ENRC with one cluster space and one shared space) as run in the ClustPy benchmark."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans
from torch import nn

from clustlib.cluster.subkmeans import NrKMeans
from clustlib.deep.autoencoder.base import DeepClusterer, encode_all
from clustlib.deep.engine import to_device_batch
from clustlib.deep.autoencoder.training import make_adam, train_epochs
from clustlib.errors import InvalidParameter

__all__ = ["ACeDeC", "acedec_subspace_loss", "optimal_beta_weights", "subspace_dims"]

#: How far below 1/2 a dimension's shared-space weight must fall before it counts as a cluster dimension.
_SHARED_SPACE_VARIATION = 0.05
#: Lonely-centre re-initialisation: sample size and mini-batch k-means steps (ClustPy's values).
_REINIT_SAMPLES, _REINIT_KMEANS_STEPS = 512, 10


class _ACeDeCState(nn.Module):
    """The learnable rotation V (d, d) and beta logits (2, d), plus the centres and their counters.

    Row 0 of everything per space is the cluster space (K centres), row 1 the shared space (one
    centre). Centres and counters are buffers: they move with the module and are checkpointed,
    but no optimiser touches them.
    """

    def __init__(self, centers: np.ndarray, shared_center: np.ndarray, V: np.ndarray, beta_weights: np.ndarray) -> None:
        super().__init__()
        f32 = dict(dtype=torch.float32)
        self.V = nn.Parameter(torch.as_tensor(np.asarray(V), **f32).clone())
        self.beta_weights = nn.Parameter(torch.as_tensor(np.asarray(beta_weights), **f32).clone())
        k = centers.shape[0]
        self.register_buffer("centers", torch.as_tensor(np.asarray(centers), **f32).clone())  # (K, d), rotated space
        self.register_buffer("shared_center", torch.as_tensor(np.asarray(shared_center), **f32).reshape(1, -1).clone())
        self.register_buffer("mask_sum", torch.zeros(k))  # EMA of the per-centre batch counts
        self.register_buffer("lonely", torch.zeros(k, dtype=torch.int64))  # batches without a single point
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))  # mini-batch iterations so far

    def betas(self) -> torch.Tensor:
        """Soft dimension-to-space assignment (2, d): softmax of the logits over the two spaces."""
        return torch.softmax(self.beta_weights, dim=0)


def acedec_subspace_loss(z_rot: torch.Tensor, centers: torch.Tensor, shared_center: torch.Tensor,
                         betas: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """ACe/DeC's subspace loss of a batch and the hard cluster assignment it used.

    For each space s, the squared distance of a rotated point to its centre with every dimension
    scaled by that space's beta, ``sum_d (beta_sd (z_d - c_d))^2``, summed over the batch and
    divided by the batch size; the two spaces' terms are averaged (ClustPy's ENRC forward).

    Parameters
    ----------
    z_rot : torch.Tensor, shape (B, d)
        Rotated embedding ``z V``.
    centers : torch.Tensor, shape (K, d)
        Cluster-space centres (rotated space); not differentiated.
    shared_center : torch.Tensor, shape (1, d)
    betas : torch.Tensor, shape (2, d)
        Row 0: cluster space, row 1: shared space.
    labels : torch.Tensor of int64, shape (B,), optional
        Assignments to reuse (an augmented batch takes its clean batch's); default: nearest
        centre under the beta-weighted distance.

    Returns
    -------
    loss : torch.Tensor, scalar
    labels : torch.Tensor of int64, shape (B,)
    """
    b = z_rot.shape[0]
    diff = (z_rot.unsqueeze(1) - centers.detach().unsqueeze(0)) * betas[0]  # (B, K, d)
    d_cluster = diff.pow(2).sum(2) / b  # (B, K)
    if labels is None:
        labels = d_cluster.detach().argmin(1)
    cluster = d_cluster.gather(1, labels.unsqueeze(1)).sum()
    shared = ((z_rot - shared_center.detach()) * betas[1]).pow(2).sum() / b
    return (cluster + shared) / 2.0, labels


def optimal_beta_weights(z_rot: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Closed-form beta logits (2, d) for a cluster space and a shared space.

    Per rotated dimension d, with L_c(d) the k-means loss of the nearest-centre assignment and
    L_s(d) the loss around the mean: logits ``-log(L_c / L_s)`` for the cluster space and
    ``-log(L_s / L_c)`` for the shared space (Miklautz et al. 2021, supplement).

    Parameters
    ----------
    z_rot : ndarray, shape (n, d)
    centers : ndarray, shape (K, d)
    """
    z = np.asarray(z_rot, dtype=np.float64)
    c = np.asarray(centers, dtype=np.float64)
    d2 = (z * z).sum(1)[:, None] - 2.0 * z @ c.T + (c * c).sum(1)[None]
    labels = d2.argmin(1)
    loss_cluster = ((z - c[labels]) ** 2).sum(0)  # (d,)
    loss_shared = ((z - z.mean(0)) ** 2).sum(0)
    ratio = np.log(np.maximum(loss_cluster, 1e-30) / np.maximum(loss_shared, 1e-30))
    return np.stack([-ratio, ratio]).astype(np.float32)


def subspace_dims(betas: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Hard split of the rotated dimensions from betas (2, d): (cluster dims, shared dims).

    A dimension belongs to the shared space unless its shared weight is at most
    ``1/2 - 0.05`` (ClustPy's ``_get_P``, which favours the shared space near the uniform weight).
    """
    b = np.asarray(betas.detach().cpu() if isinstance(betas, torch.Tensor) else betas, dtype=np.float64)
    shared = b[1] > 0.5 - _SHARED_SPACE_VARIATION
    return np.flatnonzero(~shared), np.flatnonzero(shared)


def _predict_rotated(z_rot: torch.Tensor, centers: torch.Tensor, cluster_dims: np.ndarray) -> torch.Tensor:
    """Nearest centre measured on the cluster dimensions only (ClustPy ``predict(use_P=True)``)."""
    idx = torch.as_tensor(cluster_dims, dtype=torch.long, device=z_rot.device)
    return torch.cdist(z_rot.float().index_select(1, idx), centers.index_select(1, idx)).argmin(1)


@torch.no_grad()
def _update_centers(state: _ACeDeCState, z_rot: torch.Tensor, labels: torch.Tensor, center_lr: float) -> None:
    """Mini-batch k-means step of the centres (ClustPy's ``update_center``), replacing the buffers.

    Shared centre: ``0.5 old + 0.5 batch mean``. Cluster centres: the batch counts enter an EMA
    (weight ``center_lr``) and each centre moves towards its batch mean with rate
    ``1 / (1 + EMA count)``. As in ClustPy, a centre without points in the batch gets a
    1e-8 count and a zero sum, so it is pulled towards the origin until the lonely-centre rule
    re-initialises it.
    """
    z = z_rot.float()
    k = state.centers.shape[0]
    state.shared_center = 0.5 * state.shared_center + 0.5 * z.mean(0, keepdim=True)
    counts = torch.bincount(labels, minlength=k).to(z.dtype)  # (K,)
    sums = torch.zeros_like(state.centers).index_add_(0, labels, z)  # (K, d)
    state.lonely = state.lonely + (counts == 0).long()
    counts = counts + 1e-8
    state.mask_sum = center_lr * counts + (1.0 - center_lr) * state.mask_sum
    rate = (1.0 / (1.0 + state.mask_sum)).unsqueeze(1)
    state.centers = (1.0 - rate) * state.centers + rate * sums / counts.unsqueeze(1)


@torch.no_grad()
def _reinit_lonely_centers(state: _ACeDeCState, encode, X: torch.Tensor, generator: torch.Generator) -> None:
    """Re-seed centres that had no point in more than ``max(1, floor(sqrt(step)))`` batches.

    A lonely centre moves to a random embedded point of a random sample of 512 points (plus a
    1e-4 perturbation), then 10 cumulative mini-batch k-means steps on that sample refine all
    cluster-space centres (ClustPy's ``reinit_centers`` with ``split="random"``). The draws come
    from ``generator``, so a checkpointed run replays them.
    """
    step = int(state.step)
    threshold = 1 if step == 0 else int(math.isqrt(step))
    lonely = torch.nonzero(state.lonely > threshold).flatten().tolist()
    if not lonely:
        return
    n = X.shape[0]
    n_samples = min(_REINIT_SAMPLES, n)
    betas = state.betas()[0]
    k = state.centers.shape[0]
    for c in lonely:
        idx = torch.randperm(n, generator=generator)[:n_samples]
        emb = (encode(to_device_batch(X, idx, state.V.device)).float() @ state.V).float()  # (n_samples, d)
        pick = int(torch.randint(n_samples, (1,), generator=generator))
        noise = torch.randn(emb.shape[1], generator=generator).to(emb.device)
        new_center = emb[pick] + 1e-4 * (emb.mean() + emb.std() * noise)
        centers = state.centers.clone()
        centers[c] = new_center
        sums = torch.zeros_like(centers)
        counts = torch.zeros(k, device=centers.device)
        for _ in range(_REINIT_KMEANS_STEPS):  # ClustPy accumulates sums and counts over the steps
            labels = ((emb.unsqueeze(1) - centers.unsqueeze(0)) * betas).pow(2).sum(2).argmin(1)
            sums.index_add_(0, labels, emb)
            counts += torch.bincount(labels, minlength=k).to(counts.dtype)
            nz = counts > 0
            centers[nz] = sums[nz] / counts[nz].unsqueeze(1)
        state.centers = centers
        state.mask_sum = counts.clone()
        lonely_counts = state.lonely.clone()
        lonely_counts[c] = 0
        state.lonely = lonely_counts


def _acedec_init(Z: np.ndarray, n_clusters: int, *, lr: float, batch_size: int, epochs: int, kmeans_n_init: int,
                 center_lr: float, rs: np.random.RandomState, generator: torch.Generator,
                 device: torch.device) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ACe/DeC's initialisation on an embedding ``Z`` (n, d) (ClustPy ``acedec_init``).

    1. NrKmeans([K, 1]) from 10 random starts with one iteration each, keeping the cheapest V.
    2. k-means (``kmeans_n_init`` restarts) in the rotated space; shared centre = the mean.
    3. Train only V and the beta logits (identity "autoencoder", uniform betas, beta lr 10x,
       mini-batches without the last partial one) for ``epochs`` epochs, the reconstruction
       ``||z V V^T - z||^2`` weighted by ``max(1, rec / rec_0 + subspace / rec)`` so that V stays
       close to orthogonal.
    4. k-means again on ``Z V``; betas in closed form (:func:`optimal_beta_weights`).

    Returns
    -------
    centers : ndarray (K, d), shared_center : ndarray (d,), V : ndarray (d, d), beta_weights : ndarray (2, d)
    """
    Z = np.asarray(Z, dtype=np.float64)
    n, d = Z.shape
    V0 = NrKMeans([n_clusters, 1], max_iter=1, n_init=10, random_state=rs).fit(Z).V_
    Zr = Z @ V0
    km = KMeans(n_clusters, n_init=kmeans_n_init, random_state=rs).fit(Zr)
    state = _ACeDeCState(km.cluster_centers_, Zr.mean(0), V0, np.ones((2, d))).to(device)
    optimizer = make_adam([{"params": [state.V]}, {"params": [state.beta_weights], "lr": 10.0 * lr}], lr)
    Zt = torch.as_tensor(Z, dtype=torch.float32, device=device)
    with torch.no_grad():
        rec0 = F.mse_loss(Zt @ state.V @ state.V.t(), Zt) + 1e-8
    n_batches = max(n // batch_size, 1)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator).to(device)
        for b in range(n_batches):
            z = Zt.index_select(0, perm[b * batch_size:(b + 1) * batch_size])
            z_rot = z @ state.V
            sub, labels = acedec_subspace_loss(z_rot, state.centers, state.shared_center, state.betas())
            rec = F.mse_loss(z_rot @ state.V.t(), z)
            # A float32 V that is exactly orthogonal can give rec == 0; the floor keeps the weight finite.
            rec_d = rec.detach().clamp_min(1e-20)
            weight = torch.clamp(rec_d / rec0 + sub.detach() / rec_d, min=1.0)
            optimizer.zero_grad(set_to_none=True)
            (sub + weight * rec).backward()
            optimizer.step()
            _update_centers(state, z_rot.detach(), labels, center_lr)
            _reinit_lonely_centers(state, lambda x: x, Zt, generator)
            state.step += 1
    with torch.no_grad():
        V = state.V.detach().cpu().double().numpy()
    Zr = Z @ V
    km = KMeans(n_clusters, n_init=kmeans_n_init, random_state=rs).fit(Zr)
    return km.cluster_centers_, Zr.mean(0), V, optimal_beta_weights(Zr, km.cluster_centers_)


class ACeDeC(DeepClusterer):
    """ACe/DeC: centroid-based deep clustering that separates cluster from shared (detail) information.

    The embedding ``z`` is rotated by a learnable V; soft weights beta (softmax of logits over two
    spaces, per rotated dimension) split the dimensions into a *cluster space* with K centres and
    a *shared space* with one centre. Per batch the loss is the beta-weighted k-means loss of both
    spaces (:func:`acedec_subspace_loss`) plus the MSE reconstruction of ``decode(z V V^T)``;
    Adam trains the autoencoder and V with ``lr`` and the beta logits with ``10 lr``. Centres are
    not trained by gradient: after each batch they take a mini-batch k-means step with a per-centre
    rate ``1 / (1 + EMA count)`` (``center_lr``), and a centre that gets no points for more than
    sqrt(iteration) batches is re-seeded. The autoencoder runs in eval mode (no BN/dropout updates).

    Initialisation (on a random subsample of ``init_subsample_size`` embedded points): NrKmeans
    rotation from 10 one-iteration random starts, k-means, then V and beta alone are trained for
    ``max(init_iterations / (n_sub / batch_size), max(10, 0.2 clustering_epochs))`` epochs
    (512 for 10,000 points and batch 256), k-means again and closed-form betas. After training the
    same procedure re-clusters the trained embedding of the subsample (``final_reclustering``),
    and every point gets the nearest cluster-space centre on the cluster dimensions (those whose
    shared weight is below 0.45). That is what the benchmark scores; the assignment before the
    re-clustering is ``method_labels_``. The base class's initial k-means is not used.

    Parameters
    ----------
    n_clusters : int
        K, in [2, N]; required (``fit`` refuses None).
    center_lr : float, default=0.5
        EMA weight of the batch counts in the centre update, in [0, 1].
    clustering_loss_weight : float, default=1.0
        Weight of the subspace (k-means) loss.
    reconstruction_loss_weight : float, default=1.0
        Weight of the reconstruction loss.
    init_subsample_size : int or None, default=10000
        Points used by the initialisation and the final re-clustering (None or >= N: all).
    init_iterations : int, default=20000
        Mini-batch iterations of the V/beta-only training in the initialisation (ACe/DeC paper:
        about 20,000); the epoch count is derived from it as above.
    final_reclustering : bool, default=True
        Re-cluster the trained embedding with the initialisation procedure (ClustPy's default).
    embedding_size : int, default=10
        m (>= 2: a cluster and a shared space). The benchmark's 10 (ClustPy's own default is 20).
    network, autoencoder, pretrain_epochs, pretrain_lr, clustering_epochs, dataset_key, device,
    amp, random_state, use_cache, cache_dir, checkpoint_path, progress
        As in :class:`clustlib.deep.DEC`.
    lr : float, default=5e-4
        Adam learning rate of the autoencoder and V (the benchmark's ACe/DeC setting).
    batch_size : int, default=256
        The benchmark's (ClustPy's default is 128).
    kmeans_n_init : int, default=10
        Restarts of the k-means runs inside the initialisation.
    initial_clustering : {"kmeans"}, default="kmeans"
        ACe/DeC uses its own initialisation; any other value is refused.
    augmentation, image_shape, augmentation_fill
        As in :class:`clustlib.deep.DEC`. The augmented copy of a batch reuses the clean batch's
        assignments; both subspace and both reconstruction losses are averaged.

    Attributes
    ----------
    labels_ : ndarray of int64, shape (N,)
        Labels after the final re-clustering.
    method_labels_ : ndarray of int64, shape (N,)
        ACe/DeC's assignment before the re-clustering.
    cluster_centers_ : ndarray, shape (K, d)
        Cluster-space centres in the rotated embedding ``z V_``.
    V_ : ndarray, shape (d, d)
        The rotation (after re-clustering: trained V times the re-clustering's V).
    betas_ : ndarray, shape (2, d)
        Dimension weights of the cluster (row 0) and shared (row 1) space.
    P_ : list of two ndarray of int
        Rotated dimensions of the cluster and the shared space.
    m_ : int
        Number of cluster-space dimensions.
    init_subsample_ : ndarray of int64
        Indices of the initialisation subsample.
    Also those of :class:`clustlib.deep.DeepClusterer` (``init_labels_``: the initialisation's partition of all N).

    References
    ----------
    Miklautz, Bauer, Mautz, Tschiatschek, Böhm, Plant, "Details (Don't) Matter: Isolating Cluster
    Information in Deep Embedded Spaces", IJCAI 2021. Miklautz et al., "Deep Embedded
    Non-Redundant Clustering", AAAI 2020. Leiber et al., "Benchmarking Deep Clustering Algorithms
    With ClustPy", ICDMW 2023; https://github.com/collinleiber/ClustPy (``clustpy/deep/enrc.py``).
    """

    _method_name = "ACe/DeC"
    _starts_from_initial_clustering = False  # its own NrKmeans-based initialisation on a subsample

    _own_params = {"center_lr": 0.5, "clustering_loss_weight": 1.0, "reconstruction_loss_weight": 1.0,
                   "init_subsample_size": 10000, "init_iterations": 20000, "final_reclustering": True}
    _changed_defaults = {"lr": 5e-4}

    def _extra_param_errors(self, X) -> None:
        if self.initial_clustering != "kmeans":
            raise InvalidParameter(
                f"ACe/DeC uses its own initialisation (NrKmeans + k-means + V/beta training); "
                f"initial_clustering must be 'kmeans', got {self.initial_clustering!r}."
            )
        if not (isinstance(self.center_lr, (int, float)) and 0.0 <= self.center_lr <= 1.0):
            raise InvalidParameter(f"center_lr must be in [0, 1], got {self.center_lr!r}.")
        if self.clustering_loss_weight < 0 or self.reconstruction_loss_weight < 0:
            raise InvalidParameter("clustering_loss_weight and reconstruction_loss_weight must be >= 0.")
        s = self.init_subsample_size
        if s is not None and not (isinstance(s, (int, np.integer)) and s >= self.n_clusters):
            raise InvalidParameter(
                f"init_subsample_size must be None (all points) or an integer >= n_clusters = {self.n_clusters}, got {s!r}."
            )
        if not isinstance(self.init_iterations, (int, np.integer)) or self.init_iterations < 0:
            raise InvalidParameter(f"init_iterations must be an integer >= 0, got {self.init_iterations!r}.")
        if self.embedding_size < 2:
            raise InvalidParameter(
                f"ACe/DeC splits the embedding into a cluster and a shared space: embedding_size must be >= 2, "
                f"got {self.embedding_size}."
            )

    def _init_epochs(self, n_sub: int, minimum: int) -> int:
        return max(int(self.init_iterations / (n_sub / self.batch_size)), minimum)

    def _init(self, Z: np.ndarray, seed: int, epochs: int, device) -> tuple:
        return _acedec_init(
            Z, self.n_clusters, lr=float(self.lr), batch_size=int(self.batch_size), epochs=epochs,
            kmeans_n_init=int(self.kmeans_n_init), center_lr=float(self.center_lr),
            rs=np.random.RandomState(seed), generator=torch.Generator().manual_seed(seed), device=device,
        )

    def _cluster(self, Xt, ae, km0, *, generator, device, checkpoint_config):
        seed = self._seed()
        n = Xt.shape[0]
        s = self.init_subsample_size
        rs = np.random.RandomState(seed)
        sub = np.sort(rs.choice(n, s, replace=False)) if s is not None and s < n else np.arange(n)
        self.init_subsample_ = sub.astype(np.int64)
        ae.eval()
        Z_sub = encode_all(ae, Xt.index_select(0, torch.as_tensor(sub))).cpu().numpy()
        epochs = self._init_epochs(len(sub), max(10, int(0.2 * self.clustering_epochs)))
        centers, shared, V, beta_weights = self._init(Z_sub, seed, epochs, device)
        state = _ACeDeCState(centers, shared, V, beta_weights).to(device)
        with torch.no_grad():
            self.init_labels_ = _predict_rotated(encode_all(ae, Xt) @ state.V, state.centers,
                                                 subspace_dims(state.betas())[0]).cpu().numpy().astype(np.int64)
        optimizer = make_adam([{"params": list(ae.parameters())}, {"params": [state.V]},
                               {"params": [state.beta_weights], "lr": 10.0 * float(self.lr)}], float(self.lr))
        wc, wr, center_lr = float(self.clustering_loss_weight), float(self.reconstruction_loss_weight), float(self.center_lr)

        def batch_loss(idx: torch.Tensor, xb: torch.Tensor, xa: torch.Tensor | None = None) -> torch.Tensor:
            if ae.training:  # ClustPy keeps the network in eval mode while clustering (BN statistics frozen)
                ae.eval()
            betas = state.betas()
            z_rot = ae.encode(xb) @ state.V  # (B, d)
            sub_loss, labels = acedec_subspace_loss(z_rot, state.centers, state.shared_center, betas)
            rec = F.mse_loss(ae.decode(z_rot @ state.V.t()), xb)
            if xa is not None:  # augmentation: the augmented copy keeps its clean sample's assignment
                za_rot = ae.encode(xa) @ state.V
                sub_a, _ = acedec_subspace_loss(za_rot, state.centers, state.shared_center, betas, labels)
                sub_loss = 0.5 * (sub_loss + sub_a)
                rec = 0.5 * (rec + F.mse_loss(ae.decode(za_rot @ state.V.t()), xa))
            # The centres move once per batch, with the embedding the loss saw (ClustPy does it right
            # after the optimiser step; the buffers are replaced, not edited, so autograd is unaffected).
            _update_centers(state, z_rot.detach(), labels, center_lr)
            _reinit_lonely_centers(state, ae.encode, Xt, generator)
            state.step += 1
            return wc * sub_loss + wr * rec

        history = train_epochs(Xt, batch_loss, optimizer, {"autoencoder": ae, "acedec": state},
                               **self._train_kwargs(generator, device, checkpoint_config))
        ae.eval()
        Z = encode_all(ae, Xt)
        with torch.no_grad():
            cluster_dims, _ = subspace_dims(state.betas())
            labels = _predict_rotated(Z @ state.V, state.centers, cluster_dims).cpu().numpy()
        self._state = state
        return labels, history

    def _final_clustering(self, Z: np.ndarray, seed: int) -> None:
        state = self._state
        del self._state
        V = state.V.detach().cpu().double().numpy()
        centers = state.centers.cpu().double().numpy()
        betas = state.betas().detach().cpu().double().numpy()
        if self.final_reclustering:
            Zr_sub = np.asarray(Z, dtype=np.float64)[self.init_subsample_] @ V
            epochs = self._init_epochs(len(self.init_subsample_), 10)
            centers, _, V_new, beta_weights = self._init(Zr_sub, seed + 1, epochs, state.V.device)
            V = V @ V_new
            b = np.exp(beta_weights - beta_weights.max(0))
            betas = b / b.sum(0)
        cluster_dims, shared_dims = subspace_dims(betas)
        self.V_ = V.astype(np.float32)
        self.cluster_centers_ = centers.astype(np.float32)
        self.betas_ = betas.astype(np.float32)
        self.P_ = [cluster_dims, shared_dims]
        self.m_ = int(len(cluster_dims))
        self.labels_ = self._predict_embedded(Z)

    def _predict_embedded(self, Z: np.ndarray) -> np.ndarray:
        Zr = torch.as_tensor(np.asarray(Z, dtype=np.float64) @ self.V_.astype(np.float64), dtype=torch.float32)
        return _predict_rotated(Zr, torch.as_tensor(self.cluster_centers_), self.P_[0]).numpy().astype(np.int64)

    def predict(self, X) -> np.ndarray:
        """Nearest cluster-space centre of ``z V_`` on the cluster dimensions (ClustPy's ACeDeC.predict); int64 (N,)."""
        return self._predict_embedded(self.transform(X))
