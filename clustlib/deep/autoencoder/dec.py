"""DEC and IDEC as run in the ClustPy benchmark."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from clustlib.deep.autoencoder.base import DeepClusterer, encode_all, reconstruction_term
from clustlib.deep.autoencoder.training import make_adam, train_epochs
from clustlib.errors import InvalidParameter

__all__ = ["DEC", "IDEC", "student_t_assignments", "dec_target"]


def student_t_assignments(z: torch.Tensor, centers: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Soft assignments q (B, K): Student-t kernel ``(1 + d^2/alpha)^(-(alpha+1)/2)``, rows summing to 1.

    Parameters
    ----------
    z : torch.Tensor, shape (B, m)
    centers : torch.Tensor, shape (K, m)
    alpha : float
        Degrees of freedom.
    """
    sq = (z.unsqueeze(1) - centers.unsqueeze(0)).pow(2).sum(2)  # (B, K)
    num = (1.0 + sq / alpha).pow(-(alpha + 1.0) / 2.0)
    return num / num.sum(1, keepdim=True)


def dec_target(q: torch.Tensor) -> torch.Tensor:
    """DEC's target P (B, K) from q: ``q^2 / f_j`` with ``f_j = sum_i q_ij``, rows normalised, detached."""
    w = q.pow(2) / q.sum(0, keepdim=True)
    return (w / w.sum(1, keepdim=True)).detach()


class _Centers(nn.Module):
    def __init__(self, centers: np.ndarray) -> None:
        super().__init__()
        self.centers = nn.Parameter(torch.as_tensor(np.asarray(centers), dtype=torch.float32).clone())


class DEC(DeepClusterer):
    """Deep Embedded Clustering with ClustPy's benchmark decisions.

    Pretrained autoencoder -> k-means in the embedding -> the encoder and the centres (trainable
    parameters, same Adam) minimise ``-mean_i sum_j p_ij log(q_ij + 1e-8)``, where the target P is
    recomputed from each mini-batch's own q (ClustPy; the DEC paper updates P over the whole data
    every T iterations). No tolerance stop: always ``clustering_epochs`` epochs. ``labels_`` is a
    final k-means on the trained embedding, as the benchmark scores; argmax q is ``method_labels_``.

    Parameters
    ----------
    n_clusters : int
        K, in [2, N]; required (``fit`` refuses None).
    alpha : float, default=1.0
        Degrees of freedom of the Student-t kernel.
    cluster_loss_weight : float, default=1.0
        Weight of the clustering loss.
    reconstruction_loss_weight : float, default=0.0
        Weight of the MSE reconstruction loss (0 for DEC, 1 for IDEC).
    embedding_size : int, default=10
        m (>= 1).
    network : str, default="ff_500_500_2000"
        Autoencoder to pretrain when ``autoencoder`` is None (:func:`clustlib.deep.list_autoencoders`).
    autoencoder : torch.nn.Module, optional
        A pretrained autoencoder to start from (copied, never modified). Its input size must match X.
    pretrain_epochs : int, default=100
    pretrain_lr : float, default=1e-3
    clustering_epochs : int, default=150
    lr : float, default=1e-4
        Adam learning rate of the clustering phase.
    batch_size : int, default=256
    kmeans_n_init : int, default=10
        Restarts of the initial and final k-means (scikit-learn's default when the benchmark ran).
    initial_clustering : {"kmeans", "em", "spectral", "spectral_knn", "subkmeans"}, default="kmeans"
        Clustering of the pretrained embedding that initialises the method (experiment E of the
        benchmark): k-means, a Gaussian mixture fitted by EM (3 restarts), scikit-learn's spectral
        clustering with its RBF affinity (as the benchmark; refused before compute where the dense N x N
        matrices would not fit in memory), the same on a sparse 10-nearest-neighbour graph, or SubKmeans. Centres are the initial clusters' means
        (the mixture's means for EM).
    augmentation : {None, "affine"}, default=None
        Image augmentation (experiment H): the autoencoder is pretrained on augmented images and
        the clustering loss uses each batch and its augmented copy. ``"affine"``: random rotation
        (±16°), translation (±10 %) and x-shear (±8°) per sample.
    image_shape : (H, W, C), optional
        Shape of one image in the flat rows of X (required with ``augmentation``).
    augmentation_fill : float or sequence of float, default=0.0
        Value of a blank pixel in X's units, per channel (for z-scored images ``-mean / std``).
    dataset_key : str, optional
        Names the data in the pretraining cache key (default: hash of X).
    device : str, optional
        Default CUDA if available, else CPU.
    amp : bool, optional
        Mixed precision, off unless asked (None or False: float32, as the paper trained). True: bfloat16/float16
        autocast on CUDA, bfloat16 on the CPU (about twice as fast per epoch on CPUs with AMX/AVX512-BF16,
        slower on others).
    random_state : int, optional
        Seed of pretraining, k-means and batch order (None -> 0). Same seed, same numbers on CPU.
    use_cache : bool, default=True
        Reuse/stash the pretrained autoencoder in ``clustlib.paths.cache_root()/models``.
    cache_dir : path, optional
    checkpoint_path : path, optional
        Checkpoint of the clustering phase (resumed when it matches this configuration, refused otherwise).
    progress : bool, default=True

    Attributes
    ----------
    See :class:`clustlib.deep.DeepClusterer`; also ``dec_centers_`` (K, m), the trained DEC centres.

    References
    ----------
    Xie, Girshick, Farhadi, "Unsupervised Deep Embedding for Clustering Analysis", ICML 2016.
    Leiber et al., "Benchmarking Deep Clustering Algorithms With ClustPy", ICDMW 2023;
    https://github.com/collinleiber/ClustPy (``clustpy/deep/dec.py``).
    """

    _method_name = "DEC"

    _own_params = {"alpha": 1.0, "cluster_loss_weight": 1.0, "reconstruction_loss_weight": 0.0}

    def _extra_param_errors(self, X) -> None:
        if not self.alpha > 0:
            raise InvalidParameter(f"alpha must be > 0, got {self.alpha}.")
        if self.cluster_loss_weight < 0 or self.reconstruction_loss_weight < 0:
            raise InvalidParameter("cluster_loss_weight and reconstruction_loss_weight must be >= 0.")

    def _cluster(self, Xt, ae, km0, *, generator, device, checkpoint_config):
        head = _Centers(km0.cluster_centers_).to(device)
        alpha, wc, wr = float(self.alpha), float(self.cluster_loss_weight), float(self.reconstruction_loss_weight)
        # Without a reconstruction term the decoder gets no gradient and Adam leaves it alone (as in ClustPy).
        optimizer = make_adam(list(ae.parameters()) + [head.centers], self.lr)

        def batch_loss(idx: torch.Tensor, xb: torch.Tensor, xa: torch.Tensor | None = None) -> torch.Tensor:
            z, za = ae.encode(xb), None
            q = student_t_assignments(z, head.centers, alpha)  # (B, K)
            p = dec_target(q)  # the target always comes from the clean batch
            cluster = -(p * torch.log(q + 1e-8)).sum(1).mean()
            if xa is not None:  # augmentation: the augmented copy is pulled to the clean target too
                za = ae.encode(xa)
                qa = student_t_assignments(za, head.centers, alpha)
                cluster = 0.5 * (cluster - (p * torch.log(qa + 1e-8)).sum(1).mean())
            loss = wc * cluster
            if wr > 0:
                loss = loss + wr * reconstruction_term(ae, z, xb, za, xa)
            return loss

        history = train_epochs(Xt, batch_loss, optimizer, {"autoencoder": ae, "centers": head},
                               **self._train_kwargs(generator, device, checkpoint_config))
        with torch.no_grad():
            Z = encode_all(ae, Xt)
            labels = student_t_assignments(Z, head.centers, alpha).argmax(1).cpu().numpy()
        self.dec_centers_ = head.centers.detach().cpu().numpy()
        return labels, history


class IDEC(DEC):
    """Improved DEC: DEC's loss weighted by 0.1 plus the MSE reconstruction loss (weight 1).

    Same parameters as :class:`DEC`, with ``cluster_loss_weight=0.1`` (IDEC's gamma) and
    ``reconstruction_loss_weight=1.0`` by default.

    References
    ----------
    Guo, Gao, Liu, Yin, "Improved Deep Embedded Clustering with Local Structure Preservation", IJCAI 2017.
    Leiber et al., "Benchmarking Deep Clustering Algorithms With ClustPy", ICDMW 2023.
    """

    _method_name = "IDEC"

    _own_params = {**DEC._own_params, "cluster_loss_weight": 0.1, "reconstruction_loss_weight": 1.0}
