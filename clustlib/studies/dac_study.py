"""Study 7 (Chang et al. 2017): DAC and DAC* on the paper's datasets with :class:`clustlib.deep.DAC`.

The loops behind ``notebooks/07_dac.ipynb``: each (dataset, variant, seed) trains one DAC network and is
scored by the argmax of its label features (Table 2); the learned label features are then clustered by
K-means, SC, AC and NMF (Table 3). Figures: the adaptive thresholds and the share of positive and
selected pairs per iteration, ACC per method and dataset, the distribution of label-feature elements
before and after training (Figure 4), and the cluster sizes (DAC can leave clusters empty,
vector-1127/DAC #23).

Two presets (:data:`PRESETS`):

* ``"paper"`` (default): the paper's DAC and DAC* (:class:`~clustlib.deep.DAC`'s defaults: u = 0.95 - λ,
  l = 0.455 + 0.1 λ, 46 iterations; DAC* 0.95 -> 0.5; BCE over all selected pairs of each chunk of
  1,000 images; no self-distillation). What the paper leaves to its unpublished supplementary
  material, the network, the augmentation and the mini-batch (which sets the batch statistics), comes
  from the dataset's script (:data:`DATASET_SCRIPTS`, the two-threshold ``cifar10_2.py`` for DAC on
  CIFAR-10).
* ``"scripts"``: every setting of the authors' script for the dataset
  (:data:`clustlib.deep.DAC_SCRIPT_SETTINGS`): ``mnist.py`` for the digit sets, ``cifar100.py`` for
  CIFAR-10 and CIFAR-100/20 (the authors ran it for both, issue #11), ``stl.py``, ``imagenet10.py`` and
  ``imagenetdog.py``, all DAC*; the two-threshold DAC only on CIFAR-10 (``cifar10_2.py``), the one
  dataset the public code runs it on (other datasets refuse ``variant="dac"`` under this preset).

References
----------
J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, "Deep Adaptive Image Clustering", ICCV 2017.
Code: https://github.com/vector-1127/DAC
"""

from __future__ import annotations

import time
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.ticker import MaxNLocator
from tqdm.auto import tqdm

from clustlib import data, metrics, paper, plots, results
from clustlib.errors import InvalidParameter
from clustlib.studies._common import check_datasets, check_list, check_seeds, load_image_trees_at, summary_mean_std

__all__ = ["PRESETS", "VARIANT_NAMES", "DATASET_SCRIPTS", "TWO_THRESHOLD_SCRIPTS", "TABLE3_METHODS", "FEATURE_BINS",
           "DACRuns", "validate", "validate_params", "script_settings", "settings_table", "prepare_inputs",
           "load_inputs", "run_grid",
           "cluster_label_features", "run_table3", "feature_distribution", "summary", "compare_with_paper",
           "figure_thresholds", "figure_accuracy", "figure_feature_distribution", "figure_cluster_sizes"]

#: The study's presets: the paper's method, or the authors' scripts as they run.
PRESETS = ("paper", "scripts")
#: DAC arguments the paper preset takes from the dataset's script (the paper leaves them open).
_FROM_SCRIPT = ("network", "augmentation", "batch_size")
#: Our variant name -> the row label of the paper's Table 2.
VARIANT_NAMES = {"dac_star": "DAC*", "dac": "DAC"}
#: Dataset -> the authors' DAC* script (a key of :data:`clustlib.deep.DAC_SCRIPT_SETTINGS`); the paper preset
#: takes its network, augmentation and mini-batch.
DATASET_SCRIPTS = {"mnist": "mnist", "fashion_mnist": "mnist", "kmnist": "mnist", "usps": "mnist",
                   "digits": "mnist", "optdigits": "mnist", "cifar10": "cifar100", "cifar100_20": "cifar100",
                   "stl10": "stl", "imagenet10": "imagenet10", "imagenet_dogs": "imagenet_dog"}
#: Dataset -> the authors' two-threshold DAC script, where one exists.
TWO_THRESHOLD_SCRIPTS = {"cifar10": "cifar10_2"}
#: Table 3's traditional clusterings of the label features -> the paper's row label.
TABLE3_METHODS = {"kmeans": "K-means", "sc": "SC", "ac": "AC", "nmf": "NMF"}
#: The intervals of Figure 4 (share of label-feature elements in each).
FEATURE_BINS = (0.0, 0.1, 0.5, 0.9, 1.0)
_BIN_NAMES = ("[0, 0.1)", "[0.1, 0.5)", "[0.5, 0.9)", "[0.9, 1]")
_UNCENTRED_SCRIPTS = {"imagenet_dog"}  # imagenetdog.py feeds pixels / 255 without subtracting the mean
_AC_FULL_LINKAGE_MAX = 20_000  # Ward on more points needs N^2/2 distances (70k: 20 GB); use a 10-NN graph


class DACRuns(NamedTuple):
    """What :func:`run_grid` returns.

    Attributes
    ----------
    scores : DataFrame
        One row per (dataset, variant, seed): ``dataset, method, variant, preset, script, network, epochs
        (iterations run), seed, nmi, ari, acc, n_clusters_found, fit_s, epoch_s``.
    history : DataFrame
        One row per iteration (epoch): ``dataset, method, seed, epoch, upper, lower, positive_fraction,
        selected_fraction, candidate_pairs, loss``.
    features : dict
        ``(dataset, variant, seed) -> (initial label features (N, K), trained label features (N, K))``,
        float32; the initial ones come from the same seed's untrained network.
    """

    scores: pd.DataFrame
    history: pd.DataFrame
    features: dict


def validate(datasets, variants, seeds, *, preset: str = "paper", networks: dict | None = None, epochs: int = 0,
             estimator_params: dict | None = None, table3_methods=(), subsets: dict | None = None) -> None:
    """Known preset, datasets, variants, networks and Table 3 methods, seeds, epochs >= 0, per-variant
    overrides that :class:`~clustlib.deep.DAC` accepts; all checked before any data is loaded or network built."""
    from clustlib.deep import DAC
    from clustlib.deep.allconv import ALLCONV_ARCHITECTURES, list_dac_networks

    if preset not in PRESETS:
        raise InvalidParameter(f"preset must be one of {list(PRESETS)}, got {preset!r}.")
    check_list("datasets", datasets, DATASET_SCRIPTS)
    check_list("variants", variants, VARIANT_NAMES)
    check_seeds(seeds)
    networks = {} if networks is None else networks
    if not isinstance(networks, dict):
        raise InvalidParameter(f"networks must map dataset names to ALL-ConvNet names, got {networks!r}.")
    unknown = [d for d in networks if d not in datasets]
    if unknown:
        raise InvalidParameter(f"networks names datasets that are not in datasets: {unknown}; datasets are "
                               f"{list(datasets)}.")
    bad = {d: n for d, n in networks.items() if n not in list_dac_networks()}
    if bad:
        raise InvalidParameter(f"Unknown network(s) {bad}; valid: {list_dac_networks()}.")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise InvalidParameter(f"epochs must be an integer >= 0 (0 keeps each schedule's own), got {epochs!r}.")
    subsets = {} if subsets is None else subsets
    unknown = [d for d in subsets if d not in datasets]
    if unknown:
        raise InvalidParameter(f"subsets names datasets that are not in datasets: {unknown}; datasets are "
                               f"{list(datasets)}.")
    estimator_params = {} if estimator_params is None else estimator_params
    if not isinstance(estimator_params, dict) or not all(isinstance(v, dict) for v in estimator_params.values()):
        raise InvalidParameter("estimator_params must map variant names to dicts of DAC arguments, got "
                               f"{estimator_params!r}.")
    unknown = [v for v in estimator_params if v not in VARIANT_NAMES]
    if unknown:
        raise InvalidParameter(f"estimator_params names unknown variant(s) {unknown}; valid: {list(VARIANT_NAMES)}.")
    accepted = set(DAC().get_params()) - {"n_clusters", "variant", "random_state", "device", "progress"}
    for variant, overrides in estimator_params.items():
        bad = [k for k in overrides if k not in accepted]
        if bad:
            raise InvalidParameter(f"estimator_params[{variant!r}] has unknown or reserved argument(s) {bad}; "
                                   f"DAC accepts {sorted(accepted)} (n_clusters, variant, random_state and "
                                   "device come from the study).")
    bad = [m for m in table3_methods if m not in TABLE3_METHODS]
    if bad:
        raise InvalidParameter(f"Unknown table3_methods {bad}; valid: {list(TABLE3_METHODS)}.")
    for dataset in datasets:  # every (dataset, variant) resolves to DAC arguments its own checks accept
        info = data.dataset_info(dataset)
        n = subsets.get(dataset) or info["splits"].get("all") or info.get("paper_n_samples") or 10_000
        for variant in variants:
            _, kwargs = script_settings(dataset, variant, preset=preset, network=networks.get(dataset),
                                        epochs=epochs, overrides=estimator_params.get(variant))
            size = ALLCONV_ARCHITECTURES[kwargs["network"]].input_size if "network" in kwargs else 32
            shape_only = np.broadcast_to(np.float32(0), (n, 1, size, size))  # no memory: only .shape is read
            DAC(info["n_classes"], **kwargs).check_params(shape_only)


def validate_params(params: dict) -> None:
    """Every parameter of the notebook, checked by :func:`validate` before its kernel starts (``clustlib run``
    calls this)."""
    check_datasets(params["datasets"], params["subsets"])
    validate(params["datasets"], params["variants"], params["seeds"], preset=params["preset"],
             networks=params["networks"],
             epochs=params["epochs"], estimator_params=params["estimator_params"],
             table3_methods=params["table3_methods"], subsets=params["subsets"])


def script_settings(dataset: str, variant: str, *, preset: str = "paper", network: str | None = None,
                    epochs: int = 0, overrides: dict | None = None) -> tuple[str, dict]:
    """The authors' script behind this dataset and variant, and the :class:`~clustlib.deep.DAC` arguments.

    Parameters
    ----------
    dataset : str
        A key of :data:`DATASET_SCRIPTS`.
    variant : {"dac_star", "dac"}
    preset : {"paper", "scripts"}
        "paper": DAC's defaults (the paper) with the script's network, augmentation and mini-batch;
        "scripts": all of the script's settings (DAC on CIFAR-10 only).
    network : str, optional
        ALL-ConvNet override (e.g. ``"small16"`` for 16x16 digits); None keeps the script's.
    epochs : int
        0 keeps the schedule's own (paper: 46 iterations; scripts: 20-75 epochs); the paper schedule
        takes it as a cap.
    overrides : dict, optional
        Further DAC arguments, applied last.

    Returns
    -------
    script : str
        The script name (``"cifar10_2"`` for DAC on CIFAR-10, else the dataset's DAC* script).
    kwargs : dict
        DAC arguments without ``n_clusters``, ``random_state`` and ``device``.
    """
    from clustlib.deep import DAC_SCRIPT_SETTINGS

    if preset not in PRESETS:
        raise InvalidParameter(f"preset must be one of {list(PRESETS)}, got {preset!r}.")
    if dataset not in DATASET_SCRIPTS:
        raise InvalidParameter(f"No DAC script for dataset {dataset!r}; supported: {sorted(DATASET_SCRIPTS)}.")
    if variant not in VARIANT_NAMES:
        raise InvalidParameter(f"variant must be one of {list(VARIANT_NAMES)}, got {variant!r}.")
    script = TWO_THRESHOLD_SCRIPTS.get(dataset) if variant == "dac" else None
    if preset == "scripts" and variant == "dac" and script is None:
        raise InvalidParameter(f"No two-threshold DAC script for {dataset!r}: the authors' code runs DAC on CIFAR-10 "
                               "only (cifar10_2.py); use preset='paper' for the paper's DAC, or variants=['dac_star'].")
    script = script or DATASET_SCRIPTS[dataset]
    settings = DAC_SCRIPT_SETTINGS[script]
    if preset == "scripts":
        kwargs = dict(settings)
    else:
        kwargs = {"variant": variant, **{k: settings[k] for k in _FROM_SCRIPT}}
    if network is not None:
        kwargs["network"] = network
    if epochs:
        kwargs["epochs"] = int(epochs)
    kwargs.update(overrides or {})
    return script, kwargs


def settings_table(datasets, variants, *, preset: str = "paper", networks: dict | None = None, epochs: int = 0,
                   estimator_params: dict | None = None) -> pd.DataFrame:
    """The DAC arguments each (dataset, variant) runs with, defaults filled in, one row each (for the notebook)."""
    from clustlib.deep import DAC

    rows = []
    for dataset in datasets:
        for variant in variants:
            script, kwargs = script_settings(dataset, variant, preset=preset, network=(networks or {}).get(dataset),
                                             epochs=epochs, overrides=(estimator_params or {}).get(variant))
            shown = {k: v for k, v in DAC(**kwargs).get_params().items()
                     if k not in ("n_clusters", "variant", "device", "random_state", "progress", "checkpoint_path")}
            rows.append({"dataset": dataset, "method": VARIANT_NAMES[variant], "preset": preset, "script": script,
                         **shown})
    return pd.DataFrame(rows)


def prepare_inputs(imageset, network: str, script: str) -> np.ndarray:
    """DAC's input for one ImageSet: resized to the network's input size, channels first, pixels / 255
    minus the per-channel mean (:func:`clustlib.deep.dac.center_images`; ``imagenetdog.py`` only divides).

    Returns
    -------
    ndarray of float32, shape (N, C, S, S)
    """
    from clustlib.deep.allconv import ALLCONV_ARCHITECTURES
    from clustlib.deep.dac import center_images

    if network not in ALLCONV_ARCHITECTURES:
        raise InvalidParameter(f"Unknown network {network!r}; valid: {sorted(ALLCONV_ARCHITECTURES)}.")
    size = ALLCONV_ARCHITECTURES[network].input_size
    images = data.resize_images(imageset.images, size).transpose(0, 3, 1, 2)  # (N, C, S, S) uint8
    if script in _UNCENTRED_SCRIPTS:
        return (images / np.float32(255)).astype(np.float32)
    return center_images(images, per_channel=True)


def load_inputs(datasets, subsets: dict | None = None, *, seed: int = 0, root=None) -> dict:
    """``{name: ImageSet}``, each cut to a stratified subset where ``subsets[name]`` > 0.

    Image trees (ImageNet-10, ImageNet-Dogs) are decoded straight at 96x96, the size DAC's networks take.
    """
    return load_image_trees_at({}, datasets, subsets, seed=seed, root=root)


def _history_rows(dataset: str, method: str, seed: int, history) -> list[dict]:
    return [{"dataset": dataset, "method": method, "seed": seed, "epoch": e + 1, "upper": th[0], "lower": th[1],
             "positive_fraction": pos, "selected_fraction": sel, "candidate_pairs": pairs, "loss": loss}
            for e, (th, pos, sel, pairs, loss) in enumerate(zip(history.thresholds, history.positive_fraction,
                                                                 history.selected_fraction, history.candidate_pairs,
                                                                 history.losses))]


def run_grid(run: results.Run, imagesets: dict, variants, seeds, *, preset: str = "paper",
             networks: dict | None = None, epochs: int = 0, estimator_params: dict | None = None, device: str = "cpu",
             progress: bool = True) -> DACRuns:
    """Train DAC for every dataset x variant x seed and log NMI, ARI, ACC of the argmax labels (Table 2).

    The setting of each record names the preset, the script, the network and the iterations run
    (``preset=paper,script=mnist,network=small16,epochs=46``). See :class:`DACRuns` for what comes back.
    """
    from clustlib.deep import DAC

    networks, estimator_params = networks or {}, estimator_params or {}
    rows, history, features = [], [], {}
    jobs = [(d, v, s) for d in imagesets for v in variants for s in seeds]
    inputs = {}
    for dataset, variant, seed in tqdm(jobs, desc="DAC", disable=not progress):
        imageset = imagesets[dataset]
        script, kwargs = script_settings(dataset, variant, preset=preset, network=networks.get(dataset),
                                         epochs=epochs, overrides=estimator_params.get(variant))
        key = (dataset, kwargs["network"], script in _UNCENTRED_SCRIPTS)
        if key not in inputs:
            inputs[key] = prepare_inputs(imageset, kwargs["network"], script)
        X = inputs[key]
        k = imageset.n_classes
        initial = DAC(k, **{**kwargs, "epochs": 0}, random_state=seed, device=device, progress=False).fit(X)
        t0 = time.perf_counter()
        model = DAC(k, **kwargs, random_state=seed, device=device, progress=False).fit(X)
        fit_s = time.perf_counter() - t0
        method = VARIANT_NAMES[variant]
        scores = metrics.evaluate(imageset.labels, model.labels_, metrics=("nmi", "ari", "acc"))
        setting = {"preset": preset, "script": script, "network": model.network_name_, "epochs": model.n_iterations_}
        run.log(dataset=dataset, method=method, setting=setting, seed=seed, metrics=scores, time_s=fit_s,
                note="labels = argmax of the label features")
        rows.append({"dataset": dataset, "method": method, "variant": variant, **setting, "seed": seed, **scores,
                     "n_clusters_found": int(np.unique(model.labels_).size), "fit_s": fit_s,
                     "epoch_s": model.epoch_seconds_})
        history += _history_rows(dataset, method, seed, model.history_)
        features[(dataset, variant, seed)] = (initial.label_features_, model.label_features_)
    return DACRuns(pd.DataFrame(rows), pd.DataFrame(history), features)


def cluster_label_features(Z: np.ndarray, method: str, n_clusters: int, *, seed: int = 0) -> np.ndarray:
    """One of Table 3's traditional clusterings of DAC's label features; int64 labels (N,).

    ``"kmeans"``: k-means++, 10 restarts. ``"sc"``: spectral clustering of the 10-nearest-neighbour graph.
    ``"ac"``: Ward agglomerative clustering (on a 10-NN connectivity graph above 20,000 points, where full
    Ward would need N^2/2 distances). ``"nmf"``: NMF with K components (the label features are
    non-negative), each sample in the cluster of its largest coefficient.
    """
    from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering
    from sklearn.decomposition import NMF
    from sklearn.neighbors import kneighbors_graph

    if method not in TABLE3_METHODS:
        raise InvalidParameter(f"Unknown Table 3 method {method!r}; valid: {list(TABLE3_METHODS)}.")
    Z = np.asarray(Z, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # near one-hot features: disconnected k-NN graphs
        if method == "kmeans":
            return KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(Z).astype(np.int64)
        if method == "sc":
            model = SpectralClustering(n_clusters, affinity="nearest_neighbors", n_neighbors=10, random_state=seed,
                                       assign_labels="kmeans")
            return model.fit_predict(Z).astype(np.int64)
        if method == "ac":
            graph = kneighbors_graph(Z, 10, include_self=False) if len(Z) > _AC_FULL_LINKAGE_MAX else None
            model = AgglomerativeClustering(n_clusters, linkage="ward", connectivity=graph)
            return model.fit_predict(Z).astype(np.int64)
        W = NMF(n_clusters, init="nndsvda", max_iter=500, random_state=seed).fit_transform(np.clip(Z, 0, None))
        return W.argmax(1).astype(np.int64)


def run_table3(run: results.Run, imagesets: dict, runs: DACRuns, methods, *, progress: bool = True) -> pd.DataFrame:
    """Table 3: cluster every trained network's label features with ``methods`` and log the scores.

    Records carry ``features=<variant>_label_features`` in their setting; the paper's rows are DAC's
    (``dac_label_features``). The returned frame also holds the argmax rows (method ``DAC``/``DAC*``,
    not logged again) so each variant's own tactic sits beside the traditional ones.
    """
    rows = []
    keys = list(runs.features)
    for (dataset, variant, seed) in tqdm(keys, desc="Table 3", disable=not progress):
        imageset, Z = imagesets[dataset], runs.features[(dataset, variant, seed)][1]
        features = f"{variant}_label_features"
        for method in methods:
            t0 = time.perf_counter()
            labels = cluster_label_features(Z, method, imageset.n_classes, seed=seed)
            scores = metrics.evaluate(imageset.labels, labels, metrics=("nmi", "ari", "acc"))
            name = TABLE3_METHODS[method]
            run.log(dataset=dataset, method=name, setting={"features": features}, seed=seed, metrics=scores,
                    time_s=time.perf_counter() - t0, note=f"{name} on the label features of {VARIANT_NAMES[variant]}")
            rows.append({"dataset": dataset, "method": name, "features": features, "seed": seed, **scores})
        own = runs.scores[(runs.scores["dataset"] == dataset) & (runs.scores["variant"] == variant)
                          & (runs.scores["seed"] == seed)].iloc[0]
        rows.append({"dataset": dataset, "method": VARIANT_NAMES[variant], "features": features, "seed": seed,
                     "nmi": own["nmi"], "ari": own["ari"], "acc": own["acc"]})
    return pd.DataFrame(rows)


def feature_distribution(runs: DACRuns) -> pd.DataFrame:
    """Figure 4's statistic: the share of label-feature elements in [0, 0.1), [0.1, 0.5), [0.5, 0.9), [0.9, 1]
    for the untrained ("initial") and the trained ("final") network, per dataset, method and seed."""
    rows = []
    for (dataset, variant, seed), pair in runs.features.items():
        for stage, Z in zip(("initial", "final"), pair):
            counts, _ = np.histogram(np.clip(Z, 0.0, 1.0), bins=FEATURE_BINS)
            for name, count in zip(_BIN_NAMES, counts):
                rows.append({"dataset": dataset, "method": VARIANT_NAMES[variant], "seed": seed, "stage": stage,
                             "interval": name, "share": count / Z.size})
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame, by) -> pd.DataFrame:
    """NMI, ARI, ACC as mean ± SD over seeds, fractions (as the paper prints), with the seconds per fit when known."""
    return summary_mean_std(frame, by, seconds="fit_s", seconds_label="fit s", decimals=1)


def compare_with_paper(frame: pd.DataFrame, table: str = "2", *, stand_ins: dict | None = None) -> pd.DataFrame:
    """Our mean ± std beside the paper's Table ``table`` ("2": DAC/DAC* rows; "3": clusterings of DAC's
    label features), where datasets and methods overlap; scores as fractions.

    ``stand_ins`` maps one of our datasets to the paper's dataset it stands in for (``{"digits": "mnist"}``
    in the smoke profile); such rows keep our name in ``ours_dataset`` and are not a reproduction.
    """
    if table not in ("2", "3"):
        raise InvalidParameter(f"table must be '2' or '3', got {table!r}.")
    stand_ins = dict(stand_ins or {})
    ours = frame.melt(id_vars=["dataset", "method", "seed"] + (["features"] if table == "3" else []),
                      value_vars=["nmi", "ari", "acc"], var_name="metric")
    ours["setting"] = ours.pop("features") if table == "3" else ""
    aggregated = results.aggregate(ours)
    aggregated.insert(0, "ours_dataset", aggregated["dataset"])
    aggregated["dataset"] = aggregated["dataset"].map(lambda d: stand_ins.get(d, d))
    side = paper.compare(aggregated, paper.load("dac2017", table))
    side.insert(0, "ours_dataset", aggregated["ours_dataset"].to_numpy())
    return side[side["paper"].notna()].reset_index(drop=True)


def figure_thresholds(history: pd.DataFrame, dataset: str | None = None):
    """The adaptive rule at work on one dataset: thresholds (left) and the shares of positive and of selected
    candidate pairs (right) per iteration (a pass over the data, after which λ updates), one colour per method,
    mean over seeds."""
    dataset = dataset or history["dataset"].iloc[0]
    part = history[history["dataset"] == dataset]
    mean = part.groupby(["method", "epoch"], sort=False).mean(numeric_only=True).reset_index()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 3.2), layout="constrained")
    for i, (method, rows) in enumerate(mean.groupby("method", sort=False)):
        colour = f"C{i}"
        left.plot(rows["epoch"], rows["upper"], color=colour, marker="o", ms=3, label=f"{method} upper")
        if method == VARIANT_NAMES["dac"]:
            left.plot(rows["epoch"], rows["lower"], color=colour, ls="--", marker="o", ms=3, label=f"{method} lower")
        right.plot(rows["epoch"], rows["positive_fraction"], color=colour, marker="o", ms=3,
                   label=f"{method} positive")
        right.plot(rows["epoch"], rows["selected_fraction"], color=colour, ls="--", label=f"{method} selected")
    left.set(xlabel="iteration", ylabel="threshold", title=f"Selection thresholds ({dataset})")
    right.set(xlabel="iteration", ylabel="share of candidate pairs", title="Positive and selected pairs",
              ylim=(0, 1.05))
    for ax in (left, right):
        ax.legend(frameon=False, fontsize="small")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def figure_accuracy(scores: pd.DataFrame, *, stand_ins: dict | None = None, ax=None):
    """ACC per dataset and method, mean ± std over seeds, with the paper's Table 2 value as a black dash
    where it has the dataset (or the one a dataset stands in for, see :func:`compare_with_paper`)."""
    stand_ins = dict(stand_ins or {})
    order = list(dict.fromkeys(scores["dataset"]))
    hue_order = [m for m in VARIANT_NAMES.values() if m in set(scores["method"])]
    fig = plots.bar_mean_std(scores, x="dataset", y="acc", hue="method", ax=ax, order=order, hue_order=hue_order,
                             ylabel="ACC", title="Clustering accuracy (Table 2)")
    ax = fig.axes[0]
    paper_names = [stand_ins.get(d, d) for d in order]
    published = paper.load("dac2017", "2", metric="acc", method=hue_order, dataset=paper_names)
    width = 0.8 / len(hue_order)
    for i, row in enumerate(published.itertuples(index=False)):
        for j in (j for j, name in enumerate(paper_names) if name == row.dataset):
            x = j - 0.4 + width * (hue_order.index(row.method) + 0.5)
            label = None if i else "paper" + (f" ({row.dataset})" if row.dataset != order[j] else "")
            ax.hlines(row.value, x - width / 2, x + width / 2, colors="black", linewidth=2, label=label)
    if not len(published):  # an empty handle says why there is no paper line
        ax.plot([], [], " ", label=f"paper: no {', '.join(order)} in Table 2")
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(*plots.PAPER_YLIM)
    return fig


def figure_feature_distribution(distribution: pd.DataFrame, dataset: str | None = None):
    """Figure 4: share of label-feature elements per interval before and after training, one panel per method."""
    dataset = dataset or distribution["dataset"].iloc[0]
    part = distribution[distribution["dataset"] == dataset]
    methods = list(dict.fromkeys(part["method"]))
    fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.2), layout="constrained",
                             squeeze=False, sharey=True)
    for ax, method in zip(axes[0], methods):
        plots.bar_mean_std(part[part["method"] == method], x="interval", y="share", hue="stage", ax=ax,
                           order=list(_BIN_NAMES), hue_order=["initial", "final"], ylabel="share of elements",
                           title=f"{method}: label features ({dataset})")
        ax.tick_params(axis="x", rotation=0)
    return fig


def figure_cluster_sizes(runs: DACRuns, dataset: str | None = None, ax=None):
    """Cluster sizes sorted from largest to smallest (argmax labels), mean ± std over seeds, per method;
    the dotted line is N / K. Empty clusters show as zero-height bars."""
    dataset = dataset or next(iter(runs.features))[0]
    rows = []
    for (name, variant, seed), (_, Z) in runs.features.items():
        if name != dataset:
            continue
        sizes = np.sort(np.bincount(Z.argmax(1), minlength=Z.shape[1]))[::-1]
        rows += [{"method": VARIANT_NAMES[variant], "seed": seed, "rank": r + 1, "size": int(s)}
                 for r, s in enumerate(sizes)]
    frame = pd.DataFrame(rows)
    fig = plots.bar_mean_std(frame, x="rank", y="size", hue="method", ax=ax, ylabel="images",
                             title=f"Cluster sizes, largest first ({dataset})")
    ax = fig.axes[0]
    n, k = next(Z.shape for (d, _, _), (_, Z) in runs.features.items() if d == dataset)
    ax.axhline(n / k, color="black", linestyle=":", linewidth=1)
    ax.set_xlabel("cluster rank")
    ax.tick_params(axis="x", rotation=0)
    return fig
