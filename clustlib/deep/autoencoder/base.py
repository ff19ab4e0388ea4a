"""Shared machinery of the autoencoder-based clusterers (validation, pretraining, init, scoring)."""

from __future__ import annotations

import copy
import hashlib
import inspect
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import SpectralClustering
from sklearn.mixture import GaussianMixture
from torch import nn

from clustlib.deep.augment.affine import AUGMENTATIONS, make_augmentation
from clustlib.deep.engine import batched_inference, check_fitted
from clustlib.deep.networks.autoencoders import list_autoencoders
from clustlib.deep.autoencoder.pretrain import pretrain_autoencoder
from clustlib.deep.base import check_inputs, check_n_clusters, data_fingerprint, kmeans
from clustlib.deep.engine import check_checkpoint, check_checkpoint_path, resolve_device, seed_everything
from clustlib.errors import InvalidParameter

#: The parameters every method of the family takes after its own, in signature order, with the ClustPy benchmark's
#: defaults (documented at :class:`clustlib.deep.DEC`). ``amp=None`` is float32, as ``False`` (:meth:`DeepClusterer._amp`).
AE_PARAMS: dict = {
    "embedding_size": 10,
    "network": "ff_500_500_2000",
    "autoencoder": None,
    "pretrain_epochs": 100,
    "pretrain_lr": 1e-3,
    "clustering_epochs": 150,
    "lr": 1e-4,
    "batch_size": 256,
    "kmeans_n_init": 10,
    "initial_clustering": "kmeans",
    "augmentation": None,
    "image_shape": None,
    "augmentation_fill": 0.0,
    "dataset_key": None,
    "device": None,
    "amp": None,
    "random_state": None,
    "use_cache": True,
    "cache_dir": None,
    "checkpoint_path": None,
    "progress": True,
}


def _keyword_init(defaults: dict, owner: str):
    """``__init__(self, n_clusters=None, *, <defaults>)`` that stores every argument as given (scikit-learn's
    contract); its ``__signature__`` is what ``get_params``, ``clone`` and ``help`` read, and a wrong keyword
    raises ``TypeError`` as a written signature does."""
    kw = inspect.Parameter.KEYWORD_ONLY
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
         inspect.Parameter("n_clusters", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)]
        + [inspect.Parameter(name, kw, default=value) for name, value in defaults.items()])

    def __init__(self, *args, **kwargs) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature
    __init__.__qualname__ = f"{owner}.__init__"
    return __init__


def reconstruction_term(ae: nn.Module, z: torch.Tensor, xb: torch.Tensor, za: torch.Tensor | None = None,
                        xa: torch.Tensor | None = None) -> torch.Tensor:
    """MSE between the batch ``xb`` and the decoding of its embedding ``z``; with augmentation (``xa`` and its
    embedding ``za``) the mean of that and the augmented copy's (DEC/IDEC's and DCN's reconstruction loss)."""
    rec = torch.nn.functional.mse_loss(ae.decode(z), xb)
    if xa is not None:
        rec = 0.5 * (rec + torch.nn.functional.mse_loss(ae.decode(za), xa))
    return rec


@torch.no_grad()
def encode_all(ae: nn.Module, X: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Embed ``X`` (N, ...; any device) in batches with the network in eval mode; returns (N, m) float32 on the
    network's device."""
    return batched_inference(ae, X, batch_size=batch_size, forward=lambda x: ae.encode(x).float())


#: Initial clusterings of the embedding (benchmark experiment E); ``"spectral_knn"`` is the named fallback of
#: ``"spectral"`` where the benchmark's dense affinity does not fit in memory.
INITIAL_CLUSTERINGS = ("kmeans", "em", "spectral", "subkmeans", "spectral_knn")

#: Dense (N, N) float64 matrices scikit-learn's default spectral clustering holds at once: the RBF affinity, its
#: Laplacian and the shift-invert factorisation of the ARPACK eigensolver.
SPECTRAL_DENSE_COPIES = 3

_log = logging.getLogger(__name__)


@dataclass
class InitialClustering:
    """Labels (N,) int64 and centres (K, m) float64 of the clustering a method starts from."""

    labels_: np.ndarray
    cluster_centers_: np.ndarray


def _cluster_means(Z: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    centers = np.zeros((k, Z.shape[1]))
    for c in range(k):
        members = labels == c
        if members.any():
            centers[c] = Z[members].mean(0)
    return centers


def spectral_memory_bytes(n_samples: int) -> int:
    """Bytes scikit-learn's default :class:`~sklearn.cluster.SpectralClustering` needs for N samples: about
    :data:`SPECTRAL_DENSE_COPIES` dense (N, N) float64 matrices (MNIST, N = 70,000: 118 GB)."""
    return SPECTRAL_DENSE_COPIES * int(n_samples) ** 2 * 8


def available_memory_bytes() -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes (Linux), or None where it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_spectral_memory(n: int, max_memory_bytes: int | None = None) -> None:
    """Refuse, before any affinity is built, a default spectral clustering that cannot fit in memory."""
    budget = available_memory_bytes() if max_memory_bytes is None else int(max_memory_bytes)
    need = spectral_memory_bytes(n)
    if budget is not None and need > budget:
        raise InvalidParameter(
            f"initial_clustering='spectral' is scikit-learn's default SpectralClustering (a dense RBF affinity, as "
            f"the benchmark runs it), which needs about {need / 1e9:.1f} GB for N = {n:,} ({SPECTRAL_DENSE_COPIES} "
            f"dense N x N float64 matrices) but {budget / 1e9:.1f} GB are available. Use the named fallback "
            "initial_clustering='spectral_knn' (spectral clustering on a sparse 10-nearest-neighbour graph: not the "
            "benchmark's affinity), a machine with more memory, or fewer samples."
        )


def initial_clustering(Z: np.ndarray, n_clusters: int, algorithm: str, *, n_init: int, seed: int,
                       max_memory_bytes: int | None = None):
    """Cluster the pretrained embedding ``Z`` (N, m) with ``algorithm`` (one of :data:`INITIAL_CLUSTERINGS`).

    ``"kmeans"``: k-means++ with ``n_init`` restarts. ``"em"``: a full-covariance Gaussian mixture,
    3 EM restarts (the benchmark's setting), centres = component means. ``"spectral"``: scikit-learn's
    ``SpectralClustering(n_clusters)`` with its defaults, a dense RBF affinity (gamma 1.0) and k-means label
    assignment, as the benchmark's ``AESpectral`` runs it; centres = cluster means. Its dense N x N matrices
    need :func:`spectral_memory_bytes` (MNIST: about 118 GB); when that exceeds ``max_memory_bytes`` (default:
    the memory available now) it raises :class:`InvalidParameter` before building anything, naming the size
    and the fallback. ``"spectral_knn"``: that fallback, spectral clustering on a sparse 10-nearest-neighbour
    graph (not the benchmark's affinity; only when asked for). ``"subkmeans"``: SubKmeans, centres = cluster
    means.

    Returns
    -------
    sklearn.cluster.KMeans or InitialClustering
        Anything with ``labels_`` (N,) and ``cluster_centers_`` (K, m).

    References
    ----------
    Leiber et al., "Benchmarking Deep Clustering Algorithms With ClustPy", ICDMW 2023 (Sec. IV-E); code
    https://github.com/collinleiber/BenchmarkingDeepClustering (``AESpectral``: ``SpectralClustering(n_clusters)``).
    """
    Z = np.asarray(Z, dtype=np.float64)
    if algorithm == "kmeans":
        return kmeans(Z, n_clusters, n_init, seed)
    if algorithm == "em":
        gmm = GaussianMixture(n_components=n_clusters, n_init=3, random_state=seed).fit(Z)
        return InitialClustering(gmm.predict(Z).astype(np.int64), gmm.means_)
    if algorithm == "spectral":
        check_spectral_memory(Z.shape[0], max_memory_bytes)
        _log.info("spectral initial clustering: dense RBF affinity on N = %d (about %.2f GB)", Z.shape[0],
                  spectral_memory_bytes(Z.shape[0]) / 1e9)
        labels = SpectralClustering(n_clusters=n_clusters, random_state=seed).fit_predict(Z)
    elif algorithm == "spectral_knn":
        labels = SpectralClustering(n_clusters=n_clusters, affinity="nearest_neighbors", n_neighbors=10,
                                    assign_labels="kmeans", random_state=seed, n_jobs=1).fit_predict(Z)
    elif algorithm == "subkmeans":
        from clustlib.cluster.subkmeans import SubKMeans

        labels = SubKMeans(n_clusters, random_state=seed).fit(Z).labels_
    else:
        raise InvalidParameter(f"initial_clustering must be one of {INITIAL_CLUSTERINGS}, got {algorithm!r}.")
    labels = np.asarray(labels, dtype=np.int64)
    return InitialClustering(labels, _cluster_means(Z, labels, n_clusters))


def _state_hash(module: nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class DeepClusterer(ClusterMixin, BaseEstimator):
    """Base of the autoencoder clusterers: pretrain (cached) -> k-means init -> method -> k-means.

    Subclasses implement ``_cluster`` (the method's own training) and list their parameters in
    ``__init__``. The common parameters are documented in each subclass, except that ``amp=None`` (the
    default) now means float32 everywhere (:meth:`_amp`): mixed precision only with ``amp=True``.

    Attributes
    ----------
    labels_ : ndarray of int64, shape (N,)
        Final labels: k-means on the trained embedding, which is what the ClustPy benchmark scores
        for DEC, IDEC and DCN (and the only labels of AE+KMeans).
    cluster_centers_ : ndarray, shape (K, m)
        Centres of that final k-means, in embedding space.
    method_labels_ : ndarray of int64, shape (N,)
        The method's own assignments (argmax q for DEC/IDEC, nearest DCN centre, ...).
    init_labels_ : ndarray of int64, shape (N,)
        The initial k-means labels on the pretrained embedding.
    autoencoder_ : torch.nn.Module
        The trained network (a copy; the given or cached autoencoder is never modified).
    history_ : TrainHistory
        Per-epoch losses and seconds of the clustering phase.
    pretrain_seconds_, clustering_seconds_, epoch_seconds_ : float
        Wall-clock seconds: pretraining (about 0 on a cache hit), everything after it, and the mean
        clustering epoch.
    pretrain_from_cache_ : bool
    n_features_in_ : int
    """

    _method_name = "deep"
    #: The method's own parameters (name -> default), between ``n_clusters`` and :data:`AE_PARAMS` in the
    #: signature; a variant merges its parent's (``IDEC``: ``{**DEC._own_params, ...}``).
    _own_params: dict = {}
    #: Defaults of :data:`AE_PARAMS` the method changes (AE+KMeans: no clustering epochs).
    _changed_defaults: dict = {}
    #: False for methods with their own initialisation (ACe/DeC): the base then skips the initial clustering,
    #: passes ``km0=None`` to ``_cluster``, and the method sets ``init_labels_`` itself.
    _starts_from_initial_clustering = True

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" not in vars(cls):
            cls.__init__ = _keyword_init({**cls._own_params, **AE_PARAMS, **cls._changed_defaults}, cls.__name__)

    def _param_errors(self, X: np.ndarray) -> None:
        p = self.get_params(deep=False)
        n = X.shape[0]
        check_n_clusters(p["n_clusters"], n, type(self).__name__)
        if not isinstance(p["embedding_size"], (int, np.integer)) or p["embedding_size"] < 1:
            raise InvalidParameter(f"embedding_size must be an integer >= 1, got {p['embedding_size']!r}.")
        for name in ("lr", "pretrain_lr"):
            if not (isinstance(p[name], (int, float)) and p[name] > 0):
                raise InvalidParameter(f"{name} (learning rate) must be > 0, got {p[name]!r}.")
        for name in ("pretrain_epochs", "clustering_epochs"):
            if not isinstance(p[name], (int, np.integer)) or p[name] < 0:
                raise InvalidParameter(f"{name} must be an integer >= 0, got {p[name]!r}.")
        if not isinstance(p["batch_size"], (int, np.integer)) or p["batch_size"] < 1:
            raise InvalidParameter(f"batch_size must be an integer >= 1, got {p['batch_size']!r}.")
        if not isinstance(p["kmeans_n_init"], (int, np.integer)) or p["kmeans_n_init"] < 1:
            raise InvalidParameter(f"kmeans_n_init must be an integer >= 1, got {p['kmeans_n_init']!r}.")
        if p["initial_clustering"] not in INITIAL_CLUSTERINGS:
            raise InvalidParameter(
                f"initial_clustering must be one of {INITIAL_CLUSTERINGS}, got {p['initial_clustering']!r}."
            )
        self._augmentation_errors(X)
        if p["autoencoder"] is None and p["network"] not in list_autoencoders():
            raise InvalidParameter(f"network must be one of {list_autoencoders()}, got {p['network']!r}.")
        rs = p["random_state"]
        if rs is not None and not (isinstance(rs, (int, np.integer)) and rs >= 0):
            raise InvalidParameter(f"random_state must be None or an integer >= 0, got {rs!r}.")
        ae = p["autoencoder"]
        if ae is not None:
            if not isinstance(ae, nn.Module) or not hasattr(ae, "encode") or not hasattr(ae, "decode"):
                raise InvalidParameter("autoencoder must be a torch.nn.Module with encode() and decode().")
            expected = tuple(getattr(ae, "input_shape", ()))
            if expected != tuple(X.shape[1:]):
                raise InvalidParameter(
                    f"autoencoder expects inputs of shape {expected} per sample but X has {tuple(X.shape[1:])}; "
                    "pass an autoencoder built for this data (or autoencoder=None to pretrain one)."
                )
            if getattr(ae, "embedding_size", p["embedding_size"]) != p["embedding_size"]:
                raise InvalidParameter(
                    f"autoencoder embeds into {ae.embedding_size} dimensions but embedding_size="
                    f"{p['embedding_size']}; set embedding_size={ae.embedding_size}."
                )
        self._extra_param_errors(X)

    def _extra_param_errors(self, X: np.ndarray) -> None:
        """Method-specific checks (overridden)."""

    def _augmentation_errors(self, X: np.ndarray) -> None:
        if self.augmentation is None:
            return
        if self.augmentation not in AUGMENTATIONS:
            raise InvalidParameter(f"augmentation must be None or one of {AUGMENTATIONS}, got {self.augmentation!r}.")
        shape = self.image_shape
        if X.ndim == 4:  # (N, C, H, W): the shape is in X itself
            shape = shape or (X.shape[2], X.shape[3], X.shape[1])
            if tuple(shape) != (X.shape[2], X.shape[3], X.shape[1]):
                raise InvalidParameter(f"image_shape {tuple(shape)} does not match X's images {X.shape[1:]} (C, H, W).")
        elif shape is None or len(shape) != 3 or int(np.prod(shape)) != X.shape[1]:
            raise InvalidParameter(
                f"augmentation needs image_shape=(H, W, C) with H*W*C = {X.shape[1]} features (the flat rows of X "
                f"in HWC order), got image_shape={shape!r}."
            )
        n_channels = int(shape[2])
        fill = np.asarray(self.augmentation_fill, dtype=float).reshape(-1)
        if fill.size not in (1, n_channels) or not np.all(np.isfinite(fill)):
            raise InvalidParameter(f"augmentation_fill must be one finite number or {n_channels} (one per channel).")

    def _image_shape(self, X: np.ndarray) -> tuple | None:
        if self.augmentation is None:
            return None
        return tuple(self.image_shape) if X.ndim == 2 else (X.shape[2], X.shape[3], X.shape[1])

    def _make_augment(self, X: np.ndarray, seed: int, device):
        """The batch augmentation of the clustering phase (None without ``augmentation``)."""
        return make_augmentation(self.augmentation, self._image_shape(X), fill=self.augmentation_fill,
                                 seed=seed + 1, device=device)

    def _check_X(self, X) -> np.ndarray:
        return check_inputs(X, (2, 4), "(N, D), or (N, C, H, W) for a convolutional autoencoder")

    def _seed(self) -> int:
        return 0 if self.random_state is None else int(self.random_state)

    def _checkpoint_config(self, X: np.ndarray, ae_id: str) -> dict:
        skip = {"autoencoder", "progress", "device", "cache_dir", "checkpoint_path", "use_cache"}
        cfg = {k: v for k, v in self.get_params(deep=False).items() if k not in skip}
        cfg.update(method=type(self).__name__, data=data_fingerprint(X), autoencoder=ae_id)
        return cfg

    def fit(self, X, y=None):
        """Pretrain (or load) the autoencoder, initialise with k-means, train, and re-cluster.

        Parameters
        ----------
        X : array-like of float, shape (N, D)
            Normalised inputs (:func:`clustlib.deep.zscore_images`); (N, C, H, W) images for the
            ``resnet18`` network.
        y : ignored

        Returns
        -------
        self
        """
        X = self._check_X(X)
        self._param_errors(X)
        check_checkpoint_path(self.checkpoint_path)
        if self.checkpoint_path is not None:  # a foreign checkpoint fails now, not after pretraining
            check_checkpoint(self.checkpoint_path, self._checkpoint_config(X, None), ignore=("autoencoder",),
                             upgradable=(1,))  # train_epochs upgrades a format-1 file in place
        seed = self._seed()
        device = resolve_device(self.device)
        t0 = time.perf_counter()
        if self.autoencoder is not None:
            ae = copy.deepcopy(self.autoencoder).to(device)
            self.pretrain_seconds_, self.pretrain_from_cache_ = 0.0, True
            ae_id = _state_hash(ae)
        else:
            res = pretrain_autoencoder(
                X, network=self.network, embedding_size=self.embedding_size, epochs=self.pretrain_epochs,
                lr=self.pretrain_lr, batch_size=self.batch_size, seed=seed, dataset_key=self.dataset_key,
                device=device, amp=self._amp(), use_cache=self.use_cache, cache_dir=self.cache_dir,
                progress=self.progress, augmentation=self.augmentation, image_shape=self._image_shape(X),
                augmentation_fill=self.augmentation_fill,
            )
            ae, ae_id = res.autoencoder, res.key
            self.pretrain_seconds_, self.pretrain_from_cache_ = res.seconds, res.from_cache
        t1 = time.perf_counter()
        # Reseed after pretraining so the clustering phase is identical on a cache hit and a miss.
        generator = seed_everything(seed)
        Xt = torch.from_numpy(X)  # stays on the CPU: the loops and encode_all move one batch at a time
        self._augment = self._make_augment(X, seed, device)
        km0 = None
        if self._starts_from_initial_clustering:
            Z0 = encode_all(ae, Xt).cpu().numpy()
            km0 = initial_clustering(Z0, self.n_clusters, self.initial_clustering, n_init=self.kmeans_n_init,
                                     seed=seed)
            self.init_labels_ = np.asarray(km0.labels_, dtype=np.int64)
        method_labels, history = self._cluster(
            Xt, ae, km0, generator=generator, device=device,
            checkpoint_config=self._checkpoint_config(X, ae_id) if self.checkpoint_path else None,
        )
        ae.eval()
        Z = encode_all(ae, Xt).cpu().numpy()
        self._final_clustering(Z, seed)
        self.method_labels_ = np.asarray(method_labels, dtype=np.int64)
        self.autoencoder_ = ae
        self.history_ = history
        self.clustering_seconds_ = time.perf_counter() - t1
        self.epoch_seconds_ = history.mean_epoch_seconds
        self.total_seconds_ = time.perf_counter() - t0
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        return self

    def _final_clustering(self, Z: np.ndarray, seed: int) -> None:
        km = kmeans(Z, self.n_clusters, self.kmeans_n_init, seed)
        self.labels_ = km.labels_.astype(np.int64)
        self.cluster_centers_ = km.cluster_centers_.astype(np.float32)

    def _cluster(self, Xt, ae, km0, *, generator, device, checkpoint_config):
        raise NotImplementedError

    def _amp(self) -> bool:
        """Mixed precision for pretraining and clustering only when asked (``amp=True``). ``None``, the estimators'
        default, means float32 on every device, as the ClustPy benchmark trains; it used to switch bfloat16
        autocast on by itself on CUDA, which moved the numbers away from the paper's float32 runs."""
        return bool(self.amp)

    def _train_kwargs(self, generator, device, checkpoint_config) -> dict:
        return dict(
            epochs=self.clustering_epochs, batch_size=self.batch_size, generator=generator, device=device,
            amp=self._amp(), augment=self._augment, checkpoint_path=self.checkpoint_path,
            checkpoint_config=checkpoint_config, desc=self._method_name, progress=self.progress,
        )

    def transform(self, X) -> np.ndarray:
        """Embed ``X`` (N, D) with the trained encoder; returns float32 (N, m)."""
        check_fitted(self, "autoencoder_")
        X = self._check_X(X)
        return encode_all(self.autoencoder_, torch.from_numpy(X)).cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """Nearest final k-means centre in the embedding (ClustPy's ``predict``); int64 (N,)."""
        Z = self.transform(X)
        d = ((Z[:, None, :] - self.cluster_centers_[None]) ** 2).sum(-1)
        return d.argmin(1).astype(np.int64)

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_
