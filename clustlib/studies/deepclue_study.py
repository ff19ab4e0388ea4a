"""Study 4 (Huang et al. 2022): DeepCluE's main results and layer ablation with
:class:`clustlib.deep.ContrastiveClustering` and :func:`clustlib.cluster.multilayer_ensemble`.

The loops behind ``notebooks/04_deepclue.ipynb``: each (dataset, seed) trains one Contrastive Clustering (CC)
network, then clusters the same trained network four ways, each logged under the paper's row label:

* ``"CC"``: the argmax of the cluster head g_C (CC's own labels; Tables II-IV, and the "Using last layer of
  g_C" row of Tables V-VII, whose numbers equal CC's in the paper);
* ``"Using last layer of g_I"``: k-means (10 restarts) on fc8, the L2-normalised instance projection;
* ``"DeepCluE"``: the entropy-weighted multi-layer ensemble over the six layers :data:`~clustlib.deep.
  contrastive.DEEPCLUE_LAYERS` (M' U-SPEC base clusterings per layer, transfer cut of the weighted bipartite graph;
  Tables II-IV, and "Using multiple layers" in Tables V-VII);
* ``"DeepCluE unweighted"``: the same ensemble with every cluster weighing 1 (the paper's weighting ablation;
  not in its tables).

Figures: the ablation bars with the paper's values as dashes, the NMI of every base clustering per layer with
the consensus as a line, and CC's training losses from ``history_``.

Choices the paper leaves open, made here and stated in the notebook:

* Array datasets (Fashion-MNIST, CIFAR, digits) are fed at their own size, grey repeated to 3 channels, pixels
  in [0, 1]; CC resizes every crop and the test image to ``image_size`` (224 in the paper), as its transforms do
  on the PIL image, which keeps 60-100k images on the device. Image trees (ImageNet-10, ImageNet-Dogs,
  Tiny-ImageNet) are decoded at ``image_size``.
* The six layers are conv4_x, conv5_x, fc6 (backbone), fc7, fc8 (g_I) and fc9 (g_C) (implementation notes 2.3:
  the paper names the counts, not the backbone layers); U-SPEC uses the authors' USPEC code defaults (p =
  1000, Knn = 5, Euclidean).
* The paper reports no number of runs; seeds are a parameter.

References
----------
D. Huang, D.-H. Chen, X. Chen, C.-D. Wang, J.-H. Lai, "DeepCluE: Enhanced Deep Clustering via Multi-Layer
Ensembles in Neural Networks", arXiv:2206.00359, 2022 (IEEE TETCI 8(2), 2024).
Y. Li et al., "Contrastive Clustering", AAAI 2021. Code: https://github.com/Yunfan-Li/Contrastive-Clustering
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.ticker import MaxNLocator
from sklearn.cluster import KMeans
from tqdm.auto import tqdm

from clustlib import data, metrics, paper, plots, results
from clustlib.errors import InvalidParameter
from clustlib.studies._common import (check_datasets, check_estimator_params, check_list, check_seeds,
                                     load_image_trees_at, summary_mean_std)

__all__ = ["METHOD", "CC_METHOD", "G_I_METHOD", "UNWEIGHTED_METHOD", "METHODS", "ABLATION_NAMES", "DATASETS",
           "COLOR_SETTINGS", "DeepCluERuns", "validate", "validate_params", "estimator_kwargs", "ensemble_kwargs",
           "prepare_inputs",
           "load_inputs", "run_grid", "summary", "compare_with_paper", "figure_ablation", "figure_base_clusterings",
           "figure_training_curves"]

#: Our method names in the records (the first three are the paper's row labels of Tables II-IV / V-VII).
METHOD = "DeepCluE"
CC_METHOD = "CC"
G_I_METHOD = "Using last layer of g_I"
UNWEIGHTED_METHOD = "DeepCluE unweighted"
METHODS = (CC_METHOD, G_I_METHOD, METHOD, UNWEIGHTED_METHOD)
#: Our method -> its row label in the ablation Tables V-VII (the unweighted ensemble has none).
ABLATION_NAMES = {G_I_METHOD: "Using last layer of g_I", CC_METHOD: "Using last layer of g_C",
                  METHOD: "Using multiple layers"}
#: Datasets the study runs (the paper's six, plus scikit-learn's digits for tests).
DATASETS = ("fashion_mnist", "cifar10", "cifar100_20", "imagenet10", "imagenet_dogs", "tiny_imagenet", "digits",
            "mnist")
#: Datasets with CC's ImageNet augmentation (colour strength 1.0 and Gaussian blur); the others use s = 0.5.
COLOR_SETTINGS = {"imagenet10": {"color_strength": 1.0, "blur": True},
                  "imagenet_dogs": {"color_strength": 1.0, "blur": True}}
_RESERVED = {"n_clusters", "random_state", "device", "progress", "checkpoint_path"}
_ENSEMBLE_KEYS = ("clusterings_per_layer", "pca_dim", "n_representatives", "knn")


class DeepCluERuns(NamedTuple):
    """What :func:`run_grid` returns.

    Attributes
    ----------
    scores : DataFrame
        One row per (dataset, method, seed): ``dataset, method, seed, nmi, ari, acc, n_clusters_found,
        seconds`` (``seconds``: CC's training for "CC", the clustering step for the others).
    base : DataFrame
        One row per base clustering of the weighted ensemble: ``dataset, seed, layer, k, nmi``.
    history : DataFrame
        One row per epoch: ``dataset, seed, epoch, loss, instance_loss, cluster_loss, entropy_term``.
    """

    scores: pd.DataFrame
    base: pd.DataFrame
    history: pd.DataFrame


def estimator_kwargs(dataset: str, overrides: dict | None = None) -> dict:
    """The :class:`~clustlib.deep.ContrastiveClustering` arguments of ``dataset``: CC's defaults (ResNet34,
    224 px, 1000 epochs, batch 256, Adam 3e-4), its ImageNet augmentation (:data:`COLOR_SETTINGS`) where it
    applies, then ``overrides``. Without ``n_clusters``, ``random_state``, ``device``."""
    if dataset not in DATASETS:
        raise InvalidParameter(f"No DeepCluE setting for dataset {dataset!r}; supported: {sorted(DATASETS)}.")
    return {**COLOR_SETTINGS.get(dataset, {}), **dict(overrides or {})}


def ensemble_kwargs(clusterings_per_layer: int = 5, pca_dim: int = 1000, n_representatives: int = 1000,
                    knn: int = 5) -> dict:
    """The :func:`~clustlib.cluster.multilayer_ensemble` settings (paper: M' = 5, PCA to 1000, p = 1000,
    Knn = 5)."""
    return dict(clusterings_per_layer=clusterings_per_layer, pca_dim=pca_dim, n_representatives=n_representatives,
                knn=knn)


def _check_positive_int(name: str, value, low: int, fix: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InvalidParameter(f"{name} must be an integer >= {low}, got {value!r}; {fix}")


def validate(datasets, seeds, *, estimator_params: dict | None = None, subsets: dict | None = None,
             layers=None, clusterings_per_layer: int = 5, pca_dim: int = 1000, n_representatives: int = 1000,
             knn: int = 5) -> None:
    """Known datasets and layers, seeds, ensemble settings, and CC arguments its own :meth:`~clustlib.deep.
    ContrastiveClustering.check_params` accepts for every dataset; all checked before any data is loaded."""
    from clustlib.deep.contrastive import CC_LAYERS, DEEPCLUE_LAYERS, ContrastiveClustering

    check_list("datasets", datasets, DATASETS)
    check_seeds(seeds)
    layers = list(DEEPCLUE_LAYERS) if layers is None else layers
    check_list("layers", layers, CC_LAYERS)
    if len(set(layers)) != len(layers):
        raise InvalidParameter(f"layers must not repeat a name, got {layers!r}.")
    _check_positive_int("clusterings_per_layer", clusterings_per_layer, 1, "DeepCluE uses 5.")
    _check_positive_int("pca_dim", pca_dim, 1, "DeepCluE reduces layers wider than 1000 to 1000.")
    _check_positive_int("n_representatives", n_representatives, 2, "U-SPEC's default is 1000.")
    _check_positive_int("knn", knn, 1, "U-SPEC's default is 5.")
    subsets = {} if subsets is None else subsets
    unknown = [d for d in subsets if d not in datasets]
    if unknown:
        raise InvalidParameter(f"subsets names datasets that are not in datasets: {unknown}; datasets are "
                               f"{list(datasets)}.")
    estimator_params = check_estimator_params(estimator_params, ContrastiveClustering(2), _RESERVED,
                                              "n_clusters, random_state and device")
    for dataset in datasets:
        info = data.dataset_info(dataset)
        n = subsets.get(dataset) or info["splits"].get("all") or info.get("paper_n_samples") or 10_000
        shape_only = np.broadcast_to(np.float32(0), (n, 3, 32, 32))  # no memory; only N matters to the checks
        ContrastiveClustering(info["n_classes"], **estimator_kwargs(dataset, estimator_params)).check_params(
            shape_only)
        k = info["n_classes"]
        if min(n_representatives, n) < k:
            raise InvalidParameter(f"{dataset}: n_representatives={n_representatives} (capped at N = {n}) must be at "
                                   f"least n_clusters = {k}; raise n_representatives.")


def validate_params(params: dict) -> None:
    """Every parameter of the notebook, checked by :func:`validate` before its kernel starts (``clustlib run``
    calls this)."""
    check_datasets(params["datasets"], params["subsets"])
    check_baselines(params.get("baselines", []))
    validate(params["datasets"], params["seeds"], estimator_params=params["estimator_params"],
             subsets=params["subsets"], layers=params["layers"], **{key: params[key] for key in _ENSEMBLE_KEYS})


def prepare_inputs(imageset, size: int | None = None) -> np.ndarray:
    """CC's input for one ImageSet: resized to ``size`` (:func:`clustlib.data.resize_images`; None keeps the
    images' own size), channels first, pixels / 255 in [0, 1] (CC's ``ToTensor``), grey repeated to 3 channels.

    Returns
    -------
    ndarray of float32, shape (N, 3, S, S)
    """
    images = imageset.images if size is None else data.resize_images(imageset.images, size)  # (N, S, S, C) uint8
    x = images.transpose(0, 3, 1, 2) / np.float32(255)
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    return np.ascontiguousarray(x, dtype=np.float32)


def load_inputs(datasets, subsets: dict | None = None, *, image_size: int = 224, seed: int = 0, root=None) -> dict:
    """``{name: ImageSet}``, each cut to a stratified subset where ``subsets[name]`` > 0; image trees
    (ImageNet-10, ImageNet-Dogs, Tiny-ImageNet) are decoded at ``image_size``, array datasets keep their size."""
    return load_image_trees_at({}, datasets, subsets, seed=seed, root=root, default_size=image_size)


def _scores(labels_true, labels) -> dict:
    return metrics.evaluate(labels_true, labels, metrics=("nmi", "ari", "acc"))


#: Tables II-IV baselines this project runs on raw pixels: method name -> (paper row, Table 3 clustering of DAC).
BASELINES = {"kmeans_pixels": ("K-means", "kmeans"), "spectral_pixels": ("SC", "sc"),
             "agglomerative_pixels": ("AC", "ac"), "nmf_pixels": ("NMF", "nmf")}
#: Baselines whose result does not depend on the seed (deterministic initialisation or none): one run each.
SEEDLESS_BASELINES = frozenset({"agglomerative_pixels", "nmf_pixels"})


def check_baselines(baselines) -> None:
    """Every name in ``baselines`` is a key of :data:`BASELINES`."""
    bad = [b for b in baselines if b not in BASELINES]
    if bad:
        raise InvalidParameter(f"Unknown DeepCluE baseline(s) {bad}; valid: {sorted(BASELINES)}.")


def baseline_labels(imageset, baseline: str, seed: int) -> np.ndarray:
    """One Tables II-IV baseline on the raw pixels of ``imageset`` (flattened, / 255): K-means (10 restarts),
    SC (10-NN graph), AC (Ward; on a 10-NN connectivity graph above 20,000 images, where full Ward needs an
    N^2/2 distance matrix: 19.6 GB at N = 70,000) or NMF (argmax of the K coefficients); int64 (N,)."""
    from clustlib.studies.dac_study import cluster_label_features

    check_baselines([baseline])
    X = imageset.flat_pixels().astype(np.float64) / 255.0
    return cluster_label_features(X, BASELINES[baseline][1], imageset.n_classes, seed=seed)


def run_baselines(run: results.Run, imagesets: dict, baselines, seeds, *, progress: bool = True) -> pd.DataFrame:
    """Every dataset x baseline x seed (one seed for :data:`SEEDLESS_BASELINES`), logged like the CC rows."""
    check_baselines(baselines)
    rows = []
    jobs = [(d, b, s) for d in imagesets for b in baselines for s in (seeds[:1] if b in SEEDLESS_BASELINES else seeds)]
    for dataset, baseline, seed in tqdm(jobs, desc="baselines", disable=not progress):
        t0 = time.perf_counter()
        labels = baseline_labels(imagesets[dataset], baseline, seed)
        seconds = time.perf_counter() - t0
        scores = _scores(imagesets[dataset].labels, labels)
        run.log(dataset=dataset, method=baseline, setting={"input": "raw pixels"}, seed=seed, metrics=scores,
                time_s=seconds)
        rows.append({"dataset": dataset, "method": baseline, "seed": seed, **scores, "seconds": seconds})
    return pd.DataFrame(rows, columns=["dataset", "method", "seed", "nmi", "ari", "acc", "seconds"])


def compare_baselines_with_paper(frame: pd.DataFrame, *, stand_ins: dict | None = None) -> pd.DataFrame:
    """Our baselines beside Tables II-IV's rows of the same name (fractions)."""
    stand_ins = dict(stand_ins or {})
    ours = frame.melt(id_vars=["dataset", "method", "seed"], value_vars=["nmi", "ari", "acc"], var_name="metric")
    ours["method"] = ours["method"].map(lambda m: BASELINES[m][0])
    ours["setting"] = ""
    aggregated = results.aggregate(ours)
    aggregated.insert(0, "ours_dataset", aggregated["dataset"])
    aggregated["dataset"] = aggregated["dataset"].map(lambda d: stand_ins.get(d, d))
    published = pd.concat([paper.load("deepclue2022", t) for t in ("II", "III", "IV")], ignore_index=True)
    side = paper.compare(aggregated, published)
    side.insert(0, "ours_dataset", aggregated["ours_dataset"].to_numpy())
    return side[side["paper"].notna()].reset_index(drop=True)


def run_grid(run: results.Run, imagesets: dict, seeds, *, estimator_params: dict | None = None, layers=None,
             clusterings_per_layer: int = 5, pca_dim: int = 1000, n_representatives: int = 1000, knn: int = 5,
             device: str = "cpu", progress: bool = True) -> DeepCluERuns:
    """Train CC once per dataset x seed and log the four clusterings of :data:`METHODS` (NMI, ARI, ACC).

    The ensemble and k-means use the seed as their random state. See :class:`DeepCluERuns`.
    """
    from clustlib.cluster import multilayer_ensemble
    from clustlib.deep.contrastive import DEEPCLUE_LAYERS, ContrastiveClustering

    layers = tuple(layers or DEEPCLUE_LAYERS)
    ens = ensemble_kwargs(clusterings_per_layer, pca_dim, n_representatives, knn)
    rows, base_rows, history = [], [], []
    inputs = {}
    jobs = [(d, seed) for d in imagesets for seed in seeds]
    for dataset, seed in tqdm(jobs, desc="DeepCluE", disable=not progress):
        imageset = imagesets[dataset]
        if dataset not in inputs:
            inputs[dataset] = prepare_inputs(imageset)
        X, y, k = inputs[dataset], imageset.labels, imageset.n_classes
        kwargs = estimator_kwargs(dataset, estimator_params)
        model = ContrastiveClustering(k, **kwargs, random_state=seed, device=device, progress=False)
        resolved = model.check_params(X)
        t0 = time.perf_counter()
        model.fit(X)
        fit_s = time.perf_counter() - t0
        feats = model.layer_features(X, tuple(dict.fromkeys((*layers, "fc8"))))
        desc = f"{resolved['backbone']}, {resolved['image_size']} px, {model.epochs} epochs"
        outcomes = [(CC_METHOD, model.labels_, fit_s, f"{desc}; argmax of g_C")]
        t0 = time.perf_counter()
        km = KMeans(k, n_init=10, random_state=seed).fit_predict(feats["fc8"])
        outcomes.append((G_I_METHOD, km, time.perf_counter() - t0, f"{desc}; k-means (10 restarts) on fc8"))
        for method, weighted in ((METHOD, True), (UNWEIGHTED_METHOD, False)):
            t0 = time.perf_counter()
            result = multilayer_ensemble([feats[name] for name in layers], k, **ens, weighted=weighted,
                                         random_state=seed)
            note = (f"{desc}; layers {','.join(layers)}, M'={clusterings_per_layer}, p={n_representatives}, "
                    f"Knn={knn}, {'entropy-weighted' if weighted else 'unweighted'} clusters")
            outcomes.append((method, result.labels, time.perf_counter() - t0, note))
            if weighted:
                for m in range(result.base_labels.shape[1]):
                    base_rows.append({"dataset": dataset, "seed": seed,
                                      "layer": layers[result.layer_of_clustering[m]], "k": int(result.base_ks[m]),
                                      "nmi": metrics.evaluate(y, result.base_labels[:, m], metrics=("nmi",))["nmi"]})
        for method, labels, seconds, note in outcomes:
            scores = _scores(y, labels)
            run.log(dataset=dataset, method=method, seed=seed, metrics=scores, time_s=seconds, note=note)
            rows.append({"dataset": dataset, "method": method, "seed": seed, **scores,
                         "n_clusters_found": int(np.unique(labels).size), "seconds": seconds})
        h = model.history_
        history += [{"dataset": dataset, "seed": seed, "epoch": e + 1, "loss": a, "instance_loss": b,
                     "cluster_loss": c, "entropy_term": d}
                    for e, (a, b, c, d) in enumerate(zip(h.losses, h.instance_losses, h.cluster_losses,
                                                         h.entropy_terms))]
    history_frame = pd.DataFrame(history, columns=["dataset", "seed", "epoch", "loss", "instance_loss",
                                                   "cluster_loss", "entropy_term"])
    return DeepCluERuns(pd.DataFrame(rows), pd.DataFrame(base_rows, columns=["dataset", "seed", "layer", "k", "nmi"]),
                        history_frame)


def summary(scores: pd.DataFrame, by=("dataset", "method")) -> pd.DataFrame:
    """NMI, ARI, ACC as mean ± SD over seeds, fractions (as the paper prints), with the mean seconds per step."""
    return summary_mean_std(scores, by, seconds="seconds", seconds_label="s", decimals=1)


_TABLES = {"main": ("II", "III", "IV"), "ablation": ("V", "VI", "VII")}


def compare_with_paper(scores: pd.DataFrame, tables: str = "main", *, stand_ins: dict | None = None) -> pd.DataFrame:
    """Our mean ± std beside the paper's where datasets and methods overlap; fractions.

    ``"main"``: Tables II-IV (NMI, ARI, ACC) for "DeepCluE" and "CC"; ``"ablation"``: Tables V-VII with our
    methods renamed by :data:`ABLATION_NAMES` (CC -> "Using last layer of g_C", DeepCluE -> "Using multiple
    layers"). ``stand_ins`` maps one of our datasets to the paper's dataset it stands in for; such rows keep our
    name in ``ours_dataset`` and are not a reproduction.
    """
    if tables not in _TABLES:
        raise InvalidParameter(f"tables must be 'main' (II-IV) or 'ablation' (V-VII), got {tables!r}.")
    stand_ins = dict(stand_ins or {})
    frame = scores.copy()
    if tables == "ablation":
        frame = frame[frame["method"].isin(list(ABLATION_NAMES))]
        frame["method"] = frame["method"].map(ABLATION_NAMES)
    else:
        frame = frame[frame["method"].isin([METHOD, CC_METHOD])]
    frame["setting"] = ""
    ours = frame.melt(id_vars=["dataset", "method", "setting", "seed"], value_vars=["nmi", "ari", "acc"],
                      var_name="metric")
    aggregated = results.aggregate(ours)
    aggregated.insert(0, "ours_dataset", aggregated["dataset"])
    aggregated["dataset"] = aggregated["dataset"].map(lambda d: stand_ins.get(d, d))
    published = pd.concat([paper.load("deepclue2022", t) for t in _TABLES[tables]], ignore_index=True)
    published["setting"] = published["setting"].fillna("")
    aggregated["setting"] = aggregated["setting"].fillna("")
    side = paper.compare(aggregated, published)
    side.insert(0, "ours_dataset", aggregated["ours_dataset"].to_numpy())
    return side[side["paper"].notna()].reset_index(drop=True)


def figure_ablation(scores: pd.DataFrame, *, metric: str = "nmi", stand_ins: dict | None = None, ax=None):
    """Tables V-VII: ``metric`` per dataset for the last layer of g_I, of g_C (CC), the weighted and the
    unweighted multi-layer ensemble, mean ± std over seeds; black dashes: the paper's values."""
    stand_ins = dict(stand_ins or {})
    order = list(dict.fromkeys(scores["dataset"]))
    hue_order = [G_I_METHOD, CC_METHOD, METHOD, UNWEIGHTED_METHOD]
    labels = {G_I_METHOD: "last layer of g_I (k-means)", CC_METHOD: "last layer of g_C (CC)",
              METHOD: "multiple layers, weighted", UNWEIGHTED_METHOD: "multiple layers, unweighted"}
    frame = scores[scores["method"].isin(hue_order)]
    fig = plots.bar_mean_std(frame.assign(method=frame["method"].map(labels)), x="dataset", y=metric, hue="method",
                             ax=ax, order=order, hue_order=[labels[m] for m in hue_order], ylabel=metric.upper(),
                             title=f"Layer ablation (Tables V-VII), {metric.upper()}", figsize=(7.2, 3.6))
    ax = fig.axes[0]
    paper_names = [stand_ins.get(d, d) for d in order]
    table = {"nmi": "V", "ari": "VI", "acc": "VII"}[metric]
    published = paper.load("deepclue2022", table, dataset=paper_names)
    reverse = {v: k for k, v in ABLATION_NAMES.items()}
    width = 0.8 / len(hue_order)
    labelled = False
    for row in published.itertuples(index=False):
        if row.method not in reverse:
            continue
        for j in (j for j, name in enumerate(paper_names) if name == row.dataset):
            x = j - 0.4 + width * (hue_order.index(reverse[row.method]) + 0.5)
            label = None if labelled else "paper" + (f" ({row.dataset})" if row.dataset != order[j] else "")
            ax.hlines(row.value, x - width / 2, x + width / 2, colors="black", linewidth=2, label=label)
            labelled = True
    if not labelled:  # an empty handle says why there is no paper line
        ax.plot([], [], " ", label=f"paper: no {', '.join(order)} in Table {table}")
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(*plots.PAPER_YLIM)
    ax.tick_params(axis="x", rotation=0)
    return fig


def figure_base_clusterings(base: pd.DataFrame, scores: pd.DataFrame, dataset: str | None = None, ax=None):
    """NMI of every base clustering of the weighted ensemble per layer (box and points, all seeds), with the
    consensus (DeepCluE) and CC's g_C labels as horizontal lines (mean over seeds)."""
    import seaborn as sns

    dataset = dataset or base["dataset"].iloc[0]
    part = base[base["dataset"] == dataset]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
    else:
        fig = ax.figure
    order = list(dict.fromkeys(part["layer"]))
    sns.boxplot(data=part, x="layer", y="nmi", order=order, ax=ax, color="0.85", fliersize=0)
    sns.stripplot(data=part.assign(seed="seed " + part["seed"].astype(str)), x="layer", y="nmi", order=order, ax=ax,
                  hue="seed", palette="deep", size=3.5, jitter=0.2)
    mine = scores[scores["dataset"] == dataset].groupby("method")["nmi"].mean()
    for method, style in ((METHOD, dict(color="C3", ls="-")), (CC_METHOD, dict(color="black", ls=":"))):
        if method in mine:
            ax.axhline(mine[method], lw=1.5, label=f"{method} {mine[method]:.3f}", **style)
    ax.set(xlabel="layer", ylabel="NMI", title=f"Base clusterings per layer vs consensus ({dataset})")
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def figure_training_curves(history: pd.DataFrame, dataset: str | None = None):
    """CC's training on one dataset, mean over seeds: total, instance and cluster losses per epoch (left) and the
    entropy term ``2 log K - H(p_i) - H(p_j)`` (right; 0 when the clusters are used uniformly)."""
    dataset = dataset or history["dataset"].iloc[0]
    mean = history[history["dataset"] == dataset].groupby("epoch").mean(numeric_only=True).reset_index()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 3.2), layout="constrained")
    for column, label in (("loss", "total"), ("instance_loss", "instance"), ("cluster_loss", "cluster")):
        left.plot(mean["epoch"], mean[column], marker="o", ms=3, label=label)
    right.plot(mean["epoch"], mean["entropy_term"], marker="o", ms=3, color="C3")
    left.set(xlabel="epoch", ylabel="loss", title=f"CC training loss ({dataset})")
    right.set(xlabel="epoch", ylabel="2 log K - H(p_i) - H(p_j)", title="Cluster-size entropy term")
    left.legend(frameon=False, fontsize="small")
    for axis in (left, right):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig
