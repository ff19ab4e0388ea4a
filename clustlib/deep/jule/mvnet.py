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
import hashlib
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin

from clustlib.cluster.multiview import check_views
from clustlib.deep.base import data_fingerprint, is_int, store_init_args
from clustlib.deep.engine import (FitStart, check_checkpoint, check_checkpoint_path, check_fitted, estimator_config,
                                  finish_fit, resolve_device, resolve_precision)
from clustlib.deep.jule.jule import JULE, JuleHistory, check_jule_params, embed, run_jule
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


#: JULE parameters the callers of the stages set themselves (per stage), not ``jule_params``.
_SET_BY_CALLER = ("n_clusters", "random_state", "checkpoint_path")


def _jule_kwargs(jule_params: dict | None, reserved: Sequence[str] = _SET_BY_CALLER, owner: str = "the caller") -> dict:
    kw = dict(jule_params or {})
    valid = set(JULE().get_params()) - set(reserved)
    bad = set(kw) - valid
    if bad:
        raise InvalidParameter(
            f"jule_params has keys JULE does not take here: {sorted(bad)} ({', '.join(reserved)} are set by "
            f"{owner}). Valid keys: {sorted(valid)}.")
    return kw


def _stage_seeds(random_state, n: int) -> list[int]:
    if isinstance(random_state, np.random.RandomState):
        return [int(s) for s in random_state.randint(0, 2**31 - 1, n)]
    rng = np.random.default_rng(0 if random_state is None else random_state)  # None means seed 0 (the contract)
    return [int(s) for s in rng.integers(0, 2**31 - 1, n)]


def _stage_path(path: str | os.PathLike | None, stage: str) -> Path | None:
    """``run.pt`` -> ``run.<stage>.pt``: the checkpoint of one stage beside ``path`` (None stays None)."""
    if path is None:
        return None
    path = Path(path)
    return path.with_name(f"{path.stem}.{stage}{path.suffix}")


def _network_fingerprint(nets: Sequence[torch.nn.Module]) -> str:
    """SHA-256 (16 hex chars) of the networks' parameters and buffers."""
    h = hashlib.sha256()
    for net in nets:
        for name, value in net.state_dict().items():
            h.update(name.encode())
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def fit_view_jules(views, n_clusters: int, *, jule_params: dict | None = None, random_state=None,
                   verbose: bool = False, checkpoint_path: str | os.PathLike | None = None) -> list[JULE]:
    """Fit one JULE per view (same K), e.g. for MVnet pretraining and the ``*_jule`` baselines.

    Parameters
    ----------
    views : sequence of array-like, each (n_samples, d_j)
    n_clusters : int
    jule_params : dict, optional
        Extra :class:`~clustlib.deep.jule.JULE` parameters (``eta``, ``epochs_per_period``, ``amp``, ...).
    random_state : int or None
        View ``j`` gets a seed derived from it (None: from seed 0).
    verbose : bool
    checkpoint_path : path, optional
        View ``j``'s JULE checkpoints at ``<stem>.view<j><suffix>`` beside it (``run.pt`` -> ``run.view0.pt``).

    Returns
    -------
    list of fitted JULE; ``[j.labels_ ...]`` feeds MVEC_jule, ``[j.embedding_ ...]`` MVSC/RMKKM_jule.
    """
    views = check_views(views)
    kw = _jule_kwargs(jule_params)
    check_checkpoint_path(checkpoint_path)
    seeds = _stage_seeds(random_state, len(views))
    out = []
    for v, (X, s) in enumerate(zip(views, seeds)):
        est = JULE(n_clusters, random_state=s, verbose=verbose,
                   checkpoint_path=_stage_path(checkpoint_path, f"view{v}"), **kw)
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
        JULE hyper-parameters shared by every stage (defaults: JULE's, e.g. ``eta=0.9``); not ``n_clusters``,
        ``random_state``, ``checkpoint_path`` or ``amp`` (MVnet's own).
    finetune : bool, default True
        Run stage 3 (end-to-end JULE). ``False`` stops at MVnet_fix.
    device : str, optional
        Default CUDA if available, else CPU (as every method in :mod:`clustlib.deep`).
    amp : {False, None, True, "bfloat16", "float16"}, default False
        Mixed precision of every stage's training forward passes (see :class:`~clustlib.deep.jule.JULE`); off by
        default (float32, as the paper).
    random_state : int, RandomState or None
        Seeds the three stages; None means seed 0, as for every method in :mod:`clustlib.deep`.
    verbose : bool, default False
    checkpoint_path : path, optional
        The end-to-end stage checkpoints here after every period; the per-view JULEs at ``<stem>.view<j><suffix>``
        and the output MLP's at ``<stem>.fusion<suffix>`` beside it. Each resumes when it matches its
        configuration and data; a checkpoint of another one is refused (the end-to-end one before any training).

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
    history_ : JuleHistory
        Per-period record of the end-to-end run (empty when ``finetune=False``).
    precision_ : str

    References
    ----------
    J. Guérin et al., Neurocomputing 423 (2021), Sections 5.2.2 and 6.1.
    """

    def __init__(self, n_clusters: int | None = None, *, hidden_dim: int = 160, embedding_dim: int = 160,
                 jule_params: dict | None = None, finetune: bool = True, device: str | None = None,
                 amp: bool | str | None = False, random_state=None, verbose: bool = False,
                 checkpoint_path: str | os.PathLike | None = None) -> None:
        store_init_args(self, locals())

    def _stage_params(self, n_samples: int) -> tuple[dict, dict]:
        """JULE keyword arguments of every stage, and the end-to-end stage's resolved parameters."""
        kw = _jule_kwargs(self.jule_params, (*_SET_BY_CALLER, "amp"), "MVnet")
        kw.pop("verbose", None)  # the stages show MVnet's own
        for name in ("hidden_dim", "embedding_dim"):
            v = getattr(self, name)
            if not is_int(v, 1):
                raise InvalidParameter(f"{name} must be a positive integer; got {v!r}.")
        kw.update(hidden_dims=(int(self.hidden_dim),), embedding_dim=int(self.embedding_dim), amp=self.amp)
        check_checkpoint_path(self.checkpoint_path)
        return kw, check_jule_params(JULE(self.n_clusters, **kw), n_samples)

    def _config(self, views: list[np.ndarray], seeds: list[int], view_networks: str | None) -> dict:
        """What defines the end-to-end stage: the parameters but those that do not change the numbers, the seeds,
        the views and the view networks it starts from (``view_networks``: their fingerprint)."""
        jule = {k: v for k, v in (self.jule_params or {}).items() if k not in ("device", "verbose")}
        return estimator_config(self, views[0], skip=("verbose", "random_state"), jule_params=jule, seeds=seeds,
                                views=[data_fingerprint(v) for v in views], view_networks=view_networks)

    def fit(self, views, y=None, *, view_models: Sequence[JULE] | None = None) -> "MVnet":
        """Cluster a list of views, each (n_samples, d_j); ``y`` is ignored.

        Parameters
        ----------
        views : sequence of array-like
        view_models : sequence of fitted JULE, optional
            Reuse per-view JULE fits (from :func:`fit_view_jules` with the same ``n_clusters`` and
            network sizes) instead of pretraining again.
        """
        t0 = time.perf_counter()
        views = check_views(views, min_views=2)
        kw, p = self._stage_params(views[0].shape[0])
        if view_models is not None:
            self._check_view_models(view_models, views)
        device = resolve_device(self.device)
        seeds = _stage_seeds(self.random_state, 3)
        s_views, s_fusion, s_e2e = seeds
        if self.checkpoint_path is not None:  # refuse another run's checkpoint before any training
            check_checkpoint(self.checkpoint_path, self._config(views, seeds, None), ignore=("view_networks",))

        # 1. per-view pretraining
        if view_models is None:
            view_models = fit_view_jules(views, p["n_clusters"], jule_params=kw, random_state=s_views,
                                         verbose=self.verbose, checkpoint_path=self.checkpoint_path)
        self.view_models_ = list(view_models)
        xs = [torch.as_tensor(X, dtype=torch.float32) for X in views]  # stay on the CPU; batches move
        view_nets = [copy.deepcopy(j.network_).to(device) for j in self.view_models_]
        Zc = np.hstack([embed(net, [x]) for net, x in zip(view_nets, xs)]).astype(np.float32)

        # 2. output MLP on the concatenated view embeddings -> MVnet_fix
        fusion = JULE(p["n_clusters"], random_state=s_fusion, verbose=self.verbose,
                      checkpoint_path=_stage_path(self.checkpoint_path, "fusion"), **kw).fit(Zc)
        self.fusion_model_ = fusion
        start_nets = _network_fingerprint(view_nets) if self.checkpoint_path is not None else None
        net = MVnetModule(view_nets, copy.deepcopy(fusion.network_).train()).to(device)
        self.labels_fix_ = fusion.labels_
        self.embedding_fix_ = embed(net, xs)

        # 3. end-to-end JULE from initial clusters in the unified space
        start = FitStart(s_e2e, device, resolve_precision(device, self.amp), torch.Generator().manual_seed(s_e2e), t0)
        if self.finetune:
            config = None if start_nets is None else self._config(views, seeds, start_nets)
            res = run_jule(net, xs, self.embedding_fix_, p, start.generator, device=device, precision=start.precision,
                           checkpoint_path=self.checkpoint_path, config=config, progress=self.verbose, desc="MVnet")
            self.labels_, self.embedding_, history = res.labels, res.embedding, res.history
            self.n_clusters_history_, self.loss_history_ = res.n_clusters_history, res.loss_history
        else:
            history = JuleHistory(precision=start.precision.name)  # no end-to-end step; the stages ran in it
            self.labels_, self.embedding_ = self.labels_fix_, self.embedding_fix_
            self.n_clusters_history_, self.loss_history_ = [], []
        self.network_ = net.eval()
        finish_fit(self, start, history, np.empty((0, sum(X.shape[1] for X in views))))  # n_features_in_: all views
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
        return embed(self.network_, [torch.as_tensor(X, dtype=torch.float32) for X in views])
