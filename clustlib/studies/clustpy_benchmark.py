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

Size (~700 lines): one module holds the ClustPy benchmark's whole study, in its notebook's order: the parameter checks, the jobs (run through :mod:`clustlib.studies._grid`), the paper-table joins and the figures (drawn from the run folder only). ``clustlib figures`` and the tests look a study's names up on this one module; splitting the figures into a sibling module is the next step once :mod:`clustlib.figures` can look beyond it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import pyplot as plt

from clustlib import data, metrics, paper, plots, results
from clustlib.data.catalog import CLUSTPY_DOG, CLUSTPY_DOG_WNIDS  # ClustPy's ImageNetDog, registered there
from clustlib.deep import (INITIAL_CLUSTERINGS, blank_pixel_value, list_methods, run_deep_clustering,
                           zscore_images)
from clustlib.errors import InvalidParameter
from clustlib.studies._common import beside_paper, check_datasets, check_seeds, summary_mean_std
from clustlib.studies._grid import Job, JobContext, check_scheduler, run_jobs

__all__ = ["amp_flag", "precision", "native_bf16_cpu", "AMP_MODES", "PAPER_METHOD_NAMES", "DATASET_NAMES",
           "experiment_datasets_for", "experiment_methods_for", "all_datasets", "CLUSTPY_DOG", "CLUSTPY_DOG_WNIDS", "FACTOR_EXPERIMENTS", "draw_figures", "FIGURES", "NETWORK_SETTINGS", "EXPERIMENTS", "validate",
           "validate_params", "prepare_inputs", "run_grid",
           "stratified_subsets", "log_side_by_side", "split_train_test", "generalisation_splits", "zscore_train_test",
           "run_generalisation", "augmentation_params", "summary", "compare_with_paper",
           "figure_runtime", "figure_by_value", "figure_initialisation", "figure_augmentation",
           "figure_generalisation", "records_frame"]

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


#: Experiments whose datasets ``datasets_per_experiment`` may set (the single-factor ones).
FACTOR_EXPERIMENTS = ("C", "D", "E", "F", "G", "I")


def validate_params(params: dict) -> None:
    """Every parameter of the notebook (the dataset lists, subsets, seeds, the side-by-side, and what
    :func:`validate` checks), before its kernel starts (``clustlib run`` calls this)."""
    from clustlib.compare.clustpy_reference import SIDE_BY_SIDE_METHODS

    check_scheduler(params.get("scheduler"))
    check_datasets(params["datasets"])
    per = params.get("datasets_per_experiment") or {}
    if not isinstance(per, dict) or not all(isinstance(v, list) for v in per.values()):
        raise InvalidParameter(f"datasets_per_experiment must map experiment letters to dataset lists, got {per!r}.")
    bad = sorted(set(per) - set(FACTOR_EXPERIMENTS))
    if bad:
        raise InvalidParameter(f"datasets_per_experiment names {bad}; only {list(FACTOR_EXPERIMENTS)} take their "
                               "own datasets (A, B, H use datasets and augmentation_datasets).")
    for letter, names in per.items():
        if names:
            check_datasets(names, name=f"datasets_per_experiment[{letter}]")
    per_methods = params.get("methods_per_experiment") or {}
    if not isinstance(per_methods, dict) or not all(isinstance(v, list) for v in per_methods.values()):
        raise InvalidParameter(f"methods_per_experiment must map experiment letters to method lists, got "
                               f"{per_methods!r}.")
    bad = sorted(set(per_methods) - set(FACTOR_EXPERIMENTS))
    if bad:
        raise InvalidParameter(f"methods_per_experiment names {bad}; only {list(FACTOR_EXPERIMENTS)} take their "
                               "own methods (A, B, H use methods).")
    for name in ("experiment_datasets", "augmentation_datasets"):  # may be empty: their experiments are skipped
        if params[name]:
            check_datasets(params[name], name=name)
    loaded = sorted({*params["datasets"], *params["experiment_datasets"], *params["augmentation_datasets"],
                     *(d for names in per.values() for d in names)})
    check_datasets(params["datasets"], params["subsets"], loaded=loaded)
    check_seeds(params["seeds"])
    check_seeds(params["conv_seeds"])
    for name in ("factor_seeds", "compare_clustpy_seeds"):  # empty: the seeds list
        if params.get(name):
            check_seeds(params[name])
    bad = [m for m in params.get("compare_clustpy_methods", []) if m not in SIDE_BY_SIDE_METHODS]
    if bad:
        raise InvalidParameter(f"compare_clustpy_methods {bad} are not in the side-by-side; "
                               f"it compares {list(SIDE_BY_SIDE_METHODS)}.")
    validate(params["methods"] + params["factor_methods"] + [m for v in per_methods.values() for m in v],
             params["experiments"], params["seeds"],
             initial_clusterings=params["initial_clusterings"], conv_epochs=params["conv_epochs"], amp=params["amp"],
             method_params=params["method_params"])


#: ``amp`` values: float32 (the benchmark), bfloat16 autocast everywhere, bfloat16 only on a CPU that has it natively.
AMP_MODES = ("off", "on", "cpu_bf16")
_BF16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}


def native_bf16_cpu(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """True when the CPU lists a native bfloat16 unit (the ``avx512_bf16`` or ``amx_bf16`` flag of ``cpuinfo``);
    False where the file is missing (macOS, Windows) or lists neither, so such machines stay in float32."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return bool(_BF16_CPU_FLAGS & set(flags))


def amp_flag(amp: str, device: str | None = "cpu") -> bool:
    """The notebook's ``amp`` parameter as the estimators' ``amp``: ``"off"`` (float32, as the benchmark) -> False,
    ``"on"`` (bfloat16 autocast on any device) -> True, ``"cpu_bf16"`` -> True only on a CPU device whose CPU has
    native bfloat16 (:func:`native_bf16_cpu`; 2.2-2.9x faster DEC/IDEC/DCN epochs measured on an AMD EPYC with
    AVX512-BF16), float32 elsewhere (CUDA included).

    ``"auto"`` used to mean "on for CUDA"; it is refused, so that no profile turns mixed precision on without
    saying so."""
    if amp not in AMP_MODES:
        hint = " ('auto' is gone: write 'on' for bfloat16 autocast, 'off' for float32)" if amp == "auto" else ""
        raise InvalidParameter(f"amp must be one of {list(AMP_MODES)}, got {amp!r}{hint}.")
    if amp == "cpu_bf16":
        return str(device or "cpu").startswith("cpu") and native_bf16_cpu()
    return amp == "on"


def precision(amp: str, device: str | None = "cpu") -> str:
    """``"bfloat16"`` where :func:`amp_flag` turns autocast on, else ``"float32"`` (the label of tables and notes)."""
    return "bfloat16" if amp_flag(amp, device) else "float32"


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


_SCORES = ("nmi", "ari", "acc")


def _row(imageset, method, setting: dict, seed, scores: dict, out: dict | None, *, precision_: str) -> dict:
    """One tidy row of an experiment's frame (timings NaN for a job read back from the run folder)."""
    out = out or {}
    return {"dataset": imageset.name, "method": method, **setting, "seed": seed,
            **{k: float(scores[k]) for k in _SCORES},
            "clustering_s": out.get("clustering_seconds", np.nan), "epoch_s": out.get("epoch_seconds", np.nan),
            "pretrain_s": out.get("pretrain_seconds", np.nan), "pretrain_cached": out.get("pretrain_from_cache"),
            "precision": precision_}


def _note(precision_: str, *extra: str) -> str:
    return "; ".join([e for e in extra if e] + (["bfloat16 autocast"] if precision_ == "bfloat16" else []))


def _log_entry(imageset, method, setting: dict, seed, labels, out, note="", *, precision_: str = "float32"
               ) -> tuple[dict, dict]:
    """The ``run.log`` arguments of one scored job and its tidy row."""
    scores = metrics.evaluate(imageset.labels, labels, metrics=_SCORES)
    entry = dict(dataset=imageset.name, method=method, setting=setting, seed=seed, metrics=scores,
                 time_s=out["clustering_seconds"], note=_note(precision_, note))
    return entry, _row(imageset, method, setting, seed, scores, out, precision_=precision_)


@lru_cache(maxsize=None)
def _accepts_checkpoint(method: str) -> bool:
    from clustlib.deep import create_method

    return "checkpoint_path" in create_method(method).get_params()


@lru_cache(maxsize=None)
def _method_defaults(method: str) -> tuple:
    from clustlib.deep import create_method

    return tuple(sorted((k, repr(v)) for k, v in create_method(method).get_params().items()))


def _job_key(data_key: str, network: str, method: str, seed: int, kwargs: dict) -> tuple:
    """What makes two jobs the same computation: data, network, method, seed and the arguments that differ from
    the method's defaults (``initial_clustering="kmeans"`` or the default ``lr`` name experiment A's job)."""
    defaults = dict(_method_defaults(method))
    return (data_key, network, method, int(seed), tuple(sorted(
        (k, repr(v)) for k, v in kwargs.items() if k != "progress" and defaults.get(k) != repr(v))))


def run_grid(run: results.Run, experiment: str, imagesets: dict, methods, seeds, *, network="ff_500_500_2000",
             vary: str | None = None, values=(None,), augment: bool = False, method_params: dict | None = None,
             progress: bool = True, shared: dict | None = None, parallel=None, **train) -> pd.DataFrame:
    """Every dataset × value × method × seed; ``vary`` names the swept argument (``embedding_size``, ``lr``,
    ``initial_clustering``).

    ``train`` holds ``pretrain_epochs, clustering_epochs, batch_size, device, n_threads, amp``. The autoencoder is
    pretrained once per (data, network, m, augmentation, seed, precision) and reused by every method, as in the
    paper. ``augment=True`` runs experiment H: pretraining on augmented images and clustering with them.
    ``method_params`` maps a method name to estimator arguments that override its defaults.

    ``shared`` (one dict per notebook run) holds the jobs already computed by earlier experiments: a job with the
    same data, network, method, seed and arguments (experiment D at m = 10, E with k-means, F at the default
    learning rate are experiment A's own runs when the datasets match) is logged again under this experiment's
    setting, noted ``same job as experiment A``, and not recomputed. A job already logged in the run folder
    (an interrupted ``clustlib run`` rerun) is read back; every trainer gets ``checkpoint_path`` from the run.
    ``parallel``: where the jobs run (:func:`clustlib.studies._grid.open_executor`; None: this process).
    """
    shared = {} if shared is None else shared
    label = "bfloat16" if train.get("amp") else "float32"
    inputs = {d: prepare_inputs(imagesets[d], network) for d in imagesets}
    jobs, same = [], []
    for dataset, value, method, seed in ((d, v, m, s) for d in imagesets for v in values for m in methods
                                         for s in seeds):
        imageset = imagesets[dataset]
        kwargs = dict(train, **(method_params or {}).get(method, {}))
        if vary is not None:
            kwargs[vary] = value
        if augment:
            kwargs.update(augmentation_params(imageset))
        setting = {"experiment": experiment, "ae": NETWORK_SETTINGS.get(network, network).split("=", 1)[1]}
        if vary is not None:
            setting[vary] = value
        if augment:
            setting["augmentation"] = "affine"
        job = _job_key(inputs[dataset][1], network, method, seed, kwargs)
        same.append(job)
        jobs.append(Job(dataset, method, setting, seed, spec={
            "kwargs": kwargs, "network": network, "precision": label, "experiment": experiment,
            "copy": shared.get(job)}))  # (row, experiment) of the same computation in an earlier experiment
    rows = []
    for job, outcome in zip(same, run_jobs(run, jobs, _grid_job, shared={"imagesets": imagesets, "inputs": inputs},
                                           parallel=parallel, desc=f"experiment {experiment}", progress=progress)):
        if outcome.fresh:
            row = outcome.value
        else:
            j = outcome.job
            row = _row(imagesets[j.dataset], j.method, j.setting, j.seed, outcome.metrics,
                       {"clustering_seconds": np.nan if outcome.time_s is None else outcome.time_s}, precision_=label)
        shared.setdefault(job, (row, experiment))
        rows.append(row)
    return pd.DataFrame(rows)


def _grid_job(job: Job, ctx: JobContext, *, imagesets: dict, inputs: dict) -> dict:
    """One :func:`run_grid` job: the copy of an earlier experiment's identical job, or the trained method."""
    spec, imageset = job.spec, imagesets[job.dataset]
    if spec["copy"] is not None:
        first, source = spec["copy"]
        scores = {k: first[k] for k in _SCORES}
        return {"logs": [dict(metrics=scores, time_s=first["clustering_s"],
                              note=_note(spec["precision"], f"same job as experiment {source}"))],
                "value": {**first, **job.setting}}
    X, key = inputs[job.dataset]
    out = run_deep_clustering(job.method, X, imageset.n_classes, seed=job.seed, network=spec["network"],
                              dataset_key=key, **spec["kwargs"],
                              **ctx.checkpoint_kwargs(_accepts_checkpoint(job.method)))
    entry, row = _log_entry(imageset, job.method, job.setting, job.seed, out["labels"], out,
                            precision_=spec["precision"])
    return {"logs": [entry], "value": row}


def all_datasets(params: dict) -> list:
    """Every dataset some experiment of ``params`` loads, sorted."""
    per = params.get("datasets_per_experiment") or {}
    return sorted({*params["datasets"], *params["experiment_datasets"], *params["augmentation_datasets"],
                   *(d for names in per.values() for d in names)})


def experiment_methods_for(experiment: str, params: dict) -> list:
    """The methods of one single-factor experiment: ``methods_per_experiment[experiment]`` where the profile names
    them (the paper runs all six in Tables III and V, DipEncoder in no figure), else ``factor_methods``."""
    per = params.get("methods_per_experiment") or {}
    return list(per.get(experiment, params["factor_methods"]))


def experiment_datasets_for(experiment: str, params: dict) -> list:
    """The datasets of one single-factor experiment: ``datasets_per_experiment[experiment]`` where the profile
    names them (the paper: C and I on all eight datasets, D and F on USPS, MNIST and ImageNet10), else
    ``experiment_datasets``."""
    per = params.get("datasets_per_experiment") or {}
    return list(per.get(experiment, params["experiment_datasets"]))


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
    """Record the ClustPy side-by-side (:func:`clustlib.compare.clustpy_reference.side_by_side`) in the run."""
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
                       progress=True, parallel=None, **train) -> pd.DataFrame:
    """Experiment G: fit on the train part, predict the unseen test part; ACC on both (Figure 5).

    ``splits`` is :func:`generalisation_splits`' ``{name: (train, test, how)}``; a plain ``{name: ImageSet}`` is
    split as a dataset without an official split (stratified 70/30). Each record's note says which split it is.
    A (method, seed) whose train and test records are both in the run folder is read back, not refitted.
    """
    rows = []
    label = "bfloat16" if train.get("amp") else "float32"
    for name, parts in splits.items():
        train_set, test_set, how = parts if isinstance(parts, tuple) else (*split_train_test(parts, seed=0),
                                                                            STRATIFIED_SPLIT)
        key = f"{train_set.fingerprint}:train-global:ff_500_500_2000"
        jobs = [Job(train_set.name, method, {"experiment": "G", "split": "train"}, seed, spec={
            "key": key, "how": how, "precision": label, "train": {**train, **(method_params or {}).get(method, {})}})
            for method in methods for seed in seeds]
        outcomes = run_jobs(run, jobs, _generalisation_job, shared={"parts": (train_set, test_set)}, parallel=parallel,
                            desc=f"G {name}", progress=progress)
        for outcome in outcomes:
            if outcome.fresh:
                rows += outcome.value
                continue
            method, seed = outcome.job.method, outcome.job.seed
            for split, part in (("train", train_set), ("test", test_set)):
                setting = {"experiment": "G", "split": split}
                done = outcome.metrics if split == "train" else run.logged(dataset=part.name, method=method,
                                                                           setting=setting, seed=seed)
                seconds = np.nan if outcome.time_s is None else outcome.time_s  # one fit: both records' time
                row = _row(part, method, setting, seed, done or {k: np.nan for k in _SCORES},
                           {"clustering_seconds": seconds}, precision_=label)
                rows.append({**row, "partition": how})
    return pd.DataFrame(rows)


def _generalisation_job(job: Job, ctx: JobContext, *, parts: tuple) -> dict:
    """One experiment G job: fit on the train part, predict the test part; both records."""
    train_set, test_set = parts
    spec = job.spec
    X_train, X_test = zscore_train_test(train_set, test_set)
    out = run_deep_clustering(job.method, X_train, train_set.n_classes, seed=job.seed, dataset_key=spec["key"],
                              **spec["train"], **ctx.checkpoint_kwargs(_accepts_checkpoint(job.method)))
    logs, rows = [], []
    predictions = (("train", train_set, out["labels"]), ("test", test_set, out["estimator"].predict(X_test)))
    for split, part, labels in predictions:
        entry, row = _log_entry(part, job.method, {"experiment": "G", "split": split}, job.seed, labels, out,
                                note=spec["how"], precision_=spec["precision"])
        logs.append(entry)
        rows.append({**row, "split": split, "partition": spec["how"]})
    return {"logs": logs, "value": rows}


def summary(frame: pd.DataFrame, by) -> pd.DataFrame:
    """NMI, ARI, ACC as mean ± SD over seeds in % (as the paper prints), and seconds per epoch; a ``precision``
    column (float32 / bfloat16) when the frame has one."""
    by = list(by) + (["precision"] if "precision" in frame and "precision" not in by else [])
    return summary_mean_std(frame, by, seconds="epoch_s", seconds_label="s/epoch", scale="percent")


def compare_with_paper(frame: pd.DataFrame, table: str, setting: str, *,
                       stand_ins: dict | None = None) -> pd.DataFrame:
    """Our mean ± std beside ClustPy Table ``table`` (fractions), where datasets overlap.

    ``stand_ins`` maps one of our datasets to the paper's dataset it stands in for (``{"digits": "optdigits"}``:
    scikit-learn's digits is the 1,797-image test part of Optdigits); such rows keep our name in ``ours_dataset``.
    """
    ours = frame.melt(id_vars=["dataset", "method", "seed"], value_vars=["nmi", "ari", "acc"], var_name="metric")
    ours["method"] = ours["method"].map(PAPER_METHOD_NAMES)
    ours["setting"] = setting
    side = beside_paper(ours, paper.load("clustpy2023", table), stand_ins)
    return side[side["paper"].notna()].reset_index(drop=True)


# --- figures, drawn from the run folder alone (figures contract) --------------------------------------------------

#: Datasets in the paper's order, with the names its tables and figures print.
DATASET_NAMES = {"optdigits": "Optdigits", "digits": "Optdigits (test part)", "usps": "USPS", "mnist": "MNIST",
                 "fashion_mnist": "FMNIST", "kmnist": "KMNIST", "cifar10": "CIFAR10", "imagenet10": "ImageNet10",
                 "imagenet_dog_clustpy": "ImageNetDog"}
_METHOD_ORDER = list(PAPER_METHOD_NAMES.values())
#: Every figure :func:`draw_figures` can draw, with the experiment whose records it needs.
FIGURES = {"fig1_runtime": "A", "fig2_embedding_size": "D", "fig3_initial_clustering": "E",
           "fig4_learning_rate": "F", "fig5_generalisation": "G", "table4_augmentation": "H"}


def _method_colours() -> dict:
    return dict(zip(_METHOD_ORDER, sns.color_palette("colorblind", len(_METHOD_ORDER))))


def _dataset_order(names) -> list:
    known = [d for d in DATASET_NAMES if d in set(names)]
    return known + sorted(set(names) - set(known))


def records_frame(records: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, method, setting, seed) with ``nmi``, ``ari``, ``acc``, ``time_s``, the setting's keys
    as columns (numbers as floats), ``method_name`` (the paper's) and ``precision`` (from the records' notes)."""
    if records.empty:
        return pd.DataFrame(columns=["dataset", "method", "setting", "seed", "experiment", *_SCORES])
    keys = ["dataset", "method", "setting", "seed"]
    wide = records.pivot_table(index=keys, columns="metric", values="value", aggfunc="first").reset_index()
    extra = records.groupby(keys, as_index=False).agg(time_s=("time_s", "first"), note=("note", "first"))
    wide = wide.merge(extra, on=keys, how="left")
    settings = pd.DataFrame([results.parse_setting(s) for s in wide["setting"]], index=wide.index)
    for column in settings:
        present = settings[column].notna()
        numeric = pd.to_numeric(settings[column], errors="coerce")
        if numeric[present].notna().all():
            settings[column] = numeric
    wide = pd.concat([wide, settings], axis=1)
    wide["method_name"] = wide["method"].map(PAPER_METHOD_NAMES).fillna(wide["method"])
    wide["precision"] = np.where(wide["note"].fillna("").str.contains("bfloat16"), "bfloat16", "float32")
    return wide


def _suptitle(fig, frame: pd.DataFrame, title: str, keys) -> None:
    """The figure title on one line, what the error bars show and the precision on a second (fits a column)."""
    sizes = frame.groupby(list(keys)).size()
    lo, hi = int(sizes.min()), int(sizes.max())
    seeds = f"{lo}" if lo == hi else f"{lo}–{hi}"
    spread = f"mean ± SD over {seeds} seeds" if hi > 1 else "one seed, no error bar"
    precision_ = "bfloat16 autocast" if (frame.get("precision") == "bfloat16").any() else "float32"
    fig.suptitle(f"{title}\n{spread}; {precision_}", fontsize="medium")


def _panels(datasets, *, width=3.0, height=2.6):
    """One row of panels sharing the y axis; a lone panel is made wide enough for the suptitle and legend."""
    width = max(width, 4.6 / len(datasets))
    fig, axes = plt.subplots(1, len(datasets), figsize=(0.4 + width * len(datasets), height), sharey=True,
                             layout="constrained", squeeze=False)
    return fig, list(axes[0])


def _legend_below(fig, axes, ncol: int | None = None) -> None:
    handles, labels = {}, {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", frameon=False,
                   ncol=ncol or min(len(handles), 6), fontsize="small")


def figure_runtime(frame: pd.DataFrame):
    """Figure 1: clustering time per method (pretraining excluded) on a log axis, as the paper's violins, one per
    dataset."""
    frame = frame.assign(dataset_name=frame["dataset"].map(DATASET_NAMES).fillna(frame["dataset"]))
    order = [m for m in _METHOD_ORDER if m in set(frame["method_name"])]
    hue_order = [DATASET_NAMES.get(d, d) for d in _dataset_order(frame["dataset"])]
    fig, ax = plt.subplots(figsize=(5.0, 3.3), layout="constrained")
    sns.violinplot(data=frame, x="method_name", y="time_s", hue="dataset_name", order=order, hue_order=hue_order,
                   ax=ax, palette="colorblind", cut=0, density_norm="width", linewidth=0.6, log_scale=True)
    ax.set_xlabel("method  (violins: spread over seeds)")
    ax.set_ylabel("clustering time (s, log scale)")
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    plt.setp(ax.get_xticklabels(), rotation=35, ha="right", rotation_mode="anchor")
    precision_ = "bfloat16 autocast" if (frame["precision"] == "bfloat16").any() else "float32"
    ax.set_title(f"Runtime per method (Fig. 1)\npretraining excluded; {precision_}", fontsize="medium")
    _legend_below(fig, [ax])
    return fig


def figure_by_value(frame: pd.DataFrame, value: str, *, title: str, xlabel: str):
    """Figures 2 and 4: ACC (%) mean ± SD over seeds against a swept value on a log axis, one panel per dataset
    (as the paper draws them), one line per method."""
    colours = _method_colours()
    datasets = _dataset_order(frame["dataset"])
    fig, axes = _panels(datasets, height=3.1)
    ticks = sorted(frame[value].astype(float).unique())
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    for ax, dataset in zip(axes, datasets):
        part = frame[frame["dataset"] == dataset]
        agg = part.groupby(["method_name", value])["acc"].agg(["mean", "std", "count"]).reset_index()
        for method in [m for m in _METHOD_ORDER if m in set(agg["method_name"])]:
            line = agg[agg["method_name"] == method].sort_values(value)
            ax.errorbar(line[value], 100 * line["mean"], yerr=100 * line["std"].fillna(0.0), marker="o", ms=3.5,
                        capsize=2.5, lw=1.2, color=colours[method], label=method)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.tick_params(axis="x", labelsize="small", rotation=45 if len(ticks) > 4 else 0)
        ax.set_title(DATASET_NAMES.get(dataset, dataset))
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("ACC (%)")
    _suptitle(fig, frame, title, ["dataset", "method", value])
    _legend_below(fig, axes, ncol=3 if len(datasets) == 1 else None)
    return fig


def _bar_panels(frame: pd.DataFrame, *, x: str, hue: str, order, hue_order, title: str, palette=None,
                markers: pd.DataFrame | None = None):
    """Grouped bars of ACC (%) mean ± SD over seeds, one panel per dataset; ``markers`` (dataset, x, hue,
    acc in %) draws the paper's values as black diamonds on their bars."""
    datasets = _dataset_order(frame["dataset"])
    fig, axes = _panels(datasets, width=max(2.6, 0.55 * len(order) * max(1, len(hue_order)) ** 0.5 + 1.2),
                        height=3.4)
    for ax, dataset in zip(axes, datasets):
        part = frame[frame["dataset"] == dataset].assign(acc_pct=lambda f: 100 * f["acc"])
        sns.barplot(data=part, x=x, y="acc_pct", hue=hue, order=order, hue_order=hue_order, errorbar="sd", ax=ax,
                    capsize=0.1, err_kws={"linewidth": 0.8}, palette=palette or "colorblind")
        if markers is not None and len(markers):
            width = 0.8 / len(hue_order)
            for row in markers[markers["dataset"] == dataset].itertuples(index=False):
                if getattr(row, x) in order and getattr(row, hue) in hue_order:
                    pos = order.index(getattr(row, x)) - 0.4 + width * (hue_order.index(getattr(row, hue)) + 0.5)
                    ax.plot(pos, row.acc, marker="D", color="black", ms=3.5, ls="none", label="paper")
        ax.set_title(DATASET_NAMES.get(dataset, dataset))
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(axis="x", rotation=35, labelsize="small")
    axes[0].set_ylabel("ACC (%)")
    _suptitle(fig, frame, title, ["dataset", x, hue])
    _legend_below(fig, axes)
    return fig


def figure_initialisation(frame: pd.DataFrame):
    """Figure 3: ACC per method and initial clustering, one panel per dataset (AE+init is the initial clustering
    on the pretrained embedding itself)."""
    frame = frame.assign(init=frame["initial_clustering"].map(INIT_NAMES).fillna(frame["initial_clustering"]),
                         method_name=frame["method_name"].str.replace("AE+KMeans", "AE+init", regex=False))
    order = [m for m in ["AE+init", *_METHOD_ORDER[1:]] if m in set(frame["method_name"])]
    hue_order = [INIT_NAMES[i] for i in INIT_NAMES if INIT_NAMES[i] in set(frame["init"])]
    return _bar_panels(frame, x="method_name", hue="init", order=order, hue_order=hue_order,
                       title="Initial clustering (Fig. 3)")


def figure_generalisation(frame: pd.DataFrame):
    """Figure 5: ACC on the train part and the unseen test part per method, one panel per dataset."""
    order = [m for m in _METHOD_ORDER if m in set(frame["method_name"])]
    return _bar_panels(frame, x="method_name", hue="split", order=order,
                       hue_order=[s for s in ("train", "test") if s in set(frame["split"])],
                       title="Generalisation: train vs. unseen test (Fig. 5)")


def _paper_acc(table: str, datasets, column: str) -> pd.DataFrame:
    """The paper's ACC (%) of Table ``table`` for our datasets (stand-ins mapped), as bar markers."""
    from clustlib.findings import CLUSTPY_STAND_INS

    published = paper.load("clustpy2023", table, metric="acc")
    rows = []
    for ours in datasets:
        hit = published[published["dataset"] == CLUSTPY_STAND_INS.get(ours, ours)]
        rows += [{"dataset": ours, "method_name": r.method, "augmentation": column, "acc": 100 * r.value}
                 for r in hit.itertuples(index=False)]
    return pd.DataFrame(rows, columns=["dataset", "method_name", "augmentation", "acc"])


def figure_augmentation(plain: pd.DataFrame, augmented: pd.DataFrame):
    """Table IV as a chart: ACC per method without (Table II's setting) and with augmentation, one panel per data
    set both ran; black diamonds: the paper's values (Table II without, Table IV with)."""
    both = pd.concat([plain.assign(augmentation="none"), augmented.assign(augmentation="affine")])
    both = both[both["dataset"].isin(set(augmented["dataset"]))]
    order = [m for m in _METHOD_ORDER if m in set(both["method_name"])]
    datasets = sorted(set(both["dataset"]))
    markers = pd.concat([_paper_acc("II", datasets, "none"), _paper_acc("IV", datasets, "affine")])
    return _bar_panels(both, x="method_name", hue="augmentation", order=order, hue_order=["none", "affine"],
                       title="Augmentation (Table IV)", markers=markers)


def draw_figures(run_dir, only=None):
    """Yield ``(name, figure)`` for every figure of :data:`FIGURES` (or those in ``only``) whose experiment has
    records in ``run_dir``; drawn from ``records.jsonl`` alone, nothing is recomputed."""
    unknown = sorted(set(only or ()) - set(FIGURES))
    if unknown:
        raise InvalidParameter(f"Unknown figure(s) {unknown}; study 06 draws {list(FIGURES)}.")
    frame = records_frame(results.read_records(run_dir))
    by = {e: frame[frame["experiment"] == e] for e in EXPERIMENTS} if "experiment" in frame else {}
    empty = pd.DataFrame()
    for name in only or FIGURES:
        part = by.get(FIGURES[name], empty)
        if part.empty:
            continue
        if name == "fig1_runtime":
            yield name, figure_runtime(part)
        elif name == "fig2_embedding_size":
            yield name, figure_by_value(part, "embedding_size", title="ACC vs. embedding size (Fig. 2)",
                                        xlabel="embedding size m")
        elif name == "fig3_initial_clustering":
            yield name, figure_initialisation(part)
        elif name == "fig4_learning_rate":
            yield name, figure_by_value(part, "lr", title="ACC vs. clustering learning rate (Fig. 4)",
                                        xlabel="learning rate")
        elif name == "fig5_generalisation":
            yield name, figure_generalisation(part)
        elif name == "table4_augmentation" and not by.get("A", empty).empty:
            yield name, figure_augmentation(by["A"], part)
