"""Study 1's bag-of-features rows (Guérin et al. 2021, Appendix A, Tables A.3–A.6): BoF histograms clustered by
the same k-means and Ward agglomerative clustering, into the same K, as the CNN features of the grid.

The paper reports BoF ("bag of sifts", its ref. [25]) for the smallest dataset of each task only: VOC2007
(objects, Table A.3), Archi (scenes, A.4), Flowers (fine-grained, A.5) and UMist (faces, A.6), with the NMI and
the clustering time of each algorithm. Records are logged as method ``"BoF"`` with setting
``clustering=KM|Agg``, the paper's own row label and setting, so every side-by-side (``layer_grid.compare_with_paper``
and :func:`bof_table` here) joins them to the paper's BoF cells. ``time_s`` is the clustering time, as the paper's
"time" columns and the CNN rows; the representation's own time is ``bof_s`` in the note.

References
----------
J. Guérin, S. Thiery, E. Nyiri, O. Gibaru, B. Boots. "Combining pretrained CNN feature extractors to enhance
clustering of complex natural images". Neurocomputing 423 (2021), Section 3.2 and Appendix A.
"""

from __future__ import annotations

import contextlib
import json
import time

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import pyplot as plt
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from clustlib import metrics, paper, plots, results
from clustlib.cluster import cluster_features
from clustlib.errors import InvalidParameter
from clustlib.features.bof import BagOfFeatures
from clustlib.studies._common import check_seed

__all__ = ["METHOD", "PAPER_TABLES", "PAPER_DATASETS", "ALGORITHM_CODES", "validate_params", "bag_of_features",
           "run_bof", "paper_bof", "bof_table", "figure_bof", "FIGURES", "draw_figures"]

#: The paper's row label for the baseline (Tables A.3–A.6); our records use it as their ``method``.
METHOD = "BoF"
PAPER_TABLES = ("A.3", "A.4", "A.5", "A.6")
#: The dataset of each table that has a BoF row (the smallest of its task), in the paper's order.
PAPER_DATASETS = ("voc2007", "archi", "flowers17", "umist")
#: Our algorithm names -> the paper's column codes (the same as the CNN rows of ``layer_grid``).
ALGORITHM_CODES = {"kmeans": "KM", "agglomerative": "Agg"}
_CLUSTERING_LABELS = {"KM": "k-means", "Agg": "agglomerative (Ward)"}
#: The paper's dataset names (Table 1); other datasets of a run are labelled as stand-ins.
_DATASET_LABELS = {"voc2007": "VOC2007", "archi": "Archi", "flowers17": "Flowers", "umist": "UMist"}
#: Notebook parameter -> BagOfFeatures argument.
_BOF_PARAMS = {"bof_vocabulary": "vocabulary_size", "bof_patch": "patch_size", "bof_step": "step",
               "bof_image_size": "image_size", "bof_sample": "sample_size"}


def bag_of_features(params: dict, *, seed: int = 0, batch_size: int = 64, progress: bool = False) -> BagOfFeatures:
    """The :class:`~clustlib.features.bof.BagOfFeatures` a study's ``bof_*`` parameters describe (validated)."""
    model = BagOfFeatures(**{arg: params[key] for key, arg in _BOF_PARAMS.items() if key in params},
                          batch_size=batch_size, random_state=seed, progress=progress)
    model.validate()
    return model


def validate_params(params: dict) -> None:
    """The BoF parameters of study 01 (``bof_datasets``, ``bof_*``, ``algorithms``, ``seed``), checked before any
    compute: every BoF dataset must be one the study loads."""
    datasets = params.get("bof_datasets") or []
    if not isinstance(datasets, (list, tuple)):
        raise InvalidParameter(f"bof_datasets must be a list of dataset names, got {datasets!r}.")
    outside = [d for d in datasets if d not in params["datasets"]]
    if outside:
        raise InvalidParameter(f"bof_datasets {outside} are not in datasets {params['datasets']}: the BoF rows are "
                               "computed on the datasets the study loads; add them to datasets or remove them here.")
    bad = [a for a in params["algorithms"] if a not in ALGORITHM_CODES]
    if bad:
        raise InvalidParameter(f"Unknown algorithm(s) {bad}; valid: {list(ALGORITHM_CODES)}.")
    check_seed(params["seed"])
    bag_of_features(params, seed=params["seed"], batch_size=params.get("batch_size", 64))


def run_bof(run: results.Run, imagesets: dict, algorithms, bof: BagOfFeatures, *, seed: int = 0,
            progress: bool = True) -> pd.DataFrame:
    """Compute the BoF histograms of every dataset of ``imagesets``, cluster them with each algorithm into the
    dataset's K, and log NMI and clustering time into ``run`` (method :data:`METHOD`, setting ``clustering=KM|Agg``).

    Parameters
    ----------
    imagesets : dict of str to ImageSet
        The datasets to describe (study 01 passes those of ``bof_datasets``).
    algorithms : sequence of str
        ``"kmeans"`` (n_init 10) and/or ``"agglomerative"`` (Ward), as the CNN rows.
    bof : BagOfFeatures
        The representation (its ``random_state`` is ``seed`` in study 01); refitted on each dataset.

    Returns
    -------
    DataFrame of the BoF records of ``run``. Each note (JSON) holds ``bof_s`` (descriptors + vocabulary +
    histograms, seconds), the vocabulary size ``dims``, the patch geometry and ``descriptors_per_image``.
    A dataset whose jobs are all logged already (a resumed run) is not described again.
    """
    bad = [a for a in algorithms if a not in ALGORITHM_CODES]
    if bad or not algorithms:
        raise InvalidParameter(f"algorithms must name at least one of {list(ALGORITHM_CODES)}, got {list(algorithms)}.")
    for name, imageset in tqdm(imagesets.items(), desc="BoF", disable=not progress):
        todo = [a for a in algorithms if run.logged(dataset=name, method=METHOD, seed=seed,
                                                   setting={"clustering": ALGORITHM_CODES[a]}) is None]
        if not todo:
            continue
        start = time.perf_counter()
        histograms = bof.fit_transform(imageset.images)
        note = {"features": "bof", "bof_s": round(time.perf_counter() - start, 3), "dims": bof.vocabulary_size,
                "patch_size": bof.patch_size, "step": bof.step, "image_size": bof.image_size,
                "descriptors_per_image": bof.descriptors_per_image_, "vocabulary_sample": bof.n_sampled_}
        for algorithm in todo:
            # k-means with one BLAS thread, as the CNN rows (layer_grid): nested BLAS threads slow it on 2 cores.
            limit = threadpool_limits(limits=1) if algorithm == "kmeans" else contextlib.nullcontext()
            with limit:
                labels, seconds, _ = cluster_features(histograms, algorithm, imageset.n_classes, random_state=seed,
                                                      reduce=False)
            run.log(dataset=name, method=METHOD, setting={"clustering": ALGORITHM_CODES[algorithm]}, seed=seed,
                    metrics={"nmi": metrics.nmi(imageset.labels, labels)}, time_s=seconds, note=json.dumps(note))
    return _bof_records(run.records)


def _bof_records(records: pd.DataFrame) -> pd.DataFrame:
    return records[(records["method"] == METHOD) & (records["metric"] == "nmi")]


def paper_bof() -> pd.DataFrame:
    """The paper's BoF cells: one row per (table, dataset, clustering) with ``nmi`` and ``time_s``."""
    published = pd.concat([paper.load("guerin2021", t) for t in PAPER_TABLES], ignore_index=True)
    published = published[published["method"] == METHOD].copy()
    published["clustering"] = published["setting"].map(lambda s: results.parse_setting(s).get("clustering"))
    wide = published.pivot_table(index=["table", "dataset", "clustering"], columns="metric", values="value")
    return wide.reset_index()[["table", "dataset", "clustering", "nmi", "time_s"]]


def bof_table(records: pd.DataFrame) -> pd.DataFrame:
    """Ours beside the paper's BoF rows: one row per (dataset, clustering) over our BoF datasets and the paper's
    four, with ``ours NMI``, ``ours time (s)`` (clustering), ``BoF features (s)``, ``paper NMI``, ``paper time (s)``
    and ``ours − paper``; the paper's columns are empty for a dataset it has no BoF row for (a stand-in), ours
    for a paper dataset this run did not describe. Ours is the mean over seeds (``seeds`` counts them)."""
    ours = _bof_records(records).copy()
    ours["clustering"] = ours["setting"].map(lambda s: results.parse_setting(s).get("clustering"))
    ours["bof_s"] = ours["note"].map(lambda n: json.loads(n).get("bof_s") if isinstance(n, str) and n else np.nan)
    ours = ours.groupby(["dataset", "clustering"], sort=False).agg(
        **{"ours NMI": ("value", "mean"), "seeds": ("seed", "nunique"), "ours time (s)": ("time_s", "mean"),
           "BoF features (s)": ("bof_s", "mean")}).reset_index()
    theirs = paper_bof().rename(columns={"nmi": "paper NMI", "time_s": "paper time (s)", "table": "paper table"})
    side = ours.merge(theirs, on=["dataset", "clustering"], how="outer")
    side["ours − paper"] = side["ours NMI"] - side["paper NMI"]
    order = {d: i for i, d in enumerate(list(PAPER_DATASETS) + list(dict.fromkeys(ours["dataset"])))}
    side = side.sort_values(["dataset", "clustering"], key=lambda c: c.map(order) if c.name == "dataset"
                            else c.map({"KM": 0, "Agg": 1}), kind="stable")
    columns = ["dataset", "paper table", "clustering", "ours NMI", "paper NMI", "ours − paper", "ours time (s)",
               "paper time (s)", "BoF features (s)", "seeds"]
    side["seeds"] = side["seeds"].fillna(0).astype(int)
    return side[columns].reset_index(drop=True)


# --- figure ---------------------------------------------------------------------------------------------------

#: Figure name -> what it shows (:func:`draw_figures` yields them in this order).
FIGURES = {"tableA3_6_bof": "Tables A.3–A.6 BoF rows: NMI of BoF beside raw pixels and the CNNs at L3"}
_REPRESENTATIONS = ("BoF", "raw pixels", "CNN L3 (mean over networks)", "CNN L3 (best network)")
_ONE_NETWORK = "CNN L3"


def _representation_frame(records: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, clustering): the NMI of BoF, raw pixels, and the CNNs' L3 (mean and best over networks)."""
    frame = records[records["metric"] == "nmi"].copy()
    parsed = frame["setting"].map(results.parse_setting)
    frame["clustering"] = parsed.map(lambda s: s.get("clustering"))
    frame["layer"] = parsed.map(lambda s: s.get("layer"))
    bof_sets = set(frame.loc[frame["method"] == METHOD, "dataset"])
    frame = frame[frame["dataset"].isin(bof_sets)]
    cnn = frame[frame["layer"] == "L3"].groupby(["dataset", "clustering", "method"])["value"].mean()
    parts = [frame[frame["method"] == METHOD].groupby(["dataset", "clustering"])["value"].mean().rename("BoF"),
             frame[frame["method"] == "pixels"].groupby(["dataset", "clustering"])["value"].mean()
             .rename("raw pixels"),
             cnn.groupby(level=["dataset", "clustering"]).mean().rename(_REPRESENTATIONS[2]),
             cnn.groupby(level=["dataset", "clustering"]).max().rename(_REPRESENTATIONS[3])]
    wide = pd.concat(parts, axis=1)
    if cnn.index.get_level_values("method").nunique() == 1:  # one network: its mean is its best
        wide = wide.drop(columns=_REPRESENTATIONS[3]).rename(columns={_REPRESENTATIONS[2]: _ONE_NETWORK})
    return wide.dropna(axis=1, how="all")


def _paper_representations() -> pd.DataFrame:
    """The paper's BoF NMI and its five CNNs' L3 NMI (mean, best) per (dataset, clustering), Tables A.3–A.6."""
    published = pd.concat([paper.load("guerin2021", t, metric="nmi") for t in PAPER_TABLES], ignore_index=True)
    parsed = published["setting"].map(results.parse_setting)
    published["clustering"] = parsed.map(lambda s: s.get("clustering"))
    published["layer"] = parsed.map(lambda s: s.get("layer"))
    cnn = published[published["layer"] == "L3"].groupby(["dataset", "clustering"])["value"]
    bof = published[published["method"] == METHOD].groupby(["dataset", "clustering"])["value"].mean()
    return pd.concat([bof.rename("BoF"), cnn.mean().rename(_REPRESENTATIONS[2]),
                      cnn.max().rename(_REPRESENTATIONS[3])], axis=1)


def figure_bof(records: pd.DataFrame, ax=None):
    """NMI per dataset of BoF, raw pixels (when run) and the CNNs at L3 (mean and best over the run's networks),
    one panel per clustering algorithm; the paper's BoF and L3 values (Tables A.3–A.6) as black diamonds on the
    bars of its four BoF datasets. The paper prints these numbers as table rows only, so this is our chart of
    them (the text: BoF NMI "much below deep features")."""
    wide = _representation_frame(records)
    clusterings = [c for c in _CLUSTERING_LABELS if c in set(wide.index.get_level_values("clustering"))]
    reps = [r for r in (*_REPRESENTATIONS[:3], _ONE_NETWORK, _REPRESENTATIONS[3]) if r in wide.columns]
    datasets = [d for d in PAPER_DATASETS if d in set(wide.index.get_level_values("dataset"))]
    datasets += [d for d in dict.fromkeys(wide.index.get_level_values("dataset")) if d not in datasets]
    if ax is None:
        panel_width = min(7.0, max(2.8, 0.3 * len(datasets) * len(reps) + 1.0))
        fig, axes = plt.subplots(1, max(len(clusterings), 1), figsize=(panel_width * max(len(clusterings), 1) + 2.4,
                                                                        3.6), layout="constrained", sharey=True,
                                 squeeze=False)
        axes = axes[0]
    else:
        fig, axes = ax.figure, [ax]
        clusterings = clusterings[:1]
    palette = dict(zip(_REPRESENTATIONS, sns.color_palette("colorblind", len(_REPRESENTATIONS))))
    palette[_ONE_NETWORK] = palette[_REPRESENTATIONS[2]]
    theirs = _paper_representations()
    width = 0.8 / max(len(reps), 1)
    for panel, clustering in zip(axes, clusterings):
        part = wide.xs(clustering, level="clustering").reindex(datasets)
        paper_drawn = False
        for j, rep in enumerate(reps):
            x = np.arange(len(datasets)) + (j - (len(reps) - 1) / 2) * width
            panel.bar(x, part[rep].fillna(0), width * 0.92, color=palette[rep], label=rep)
            if rep in theirs.columns:  # the paper's L3 mean over its five CNNs (not drawn on a one-network bar)
                values = np.array([theirs[rep].get((d, clustering), np.nan) for d in datasets], dtype=float)
                keep = np.isfinite(values)
                if keep.any():
                    panel.plot(x[keep], values[keep], marker="D", color="black", markersize=4.5, linestyle="none",
                               zorder=5, label=None if paper_drawn else "paper (Tables A.3–A.6)")
                    paper_drawn = True
        panel.set_xticks(np.arange(len(datasets)), [_DATASET_LABELS.get(d, f"{d}\n(stand-in)") for d in datasets])
        panel.set_title(_CLUSTERING_LABELS[clustering])
        panel.set_ylim(*plots.PAPER_YLIM)
        panel.set_xlabel("dataset")
        panel.grid(axis="x", visible=False)
    axes[0].set_ylabel("NMI")
    handles, labels = [], []
    for panel in axes:
        for handle, label in zip(*panel.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    axes[-1].legend(handles, labels, frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle("Bag of features vs. CNN features (Tables A.3–A.6)")
    return fig


def draw_figures(run_dir, only=None):
    """The BoF figure of one study-01 run folder, from its ``records.jsonl`` alone: yields ``(name, figure)``
    (nothing when the run has no BoF records)."""
    records = results.read_records(run_dir)
    if only is not None:
        only = [only] if isinstance(only, str) else list(only)
        unknown = [name for name in only if name not in FIGURES]
        if unknown:
            raise InvalidParameter(f"Unknown figure name(s) {unknown}; the BoF rows draw {list(FIGURES)}.")
    if not len(_bof_records(records)):
        return
    for name in FIGURES:
        if only is None or name in only:
            yield name, figure_bof(records)
