"""Study 5 (Shiran & Weinshall 2021): MMDC's main results and ablations with :class:`clustlib.deep.MMDC`.

The loops behind ``notebooks/05_mmdc.ipynb``: each (dataset, ablation setting, seed) trains one MMDC network
with the README command of that dataset (:data:`clustlib.deep.MMDC_SETTINGS`) and is scored by the mixture
component nearest to each image's output (Table 4.2). The ablation settings cross the Sobel input filter with
the RotNet task (Table 4.3, setting strings ``"sobel=0,rotation=1"`` as in the paper table); the rotation task
needs the ResNet18's rotation head, so networks without one (the small VGG of MNIST) run ``rotation=0`` only.
Table 4.5 compares each dataset's main setting with and without the refinement stage. Figures: the ablation
bars, the training curves from ``history_`` (loss, share of targets reassigned, refinement start), and the
before/after-refinement bars.

Choices the paper leaves open, made here and stated in the notebook:

* "Before refinement" (Table 4.5) is a second network with the same seed (:attr:`MMDCHistory` keeps no labels
  per epoch, so the refined fit cannot give them), in one of two readings (:data:`BEFORE_REFINEMENT`):
  ``"no_refinement"`` (default) trains the whole schedule with ``refine_epoch = epochs``: the thesis runs its main
  table without refinement except on MNIST and prints those numbers as the "before" column;
  ``"refine_start"`` stops at ``epochs = refine_epoch``, which is bit for bit the refined run's state when its
  refinement starts (same seed, same random stream; cheaper, used by the CPU profiles).
* Without the rotation task the thesis lowers the learning rate to 0.01 ("for training to converge"); the
  ResNet18 runs with ``rotation=0`` use lr 0.01 unless ``estimator_params`` sets ``lr``.
* Images are fed at the size the code feeds each dataset (:data:`IMAGE_SIZES`: MNIST 28, CIFAR 32, STL-10 and
  ImageNet-10 96, Tiny-ImageNet 64); other datasets (digits) are resized to the network's input size, 32.
  Pixels in [0, 1], channels first; grey for the VGG, RGB (grey repeated) for the ResNet18.

References
----------
G. Shiran, D. Weinshall, "Multi-Modal Deep Clustering: Unsupervised Partitioning of Images", ICPR 2020
(arXiv:1912.02678); M.Sc. thesis, Hebrew University of Jerusalem. Code: https://github.com/guysrn/mmdc
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.ticker import MaxNLocator
from tqdm.auto import tqdm

from clustlib import data, metrics, paper, plots, results
from clustlib.errors import InvalidParameter
from clustlib.studies._common import (check_datasets, check_estimator_params, check_list, check_seeds,
                                     load_image_trees_at, summary_mean_std)

__all__ = ["METHOD", "PAPER_METHOD", "DATASET_SETTINGS", "IMAGE_SIZES", "NO_ROTATION_LR", "BEFORE_REFINEMENT",
           "MMDCRuns", "validate", "validate_params",
           "setting_name", "ablation_settings", "image_size", "estimator_kwargs", "settings_table", "prepare_inputs",
           "load_inputs", "run_grid", "summary", "compare_with_paper", "figure_ablation", "figure_training_curves",
           "figure_refinement"]

#: Our method name in the records, and the paper's row label for its own method.
METHOD = "MMDC"
PAPER_METHOD = "Ours"
#: Dataset -> the README command (a key of :data:`clustlib.deep.MMDC_SETTINGS`) it runs with.
DATASET_SETTINGS = {"mnist": "mnist", "fashion_mnist": "mnist", "kmnist": "mnist", "usps": "mnist",
                    "digits": "mnist", "optdigits": "mnist", "cifar10": "cifar10", "cifar100_20": "cifar100_20",
                    "stl10": "stl10", "imagenet10": "imagenet10", "tiny_imagenet": "tiny_imagenet"}
#: Dataset -> the image size the code feeds (its crops are resized to the network input from there).
IMAGE_SIZES = {"mnist": 28, "cifar10": 32, "cifar100_20": 32, "stl10": 96, "imagenet10": 96, "tiny_imagenet": 64}
#: Learning rate of the ResNet18 without the rotation task (thesis, Section 4.4.1).
NO_ROTATION_LR = 0.01
#: Readings of Table 4.5's "before refinement" run -> what it changes in the main setting's arguments.
BEFORE_REFINEMENT = {"no_refinement": "refine_epoch = epochs (whole schedule, no refinement stage)",
                     "refine_start": "epochs = refine_epoch (stops where refinement starts)"}
_RESERVED = {"n_clusters", "sobel", "rotation", "random_state", "device", "progress", "checkpoint_path"}
_TUPLE_PARAMS = ("lr_milestones", "crop_sizes")  # YAML gives lists
_VALIDATE_MAX_ROWS = 4096


class MMDCRuns(NamedTuple):
    """What :func:`run_grid` returns.

    Attributes
    ----------
    scores : DataFrame
        One row per (dataset, setting, seed): ``dataset, method, setting, sobel, rotation, network, epochs,
        refine_epoch, seed, nmi, ari, acc, n_clusters_found, fit_s, epoch_s``.
    history : DataFrame
        One row per epoch: ``dataset, setting, seed, epoch, loss, rotation_loss, reassigned_fraction, refined,
        lr``.
    refinement : DataFrame
        Table 4.5: one row per (dataset, stage, seed) with ``stage`` in {"before_refinement",
        "after_refinement"}, ``setting`` (the main setting) and ``nmi, ari, acc``; empty when not run.
    """

    scores: pd.DataFrame
    history: pd.DataFrame
    refinement: pd.DataFrame


def setting_name(sobel: bool, rotation: bool) -> str:
    """The ``setting`` string of Table 4.3: ``"sobel=0,rotation=1"``."""
    return f"sobel={int(bool(sobel))},rotation={int(bool(rotation))}"


def estimator_kwargs(dataset: str, *, sobel: bool = False, rotation: bool | None = None,
                     overrides: dict | None = None) -> dict:
    """The :class:`~clustlib.deep.MMDC` arguments of one (dataset, ablation setting).

    The dataset's README command (without its crop sizes when the images are fed at another size than the
    README's, so MMDC scales its crop fractions), then ``sobel`` and ``rotation`` (None keeps the README's),
    the thesis's lr 0.01 for a ResNet18 without the rotation task, then ``overrides`` (lists of ``lr_milestones`` and
    ``crop_sizes`` become tuples). Returns the arguments without ``n_clusters``, ``random_state``, ``device``.
    """
    from clustlib.deep import MMDC_SETTINGS

    if dataset not in DATASET_SETTINGS:
        raise InvalidParameter(f"No MMDC setting for dataset {dataset!r}; supported: {sorted(DATASET_SETTINGS)}.")
    kwargs = dict(MMDC_SETTINGS[DATASET_SETTINGS[dataset]], sobel=bool(sobel))
    if image_size(dataset) != IMAGE_SIZES[DATASET_SETTINGS[dataset]]:
        del kwargs["crop_sizes"]  # MMDC scales the README's crop fractions to the image size (digits: 27/23/18)
    overrides = dict(overrides or {})
    if "network" in overrides and overrides["network"] != kwargs["network"]:
        kwargs["rotation"] = None  # the new network's default
    if rotation is not None:
        kwargs["rotation"] = bool(rotation)
    network = overrides.get("network", kwargs["network"])
    if network == "resnet18" and kwargs["rotation"] is False and "lr" not in overrides:
        kwargs["lr"] = NO_ROTATION_LR
    kwargs.update({k: tuple(v) if k in _TUPLE_PARAMS and isinstance(v, list) else v for k, v in overrides.items()})
    return kwargs


def _network(dataset: str, overrides: dict | None) -> str:
    from clustlib.deep import MMDC_SETTINGS

    return (overrides or {}).get("network", MMDC_SETTINGS[DATASET_SETTINGS[dataset]]["network"])


def ablation_settings(dataset: str, sobel, rotation, overrides: dict | None = None,
                      ablation_datasets=None) -> list[tuple[bool, bool]]:
    """(sobel, rotation) pairs to run on ``dataset``: ``sobel x rotation``, with rotation kept to False for a
    network without a rotation head (the small VGG). Order as given; the first pair is the main setting, the
    only one run on a dataset outside ``ablation_datasets`` (None: every dataset runs the whole grid)."""
    has_head = _network(dataset, overrides) == "resnet18"
    rotations = [bool(r) for r in rotation if has_head or not r] or [False]
    pairs = list(dict.fromkeys((bool(s), r) for s in sobel for r in rotations))
    return pairs if ablation_datasets is None or dataset in ablation_datasets else pairs[:1]


def image_size(dataset: str) -> int:
    """Side of the images fed to MMDC: :data:`IMAGE_SIZES`, else the networks' input size (32)."""
    return IMAGE_SIZES.get(dataset, 32)


def validate(datasets, sobel, rotation, seeds, *, estimator_params: dict | None = None,
             subsets: dict | None = None, refinement: bool = True, before_refinement: str = "no_refinement",
             ablation_datasets=None) -> None:
    """Known datasets, boolean ablation values, seeds, and MMDC arguments its own :meth:`~clustlib.deep.MMDC.
    check_params` accepts for every (dataset, setting); all checked before any data is loaded."""
    from clustlib.deep import MMDC

    check_list("datasets", datasets, DATASET_SETTINGS)
    for name, values in (("sobel", sobel), ("rotation", rotation)):
        if not isinstance(values, (list, tuple)) or not values or not all(isinstance(v, bool) for v in values):
            raise InvalidParameter(f"{name} must list true/false values, e.g. [false, true], got {values!r}.")
    check_seeds(seeds)
    if not isinstance(refinement, bool):
        raise InvalidParameter(f"refinement must be true or false, got {refinement!r}.")
    if before_refinement not in BEFORE_REFINEMENT:
        raise InvalidParameter(f"before_refinement must be one of {list(BEFORE_REFINEMENT)}, got "
                               f"{before_refinement!r}.")
    if ablation_datasets is not None:
        unknown = [d for d in ablation_datasets if d not in datasets] if isinstance(ablation_datasets, (list, tuple)) \
            else ablation_datasets
        if unknown:
            raise InvalidParameter(f"ablation_datasets must list datasets that are in datasets ({list(datasets)}), "
                                   f"got {unknown!r}.")
    subsets = {} if subsets is None else subsets
    unknown = [d for d in subsets if d not in datasets]
    if unknown:
        raise InvalidParameter(f"subsets names datasets that are not in datasets: {unknown}; datasets are "
                               f"{list(datasets)}.")
    estimator_params = check_estimator_params(estimator_params, MMDC(), _RESERVED,
                                              "n_clusters, sobel, rotation, random_state and device")
    for dataset in datasets:
        info = data.dataset_info(dataset)
        n = subsets.get(dataset) or info["splits"].get("all") or info.get("paper_n_samples") or 10_000
        network = _network(dataset, estimator_params)
        channels = 3 if network == "resnet18" else 1
        size = image_size(dataset)
        # no memory; at most 4,096 rows because MMDC's colour-jitter check reads every pixel (min/max), and no
        # check but n_clusters <= N depends on N (4,096 > the classes of every dataset here)
        shape_only = np.broadcast_to(np.float32(0), (min(n, _VALIDATE_MAX_ROWS), channels, size, size))
        for s, r in ablation_settings(dataset, sobel, rotation, estimator_params, ablation_datasets):
            kwargs = estimator_kwargs(dataset, sobel=s, rotation=r, overrides=estimator_params)
            resolved = MMDC(info["n_classes"], **kwargs).check_params(shape_only)
            if refinement and resolved["refine_epoch"] >= resolved["epochs"]:
                raise InvalidParameter(f"refinement=True compares runs with and without the refinement stage, but "
                                       f"{dataset} refines from epoch {resolved['refine_epoch']} of "
                                       f"{resolved['epochs']}; lower refine_epoch or set refinement=false.")


def validate_params(params: dict) -> None:
    """Every parameter of the notebook, checked by :func:`validate` before its kernel starts (``clustlib run``
    calls this)."""
    check_datasets(params["datasets"], params["subsets"])
    validate(params["datasets"], params["sobel"], params["rotation"], params["seeds"],
             estimator_params=params["estimator_params"], subsets=params["subsets"], refinement=params["refinement"],
             before_refinement=params["before_refinement"], ablation_datasets=params["ablation_datasets"])


def settings_table(datasets, sobel, rotation, *, estimator_params: dict | None = None,
                   ablation_datasets=None) -> pd.DataFrame:
    """The MMDC arguments each (dataset, setting) runs with, one row each (for the notebook to show)."""
    rows = []
    for dataset in datasets:
        for s, r in ablation_settings(dataset, sobel, rotation, estimator_params, ablation_datasets):
            kwargs = estimator_kwargs(dataset, sobel=s, rotation=r, overrides=estimator_params)
            rows.append({"dataset": dataset, "setting": setting_name(s, r), "readme": DATASET_SETTINGS[dataset],
                         "image_size": image_size(dataset), **kwargs})
    return pd.DataFrame(rows)


def prepare_inputs(imageset, network: str, size: int) -> np.ndarray:
    """MMDC's input for one ImageSet: resized to ``size`` (:func:`clustlib.data.resize_images`), channels first,
    pixels / 255 in [0, 1] (the code's ``ToTensor``, no standardisation); 1 grey channel for the VGG, 3 for the
    ResNet18 (grey images repeated, colour ones as they are).

    Returns
    -------
    ndarray of float32, shape (N, C, size, size), C = 1 (VGG) or 3 (ResNet18)
    """
    from clustlib.deep.mmdc_networks import MMDC_NETWORKS

    if network not in MMDC_NETWORKS:
        raise InvalidParameter(f"Unknown network {network!r}; valid: {list(MMDC_NETWORKS)}.")
    images = data.resize_images(imageset.images, size)  # (N, S, S, C) uint8
    if network == "vgg" and images.shape[-1] == 3:
        grey = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601-2 luma
        x = (grey / np.float32(255))[:, None]  # (N, 1, S, S)
    else:
        x = images.transpose(0, 3, 1, 2) / np.float32(255)  # (N, C, S, S)
        if network == "resnet18" and x.shape[1] == 1:
            x = np.repeat(x, 3, axis=1)
    return np.ascontiguousarray(x, dtype=np.float32)


def load_inputs(datasets, subsets: dict | None = None, *, seed: int = 0, root=None) -> dict:
    """``{name: ImageSet}``, each cut to a stratified subset where ``subsets[name]`` > 0; image trees
    (ImageNet-10) are decoded straight at 96x96, the size the code feeds them."""
    return load_image_trees_at(IMAGE_SIZES, datasets, subsets, seed=seed, root=root)


def _history_rows(dataset: str, setting: str, seed: int, history) -> list[dict]:
    return [{"dataset": dataset, "setting": setting, "seed": seed, "epoch": e + 1, "loss": loss,
             "rotation_loss": rot, "reassigned_fraction": moved, "refined": refined, "lr": lr}
            for e, (loss, rot, moved, refined, lr) in enumerate(zip(
                history.losses, history.rotation_losses, history.reassigned_fraction, history.refined,
                history.learning_rates))]


def run_grid(run: results.Run, imagesets: dict, sobel, rotation, seeds, *, estimator_params: dict | None = None,
             ablation_datasets=None, refinement: bool = True, before_refinement: str = "no_refinement",
             device: str = "cpu", progress: bool = True) -> MMDCRuns:
    """Train MMDC for every dataset x ablation setting x seed and log NMI, ARI, ACC (Tables 4.2, 4.3).

    Records carry ``setting="sobel=0,rotation=1"`` etc.; datasets outside ``ablation_datasets`` (None: all) run
    only their main setting. With ``refinement``, each dataset's main setting (the
    first of :func:`ablation_settings`) is trained once more per seed without the refinement stage (see
    :data:`BEFORE_REFINEMENT`) and both are logged again as ``"before_refinement"`` and ``"after_refinement"``
    (Table 4.5). See :class:`MMDCRuns`.
    """
    from clustlib.deep import MMDC

    estimator_params = estimator_params or {}
    rows, history, refined_rows = [], [], []
    settings = {d: ablation_settings(d, sobel, rotation, estimator_params, ablation_datasets) for d in imagesets}
    jobs = [(d, s, r, seed, False) for d in imagesets for s, r in settings[d] for seed in seeds]
    if refinement:
        jobs += [(d, *settings[d][0], seed, True) for d in imagesets for seed in seeds]
    inputs, main_scores = {}, {}
    for dataset, s, r, seed, without_refinement in tqdm(jobs, desc="MMDC", disable=not progress):
        imageset = imagesets[dataset]
        kwargs = estimator_kwargs(dataset, sobel=s, rotation=r, overrides=estimator_params)
        key = (dataset, kwargs["network"])
        if key not in inputs:
            inputs[key] = prepare_inputs(imageset, kwargs["network"], image_size(dataset))
        X = inputs[key]
        model = MMDC(imageset.n_classes, **kwargs, random_state=seed, device=device, progress=False)
        resolved = model.check_params(X)
        setting = setting_name(s, r)
        if without_refinement and before_refinement == "refine_start":
            model.set_params(epochs=resolved["refine_epoch"])
        elif without_refinement:
            model.set_params(refine_epoch=resolved["epochs"])
        t0 = time.perf_counter()
        model.fit(X)
        fit_s = time.perf_counter() - t0
        scores = metrics.evaluate(imageset.labels, model.labels_, metrics=("nmi", "ari", "acc"))
        if without_refinement:
            note = f"{setting}, same seed, {BEFORE_REFINEMENT[before_refinement]}"
            run.log(dataset=dataset, method=METHOD, setting="before_refinement", seed=seed, metrics=scores,
                    time_s=fit_s, note=note)
            after = main_scores[(dataset, seed)]
            run.log(dataset=dataset, method=METHOD, setting="after_refinement", seed=seed, metrics=after,
                    note=f"{setting}, refinement from epoch {resolved['refine_epoch']} (the network logged as "
                         f"{setting})")
            refined_rows += [{"dataset": dataset, "stage": "before_refinement", "setting": setting, "seed": seed,
                              **scores},
                             {"dataset": dataset, "stage": "after_refinement", "setting": setting, "seed": seed,
                              **after}]
            continue
        run.log(dataset=dataset, method=METHOD, setting=setting, seed=seed, metrics=scores, time_s=fit_s,
                note=f"network={model.network_name_}, epochs={resolved['epochs']}, "
                     f"refine_epoch={resolved['refine_epoch']}; labels = nearest mixture mean")
        if (s, r) == settings[dataset][0]:
            main_scores[(dataset, seed)] = scores
        rows.append({"dataset": dataset, "method": METHOD, "setting": setting, "sobel": s, "rotation": r,
                     "network": model.network_name_, "epochs": resolved["epochs"],
                     "refine_epoch": resolved["refine_epoch"], "seed": seed, **scores,
                     "n_clusters_found": int(np.unique(model.labels_).size), "fit_s": fit_s,
                     "epoch_s": model.epoch_seconds_})
        history += _history_rows(dataset, setting, seed, model.history_)
    refinement_frame = pd.DataFrame(refined_rows, columns=["dataset", "stage", "setting", "seed", "nmi", "ari",
                                                           "acc"])
    return MMDCRuns(pd.DataFrame(rows), pd.DataFrame(history), refinement_frame)


def summary(frame: pd.DataFrame, by) -> pd.DataFrame:
    """NMI, ARI, ACC as mean ± SD over seeds, fractions (as the paper prints), with the seconds per fit when known."""
    return summary_mean_std(frame, by, seconds="fit_s", seconds_label="fit s", decimals=1)


def compare_with_paper(frame: pd.DataFrame, table: str = "4.3", *, stand_ins: dict | None = None) -> pd.DataFrame:
    """Our mean ± std beside the paper's Table ``table`` where datasets and settings overlap; fractions.

    ``"4.2"``: each dataset's main setting (the first setting of ``frame`` per dataset) against the paper's
    average over runs (``setting="avg"``); ``"4.3"``: every Sobel x rotation setting; ``"4.5"``: ``frame`` is
    :attr:`MMDCRuns.refinement` (column ``stage``). The paper's own row label is "Ours".

    ``stand_ins`` maps one of our datasets to the paper's dataset it stands in for (``{"digits": "mnist"}``
    in the smoke profile); such rows keep our name in ``ours_dataset`` and are not a reproduction.
    """
    if table not in ("4.2", "4.3", "4.5"):
        raise InvalidParameter(f"table must be '4.2', '4.3' or '4.5', got {table!r}.")
    stand_ins = dict(stand_ins or {})
    frame = frame.copy()
    if table == "4.5":
        frame["setting"] = frame["stage"]
    elif table == "4.2":
        main = frame.groupby("dataset", sort=False)["setting"].first()
        frame = frame[frame["setting"] == frame["dataset"].map(main)].assign(setting="avg")
    frame["method"] = PAPER_METHOD
    ours = frame.melt(id_vars=["dataset", "method", "setting", "seed"], value_vars=["nmi", "ari", "acc"],
                      var_name="metric")
    aggregated = results.aggregate(ours)
    aggregated.insert(0, "ours_dataset", aggregated["dataset"])
    aggregated["dataset"] = aggregated["dataset"].map(lambda d: stand_ins.get(d, d))
    side = paper.compare(aggregated, paper.load("mmdc2021", table))
    side.insert(0, "ours_dataset", aggregated["ours_dataset"].to_numpy())
    return side[side["paper"].notna()].reset_index(drop=True)


def _paper_dashes(ax, published: pd.DataFrame, order, hue_order, paper_names, hue_column: str) -> None:
    width = 0.8 / len(hue_order)
    labelled = False
    for row in published.itertuples(index=False):
        hue = getattr(row, hue_column)
        if hue not in hue_order:
            continue
        for j in (j for j, name in enumerate(paper_names) if name == row.dataset):
            x = j - 0.4 + width * (hue_order.index(hue) + 0.5)
            label = None if labelled else "paper" + (f" ({row.dataset})" if row.dataset != order[j] else "")
            ax.hlines(row.value, x - width / 2, x + width / 2, colors="black", linewidth=2, label=label)
            labelled = True
    if labelled:
        ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))


def figure_ablation(scores: pd.DataFrame, *, metric: str = "acc", stand_ins: dict | None = None, ax=None):
    """Table 4.3: ``metric`` per dataset and Sobel x rotation setting, mean ± std over seeds. Black dashes: the
    paper's Table 4.3, which has CIFAR-10 only (no other table's value is drawn over an ablation it is not from);
    without CIFAR-10 the legend says so."""
    stand_ins = dict(stand_ins or {})
    order = list(dict.fromkeys(scores["dataset"]))
    hue_order = list(dict.fromkeys(scores["setting"]))
    fig = plots.bar_mean_std(scores, x="dataset", y=metric, hue="setting", ax=ax, order=order, hue_order=hue_order,
                             ylabel=metric.upper(), title=f"Sobel x rotation ablation (Table 4.3), {metric.upper()}")
    ax = fig.axes[0]
    paper_names = [stand_ins.get(d, d) for d in order]
    published = paper.load("mmdc2021", "4.3", metric=metric, dataset=paper_names)
    if len(published):
        _paper_dashes(ax, published, order, hue_order, paper_names, "setting")
    else:  # an empty handle says why there is no paper line
        ax.plot([], [], " ", label="paper: Table 4.3 has CIFAR-10 only")
        ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(*plots.PAPER_YLIM)
    return fig


def figure_training_curves(history: pd.DataFrame, dataset: str | None = None):
    """Training on one dataset, mean over seeds per setting: the clustering MSE (left; the RotNet loss dashed
    where trained), and the share of images whose target changed in the epoch (right: per-batch reassignment,
    then the k-means refinement). The dotted vertical line marks the first refinement epoch."""
    dataset = dataset or history["dataset"].iloc[0]
    part = history[history["dataset"] == dataset]
    mean = part.groupby(["setting", "epoch"], sort=False).mean(numeric_only=True).reset_index()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 3.2), layout="constrained")
    for i, (setting, rows) in enumerate(mean.groupby("setting", sort=False)):
        colour = f"C{i}"
        left.plot(rows["epoch"], rows["loss"], color=colour, marker="o", ms=3, label=f"{setting} MSE")
        if rows["rotation_loss"].notna().any():
            left.plot(rows["epoch"], rows["rotation_loss"], color=colour, ls="--", label=f"{setting} rotation CE")
        right.plot(rows["epoch"], rows["reassigned_fraction"], color=colour, marker="o", ms=3, label=setting)
    refined = part.loc[part["refined"].astype(bool), "epoch"]
    if len(refined):
        for ax in (left, right):
            ax.axvline(refined.min(), color="black", linestyle=":", linewidth=1)
        right.annotate("refinement", (refined.min(), 1.0), xytext=(3, -12), textcoords="offset points",
                       fontsize="small")
    left.set(xlabel="epoch", ylabel="loss", title=f"Training loss ({dataset})")
    right.set(xlabel="epoch", ylabel="share of images", title="Targets reassigned per epoch", ylim=(0, 1.05))
    for ax in (left, right):
        ax.legend(frameon=False, fontsize="small")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def figure_refinement(refinement: pd.DataFrame, *, metric: str = "acc", stand_ins: dict | None = None, ax=None):
    """Table 4.5: ``metric`` before and after the refinement stage per dataset, mean ± std over seeds, with the
    paper's values as black dashes (through ``stand_ins`` as in :func:`compare_with_paper`)."""
    stand_ins = dict(stand_ins or {})
    order = list(dict.fromkeys(refinement["dataset"]))
    hue_order = ["before_refinement", "after_refinement"]
    fig = plots.bar_mean_std(refinement, x="dataset", y=metric, hue="stage", ax=ax, order=order,
                             hue_order=hue_order, ylabel=metric.upper(),
                             title=f"Before and after refinement (Table 4.5), {metric.upper()}")
    ax = fig.axes[0]
    paper_names = [stand_ins.get(d, d) for d in order]
    published = paper.load("mmdc2021", "4.5", metric=metric, dataset=paper_names)
    _paper_dashes(ax, published, order, hue_order, paper_names, "setting")
    ax.set_ylim(*plots.PAPER_YLIM)
    ax.tick_params(axis="x", rotation=0)
    return fig
