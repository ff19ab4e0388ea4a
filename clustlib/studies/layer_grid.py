"""Study 1 (Guérin et al. 2021, Section 3): clustering pretrained-CNN features, architecture × layer × algorithm.

For every dataset × extractor × layer (L1/L2/L3) × algorithm (k-means with n_init=10, Ward agglomerative),
the NMI of the clustering and its wall time; plus a raw-pixel baseline. Figures 3–6 of the paper are
drawn from the resulting tidy records.

References
----------
J. Guérin, S. Thiery, E. Nyiri, O. Gibaru, B. Boots. "Combining pretrained CNN feature extractors to
enhance clustering of complex natural images". Neurocomputing 423 (2021). Code:
https://github.com/jorisguerin/pretrainedCNN_clustering
"""

from __future__ import annotations

import contextlib
import json
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import pyplot as plt
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from clustlib import features, metrics, paper, plots, results
from clustlib.cluster import cluster_features, isometric_reduction
from clustlib.errors import InvalidParameter
from clustlib.features.extraction import clustering_view, drop_wide_layer
from clustlib.studies import guerin_bof
from clustlib.studies._common import check_datasets, check_seed, paper_method_name
from clustlib.studies._grid import Job, JobContext, run_jobs

__all__ = [
    "ALGORITHM_CODES",
    "validate_grid",
    "validate_params",
    "run_layer_grid",
    "nmi_table",
    "compare_with_paper",
    "figure_layer_architecture",
    "figure_layer_task",
    "figure_architecture",
    "figure_architecture_task",
    "figure_choice_matters",
    "figure_algorithm_architecture",
    "FIGURES",
    "PAPER_TASKS",
    "select_figures",
    "architecture_label",
    "dataset_task",
    "draw_figures",
]

# Our algorithm names -> the paper's column codes (Tables A.3–A.6).
ALGORITHM_CODES = {"kmeans": "KM", "agglomerative": "Agg"}
PIXELS = "pixels"


def validate_grid(extractors, layers, algorithms) -> None:
    """Check every extractor, layer and algorithm name before any compute (lists the valid ones)."""
    for name in extractors:
        features.get_extractor_info(name)
    bad_layers = [layer for layer in layers if layer not in features.LAYER_NAMES]
    if bad_layers:
        raise InvalidParameter(f"Unknown layer(s) {bad_layers}; valid layers: {list(features.LAYER_NAMES)}.")
    bad_algorithms = [a for a in algorithms if a not in ALGORITHM_CODES]
    if bad_algorithms:
        raise InvalidParameter(f"Unknown algorithm(s) {bad_algorithms}; valid: {list(ALGORITHM_CODES)}.")
    if not (extractors and layers and algorithms):
        raise InvalidParameter("extractors, layers and algorithms must each name at least one entry.")


def validate_params(params: dict) -> None:
    """Every parameter of the notebook (datasets, subsets, seed, extractors, layers, algorithms), checked before
    its kernel starts (``clustlib run`` calls this)."""
    check_datasets(params["datasets"], params["subsets"])
    check_seed(params["seed"])
    validate_grid(params["extractors"], params["layers"], params["algorithms"])
    guerin_bof.validate_params(params)  # the Appendix A BoF rows' bof_* keys


def _pixel_view(matrix: np.ndarray) -> tuple[np.ndarray, dict]:
    """The raw pixels as clustering sees them: their exact isometric reduction when D > N (not cached)."""
    if matrix.shape[1] <= matrix.shape[0]:
        return matrix, {"reduction": "none"}
    start = time.perf_counter()
    reduced, description = isometric_reduction(matrix)
    return reduced, {"reduction": description, "reduction_s": round(time.perf_counter() - start, 3)}


def _one_blas_thread(algorithm: str):
    """k-means with one BLAS thread (scikit-learn's own OpenMP threads are already limited to one in
    :func:`clustlib.cluster.cluster_features`): on the 2 shared cores its nested BLAS threads made k-means 3-15x
    slower (2,000 x 1,280 Lite features: 43-68 s against 4-8 s), with the same labels on all eight smoke
    layers checked. Other algorithms keep the threads they have."""
    return threadpool_limits(limits=1) if algorithm == "kmeans" else contextlib.nullcontext()


def _setting(extractor: str, layer: str | None, algorithm: str) -> dict:
    """The record setting of one grid job: ``clustering`` (pixels), plus ``layer`` for a network."""
    code = ALGORITHM_CODES[algorithm]
    return {"clustering": code} if extractor == PIXELS else {"layer": layer, "clustering": code}


def _cluster_job(job: Job, ctx: JobContext, *, features: np.ndarray, labels_true: np.ndarray, n_clusters: int,
                 note: dict) -> dict:
    """One grid job: cluster one layer's (reduced) features with one algorithm; its NMI and clustering time."""
    algorithm = job.spec["algorithm"]
    with _one_blas_thread(algorithm):
        labels, seconds, _ = cluster_features(features, algorithm, n_clusters, random_state=job.seed, reduce=False)
    return {"logs": [dict(metrics={"nmi": metrics.nmi(labels_true, labels)}, time_s=seconds, note=json.dumps(note))]}


def run_layer_grid(run: results.Run, imagesets: dict, extractors, layers, algorithms, *, seed: int = 0,
                   batch_size: int = 32, device: str = "cpu", amp: bool = False, include_pixels: bool = True,
                   keep_wide_features: bool = True, progress: bool = True, parallel=None) -> pd.DataFrame:
    """Cluster every (dataset, extractor, layer, algorithm) and log NMI and clustering time into ``run``.

    Parameters
    ----------
    imagesets : dict of str to ImageSet
        The datasets; each is clustered into its number of classes K.
    extractors, layers, algorithms : sequences of str
        Registered extractor names, ``"L1"|"L2"|"L3"``, ``"kmeans"|"agglomerative"``.
    amp : bool
        bfloat16 autocast for the forward passes on CUDA. Off by default: the paper's Keras networks ran in
        float32 (the CPU always computes in float32). Each record's note gives the ``compute_dtype``.
    keep_wide_features : bool
        Keep the layers wider than N (and their exact reductions) in the feature cache, for study 02 and later
        runs (``smoke``). False (``full``) deletes each once both algorithms have clustered it, so the cache holds
        only the layers with D <= N.

    Disk (float32 features, float64 reductions; N images, D_l the width of tap l, 15 taps in ``full``): kept,
    sum over datasets and taps of 4 N D_l plus 8 N^2 per tap with D_l > N; for the paper's eight datasets and
    five networks about 154 GB of features, more than a 64 GiB disk. With ``keep_wide_features=False`` the cache
    keeps 4 N D_l for the taps with D_l <= N only (3.2 GB for the eight datasets) and one network's taps of one
    dataset at a time besides (at most 26 GB: Inception on MIT Indoor's 15,620 images, L1 + L2 + L3 written
    during extraction plus the two 8 N^2 reductions), so about 30 GB at the peak.

    Returns
    -------
    DataFrame of the logged records. Each record's ``note`` (JSON) says whether the features came from
    the cache, their width D, and the exact dimensionality reduction applied before clustering when
    D > N (:func:`clustlib.cluster.isometric_reduction`: same pairwise distances, hence the same Ward tree
    and k-means objective). ``time_s`` is the clustering time on the reduced matrix; the reduction's own
    time is ``reduction_s`` in the note.

    Resume: a job (dataset, network, layer, algorithm) already logged in ``run`` (a rerun of an interrupted
    ``clustlib run`` reuses its folder) is skipped, and a network whose jobs are all logged is not extracted.
    The algorithms of one layer run through :func:`clustlib.studies._grid.run_jobs` (``parallel``: None here,
    ``"local"`` or a scheduler address on Dask), after the network's features are extracted here.
    """
    validate_grid(extractors, layers, algorithms)
    jobs = [(name, ext) for name in imagesets for ext in ([PIXELS] if include_pixels else []) + list(extractors)]
    for dataset_name, extractor in tqdm(jobs, desc="grid", disable=not progress):
        imageset = imagesets[dataset_name]
        k = imageset.n_classes
        todo = [(layer, algorithm) for layer in ([None] if extractor == PIXELS else layers) for algorithm in algorithms
                if run.logged(dataset=dataset_name, method=extractor, seed=seed,
                              setting=_setting(extractor, layer, algorithm)) is None]
        if not todo:  # a resumed run: every job of this network was logged before the interruption
            continue
        if extractor == PIXELS:
            views = {None: (imageset.flat_pixels(), {"features": "pixels"}, None)}
        else:
            # Memory-mapped: a wide layer whose reduction is cached is never read from disk.
            extracted = features.extract(imageset, extractor, layers=tuple(layers), batch_size=batch_size,
                                         device=device, amp=amp, progress=False, mmap_threshold_bytes=0)
            views = {layer: (extracted[layer], {"features": "cache" if extracted.from_cache[layer] else "computed",
                                                 "extract_s": round(extracted.seconds, 3),
                                                 "compute_dtype": extracted.compute_dtype,
                                                 "pixels": extracted.preprocessing["pixels"]},
                             extracted)
                     for layer in layers}
        for layer, (matrix, note, extracted) in views.items():
            wanted = [a for a in algorithms if (layer, a) in todo]
            if not wanted:
                continue
            reduced, reduction_note = (clustering_view(extracted, layer) if extracted is not None
                                       else _pixel_view(matrix))
            jobs = [Job(dataset_name, extractor, _setting(extractor, layer, algorithm), seed,
                        spec={"algorithm": algorithm}) for algorithm in wanted]
            run_jobs(run, jobs, _cluster_job, checkpoint=False, parallel=parallel, progress=False, shared={
                "features": reduced, "labels_true": imageset.labels, "n_clusters": k,
                "note": {**note, "dims": int(matrix.shape[1]), **reduction_note}})
            if extracted is not None and not keep_wide_features:
                del matrix, reduced
                drop_wide_layer(extracted, layer)
    return run.records


def _with_setting_columns(records: pd.DataFrame) -> pd.DataFrame:
    frame = records[records["metric"] == "nmi"].copy()
    parsed = frame["setting"].map(results.parse_setting)
    frame["layer"] = parsed.map(lambda s: s.get("layer", "pixels"))
    frame["clustering"] = parsed.map(lambda s: s.get("clustering"))
    frame["architecture"] = frame["method"].map(lambda m: m.split(".")[0])
    notes = frame["note"].map(lambda n: json.loads(n) if isinstance(n, str) and n.startswith("{") else {})
    frame["features"] = notes.map(lambda n: n.get("features"))
    frame["dims"] = notes.map(lambda n: n.get("dims"))
    frame["reduction"] = notes.map(lambda n: n.get("reduction") or "none")
    return frame


def nmi_table(records: pd.DataFrame) -> pd.DataFrame:
    """Wide table: one row per (dataset, architecture, layer), NMI and time per algorithm, D and reduction."""
    frame = _with_setting_columns(records)
    wide = frame.pivot_table(index=["dataset", "architecture", "layer", "dims", "reduction"], columns="clustering",
                             values=["value", "time_s"], aggfunc="mean")
    wide.columns = [f"{'NMI' if a == 'value' else 'time_s'} {b}" for a, b in wide.columns]
    return wide.reset_index()


def compare_with_paper(records: pd.DataFrame) -> pd.DataFrame:
    """Our NMI and time beside Guérin Tables A.3–A.6, for the datasets both have (empty if none)."""
    frame = records[records["metric"] == "nmi"].copy()
    published = pd.concat([paper.load("guerin2021", t) for t in ("A.3", "A.4", "A.5", "A.6")])
    frame["method"] = frame["method"].map(paper_method_name)
    ours = results.aggregate(frame)
    side = paper.compare(ours, published)
    side = side[side["paper"].notna()]
    times = results.aggregate(frame.assign(metric="time_s", value=frame["time_s"]))
    paper_times = paper.compare(times, published)[["dataset", "method", "setting", "ours_mean", "paper"]]
    paper_times = paper_times.rename(columns={"ours_mean": "ours_time_s", "paper": "paper_time_s"})
    return side.merge(paper_times, on=["dataset", "method", "setting"], how="left")


def _feature_rows(records):
    frame = records if "layer" in records else _with_setting_columns(records)
    return frame[frame["layer"] != "pixels"]


# --- Figures 3–6, drawn from the run folder ----------------------------------------------------------------

#: Figure name -> what it shows; :func:`draw_figures` yields them in this order.
FIGURES = {
    "fig3a_layer_architecture": "Figure 3a: NMI per architecture and layer",
    "fig3b_layer_task": "Figure 3b: NMI per task and layer",
    "fig4a_architecture": "Figure 4a: NMI per architecture at L3",
    "fig4b_architecture_task": "Figure 4b: NMI per task and architecture at L3",
    "fig5_choice_matters": "Figure 5: NMI per dataset and architecture at L3 (agglomerative), best-worst gap",
    "fig6_algorithm_architecture": "Figure 6: NMI per architecture and clustering algorithm at L3",
}
#: The paper's four tasks in its order (Section 3.1.1, Table 1); other tasks of a stand-in run follow.
PAPER_TASKS = ("objects", "scenes", "fine-grained", "faces")
_TASK_LABELS = {"objects": "natural objects", "scenes": "scenes", "fine-grained": "fine-grained", "faces": "faces"}
_CLUSTERING_LABELS = {"KM": "k-means", "Agg": "agglomerative (Ward)"}
_LAYERS = ("L1", "L2", "L3")
_PAPER_MARKER = {"marker": "D", "color": "black", "markersize": 4.5, "linestyle": "none", "zorder": 5}


def select_figures(names, only) -> list[str]:
    """The figure names of ``names`` to draw: all, or those of ``only`` in ``names``' order (a clear error for an
    unknown name, before anything is drawn)."""
    if only is None:
        return list(names)
    only = [only] if isinstance(only, str) else list(only)
    unknown = [name for name in only if name not in names]
    if unknown:
        raise InvalidParameter(f"Unknown figure name(s) {unknown}; this study draws {list(names)}.")
    return [name for name in names if name in only]


def architecture_label(extractor: str) -> str:
    """The network as the paper prints it (``"vgg16.imagenet"`` -> ``"VGG16"``, ``"resnet50"`` -> ``"Resnet50"``),
    EfficientNet-Lite as its authors do (``"EfficientNet-Lite0"``), the pixel baseline as ``"raw pixels"``."""
    name = extractor.split(".")[0].split(":")[0]
    if name == PIXELS:
        return "raw pixels"
    if name.startswith("efficientnet_lite"):
        return "EfficientNet-Lite" + name[len("efficientnet_lite"):]
    return paper_method_name(name)


def dataset_task(dataset: str) -> str:
    """The task of a dataset (the catalog's ``task``: ``"objects"``, ``"scenes"``, ``"fine-grained"``, ``"faces"``
    for the paper's eight; ``"digits"`` and others for stand-ins; ``"other"`` for a ``folder:`` tree)."""
    from clustlib import data

    try:
        return data.dataset_info(dataset).get("task") or "other"
    except Exception:  # a folder:<path> tree or a dataset no longer registered
        return "other"


def _task_order(tasks) -> list[str]:
    present = list(dict.fromkeys(tasks))
    return [t for t in PAPER_TASKS if t in present] + sorted(t for t in present if t not in PAPER_TASKS)


def _task_label(task: str) -> str:
    return _TASK_LABELS.get(task, f"{task} (stand-in)")


def _figure_frame(records: pd.DataFrame) -> pd.DataFrame:
    """NMI rows with the columns the figures group by: display ``architecture``, ``layer``, ``clustering``,
    ``task``."""
    frame = _with_setting_columns(records)
    frame["architecture"] = frame["method"].map(architecture_label)
    frame["task"] = frame["dataset"].map(dataset_task)
    return frame


def _paper_frame() -> pd.DataFrame:
    """Tables A.3–A.6 in the same columns (the paper's five CNNs; BoF rows left out)."""
    return _paper_frame_cached().copy()


@lru_cache(maxsize=1)
def _paper_frame_cached() -> pd.DataFrame:
    published = pd.concat([paper.load("guerin2021", t) for t in ("A.3", "A.4", "A.5", "A.6")])
    published = published[(published["metric"] == "nmi") & (published["method"] != "BoF")].copy()
    parsed = published["setting"].map(results.parse_setting)
    published["layer"] = parsed.map(lambda s: s.get("layer"))
    published["clustering"] = parsed.map(lambda s: s.get("clustering"))
    published["architecture"] = published["method"]
    published["task"] = published["dataset"].map(dataset_task)
    return published


def _grouped_bars(ax, frame: pd.DataFrame, *, x: str, hue: str | None, x_order, hue_order=None, paper_frame=None,
                  x_labels=None, hue_labels=None, paper_label: str = "paper (Tables A.3–A.6)"):
    """Bars of mean NMI per ``x`` (and ``hue``) with ±1 SD error bars over the rows of each bar; the paper's mean
    over its own rows of the same (x, hue) as a black diamond on the bar, where it has one."""
    hue_order = [None] if hue is None else list(hue_order)
    width = 0.8 / len(hue_order)
    palette = sns.color_palette("colorblind", max(len(hue_order), 3))
    paper_drawn = False
    for j, level in enumerate(hue_order):
        part = frame if level is None else frame[frame[hue] == level]
        stats = part.groupby(x)["value"].agg(["mean", "std", "size"]).reindex(x_order)
        offsets = np.arange(len(x_order)) + (j - (len(hue_order) - 1) / 2) * width
        label = None if level is None else (hue_labels or {}).get(level, level)
        ax.bar(offsets, stats["mean"].fillna(0), width * 0.92, yerr=stats["std"].where(stats["size"] > 1),
               color=palette[j], label=label, capsize=2, error_kw={"linewidth": 0.8})
        if paper_frame is not None and len(paper_frame):
            ppart = paper_frame if level is None else paper_frame[paper_frame[hue] == level]
            pmean = ppart.groupby(x)["value"].mean().reindex(x_order)
            keep = pmean.notna().to_numpy()
            if keep.any():
                ax.plot(offsets[keep], pmean.to_numpy()[keep], label=None if paper_drawn else paper_label,
                        **_PAPER_MARKER)
                paper_drawn = True
    ax.set_xticks(np.arange(len(x_order)), [(x_labels or {}).get(v, v) for v in x_order])
    ax.set_ylim(*plots.PAPER_YLIM)
    ax.set_ylabel("NMI")
    ax.grid(axis="x", visible=False)
    if hue is not None or paper_drawn:
        ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax.figure


def _new_axes(ax, n_groups: int, n_hue: int):
    if ax is not None:
        return ax
    width = min(10.0, max(6.4 if n_hue <= 1 else 7.2, 3.0 + 0.35 * n_groups * max(n_hue, 1)))
    return plt.subplots(figsize=(width, 3.6), layout="constrained")[1]


def _spread(frame, keys, over: str) -> str:
    """The x-axis note on a second line: what one error bar spans."""
    largest = frame.groupby(keys).size().max() if len(frame) else 0
    return f"\nbars: ±1 SD over {over}" if largest and largest > 1 else "\none value per bar, no error bar"


def figure_layer_architecture(records, ax=None):
    """Figure 3a: NMI per architecture and layer, mean ± SD over datasets (tasks) and algorithms; the paper's
    means from Tables A.3–A.6 as diamonds for its five CNNs."""
    frame = _feature_rows(_figure_frame(records))
    archs = list(dict.fromkeys(frame["architecture"]))
    layers = [layer for layer in _LAYERS if layer in set(frame["layer"])]
    ax = _new_axes(ax, len(archs), len(layers))
    fig = _grouped_bars(ax, frame, x="architecture", hue="layer", x_order=archs, hue_order=layers,
                        paper_frame=_paper_frame())
    ax.set_title("Influence of the layer: layer × architecture (Fig. 3a)")
    ax.set_xlabel(f"architecture{_spread(frame, ['architecture', 'layer'], 'datasets and algorithms')}")
    return fig


def figure_layer_task(records, ax=None):
    """Figure 3b: NMI per task (the paper's four: natural objects, scenes, fine-grained, faces) and layer, mean ±
    SD over architectures, datasets and algorithms; the paper's per-task means (its five CNNs, Tables A.3–A.6)
    as diamonds. Stand-in datasets of other tasks (digits) follow the paper's four, labelled as such."""
    frame = _feature_rows(_figure_frame(records))
    tasks = _task_order(frame["task"])
    layers = [layer for layer in _LAYERS if layer in set(frame["layer"])]
    ax = _new_axes(ax, len(tasks), len(layers))
    fig = _grouped_bars(ax, frame, x="task", hue="layer", x_order=tasks, hue_order=layers,
                        paper_frame=_paper_frame(), x_labels={t: _task_label(t) for t in tasks},
                        paper_label="paper (its 5 CNNs, Tables A.3–A.6)")
    ax.set_title("Influence of the layer: layer × task (Fig. 3b)")
    ax.set_xlabel(f"task{_spread(frame, ['task', 'layer'], 'networks, datasets, algorithms')}")
    _name_task_datasets(ax, frame, tasks)
    return fig


def _name_task_datasets(ax, frame, tasks) -> None:
    """Which of the run's datasets each task group holds, under its tick label."""
    by_task = frame.groupby("task")["dataset"].agg(lambda d: ", ".join(dict.fromkeys(d)))
    ax.set_xticks(ax.get_xticks(), [f"{_task_label(t)}\n({by_task[t]})" for t in tasks])


def figure_architecture(records, ax=None):
    """Figure 4a: NMI per architecture at L3, mean ± SD over datasets (tasks) and algorithms; the raw-pixel
    baseline beside them when the run has it; the paper's L3 means as diamonds for its five CNNs."""
    frame = _figure_frame(records)
    frame = frame[frame["layer"].isin(["L3", "pixels"]) & (frame["method"] != "BoF")]  # BoF has its own chart
    archs = [a for a in dict.fromkeys(frame["architecture"]) if a != "raw pixels"]
    archs += ["raw pixels"] if "raw pixels" in set(frame["architecture"]) else []
    published = _paper_frame()
    ax = _new_axes(ax, len(archs), 1)
    fig = _grouped_bars(ax, frame, x="architecture", hue=None, x_order=archs,
                        paper_frame=published[published["layer"] == "L3"])
    ax.set_title("Influence of the architecture, L3 (Fig. 4a)")
    ax.set_xlabel(f"architecture{_spread(frame, ['architecture'], 'datasets and algorithms')}")
    return fig


def figure_architecture_task(records, ax=None):
    """Figure 4b: NMI per task (the paper's four, then stand-ins) and architecture at L3, mean ± SD over datasets
    and algorithms; the paper's per-task L3 means as diamonds for its five CNNs."""
    frame = _feature_rows(_figure_frame(records))
    frame = frame[frame["layer"] == "L3"]
    tasks = _task_order(frame["task"])
    archs = list(dict.fromkeys(frame["architecture"]))
    published = _paper_frame()
    ax = _new_axes(ax, len(tasks), len(archs))
    fig = _grouped_bars(ax, frame, x="task", hue="architecture", x_order=tasks, hue_order=archs,
                        paper_frame=published[published["layer"] == "L3"], x_labels={t: _task_label(t) for t in tasks})
    ax.set_title("Influence of the architecture: architecture × task, L3 (Fig. 4b)")
    ax.set_xlabel(f"task{_spread(frame, ['task', 'architecture'], 'datasets and algorithms')}")
    _name_task_datasets(ax, frame, tasks)
    return fig


def figure_choice_matters(records, ax=None):
    """Figure 5: per dataset, NMI of every architecture at L3 (agglomerative), the best-worst gap written above
    each group (inside the axes); the paper's values (Tables A.3–A.6) as diamonds for its five CNNs."""
    frame = _feature_rows(_figure_frame(records))
    frame = frame[(frame["layer"] == "L3") & (frame["clustering"] == "Agg")]
    datasets = list(dict.fromkeys(frame["dataset"]))
    archs = list(dict.fromkeys(frame["architecture"]))
    published = _paper_frame()
    ax = _new_axes(ax, len(datasets), len(archs))
    fig = _grouped_bars(ax, frame, x="dataset", hue="architecture", x_order=datasets, hue_order=archs,
                        paper_frame=published[(published["layer"] == "L3") & (published["clustering"] == "Agg")])
    summary = frame.groupby(["dataset", "architecture"])["value"].mean()
    top = summary.max() if len(summary) else 1.0
    ax.set_ylim(0, max(plots.PAPER_YLIM[1], top + 0.15))  # room for the gap labels above the tallest bar
    for i, dataset in enumerate(datasets):
        part = summary.loc[dataset]
        ax.text(i, part.max() + 0.04, f"gap {part.max() - part.min():.2f}", ha="center", va="bottom",
                fontsize="small")
    ax.set_title("Where the architecture choice matters, L3, agglomerative (Fig. 5)")
    ax.set_xlabel(f"dataset (gap: best − worst){_spread(frame, ['dataset', 'architecture'], 'seeds')}")
    return fig


def figure_algorithm_architecture(records, ax=None):
    """Figure 6: NMI per architecture and clustering algorithm at L3, mean ± SD over datasets; the paper's L3
    means as diamonds for its five CNNs.

    Section 3.2.1 ends with "only L3 layers are considered in the rest of this results section", so Figure 6
    (Section 3.2.3) is drawn from the L3 rows only, as Figures 4 and 5 are; the pixel baseline is not a CNN.
    """
    frame = _feature_rows(_figure_frame(records))
    frame = frame[frame["layer"] == "L3"]
    archs = list(dict.fromkeys(frame["architecture"]))
    algos = [c for c in _CLUSTERING_LABELS if c in set(frame["clustering"])]
    published = _paper_frame()
    ax = _new_axes(ax, len(archs), len(algos))
    fig = _grouped_bars(ax, frame, x="architecture", hue="clustering", x_order=archs, hue_order=algos,
                        paper_frame=published[published["layer"] == "L3"], hue_labels=_CLUSTERING_LABELS)
    ax.set_title("Clustering algorithm × architecture, L3 (Fig. 6)")
    ax.set_xlabel(f"architecture{_spread(frame, ['architecture', 'clustering'], 'datasets')}")
    return fig


def draw_figures(run_dir, only=None):
    """Figures 3–6 of one run folder, from its ``records.jsonl`` alone: yields ``(name, figure)`` for each name of
    :data:`FIGURES` (or of ``only``)."""
    records = results.read_records(run_dir)
    drawers = {"fig3a_layer_architecture": figure_layer_architecture, "fig3b_layer_task": figure_layer_task,
               "fig4a_architecture": figure_architecture, "fig4b_architecture_task": figure_architecture_task,
               "fig5_choice_matters": figure_choice_matters,
               "fig6_algorithm_architecture": figure_algorithm_architecture}
    for name in select_figures(FIGURES, only):
        yield name, drawers[name](records)
    if only is None:  # and the Appendix A BoF chart, when the run has BoF rows
        yield from guerin_bof.draw_figures(run_dir)
