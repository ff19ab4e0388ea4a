"""Study 5 (Shiran & Weinshall 2021): MMDC's main results and ablations with :class:`clustlib.deep.MMDC`.

The loops behind ``notebooks/05_mmdc.ipynb``: each (dataset, ablation setting, seed) trains one MMDC network
with the thesis's settings for that dataset (:data:`clustlib.deep.MMDC_SETTINGS`; preset ``"readme"``: the
README command, :data:`clustlib.deep.MMDC_README_SETTINGS`) and is scored by the mixture component nearest to
each image's output (Table 4.2). The ablation settings cross the Sobel input filter with the RotNet task
(Table 4.3, setting strings ``"sobel=0,rotation=1"`` as in the paper table); the rotation task needs the
ResNet18's rotation head, so networks without one (the small VGG of MNIST) run ``rotation=0`` only.
Table 4.5 compares each dataset's main setting before and after the refinement stage. Figures: the ablation
bars, the training curves from ``history_`` (loss, share of targets reassigned, refinement start), and the
before/after-refinement bars.

Which state each table reports. The thesis refines only MNIST in its main table (Sec. 4.4), so Table 4.2's
MNIST cells are after refinement and its other cells, like all of Table 4.3 (CIFAR-10), are the networks
without it; they equal Table 4.5's "before" column. Table 4.5's "before" is the *same* run's state when
its refinement starts (``MMDC.labels_before_refinement_``: the network after ``refine_epoch`` epochs, which
the authors' code evaluates and logs), "after" its final state:

* a main setting that refines (MNIST; every dataset under the README preset) gives both columns itself;
* a main setting without refinement (the thesis's ResNet18 datasets) is trained once more with the refinement
  stage appended after its schedule, as the thesis describes it ("performed after the main training is
  concluded"): ``epochs = E + refinement_epochs, refine_epoch = E``. Its first E epochs are those of the main
  run, bit for bit (same seed). The thesis gives no length for the stage; 50 epochs is what the README gives it
  (epochs 350-400).

:func:`compare_with_paper` joins each table with the state it reports: a network that refined (README preset)
is compared with Tables 4.2 (non-MNIST) and 4.3 through its state before refinement. The thesis prints the
average of 5 runs ± the standard error; the comparison shows our standard error beside it
(:func:`comparison_table`).

Choices the thesis leaves open, made here and stated in the notebook:

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

__all__ = ["METHOD", "PAPER_METHOD", "PRESETS", "DATASET_SETTINGS", "IMAGE_SIZES", "NO_ROTATION_LR",
           "REFINEMENT_EPOCHS", "MMDCRuns", "validate", "validate_params",
           "setting_name", "ablation_settings", "image_size", "estimator_kwargs", "refinement_kwargs", "settings_table",
           "prepare_inputs", "load_inputs", "run_grid", "summary", "compare_with_paper", "comparison_table",
           "show_comparison", "figure_ablation", "figure_training_curves", "figure_refinement"]

#: Our method name in the records, and the paper's row label for its own method.
METHOD = "MMDC"
PAPER_METHOD = "Ours"
#: The study's presets: the thesis's settings per dataset, or the README commands.
PRESETS = ("thesis", "readme")
#: Dataset -> the row (a key of :data:`clustlib.deep.MMDC_SETTINGS` and ``MMDC_README_SETTINGS``) it runs with.
DATASET_SETTINGS = {"mnist": "mnist", "fashion_mnist": "mnist", "kmnist": "mnist", "usps": "mnist",
                    "digits": "mnist", "optdigits": "mnist", "cifar10": "cifar10", "cifar100_20": "cifar100_20",
                    "stl10": "stl10", "imagenet10": "imagenet10", "tiny_imagenet": "tiny_imagenet"}
#: Dataset -> the image size the code feeds (its crops are resized to the network input from there).
IMAGE_SIZES = {"mnist": 28, "cifar10": 32, "cifar100_20": 32, "stl10": 96, "imagenet10": 96, "tiny_imagenet": 64}
#: Learning rate of the ResNet18 without the rotation task (thesis, Section 4.4.1).
NO_ROTATION_LR = 0.01
#: Epochs of the refinement stage appended after a schedule that has none (the README's: epochs 350-400).
REFINEMENT_EPOCHS = 50
_RESERVED = {"n_clusters", "sobel", "rotation", "random_state", "device", "progress", "checkpoint_path"}
_TUPLE_PARAMS = ("lr_milestones", "crop_sizes")  # YAML gives lists
_VALIDATE_MAX_ROWS = 4096


class MMDCRuns(NamedTuple):
    """What :func:`run_grid` returns.

    Attributes
    ----------
    scores : DataFrame
        One row per (dataset, setting, seed): ``dataset, method, setting, sobel, rotation, network, epochs,
        refine_epoch, refined, seed, nmi, ari, acc, nmi_before, ari_before, acc_before, n_clusters_found, fit_s,
        epoch_s``; ``refined`` says whether the network went through the refinement stage, the ``*_before``
        scores are its state when refinement started (NaN without refinement).
    history : DataFrame
        One row per epoch: ``dataset, setting, seed, epoch, loss, rotation_loss, reassigned_fraction, refined,
        lr``.
    refinement : DataFrame
        Table 4.5: one row per (dataset, stage, seed) with ``stage`` in {"before_refinement",
        "after_refinement"}, ``setting`` (the main setting), ``source`` ("main run", or "refinement appended"
        for the second run of a main setting without refinement) and ``nmi, ari, acc``; both stages of a seed
        come from one network. Empty when not run.
    """

    scores: pd.DataFrame
    history: pd.DataFrame
    refinement: pd.DataFrame


def setting_name(sobel: bool, rotation: bool) -> str:
    """The ``setting`` string of Table 4.3: ``"sobel=0,rotation=1"``."""
    return f"sobel={int(bool(sobel))},rotation={int(bool(rotation))}"


def _settings(preset: str) -> dict:
    from clustlib.deep.mmdc import MMDC_README_SETTINGS, MMDC_SETTINGS

    if preset not in PRESETS:
        raise InvalidParameter(f"preset must be one of {list(PRESETS)}, got {preset!r}.")
    return MMDC_SETTINGS if preset == "thesis" else MMDC_README_SETTINGS


def estimator_kwargs(dataset: str, *, sobel: bool = False, rotation: bool | None = None,
                     overrides: dict | None = None, preset: str = "thesis") -> dict:
    """The :class:`~clustlib.deep.MMDC` arguments of one (dataset, ablation setting).

    The dataset's row of ``preset`` (the thesis's or the README command; without its crop sizes when the
    images are fed at another size than the code's, so MMDC scales its crop fractions), then ``sobel`` and
    ``rotation`` (None keeps the row's), the thesis's lr 0.01 for a ResNet18 without the rotation task, then
    ``overrides`` (lists of ``lr_milestones`` and ``crop_sizes`` become tuples). Returns the arguments without
    ``n_clusters``, ``random_state``, ``device``.
    """
    settings = _settings(preset)
    if dataset not in DATASET_SETTINGS:
        raise InvalidParameter(f"No MMDC setting for dataset {dataset!r}; supported: {sorted(DATASET_SETTINGS)}.")
    kwargs = dict(settings[DATASET_SETTINGS[dataset]], sobel=bool(sobel))
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


def refinement_kwargs(resolved: dict, refinement_epochs: int = REFINEMENT_EPOCHS) -> dict | None:
    """The changes that give a network without a refinement stage one, appended after its schedule.

    ``resolved`` is :meth:`MMDC.check_params` of the main setting. Returns None when it already refines (its
    own run gives Table 4.5's both columns), else ``{"epochs": E + refinement_epochs, "refine_epoch": E}``:
    the first E epochs are the main run's, then k-means refinement (Sec. 3.5, "performed after the main
    training is concluded").
    """
    if resolved["refine_epoch"] < resolved["epochs"]:
        return None
    return {"epochs": resolved["epochs"] + int(refinement_epochs), "refine_epoch": resolved["epochs"]}


def _network(dataset: str, overrides: dict | None) -> str:
    return (overrides or {}).get("network", _settings("thesis")[DATASET_SETTINGS[dataset]]["network"])


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


def validate(datasets, sobel, rotation, seeds, *, preset: str = "thesis", estimator_params: dict | None = None,
             subsets: dict | None = None, refinement: bool = True, refinement_epochs: int = REFINEMENT_EPOCHS,
             ablation_datasets=None) -> None:
    """Known preset and datasets, boolean ablation values, seeds, and MMDC arguments its own
    :meth:`~clustlib.deep.MMDC.check_params` accepts for every (dataset, setting), the Table 4.5 run included; all
    checked before any data is loaded."""
    from clustlib.deep import MMDC

    _settings(preset)
    check_list("datasets", datasets, DATASET_SETTINGS)
    for name, values in (("sobel", sobel), ("rotation", rotation)):
        if not isinstance(values, (list, tuple)) or not values or not all(isinstance(v, bool) for v in values):
            raise InvalidParameter(f"{name} must list true/false values, e.g. [false, true], got {values!r}.")
    check_seeds(seeds)
    if not isinstance(refinement, bool):
        raise InvalidParameter(f"refinement must be true or false, got {refinement!r}.")
    if not isinstance(refinement_epochs, int) or isinstance(refinement_epochs, bool) or refinement_epochs < 1:
        raise InvalidParameter(f"refinement_epochs must be an integer >= 1, got {refinement_epochs!r}.")
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
        for i, (s, r) in enumerate(ablation_settings(dataset, sobel, rotation, estimator_params, ablation_datasets)):
            kwargs = estimator_kwargs(dataset, sobel=s, rotation=r, overrides=estimator_params, preset=preset)
            model = MMDC(info["n_classes"], **kwargs)
            extra = refinement_kwargs(model.check_params(shape_only), refinement_epochs) if refinement and i == 0 \
                else None
            if extra:
                model.set_params(**extra).check_params(shape_only)


def validate_params(params: dict) -> None:
    """Every parameter of the notebook, checked by :func:`validate` before its kernel starts (``clustlib run``
    calls this)."""
    check_datasets(params["datasets"], params["subsets"])
    validate(params["datasets"], params["sobel"], params["rotation"], params["seeds"], preset=params["preset"],
             estimator_params=params["estimator_params"], subsets=params["subsets"], refinement=params["refinement"],
             refinement_epochs=params["refinement_epochs"], ablation_datasets=params["ablation_datasets"])


def settings_table(datasets, sobel, rotation, *, preset: str = "thesis", estimator_params: dict | None = None,
                   ablation_datasets=None) -> pd.DataFrame:
    """The MMDC arguments each (dataset, setting) runs with, one row each (for the notebook to show)."""
    rows = []
    for dataset in datasets:
        for s, r in ablation_settings(dataset, sobel, rotation, estimator_params, ablation_datasets):
            kwargs = estimator_kwargs(dataset, sobel=s, rotation=r, overrides=estimator_params, preset=preset)
            rows.append({"dataset": dataset, "setting": setting_name(s, r), "preset": preset,
                         "row": DATASET_SETTINGS[dataset], "image_size": image_size(dataset), **kwargs})
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


def _evaluate(labels_true, labels) -> dict:
    return metrics.evaluate(labels_true, labels, metrics=("nmi", "ari", "acc"))


def run_grid(run: results.Run, imagesets: dict, sobel, rotation, seeds, *, preset: str = "thesis",
             estimator_params: dict | None = None, ablation_datasets=None, refinement: bool = True,
             refinement_epochs: int = REFINEMENT_EPOCHS, device: str = "cpu", progress: bool = True) -> MMDCRuns:
    """Train MMDC for every dataset x ablation setting x seed and log NMI, ARI, ACC (Tables 4.2, 4.3, 4.5).

    Records carry ``setting="sobel=0,rotation=1"`` etc. (each network's final state); datasets outside
    ``ablation_datasets`` (None: all) run only their main setting (the first of :func:`ablation_settings`). With
    ``refinement``, each dataset's main setting also logs ``"before_refinement"`` and ``"after_refinement"`` per
    seed (Table 4.5), both states of one network: the main run itself where it refines, else a second run with
    ``refinement_epochs`` of refinement appended after the schedule (:func:`refinement_kwargs`), whose
    "before" is the main run's final state. See :class:`MMDCRuns`.
    """
    from clustlib.deep import MMDC

    estimator_params = estimator_params or {}
    rows, history, refined_rows, appended = [], [], [], []
    settings = {d: ablation_settings(d, sobel, rotation, estimator_params, ablation_datasets) for d in imagesets}
    jobs = [(d, s, r, seed) for d in imagesets for s, r in settings[d] for seed in seeds]
    inputs = {}

    def fit(dataset, s, r, seed, extra=None):
        imageset = imagesets[dataset]
        kwargs = {**estimator_kwargs(dataset, sobel=s, rotation=r, overrides=estimator_params, preset=preset),
                  **(extra or {})}
        key = (dataset, kwargs["network"])
        if key not in inputs:
            inputs[key] = prepare_inputs(imageset, kwargs["network"], image_size(dataset))
        model = MMDC(imageset.n_classes, **kwargs, random_state=seed, device=device, progress=False)
        resolved = model.check_params(inputs[key])
        t0 = time.perf_counter()
        model.fit(inputs[key])
        return model, resolved, time.perf_counter() - t0

    def log_stages(dataset, setting, seed, before, after, source, note):
        for stage, scores in (("before_refinement", before), ("after_refinement", after)):
            run.log(dataset=dataset, method=METHOD, setting=stage, seed=seed, metrics=scores, note=note)
            refined_rows.append({"dataset": dataset, "stage": stage, "setting": setting, "source": source,
                                 "seed": seed, **scores})

    for dataset, s, r, seed in tqdm(jobs, desc="MMDC", disable=not progress):
        labels_true = imagesets[dataset].labels
        model, resolved, fit_s = fit(dataset, s, r, seed)
        setting = setting_name(s, r)
        scores = _evaluate(labels_true, model.labels_)
        refined = model.labels_before_refinement_ is not None
        before = _evaluate(labels_true, model.labels_before_refinement_) if refined else {}
        run.log(dataset=dataset, method=METHOD, setting=setting, seed=seed, metrics=scores, time_s=fit_s,
                note=f"network={model.network_name_}, epochs={resolved['epochs']}, "
                     + (f"refinement from epoch {resolved['refine_epoch']}" if refined else "no refinement")
                     + "; labels = nearest mixture mean")
        rows.append({"dataset": dataset, "method": METHOD, "setting": setting, "sobel": s, "rotation": r,
                     "network": model.network_name_, "epochs": resolved["epochs"],
                     "refine_epoch": resolved["refine_epoch"], "refined": refined, "seed": seed, **scores,
                     **{f"{m}_before": before.get(m, np.nan) for m in ("nmi", "ari", "acc")},
                     "n_clusters_found": int(np.unique(model.labels_).size), "fit_s": fit_s,
                     "epoch_s": model.epoch_seconds_})
        history += _history_rows(dataset, setting, seed, model.history_)
        if refinement and (s, r) == settings[dataset][0]:
            if refined:
                log_stages(dataset, setting, seed, before, scores, "main run",
                           f"{setting}: the network logged as {setting}, when its refinement starts (epoch "
                           f"{resolved['refine_epoch']}) and at the end")
            else:
                appended.append((dataset, s, r, seed, resolved))
    for dataset, s, r, seed, resolved in tqdm(appended, desc="MMDC refinement", disable=not progress):
        extra = refinement_kwargs(resolved, refinement_epochs)
        model, _, _ = fit(dataset, s, r, seed, extra)
        labels_true = imagesets[dataset].labels
        setting = setting_name(s, r)
        log_stages(dataset, setting, seed, _evaluate(labels_true, model.labels_before_refinement_),
                   _evaluate(labels_true, model.labels_), "refinement appended",
                   f"{setting}, same seed, {refinement_epochs} refinement epochs appended after its "
                   f"{resolved['epochs']}: before = the {setting} network, after = that network refined")
    refinement_frame = pd.DataFrame(refined_rows, columns=["dataset", "stage", "setting", "source", "seed", "nmi",
                                                           "ari", "acc"])
    return MMDCRuns(pd.DataFrame(rows), pd.DataFrame(history), refinement_frame)


def summary(frame: pd.DataFrame, by) -> pd.DataFrame:
    """NMI, ARI, ACC as mean ± SD over seeds, fractions (as the paper prints), with the seconds per fit when known."""
    return summary_mean_std(frame, by, seconds="fit_s", seconds_label="fit s", decimals=1)


def _as_the_paper_reports(frame: pd.DataFrame, table: str, stand_ins: dict) -> pd.DataFrame:
    """Each network's scores in the state the paper's table reports: Table 4.2's MNIST cells are after
    refinement (the final state); its other cells and Table 4.3 are networks without refinement, so a network
    that refined (``refined``, README preset) enters with its ``*_before`` scores."""
    if "refined" not in frame:
        return frame
    frame = frame.copy()
    unrefined = frame["refined"].astype(bool)
    if table == "4.2":
        unrefined &= frame["dataset"].map(lambda d: stand_ins.get(d, d)) != "mnist"
    for m in ("nmi", "ari", "acc"):
        frame[m] = frame[m].where(~unrefined, frame[f"{m}_before"])
    return frame


def compare_with_paper(frame: pd.DataFrame, table: str = "4.3", *, stand_ins: dict | None = None) -> pd.DataFrame:
    """Our mean ± std (and standard error) beside the paper's Table ``table`` where datasets and settings overlap;
    fractions.

    ``"4.2"``: each dataset's main setting (the first setting of ``frame`` per dataset) against the paper's
    average over runs (``setting="avg"``); ``"4.3"``: every Sobel x rotation setting; both take each network in
    the state the table reports (after refinement for Table 4.2's MNIST, before it otherwise; see the module
    docstring). ``"4.5"``: ``frame`` is :attr:`MMDCRuns.refinement` (column ``stage``), the main setting of each
    dataset. The paper's own row label is "Ours". Columns: those of :func:`clustlib.paper.compare` and
    ``ours_se`` (std / sqrt(n), the statistic the thesis prints beside its averages).

    ``stand_ins`` maps one of our datasets to the paper's dataset it stands in for (``{"digits": "mnist"}``
    in the smoke profile); such rows keep our name in ``ours_dataset`` and are not a reproduction.
    """
    if table not in ("4.2", "4.3", "4.5"):
        raise InvalidParameter(f"table must be '4.2', '4.3' or '4.5', got {table!r}.")
    stand_ins = dict(stand_ins or {})
    frame = frame.copy()
    if table == "4.5":
        main = frame.groupby("dataset", sort=False)["setting"].first()
        frame = frame[frame["setting"] == frame["dataset"].map(main)].assign(setting=frame["stage"])
    else:
        frame = _as_the_paper_reports(frame, table, stand_ins)
    if table == "4.2":
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
    side.insert(side.columns.get_loc("ours_std") + 1, "ours_se", side["ours_std"] / np.sqrt(side["n"]))
    return side[side["paper"].notna()].reset_index(drop=True)


def comparison_table(side: pd.DataFrame, *, scale: str = "fraction") -> pd.DataFrame:
    """:func:`clustlib.findings.comparison_table` of a :func:`compare_with_paper` frame, with our standard error
    beside the thesis's (its ± is the standard error over 5 runs) and the SD column kept, labelled as such."""
    from clustlib import findings

    out = findings.comparison_table(side, scale=scale, paper_spread="SE")
    column = next(c for c in out.columns if c.startswith("ours mean ± SD"))
    out.insert(out.columns.get_loc(column) + 1, "ours mean ± SE (n seeds)",
               [findings.format_mean_sd(m, se, int(n), scale=scale)
                for m, se, n in zip(side["ours_mean"], side["ours_se"], side["n"])])
    return out


def show_comparison(side: pd.DataFrame, title: str, *, datasets, stand_ins: dict | None = None, table: str) -> None:
    """Show :func:`comparison_table` under ``title``, or (no row) the sentence of
    :func:`clustlib.findings.show_comparison` saying why it is empty."""
    from clustlib import findings

    if side is None or len(side) == 0:
        findings.show_comparison(side, title, datasets=datasets, paper_name="mmdc2021", tables=(table,),
                                 stand_ins=stand_ins, paper_spread="SE")
    else:
        findings.show_table(comparison_table(side), title, empty="")


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
    """Table 4.3: ``metric`` per dataset and Sobel x rotation setting, mean ± std over seeds (a network that
    refined enters before its refinement, as Table 4.3's networks had none). Black dashes: the
    paper's Table 4.3, which has CIFAR-10 only (no other table's value is drawn over an ablation it is not from);
    without CIFAR-10 the legend says so."""
    stand_ins = dict(stand_ins or {})
    scores = _as_the_paper_reports(scores, "4.3", stand_ins)
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
