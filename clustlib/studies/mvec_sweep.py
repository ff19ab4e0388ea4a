"""Study 2 (Guérin et al. 2021, Sections 4.3–4.4, Figure 10): MVEC over every combination of views.

Each view is one (pretrained network, layer) feature matrix, or the raw pixels. Every view is clustered
once (Ward agglomerative, as in the paper); every non-empty subset of views is then merged by the
co-association consensus (average linkage), and scored by NMI. Figure 10 plots NMI and time against the
number of views m, with the paper's parallel-time model max_j(t1_j + t2_j) + t3 (t1 = feature
extraction, t2 = base clustering, t3 = consensus).

References
----------
J. Guérin et al., Neurocomputing 423 (2021), Section 4.4 and Figure 10.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt

from clustlib import features, paths, plots, repro, results
from clustlib.cluster import ALGORITHMS, build_label_views, sweep_combinations
from clustlib.errors import InvalidParameter
from clustlib.features.extraction import clustering_view
from clustlib.parallel import make_executor
from clustlib.studies._common import check_datasets, check_list, check_seed

__all__ = ["PIXELS", "parse_view", "validate_views", "validate_params", "build_views", "run_sweep", "summary_by_m",
           "single_vs_all", "figure_10", "sweep_from_records", "figure_names", "draw_figures"]

PIXELS = "pixels"


def parse_view(spec: str) -> tuple[str, str | None]:
    """``"efficientnet_lite0.imagenet:L3"`` -> ``("efficientnet_lite0.imagenet", "L3")``; ``"pixels"`` -> ``("pixels", None)``."""
    if spec == PIXELS:
        return PIXELS, None
    extractor, sep, layer = spec.partition(":")
    if not sep:
        raise InvalidParameter(f"View {spec!r} must be 'pixels' or '<extractor>:<layer>', e.g. "
                               "'efficientnet_lite0.imagenet:L3'.")
    return extractor, layer


def validate_views(view_specs) -> None:
    """At least two distinct views, each a known extractor and layer (checked before any compute)."""
    if len(view_specs) < 2:
        raise InvalidParameter(f"MVEC needs at least two views, got {list(view_specs)}.")
    if len(set(view_specs)) != len(view_specs):
        raise InvalidParameter(f"views lists a view twice: {list(view_specs)}.")
    for spec in view_specs:
        extractor, layer = parse_view(spec)
        if extractor != PIXELS:
            features.get_extractor_info(extractor)
            if layer not in features.LAYER_NAMES:
                raise InvalidParameter(f"View {spec!r}: unknown layer {layer!r}; valid: {list(features.LAYER_NAMES)}.")


def validate_params(params: dict) -> None:
    """Every parameter of the notebook (datasets, subsets, seed, views, base_algorithm), checked before its
    kernel starts (``clustlib run`` calls this)."""
    check_datasets(params["datasets"], params["subsets"])
    check_seed(params["seed"])
    validate_views(params["views"])
    check_list("base_algorithm", [params["base_algorithm"]], ALGORITHMS)


def build_views(imageset, view_specs, *, batch_size: int = 32, device: str = "cpu") -> tuple[list, np.ndarray]:
    """Feature matrix of every view and its extraction time t1 in seconds (0 for pixels).

    All layers of one network come from one forward pass; each of its views is charged the whole pass,
    since in the paper's parallel model each view needs that network. A view wider than its N images comes
    as its exact isometric reduction (:func:`clustlib.features.extraction.clustering_view`: same pairwise
    distances, hence the same Ward partition), read from the feature cache where study 01 left it; its time
    joins t1. t1 is the wall time of the extraction call: near zero when the features come from the cache,
    so time panels are only meaningful on a first (uncached) run.
    """
    wanted: dict[str, list[str]] = {}
    for spec in view_specs:
        extractor, layer = parse_view(spec)
        if extractor != PIXELS:
            wanted.setdefault(extractor, []).append(layer)
    # memory-mapped: a wide layer whose exact reduction study 01 already cached is never read into memory
    extracted = {name: features.extract(imageset, name, layers=tuple(layers), batch_size=batch_size,
                                        device=device, progress=False, mmap_threshold_bytes=0)
                 for name, layers in wanted.items()}
    matrices, seconds = [], []
    for spec in view_specs:
        extractor, layer = parse_view(spec)
        if extractor == PIXELS:
            matrices.append(imageset.flat_pixels())
            seconds.append(0.0)
        else:
            start = time.perf_counter()
            matrices.append(clustering_view(extracted[extractor], layer)[0])
            seconds.append(extracted[extractor].seconds + time.perf_counter() - start)
    return matrices, np.asarray(seconds)


def _store_path(imageset, view_specs, algorithm: str, seed: int):
    key = repro.params_sha256({"fingerprint": imageset.fingerprint, "views": list(view_specs),
                               "algorithm": algorithm, "seed": seed, "k": imageset.n_classes})[:24]
    folder = paths.cache_root() / "mvec_sweeps"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{imageset.name}_{key}.jsonl"


def run_sweep(run: results.Run, imageset, view_specs, *, algorithm: str = "agglomerative", seed: int = 0,
              batch_size: int = 32, device: str = "cpu", executor: str = "inprocess", n_workers: int = 2,
              threads_per_worker: int = 1, progress: bool = True) -> pd.DataFrame:
    """All 2^M − 1 MVEC problems of one dataset; logs one ``nmi`` record per combination into ``run``.

    The sweep's completed combinations are kept in ``<cache>/mvec_sweeps/``, so an interrupted sweep,
    restarted with the same data, views and seed, computes only the missing ones. In a resumed run (the same run
    folder) a dataset whose combinations are all logged is read back from the records, with no extraction, and
    no combination is logged twice.

    Returns
    -------
    DataFrame: one row per combination with ``views`` (names), ``m``, ``nmi``, ``t_consensus`` (t3),
    ``t_parallel`` = max_j(t1_j + t2_j) + t3 and ``t_total`` = sum_j(t1_j + t2_j) + t3, in seconds.
    """
    validate_views(view_specs)
    done = sweep_from_records(run.records)
    done = done[done["dataset"] == imageset.name]
    if len(done) == 2 ** len(view_specs) - 1:  # a resumed run that logged this whole sweep before: nothing to do
        return done.reset_index(drop=True)
    matrices, t_extract = build_views(imageset, view_specs, batch_size=batch_size, device=device)
    base = build_label_views(matrices, imageset.n_classes, algorithm=algorithm, random_state=seed, progress=False)
    kwargs = {} if executor == "inprocess" else {"n_workers": n_workers, "threads_per_worker": threads_per_worker}
    pool = make_executor(executor, **kwargs)
    sweep = sweep_combinations(base.labels, imageset.n_classes, labels_true=imageset.labels,
                               view_seconds=t_extract + base.seconds, executor=pool,
                               store=_store_path(imageset, view_specs, algorithm, seed), keep_labels=False,
                               progress=progress)
    if hasattr(pool, "close"):
        pool.close()
    table = sweep.table.copy()
    table["view_names"] = table["views"].map(lambda combo: [view_specs[i] for i in combo])
    logged = set(done["key"])
    for row in table.itertuples():
        if row.key in logged:  # logged before an interruption: not twice
            continue
        run.log(dataset=imageset.name, method="MVEC_agg", setting={"m": row.m, "views": row.key}, seed=seed,
                metrics={"nmi": row.nmi}, time_s=row.t_total,
                note=json.dumps({"t_parallel": round(row.t_parallel, 4), "t_consensus": round(row.t_consensus, 4),
                                 "n_unique": int(row.n_unique), "views": row.view_names}))
    table.insert(0, "dataset", imageset.name)
    return table


def summary_by_m(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and m: mean ± std NMI over the C(M, m) combinations, mean total and parallel time."""
    return (table.groupby(["dataset", "m"], as_index=False)
            .agg(n_problems=("nmi", "size"), nmi_mean=("nmi", "mean"), nmi_std=("nmi", "std"),
                 t_total_mean=("t_total", "mean"), t_parallel_mean=("t_parallel", "mean"),
                 t_consensus_mean=("t_consensus", "mean"))
            .fillna({"nmi_std": 0.0}))


def single_vs_all(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: best and worst single view, all-view MVEC, and whether m = 2 is worse than m = 1 on average."""
    rows = []
    for dataset, part in table.groupby("dataset", sort=False):
        singles = part[part["m"] == 1]
        full = part[part["m"] == part["m"].max()].iloc[0]
        best, worst = singles.loc[singles["nmi"].idxmax()], singles.loc[singles["nmi"].idxmin()]
        mean_1, mean_2 = singles["nmi"].mean(), part.loc[part["m"] == 2, "nmi"].mean()
        rows.append({"dataset": dataset, "best single view": best["view_names"][0], "best NMI": best["nmi"],
                     "worst single view": worst["view_names"][0], "worst NMI": worst["nmi"],
                     f"all {int(full['m'])} views NMI": full["nmi"], "mean NMI m=1": mean_1, "mean NMI m=2": mean_2,
                     "m=2 worse than m=1 (paper: yes)": bool(mean_2 < mean_1)})
    return pd.DataFrame(rows)


def sweep_from_records(records: pd.DataFrame) -> pd.DataFrame:
    """The sweep table of :func:`run_sweep` rebuilt from a run's ``MVEC_agg`` records: ``dataset, m, key, nmi,
    t_total, t_parallel, t_consensus`` (seconds), ``view_names``; one row per logged combination."""
    frame = records[(records["method"] == "MVEC_agg") & (records["metric"] == "nmi")]
    rows = []
    for row in frame.itertuples():
        setting, note = results.parse_setting(row.setting), json.loads(row.note or "{}")
        rows.append({"dataset": row.dataset, "m": int(setting["m"]), "key": setting.get("views"), "nmi": row.value,
                     "t_total": row.time_s, "t_parallel": note.get("t_parallel", np.nan),
                     "t_consensus": note.get("t_consensus", np.nan), "view_names": note.get("views", [])})
    return pd.DataFrame(rows, columns=["dataset", "m", "key", "nmi", "t_total", "t_parallel", "t_consensus",
                                       "view_names"])


def figure_10(summary: pd.DataFrame, dataset: str):
    """Figure 10 for one dataset: NMI mean ± SD over the C(M, m) combinations against the number of views m
    (left); mean total time, sequential and with one worker per view (the paper's parallel model), against m
    (right)."""
    part = summary[summary["dataset"] == dataset]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 3.3), layout="constrained")
    plots.line_mean_std(part, x="m", mean="nmi_mean", std="nmi_std", ax=left, ylabel="NMI",
                        title="NMI vs. number of views", spread="the C(M, m) combinations")
    varies = part["nmi_std"].fillna(0).gt(0).any()
    left.set_xlabel("number of views m" + ("\n(band: ±1 SD over the C(M, m) combinations)" if varies else ""))
    right.plot(part["m"], part["t_total_mean"], marker="o", label="sequential: Σ(t1+t2) + t3")
    right.plot(part["m"], part["t_parallel_mean"], marker="s", label="parallel: max(t1+t2) + t3")
    right.set_xlabel("number of views m")
    right.set_ylabel("mean total time (s)")
    right.set_title("time vs. number of views")
    right.set_ylim(bottom=0)
    right.legend(frameon=False, fontsize="small", loc="upper left")
    for ax in (left, right):
        ax.set_xticks(part["m"])
    fig.suptitle(f"MVEC$_{{agg}}$ on {dataset} (Fig. 10)")
    return fig


def figure_names(datasets) -> list[str]:
    """The figures of a run on ``datasets``: ``fig10_<dataset>``, one per dataset."""
    return [f"fig10_{dataset}" for dataset in datasets]


def draw_figures(run_dir, only=None):
    """Figure 10 of one run folder, from its ``records.jsonl`` alone: yields ``("fig10_<dataset>", figure)`` per
    dataset of the run (or per name of ``only``)."""
    from clustlib.studies.layer_grid import select_figures

    summary = summary_by_m(sweep_from_records(results.read_records(run_dir)))
    datasets = list(dict.fromkeys(summary["dataset"]))
    names = dict(zip(figure_names(datasets), datasets))
    for name in select_figures(list(names), only):
        yield name, figure_10(summary, names[name])
