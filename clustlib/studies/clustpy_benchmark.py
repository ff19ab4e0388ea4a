"""Study 6 (Leiber, Miklautz et al. 2023): the ClustPy deep-clustering benchmark with clustlib's trainers.

Experiments, each a function of the same shape (logs records into a :class:`~clustlib.results.Run` and
returns a tidy DataFrame): A/B main table and runtime (Tables I–II, Figure 1), C small autoencoder
(Table III), D embedding size (Figure 2), E initial clustering (Figure 3), F clustering learning rate
(Figure 4), G train/test generalisation (Figure 5), H augmentation (Table IV), I ResNet18
convolutional autoencoder (Table V).

References
----------
C. Leiber, L. Miklautz, C. Plant, C. Böhm, "Benchmarking Deep Clustering Algorithms With ClustPy",
ICDMW 2023. Code: https://github.com/collinleiber/BenchmarkingDeepClustering
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import pyplot as plt
from tqdm.auto import tqdm

from clustlib import data, metrics, paper, plots, results
from clustlib.deep import (INITIAL_CLUSTERINGS, blank_pixel_value, list_methods, run_deep_clustering,
                           zscore_images)
from clustlib.errors import InvalidParameter
from clustlib.studies._common import check_datasets, check_seeds, summary_mean_std

__all__ = ["amp_flag", "PAPER_METHOD_NAMES", "NETWORK_SETTINGS", "EXPERIMENTS", "validate", "validate_params",
           "prepare_inputs", "run_grid",
           "stratified_subsets", "log_side_by_side", "split_train_test", "generalisation_splits", "zscore_train_test",
           "run_generalisation", "augmentation_params", "summary", "compare_with_paper",
           "figure_runtime", "figure_by_value", "figure_initialisation", "figure_augmentation",
           "figure_generalisation"]

PAPER_METHOD_NAMES = {"ae_kmeans": "AE+KMeans", "dec": "DEC", "idec": "IDEC", "dcn": "DCN",
                      "dipencoder": "DipEncoder", "acedec": "ACe/DeC"}
NETWORK_SETTINGS = {"ff_500_500_2000": "ae=d-500-500-2000-10", "ff_512_256_128": "ae=d-512-256-128-10",
                    "resnet18": "ae=resnet18_conv,m=10"}
EXPERIMENTS = ("A", "B", "C", "D", "E", "F", "G", "H", "I")
#: Methods of experiment E (the paper leaves out ACe/DeC, which needs its own initialisation).
INIT_METHODS = ("ae_kmeans", "dec", "idec", "dcn")
INIT_NAMES = {"kmeans": "KMeans", "em": "EM", "spectral": "Spectral", "subkmeans": "SubKmeans",
              "spectral_knn": "Spectral (kNN graph)"}
_GLOBAL_NORMALISATION = {"digits", "optdigits"}  # 8x8 counts: one z-score over all pixels


def _normalisation(imageset) -> str:
    return "global" if imageset.name in _GLOBAL_NORMALISATION else "channel"


def validate(methods, experiments, seeds, *, initial_clusterings=("kmeans",), conv_epochs=(100, 150),
             amp: str = "off", method_params: dict | None = None) -> None:
    """Known methods, experiment letters and initial clusterings, at least one seed, two conv epoch counts,
    a known ``amp``, per-method overrides that the methods accept (all checked before any compute)."""
    method_params = {} if method_params is None else method_params
    valid = list_methods()
    unknown = [m for m in methods if m not in valid]
    if unknown:
        raise InvalidParameter(f"Unknown method(s) {unknown}; implemented: {valid}.")
    bad = [e for e in experiments if e not in EXPERIMENTS]
    if bad:
        raise InvalidParameter(f"Unknown experiment(s) {bad}; valid: {list(EXPERIMENTS)}.")
    if not seeds:
        raise InvalidParameter("seeds must list at least one seed.")
    bad = [i for i in initial_clusterings if i not in INITIAL_CLUSTERINGS]
    if bad:
        raise InvalidParameter(f"Unknown initial clustering(s) {bad}; valid: {list(INITIAL_CLUSTERINGS)}.")
    if not isinstance(method_params, dict) or not all(isinstance(v, dict) for v in method_params.values()):
        raise InvalidParameter(f"method_params must map method names to dicts of arguments, got {method_params!r}.")
    unknown = [m for m in method_params if m not in valid]
    if unknown:
        raise InvalidParameter(f"method_params names unknown method(s) {unknown}; implemented: {valid}.")
    for method, overrides in method_params.items():
        from clustlib.deep import create_method

        accepted = create_method(method).get_params()
        bad = [k for k in overrides if k not in accepted]
        if bad:
            raise InvalidParameter(f"method_params[{method!r}] has unknown argument(s) {bad}; "
                                   f"{method} accepts {sorted(accepted)}.")
    if len(conv_epochs) != 2 or min(conv_epochs) < 0:
        raise InvalidParameter(f"conv_epochs must be [pretraining epochs, clustering epochs] >= 0, got {conv_epochs}.")
    amp_flag(amp)


def validate_params(params: dict) -> None:
    """Every parameter of the notebook (the three dataset lists, subsets, seeds, and what :func:`validate`
    checks), before its kernel starts (``clustlib run`` calls this)."""
    check_datasets(params["datasets"])
    for name in ("experiment_datasets", "augmentation_datasets"):  # may be empty: their experiments are skipped
        if params[name]:
            check_datasets(params[name], name=name)
    loaded = sorted({*params["datasets"], *params["experiment_datasets"], *params["augmentation_datasets"]})
    check_datasets(params["datasets"], params["subsets"], loaded=loaded)
    check_seeds(params["seeds"])
    check_seeds(params["conv_seeds"])
    validate(params["methods"] + params["factor_methods"], params["experiments"], params["seeds"],
             initial_clusterings=params["initial_clusterings"], conv_epochs=params["conv_epochs"], amp=params["amp"],
             method_params=params["method_params"])


def amp_flag(amp: str) -> bool:
    """The notebook's ``amp`` parameter as the estimators' ``amp``: ``"off"`` (the default, float32 as the
    benchmark) -> False, ``"on"`` (bfloat16 autocast; on the CPU fast only with AMX/AVX512-BF16) -> True.

    ``"auto"`` used to mean "on for CUDA"; it is refused now, so that no profile turns mixed precision on without
    saying so."""
    flags = {"on": True, "off": False}
    if amp not in flags:
        hint = " ('auto' is gone: write 'on' for bfloat16 autocast, 'off' for float32)" if amp == "auto" else ""
        raise InvalidParameter(f"amp must be one of {list(flags)}, got {amp!r}{hint}.")
    return flags[amp]


def prepare_inputs(imageset, network: str) -> tuple[np.ndarray, str]:
    """Normalised network input and its cache key: flat (N, D) for feed-forward AEs, (N, C, H, W) for ResNet18."""
    norm = _normalisation(imageset)
    images = imageset.images
    if network == "resnet18":
        side = int(np.ceil(max(images.shape[1:3]) / 32) * 32)
        images = data.resize_images(images, side)
    X = zscore_images(images, norm, flatten=network != "resnet18")
    return X, f"{imageset.fingerprint}:{norm}:{network}"


def augmentation_params(imageset) -> dict:
    """Estimator arguments of experiment H for one data set: the affine augmentation, image shape, blank pixel."""
    fill = blank_pixel_value(imageset.images, _normalisation(imageset))
    return {"augmentation": "affine", "image_shape": tuple(int(s) for s in imageset.images.shape[1:]),
            "augmentation_fill": tuple(round(float(f), 6) for f in fill)}


def _log(run, imageset, method, setting: dict, seed, labels, out, note="") -> dict:
    scores = metrics.evaluate(imageset.labels, labels, metrics=("nmi", "ari", "acc"))
    run.log(dataset=imageset.name, method=method, setting=setting, seed=seed, metrics=scores,
            time_s=out["clustering_seconds"], note=note)
    return {"dataset": imageset.name, "method": method, **setting, "seed": seed, **scores,
            "clustering_s": out["clustering_seconds"], "epoch_s": out["epoch_seconds"],
            "pretrain_s": out["pretrain_seconds"], "pretrain_cached": out["pretrain_from_cache"]}


def run_grid(run: results.Run, experiment: str, imagesets: dict, methods, seeds, *, network="ff_500_500_2000",
             vary: str | None = None, values=(None,), augment: bool = False, method_params: dict | None = None,
             progress: bool = True, **train) -> pd.DataFrame:
    """Every dataset × value × method × seed; ``vary`` names the swept argument (``embedding_size``, ``lr``,
    ``initial_clustering``).

    ``train`` holds ``pretrain_epochs, clustering_epochs, batch_size, device, n_threads``. The autoencoder is
    pretrained once per (data, network, m, augmentation, seed) and reused by every method, as in the paper.
    ``augment=True`` runs experiment H: pretraining on augmented images and clustering with them.
    ``method_params`` maps a method name to estimator arguments that override its defaults.
    """
    rows = []
    jobs = [(d, v, m, s) for d in imagesets for v in values for m in methods for s in seeds]
    inputs = {d: prepare_inputs(imagesets[d], network) for d in imagesets}
    for dataset, value, method, seed in tqdm(jobs, desc=f"experiment {experiment}", disable=not progress):
        X, key = inputs[dataset]
        kwargs = dict(train, **(method_params or {}).get(method, {}))
        if vary is not None:
            kwargs[vary] = value
        if augment:
            kwargs.update(augmentation_params(imagesets[dataset]))
        out = run_deep_clustering(method, X, imagesets[dataset].n_classes, seed=seed, network=network,
                                  dataset_key=key, **kwargs)
        setting = {"experiment": experiment, "ae": NETWORK_SETTINGS.get(network, network).split("=", 1)[1]}
        if vary is not None:
            setting[vary] = value
        if augment:
            setting["augmentation"] = "affine"
        rows.append(_log(run, imagesets[dataset], method, setting, seed, out["labels"], out))
    return pd.DataFrame(rows)


def stratified_subsets(imagesets: dict, size: int, *, seed: int = 0) -> dict:
    """Each ImageSet cut to ``size`` stratified images (0 or a size >= N keeps it whole)."""
    out = {}
    for name, imageset in imagesets.items():
        if not size or size >= len(imageset):
            out[name] = imageset
        else:
            rows = data.stratified_subset(imageset.labels, size, seed=seed, class_names=imageset.classes)
            out[name] = imageset.take(rows)
    return out


def log_side_by_side(run: results.Run, imageset, frame: pd.DataFrame) -> None:
    """Record the ClustPy side-by-side (:func:`clustlib.deep.clustpy_reference.side_by_side`) in the run."""
    for row in frame.itertuples(index=False):
        run.log(dataset=imageset.name, method=row.method,
                setting={"experiment": "clustpy_side_by_side", "library": row.library}, seed=int(row.seed),
                metrics={"acc": float(row.acc)}, time_s=float(row.epoch_s), note="time_s = median s per epoch")


#: How experiment G splits a dataset, as its records' note and the notebook's caption say.
OFFICIAL_SPLIT = "official train/test split"
STRATIFIED_SPLIT = "stratified random 70/30 split (the dataset has no official train/test split)"


def split_train_test(imageset, *, test_fraction: float = 0.3, seed: int = 0):
    """A stratified random train/test split of one ImageSet, only for datasets without an official split (digits:
    scikit-learn ships the Optdigits test part alone); experiment G uses the official split everywhere else."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(imageset), dtype=bool)
    for label in np.unique(imageset.labels):
        rows = np.flatnonzero(imageset.labels == label)
        test[rng.choice(rows, size=int(round(test_fraction * len(rows))), replace=False)] = True
    return imageset.take(np.flatnonzero(~test)), imageset.take(np.flatnonzero(test))


def generalisation_splits(names, subsets: dict | None = None, *, seed: int = 0, root=None) -> dict:
    """Experiment G's data: ``{name: (train ImageSet, test ImageSet, how)}``.

    The benchmark pretrains and clusters on "the PyTorch train splits of USPS and MNIST" and predicts their test
    splits (Section IV-G), so a dataset with an official train/test split (USPS, MNIST, Fashion-MNIST, KMNIST,
    CIFAR-10...) is loaded as those two splits (``how`` = :data:`OFFICIAL_SPLIT`); ``subsets[name]`` then draws that
    many images in all, each split stratified in proportion to its size. A dataset without one (digits) gets a
    stratified random 70/30 split of its (subset) images, labelled :data:`STRATIFIED_SPLIT`.
    """
    subsets = dict(subsets or {})
    out = {}
    for name in names:
        splits = data.dataset_info(name)["splits"]
        n = subsets.get(name) or None
        if {"train", "test"} <= set(splits):
            total = splits.get("all") or splits["train"] + splits["test"]
            sizes = {part: None if n is None else max(1, round(n * splits[part] / total)) for part in ("train", "test")}
            out[name] = (*(data.load(name, split=part, subset=sizes[part], seed=seed, root=root)
                           for part in ("train", "test")), OFFICIAL_SPLIT)
        else:
            whole = data.load(name, subset=n, seed=seed, root=root)
            out[name] = (*split_train_test(whole, seed=0), STRATIFIED_SPLIT)
    return out


def zscore_train_test(train_set, test_set) -> tuple[np.ndarray, np.ndarray]:
    """Flat (N, D) inputs of experiment G: both parts z-scored with one scalar mean and std of the *train* pixels,
    as the benchmark's train/test runs standardise (its loaders' per-channel option is not used there)."""
    x_train = train_set.images.astype(np.float32) / 255.0
    mean, std = float(x_train.mean(dtype=np.float64)), float(x_train.std(dtype=np.float64)) or 1.0
    return tuple(np.ascontiguousarray(((part.images.astype(np.float32) / 255.0 - mean) / std).reshape(len(part), -1),
                                      dtype=np.float32) for part in (train_set, test_set))


def run_generalisation(run: results.Run, splits: dict, methods, seeds, *, method_params: dict | None = None,
                       progress=True, **train) -> pd.DataFrame:
    """Experiment G: fit on the train part, predict the unseen test part; ACC on both (Figure 5).

    ``splits`` is :func:`generalisation_splits`' ``{name: (train, test, how)}``; a plain ``{name: ImageSet}`` is
    split as a dataset without an official split (stratified 70/30). Each record's note says which split it is.
    """
    rows = []
    for name, parts in splits.items():
        train_set, test_set, how = parts if isinstance(parts, tuple) else (*split_train_test(parts, seed=0),
                                                                            STRATIFIED_SPLIT)
        X_train, X_test = zscore_train_test(train_set, test_set)
        key = f"{train_set.fingerprint}:train-global:ff_500_500_2000"
        for method in methods:
            for seed in tqdm(seeds, desc=f"G {name} {method}", disable=not progress):
                out = run_deep_clustering(method, X_train, train_set.n_classes, seed=seed, dataset_key=key, **train,
                                          **(method_params or {}).get(method, {}))
                for split, part, labels in (("train", train_set, out["labels"]),
                                            ("test", test_set, out["estimator"].predict(X_test))):
                    row = _log(run, part, method, {"experiment": "G", "split": split}, seed, labels, out, note=how)
                    rows.append({**row, "split": split, "partition": how})
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame, by) -> pd.DataFrame:
    """NMI, ARI, ACC as mean ± SD over seeds in % (as the paper prints), and seconds per epoch."""
    return summary_mean_std(frame, by, seconds="epoch_s", seconds_label="s/epoch", scale="percent")


def compare_with_paper(frame: pd.DataFrame, table: str, setting: str, *,
                       stand_ins: dict | None = None) -> pd.DataFrame:
    """Our mean ± std beside ClustPy Table ``table`` (fractions), where datasets overlap.

    ``stand_ins`` maps one of our datasets to the paper's dataset it stands in for (``{"digits": "optdigits"}``:
    scikit-learn's digits is the 1,797-image test part of Optdigits); such rows keep our name in ``ours_dataset``.
    """
    stand_ins = dict(stand_ins or {})
    ours = frame.melt(id_vars=["dataset", "method", "seed"], value_vars=["nmi", "ari", "acc"], var_name="metric")
    ours["method"] = ours["method"].map(PAPER_METHOD_NAMES)
    ours["setting"] = setting
    aggregated = results.aggregate(ours)
    aggregated.insert(0, "ours_dataset", aggregated["dataset"])
    aggregated["dataset"] = aggregated["dataset"].map(lambda d: stand_ins.get(d, d))
    side = paper.compare(aggregated, paper.load("clustpy2023", table))
    side.insert(0, "ours_dataset", aggregated["ours_dataset"].to_numpy())
    return side[side["paper"].notna()].reset_index(drop=True)


def figure_runtime(frame: pd.DataFrame, ax=None):
    """Figure 1: clustering time per method (pretraining excluded), spread over seeds."""
    fig, ax = (plt.subplots(figsize=(5.6, 3.4), layout="constrained") if ax is None else (ax.figure, ax))
    sns.violinplot(data=frame, x="method", y="clustering_s", hue="dataset", ax=ax, cut=0, density_norm="width")
    ax.set_xlabel("method  (violins: spread over seeds)")
    ax.set_ylabel("clustering time (s)")
    ax.set_title("Runtime per method (Fig. 1)")
    return fig


def figure_by_value(frame: pd.DataFrame, value: str, *, title: str, log_x: bool = False, ax=None):
    """Figures 2 and 4: ACC (%) mean ± std over seeds against a swept value, one line per method."""
    agg = frame.assign(acc=100 * frame["acc"]).groupby(["method", value], as_index=False)["acc"].agg(
        acc="mean", std="std").fillna(0.0)
    fig = plots.line_mean_std(agg, x=value, mean="acc", std="std", hue="method", ax=ax, ylabel="ACC (%)",
                              title=title)
    if log_x:
        from matplotlib.ticker import NullFormatter

        ax = fig.axes[0]
        ax.set_xscale("log")
        ticks = sorted(agg[value].unique())
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
    return fig


def figure_initialisation(frame: pd.DataFrame, ax=None):
    """Figure 3: ACC per method and initial clustering (AE+<init> is the initial clustering itself)."""
    frame = frame.assign(init=frame["initial_clustering"].map(INIT_NAMES).fillna(frame["initial_clustering"]),
                         method=frame["method"].map(PAPER_METHOD_NAMES).str.replace("+KMeans", "+init"),
                         acc=100 * frame["acc"])
    return plots.bar_mean_std(frame, x="method", y="acc", hue="init", ax=ax, ylabel="ACC (%)",
                              title="Initial clustering (Fig. 3)")


def figure_augmentation(plain: pd.DataFrame, augmented: pd.DataFrame, ax=None):
    """Table IV as a chart: ACC per method without and with augmentation, on the data sets both ran."""
    both = pd.concat([plain.assign(augmentation="none"), augmented.assign(augmentation="affine")])
    both = both[both["dataset"].isin(set(augmented["dataset"]))]
    names = both["method"].map(PAPER_METHOD_NAMES)
    both = both.assign(method=names if both["dataset"].nunique() == 1 else both["dataset"] + ": " + names,
                       acc=100 * both["acc"])
    return plots.bar_mean_std(both, x="method", y="acc", hue="augmentation", ax=ax, ylabel="ACC (%)",
                              title="Augmentation (Table IV)")


def figure_generalisation(frame: pd.DataFrame, ax=None):
    """Figure 5: ACC on the train and the unseen test part per method."""
    return plots.bar_mean_std(frame.assign(acc=100 * frame["acc"]), x="method", y="acc", hue="split", ax=ax,
                              ylabel="ACC (%)", title="Generalisation: train vs. test (Fig. 5)")
