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

Size (~1,200 lines): one module holds DAC's whole study, in its notebook's order: the parameter checks, the jobs (run through :mod:`clustlib.studies._grid`), the paper-table joins and the figures (drawn from the run folder only). ``clustlib figures`` and the tests look a study's names up on this one module; splitting the figures into a sibling module is the next step once :mod:`clustlib.figures` can look beyond it.
"""

from __future__ import annotations

import time
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.ticker import MaxNLocator

from clustlib import data, metrics, paper, plots, results
from clustlib.errors import InvalidParameter
from clustlib.studies._common import (beside_paper, check_datasets, check_list, check_mapping, check_seeds,
                                     history_panels, load_image_trees_at, summary_mean_std)
from clustlib.studies._grid import Job, JobContext, check_scheduler, run_jobs

__all__ = ["PRESETS", "VARIANT_NAMES", "DATASET_SCRIPTS", "TWO_THRESHOLD_SCRIPTS", "TABLE3_METHODS", "FEATURE_BINS",
           "DACRuns", "validate", "validate_params", "script_settings", "settings_table", "prepare_inputs",
           "load_inputs", "run_grid",
           "cluster_label_features", "run_table3", "feature_distribution", "summary", "compare_with_paper",
           "figure_thresholds", "figure_table2", "figure_feature_distribution", "figure_cluster_sizes",
           "job_artifact", "TABLE2_BASELINES", "BASELINE_DEFAULTS", "HOG_DATASETS", "SEEDLESS_BASELINES",
           "check_baselines", "traditional_inputs", "baseline_setting", "baseline_labels", "run_baselines",
           "PAPER_RETENTION_RATES", "PAPER_CLUSTER_COUNTS", "PAPER_SAMPLE_COUNTS", "SWEEP_METHODS", "SWEEPS",
           "SWEEP_ONLY_DATASETS", "imbalanced_subset", "cluster_subset", "sweep_jobs", "sweep_dataset_name",
           "run_sweep", "sweep_table", "kgon_coordinates", "label_feature_samples", "keep_label_feature_samples",
           "figure_sweep", "figure_kgon", "figure_label_feature_samples", "FIGURES", "load_runs", "table2_scores",
           "draw_figures", "EXTRA_DEFAULTS", "validate_extras", "sweep_sizes", "sweep_overrides"]

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
    from clustlib.deep.networks.allconv import ALLCONV_ARCHITECTURES, list_dac_networks

    if preset not in PRESETS:
        raise InvalidParameter(f"preset must be one of {list(PRESETS)}, got {preset!r}.")
    check_list("datasets", datasets, DATASET_SCRIPTS)
    check_list("variants", variants, VARIANT_NAMES)
    check_seeds(seeds)
    networks = check_mapping("networks", networks, datasets, maps="dataset names to ALL-ConvNet names",
                             outside=f"names datasets that are not in datasets: {{keys}}; datasets are "
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
    _check_variant_params("estimator_params", estimator_params)
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
    """Every parameter of the notebook, checked by :func:`validate` and :func:`validate_extras` before its kernel
    starts (``clustlib run`` calls this)."""
    check_scheduler(params.get("scheduler"))
    check_datasets(params["datasets"], params["subsets"])
    validate(params["datasets"], params["variants"], params["seeds"], preset=params["preset"],
             networks=params["networks"],
             epochs=params["epochs"], estimator_params=params["estimator_params"],
             table3_methods=params["table3_methods"], subsets=params["subsets"])
    validate_extras(params)


#: Notebook parameters of the Table 2 baselines and Figures 5-7 -> their default (the paper's protocol).
EXTRA_DEFAULTS = {"baselines": [], "baseline_params": {}, "imbalance_rates": [], "imbalance_dataset": "mnist",
                  "cluster_counts": [], "clusters_dataset": "tiny_imagenet", "clusters_per_class": 0,
                  "sample_counts": [], "samples_datasets": ["mnist", "cifar10"], "sweep_subsets": {},
                  "sweep_methods": ["dac"], "sweep_seeds": [0], "sweep_estimator_params": {}}


def _check_variant_params(name: str, estimator_params) -> None:
    from clustlib.deep import DAC

    if not isinstance(estimator_params, dict) or not all(isinstance(v, dict) for v in estimator_params.values()):
        raise InvalidParameter(f"{name} must map variant names to dicts of DAC arguments, got {estimator_params!r}.")
    unknown = [v for v in estimator_params if v not in VARIANT_NAMES]
    if unknown:
        raise InvalidParameter(f"{name} names unknown variant(s) {unknown}; valid: {list(VARIANT_NAMES)}.")
    accepted = set(DAC().get_params()) - {"n_clusters", "variant", "random_state", "device", "progress",
                                          "checkpoint_path"}
    for variant, overrides in estimator_params.items():
        bad = [k for k in overrides if k not in accepted]
        if bad:
            raise InvalidParameter(f"{name}[{variant!r}] has unknown or reserved argument(s) {bad}; "
                                   f"DAC accepts {sorted(accepted)} (n_clusters, variant, random_state and "
                                   "device come from the study).")


def _dataset_size(dataset: str, subsets: dict) -> int:
    info = data.dataset_info(dataset)
    return int(subsets.get(dataset) or info["splits"].get("all") or info.get("paper_n_samples") or 10_000)


def sweep_sizes(params: dict) -> dict:
    """``(sweep, dataset) -> (K, the fewest images one of its subsets is expected to hold)``, from the parameters
    alone (no data loaded): what :func:`validate_extras` checks DAC's settings against."""
    p = {**EXTRA_DEFAULTS, **params}
    subsets, out = p["sweep_subsets"], {}
    if p["imbalance_rates"]:
        d = p["imbalance_dataset"]
        out[("imbalance", d)] = (data.dataset_info(d)["n_classes"],
                                 int(0.9 * _dataset_size(d, subsets) * (1 + min(p["imbalance_rates"])) / 2))
    if p["cluster_counts"]:
        d, k = p["clusters_dataset"], min(p["cluster_counts"])
        per_class = _dataset_size(d, subsets) // data.dataset_info(d)["n_classes"]
        out[("clusters", d)] = (k, int(k * min(p["clusters_per_class"] or per_class, per_class)))
    if p["sample_counts"]:
        for d in p["samples_datasets"]:
            out[("samples", d)] = (data.dataset_info(d)["n_classes"], int(min(p["sample_counts"])))
    return out


def validate_extras(params: dict) -> None:
    """The Table 2 baseline and Figures 5-7 parameters (:data:`EXTRA_DEFAULTS`): known baselines and methods,
    retention rates in (0, 1], cluster counts the dataset has, sample counts it holds, and DAC's settings valid
    on the smallest subset of each sweep; all before any data is loaded."""
    from clustlib.deep import DAC

    p = {**EXTRA_DEFAULTS, **params}
    check_baselines(p["baselines"], p["baseline_params"])
    check_list("sweep_methods", p["sweep_methods"], SWEEP_METHODS)
    check_seeds(p["sweep_seeds"])
    _check_variant_params("sweep_estimator_params", p["sweep_estimator_params"])
    sweep_data = [p["imbalance_dataset"], p["clusters_dataset"], *p["samples_datasets"]]
    valid = set(DATASET_SCRIPTS) | set(SWEEP_ONLY_DATASETS)
    check_list("sweep datasets (imbalance_dataset, clusters_dataset, samples_datasets)", sweep_data, valid)
    if not isinstance(p["sweep_subsets"], dict) or any(d not in sweep_data for d in p["sweep_subsets"]):
        raise InvalidParameter(f"sweep_subsets must map sweep datasets {sweep_data} to sizes, got {p['sweep_subsets']!r}.")
    for rate in p["imbalance_rates"]:
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 < rate <= 1:
            raise InvalidParameter(f"imbalance_rates must lie in (0, 1] (the paper: 0.1 to 0.9), got {rate!r}.")
    n_classes = data.dataset_info(p["clusters_dataset"])["n_classes"]
    for k in p["cluster_counts"]:
        if not isinstance(k, int) or isinstance(k, bool) or not 2 <= k <= n_classes:
            raise InvalidParameter(f"cluster_counts must be integers in [2, {n_classes}] ({p['clusters_dataset']} "
                                   f"has {n_classes} classes), got {k!r}.")
    if not isinstance(p["clusters_per_class"], int) or p["clusters_per_class"] < 0:
        raise InvalidParameter(f"clusters_per_class must be an integer >= 0 (0: all), got {p['clusters_per_class']!r}.")
    for d in p["samples_datasets"] if p["sample_counts"] else []:
        size = _dataset_size(d, p["sweep_subsets"])
        bad = [n for n in p["sample_counts"] if not isinstance(n, int) or isinstance(n, bool) or not 0 < n <= size]
        if bad:
            raise InvalidParameter(f"sample_counts {bad} do not fit {d} ({size:,} images loaded); give counts in "
                                   f"[1, {size}] or a larger sweep_subsets[{d!r}].")
    overrides = {v: {**params.get("estimator_params", {}).get(v, {}), **p["sweep_estimator_params"].get(v, {})}
                 for v in VARIANT_NAMES}
    for (sweep, dataset), (k, n) in sweep_sizes(p).items():
        for variant in (m for m in p["sweep_methods"] if m in VARIANT_NAMES):
            _, kwargs = script_settings(SWEEP_ONLY_DATASETS.get(dataset, dataset), variant,
                                        preset=params.get("preset", "paper"),
                                        network=params.get("networks", {}).get(dataset),
                                        epochs=params.get("epochs", 0), overrides=overrides[variant])
            from clustlib.deep.networks.allconv import ALLCONV_ARCHITECTURES

            size = ALLCONV_ARCHITECTURES[kwargs["network"]].input_size
            try:
                DAC(k, **kwargs).check_params(np.broadcast_to(np.float32(0), (max(n, 1), 1, size, size)))
            except InvalidParameter as error:
                raise InvalidParameter(f"Figure {SWEEPS[sweep][0]} ({sweep} on {dataset}, about {n} images in its "
                                       f"smallest subset): {error}") from None


def sweep_overrides(estimator_params: dict | None, sweep_estimator_params: dict | None) -> dict:
    """DAC arguments per variant in Figures 5-7: Table 2's ``estimator_params`` with ``sweep_estimator_params``
    over them."""
    estimator_params, sweep_estimator_params = estimator_params or {}, sweep_estimator_params or {}
    return {v: {**estimator_params.get(v, {}), **sweep_estimator_params.get(v, {})} for v in VARIANT_NAMES
            if v in estimator_params or v in sweep_estimator_params}


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
    from clustlib.deep.networks.allconv import ALLCONV_ARCHITECTURES
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


def _job_setting(preset: str, script: str, resolved: dict) -> dict:
    return {"preset": preset, "script": script, "network": resolved["network"], "epochs": resolved["iterations"]}


def job_artifact(dataset: str, variant: str, seed: int) -> str:
    """Name of the run-folder artifact that keeps one network's label features and history
    (``dac_<dataset>_<variant>_s<seed>``, see :func:`run_grid`)."""
    return f"dac_{dataset}_{variant}_s{int(seed)}"


def _history_arrays(history) -> dict:
    return {"thresholds": np.asarray(history.thresholds, dtype=np.float64).reshape(-1, 2),
            "positive_fraction": np.asarray(history.positive_fraction, dtype=np.float64),
            "selected_fraction": np.asarray(history.selected_fraction, dtype=np.float64),
            "candidate_pairs": np.asarray(history.candidate_pairs, dtype=np.float64),
            "losses": np.asarray(history.losses, dtype=np.float64)}


class _History(NamedTuple):
    thresholds: np.ndarray
    positive_fraction: np.ndarray
    selected_fraction: np.ndarray
    candidate_pairs: np.ndarray
    losses: np.ndarray


def run_grid(run: results.Run, imagesets: dict, variants, seeds, *, preset: str = "paper",
             networks: dict | None = None, epochs: int = 0, estimator_params: dict | None = None, device: str = "cpu",
             progress: bool = True, parallel=None) -> DACRuns:
    """Train DAC for every dataset x variant x seed and log NMI, ARI, ACC of the argmax labels (Table 2).

    The setting of each record names the preset, the script, the network and the iterations run
    (``preset=paper,script=mnist,network=small16,epochs=46``). Each network's initial and final label features
    and its history are kept as the artifact :func:`job_artifact` before its record is logged, so a rerun of an
    interrupted run skips every logged job (reading the artifact back) and resumes the unfinished one from its
    checkpoint (``run.checkpoint_path``). One job per network (:func:`clustlib.studies._grid.run_jobs`;
    ``parallel`` None runs them here, ``"local"`` or a scheduler address on Dask). See :class:`DACRuns`.
    """
    from clustlib.deep import DAC

    networks, estimator_params = networks or {}, estimator_params or {}
    jobs, inputs = [], {}
    for dataset, variant, seed in ((d, v, s) for d in imagesets for v in variants for s in seeds):
        imageset = imagesets[dataset]
        script, kwargs = script_settings(dataset, variant, preset=preset, network=networks.get(dataset),
                                         epochs=epochs, overrides=estimator_params.get(variant))
        key = (dataset, kwargs["network"], script in _UNCENTRED_SCRIPTS)
        if key not in inputs:
            inputs[key] = prepare_inputs(imageset, kwargs["network"], script)
        setting = _job_setting(preset, script, DAC(imageset.n_classes, **kwargs).check_params(inputs[key]))
        jobs.append(Job(dataset, VARIANT_NAMES[variant], setting, seed, arrays=(job_artifact(dataset, variant, seed),),
                        spec={"variant": variant, "kwargs": kwargs, "input": key}))
    rows, history, features = [], [], {}
    for outcome in run_jobs(run, jobs, _grid_job, shared={"imagesets": imagesets, "inputs": inputs, "device": device},
                            parallel=parallel, desc="DAC", progress=progress):
        job = outcome.job
        dataset, variant, seed, method, setting = job.dataset, job.spec["variant"], job.seed, job.method, job.setting
        kept = outcome.arrays[job.arrays[0]]
        scores = {m: outcome.metrics[m] for m in ("nmi", "ari", "acc")}
        initial_z, final_z, fit_s = kept["initial"], kept["final"], float(kept["fit_s"])
        epoch_s, hist = float(kept["epoch_s"]), _History(*(kept[f] for f in _History._fields))
        rows.append({"dataset": dataset, "method": method, "variant": variant, **setting, "seed": seed, **scores,
                     "n_clusters_found": int(np.unique(final_z.argmax(1)).size), "fit_s": fit_s,
                     "epoch_s": epoch_s})
        history += _history_rows(dataset, method, seed, hist)
        features[(dataset, variant, seed)] = (initial_z, final_z)
    return DACRuns(pd.DataFrame(rows), pd.DataFrame(history), features)


def _grid_job(job: Job, ctx: JobContext, *, imagesets: dict, inputs: dict, device: str) -> dict:
    """One Table 2 network: its initial (untrained) and final label features, history and record."""
    from clustlib.deep import DAC

    imageset, kwargs, X = imagesets[job.dataset], job.spec["kwargs"], inputs[job.spec["input"]]
    k, seed = imageset.n_classes, job.seed
    initial = DAC(k, **{**kwargs, "epochs": 0}, random_state=seed, device=device, progress=False).fit(X)
    t0 = time.perf_counter()
    model = ctx.checkpointed(DAC(k, **kwargs, random_state=seed, device=device, progress=False)).fit(X)
    fit_s = time.perf_counter() - t0
    scores = metrics.evaluate(imageset.labels, model.labels_, metrics=("nmi", "ari", "acc"))
    arrays = dict(initial=initial.label_features_, final=model.label_features_, labels=imageset.labels, fit_s=fit_s,
                  epoch_s=model.epoch_seconds_, **_history_arrays(model.history_))
    return {"arrays": {job.arrays[0]: arrays},
            "logs": [dict(metrics=scores, time_s=fit_s, note="labels = argmax of the label features")]}


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


def run_table3(run: results.Run, imagesets: dict, runs: DACRuns, methods, *, progress: bool = True,
               parallel=None) -> pd.DataFrame:
    """Table 3: cluster every trained network's label features with ``methods`` and log the scores.

    Records carry ``features=<variant>_label_features`` in their setting; the paper's rows are DAC's
    (``dac_label_features``). The returned frame also holds the argmax rows (method ``DAC``/``DAC*``,
    not logged again) so each variant's own tactic sits beside the traditional ones.
    """
    keys = list(runs.features)
    jobs = [Job(dataset, TABLE3_METHODS[method], {"features": f"{variant}_label_features"}, seed,
                spec={"variant": variant, "method": method, "Z": runs.features[(dataset, variant, seed)][1]})
            for dataset, variant, seed in keys for method in methods]
    outcomes = iter(run_jobs(run, jobs, _table3_job, shared={"imagesets": imagesets}, parallel=parallel,
                             checkpoint=False, desc="Table 3", progress=progress))
    rows = []
    for (dataset, variant, seed) in keys:
        features = f"{variant}_label_features"
        for _ in methods:
            outcome = next(outcomes)
            rows.append({"dataset": dataset, "method": outcome.job.method, "features": features, "seed": seed,
                         **{m: outcome.metrics[m] for m in ("nmi", "ari", "acc")}})
        own = runs.scores[(runs.scores["dataset"] == dataset) & (runs.scores["variant"] == variant)
                          & (runs.scores["seed"] == seed)].iloc[0]
        rows.append({"dataset": dataset, "method": VARIANT_NAMES[variant], "features": features, "seed": seed,
                     "nmi": own["nmi"], "ari": own["ari"], "acc": own["acc"]})
    return pd.DataFrame(rows)


def _table3_job(job: Job, ctx: JobContext, *, imagesets: dict) -> dict:
    """One Table 3 cell: a traditional clustering of one network's label features."""
    imageset, spec = imagesets[job.dataset], job.spec
    t0 = time.perf_counter()
    labels = cluster_label_features(spec["Z"], spec["method"], imageset.n_classes, seed=job.seed)
    scores = metrics.evaluate(imageset.labels, labels, metrics=("nmi", "ari", "acc"))
    return {"logs": [dict(metrics=scores, time_s=time.perf_counter() - t0,
                          note=f"{job.method} on the label features of {VARIANT_NAMES[spec['variant']]}")]}


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


# -- Table 2: the baseline rows ------------------------------------------------------------------------------------

#: Table 2's baseline rows this study reruns with clustlib's estimators -> the paper's row label (the paper's order).
TABLE2_BASELINES = {"kmeans": "K-means", "sc": "SC", "ac": "AC", "nmf": "NMF", "ae": "AE", "jule": "JULE",
                    "dec": "DEC"}
#: The trained baselines' arguments at paper scale, each overridable through ``baseline_params``: AE (then
#: K-means on its embedding) and DEC with DEC's d-500-500-2000-10 autoencoder (100 pretraining epochs, 150 of DEC,
#: batch 256; both start from the same seed's cached autoencoder, :func:`clustlib.deep.run_deep_clustering`), JULE
#: with :class:`clustlib.deep.JULE`'s defaults (its MLP variant on pixels / 255, not JULE's CNN).
BASELINE_DEFAULTS = {"ae": {"network": "ff_500_500_2000", "embedding_size": 10, "pretrain_epochs": 100,
                            "batch_size": 256},
                     "dec": {"network": "ff_500_500_2000", "embedding_size": 10, "pretrain_epochs": 100,
                             "clustering_epochs": 150, "batch_size": 256},
                     "jule": {}}
#: Datasets on which Sec. 5.4 feeds the traditional methods HOG features and an 8x8 colour map (after DEC).
HOG_DATASETS = frozenset({"stl10", "imagenet10", "imagenet_dogs"})
#: Baselines whose labels do not depend on the seed (Ward, NMF's nndsvda start): run with the first seed only.
SEEDLESS_BASELINES = frozenset({"ac", "nmf"})
_DEEP_METHODS = {"ae": "ae_kmeans", "dec": "dec"}
_RESERVED = {"n_clusters", "random_state", "device", "progress", "dataset_key", "checkpoint_path", "seed"}


def check_baselines(baselines, baseline_params: dict | None = None, *, name: str = "baselines") -> None:
    """Every name of ``baselines`` is a key of :data:`TABLE2_BASELINES`; ``baseline_params`` maps trained ones
    (``ae``, ``dec``, ``jule``) to arguments their estimator accepts."""
    from clustlib.deep import JULE, create_method
    from clustlib.studies._common import check_estimator_params

    if not isinstance(baselines, (list, tuple)):
        raise InvalidParameter(f"{name} must be a list of Table 2 baselines, got {baselines!r}.")
    bad = [b for b in baselines if b not in TABLE2_BASELINES]
    if bad:
        raise InvalidParameter(f"Unknown {name} {bad}; valid: {list(TABLE2_BASELINES)}.")
    baseline_params = {} if baseline_params is None else baseline_params
    if not isinstance(baseline_params, dict) or not all(isinstance(v, dict) for v in baseline_params.values()):
        raise InvalidParameter(f"baseline_params must map baselines to dicts of arguments, got {baseline_params!r}.")
    check_mapping("baseline_params", baseline_params, BASELINE_DEFAULTS, maps="baselines to dicts of arguments",
                  outside=f"names {{keys}}, which take no arguments; only {sorted(BASELINE_DEFAULTS)} do.")
    for baseline, given in baseline_params.items():
        params = {**BASELINE_DEFAULTS[baseline], **given}
        estimator = JULE() if baseline == "jule" else create_method(_DEEP_METHODS[baseline], n_clusters=2)
        try:
            check_estimator_params(params, estimator, _RESERVED, "n_clusters, random_state, device and the cache key")
        except InvalidParameter as error:
            raise InvalidParameter(f"baseline_params[{baseline!r}]: {error}") from None


def traditional_inputs(imageset, dataset: str | None = None) -> np.ndarray:
    """Input of Table 2's traditional methods (Sec. 5.4), float64 (N, D): the flattened pixels / 255; on STL-10,
    ImageNet-10 and ImageNet-Dogs (:data:`HOG_DATASETS`) HOG features of the grey image (9 orientations, 8x8-pixel
    cells, 2x2-cell blocks) followed by an 8x8 colour map (the image resized to 8x8, / 255)."""
    if (dataset or imageset.name) not in HOG_DATASETS:
        return imageset.flat_pixels().astype(np.float64)
    from skimage.feature import hog

    grey = imageset.images.astype(np.float64).mean(-1) / 255.0
    hogs = np.stack([hog(g, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2)) for g in grey])
    colour = data.resize_images(imageset.images, 8).reshape(len(imageset), -1) / 255.0
    return np.hstack([hogs, colour])


def baseline_setting(baseline: str, baseline_params: dict | None = None, dataset: str | None = None) -> dict:
    """The setting a baseline's records carry: its input, and for trained ones the network and epochs."""
    if baseline not in BASELINE_DEFAULTS:
        return {"input": "HOG + colour map" if dataset in HOG_DATASETS else "raw pixels"}
    params = {**BASELINE_DEFAULTS[baseline], **(baseline_params or {}).get(baseline, {})}
    if baseline == "jule":
        return {"input": "pixels / 255", "network": "JULE MLP"}
    epochs = str(params["pretrain_epochs"]) + (f"+{params['clustering_epochs']}" if baseline == "dec" else "")
    return {"input": "z-scored pixels", "network": params["network"], "epochs": epochs}


def baseline_labels(imageset, baseline: str, seed: int, *, dataset: str | None = None,
                    baseline_params: dict | None = None, device: str = "cpu", checkpoint_path=None) -> np.ndarray:
    """One Table 2 baseline on ``imageset``; int64 labels (N,).

    K-means, SC, AC, NMF: :func:`cluster_label_features` on :func:`traditional_inputs`. AE and DEC: on the
    z-scored flattened pixels (:func:`clustlib.studies.clustpy_benchmark.prepare_inputs`), the autoencoder cached
    per seed and shared by both; ``checkpoint_path`` goes to their trainer (and JULE's, once it takes one). JULE:
    on the pixels / 255. K-means, SC, AC, NMF ignore it.
    """
    k = imageset.n_classes
    if baseline not in BASELINE_DEFAULTS:
        return cluster_label_features(traditional_inputs(imageset, dataset), baseline, k, seed=seed)
    params = {**BASELINE_DEFAULTS[baseline], **(baseline_params or {}).get(baseline, {})}
    if baseline == "jule":
        from clustlib.deep import JULE

        X = imageset.flat_pixels().astype(np.float32)
        model = JobContext(checkpoint_path).checkpointed(JULE(k, **params, random_state=seed, device=device))
        return np.asarray(model.fit(X).labels_, dtype=np.int64)
    from clustlib.deep import run_deep_clustering
    from clustlib.studies.clustpy_benchmark import prepare_inputs as zscored_inputs

    X, key = zscored_inputs(imageset, params["network"])
    out = run_deep_clustering(_DEEP_METHODS[baseline], X, k, seed=seed, dataset_key=key, device=device,
                              checkpoint_path=checkpoint_path, **params)
    return np.asarray(out["labels"], dtype=np.int64)


def _labels_job(job: Job, ctx: JobContext, *, imagesets: dict | None = None, **config) -> dict:
    """One Table 2 baseline or Figure 5-7 job: its labels (:func:`baseline_labels`, or a DAC variant with Table 2's
    arguments on a sweep subset), scored; ``checkpoint_path`` goes to every trainer that takes one."""
    spec = job.spec
    imageset = spec["imageset"] if "imageset" in spec else imagesets[job.dataset]
    t0 = time.perf_counter()
    if spec["method"] in VARIANT_NAMES:
        labels = _dac_labels(imageset, spec["dataset"], spec["method"], job.seed, preset=config["preset"],
                             network=(config["networks"] or {}).get(spec["dataset"]), epochs=config["epochs"],
                             overrides=(config["estimator_params"] or {}).get(spec["method"]),
                             device=config["device"], checkpoint_path=ctx.checkpoint_path)
    else:
        labels = baseline_labels(imageset, spec["method"], job.seed, dataset=spec["dataset"],
                                 baseline_params=config["baseline_params"], device=config["device"],
                                 checkpoint_path=ctx.checkpoint_path)
    seconds = time.perf_counter() - t0
    scores = metrics.evaluate(imageset.labels, labels, metrics=("nmi", "ari", "acc"))
    return {"logs": [dict(metrics=scores, time_s=seconds, note=spec.get("note", ""))]}


def run_baselines(run: results.Run, imagesets: dict, baselines, seeds, *, baseline_params: dict | None = None,
                  device: str = "cpu", progress: bool = True, parallel=None) -> pd.DataFrame:
    """Table 2's baseline rows: every (dataset, baseline, seed), one seed for :data:`SEEDLESS_BASELINES`, logged
    under the paper's row label with :func:`baseline_setting`; logged jobs of a resumed run are skipped.

    Returns ``dataset, method, seed, nmi, ari, acc, fit_s`` (seconds; AE and DEC include pretraining unless the
    autoencoder came from the cache).
    """
    check_baselines(baselines, baseline_params)
    jobs = [Job(d, TABLE2_BASELINES[b], baseline_setting(b, baseline_params, d), s, spec={"method": b, "dataset": d})
            for d in imagesets for b in baselines for s in (seeds[:1] if b in SEEDLESS_BASELINES else seeds)]
    rows = []
    for outcome in run_jobs(run, jobs, _labels_job, shared={"imagesets": imagesets, "baseline_params": baseline_params,
                                                            "device": device}, parallel=parallel,
                            desc="Table 2 baselines", progress=progress):
        job = outcome.job
        rows.append({"dataset": job.dataset, "method": job.method, "seed": job.seed,
                     **{m: outcome.metrics[m] for m in ("nmi", "ari", "acc")}, "fit_s": outcome.time_s})
    return pd.DataFrame(rows, columns=["dataset", "method", "seed", "nmi", "ari", "acc", "fit_s"])


# -- Figures 5-7: imbalanced subsets, number of clusters, number of samples ------------------------------------------

#: Figure 5's minimum retention rates r (Sec. 5.6).
PAPER_RETENTION_RATES = (0.1, 0.3, 0.5, 0.7, 0.9)
#: Figure 6's numbers of clusters K: 10 to 50 in steps of 5 ILSVRC2012 classes.
PAPER_CLUSTER_COUNTS = tuple(range(10, 55, 5))
#: Figure 7's numbers of samples N: 10,000 to 60,000 in steps of 10,000 (MNIST and CIFAR-10).
PAPER_SAMPLE_COUNTS = tuple(range(10_000, 70_000, 10_000))
#: Methods a sweep can run: Table 2's baselines and the two DAC variants -> the label in the figures.
SWEEP_METHODS = {**TABLE2_BASELINES, **VARIANT_NAMES}
#: Sweep -> (paper figure, suffix of its records' dataset name, the swept setting).
SWEEPS = {"imbalance": ("5", "imbalanced", "retention"), "clusters": ("6", "clusters", "k"),
          "samples": ("7", "samples", "n")}
#: Datasets only the sweeps use -> the Table 2 dataset whose script (network, augmentation, batch) they take:
#: Figure 6's ILSVRC2012 classes come from Tiny-ImageNet's 200 (decoded at 96 px, ImageNet-10's network).
SWEEP_ONLY_DATASETS = {"tiny_imagenet": "imagenet10"}


def imbalanced_subset(labels: np.ndarray, rate: float, *, seed: int = 0) -> np.ndarray:
    """Figure 5's subset (the protocol of DEC, Xie et al. 2016): each image of class c of K is kept with probability
    r + (1 - r) c / (K - 1), class 0 with probability ``rate`` and class K - 1 always. Sorted indices (M,)."""
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 < rate <= 1:
        raise InvalidParameter(f"retention rates must lie in (0, 1], got {rate!r}.")
    labels = np.asarray(labels)
    k = int(labels.max()) + 1
    keep = rate + (1 - rate) * labels / max(k - 1, 1)
    return np.flatnonzero(np.random.default_rng(seed).random(len(labels)) < keep)


def cluster_subset(labels: np.ndarray, k: int, *, seed: int = 0, per_class: int = 0) -> np.ndarray:
    """Figure 6's subset: the images of K classes, the first K of one seeded permutation of the classes (so the
    subsets are nested as K grows), ``per_class`` > 0 images of each (the first of a seeded shuffle). Sorted (M,)."""
    labels = np.asarray(labels)
    classes = np.random.default_rng(seed).permutation(int(labels.max()) + 1)
    if not isinstance(k, int) or isinstance(k, bool) or not 2 <= k <= len(classes):
        raise InvalidParameter(f"cluster counts must be integers in [2, {len(classes)}], got {k!r}.")
    rng = np.random.default_rng(seed + 1)
    chosen = []
    for c in classes[:k]:
        members = rng.permutation(np.flatnonzero(labels == c))
        chosen.append(members[:per_class] if per_class else members)
    return np.sort(np.concatenate(chosen))


def _relabel(imageset, indices: np.ndarray, name: str):
    """The images ``indices`` with labels renumbered 0..K'-1 over the classes present (Figure 6 keeps K of them)."""
    sub = imageset.take(indices, name=name)
    present = np.unique(sub.labels)
    if len(present) == imageset.n_classes:
        return sub
    from clustlib.data import ImageSet

    return ImageSet(name=name, images=sub.images, labels=np.searchsorted(present, sub.labels),
                    classes=tuple(imageset.classes[c] for c in present), source=sub.source, split=sub.split)


def sweep_jobs(sweep: str, imageset, values, *, seed: int = 0, per_class: int = 0) -> list[tuple]:
    """``(value, ImageSet)`` of one sweep: one imbalanced subset per retention rate, the images of K classes per
    K, or a stratified subset of N images per N (N larger than the data is refused)."""
    from clustlib.data.subset import stratified_subset

    if sweep not in SWEEPS:
        raise InvalidParameter(f"Unknown sweep {sweep!r}; valid: {list(SWEEPS)}.")
    out = []
    for value in values:
        if sweep == "imbalance":
            indices = imbalanced_subset(imageset.labels, value, seed=seed)
        elif sweep == "clusters":
            indices = cluster_subset(imageset.labels, value, seed=seed, per_class=per_class)
        else:
            if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= len(imageset):
                raise InvalidParameter(f"sample counts must be integers in [1, {len(imageset)}] for "
                                       f"{imageset.name}, got {value!r}.")
            indices = stratified_subset(imageset.labels, value, seed=seed)
        out.append((value, _relabel(imageset, indices, imageset.name)))
    return out


def _dac_labels(imageset, dataset: str, variant: str, seed: int, *, preset: str, network, epochs: int,
                overrides: dict | None, device: str, checkpoint_path=None) -> np.ndarray:
    from clustlib.deep import DAC

    script, kwargs = script_settings(SWEEP_ONLY_DATASETS.get(dataset, dataset), variant, preset=preset,
                                     network=network, epochs=epochs, overrides=overrides)
    X = prepare_inputs(imageset, kwargs["network"], script)
    model = DAC(imageset.n_classes, **kwargs, random_state=seed, device=device, progress=False,
                checkpoint_path=checkpoint_path).fit(X)
    return np.asarray(model.labels_, dtype=np.int64)


def sweep_dataset_name(dataset: str, sweep: str) -> str:
    """The dataset name a sweep's records carry (``mnist_imbalanced``, ``tiny_imagenet_clusters``,
    ``cifar10_samples``), apart from Table 2's."""
    return f"{dataset}_{SWEEPS[sweep][1]}"


def run_sweep(run: results.Run, sweep: str, dataset: str, imageset, values, methods, seeds, *, preset: str = "paper",
              networks: dict | None = None, epochs: int = 0, estimator_params: dict | None = None,
              baseline_params: dict | None = None, per_class: int = 0, device: str = "cpu",
              progress: bool = True, parallel=None) -> pd.DataFrame:
    """One of Figures 5-7: every method of ``methods`` (keys of :data:`SWEEP_METHODS`) on each subset of
    :func:`sweep_jobs`, per seed, logged as ``<dataset>_<sweep>`` with the setting ``figure=..,<swept>=..,n=..``;
    DAC's arguments as in Table 2 (``estimator_params`` per variant). Logged jobs of a resumed run are skipped.

    Returns ``dataset, sweep, value, n, method, seed, nmi, ari, acc, fit_s``.
    """
    figure, _, key = SWEEPS[sweep]
    name = sweep_dataset_name(dataset, sweep)
    jobs = []
    for value, sub, method, seed in [(value, sub, method, seed) for seed in seeds
                                     for value, sub in sweep_jobs(sweep, imageset, values, seed=seed,
                                                                  per_class=per_class) for method in methods]:
        setting = {"figure": figure, key: value, "n": len(sub)} if key != "n" else {"figure": figure, "n": value}
        jobs.append(Job(name, SWEEP_METHODS[method], setting, seed, spec={
            "method": method, "dataset": dataset, "imageset": sub, "value": value,
            "note": f"Figure {figure}: {sub.n_classes} classes, {len(sub)} images"}))
    rows = []
    for outcome in run_jobs(run, jobs, _labels_job, shared={
            "preset": preset, "networks": networks, "epochs": epochs, "estimator_params": estimator_params,
            "baseline_params": baseline_params, "device": device}, parallel=parallel, desc=f"Figure {figure}",
            progress=progress):
        job = outcome.job
        rows.append({"dataset": dataset, "sweep": sweep, "value": job.spec["value"], "n": len(job.spec["imageset"]),
                     "method": job.method, "seed": job.seed, **{m: outcome.metrics[m] for m in ("nmi", "ari", "acc")},
                     "fit_s": outcome.time_s})
    return pd.DataFrame(rows, columns=["dataset", "sweep", "value", "n", "method", "seed", "nmi", "ari", "acc",
                                       "fit_s"])


def sweep_table(records: pd.DataFrame, sweep: str) -> pd.DataFrame:
    """A sweep's scores read back from a run's records: ``dataset, value, n, method, seed, nmi, ari, acc``."""
    figure, suffix, key = SWEEPS[sweep]
    part = records[records["dataset"].str.endswith(f"_{suffix}")
                   & records["setting"].str.startswith(f"figure={figure},")]
    cols = ["dataset", "value", "n", "method", "seed", "nmi", "ari", "acc"]
    if part.empty:
        return pd.DataFrame(columns=cols)
    wide = part.pivot_table(index=["dataset", "setting", "method", "seed"], columns="metric", values="value",
                            aggfunc="mean").reset_index()
    parsed = wide["setting"].map(results.parse_setting)
    wide["value"] = parsed.map(lambda s: float(s[key]))
    wide["n"] = parsed.map(lambda s: int(float(s["n"])))
    wide["dataset"] = wide["dataset"].str[: -len(suffix) - 1]
    return wide.reindex(columns=cols).sort_values(["dataset", "method", "value", "seed"]).reset_index(drop=True)


# -- Figures 1 and 3: label features on the K-gon, sample images -------------------------------------------------------

def kgon_coordinates(Z: np.ndarray) -> np.ndarray:
    """Label features (N, K) mapped into the regular K-gon (Figure 1): vertex k at angle 90° - 360° k / K on the unit
    circle, each sample at the mean of the vertices weighted by its squared label features (they sum to 1 for
    L2-normalised features), so a one-hot vector lands on its vertex and a flat one at the centre. (N, 2)."""
    Z = np.clip(np.asarray(Z, dtype=np.float64), 0, None)
    k = Z.shape[1]
    angles = np.pi / 2 - 2 * np.pi * np.arange(k) / k
    vertices = np.stack([np.cos(angles), np.sin(angles)], 1)
    weights = Z ** 2
    return weights @ vertices / np.maximum(weights.sum(1, keepdims=True), 1e-12)


def label_feature_samples(labels: np.ndarray, Z: np.ndarray, max_clusters: int = 10) -> pd.DataFrame:
    """Figure 3's examples: per cluster (argmax of ``Z``; the first ``max_clusters`` by size), its most confident
    image of the cluster's majority class (``kind`` "typical") and its most confident image of another class
    ("failure", where one exists). Columns ``index, cluster, kind, label``."""
    assigned = Z.argmax(1)
    confidence = Z.max(1)
    rows = []
    for cluster in np.argsort(-np.bincount(assigned, minlength=Z.shape[1]), kind="stable")[:max_clusters]:
        members = np.flatnonzero(assigned == cluster)
        if not len(members):
            continue
        majority = np.bincount(labels[members]).argmax()
        for kind, pool in (("typical", members[labels[members] == majority]),
                           ("failure", members[labels[members] != majority])):
            if len(pool):
                best = int(pool[np.argmax(confidence[pool])])
                rows.append({"index": best, "cluster": int(cluster), "kind": kind, "label": int(labels[best])})
    return pd.DataFrame(rows, columns=["index", "cluster", "kind", "label"])


def keep_label_feature_samples(run: results.Run, imagesets: dict, runs: DACRuns) -> None:
    """Save Figure 3's example images and label features (DAC where it ran, else DAC*; the first seed) as the
    artifact ``samples_<dataset>``: ``images`` (M, H, W, C) uint8, ``features`` (M, K), ``cluster``, ``label``,
    ``typical`` (bool)."""
    for dataset, imageset in imagesets.items():
        keys = [key for key in runs.features if key[0] == dataset]
        if not keys:
            continue
        chosen = min(keys, key=lambda key: (key[1] != "dac", key[2]))
        Z = runs.features[chosen][1]
        picks = label_feature_samples(imageset.labels, Z)
        index = picks["index"].to_numpy(dtype=np.int64)
        results.save_arrays(run.run_dir, f"samples_{dataset}", images=imageset.images[index], features=Z[index],
                            cluster=picks["cluster"].to_numpy(), label=picks["label"].to_numpy(),
                            typical=(picks["kind"] == "typical").to_numpy(), variant=np.array(chosen[1]),
                            seed=np.array(chosen[2]), classes=np.array(imageset.classes, dtype=str))


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
    ours = frame.melt(id_vars=["dataset", "method", "seed"] + (["features"] if table == "3" else []),
                      value_vars=["nmi", "ari", "acc"], var_name="metric")
    ours["setting"] = ours.pop("features") if table == "3" else ""
    side = beside_paper(ours, paper.load("dac2017", table), stand_ins)
    return side[side["paper"].notna()].reset_index(drop=True)


def figure_thresholds(history: pd.DataFrame, dataset: str | None = None):
    """The adaptive rule at work on one dataset: thresholds (left) and the shares of positive and of selected
    candidate pairs (right) per iteration (a pass over the data, after which λ updates), one colour per method,
    mean over seeds."""
    dataset, _, lines, fig, left, right = history_panels(history, dataset, "method")
    for colour, method, rows in lines:
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


def figure_table2(scores: pd.DataFrame, dataset: str | None = None, *, stand_ins: dict | None = None):
    """Table 2 as a chart for one dataset: NMI, ARI and ACC (one panel each) of every method that ran, in the
    paper's row order, mean ± SD over seeds, with the paper's value as a black dash (of the dataset this one stands
    in for, see :func:`compare_with_paper`) and the rows only the paper has as dashes alone."""
    dataset = dataset or scores["dataset"].iloc[0]
    stand_ins = dict(stand_ins or {})
    target = stand_ins.get(dataset, dataset)
    part = scores[scores["dataset"] == dataset]
    published = paper.load("dac2017", "2", dataset=[target])
    paper_order = list(dict.fromkeys(published["method"]))
    order = paper_order + [m for m in dict.fromkeys(part["method"]) if m not in paper_order]
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.6), layout="constrained", sharey=True)
    for ax, metric in zip(axes, ("nmi", "ari", "acc")):
        stats = part.groupby("method")[metric].agg(["mean", "std"]).reindex(order)
        x = np.arange(len(order))
        ax.bar(x, stats["mean"].fillna(0), yerr=stats["std"].fillna(0), color="C0", capsize=2,
               error_kw={"linewidth": 1}, label="ours (mean ± SD)" if metric == "nmi" else None)
        values = published[published["metric"] == metric].set_index("method")["value"].reindex(order)
        ax.hlines(values, x - 0.4, x + 0.4, colors="black", linewidth=2,
                  label=(f"paper ({target})" if target != dataset else "paper") if metric == "nmi" else None)
        ax.set_xticks(x, order, rotation=60, ha="right", fontsize="small")
        ax.set_title(metric.upper())
        ax.set_ylim(*plots.PAPER_YLIM)
    axes[0].set_ylabel("score")
    label = f"{dataset} (as {target})" if target != dataset else dataset
    fig.suptitle(f"Table 2 on {label}: ours beside the paper; methods without a bar were not rerun")
    fig.legend(loc="outside lower center", ncol=2, frameon=False, fontsize="small")
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


_SWEEP_TITLES = {"imbalance": ("minimum retention rate r", "Figure 5: imbalanced subsets of {} (the paper: MNIST)"),
                 "clusters": ("number of clusters K", "Figure 6: K classes of {} (the paper: ILSVRC2012 1K)"),
                 "samples": ("number of samples N", "Figure 7: N images of {} (the paper: MNIST, CIFAR-10)")}


def figure_sweep(table: pd.DataFrame, sweep: str, *, metrics_shown=None):
    """Figures 5-7 as the paper draws them: a score against the swept value, one line per method (mean over
    seeds; a band of ±1 SD where there are several), one row of panels per dataset. Figure 5 shows ACC (the
    paper's y axis); Figures 6 and 7 NMI, ARI and ACC. The title names the paper's data for the sweep (a
    stand-in profile's data differ)."""
    metrics_shown = list(metrics_shown or (("acc",) if sweep == "imbalance" else ("nmi", "ari", "acc")))
    datasets = list(dict.fromkeys(table["dataset"]))
    xlabel, title = _SWEEP_TITLES[sweep]
    fig, axes = plt.subplots(len(datasets), len(metrics_shown), squeeze=False, layout="constrained",
                             figsize=(3.6 * len(metrics_shown) + 1.6, 3.0 * len(datasets)))
    methods = [m for m in SWEEP_METHODS.values() if m in set(table["method"])]
    for row, dataset in zip(axes, datasets):
        part = table[table["dataset"] == dataset]
        for ax, metric in zip(row, metrics_shown):
            for i, method in enumerate(methods):
                stats = part[part["method"] == method].groupby("value")[metric].agg(["mean", "std"]).reset_index()
                style = {"color": "black", "linewidth": 2} if method == VARIANT_NAMES["dac"] else {"color": f"C{i}"}
                ax.plot(stats["value"], stats["mean"], marker="o", ms=4, label=method, **style)
                if stats["std"].fillna(0).gt(0).any():
                    ax.fill_between(stats["value"], stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                                    alpha=0.15, color=style["color"], linewidth=0)
            values = sorted(part["value"].unique())
            ax.set_xticks(values, [f"{v:g}" for v in values], fontsize="small")
            single = len(metrics_shown) == 1
            ax.set(xlabel=xlabel, ylabel="clustering accuracy" if single else metric.upper(), ylim=(0, 1.02))
            if not single or len(datasets) > 1:
                ax.set_title(metric.upper() if len(datasets) == 1 else f"{metric.upper()}, {dataset}",
                             fontsize="medium")
    fig.suptitle(title.format(" and ".join(datasets)), fontsize="medium")
    axes[0, -1].legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def figure_kgon(initial: np.ndarray, final: np.ndarray, labels: np.ndarray, *, dataset: str, method: str = "DAC",
                max_points: int = 10_000, seed: int = 0):
    """Figure 1: label features mapped into the regular K-gon (:func:`kgon_coordinates`), initial stage (untrained
    network) and final stage, each point coloured by its ground-truth class; at most ``max_points`` samples (a
    seeded random choice; the paper draws MNIST's 10,000 test images)."""
    k = final.shape[1]
    keep = np.arange(len(labels))
    if len(keep) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(labels), max_points, replace=False))
    angles = np.pi / 2 - 2 * np.pi * np.arange(k + 1) / k
    colours = plt.get_cmap("tab10" if k <= 10 else "tab20")
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 4.3), layout="constrained")
    for ax, Z, stage in zip(axes, (initial, final), ("Initial stage", "Final stage")):
        xy = kgon_coordinates(Z[keep])
        ax.plot(np.cos(angles), np.sin(angles), color="grey", linewidth=0.8)
        ax.scatter(xy[:, 0], xy[:, 1], c=[colours(c % colours.N) for c in labels[keep]], s=3, alpha=0.5,
                   linewidths=0, rasterized=True)
        for v in range(k):
            ax.annotate(str(v), (1.1 * np.cos(angles[v]), 1.1 * np.sin(angles[v])), ha="center", va="center",
                        fontsize="small", color="grey")
        ax.set(xlim=(-1.25, 1.25), ylim=(-1.25, 1.25), aspect="equal", title=stage, xticks=[], yticks=[])
    handles = [plt.Line2D([], [], marker="o", ls="", color=colours(c % colours.N), label=str(c))
               for c in np.unique(labels)[:20]]
    axes[1].legend(handles=handles, title="class", frameon=False, fontsize="x-small", loc="upper left",
                   bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(f"Figure 1: {method} label features of {len(keep):,} {dataset} images on the {k}-gon\n"
                 "(a vertex is a one-hot label feature; colour: true class)", fontsize="medium")
    return fig


def _montage(images: list, size: tuple) -> np.ndarray:
    """Images (H, W, C) side by side with a 2-pixel white gap, blanks for None; float (H, n (W + 2), 3) in [0, 1]."""
    h, w = size
    tiles = []
    for image in images:
        tile = np.ones((h, w + 2, 3))
        if image is not None:
            tile[:, :w] = (np.repeat(image, 3, -1) if image.shape[-1] == 1 else image) / 255.0
        tiles.append(tile)
    return np.concatenate(tiles, 1)


def figure_label_feature_samples(samples: dict, *, dataset: str):
    """Figure 3: for each cluster (columns, largest first) its most confident image of the cluster's majority
    class with its label feature (top two rows) and its most confident image of another class, a failure mode
    (bottom two rows), as :func:`keep_label_feature_samples` kept them; the bar of the cluster's own neuron in
    black. One axis per row (a montage and grouped bars), so it draws in a fraction of a second."""
    clusters = list(dict.fromkeys(samples["cluster"].tolist()))
    k = samples["features"].shape[1]
    classes = [str(c) for c in samples["classes"]]
    h, w = samples["images"].shape[1:3]
    fig, axes = plt.subplots(4, 1, figsize=(1.1 * len(clusters) + 1.2, 5.4), layout="constrained",
                             gridspec_kw={"height_ratios": [1.2, 0.7, 1.2, 0.7]})
    for block, typical, text in ((0, True, "typical"), (2, False, "failure mode")):
        picks = []
        for cluster in clusters:
            where = np.flatnonzero((samples["cluster"] == cluster) & (samples["typical"] == typical))
            picks.append(int(where[0]) if len(where) else None)
        image_ax, bar_ax = axes[block], axes[block + 1]
        image_ax.imshow(_montage([None if i is None else samples["images"][i] for i in picks], (h, w)),
                        extent=(-0.5, len(clusters) - 0.5, 0, 1), aspect="auto")
        image_ax.set(xticks=range(len(clusters)), yticks=[], xlim=(-0.5, len(clusters) - 0.5))
        image_ax.set_xticklabels([f"class {classes[int(samples['label'][i])]}"[:16] if i is not None else "none"
                                  for i in picks], fontsize="x-small")
        image_ax.xaxis.tick_top()
        image_ax.set_ylabel(text, fontsize="small")
        image_ax.grid(False)
        width = 0.9 / k
        for col, i in enumerate(picks):
            if i is None:
                continue
            x = col - 0.45 + width * (np.arange(k) + 0.5)
            bar_ax.bar(x, samples["features"][i], width=width,
                       color=["black" if j == clusters[col] else "C0" for j in range(k)])
        bar_ax.set(xlim=(-0.5, len(clusters) - 0.5), ylim=(0, 1), xticks=[c + 0.0 for c in range(len(clusters))],
                   yticks=[0, 1])
        bar_ax.set_xticklabels([f"cluster {c}" for c in clusters], fontsize="x-small")
        bar_ax.set_ylabel("label\nfeature", fontsize="x-small")
        bar_ax.grid(False)
        for edge in range(1, len(clusters)):
            bar_ax.axvline(edge - 0.5, color="0.85", linewidth=0.8)
    method = VARIANT_NAMES.get(str(samples["variant"]), str(samples["variant"]))
    fig.suptitle(f"Figure 3: {method} label features on {dataset}, per cluster the most confident image of its\n"
                 "majority class (top) and of another class (bottom); the cluster's own neuron in black",
                 fontsize="small")
    fig.supxlabel(" ", fontsize="small")  # a blank line at the foot, where the profile stamp goes
    return fig


# -- Redrawing from the run folder -------------------------------------------------------------------------------------

#: Figure families :func:`draw_figures` draws, in order (``only`` takes these or full figure names).
FIGURES = ("table2", "thresholds", "fig4", "cluster_sizes", "fig1", "fig3", "fig5", "fig6", "fig7")


def load_runs(run_dir) -> DACRuns:
    """The :class:`DACRuns` of a finished (or interrupted) run folder, from its records and the artifacts
    :func:`run_grid` kept (``history`` and ``features`` for every logged network)."""
    records = results.read_records(run_dir)
    own = records[records["setting"].str.startswith("preset=") & records["method"].isin(VARIANT_NAMES.values())]
    variants = {name: variant for variant, name in VARIANT_NAMES.items()}
    rows, history, features = [], [], {}
    if own.empty:
        return DACRuns(pd.DataFrame(), pd.DataFrame(), {})
    wide = own.pivot_table(index=["dataset", "method", "setting", "seed"], columns="metric", values="value",
                           aggfunc="mean").reset_index()
    times = own.groupby(["dataset", "method", "setting", "seed"])["time_s"].first()
    order = {name: i for i, name in enumerate(dict.fromkeys(own["dataset"]))}  # as run: datasets, DAC* then DAC
    wide = wide.assign(_d=wide["dataset"].map(order), _v=wide["method"].map(list(VARIANT_NAMES.values()).index))
    wide = wide.sort_values(["_d", "_v", "seed"]).drop(columns=["_d", "_v"])
    for row in wide.itertuples(index=False):
        variant = variants[row.method]
        kept = results.load_arrays(run_dir, job_artifact(row.dataset, variant, row.seed))
        setting = results.parse_setting(row.setting)
        rows.append({"dataset": row.dataset, "method": row.method, "variant": variant, **setting, "seed": row.seed,
                     "nmi": row.nmi, "ari": row.ari, "acc": row.acc,
                     "n_clusters_found": int(np.unique(kept["final"].argmax(1)).size),
                     "fit_s": float(times[(row.dataset, row.method, row.setting, row.seed)]),
                     "epoch_s": float(kept["epoch_s"])})
        history += _history_rows(row.dataset, row.method, row.seed, _History(*(kept[f] for f in _History._fields)))
        features[(row.dataset, variant, row.seed)] = (kept["initial"], kept["final"])
    return DACRuns(pd.DataFrame(rows), pd.DataFrame(history), features)


def table2_scores(records: pd.DataFrame) -> pd.DataFrame:
    """Table 2's rows of a run's records (DAC, DAC* and the baselines, not Table 3's or the sweeps'), wide:
    ``dataset, method, seed, nmi, ari, acc``."""
    part = records[records["setting"].str.startswith("preset=") | records["setting"].str.startswith("input=")]
    if part.empty:
        return pd.DataFrame(columns=["dataset", "method", "seed", "nmi", "ari", "acc"])
    wide = part.pivot_table(index=["dataset", "method", "seed"], columns="metric", values="value",
                            aggfunc="mean").reset_index()
    return wide[["dataset", "method", "seed", "nmi", "ari", "acc"]]


def _wanted(only, family: str, name: str) -> bool:
    return only is None or family in only or name in only


def draw_figures(run_dir, only=None):
    """Every figure of study 07 from a run folder alone (records, params and the artifacts the run kept), as
    ``(name, figure)`` pairs; ``only``: families of :data:`FIGURES` or figure names to draw."""
    params = results.read_params(run_dir)
    records = results.read_records(run_dir)
    stand_ins = dict(params.get("stand_ins") or {})
    datasets = list(params["datasets"])
    runs = load_runs(run_dir)
    scores = table2_scores(records)
    for dataset in datasets:
        if _wanted(only, "table2", f"dac_table2_{dataset}") and (scores["dataset"] == dataset).any():
            yield f"dac_table2_{dataset}", figure_table2(scores, dataset, stand_ins=stand_ins)
    trained = [d for d in datasets if any(key[0] == d for key in runs.features)]
    distribution = feature_distribution(runs) if trained else None
    for dataset in trained:
        if _wanted(only, "thresholds", f"dac_thresholds_{dataset}"):
            yield f"dac_thresholds_{dataset}", figure_thresholds(runs.history, dataset)
        if _wanted(only, "fig4", f"dac_fig4_label_features_{dataset}"):
            yield f"dac_fig4_label_features_{dataset}", figure_feature_distribution(distribution, dataset)
        if _wanted(only, "cluster_sizes", f"dac_cluster_sizes_{dataset}"):
            yield f"dac_cluster_sizes_{dataset}", figure_cluster_sizes(runs, dataset)
    for dataset in trained:
        name = f"dac_fig1_kgon_{dataset}"
        if _wanted(only, "fig1", name):
            key = min((key for key in runs.features if key[0] == dataset), key=lambda key: (key[1] != "dac", key[2]))
            initial, final = runs.features[key]
            labels = results.load_arrays(run_dir, job_artifact(*key))["labels"]
            yield name, figure_kgon(initial, final, labels, dataset=dataset, method=VARIANT_NAMES[key[1]])
        name = f"dac_fig3_label_features_{dataset}"
        if _wanted(only, "fig3", name):
            yield name, figure_label_feature_samples(results.load_arrays(run_dir, f"samples_{dataset}"),
                                                     dataset=dataset)
    for family, sweep, name in (("fig5", "imbalance", "dac_fig5_imbalanced"), ("fig6", "clusters", "dac_fig6_clusters"),
                                ("fig7", "samples", "dac_fig7_samples")):
        table = sweep_table(records, sweep)
        if _wanted(only, family, name) and not table.empty:
            yield name, figure_sweep(table, sweep)
