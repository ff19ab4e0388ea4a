"""Study 3 (Guérin et al. 2021, Sections 5–6): JULE, MVnet and the multi-view comparison tables.

Per dataset, every method row of Tables B.7–B.10 (NMI, PUR, ACC): each single network clustered by JULE on
its features, BNet / WNet / LNet chosen among those, CC (JULE on the concatenated views), MVnet_fix, MVnet,
MVEC, MVEC_jule, MVSC, MVSC_jule, RMKKM, RMKKM_jule; MIX = (NMI + PUR + ACC) / 3 charts (Figures 11–14);
the per-class FM analysis of Figure 8 (Ward agglomerative on single views, UMist, the paper's three networks
and class 4); K-means on the representations of each stage (Figure 15) and their t-SNE (Figure 16). A method
that would exceed the memory budget is reported as N/A, as in the paper.

Why the single-network rows are JULE: Section 6.2 says the tables report "every pretrained CNN independently"
beside the multi-view methods, and the Figures 11–14 single-extractor bars (BNet, WNet, LNet) are compared with
the JULE-based DMVC methods. The printed values are not agglomerative ones: UMist VGG16 has NMI 0.891 in Table
B.10 but 0.689 with Ward in Table A.6 and Figure 8, and the single rows beat Ward (Tables A.3–A.6) everywhere
except Archi, MIT and Birds, the three datasets where Section 6.3.2 says JULE fails. So each single row is JULE
run on that network's features, the per-view fit that MVSC_jule, RMKKM_jule, MVEC_jule and MVnet's pretraining
use anyway. Ward on each view is kept as an extra, labelled row (``kind = "single_ward"``, setting
``clustering=Agg``); it never joins the paper's Appendix B rows.

References
----------
J. Guérin et al., Neurocomputing 423 (2021), Sections 5–6, Tables B.7–B.10, Figures 8, 11–16.
J. Yang, D. Parikh, D. Batra, "Joint Unsupervised Learning of Deep Representations and Image Clusters",
CVPR 2016.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from clustlib import features, metrics, paper, plots, results
from clustlib.cluster import MVEC, MVSC, RMKKM, cluster_features, memory_reason
from clustlib.deep.jule import JULE
from clustlib.deep.jule.mvnet import MVnet, concatenate_views, fit_view_jules
from clustlib.studies._common import check_datasets, check_estimator_params, check_seed, paper_method_name
from clustlib.studies.mvec_sweep import PIXELS, parse_view, validate_views

__all__ = ["MULTI_VIEW_METHODS", "FIGURE_8", "DatasetOutcome", "validate_params", "build_views", "run_dataset",
           "add_selected_networks", "log_outcome", "score_table", "kmeans_by_stage", "compare_with_paper",
           "compare_figure_8", "paper_figure_outcome", "figure_8_views", "figure_mix", "figure_8", "figure_15",
           "figure_16", "figure_8_data", "draw_figure_8", "figure_16_data", "draw_figure_16", "save_figure_data",
           "figure_names", "draw_figures"]

MULTI_VIEW_METHODS = ("CC", "MVnet_fix", "MVnet", "MVEC", "MVEC_jule", "MVSC", "MVSC_jule", "RMKKM", "RMKKM_jule")
_SCORES = ("nmi", "pur", "acc")
#: Figure 8 and Figure 16 of the paper: UMist; Figure 8's three networks (the best on UMist, InceptionResnet,
#: and the two worst, VGG16 and Densenet121, Section 4.2) and its highlighted class 4 (taken as label 4 of the
#: 0-based labels the paper's tutorial code uses; which of the 20 people that is, the paper does not say).
FIGURE_8 = {"dataset": "umist", "networks": ("inception_resnet_v2", "vgg16", "densenet121"), "class": 4}
_WARD = {"clustering": "Agg"}


@dataclass
class DatasetOutcome:
    """Scores and representations of one dataset.

    ``scores`` has one row per method: ``method, kind, nmi, pur, acc, mix, time_s, status`` (``"ok"`` or an
    ``"N/A: ..."`` reason); ``kind`` is ``"single"`` (JULE on one view: the paper's single-network rows),
    ``"single_ward"`` (Ward on one view, an extra row, also with ``fm`` and ``fm_class<c>`` of Figure 8's class),
    ``"selected"`` (BNet/WNet/LNet) or ``"multi"``. ``single_labels`` holds the Ward labels per view (Figure 8),
    ``single_features`` the view matrices, ``stages`` maps a stage name to its (N, D) representation.
    """

    dataset: str
    labels_true: np.ndarray
    scores: pd.DataFrame
    single_labels: dict = field(default_factory=dict)
    single_features: dict = field(default_factory=dict)
    stages: dict = field(default_factory=dict)


def validate_params(params: dict) -> None:
    """Every parameter of the notebook (datasets, subsets, seed, views, JULE overrides), checked before its kernel
    starts (``clustlib run`` calls this)."""
    check_datasets(params["datasets"], params["subsets"])
    check_seed(params["seed"])
    validate_views(params["views"])
    check_estimator_params(params["jule_params"], JULE(), {"n_clusters", "random_state", "device"},
                           "n_clusters, random_state and device")


def _score(labels_true, labels_pred) -> dict:
    values = metrics.evaluate(labels_true, labels_pred, metrics=_SCORES)
    values["mix"] = (values["nmi"] + values["pur"] + values["acc"]) / 3.0
    return values


def _ward_score(labels_true, labels_pred) -> dict:
    """Scores of a Ward row: NMI, PUR, ACC, MIX, and Figure 8's FM and per-class FM of its class."""
    c = FIGURE_8["class"]
    per_class = metrics.fm_per_class(labels_true, labels_pred)
    return {**_score(labels_true, labels_pred), "fm": metrics.fmi(labels_true, labels_pred),
            f"fm_class{c}": per_class.get(c, np.nan)}


def build_views(imageset, view_specs, *, batch_size: int = 32, device: str = "cpu", amp: bool = False) -> list:
    """The (N, D_j) matrix of every view (``"<extractor>:<layer>"`` or ``"pixels"``): one forward pass per network
    for all its layers, float32 unless ``amp`` (bfloat16 autocast, CUDA only; the paper's Keras ran float32)."""
    wanted: dict[str, list[str]] = {}
    for extractor, layer in map(parse_view, view_specs):
        if extractor != PIXELS:
            wanted.setdefault(extractor, []).append(layer)
    extracted = {name: features.extract(imageset, name, layers=tuple(layers), batch_size=batch_size, device=device,
                                        amp=amp, progress=False) for name, layers in wanted.items()}
    return [imageset.flat_pixels() if extractor == PIXELS else extracted[extractor][layer]
            for extractor, layer in map(parse_view, view_specs)]


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_dataset(imageset, view_specs, matrices, *, seed: int = 0, jule_params: dict | None = None,
                max_memory_gb: float = 16.0, device: str = "cpu", checkpoint=None) -> DatasetOutcome:
    """Every method of Tables B.7–B.10 on one dataset.

    Parameters
    ----------
    imageset : ImageSet
    view_specs : list of str
        View names (``"<extractor>:<layer>"`` or ``"pixels"``), one per matrix.
    matrices : list of float32 (N, D_j)
        The views' features.
    jule_params : dict, optional
        Extra JULE parameters (``eta``, ``epochs_per_period``...); defaults are JULE's.
    max_memory_gb : float
        Memory budget for the N×N kernels of MVSC/RMKKM (the paper's machine had 16 GB).
    device : str
        Where JULE (every view, CC) and MVnet train: ``"cpu"`` or ``"cuda[:i]"`` (the profile's ``device``).
    checkpoint : callable, optional
        ``checkpoint(method) -> path`` (e.g. ``lambda m: run.checkpoint_path(dataset=..., method=m, seed=seed)``):
        where the per-view JULEs (``"views"``), CC's JULE (``"CC"``) and MVnet (``"MVnet"``) checkpoint, so a
        rerun of an interrupted run resumes them; None trains without checkpoints.
    """
    def ckpt(method):
        return None if checkpoint is None else checkpoint(method)

    y, k = imageset.labels, imageset.n_classes
    budget = int(max_memory_gb * 2**30)
    rows, single_labels = [], {}

    def add(method, fn):
        out, seconds = _timed(fn)
        rows.append({"method": method, "kind": "multi", **_score(y, out), "time_s": seconds, "status": "ok"})

    def not_available(method, reason):
        rows.append({"method": method, "kind": "multi", **{m: np.nan for m in (*_SCORES, "mix")},
                     "time_s": np.nan, "status": reason})

    float_views = [np.asarray(X, dtype=np.float32) for X in matrices]
    jule_params = {**(jule_params or {}), "device": device}
    jules, t_jules = _timed(lambda: fit_view_jules(float_views, k, jule_params=jule_params, random_state=seed,
                                                        checkpoint_path=ckpt("views")))
    for spec, jule in zip(view_specs, jules):  # the paper's single-network rows: JULE on each CNN's features
        rows.append({"method": spec, "kind": "single", **_score(y, jule.labels_), "time_s": jule.fit_seconds_,
                     "status": "ok"})
    for spec, X in zip(view_specs, matrices):  # extra rows: Ward on each view (Tables A.3–A.6, Figure 8)
        clustering = cluster_features(X, "agglomerative", k, random_state=seed)
        single_labels[spec] = clustering.labels
        rows.append({"method": f"{spec} (Ward)", "kind": "single_ward", **_ward_score(y, clustering.labels),
                     "time_s": clustering.seconds, "status": "ok", "view": spec})
    embeddings = [j.embedding_ for j in jules]
    mvnet_holder = {}

    def fit_mvnet():
        model = MVnet(k, jule_params=jule_params, device=device, random_state=seed,
                      checkpoint_path=ckpt("MVnet")).fit(float_views, view_models=jules)
        mvnet_holder["model"] = model
        return model.labels_

    add("CC", lambda: JULE(k, random_state=seed, checkpoint_path=ckpt("CC"),
                           **jule_params).fit(concatenate_views(float_views)).labels_)
    add("MVnet", fit_mvnet)
    mvnet = mvnet_holder["model"]
    rows.append({"method": "MVnet_fix", "kind": "multi", **_score(y, mvnet.labels_fix_), "time_s": np.nan,
                 "status": "ok"})
    # MVEC's base partitions are the Ward rows above (the same agglomerative clustering of the same views):
    # merged, not recomputed; its time is theirs plus the consensus
    add("MVEC", lambda: MVEC(k, base="precomputed").fit([single_labels[spec] for spec in view_specs]).labels_)
    rows[-1]["time_s"] += sum(r["time_s"] for r in rows if r["kind"] == "single_ward")
    add("MVEC_jule", lambda: MVEC(k, base="precomputed").fit([j.labels_ for j in jules]).labels_)
    for name, cls in (("MVSC", MVSC), ("RMKKM", RMKKM)):
        reason = memory_reason(name, len(y), len(float_views), budget)
        if reason:
            not_available(name, reason)
            not_available(f"{name}_jule", reason)
            continue
        add(name, lambda cls=cls: cls(k, random_state=seed, max_memory_bytes=budget).fit(float_views).labels_)
        add(f"{name}_jule", lambda cls=cls: cls(k, random_state=seed, max_memory_bytes=budget).fit(embeddings).labels_)
    scores = pd.DataFrame(rows)
    scores.attrs["view_jule_seconds"] = t_jules
    return DatasetOutcome(imageset.name, y, scores, single_labels, dict(zip(view_specs, float_views)),
                          {"MVnet_fix": mvnet.embedding_fix_, "MVnet": mvnet.embedding_})


def add_selected_networks(outcomes: list[DatasetOutcome]) -> None:
    """Add BNet, WNet (best/worst single view by MIX on the dataset itself) and LNet rows to each outcome.

    The single views are the JULE rows (``kind == "single"``), as in the paper's Figures 11–14. LNet follows the
    leader (Guérin eq. 11): the view with the best mean MIX over the *other* datasets of the run; with a single
    dataset there is no other dataset and LNet is omitted.
    """
    mix_by_view = {o.dataset: o.scores[o.scores["kind"] == "single"].set_index("method")["mix"] for o in outcomes}
    for outcome in outcomes:
        singles = outcome.scores[outcome.scores["kind"] == "single"].set_index("method")
        picks = {"BNet": singles["mix"].idxmax(), "WNet": singles["mix"].idxmin()}
        others = [mix_by_view[o.dataset] for o in outcomes if o.dataset != outcome.dataset]
        if others:
            picks["LNet"] = pd.concat(others, axis=1).mean(axis=1).idxmax()
        extra = [{**singles.loc[view].to_dict(), "method": name, "kind": "selected", "view": view}
                 for name, view in picks.items()]
        outcome.scores = pd.concat([pd.DataFrame(extra), outcome.scores], ignore_index=True)
        leader = "LNet" if "LNet" in picks else "BNet"  # one dataset: no leader, the best view stands in
        outcome.stages = {f"{leader} features ({picks[leader]})": outcome.single_features[picks[leader]],
                          **outcome.stages}


def log_outcome(run: results.Run, outcome: DatasetOutcome, *, seed: int) -> None:
    """One record per (method, metric) with MIX included; N/A methods are not logged (the table shows why).

    A JULE single-network row is logged as its view with no setting (it joins Tables B.7–B.10); a Ward row as its
    view with setting ``clustering=Agg`` and Figure 8's ``fm`` and ``fm_class<c>`` as well (it joins Figure 8's
    inset table, never Appendix B); BNet/WNet/LNet with setting ``view=<the view picked>``.
    """
    extra = ("fm", f"fm_class{FIGURE_8['class']}")
    for row in outcome.scores.to_dict("records"):
        if row["status"] != "ok":
            continue
        view = row.get("view") if isinstance(row.get("view"), str) else None
        method, setting = row["method"], ({"view": view} if view else None)
        if row["kind"] == "single_ward":
            method, setting = view, _WARD
        names = (*_SCORES, "mix") + tuple(m for m in extra if pd.notna(row.get(m, np.nan)))
        run.log(dataset=outcome.dataset, method=method, setting=setting, seed=seed,
                metrics={m: row[m] for m in names}, time_s=None if pd.isna(row["time_s"]) else row["time_s"])


def score_table(outcomes: list[DatasetOutcome]) -> pd.DataFrame:
    """Tables B.7–B.10 in our run: rows = methods, columns = dataset × (NMI, PUR, ACC); N/A kept as text."""
    frames = []
    for o in outcomes:
        part = o.scores.set_index("method")[[*_SCORES, "status"]].copy()
        for m in _SCORES:
            part[m] = [f"{v:.3f}" if s == "ok" else "N/A" for v, s in zip(part[m], part["status"])]
        part = part.drop(columns="status")
        part.columns = pd.MultiIndex.from_product([[o.dataset], [m.upper() for m in _SCORES]])
        frames.append(part)
    return pd.concat(frames, axis=1)


def _is_ward(setting) -> bool:
    return results.parse_setting(setting).get("clustering") == _WARD["clustering"]


def compare_with_paper(records: pd.DataFrame) -> pd.DataFrame:
    """Our scores beside Tables B.7–B.10 where datasets overlap: the JULE single-network rows under the paper's
    network names, BNet/WNet/LNet and the multi-view rows; the Ward rows are left out (they are not the paper's)."""
    frame = records[records["metric"].isin(_SCORES) & ~records["setting"].map(_is_ward)].copy()
    frame["method"] = frame["method"].map(lambda m: paper_method_name(m.split(":")[0]))
    frame["setting"] = ""
    published = pd.concat([paper.load("guerin2021", t) for t in ("B.7", "B.8", "B.9", "B.10")])
    side = paper.compare(results.aggregate(frame), published)
    return side[side["paper"].notna()].reset_index(drop=True)


def compare_figure_8(records: pd.DataFrame) -> pd.DataFrame:
    """Our Ward rows beside the inset table of Figure 8 (UMist; InceptionResnet, VGG16, Densenet121; NMI, PUR, ACC,
    FM and the FM of class 4), where the run has UMist and those networks (empty otherwise)."""
    frame = records[records["setting"].map(_is_ward)].copy()
    frame["method"] = frame["method"].map(lambda m: paper_method_name(m.split(":")[0]))
    side = paper.compare(results.aggregate(frame), paper.load("guerin2021", "Figure 8"))
    return side[side["paper"].notna()].reset_index(drop=True)


def paper_figure_outcome(outcomes: list[DatasetOutcome]) -> DatasetOutcome:
    """The dataset of Figures 8 and 16 (UMist) when the run has it, else the run's first dataset."""
    return next((o for o in outcomes if o.dataset == FIGURE_8["dataset"]), outcomes[0])


def figure_8_views(outcome: DatasetOutcome) -> tuple[list[str], int | None]:
    """Figure 8's views and highlighted class: the paper's three networks and class 4 where the run has them (on any
    dataset), else the first three views and ``None`` (the class whose FM varies most across them)."""
    by_network = {spec.split(".")[0]: spec for spec in outcome.single_labels}
    if all(n in by_network for n in FIGURE_8["networks"]):
        views = [by_network[n] for n in FIGURE_8["networks"]]
        return views, FIGURE_8["class"] if FIGURE_8["class"] in set(outcome.labels_true.tolist()) else None
    return list(outcome.single_labels)[:3], None


def _method_label(method: str, view=None) -> str:
    """A method as the paper prints it (``MVEC_jule`` -> MVEC$_{jule}$), a selected network with its view."""
    from clustlib.studies.layer_grid import architecture_label

    base, sep, sub = method.partition("_")
    label = f"{base}$_{{{sub}}}$" if sep and base in {"MVnet", "MVEC", "MVSC", "RMKKM"} else method
    if isinstance(view, str) and view:
        layer = f" {view.split(':')[1]}" if ":" in view else ""
        label += f" ({architecture_label(view)}{layer})"
    return label


def _view_label(view: str) -> str:
    from clustlib.studies.layer_grid import architecture_label

    return architecture_label(view) + (f" {view.split(':')[1]}" if ":" in view else "")


def _paper_mix(dataset: str) -> dict:
    """MIX = (NMI + PUR + ACC) / 3 of each method of Tables B.7–B.10 on ``dataset`` (empty if not a paper dataset)."""
    published = pd.concat([paper.load("guerin2021", t) for t in ("B.7", "B.8", "B.9", "B.10")])
    wide = published[published["dataset"] == dataset].pivot_table(index="method", columns="metric", values="value")
    if wide.empty or not set(_SCORES) <= set(wide.columns):
        return {}
    return wide[list(_SCORES)].mean(axis=1, skipna=False).dropna().to_dict()


def figure_mix(outcome, ax=None):
    """Figures 11–14 style: MIX per method; purple the single extractors (BNet/WNet/LNet), grey the multi-view
    methods, orange the best multi-view one; the paper's MIX (Tables B.7–B.10) as black diamonds where the dataset
    is one of the paper's. ``outcome`` is a :class:`DatasetOutcome` or its scores table (with a ``dataset``
    column)."""
    scores = outcome.scores.assign(dataset=outcome.dataset) if isinstance(outcome, DatasetOutcome) else outcome
    dataset = scores["dataset"].iloc[0]
    frame = scores[(scores["status"] == "ok") & scores["kind"].isin(["selected", "multi"])].reset_index(drop=True)
    views = frame["view"] if "view" in frame else pd.Series([None] * len(frame))
    frame["label"] = [_method_label(m, v) for m, v in zip(frame["method"], views)]
    best_multi = frame.loc[frame["kind"] == "multi", "mix"].idxmax()
    colours = ["#7b3294" if kind == "selected" else ("#e66101" if i == best_multi else "#999999")
               for i, kind in zip(frame.index, frame["kind"])]
    fig, ax = (plt.subplots(figsize=(5.6, 0.32 * len(frame) + 1.3), layout="constrained") if ax is None
               else (ax.figure, ax))
    ax.barh(np.arange(len(frame)), frame["mix"], color=colours)
    ax.set_yticks(np.arange(len(frame)), frame["label"])
    ax.invert_yaxis()
    published = _paper_mix(dataset)
    paper_names = {"BNet": "BNet", "WNet": "WNet", "LNet": "LNet"}
    marks = [(i, published[paper_names.get(m, m)]) for i, m in enumerate(frame["method"])
             if paper_names.get(m, m) in published]
    if marks:
        ax.plot([v for _, v in marks], [i for i, _ in marks], "D", color="black", markersize=4,
                label="paper (Tables B.7–B.10)")
        ax.legend(frameon=False, fontsize="x-small", loc="lower right")
    ax.set_xlabel("MIX = (NMI + PUR + ACC) / 3")
    ax.set_title(f"{dataset}: MIX per method (Figs. 11–14)\npurple: single extractor, grey: multi-view, "
                 "orange: best", fontsize="small")
    for y_pos, value in enumerate(frame["mix"]):
        ax.text(value + 0.005, y_pos, f"{value:.3f}", va="center", fontsize="x-small")
    ax.set_xlim(0, min(1.1, max([frame["mix"].max(), *[v for _, v in marks]]) + 0.12))
    ax.grid(axis="y", visible=False)
    return fig


def _tsne(X, seed: int, rows: np.ndarray) -> np.ndarray:
    """2-D t-SNE of ``X[rows]`` (PCA to 50 dims first when wider)."""
    X = np.asarray(X, dtype=np.float32)[rows]
    if X.shape[1] > 50:  # both capped below N: fewer points raise otherwise (full-path test)
        X = PCA(n_components=min(50, len(X)), random_state=seed).fit_transform(X)
    return TSNE(n_components=2, init="pca", random_state=seed, perplexity=min(30, len(X) - 1)).fit_transform(X)


def _sample_rows(n: int, seed: int, max_points: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=min(max_points, n), replace=False))


def figure_8_data(outcome: DatasetOutcome, *, seed: int = 0, max_points: int = 1000) -> tuple[pd.DataFrame, dict]:
    """Figure 8's numbers: the table (Ward NMI, PUR, ACC, FM and the FM of the highlighted class per view) and
    the arrays its panels draw: ``tsne_<i>`` (n, 2) per view, ``labels`` (n,) of the drawn points, ``highlight``.

    The views and class are the paper's (InceptionResnet, VGG16, Densenet121; class 4) where the run has those
    networks (:func:`figure_8_views`); otherwise the first three views and the class whose per-class FM varies most
    across them: the views are complementary where one clusters a class well and another does not.
    """
    views, highlight = figure_8_views(outcome)
    y = outcome.labels_true
    per_class = {v: metrics.fm_per_class(y, outcome.single_labels[v]) for v in views}
    if highlight is None:
        spread = pd.DataFrame(per_class).max(axis=1) - pd.DataFrame(per_class).min(axis=1)
        highlight = int(spread.idxmax())
    table = pd.DataFrame([{"view": v, **{m.upper(): metrics.METRICS[m](y, outcome.single_labels[v]) for m in
                                         ("nmi", "pur", "acc")},
                           "FM": metrics.fmi(y, outcome.single_labels[v]), f"FM class {highlight}": per_class[v][highlight]}
                          for v in views])
    idx = _sample_rows(len(y), seed, max_points)
    arrays = {f"tsne_{i}": _tsne(outcome.single_features[v], seed, idx) for i, v in enumerate(views)}
    return table, {**arrays, "labels": y[idx], "highlight": np.asarray(highlight)}


def draw_figure_8(dataset: str, table: pd.DataFrame, arrays: dict):
    """Figure 8's panels: per view, the t-SNE of its features with the highlighted class in orange."""
    highlight = int(arrays["highlight"])
    views = list(table["view"])
    mask = arrays["labels"] == highlight
    fig, axes = plt.subplots(1, len(views), figsize=(3.2 * len(views), 3.4), layout="constrained")
    for i, (ax, v) in enumerate(zip(np.atleast_1d(axes), views)):
        emb = arrays[f"tsne_{i}"]
        ax.scatter(emb[~mask, 0], emb[~mask, 1], s=3, c="#bbbbbb", linewidths=0, label="other classes")
        ax.scatter(emb[mask, 0], emb[mask, 1], s=5, c="#e66101", linewidths=0, label=f"class {highlight}")
        ax.set_title(f"{_view_label(v)}\nFM class {highlight} = {table[f'FM class {highlight}'].iloc[i]:.2f}, "
                     f"NMI = {table['NMI'].iloc[i]:.2f}", fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.legend(*np.atleast_1d(axes)[0].get_legend_handles_labels(), frameon=False, fontsize="x-small",
               loc="outside lower center", ncols=2, markerscale=3)
    fig.suptitle(f"{dataset}: complementary views, Ward agglomerative, t-SNE (Fig. 8)")
    return fig


def figure_8(outcome: DatasetOutcome, *, seed: int = 0, max_points: int = 1000):
    """Figure 8 from an outcome: (figure, table); see :func:`figure_8_data` and :func:`draw_figure_8`."""
    table, arrays = figure_8_data(outcome, seed=seed, max_points=max_points)
    return draw_figure_8(outcome.dataset, table, arrays), table


def kmeans_by_stage(outcomes: list[DatasetOutcome], *, seed: int = 0) -> pd.DataFrame:
    """Figure 15's numbers: NMI of K-means (n_init=10) on each stage's representation, per dataset."""
    rows = []
    for o in outcomes:
        k = len(np.unique(o.labels_true))
        for stage, X in o.stages.items():
            with threadpool_limits(limits=1):  # one BLAS and OpenMP thread: see layer_grid._one_blas_thread
                labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(np.asarray(X, dtype=np.float64))
            rows.append({"dataset": o.dataset, "stage": stage.split(" (")[0], "nmi": metrics.nmi(o.labels_true, labels)})
    return pd.DataFrame(rows)


def figure_15(stage_scores: pd.DataFrame, ax=None):
    """Figure 15: K-means NMI on the representations of the DMVC stages (LNet features, MVnet_fix, MVnet), per
    dataset."""
    stages = list(dict.fromkeys(stage_scores["stage"]))
    fig = plots.bar_mean_std(stage_scores.assign(stage=stage_scores["stage"].map(_method_label)), x="dataset",
                             y="nmi", hue="stage", ax=ax, ylabel="NMI (K-means)", hue_order=[_method_label(s) for s in
                                                                                            stages],
                             title="K-means on each stage's representation (Fig. 15)", spread="seeds")
    fig.axes[0].set_ylim(*plots.PAPER_YLIM)
    fig.axes[0].tick_params(axis="x", rotation=0)
    return fig


def figure_16_data(outcome: DatasetOutcome, *, seed: int = 0, max_points: int = 1000) -> tuple[list[str], dict]:
    """Figure 16's arrays: the stage names and ``tsne_<i>`` (n, 2) per stage, ``labels`` (n,) of the points."""
    idx = _sample_rows(len(outcome.labels_true), seed, max_points)
    stages = list(outcome.stages)
    arrays = {f"tsne_{i}": _tsne(outcome.stages[s], seed, idx) for i, s in enumerate(stages)}
    return stages, {**arrays, "labels": outcome.labels_true[idx]}


def draw_figure_16(dataset: str, stages: list[str], arrays: dict):
    """Figure 16's panels: the t-SNE of each stage's representation, coloured by class."""
    fig, axes = plt.subplots(1, len(stages), figsize=(3.2 * len(stages), 3.3), layout="constrained")
    for i, (ax, stage) in enumerate(zip(np.atleast_1d(axes), stages)):
        emb = arrays[f"tsne_{i}"]
        ax.scatter(emb[:, 0], emb[:, 1], s=3, c=arrays["labels"], cmap="tab20", linewidths=0)
        name, _, view = stage.partition(" (")
        ax.set_title(_method_label(name) + (f"\n({_view_label(view.rstrip(')'))})" if view else ""), fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{dataset}: t-SNE across the DMVC pipeline, coloured by class (Fig. 16)")
    return fig


def figure_16(outcome: DatasetOutcome, *, seed: int = 0, max_points: int = 1000):
    """Figure 16 from an outcome; see :func:`figure_16_data` and :func:`draw_figure_16`."""
    return draw_figure_16(outcome.dataset, *figure_16_data(outcome, seed=seed, max_points=max_points))


def save_figure_data(run, outcomes: list[DatasetOutcome], *, seed: int = 0, max_points: int = 1000) -> dict:
    """Keep in the run folder what Figures 8 and 11–16 need beyond the records: the score tables
    (``scores``), Figure 15's K-means NMI (``stage_scores``), Figure 8's table and t-SNE (``figure8``) and Figure
    16's t-SNE (``figure16``) of the paper's figure dataset. Returns ``{"fm_table", "stage_scores", "dataset"}``
    for the notebook's tables."""
    scores = pd.concat([o.scores.assign(dataset=o.dataset) for o in outcomes], ignore_index=True)
    results.save_table(run.run_dir, "scores", scores.drop(columns=[c for c in scores if c.startswith("fm")]))
    stage_scores = kmeans_by_stage(outcomes, seed=seed)
    results.save_table(run.run_dir, "stage_scores", stage_scores)
    chosen = paper_figure_outcome(outcomes)
    fm_table, arrays = figure_8_data(chosen, seed=seed, max_points=max_points)
    results.save_table(run.run_dir, "figure8", fm_table.assign(dataset=chosen.dataset))
    results.save_arrays(run.run_dir, "figure8", **arrays)
    stages, arrays16 = figure_16_data(chosen, seed=seed, max_points=max_points)
    results.save_table(run.run_dir, "figure16", pd.DataFrame({"dataset": chosen.dataset, "stage": stages}))
    results.save_arrays(run.run_dir, "figure16", **arrays16)
    return {"fm_table": fm_table, "stage_scores": stage_scores, "dataset": chosen.dataset}


def figure_names(datasets, figure_dataset: str) -> list[str]:
    """The figures of a run on ``datasets`` whose Figures 8 and 16 show ``figure_dataset``."""
    return ([f"fig11_14_mix_{d}" for d in datasets]
            + [f"fig8_views_{figure_dataset}", "fig15_kmeans_by_stage", f"fig16_tsne_{figure_dataset}"])


def draw_figures(run_dir, only=None):
    """Figures 8 and 11–16 of one run folder, from the tables and arrays :func:`save_figure_data` kept there:
    yields ``(name, figure)`` for each name of :func:`figure_names` (or of ``only``)."""
    from clustlib.studies.layer_grid import select_figures

    scores = results.load_table(run_dir, "scores")
    fm_table = results.load_table(run_dir, "figure8")
    figure_dataset = fm_table["dataset"].iloc[0]
    names = figure_names(list(dict.fromkeys(scores["dataset"])), figure_dataset)
    for name in select_figures(names, only):
        if name.startswith("fig11_14_mix_"):
            yield name, figure_mix(scores[scores["dataset"] == name[len("fig11_14_mix_"):]])
        elif name.startswith("fig8_views_"):
            yield name, draw_figure_8(figure_dataset, fm_table.drop(columns="dataset"),
                                      results.load_arrays(run_dir, "figure8"))
        elif name == "fig15_kmeans_by_stage":
            yield name, figure_15(results.load_table(run_dir, "stage_scores"))
        else:
            yield name, draw_figure_16(figure_dataset, list(results.load_table(run_dir, "figure16")["stage"]),
                                       results.load_arrays(run_dir, "figure16"))
