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

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from clustlib import features, metrics, paper, plots, results
from clustlib.cluster import cluster_features, isometric_reduction
from clustlib.errors import InvalidParameter
from clustlib.studies._common import check_datasets, check_seed, paper_method_name

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


def _reduced_view(matrix: np.ndarray, features_path: Path | None) -> tuple[np.ndarray, dict]:
    """The exact isometric reduction of a wide feature matrix (D > N), computed once and cached.

    Both algorithms cluster the same reduced matrix, and a re-run reads it from ``<features>.iso.npy``
    next to the cached features instead of recomputing the N×N Gram matrix (the costly part for L1/L2).
    Returns the matrix and a note: ``reduction`` (what was done), ``reduction_s`` (seconds, or "cache").
    """
    if matrix.shape[1] <= matrix.shape[0]:
        return matrix, {"reduction": "none"}
    cached = None if features_path is None else features_path.with_name(features_path.stem + ".iso.npy")
    if cached is not None and cached.exists():
        return np.load(cached), json.loads(cached.with_suffix(".json").read_text())
    start = time.perf_counter()
    reduced, description = isometric_reduction(matrix)
    note = {"reduction": description, "reduction_s": round(time.perf_counter() - start, 3)}
    if cached is not None:
        tmp = cached.with_name(f".{cached.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, reduced)
        os.replace(tmp, cached)
        cached.with_suffix(".json").write_text(json.dumps({**note, "reduction_s": "cache"}))
    return reduced, note


def _log(run, imageset, method, setting, seed, labels, seconds, note) -> None:
    run.log(dataset=imageset.name, method=method, setting=setting, seed=seed,
            metrics={"nmi": metrics.nmi(imageset.labels, labels)}, time_s=seconds, note=json.dumps(note))


def run_layer_grid(run: results.Run, imagesets: dict, extractors, layers, algorithms, *, seed: int = 0,
                   batch_size: int = 32, device: str = "cpu", amp: bool = False, include_pixels: bool = True,
                   progress: bool = True) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame of the logged records. Each record's ``note`` (JSON) says whether the features came from
    the cache, their width D, and the exact dimensionality reduction applied before clustering when
    D > N (:func:`clustlib.cluster.isometric_reduction`: same pairwise distances, hence the same Ward tree
    and k-means objective). ``time_s`` is the clustering time on the reduced matrix; the reduction's own
    time is ``reduction_s`` in the note.
    """
    validate_grid(extractors, layers, algorithms)
    jobs = [(name, ext) for name in imagesets for ext in ([PIXELS] if include_pixels else []) + list(extractors)]
    for dataset_name, extractor in tqdm(jobs, desc="grid", disable=not progress):
        imageset = imagesets[dataset_name]
        k = imageset.n_classes
        if extractor == PIXELS:
            views = {"pixels": (imageset.flat_pixels(), {"features": "pixels"}, None)}
        else:
            # Memory-mapped: a wide layer whose reduction is cached is never read from disk.
            extracted = features.extract(imageset, extractor, layers=tuple(layers), batch_size=batch_size,
                                         device=device, amp=amp, progress=False, mmap_threshold_bytes=0)
            views = {layer: (extracted[layer], {"features": "cache" if extracted.from_cache[layer] else "computed",
                                                 "extract_s": round(extracted.seconds, 3),
                                                 "compute_dtype": extracted.compute_dtype,
                                                 "pixels": extracted.preprocessing["pixels"]},
                             extracted.cache_paths.get(layer))
                     for layer in layers}
        for layer, (matrix, note, features_path) in views.items():
            reduced, reduction_note = _reduced_view(matrix, features_path)
            for algorithm in algorithms:
                labels, seconds, _ = cluster_features(reduced, algorithm, k, random_state=seed, reduce=False)
                setting = {"clustering": ALGORITHM_CODES[algorithm]} if extractor == PIXELS else \
                    {"layer": layer, "clustering": ALGORITHM_CODES[algorithm]}
                _log(run, imageset, extractor, setting, seed, labels, seconds,
                     {**note, "dims": int(matrix.shape[1]), **reduction_note})
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
    frame = _with_setting_columns(records)
    return frame[frame["layer"] != "pixels"]


def figure_layer_architecture(records, ax=None):
    """Figure 3a: NMI per architecture and layer (mean ± std over datasets and algorithms)."""
    frame = _feature_rows(records)
    return plots.bar_mean_std(frame, x="architecture", hue="layer", ax=ax, ylabel="NMI",
                              title="Layer × architecture (Fig. 3a)", hue_order=sorted(set(frame.layer)),
                              spread="datasets and algorithms")


def figure_layer_task(records, ax=None):
    """Figure 3b: NMI per dataset and layer (mean ± std over architectures and algorithms)."""
    frame = _feature_rows(records)
    return plots.bar_mean_std(frame, x="dataset", hue="layer", ax=ax, ylabel="NMI",
                              title="Layer × task (Fig. 3b)", hue_order=sorted(set(frame.layer)),
                              spread="architectures and algorithms")


def figure_architecture(records, ax=None):
    """Figure 4a: NMI per architecture at L3 (mean ± std over datasets and algorithms), pixels for reference."""
    frame = _with_setting_columns(records)
    frame = frame[frame["layer"].isin(["L3", "pixels"])]
    return plots.bar_mean_std(frame, x="architecture", ax=ax, ylabel="NMI", title="Architectures, L3 (Fig. 4a)",
                              spread="datasets and algorithms")


def figure_architecture_task(records, ax=None):
    """Figure 4b: NMI per dataset and architecture at L3 (mean ± std over algorithms)."""
    frame = _feature_rows(records)
    return plots.bar_mean_std(frame[frame["layer"] == "L3"], x="dataset", hue="architecture", ax=ax, ylabel="NMI",
                              title="Architecture × task, L3 (Fig. 4b)", spread="algorithms")


def figure_choice_matters(records, ax=None):
    """Figure 5: per dataset, best vs. worst architecture at L3 (agglomerative), the gap annotated."""
    frame = _feature_rows(records)
    frame = frame[(frame["layer"] == "L3") & (frame["clustering"] == "Agg")]
    summary = frame.groupby(["dataset", "architecture"], as_index=False)["value"].mean()
    fig = plots.bar_mean_std(summary, x="dataset", hue="architecture", ax=ax, ylabel="NMI",
                             title="Where the architecture choice matters (Fig. 5)", spread="seeds")
    ax = fig.axes[0]
    for i, (dataset, part) in enumerate(summary.groupby("dataset", sort=False)):
        gap = part["value"].max() - part["value"].min()
        ax.annotate(f"gap {gap:.2f}", (i, part["value"].max()), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize="small")
    return fig


def figure_algorithm_architecture(records, ax=None):
    """Figure 6: NMI per architecture and clustering algorithm at L3 (mean ± std over datasets).

    Section 3.2.1 ends with "only L3 layers are considered in the rest of this results section", so Figure 6
    (Section 3.2.3) is drawn from the L3 rows only, as Figures 4 and 5 are; the pixel baseline is not a CNN.
    """
    frame = _feature_rows(records)
    return plots.bar_mean_std(frame[frame["layer"] == "L3"], x="architecture", hue="clustering", ax=ax,
                              ylabel="NMI", title="Algorithm × architecture, L3 (Fig. 6)", spread="datasets")
