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

Size (~1,100 lines): one module holds MMDC's whole study, in its notebook's order: the parameter checks, the jobs (run through :mod:`clustlib.studies._grid`), the paper-table joins and the figures (drawn from the run folder only). ``clustlib figures`` and the tests look a study's names up on this one module; splitting the figures into a sibling module is the next step once :mod:`clustlib.figures` can look beyond it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.ticker import MaxNLocator

from clustlib import data, metrics, paper, plots, results
from clustlib.errors import InvalidParameter
from clustlib.studies._common import (beside_paper, check_datasets, check_estimator_params, check_list, check_seeds,
                                     history_panels, load_image_trees_at, summary_mean_std)
from clustlib.studies._grid import Job, JobContext, check_scheduler, job_slug, run_jobs

__all__ = ["METHOD", "PAPER_METHOD", "PRESETS", "DATASET_SETTINGS", "IMAGE_SIZES", "NO_ROTATION_LR",
           "REFINEMENT_EPOCHS", "FEATURE_COLUMNS", "PAPER_NAMES", "MMDCRuns", "validate", "validate_params",
           "setting_name", "ablation_settings", "image_size", "estimator_kwargs", "refinement_kwargs", "settings_table",
           "prepare_inputs", "load_inputs", "run_grid", "probe_split", "feature_scores", "baseline_kwargs",
           "run_feature_baselines", "save_features", "feature_summary", "grid_setting", "run_target_grid", "summary",
           "compare_with_paper", "comparison_table", "show_comparison", "figure_ablation", "figure_training_curves",
           "figure_refinement", "figure_features", "figure_target_grid", "FIGURES", "FEATURE_MEASURES", "draw_figures"]

#: Our method name in the records, and the paper's row label for its own method.
METHOD = "MMDC"
PAPER_METHOD = "Ours"
#: Our method names -> the row labels of the thesis's tables (Table 4.4 prints "NAT+Rot" and "Ours").
PAPER_NAMES = {"MMDC": "Ours", "NAT": "NAT", "RotNet": "RotNet", "NAT+Rot": "NAT+Rot"}
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
    features : DataFrame
        Table 4.4's "Ours" rows (:data:`FEATURE_COLUMNS`): the main networks of the feature datasets and seeds,
        k-means on their penultimate features and the linear probe. Empty when not run.
    """

    scores: pd.DataFrame
    history: pd.DataFrame
    refinement: pd.DataFrame
    features: pd.DataFrame


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
             ablation_datasets=None, feature_datasets=(), baselines=(), feature_seeds=(),
             baseline_params: dict | None = None, probe_params: dict | None = None, grid_datasets=(), target_dims=(),
             target_sigmas=(), grid_seeds=(), grid_params: dict | None = None) -> None:
    """Known preset and datasets, boolean ablation values, seeds, and MMDC arguments its own
    :meth:`~clustlib.deep.MMDC.check_params` accepts for every (dataset, setting), the Table 4.5 run included;
    Table 4.4's baselines and linear probe and Figure 4.1's grid likewise (:func:`_validate_extras`); all
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
    _validate_extras(datasets, seeds, subsets, preset, estimator_params, feature_datasets, baselines, feature_seeds,
                     baseline_params, probe_params, grid_datasets, target_dims, target_sigmas, grid_seeds, grid_params)


def _shape_only(dataset: str, network: str, subsets: dict) -> np.ndarray:
    info = data.dataset_info(dataset)
    n = subsets.get(dataset) or info["splits"].get("all") or info.get("paper_n_samples") or 10_000
    size = image_size(dataset)
    return np.broadcast_to(np.float32(0), (min(n, _VALIDATE_MAX_ROWS), 3 if network == "resnet18" else 1, size, size))


def _subset_of(name: str, values, valid, what: str) -> None:
    if not isinstance(values, (list, tuple)):
        raise InvalidParameter(f"{name} must be a list, e.g. [], got {values!r}.")
    unknown = [v for v in values if v not in valid]
    if unknown:
        raise InvalidParameter(f"{name} must list {what} ({list(valid)}), got {unknown!r}.")


def _validate_extras(datasets, seeds, subsets, preset, estimator_params, feature_datasets, baselines, feature_seeds,
                     baseline_params, probe_params, grid_datasets, target_dims, target_sigmas, grid_seeds,
                     grid_params) -> None:
    """Table 4.4 (feature datasets and seeds within the main ones, known baselines whose arguments NAT / RotNet
    accept, linear-probe arguments) and Figure 4.1 (positive target dimensions, sigmas >= 0, MMDC arguments)."""
    from clustlib.deep import MMDC
    from clustlib.deep.mmdc.selfsup_baselines import BASELINES, check_probe_params, create_baseline

    _subset_of("feature_datasets", feature_datasets, datasets, "datasets that are in datasets")
    _subset_of("grid_datasets", grid_datasets, datasets, "datasets that are in datasets")
    if feature_datasets:
        _subset_of("baselines", baselines, BASELINES, "Table 4.4 baselines")
        check_seeds(feature_seeds)
        _subset_of("feature_seeds", feature_seeds, seeds, "seeds of the main networks (seeds)")
        check_probe_params(probe_params)
        for name, value in (("baseline_params", baseline_params), ("grid_params", grid_params)):
            if value is not None and not isinstance(value, dict):
                raise InvalidParameter(f"{name} must be a mapping such as {{\"epochs\": 3}}, got {value!r}.")
        reserved = sorted(set(baseline_params or {}) & (_RESERVED | {"target_dim"}))
        if reserved:
            raise InvalidParameter(f"baseline_params may not set {reserved}: the study sets them (NAT's target "
                                   "dimension is the dataset's K, as MMDC's).")
        for dataset in feature_datasets:
            for method in baselines:
                kwargs = baseline_kwargs(dataset, method, preset=preset, estimator_params=estimator_params,
                                         baseline_params=baseline_params)
                create_baseline(method, data.dataset_info(dataset)["n_classes"], **kwargs).check_params(
                    _shape_only(dataset, kwargs["network"], subsets))
    if grid_datasets:
        if not isinstance(target_dims, (list, tuple)) or not target_dims or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in target_dims):
            raise InvalidParameter(f"target_dims must list integers >= 1, e.g. [10, 32], got {target_dims!r}.")
        if not isinstance(target_sigmas, (list, tuple)) or not target_sigmas or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and v >= 0
                for v in target_sigmas):
            raise InvalidParameter(f"target_sigmas must list numbers >= 0, e.g. [0.0, 0.01], got {target_sigmas!r}.")
        check_seeds(grid_seeds)
        grid = check_estimator_params(grid_params, MMDC(), _RESERVED | {"target_dim", "target_sigma", "target_means",
                                                                          "refine_epoch"},
                                      "n_clusters, sobel, rotation, random_state, device and the target mixture")
        for dataset in grid_datasets:
            overrides = {**estimator_params, **grid}
            rotation = ablation_settings(dataset, [False], [True, False], overrides)[0][1]
            kwargs = estimator_kwargs(dataset, sobel=False, rotation=rotation, overrides=overrides, preset=preset)
            for d in target_dims:
                MMDC(data.dataset_info(dataset)["n_classes"], **kwargs, target_dim=d, target_means="random",
                     target_sigma=float(np.sqrt(max(target_sigmas)))).check_params(
                    _shape_only(dataset, kwargs["network"], subsets))


def validate_params(params: dict) -> None:
    """Every parameter of the notebook, checked by :func:`validate` before its kernel starts (``clustlib run``
    calls this)."""
    check_scheduler(params.get("scheduler"))
    check_datasets(params["datasets"], params["subsets"])
    validate(params["datasets"], params["sobel"], params["rotation"], params["seeds"], preset=params["preset"],
             estimator_params=params["estimator_params"], subsets=params["subsets"], refinement=params["refinement"],
             refinement_epochs=params["refinement_epochs"], ablation_datasets=params["ablation_datasets"],
             **{k: params[k] for k in _EXTRA_PARAMS})


#: The notebook parameters of Table 4.4 and Figure 4.1, passed on to :func:`validate` as they are named.
_EXTRA_PARAMS = ("feature_datasets", "baselines", "feature_seeds", "baseline_params", "probe_params", "grid_datasets",
                 "target_dims", "target_sigmas", "grid_seeds", "grid_params")


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
    from clustlib.deep.networks.mmdc import MMDC_NETWORKS

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


def _fit(imageset, kwargs: dict, X: np.ndarray, seed: int, device: str, ctx: JobContext):
    """Train one MMDC with the job's checkpoint; returns (model, resolved parameters, fit seconds)."""
    from clustlib.deep import MMDC

    model = ctx.checkpointed(MMDC(imageset.n_classes, **kwargs, random_state=seed, device=device, progress=False))
    resolved = model.check_params(X)
    t0 = time.perf_counter()
    model.fit(X)
    return model, resolved, time.perf_counter() - t0


def _stage_logs(dataset, setting, seed, before, after, source, note):
    """Table 4.5's two records (before and after refinement) of one network and their table rows."""
    logs, frame = [], []
    for stage, scores in (("before_refinement", before), ("after_refinement", after)):
        logs.append(dict(dataset=dataset, method=METHOD, setting=stage, seed=seed, metrics=scores, note=note))
        frame.append({"dataset": dataset, "stage": stage, "setting": setting, "source": source, "seed": seed,
                      **scores})
    return logs, pd.DataFrame(frame)


def _main_job(job: Job, ctx: JobContext, *, imagesets: dict, inputs: dict, config: dict) -> dict:
    """One :func:`run_grid` network: its record (+ Table 4.5's and 4.4's when it is the main setting) and tables."""
    dataset, seed, spec = job.dataset, job.seed, job.spec
    setting, s, r, main = job.setting, spec["sobel"], spec["rotation"], spec["main"]
    imageset = imagesets[dataset]
    labels_true = imageset.labels
    X = _input(inputs, imageset, dataset, spec["kwargs"]["network"])
    model, resolved, fit_s = _fit(imageset, spec["kwargs"], X, seed, config["device"], ctx)
    scores = _evaluate(labels_true, model.labels_)
    refined = model.labels_before_refinement_ is not None
    before = _evaluate(labels_true, model.labels_before_refinement_) if refined else {}
    logs = [dict(dataset=dataset, method=METHOD, setting=setting, seed=seed, metrics=scores, time_s=fit_s,
                 note=f"network={model.network_name_}, epochs={resolved['epochs']}, "
                      + (f"refinement from epoch {resolved['refine_epoch']}" if refined else "no refinement")
                      + "; labels = nearest mixture mean")]
    score = pd.DataFrame([{"dataset": dataset, "method": METHOD, "setting": setting, "sobel": s, "rotation": r,
                           "network": model.network_name_, "epochs": resolved["epochs"],
                           "refine_epoch": resolved["refine_epoch"], "refined": refined, "seed": seed,
                           **scores, **{f"{m}_before": before.get(m, np.nan) for m in ("nmi", "ari", "acc")},
                           "n_clusters_found": int(np.unique(model.labels_).size), "fit_s": fit_s,
                           "epoch_s": model.epoch_seconds_}])
    refinement_rows = pd.DataFrame()
    if config["refinement"] and main and refined:
        stage, refinement_rows = _stage_logs(
            dataset, setting, seed, before, scores, "main run",
            f"{setting}: the network logged as {setting}, when its refinement starts (epoch "
            f"{resolved['refine_epoch']}) and at the end")
        logs += stage
    feature_rows = pd.DataFrame()
    if main and dataset in config["feature_datasets"] and seed in config["feature_seeds"]:
        row, feature_logs = feature_scores(imageset, dataset, METHOD, model.network_, model.augment_, X, seed,
                                           config["probe_params"], fit_s=fit_s, epochs=resolved["epochs"])
        feature_rows = pd.DataFrame([row])
        logs += feature_logs
    arrays = {}
    if main and spec["first_seed"]:  # Figure 4.2: members of each cluster, failures included
        arrays[f"figure4_2_samples_{dataset}"] = cluster_samples(imageset, model.labels_, seed=seed)
    return {"logs": logs, "arrays": arrays, "tables": {
        "score": score, "history": pd.DataFrame(_history_rows(dataset, setting, seed, model.history_)),
        "refinement": refinement_rows, "features": feature_rows}}


def _appended_job(job: Job, ctx: JobContext, *, imagesets: dict, inputs: dict, config: dict) -> dict:
    """Table 4.5 for a main network that does not refine: the same seed with refinement epochs appended."""
    dataset, seed, spec = job.dataset, job.seed, job.spec
    imageset = imagesets[dataset]
    kwargs, setting, resolved = spec["kwargs"], spec["main_setting"], spec["resolved"]
    model, _, _ = _fit(imageset, kwargs, _input(inputs, imageset, dataset, kwargs["network"]), seed,
                       config["device"], ctx)
    epochs = config["refinement_epochs"]
    logs, frame = _stage_logs(
        dataset, setting, seed, _evaluate(imageset.labels, model.labels_before_refinement_),
        _evaluate(imageset.labels, model.labels_), "refinement appended",
        f"{setting}, same seed, {epochs} refinement epochs appended after its "
        f"{resolved['epochs']}: before = the {setting} network, after = that network refined")
    return {"logs": logs, "tables": {"refinement": frame}}


def _input(inputs: dict, imageset, dataset: str, network: str) -> np.ndarray:
    """The prepared input of (dataset, network): from ``inputs`` (:func:`_inputs_of`), else made here (a job
    logged before but rerun because its tables are missing)."""
    key = (dataset, network)
    return inputs[key] if key in inputs else prepare_inputs(imageset, network, image_size(dataset))


def _inputs_of(run: results.Run, jobs, imagesets: dict, have: dict | None = None) -> dict:
    """MMDC's input of every (dataset, network) a job still to run trains on (none when all are logged), added to
    those of ``have``."""
    out = dict(have or {})
    for job in jobs:
        key = (job.dataset, job.spec["kwargs"]["network"])
        if key not in out and run.logged(**job.key) is None:
            out[key] = prepare_inputs(imagesets[job.dataset], key[1], image_size(job.dataset))
    return out


def run_grid(run: results.Run, imagesets: dict, sobel, rotation, seeds, *, preset: str = "thesis",
             estimator_params: dict | None = None, ablation_datasets=None, refinement: bool = True,
             refinement_epochs: int = REFINEMENT_EPOCHS, feature_datasets=(), feature_seeds=(),
             probe_params: dict | None = None, device: str = "cpu", progress: bool = True, parallel=None) -> MMDCRuns:
    """Train MMDC for every dataset x ablation setting x seed and log NMI, ARI, ACC (Tables 4.2, 4.3, 4.5).

    Records carry ``setting="sobel=0,rotation=1"`` etc. (each network's final state); datasets outside
    ``ablation_datasets`` (None: all) run only their main setting (the first of :func:`ablation_settings`). With
    ``refinement``, each dataset's main setting also logs ``"before_refinement"`` and ``"after_refinement"`` per
    seed (Table 4.5), both states of one network: the main run itself where it refines, else a second run with
    ``refinement_epochs`` of refinement appended after the schedule (:func:`refinement_kwargs`), whose
    "before" is the main run's final state. The main networks of ``feature_datasets`` x ``feature_seeds`` are
    also evaluated as Table 4.4's "Ours" (:func:`feature_scores`, records ``setting="kmeans"`` / ``"linear"``).
    One job per network (:func:`clustlib.studies._grid.run_jobs`; ``parallel`` None runs them here, ``"local"`` or
    a scheduler address on Dask). Resumable: a job already logged in ``run``'s folder is read back, an unfinished
    one resumes from its checkpoint (``run.checkpoint_path``). See :class:`MMDCRuns`; the tables are kept in the
    run folder for :func:`draw_figures`.
    """
    estimator_params = estimator_params or {}
    check_probe_splits(imagesets, [d for d in feature_datasets if d in imagesets])
    settings = {d: ablation_settings(d, sobel, rotation, estimator_params, ablation_datasets) for d in imagesets}
    config = {"device": device, "refinement": refinement, "refinement_epochs": refinement_epochs,
              "feature_datasets": tuple(feature_datasets), "feature_seeds": tuple(feature_seeds),
              "probe_params": probe_params}
    jobs = []
    for dataset, s, r, seed in ((d, s, r, seed) for d in imagesets for s, r in settings[d] for seed in seeds):
        setting = setting_name(s, r)
        jobs.append(Job(dataset, METHOD, setting, seed, tables=("score", "history", "refinement", "features"),
                        name=job_slug(dataset, METHOD, setting, f"s{seed}"), spec={
                            "sobel": s, "rotation": r, "main": (s, r) == settings[dataset][0],
                            "first_seed": seed == seeds[0], "kwargs": estimator_kwargs(
                                dataset, sobel=s, rotation=r, overrides=estimator_params, preset=preset)}))
    inputs = _inputs_of(run, jobs, imagesets)
    shared = {"imagesets": imagesets, "inputs": inputs, "config": config}
    rows, history, refined_rows, features, appended = [], [], [], [], []
    for outcome in run_jobs(run, jobs, _main_job, shared=shared, parallel=parallel, desc="MMDC", progress=progress):
        kept, job = outcome.tables, outcome.job
        rows += kept["score"].to_dict("records")
        history += kept["history"].to_dict("records")
        refined_rows += kept["refinement"].to_dict("records")
        features += kept["features"].to_dict("records")
        score = kept["score"].iloc[0]
        if refinement and job.spec["main"] and not bool(score["refined"]):
            resolved = {"epochs": int(score["epochs"]), "refine_epoch": int(score["refine_epoch"])}
            appended.append(Job(job.dataset, METHOD, "before_refinement", job.seed, tables=("refinement",),
                                name=job_slug(job.dataset, METHOD, job.setting, "refinement_appended", f"s{job.seed}"),
                                checkpoint_setting=f"{job.setting},refinement appended", spec={
                                    "main_setting": job.setting, "resolved": resolved,
                                    "kwargs": {**job.spec["kwargs"],
                                               **(refinement_kwargs(resolved, refinement_epochs) or {})}}))
    if appended:
        shared["inputs"] = _inputs_of(run, appended, imagesets, inputs)
        for outcome in run_jobs(run, appended, _appended_job, shared=shared, parallel=parallel,
                                desc="MMDC refinement", progress=progress):
            refined_rows += outcome.tables["refinement"].to_dict("records")
    refinement_frame = pd.DataFrame(refined_rows, columns=["dataset", "stage", "setting", "source", "seed", "nmi",
                                                           "ari", "acc"])
    out = MMDCRuns(pd.DataFrame(rows), pd.DataFrame(history), refinement_frame,
                   pd.DataFrame(features, columns=list(FEATURE_COLUMNS)))
    for table, frame in (("scores", out.scores), ("history", out.history), ("refinement", out.refinement)):
        results.save_table(run.run_dir, table, frame)
    return out


#: Columns of a Table 4.4 row (:func:`feature_scores`).
FEATURE_COLUMNS = ("dataset", "method", "seed", "nmi", "ari", "acc", "linear_acc", "train_acc", "n_train", "n_test",
                   "split", "probe_epochs", "probe_augmented", "feature_dim", "epochs", "fit_s")


def probe_split(imageset, dataset: str, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Train and test rows of the linear probe: the dataset's official split where ``imageset`` is the whole
    train + test set in that order (CIFAR-10: 50,000 / 10,000), else a stratified split with CIFAR's test share
    of 1/6 drawn with ``seed``. Returns (train indices, test indices, how)."""
    from sklearn.model_selection import train_test_split

    splits = data.dataset_info(dataset).get("splits") or {}
    n = len(imageset)
    if "train" in splits and "test" in splits and n == splits.get("all"):
        return np.arange(splits["train"]), np.arange(splits["train"], n), "official train/test split"
    train, test = train_test_split(np.arange(n), test_size=1 / 6, stratify=imageset.labels, random_state=seed)
    return np.sort(train), np.sort(test), "stratified 5/6 train, 1/6 test split (CIFAR's test share)"


def check_probe_splits(imagesets: dict, feature_datasets) -> None:
    """Refuse, before any training, a Table 4.4 dataset too small for :func:`probe_split`'s stratified 1/6 test
    split (at least 2 images per class and a test share of one image per class)."""
    for dataset in feature_datasets:
        imageset = imagesets[dataset]
        splits = data.dataset_info(dataset).get("splits") or {}
        if "train" in splits and "test" in splits and len(imageset) == splits.get("all"):
            continue  # the official split
        counts = np.bincount(np.asarray(imageset.labels))
        counts = counts[counts > 0]
        if counts.min() < 2 or len(imageset) // 6 < counts.size:
            raise InvalidParameter(
                f"Table 4.4's linear probe on {dataset} needs a stratified 1/6 test split: at least 2 images per "
                f"class and {6 * counts.size} images in all; got {len(imageset)} images, {counts.min()} in the "
                f"smallest class. Raise subsets['{dataset}'] or leave {dataset} out of feature_datasets.")


def feature_scores(imageset, dataset: str, method: str, network, augment, X: np.ndarray, seed: int,
                   probe_params: dict | None = None, *, fit_s: float = np.nan, epochs: int = 0
                   ) -> tuple[dict, list[dict]]:
    """Table 4.4 for one trained network: k-means on its penultimate features (all images, as the clustering is
    scored) and the linear probe (:func:`~clustlib.deep.mmdc.selfsup_baselines.linear_probe`, thesis protocol
    overridden by ``probe_params``) trained on the train split and scored on the test split (:func:`probe_split`).

    Returns the row (:data:`FEATURE_COLUMNS`) and the ``run.log`` arguments of its two records: ``setting="kmeans"``
    (nmi, ari, acc) and ``setting="linear"`` (linear_acc), as the paper table is keyed.
    """
    from clustlib.deep.mmdc.selfsup_baselines import PROBE_DEFAULTS, kmeans_scores, linear_probe, penultimate_features

    probe = {**PROBE_DEFAULTS, **(probe_params or {})}
    labels = imageset.labels
    t0 = time.perf_counter()
    feats = penultimate_features(network, augment, X)  # (N, F)
    km = kmeans_scores(feats, labels, imageset.n_classes, random_state=seed)
    train, test, how = probe_split(imageset, dataset, seed)
    lin = linear_probe(network, augment, X[train], labels[train], X[test], labels[test], n_classes=imageset.n_classes,
                       random_state=seed, **probe)
    eval_s = time.perf_counter() - t0
    row = {"dataset": dataset, "method": method, "seed": seed, **km, **lin, "n_train": len(train), "n_test": len(test),
           "split": how, "probe_epochs": probe["epochs"], "probe_augmented": bool(probe["augmented"]),
           "feature_dim": int(feats.shape[1]), "epochs": int(epochs), "fit_s": fit_s}
    note = (f"penultimate layer ({feats.shape[1]}-d), network trained {epochs} epochs; linear probe "
            f"{probe['epochs']} epochs on {len(train)} images ({how}), "
            + ("augmented views" if probe["augmented"] else "centre-crop features, no augmentation")
            + f", scored on {len(test)}")
    logs = [dict(dataset=dataset, method=method, setting="kmeans", seed=seed, metrics=km, time_s=eval_s,
                 note="k-means (10 restarts) on the " + note),
            dict(dataset=dataset, method=method, setting="linear", seed=seed, metrics={"linear_acc": lin["linear_acc"]},
                 time_s=eval_s, note="linear probe on the " + note)]
    return row, logs


def baseline_kwargs(dataset: str, method: str, *, preset: str = "thesis", estimator_params: dict | None = None,
                    baseline_params: dict | None = None) -> dict:
    """Arguments of one Table 4.4 baseline (``"NAT"``, ``"RotNet"``, ``"NAT+Rot"``): the network, schedule and
    augmentation of the dataset's MMDC main setting (:func:`estimator_kwargs` with Sobel off; lr 0.01 for NAT on
    the ResNet18, as MMDC without its rotation task), then ``baseline_params``."""
    from clustlib.deep.mmdc.selfsup_baselines import BASELINES

    if method not in BASELINES:
        raise InvalidParameter(f"Unknown baseline {method!r}; valid: {list(BASELINES)}.")
    cls, fixed = BASELINES[method]
    rotates = method != "NAT"
    network = _network(dataset, estimator_params)
    kwargs = estimator_kwargs(dataset, sobel=False, rotation=rotates and network == "resnet18",
                              overrides=estimator_params, preset=preset)
    for key in ("rotation", "refine_epoch", "target_dim", "target_sigma", "target_means"):
        kwargs.pop(key, None)
    kwargs.update({k: tuple(v) if k in _TUPLE_PARAMS and isinstance(v, list) else v
                   for k, v in (baseline_params or {}).items()})
    return kwargs


def run_feature_baselines(run: results.Run, imagesets: dict, datasets, baselines, seeds, *, preset: str = "thesis",
                          estimator_params: dict | None = None, baseline_params: dict | None = None,
                          probe_params: dict | None = None, device: str = "cpu", progress: bool = True,
                          parallel=None) -> pd.DataFrame:
    """Table 4.4's baselines: train NAT, RotNet, NAT+Rot (:mod:`clustlib.deep.mmdc.selfsup_baselines`) on each dataset
    with MMDC's network and schedule (:func:`baseline_kwargs`) and evaluate their penultimate features as MMDC's
    (:func:`feature_scores`). Resumable as :func:`run_grid`. Returns one row per (dataset, method, seed)."""
    check_probe_splits(imagesets, datasets)
    jobs = [Job(d, m, "kmeans", seed, tables=("features",), name=job_slug(d, m, "features", f"s{seed}"),
                checkpoint_setting="features", spec={"kwargs": baseline_kwargs(
                    d, m, preset=preset, estimator_params=estimator_params, baseline_params=baseline_params)})
            for d in datasets for m in baselines for seed in seeds]
    rows = []
    for outcome in run_jobs(run, jobs, _feature_baseline_job, shared={
            "imagesets": imagesets, "probe_params": probe_params, "device": device}, parallel=parallel,
            desc="NAT / RotNet", progress=progress):
        rows += outcome.tables["features"].to_dict("records")
    return pd.DataFrame(rows, columns=list(FEATURE_COLUMNS))


def _feature_baseline_job(job: Job, ctx: JobContext, *, imagesets: dict, probe_params: dict | None,
                          device: str) -> dict:
    """One Table 4.4 baseline: train it, then score its penultimate features as MMDC's."""
    from clustlib.deep.mmdc.selfsup_baselines import create_baseline

    imageset, kwargs = imagesets[job.dataset], job.spec["kwargs"]
    X = prepare_inputs(imageset, kwargs["network"], image_size(job.dataset))
    model = ctx.checkpointed(create_baseline(job.method, imageset.n_classes, **kwargs, random_state=job.seed,
                                             device=device, progress=False))
    resolved = model.check_params(X)
    t0 = time.perf_counter()
    model.fit(X)
    row, logs = feature_scores(imageset, job.dataset, job.method, model.network_, model.augment_, X, job.seed,
                               probe_params, fit_s=time.perf_counter() - t0, epochs=resolved["epochs"])
    return {"logs": logs, "tables": {"features": pd.DataFrame([row])}}


def save_features(run: results.Run, *frames: pd.DataFrame) -> pd.DataFrame:
    """Table 4.4's rows of MMDC (:attr:`MMDCRuns.features`) and the baselines together, kept in the run folder."""
    frame = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) \
        else pd.DataFrame(columns=list(FEATURE_COLUMNS))
    results.save_table(run.run_dir, "table4_4_features", frame)
    return frame


#: Setting string of one Figure 4.1 cell; the thesis's choice (one-hot means, d = K, sigma = 0) is its reference.
def grid_setting(target_dim, sigma: float, means: str = "random") -> str:
    """``"means=random,d=32,sigma=0.01"``: one cell of Figure 4.1 (sigma the thesis's covariance coefficient)."""
    return f"means={means},d={target_dim},sigma={float(sigma):g}"


def run_target_grid(run: results.Run, imagesets: dict, datasets, target_dims, target_sigmas, seeds, *,
                    preset: str = "thesis", estimator_params: dict | None = None, grid_params: dict | None = None,
                    device: str = "cpu", progress: bool = True, parallel=None) -> pd.DataFrame:
    """Figure 4.1: MMDC on each dataset for every target dimension d x covariance coefficient sigma, without the
    refinement stage (as the figure), plus the thesis's choice (one-hot means, d = K, sigma = 0) as reference.

    The thesis's mixture (Sec. 4.2.3): means drawn U(-0.1, 0.1) per entry and projected onto the unit sphere
    (``target_means="random"``), covariance ``sigma * I``, so MMDC's noise standard deviation is sqrt(sigma).
    Schedule and augmentation of the dataset's main setting (Sobel off), then ``grid_params``. Resumable.
    Returns one row per (dataset, cell, seed): ``dataset, means, target_dim, sigma, seed, nmi, ari, acc, fit_s``.
    """
    jobs = []
    for dataset in datasets:
        k = imagesets[dataset].n_classes
        cells = [("random", int(d), float(s)) for d in target_dims for s in target_sigmas] + [("one_hot", k, 0.0)]
        main_rotation = ablation_settings(dataset, [False], [True, False], estimator_params)[0][1]
        overrides = {**(estimator_params or {}), **(grid_params or {})}
        kwargs = estimator_kwargs(dataset, sobel=False, rotation=main_rotation, overrides=overrides, preset=preset)
        for (means, d, sigma), seed in [(c, s) for c in cells for s in seeds]:
            setting = grid_setting(d, sigma, means)
            jobs.append(Job(dataset, METHOD, setting, seed, tables=("grid",), name=job_slug(dataset, METHOD, setting,
                                                                                         f"s{seed}"), spec={
                "kwargs": {**kwargs, "target_dim": d, "target_sigma": float(np.sqrt(sigma)), "target_means": means},
                "means": means, "d": d, "sigma": sigma}))
    shared = {"imagesets": imagesets, "inputs": _inputs_of(run, jobs, imagesets), "device": device}
    rows = []
    for outcome in run_jobs(run, jobs, _target_grid_job, shared=shared, parallel=parallel, desc="Figure 4.1",
                            progress=progress):
        rows += outcome.tables["grid"].to_dict("records")
    frame = pd.DataFrame(rows, columns=["dataset", "means", "target_dim", "sigma", "seed", "nmi", "ari", "acc",
                                        "epochs", "fit_s"])
    results.save_table(run.run_dir, "figure4_1_target_grid", frame)
    return frame


def _target_grid_job(job: Job, ctx: JobContext, *, imagesets: dict, inputs: dict, device: str) -> dict:
    """One Figure 4.1 cell: MMDC with the cell's target mixture and no refinement stage."""
    from clustlib.deep import MMDC

    imageset, spec = imagesets[job.dataset], job.spec
    X = _input(inputs, imageset, job.dataset, spec["kwargs"]["network"])
    means, d, sigma = spec["means"], spec["d"], spec["sigma"]
    model = ctx.checkpointed(MMDC(imageset.n_classes, **spec["kwargs"], random_state=job.seed, device=device,
                                  progress=False))
    epochs = model.check_params(X)["epochs"]
    model.set_params(refine_epoch=epochs)  # no refinement stage (the figure's networks)
    t0 = time.perf_counter()
    model.fit(X)
    fit_s = time.perf_counter() - t0
    scores = _evaluate(imageset.labels, model.labels_)
    row = {"dataset": job.dataset, "means": means, "target_dim": d, "sigma": sigma, "seed": job.seed, **scores,
           "epochs": epochs, "fit_s": fit_s}
    return {"tables": {"grid": pd.DataFrame([row])}, "logs": [dict(
        metrics=scores, time_s=fit_s, note=f"Figure 4.1 cell: {means} means, d={d}, covariance {sigma:g} I (noise SD "
                                           f"{np.sqrt(sigma):.3g}), {epochs} epochs, no refinement")]}


def summary(frame: pd.DataFrame, by) -> pd.DataFrame:
    """NMI, ARI, ACC as mean ± SD over seeds, fractions (as the paper prints), with the seconds per fit when known."""
    return summary_mean_std(frame, by, seconds="fit_s", seconds_label="fit s", decimals=1)


def feature_summary(features: pd.DataFrame) -> pd.DataFrame:
    """Table 4.4 as the thesis lays it out: per dataset and method (its row labels), k-means NMI and ACC (and ARI)
    on the penultimate layer and the linear-probe test ACC, mean ± SD over seeds, with the probe's protocol."""
    from clustlib.findings import format_mean_sd

    if not len(features):
        return features
    frame = features.assign(method=features["method"].map(lambda m: PAPER_NAMES.get(m, m)))
    out = summary_mean_std(frame, ["dataset", "method", "epochs", "split", "probe_epochs", "probe_augmented"])
    out = out.rename(columns={"NMI": "k-means NMI", "ARI": "k-means ARI", "ACC": "k-means ACC"})
    stats = frame.groupby(["dataset", "method", "epochs", "split", "probe_epochs", "probe_augmented"],
                          sort=False)["linear_acc"].agg(["mean", "std", "count"])
    out["linear ACC"] = [format_mean_sd(m, sd, int(n), over=None) for m, sd, n in
                         zip(stats["mean"], stats["std"], stats["count"])]
    return out


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
    if table not in ("4.2", "4.3", "4.4", "4.5"):
        raise InvalidParameter(f"table must be '4.2', '4.3', '4.4' or '4.5', got {table!r}.")
    stand_ins = dict(stand_ins or {})
    frame = frame.copy()
    if table == "4.4":
        frame = _feature_records(frame)
    elif table == "4.5":
        main = frame.groupby("dataset", sort=False)["setting"].first()
        frame = frame[frame["setting"] == frame["dataset"].map(main)].assign(setting=frame["stage"])
    else:
        frame = _as_the_paper_reports(frame, table, stand_ins)
    if table == "4.2":
        main = frame.groupby("dataset", sort=False)["setting"].first()
        frame = frame[frame["setting"] == frame["dataset"].map(main)].assign(setting="avg")
    if table == "4.4":
        ours = frame
    else:
        frame["method"] = PAPER_METHOD
        ours = frame.melt(id_vars=["dataset", "method", "setting", "seed"], value_vars=["nmi", "ari", "acc"],
                          var_name="metric")
    side = beside_paper(ours, paper.load("mmdc2021", table), stand_ins)
    side.insert(side.columns.get_loc("ours_std") + 1, "ours_se", side["ours_std"] / np.sqrt(side["n"]))
    return side[side["paper"].notna()].reset_index(drop=True)


def _feature_records(features: pd.DataFrame) -> pd.DataFrame:
    """Table 4.4 rows (:data:`FEATURE_COLUMNS`) as the paper table is keyed: ``method`` as the thesis prints it,
    ``setting`` "kmeans" (nmi, ari, acc) or "linear" (linear_acc), one value per row."""
    frame = features.assign(method=features["method"].map(lambda m: PAPER_NAMES.get(m, m)))
    keys = ["dataset", "method", "seed"]
    kmeans = frame.melt(id_vars=keys, value_vars=["nmi", "ari", "acc"], var_name="metric").assign(setting="kmeans")
    linear = frame.melt(id_vars=keys, value_vars=["linear_acc"], var_name="metric").assign(setting="linear")
    return pd.concat([kmeans, linear], ignore_index=True)[["dataset", "method", "setting", "seed", "metric", "value"]]


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
    for text in ax.get_legend().get_texts():  # the thesis's columns (Sobel, rotation loss), not our setting keys
        text.set_text(_SETTING_LABELS.get(text.get_text(), text.get_text()))
    ax.set_ylim(*plots.PAPER_YLIM)
    return fig


#: Table 4.3's rows in words (the thesis ticks its "Sobel" and "Rotation loss" columns).
_SETTING_LABELS = {setting_name(s, r): f"{'Sobel' if s else 'no Sobel'}, {'rotation loss' if r else 'no rotation loss'}"
                   for s in (False, True) for r in (False, True)}


def figure_training_curves(history: pd.DataFrame, dataset: str | None = None):
    """Training on one dataset, mean over seeds per setting: the clustering MSE (left; the RotNet loss dashed
    where trained), and the share of images whose target changed in the epoch (right: per-batch reassignment,
    then the k-means refinement). The dotted vertical line marks the first refinement epoch."""
    dataset, part, lines, fig, left, right = history_panels(history, dataset, "setting")
    for colour, setting, rows in lines:
        name = _SETTING_LABELS.get(setting, setting)
        left.plot(rows["epoch"], rows["loss"], color=colour, marker="o", ms=3, label=f"{name}: MSE")
        if rows["rotation_loss"].notna().any():
            left.plot(rows["epoch"], rows["rotation_loss"], color=colour, ls="--", label=f"{name}: rotation CE")
        right.plot(rows["epoch"], rows["reassigned_fraction"], color=colour, marker="o", ms=3, label=name)
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
    legend = ax.get_legend()
    for text in legend.get_texts() if legend is not None else ():  # the thesis's row labels, not our keys
        text.set_text({"before_refinement": "before refinement", "after_refinement": "after refinement"}.get(
            text.get_text(), text.get_text()))
    ax.set_ylim(*plots.PAPER_YLIM)
    ax.tick_params(axis="x", rotation=0)
    return fig


#: Table 4.4's three measures in the order the thesis prints them: (setting, metric) -> label.
FEATURE_MEASURES = {("kmeans", "nmi"): "k-means NMI", ("kmeans", "acc"): "k-means ACC", ("linear", "linear_acc"):
                    "linear ACC"}


def figure_features(features: pd.DataFrame, *, stand_ins: dict | None = None):
    """Table 4.4 as bars: per dataset (one panel each, as the table's column groups), the methods in the
    thesis's row order (NAT, RotNet, NAT+Rot, Ours) with k-means NMI, k-means ACC and linear-probe ACC,
    mean ± SD over seeds; black dashes: the thesis's values (through ``stand_ins`` for a stand-in dataset)."""
    stand_ins = dict(stand_ins or {})
    tidy = _feature_records(features)
    tidy["measure"] = [FEATURE_MEASURES.get((s, m)) for s, m in zip(tidy["setting"], tidy["metric"])]
    tidy = tidy[tidy["measure"].notna()]
    datasets = list(dict.fromkeys(features["dataset"]))
    methods = [m for m in ("NAT", "RotNet", "NAT+Rot", "Ours") if m in set(tidy["method"])]
    measures = list(FEATURE_MEASURES.values())
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets) + 1.6, 3.4), layout="constrained",
                             squeeze=False, sharey=True)
    width = 0.8 / len(measures)
    for ax, dataset in zip(axes[0], datasets):
        part = tidy[tidy["dataset"] == dataset]
        target = stand_ins.get(dataset, dataset)
        published = paper.load("mmdc2021", "4.4", dataset=[target])
        for j, measure in enumerate(measures):
            stats = part[part["measure"] == measure].groupby("method")["value"].agg(["mean", "std"])
            xs = np.arange(len(methods)) - 0.4 + width * (j + 0.5)
            spread = [stats["std"].fillna(0).get(m, 0.0) for m in methods]
            ax.bar(xs, [stats["mean"].get(m, np.nan) for m in methods], width, color=f"C{j}", label=measure,
                   yerr=spread if any(spread) else None, capsize=2, error_kw={"linewidth": 1})
            setting, metric = next(k for k, v in FEATURE_MEASURES.items() if v == measure)
            for x, method in zip(xs, methods):
                value = published[(published["method"] == method) & (published["setting"] == setting)
                                  & (published["metric"] == metric)]["value"]
                if len(value):
                    ax.hlines(float(value.iloc[0]), x - width / 2, x + width / 2, colors="black", linewidth=2,
                              label="thesis (Table 4.4)" + (f", {target}" if target != dataset else ""))
        if not len(published):  # an empty handle says why there is no thesis value
            ax.plot([], [], " ", label="thesis: Table 4.4 has CIFAR-10 and CIFAR-100/20 only")
        ax.set_xticks(np.arange(len(methods)), methods)
        ax.set_title(dataset + (f" (stand-in for {target})" if target != dataset else ""), fontsize="medium")
        ax.set_ylim(*plots.PAPER_YLIM)
        seeds = part.groupby("method")["seed"].nunique()
        low, high = (int(seeds.min()), int(seeds.max())) if len(seeds) else (0, 0)
        ax.set_xlabel("method  " + ("(one seed: no error bars)" if high <= 1 else
                                    f"(bars: ±1 SD over {low if low == high else f'{low}–{high}'} seeds)"))
    axes[0][0].set_ylabel("score (fraction)")
    handles, labels = [], []
    for ax in axes[0]:
        h, lab = ax.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
    unique = dict(zip(labels, handles))
    fig.legend(unique.values(), unique.keys(), loc="outside lower center", ncol=min(len(unique), 4), frameon=False,
               fontsize="small")
    fig.suptitle("Penultimate-layer features: k-means and linear probe (Table 4.4)", fontsize="medium")
    return fig


def figure_target_grid(grid: pd.DataFrame, *, dataset: str | None = None, metric: str = "acc",
                       stand_ins: dict | None = None):
    """Figure 4.1: ``metric`` (ACC) of MMDC on one dataset against the covariance coefficient sigma of the
    target mixture (Sigma = sigma I), one line per target dimension d (random means on the unit sphere), mean ± SD
    over seeds, no refinement; the dashed line is the thesis's choice, one-hot means in d = K with sigma = 0."""
    stand_ins = dict(stand_ins or {})
    dataset = dataset or grid["dataset"].iloc[0]
    part = grid[grid["dataset"] == dataset]
    cells = part[part["means"] == "random"]
    sigmas = sorted(cells["sigma"].unique())
    fig, ax = plt.subplots(figsize=(5.6, 3.4), layout="constrained")
    for i, (d, rows) in enumerate(sorted(cells.groupby("target_dim"), key=lambda t: t[0])):
        stats = rows.groupby("sigma")[metric].agg(["mean", "std"]).reindex(sigmas)
        ax.errorbar(np.arange(len(sigmas)), stats["mean"], yerr=stats["std"].fillna(0), marker="o", ms=4,
                    capsize=3, color=f"C{i}", label=f"random, d = {d}")
    ref = part[part["means"] == "one_hot"]
    if len(ref):
        mean, sd = ref[metric].mean(), ref[metric].std() if len(ref) > 1 else 0.0
        ax.axhline(mean, color="black", linestyle="--", linewidth=1,
                   label=f"one-hot, d = K = {int(ref['target_dim'].iloc[0])}, σ = 0")
        if sd > 0:
            ax.axhspan(mean - sd, mean + sd, color="black", alpha=0.08, linewidth=0)
    ax.set_xticks(np.arange(len(sigmas)), [f"{s:g}" for s in sigmas])
    n_seeds = part["seed"].nunique()
    ax.set_xlabel("σ (covariance Σ = σ·I)  " + ("(one seed: no error bars)" if n_seeds <= 1 else
                                                 f"(bars: ±1 SD over {n_seeds} seeds)"))
    ax.set_ylabel(metric.upper())
    ax.set_ylim(*plots.PAPER_YLIM)
    target = stand_ins.get(dataset, dataset)
    ax.set_title(f"Target dimension d × σ (Figure 4.1)\n{dataset}"
                 + (f", stand-in for {target}" if target != dataset else "") + ", no refinement", fontsize="medium")
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), title="target means",
              title_fontsize="small")
    return fig


#: The figures of study 05, by file stem (the training curves add the dataset name).
def cluster_samples(imageset, labels, *, per_cluster: int = 8, failures: int = 2, seed: int = 0) -> dict:
    """Figure 4.2's grid: for each cluster, ``per_cluster`` random members, up to ``failures`` of them from another
    class than the cluster's majority class (shown last, as the thesis marks its failures).

    Returns arrays for :func:`clustlib.results.save_arrays`: ``images`` uint8 (K, per_cluster, H, W, C) (blank
    where a cluster has fewer members), ``true`` int (K, per_cluster) class of each image (-1: blank), ``majority``
    int (K,) and ``size`` int (K,) per cluster (ordered by majority class), ``classes`` the class names.
    """
    rng = np.random.default_rng(seed)
    images, truth = imageset.images, np.asarray(imageset.labels)
    clusters = np.unique(labels)
    majority = np.array([np.bincount(truth[labels == c]).argmax() for c in clusters])
    order = np.argsort(majority, kind="stable")
    grid = np.zeros((len(clusters), per_cluster, *images.shape[1:]), dtype=np.uint8)
    true = np.full((len(clusters), per_cluster), -1)
    for row, k in enumerate(order):
        members = np.flatnonzero(labels == clusters[k])
        good, bad = members[truth[members] == majority[k]], members[truth[members] != majority[k]]
        bad = rng.permutation(bad)[:failures]
        good = rng.permutation(good)[:per_cluster - len(bad)]
        chosen = np.concatenate([good, bad]).astype(int)
        grid[row, :len(chosen)] = images[chosen]
        true[row, :len(chosen)] = truth[chosen]
    return {"images": grid, "true": true, "majority": majority[order],
            "size": np.array([np.sum(labels == clusters[k]) for k in order]),
            "classes": np.array([str(c) for c in imageset.classes])}


def figure_cluster_samples(samples: dict, dataset: str, *, stand_ins: dict | None = None):
    """Figure 4.2 as the thesis draws it: one row per cluster, its members left to right, failures (images of
    another class than the cluster's majority) framed in red."""
    import matplotlib.pyplot as plt

    images, true, majority = samples["images"], samples["true"], samples["majority"]
    classes = list(samples["classes"])
    n_rows, n_cols = true.shape
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(0.75 * n_cols + 1.6, 0.75 * n_rows + 0.6), squeeze=False)
    for r in range(n_rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if true[r, c] < 0:
                ax.axis("off")
                continue
            image = images[r, c]
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
            failure = true[r, c] != majority[r]
            for spine in ax.spines.values():
                spine.set_edgecolor("#d62728" if failure else "0.8")
                spine.set_linewidth(2.5 if failure else 0.5)
        axes[r, 0].set_ylabel(f"{classes[majority[r]]}\n(n={samples['size'][r]})", rotation=0, ha="right",
                              va="center", fontsize=7)
    paper_data = (stand_ins or {}).get(dataset, dataset)
    shown = dataset if paper_data == dataset else f"{dataset} (standing in for {paper_data})"
    fig.suptitle(f"Figure 4.2: members of each MMDC cluster on {shown}; rows: majority class (cluster size); "
                 "red: another class", fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig


FIGURES = ("mmdc_table4_3_ablation", "mmdc_training_curves_", "mmdc_table4_5_refinement", "mmdc_table4_4_features",
           "mmdc_figure4_1_target_grid", "mmdc_figure4_2_cluster_samples_")


def _artifact(run_dir, name: str) -> pd.DataFrame | None:
    return results.load_table(run_dir, name) if (Path(run_dir) / "artifacts" / f"{name}.csv").exists() else None


def draw_figures(run_dir, only=None):
    """Every figure of study 05 drawn from one run folder alone (the figures contract of :mod:`clustlib.figures`):
    ``(name, figure)`` pairs for the Table 4.3 ablation, the training curves per dataset, Table 4.5, Table 4.4 and
    Figure 4.1 and Figure 4.2 (cluster members), each where the run kept its table. ``only``: names or name prefixes (:data:`FIGURES`) to draw."""
    params = results.read_params(run_dir)
    stand_ins = dict(params.get("stand_ins") or {})
    wanted = (lambda name: True) if only is None else (lambda name: any(name.startswith(o) for o in only))
    scores, history = _artifact(run_dir, "scores"), _artifact(run_dir, "history")
    if scores is not None and len(scores) and wanted("mmdc_table4_3_ablation"):
        yield "mmdc_table4_3_ablation", figure_ablation(scores, stand_ins=stand_ins)
    if history is not None and len(history):
        for dataset in dict.fromkeys(history["dataset"]):
            if wanted(f"mmdc_training_curves_{dataset}"):
                yield f"mmdc_training_curves_{dataset}", figure_training_curves(history, dataset)
    refinement = _artifact(run_dir, "refinement")
    if refinement is not None and len(refinement) and wanted("mmdc_table4_5_refinement"):
        yield "mmdc_table4_5_refinement", figure_refinement(refinement, stand_ins=stand_ins)
    features = _artifact(run_dir, "table4_4_features")
    if features is not None and len(features) and wanted("mmdc_table4_4_features"):
        yield "mmdc_table4_4_features", figure_features(features, stand_ins=stand_ins)
    grid = _artifact(run_dir, "figure4_1_target_grid")
    if grid is not None and len(grid):
        for i, dataset in enumerate(dict.fromkeys(grid["dataset"])):
            name = "mmdc_figure4_1_target_grid" + (f"_{dataset}" if i else "")
            if wanted(name):
                yield name, figure_target_grid(grid, dataset=dataset, stand_ins=stand_ins)
    for path in sorted((Path(run_dir) / "artifacts").glob("figure4_2_samples_*.npz")):
        dataset = path.stem.removeprefix("figure4_2_samples_")
        if wanted(f"mmdc_figure4_2_cluster_samples_{dataset}"):
            yield (f"mmdc_figure4_2_cluster_samples_{dataset}",
                   figure_cluster_samples(results.load_arrays(run_dir, path.stem), dataset, stand_ins=stand_ins))
