"""MVnet: multi-input network trained end to end with JULE (deep multi-view clustering, Guérin et al.).

MVnet has one MLP per view (``d_j -> 160 -> 160``, L2-normalised output) whose outputs are
concatenated and fed to an output MLP (``160 M -> 160 -> 160``). Its initialisation (Section 5.2.2) is:

1. pretrain each view MLP alone on its view, here with JULE (:func:`fit_view_jules`; the same fits
   serve MVEC_jule, MVSC_jule and RMKKM_jule);
2. train the output MLP on the concatenated view embeddings, here with JULE as well; its clusters
   are **MVnet_fix** (``labels_fix_``), the result right after initialisation;
3. embed all samples with the whole MVnet, build JULE's initial clusters in that unified space and
   run JULE end to end on every weight: **MVnet** (``labels_``).

CC ("concatenate and cluster") is JULE on :func:`concatenate_views`.

References
----------
J. Guérin, S. Thiery, E. Nyiri, O. Gibaru, B. Boots, "Combining pretrained CNN feature extractors to
enhance clustering of complex natural images", Neurocomputing 423 (2021), Sections 5.1-5.2, 6.1.
J. Yang, D. Parikh, D. Batra, "Joint Unsupervised Learning of Deep Representations and Image
Clusters", CVPR 2016.
"""

from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin

from clustlib.cluster.multiview import check_views
from clustlib.deep.engine import check_fitted
from clustlib.deep.jule.jule import JULE, _check_jule_params, _embed, _run_jule, _seed_generator
from clustlib.deep.engine import resolve_device
from clustlib.errors import InvalidParameter

__all__ = ["MVnet", "MVnetModule", "fit_view_jules", "concatenate_views"]


class MVnetModule(torch.nn.Module):
    """Parallel view MLPs -> concatenation -> output MLP (all outputs L2-normalised).

    Parameters
    ----------
    view_nets : sequence of torch.nn.Module
        One network per view mapping (B, d_j) -> (B, e_j).
    fusion : torch.nn.Module
        Maps (B, sum_j e_j) -> (B, D).
    """

    def __init__(self, view_nets: Sequence[torch.nn.Module], fusion: torch.nn.Module) -> None:
        super().__init__()
        self.view_nets = torch.nn.ModuleList(view_nets)
        self.fusion = fusion

    def forward(self, *views: torch.Tensor) -> torch.Tensor:  # M x (B, d_j) -> (B, D)
        z = torch.cat([net(x) for net, x in zip(self.view_nets, views)], dim=1)  # (B, sum e_j)
        return self.fusion(z)


def concatenate_views(views) -> np.ndarray:
    """Validated column concatenation of the views: the input of CC (JULE on concatenated views).

    Parameters
    ----------
    views : sequence of array-like, each (n_samples, d_j)

    Returns
    -------
    ndarray of shape (n_samples, sum_j d_j), float32.
    """
    return np.hstack(check_views(views)).astype(np.float32)


def _jule_kwargs(jule_params: dict | None) -> dict:
    kw = dict(jule_params or {})
    bad = set(kw) - set(JULE().get_params()) | ({"n_clusters", "random_state"} & set(kw))
    if bad:
        raise InvalidParameter(
            f"jule_params has keys JULE does not take here: {sorted(bad)} (n_clusters and random_state are "
            f"set by the caller). Valid keys: {sorted(set(JULE().get_params()) - {'n_clusters', 'random_state'})}.")
    return kw


def _stage_seeds(random_state, n: int) -> list[int]:
    if isinstance(random_state, np.random.RandomState):
        return [int(s) for s in random_state.randint(0, 2**31 - 1, n)]
    rng = np.random.default_rng(0 if random_state is None else random_state)  # None means seed 0 (the contract)
    return [int(s) for s in rng.integers(0, 2**31 - 1, n)]


def fit_view_jules(views, n_clusters: int, *, jule_params: dict | None = None, random_state=None,
                   verbose: bool = False) -> list[JULE]:
    """Fit one JULE per view (same K), e.g. for MVnet pretraining and the ``*_jule`` baselines.

    Parameters
    ----------
    views : sequence of array-like, each (n_samples, d_j)
    n_clusters : int
    jule_params : dict, optional
        Extra :class:`~clustlib.deep.jule.JULE` parameters (``eta``, ``epochs_per_period``, ...).
    random_state : int or None
        View ``j`` gets a seed derived from it (None: from seed 0).
    verbose : bool

    Returns
    -------
    list of fitted JULE; ``[j.labels_ ...]`` feeds MVEC_jule, ``[j.embedding_ ...]`` MVSC/RMKKM_jule.
    """
    views = check_views(views)
    kw = _jule_kwargs(jule_params)
    seeds = _stage_seeds(random_state, len(views))
    out = []
    for v, (X, s) in enumerate(zip(views, seeds)):
        est = JULE(n_clusters, random_state=s, verbose=verbose, **kw)
        try:
            out.append(est.fit(X.astype(np.float32)))
        except InvalidParameter as exc:
            raise InvalidParameter(f"view {v}: {exc}") from exc
    return out


class MVnet(ClusterMixin, BaseEstimator):
    """Deep multi-view clustering: MVnet initialised view by view, then trained end to end with JULE.

    Parameters
    ----------
    n_clusters : int
    hidden_dim, embedding_dim : int, default 160, 160
        Every MLP is ``in -> hidden_dim -> embedding_dim`` (Guérin et al.: d-160-160).
    jule_params : dict, optional
        JULE hyper-parameters shared by every stage (defaults: JULE's, e.g. ``eta=0.9``).
    finetune : bool, default True
        Run stage 3 (end-to-end JULE). ``False`` stops at MVnet_fix.
    device : str, optional
        Default CUDA if available, else CPU (as every method in :mod:`clustlib.deep`).
    random_state : int, RandomState or None
        Seeds the three stages; None means seed 0, as for every method in :mod:`clustlib.deep`.
    verbose : bool, default False

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        MVnet clusters (MVnet_fix's when ``finetune=False``).
    labels_fix_ : ndarray of shape (n_samples,)
        MVnet_fix clusters (after the output MLP's JULE, before end-to-end training).
    embedding_ : ndarray of shape (n_samples, embedding_dim)
    embedding_fix_ : ndarray of shape (n_samples, embedding_dim)
    view_models_ : list of JULE
        The per-view pretraining fits (given or made).
    fusion_model_ : JULE
        The output MLP's JULE fit on the concatenated view embeddings.
    network_ : MVnetModule
    n_clusters_history_, loss_history_ : list
        Of the end-to-end JULE run (empty when ``finetune=False``).

    References
    ----------
    J. Guérin et al., Neurocomputing 423 (2021), Sections 5.2.2 and 6.1.
    """

    def __init__(self, n_clusters: int = 10, *, hidden_dim: int = 160, embedding_dim: int = 160,
                 jule_params: dict | None = None, finetune: bool = True, device: str | None = None,
                 random_state=None, verbose: bool = False) -> None:
        self.n_clusters = n_clusters
        self.hidden_dim = hidden_dim
        self.embedding_dim = embedding_dim
        self.jule_params = jule_params
        self.finetune = finetune
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _jule_template(self, n_samples: int) -> tuple[JULE, dict]:
        kw = _jule_kwargs(self.jule_params)
        for name in ("hidden_dim", "embedding_dim"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise InvalidParameter(f"{name} must be a positive integer; got {v!r}.")
        kw.update(hidden_dims=(int(self.hidden_dim),), embedding_dim=int(self.embedding_dim))
        tmpl = JULE(self.n_clusters, **kw)
        return tmpl, _check_jule_params(tmpl, n_samples)

    def fit(self, views, y=None, *, view_models: Sequence[JULE] | None = None) -> "MVnet":
        """Cluster a list of views, each (n_samples, d_j); ``y`` is ignored.

        Parameters
        ----------
        views : sequence of array-like
        view_models : sequence of fitted JULE, optional
            Reuse per-view JULE fits (from :func:`fit_view_jules` with the same ``n_clusters`` and
            network sizes) instead of pretraining again.
        """
        views = check_views(views, min_views=2)
        n = views[0].shape[0]
        tmpl, p = self._jule_template(n)
        if view_models is not None:
            self._check_view_models(view_models, views)
        device = resolve_device(self.device)
        s_views, s_fusion, s_e2e = _stage_seeds(self.random_state, 3)
        kw = {k: v for k, v in tmpl.get_params().items() if k not in ("n_clusters", "random_state", "verbose")}

        # 1. per-view pretraining
        if view_models is None:
            view_models = fit_view_jules(views, p["n_clusters"], jule_params=kw, random_state=s_views,
                                         verbose=self.verbose)
        self.view_models_ = list(view_models)
        xs = [torch.as_tensor(X, dtype=torch.float32) for X in views]  # stay on the CPU; batches move
        view_nets = [copy.deepcopy(j.network_).to(device) for j in self.view_models_]
        Zc = np.hstack([_embed(net, [x]) for net, x in zip(view_nets, xs)]).astype(np.float32)

        # 2. output MLP on the concatenated view embeddings -> MVnet_fix
        fusion = JULE(p["n_clusters"], random_state=s_fusion, verbose=self.verbose, **kw).fit(Zc)
        self.fusion_model_ = fusion
        net = MVnetModule(view_nets, copy.deepcopy(fusion.network_).train()).to(device)
        self.labels_fix_ = fusion.labels_
        self.embedding_fix_ = _embed(net, xs)

        # 3. end-to-end JULE from initial clusters in the unified space
        if self.finetune:
            gen = _seed_generator(s_e2e)
            res = _run_jule(net, xs, self.embedding_fix_, p["n_clusters"], p, gen, device,
                            verbose=self.verbose, desc="MVnet")
            self.labels_ = res.labels
            self.embedding_ = res.embedding
            self.n_clusters_history_ = res.n_clusters_history
            self.loss_history_ = res.loss_history
        else:
            self.labels_ = self.labels_fix_
            self.embedding_ = self.embedding_fix_
            self.n_clusters_history_, self.loss_history_ = [], []
        self.network_ = net.eval()
        return self

    def _check_view_models(self, view_models, views) -> None:
        if len(view_models) != len(views):
            raise InvalidParameter(f"view_models has {len(view_models)} models for {len(views)} views.")
        for v, (j, X) in enumerate(zip(view_models, views)):
            if not isinstance(j, JULE) or not hasattr(j, "network_"):
                raise InvalidParameter(f"view_models[{v}] must be a fitted JULE; got {type(j).__name__}.")
            if j.network_.in_dim != X.shape[1]:
                raise InvalidParameter(
                    f"view_models[{v}] was fitted on {j.network_.in_dim} features but view {v} has {X.shape[1]}.")
            if j.labels_.shape[0] != X.shape[0]:
                raise InvalidParameter(
                    f"view_models[{v}] was fitted on {j.labels_.shape[0]} samples but the views have {X.shape[0]}.")

    def transform(self, views) -> np.ndarray:
        """Unified MVnet embedding of new views -> (n_samples, embedding_dim)."""
        check_fitted(self)
        views = check_views(views)
        if len(views) != len(self.view_models_):
            raise InvalidParameter(f"MVnet was fitted on {len(self.view_models_)} views; got {len(views)}.")
        return _embed(self.network_, [torch.as_tensor(X, dtype=torch.float32) for X in views])
