"""The MVEC sweep over view combinations (Guérin et al. 2021, Section 4.4, Figure 10).

For ``M`` label views, every non-empty subset of views (``2^M - 1`` of them, 1023 for ten
CNNs) is a multi-view problem solved by the co-association consensus. Each combination is one
task of a :mod:`clustlib.parallel` executor, so a sweep runs in-process or on a Dask cluster,
writes each result as it completes and, restarted on the same store, computes only what is
missing.

References
----------
.. [1] J. Guérin, S. Thiery, E. Nyiri, O. Gibaru, B. Boots, "Combining pretrained CNN feature
   extractors to enhance clustering of complex natural images", Neurocomputing 423, 2021,
   Section 4.4 and Figure 10.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clustlib.cluster._consensus import consensus_fast, consensus_reference
from clustlib.cluster._validation import check_combinations, check_label_views, check_n_clusters
from clustlib.cluster.mvec import CONSENSUS_ENGINES
from clustlib.errors import InvalidParameter, UnknownName
from clustlib.parallel import InProcessExecutor, ResultStore

__all__ = ["SweepResult", "all_combinations", "combination_key", "sweep_combinations"]


@dataclass
class SweepResult:
    """What a sweep returns.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per combination: ``key`` ("0+3+7"), ``views`` (tuple), ``m``, ``n_unique``,
        ``nmi`` (NaN without ground truth), ``t_coassoc``, ``t_linkage``, ``t_consensus``
        (= paper's ``t_3``), ``t_base_max`` / ``t_base_sum`` (over the chosen views'
        ``view_seconds``, NaN when not given), ``t_parallel`` = ``t_base_max + t_consensus``,
        ``t_total`` = ``t_base_sum + t_consensus``, ``threads`` (BLAS threads of the task),
        ``pid`` (process that ran it).
    labels : dict
        ``{views tuple: ndarray (N,)}`` consensus labels (empty when not kept).
    """

    table: pd.DataFrame
    labels: dict = field(default_factory=dict)


def all_combinations(n_views: int, sizes: Iterable[int] | None = None) -> list[tuple[int, ...]]:
    """Every non-empty subset of ``range(n_views)``, by size then lexicographically.

    Parameters
    ----------
    n_views : int
    sizes : iterable of int, optional
        Keep only subsets of these sizes.
    """
    from itertools import combinations

    wanted = range(1, n_views + 1) if sizes is None else sorted(set(int(s) for s in sizes))
    return [c for m in wanted for c in combinations(range(n_views), m)]


def combination_key(views: Sequence[int]) -> str:
    """Store key of a combination: sorted view indices joined by ``+``."""
    return "+".join(str(v) for v in sorted(views))


def _combination_task(views: tuple[int, ...], *, codes: np.ndarray, n_clusters: int,
                      labels_true: np.ndarray | None, engine: str, keep_labels: bool) -> dict:
    """One multi-view problem: consensus of the chosen views (runs on a worker)."""
    from clustlib.metrics import nmi

    fn = consensus_fast if engine == "fast" else consensus_reference
    res = fn(np.ascontiguousarray(codes[:, list(views)]), n_clusters)
    out = {"views": list(views), "m": len(views), "n_unique": res.n_unique,
           "t_coassoc": res.t_coassoc, "t_linkage": res.t_linkage,
           "nmi": nmi(labels_true, res.labels) if labels_true is not None else float("nan")}
    if keep_labels:
        out["labels"] = res.labels.tolist()
    return out


def sweep_combinations(
    label_views,
    n_clusters: int,
    *,
    labels_true=None,
    combinations: Iterable[Sequence[int]] | None = None,
    engine: str = "fast",
    view_seconds: Sequence[float] | None = None,
    executor=None,
    store: str | os.PathLike | None = None,
    keep_labels: bool = True,
    progress: bool = True,
) -> SweepResult:
    """Solve MVEC's consensus for many view combinations (all ``2^M - 1`` by default).

    Parameters
    ----------
    label_views : sequence of int arrays (N,) or ndarray (M, N)
        Base clustering of each view (from :func:`clustlib.cluster.build_label_views`, JULE...),
        ``M >= 2``.
    n_clusters : int
        ``K`` of the consensus, ``2 <= K <= N``.
    labels_true : array-like of int, shape (N,), optional
        Ground truth for the ``nmi`` column.
    combinations : iterable of sequences of view indices, optional
        Subsets to solve; default all. Order inside a subset does not matter; a subset given
        twice is an error.
    engine : {"fast", "reference"}
        See :func:`clustlib.cluster.coassociation_consensus`.
    view_seconds : sequence of float, shape (M,), optional
        Per-view time before the consensus (the paper's ``t_1^j + t_2^j``: extraction and base
        clustering) for the ``t_parallel`` / ``t_total`` columns.
    executor : clustlib.parallel executor, optional
        Default :class:`clustlib.parallel.InProcessExecutor`.
    store : path, optional
        JSON-lines file; completed combinations found there are not recomputed.
    keep_labels : bool
        Return (and store) each combination's consensus labels.
    progress : bool

    Returns
    -------
    SweepResult

    Raises
    ------
    InvalidParameter
        Fewer than two views, views of different lengths, ``K`` out of range, bad or
        duplicate combinations, ``labels_true`` or ``view_seconds`` of the wrong length.

    References
    ----------
    .. [1] Guérin et al., Neurocomputing 423, 2021, Section 4.4, Figure 10.
    """
    if engine not in CONSENSUS_ENGINES:
        raise UnknownName("consensus engine", engine, CONSENSUS_ENGINES)
    codes = check_label_views(label_views, min_views=2)
    n_rows, n_views = codes.shape
    n_clusters = check_n_clusters(n_clusters, n_rows)
    combos = check_combinations(combinations, n_views)
    if labels_true is not None:
        labels_true = np.asarray(labels_true)
        if labels_true.shape != (n_rows,):
            raise InvalidParameter(f"labels_true must have shape ({n_rows},), got {labels_true.shape}.")
    if view_seconds is not None:
        view_seconds = np.asarray(view_seconds, dtype=float)
        if view_seconds.shape != (n_views,):
            raise InvalidParameter(f"view_seconds must have one entry per view ({n_views}), got {view_seconds.shape}.")
    executor = executor if executor is not None else InProcessExecutor()
    store = ResultStore(store) if store is not None else None

    shared = {"codes": codes, "n_clusters": n_clusters, "labels_true": labels_true,
              "engine": engine, "keep_labels": keep_labels}
    done = executor.map(_combination_task, combos, key=combination_key, store=store, shared=shared,
                        desc="MVEC sweep", progress=progress)
    rows, labels = [], {}
    for combo in combos:
        rec = dict(done[combination_key(combo)])
        task = rec.pop("_task", {})
        lab = rec.pop("labels", None)
        if keep_labels and lab is not None:
            labels[combo] = np.asarray(lab, dtype=np.int64)
        sel = list(combo)
        base = view_seconds[sel] if view_seconds is not None else np.array([np.nan])
        rec.update(key=combination_key(combo), views=combo,
                   t_consensus=rec["t_coassoc"] + rec["t_linkage"],
                   t_base_max=float(base.max()), t_base_sum=float(base.sum()),
                   threads=(task.get("threads", {}).get("blas") or [None])[0], pid=task.get("pid"))
        rec["t_parallel"] = rec["t_base_max"] + rec["t_consensus"]
        rec["t_total"] = rec["t_base_sum"] + rec["t_consensus"]
        rows.append(rec)
    columns = ["key", "views", "m", "n_unique", "nmi", "t_coassoc", "t_linkage", "t_consensus",
               "t_base_max", "t_base_sum", "t_parallel", "t_total", "threads", "pid"]
    return SweepResult(pd.DataFrame(rows, columns=columns), labels)
