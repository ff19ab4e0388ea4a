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
* ``"DeepCluE unweighted"``: the consensus of the same base clusterings with every cluster weighing 1 (the
  paper's weighting ablation, Figures 3-5; not in its tables);
* ``"DeepCluE ensemble size"`` (when ``ensemble_sizes`` is given): the weighted consensus of the first M' base
  clusterings of every layer, M = 6 M' in all, for each M' of the sweep (Figures 6-8), from the same network.

:func:`run_baselines` adds Tables II-IV's baseline rows this project can run (:data:`BASELINES`): K-means, SC,
AC and NMF on the raw pixels, AE (+ k-means) and DEC on the z-scored pixels with the ClustPy benchmark's
d-500-500-2000-10 autoencoder, JULE (clustlib's MLP variant) on the pixels and DAC with the authors' ALL-ConvNet
scripts.

Figures: the ablation bars with the paper's values as dashes, weighted against unweighted clusters per metric
(Figures 3-5), DeepCluE against the ensemble size M per metric (Figures 6-8), the NMI of every base clustering
per layer with the consensus as a line, and CC's training losses from ``history_``.

Choices the paper leaves open, made here and stated in the notebook:

* Array datasets (Fashion-MNIST, CIFAR, digits) are fed at their own size, grey repeated to 3 channels, pixels
  in [0, 1]; CC resizes every crop and the test image to ``image_size`` (224 in the paper), as its transforms do
  on the PIL image, which keeps 60-100k images on the device. ImageNet-10 and ImageNet-Dogs are decoded at
  ``image_size``; Tiny-ImageNet keeps its 64 px and is resized by CC like CIFAR (:func:`decode_size`; the host
  memory of ``full`` is stated in :func:`load_inputs`).
* Resumable: a rerun of an interrupted ``clustlib run`` skips every job logged in the run folder and resumes
  CC (and AE, DEC, DAC) from its checkpoint there (:func:`run_grid`, :func:`run_baselines`).
* The six layers are conv4_x, conv5_x, fc6 (backbone), fc7, fc8 (g_I) and fc9 (g_C) (implementation notes 2.3:
  the paper names the counts, not the backbone layers); U-SPEC uses the authors' USPEC code defaults (p =
  1000, Knn = 5, Euclidean).
* The paper reports no number of runs; seeds are a parameter.

References
----------
D. Huang, D.-H. Chen, X. Chen, C.-D. Wang, J.-H. Lai, "DeepCluE: Enhanced Deep Clustering via Multi-Layer
Ensembles in Neural Networks", arXiv:2206.00359, 2022 (IEEE TETCI 8(2), 2024).
Y. Li et al., "Contrastive Clustering", AAAI 2021. Code: https://github.com/Yunfan-Li/Contrastive-Clustering

Size (~1,000 lines): one module holds DeepCluE's whole study, in its notebook's order: the parameter checks, the jobs (run through :mod:`clustlib.studies._grid`), the paper-table joins and the figures (drawn from the run folder only). ``clustlib figures`` and the tests look a study's names up on this one module; splitting the figures into a sibling module is the next step once :mod:`clustlib.figures` can look beyond it.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.ticker import MaxNLocator
from sklearn.cluster import KMeans

from clustlib import data, metrics, paper, plots, results
from clustlib.errors import InvalidParameter
from clustlib.studies._common import (beside_paper, check_datasets, check_estimator_params, check_list,
                                     check_mapping, check_seeds, load_image_trees_at, summary_mean_std)
from clustlib.studies._grid import Job, JobContext, check_scheduler, run_jobs

__all__ = ["METHOD", "CC_METHOD", "G_I_METHOD", "UNWEIGHTED_METHOD", "METHODS", "ABLATION_NAMES", "DATASETS",
           "COLOR_SETTINGS", "DeepCluERuns", "validate", "validate_params", "estimator_kwargs", "ensemble_kwargs",
           "prepare_inputs",
           "load_inputs", "run_grid", "summary", "compare_with_paper", "figure_ablation", "figure_base_clusterings",
           "figure_training_curves", "SIZE_METHOD", "BASELINES", "SEEDLESS_BASELINES", "DEEP_BASELINES",
           "check_baselines", "baseline_jobs", "skipped_baselines", "baseline_setting", "baseline_labels",
           "run_baselines", "compare_baselines_with_paper", "check_ensemble_sizes", "ensemble_size_curve",
           "weighting_table", "figure_weighting", "ensemble_size_table", "figure_ensemble_size", "DATASET_LABELS",
           "ARTIFACTS", "FIGURES", "decode_size", "scores_from_records", "draw_figures", "host_memory",
           "DEEPCLUE_LAYER_NAMES"]

#: Our method names in the records (the first three are the paper's row labels of Tables II-IV / V-VII).
METHOD = "DeepCluE"
CC_METHOD = "CC"
G_I_METHOD = "Using last layer of g_I"
UNWEIGHTED_METHOD = "DeepCluE unweighted"
METHODS = (CC_METHOD, G_I_METHOD, METHOD, UNWEIGHTED_METHOD)
#: The ensemble-size sweep (Figures 6-8), logged with setting ``M=<total>,M_per_layer=<M'>``.
SIZE_METHOD = "DeepCluE ensemble size"
#: Our method -> its row label in the ablation Tables V-VII (the unweighted ensemble has none).
ABLATION_NAMES = {G_I_METHOD: "Using last layer of g_I", CC_METHOD: "Using last layer of g_C",
                  METHOD: "Using multiple layers"}
#: Datasets the study runs (the paper's six, plus scikit-learn's digits for tests).
DATASETS = ("fashion_mnist", "cifar10", "cifar100_20", "imagenet10", "imagenet_dogs", "tiny_imagenet", "digits",
            "mnist")
#: Datasets with CC's ImageNet augmentation (colour strength 1.0 and Gaussian blur); the others use s = 0.5.
COLOR_SETTINGS = {"imagenet10": {"color_strength": 1.0, "blur": True},
                  "imagenet_dogs": {"color_strength": 1.0, "blur": True}}
#: Dataset names as the paper's tables print them (the x axis of every figure).
DATASET_LABELS = {"fashion_mnist": "Fashion", "cifar10": "CIFAR-10", "cifar100_20": "CIFAR-100",
                  "imagenet10": "ImageNet-10", "imagenet_dogs": "ImageNet-Dogs", "tiny_imagenet": "Tiny-ImageNet",
                  "digits": "digits", "mnist": "MNIST"}
#: The ensemble's default layers (:data:`clustlib.deep.contrastive.DEEPCLUE_LAYERS`, repeated here so that
#: :func:`host_memory` imports no torch).
DEEPCLUE_LAYER_NAMES = ("conv4_x", "conv5_x", "fc6", "fc7", "fc8", "fc9")
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
    sizes : DataFrame
        One row per (dataset, seed, M') of the ensemble-size sweep: ``dataset, seed, M_per_layer, M, nmi, ari,
        acc, seconds`` (empty without ``ensemble_sizes``).
    """

    scores: pd.DataFrame
    base: pd.DataFrame
    history: pd.DataFrame
    sizes: pd.DataFrame = pd.DataFrame(columns=["dataset", "seed", "M_per_layer", "M", "nmi", "ari", "acc",
                                                "seconds"])


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
    check_scheduler(params.get("scheduler"))
    check_datasets(params["datasets"], params["subsets"])
    check_baselines(params.get("baselines", []), params.get("baseline_params"))
    check_ensemble_sizes(params.get("ensemble_sizes_per_layer", []))
    validate(params["datasets"], params["seeds"], estimator_params=params["estimator_params"],
             subsets=params["subsets"], layers=params["layers"], **{key: params[key] for key in _ENSEMBLE_KEYS})


def check_ensemble_sizes(sizes) -> None:
    """The ensemble-size sweep (Figures 6-8): distinct integers M' >= 1, base clusterings per layer (may be
    empty: no sweep)."""
    if not isinstance(sizes, (list, tuple)):
        raise InvalidParameter(f"ensemble_sizes_per_layer must be a list of integers M-prime >= 1, got {sizes!r}.")
    for value in sizes:
        _check_positive_int("every ensemble_sizes_per_layer value", value, 1,
                            "each is M-prime, the base clusterings per layer (M = 6 M-prime with six layers).")
    if len(set(sizes)) != len(sizes):
        raise InvalidParameter(f"ensemble_sizes_per_layer must not repeat a value, got {list(sizes)!r}.")


def prepare_inputs(imageset, size: int | None = None, *, rows: slice | None = None,
                   chunk: int = 1024) -> np.ndarray:
    """CC's input for one ImageSet (or its ``rows``): resized to ``size`` (:func:`clustlib.data.resize_images`;
    None keeps the images' own size), channels first, pixels / 255 in [0, 1] (CC's ``ToTensor``), grey repeated
    to 3 channels.

    Written ``chunk`` images at a time into the one output array, so the host holds the uint8 images, the
    float32 result and one chunk's temporaries, never a second float copy of the set.

    Returns
    -------
    ndarray of float32, shape (N, 3, S, S)
    """
    images = imageset.images if rows is None else imageset.images[rows]  # (N, H, W, C) uint8, a view
    n, h, w = images.shape[:3]
    s_h, s_w = (h, w) if size is None else (size, size)
    out = np.empty((n, 3, s_h, s_w), dtype=np.float32)
    for start in range(0, n, chunk):
        part = images[start:start + chunk]
        if size is not None:
            part = data.resize_images(part, size)
        out[start:start + len(part)] = part.transpose(0, 3, 1, 2)  # broadcasts grey (C = 1) to 3 channels
        out[start:start + len(part)] /= np.float32(255)
    return out


def decode_size(dataset: str, image_size: int = 224) -> int | None:
    """The pixels an image tree is decoded at: ``image_size``, or the images' own smaller size (Tiny-ImageNet's
    64) since CC resizes every crop and test image to ``image_size`` itself, as for CIFAR; None for array
    datasets, which keep their size."""
    info = data.dataset_info(dataset)
    if info.get("image_shape") is not None:
        return None
    return min(int(image_size), int(info.get("default_image_size") or image_size))


def _layer_width(layer: str, size: int) -> int:
    """Floats per image of one CC layer at ``size`` px input (ResNet18/34: the stem and every stage halve H, W)."""
    widths = {"conv1": (64, 1), "conv2_x": (64, 2), "conv3_x": (128, 3), "conv4_x": (256, 4), "conv5_x": (512, 5)}
    if layer not in widths:
        return 128 if layer == "fc8" else 512
    channels, halvings = widths[layer]
    side = size
    for _ in range(halvings):
        side = -(-side // 2)
    return channels * side * side


def host_memory(params: dict) -> pd.DataFrame:
    """Estimated host memory of a profile's ``params`` per dataset, in 10^9 bytes (what :func:`load_inputs`' docstring
    states for ``full``), from N, the decoded image size and the layer widths; nothing is loaded.

    Columns: ``dataset, n, decoded_px, uint8_gb`` (the ImageSet, all datasets held at once), ``cc_input_gb`` (float32
    input while CC trains, plus CC's boolean finiteness check), ``features_gb`` (the ensemble's layers and fc8 at
    ``image_size``, plus PCA's copy of the widest layer over ``pca_dim``), ``pixels_gb`` (the float64 pixel matrix of
    the raw-pixel baselines, plus its float32 source while it is made), ``peak_gb`` (every dataset's uint8 plus this
    dataset's largest stage).
    """
    image_size = int((params.get("estimator_params") or {}).get("image_size", 224))
    names = tuple(dict.fromkeys((*(params.get("layers") or DEEPCLUE_LAYER_NAMES), "fc8")))
    pca_dim = int(params.get("pca_dim", 1000))
    pixel = any(b in params.get("baselines", []) for b in BASELINES if b not in DEEP_BASELINES)
    rows = []
    for dataset in params["datasets"]:
        info = data.dataset_info(dataset)
        n = (params.get("subsets") or {}).get(dataset) or info["splits"].get("all") or info.get("paper_n_samples")
        px = decode_size(dataset, image_size)
        h, w, c = info["image_shape"] if px is None else (px, px, 3)
        widths = [_layer_width(name, image_size) for name in names]
        wide = [v for v in widths if v > pca_dim]
        rows.append({"dataset": dataset, "n": int(n), "decoded_px": int(h), "uint8_gb": n * h * w * c / 1e9,
                     "cc_input_gb": n * 3 * h * w * 5 / 1e9,
                     "features_gb": n * (sum(widths) + max(wide, default=0)) * 4 / 1e9,
                     "pixels_gb": n * h * w * c * 12 / 1e9 if pixel else 0.0})
    frame = pd.DataFrame(rows, columns=["dataset", "n", "decoded_px", "uint8_gb", "cc_input_gb", "features_gb",
                                        "pixels_gb"])
    frame["peak_gb"] = frame["uint8_gb"].sum() + frame[["cc_input_gb", "features_gb", "pixels_gb"]].max(axis=1)
    return frame


def load_inputs(datasets, subsets: dict | None = None, *, image_size: int = 224, seed: int = 0, root=None) -> dict:
    """``{name: ImageSet}`` of uint8 images, each cut to a stratified subset where ``subsets[name]`` > 0; image
    trees are decoded at :func:`decode_size` (ImageNet-10, ImageNet-Dogs: ``image_size``; Tiny-ImageNet: its own
    64 px), array datasets keep their size.

    Host memory of the ``full`` profile (six datasets, ``image_size`` 224; 10^9 bytes; :func:`host_memory`
    computes it): the uint8 sets take 6.6 GB together (ImageNet-Dogs 2.9, ImageNet-10 2.0, Tiny-ImageNet 1.2 at
    64 px, Fashion-MNIST and the CIFARs 0.4). :func:`run_grid` adds one dataset's float32 CC input while CC
    trains (at most 14.7 GB, ImageNet-Dogs with CC's finiteness check; Tiny-ImageNet 6.1 GB, where decoding at
    224 px took 60 GB, 135 GB with the two float copies of before) and frees it before the layer features, which
    it computes from the uint8 images in chunks. The features at 224 px then dominate: 76,928 floats per image
    (conv4_x 50,176, conv5_x 25,088) and the ensemble's PCA copy of conv4_x, 50.8 GB for Tiny-ImageNet's
    100,000 images, 35.6 GB for Fashion-MNIST's 70,000. On ImageNet-Dogs the raw-pixel baselines' float64
    matrix is the largest stage (35 GB while made from its float32 source). Peak: about 57 GB on Tiny-ImageNet,
    42 GB on Fashion-MNIST and ImageNet-Dogs, 37 GB on the CIFARs, 30 GB on ImageNet-10.
    """
    sizes = {name: decode_size(name, image_size) for name in datasets if decode_size(name, image_size) is not None}
    return load_image_trees_at(sizes, datasets, subsets, seed=seed, root=root, default_size=image_size)


def _scores(labels_true, labels) -> dict:
    return metrics.evaluate(labels_true, labels, metrics=("nmi", "ari", "acc"))


#: Tables II-IV baselines this project runs: method name -> (paper row, how it runs). The first four cluster the
#: raw pixels with one of DAC's Table 3 clusterings (:func:`clustlib.studies.dac_study.cluster_label_features`);
#: ``ae_pixels`` and ``dec_pixels`` are :func:`clustlib.deep.run_deep_clustering`'s ``ae_kmeans`` and ``dec``,
#: ``jule_pixels`` is :class:`clustlib.deep.JULE`, ``dac_pixels`` :class:`clustlib.deep.DAC`.
BASELINES = {"kmeans_pixels": ("K-means", "kmeans"), "spectral_pixels": ("SC", "sc"),
             "agglomerative_pixels": ("AC", "ac"), "nmf_pixels": ("NMF", "nmf"),
             "ae_pixels": ("AE", "ae_kmeans"), "dec_pixels": ("DEC", "dec"),
             "jule_pixels": ("JULE", "jule"), "dac_pixels": ("DAC", "dac")}
#: Baselines whose result does not depend on the seed (deterministic initialisation or none): one run each.
SEEDLESS_BASELINES = frozenset({"agglomerative_pixels", "nmf_pixels"})
#: The trained baselines and their settings at paper scale, each overridable through ``baseline_params``. AE and
#: DEC: the ClustPy benchmark's feed-forward autoencoder d-500-500-2000-10 (100 pretraining epochs, 150 of DEC,
#: batch 256; DEC starts from the AE of the same seed, as DEC does). JULE: clustlib's defaults (its MLP variant,
#: not JULE's CNN). DAC: the DAC variant with the authors' script of the dataset (network, augmentation,
#: batch) and the paper's schedule (``epochs`` 0 keeps it); ``network`` None keeps the script's ALL-ConvNet.
DEEP_BASELINES = {
    "ae_pixels": {"network": "ff_500_500_2000", "embedding_size": 10, "pretrain_epochs": 100, "batch_size": 256},
    "dec_pixels": {"network": "ff_500_500_2000", "embedding_size": 10, "pretrain_epochs": 100,
                   "clustering_epochs": 150, "batch_size": 256},
    "jule_pixels": {},
    "dac_pixels": {"network": None, "epochs": 0},
}
_DEEP_RESERVED = {"n_clusters", "random_state", "device", "progress", "dataset_key", "checkpoint_path"}


def _baseline_params(baseline: str, baseline_params: dict | None) -> dict:
    return {**DEEP_BASELINES.get(baseline, {}), **dict((baseline_params or {}).get(baseline) or {})}


def check_baselines(baselines, baseline_params: dict | None = None) -> None:
    """Every name in ``baselines`` is a key of :data:`BASELINES`; ``baseline_params`` maps some of them (trained
    ones only) to arguments their estimator accepts."""
    bad = [b for b in baselines if b not in BASELINES]
    if bad:
        raise InvalidParameter(f"Unknown DeepCluE baseline(s) {bad}; valid: {sorted(BASELINES)}.")
    baseline_params = check_mapping("baseline_params", baseline_params, DEEP_BASELINES,
                                    maps="baselines to dicts of their arguments",
                                    outside=f"names {{keys}}, which take no arguments; only the trained baselines "
                                            f"{sorted(DEEP_BASELINES)} do.")
    for baseline, given in baseline_params.items():
        if not isinstance(given, dict):
            raise InvalidParameter(f"baseline_params[{baseline!r}] must be a dict of arguments, got {given!r}.")
        try:
            _check_trained_params(baseline, _baseline_params(baseline, {baseline: given}))
        except InvalidParameter as error:
            raise InvalidParameter(f"baseline_params[{baseline!r}]: {error}") from None


def _check_trained_params(baseline: str, params: dict) -> None:
    """``params`` (defaults and overrides) are arguments the trained baseline's estimator accepts."""
    from clustlib.deep import DAC, JULE, create_method
    from clustlib.studies._common import check_estimator_params

    if baseline == "jule_pixels":
        check_estimator_params(params, JULE(), _DEEP_RESERVED, "n_clusters, random_state and device")
    elif baseline == "dac_pixels":  # network and epochs go through the script's settings
        rest = {key: v for key, v in params.items() if key not in ("network", "epochs")}
        check_estimator_params(rest, DAC(), _DEEP_RESERVED | {"variant"}, "n_clusters, variant, random_state and device")
    else:
        check_estimator_params(params, create_method(BASELINES[baseline][1], n_clusters=2), _DEEP_RESERVED,
                               "n_clusters, random_state, device and the cache key")


def baseline_jobs(datasets, baselines, seeds) -> list[tuple[str, str, int]]:
    """``(dataset, baseline, seed)`` of every baseline run: one seed for :data:`SEEDLESS_BASELINES`, none where
    :func:`skipped_baselines` gives a reason."""
    skipped = set(skipped_baselines(datasets, baselines)[["dataset", "baseline"]].itertuples(index=False, name=None))
    return [(d, b, s) for d in datasets for b in baselines if (d, b) not in skipped
            for s in (seeds[:1] if b in SEEDLESS_BASELINES else seeds)]


def skipped_baselines(datasets, baselines) -> pd.DataFrame:
    """(dataset, baseline, reason) of the pairs that cannot run: DAC on a dataset without an authors' script."""
    from clustlib.studies.dac_study import DATASET_SCRIPTS

    rows = [{"dataset": d, "baseline": "dac_pixels",
             "reason": f"no DAC script for {d} (the authors wrote scripts for {', '.join(sorted(DATASET_SCRIPTS))})"}
            for d in datasets if "dac_pixels" in baselines and d not in DATASET_SCRIPTS]
    return pd.DataFrame(rows, columns=["dataset", "baseline", "reason"])


def baseline_setting(baseline: str, baseline_params: dict | None = None, dataset: str | None = None) -> dict:
    """The setting a baseline's records carry: its input, and for trained ones the network and epochs."""
    if baseline not in DEEP_BASELINES:
        return {"input": "raw pixels"}
    params = _baseline_params(baseline, baseline_params)
    if baseline in ("ae_pixels", "dec_pixels"):
        epochs = str(params["pretrain_epochs"]) + (f"+{params['clustering_epochs']}" if baseline == "dec_pixels" else "")
        return {"input": "z-scored pixels", "network": params["network"], "epochs": epochs}
    if baseline == "jule_pixels":
        return {"input": "pixels / 255", "network": "JULE MLP"}
    from clustlib.studies.dac_study import script_settings

    script, kwargs = script_settings(dataset or "mnist", "dac", network=params.get("network"),
                                     epochs=params.get("epochs", 0))
    return {"input": "centred pixels", "script": script, "network": kwargs["network"]}


def baseline_labels(imageset, baseline: str, seed: int, *, baseline_params: dict | None = None,
                    device: str = "cpu", checkpoint_path=None) -> np.ndarray:
    """One Tables II-IV baseline on ``imageset``; int64 labels (N,).

    Raw pixels (flattened, / 255): K-means (10 restarts), SC (10-NN graph), AC (Ward; on a 10-NN connectivity
    graph above 20,000 images, where full Ward needs an N^2/2 distance matrix: 19.6 GB at N = 70,000) or NMF
    (argmax of the K coefficients). Trained (:data:`DEEP_BASELINES`, with ``baseline_params`` over them): AE and
    DEC on the flattened z-scored pixels as the ClustPy benchmark feeds them
    (:func:`clustlib.studies.clustpy_benchmark.prepare_inputs`; the pretrained autoencoder is cached per seed and
    shared by both), JULE on the flattened pixels / 255, DAC on the centred images at its network's size.
    ``checkpoint_path`` goes to every trainer whose ``get_params()`` takes one (AE, DEC, DAC and JULE),
    so an interrupted run resumes there.
    """
    from clustlib.studies.dac_study import cluster_label_features

    check_baselines([baseline], {b: v for b, v in (baseline_params or {}).items() if b == baseline})
    k = imageset.n_classes
    if baseline not in DEEP_BASELINES:
        X = imageset.flat_pixels().astype(np.float64)  # (N, D) in [0, 1] (flat_pixels divides by 255)
        return cluster_label_features(X, BASELINES[baseline][1], k, seed=seed)
    params = _baseline_params(baseline, baseline_params)
    if baseline in ("ae_pixels", "dec_pixels"):
        from clustlib.deep import run_deep_clustering
        from clustlib.studies.clustpy_benchmark import prepare_inputs as clustpy_inputs

        X, key = clustpy_inputs(imageset, params["network"])
        return np.asarray(run_deep_clustering(BASELINES[baseline][1], X, k, seed=seed, dataset_key=key,
                                              device=device, checkpoint_path=checkpoint_path, **params)["labels"],
                          dtype=np.int64)
    if baseline == "jule_pixels":
        from clustlib.deep import JULE

        X = imageset.flat_pixels()  # (N, D) float32 in [0, 1]
        model = JobContext(checkpoint_path).checkpointed(JULE(k, **params, random_state=seed, device=device))
        return np.asarray(model.fit(X).labels_, dtype=np.int64)
    from clustlib.deep import DAC
    from clustlib.studies.dac_study import prepare_inputs as dac_inputs, script_settings

    rest = {key: v for key, v in params.items() if key not in ("network", "epochs")}
    script, kwargs = script_settings(imageset.name, "dac", network=params.get("network"),
                                     epochs=params.get("epochs", 0), overrides=rest)
    X = dac_inputs(imageset, kwargs["network"], script)
    model = DAC(k, **kwargs, random_state=seed, device=device, progress=False, checkpoint_path=checkpoint_path).fit(X)
    return np.asarray(model.labels_, dtype=np.int64)


def run_baselines(run: results.Run, imagesets: dict, baselines, seeds, *, baseline_params: dict | None = None,
                  device: str = "cpu", progress: bool = True, parallel=None) -> pd.DataFrame:
    """Every job of :func:`baseline_jobs`, logged like the CC rows with :func:`baseline_setting` as setting;
    ``seconds``: the whole baseline (the autoencoder's pretraining included unless it came from the cache).

    Resumable like :func:`run_grid` (one job per row, ``parallel`` as there): a job already logged in ``run``'s
    folder is read back, not rerun; the trained ones keep a checkpoint under it (``run.checkpoint_path``)."""
    check_baselines(baselines, baseline_params)
    jobs = [Job(dataset, baseline, baseline_setting(baseline, baseline_params, dataset), seed)
            for dataset, baseline, seed in baseline_jobs(list(imagesets), baselines, seeds)]
    rows = []
    shared = {"imagesets": imagesets, "baseline_params": baseline_params, "device": device}
    for outcome in run_jobs(run, jobs, _baseline_job, shared=shared, parallel=parallel, desc="baselines",
                            progress=progress):
        job = outcome.job
        rows.append({"dataset": job.dataset, "method": job.method, "seed": job.seed,
                     **{m: outcome.metrics[m] for m in ("nmi", "ari", "acc")}, "seconds": outcome.time_s})
    return pd.DataFrame(rows, columns=["dataset", "method", "seed", "nmi", "ari", "acc", "seconds"])


def _baseline_job(job: Job, ctx: JobContext, *, imagesets: dict, baseline_params: dict | None, device: str) -> dict:
    """One :func:`run_baselines` job: the baseline's labels and scores; the trained ones get the job's checkpoint."""
    imageset = imagesets[job.dataset]
    t0 = time.perf_counter()
    labels = baseline_labels(imageset, job.method, job.seed, baseline_params=baseline_params, device=device,
                             checkpoint_path=ctx.checkpoint_path if job.method in DEEP_BASELINES else None)
    seconds = time.perf_counter() - t0
    return {"logs": [dict(metrics=_scores(imageset.labels, labels), time_s=seconds)]}


def compare_baselines_with_paper(frame: pd.DataFrame, *, stand_ins: dict | None = None) -> pd.DataFrame:
    """Our baselines beside Tables II-IV's rows of the same name (fractions)."""
    ours = frame.melt(id_vars=["dataset", "method", "seed"], value_vars=["nmi", "ari", "acc"], var_name="metric")
    ours["method"] = ours["method"].map(lambda m: BASELINES[m][0])
    ours["setting"] = ""
    published = pd.concat([paper.load("deepclue2022", t) for t in ("II", "III", "IV")], ignore_index=True)
    side = beside_paper(ours, published, stand_ins)
    return side[side["paper"].notna()].reset_index(drop=True)


def ensemble_size_curve(layers, labels_true, n_clusters: int, sizes_per_layer, *, pool=None,
                        clusterings_per_layer: int = 5, pca_dim: int = 1000, n_representatives: int = 1000,
                        knn: int = 5, random_state: int = 0) -> pd.DataFrame:
    """Figures 6-8: DeepCluE's weighted consensus of the first M' base clusterings of every layer, for each M' of
    ``sizes_per_layer`` (M = M' x the number of layers in all).

    Parameters
    ----------
    layers : sequence of ndarray, each (N, D_l)
        The layer features the ensemble clusters (as for :func:`~clustlib.cluster.multilayer_ensemble`).
    labels_true : ndarray of int, shape (N,)
    n_clusters : int
    sizes_per_layer : sequence of int
        The M' values, each >= 1.
    pool : EnsembleResult, optional
        A weighted ensemble already run on ``layers`` (``clusterings_per_layer`` base clusterings per layer): its
        base clusterings are reused, and only M' beyond it are generated, by one more U-SENC draw per layer with
        a seed of its own. None: the whole pool of ``max(sizes_per_layer)`` per layer is generated.
    clusterings_per_layer, pca_dim, n_representatives, knn
        The ensemble settings of ``pool`` (and of the extra base clusterings).
    random_state : int
        Seeds the extra base clusterings (with a stream apart from the pool's) and every consensus.

    Returns
    -------
    DataFrame
        One row per M': ``M_per_layer, M, nmi, ari, acc, seconds`` (seconds: the consensus step).
    """
    from clustlib.cluster import multilayer_ensemble, weighted_bipartite_consensus

    check_ensemble_sizes(list(sizes_per_layer))
    n_layers = len(layers)
    largest = max(sizes_per_layer)
    ens = dict(pca_dim=pca_dim, n_representatives=n_representatives, knn=knn)
    if pool is None:
        pool = multilayer_ensemble(layers, n_clusters, clusterings_per_layer=largest, **ens,
                                   random_state=random_state)
    per_layer = [pool.base_labels[:, pool.layer_of_clustering == j] for j in range(n_layers)]  # (N, M'_pool) each
    have = min(b.shape[1] for b in per_layer)
    if largest > have:
        extra = multilayer_ensemble(layers, n_clusters, clusterings_per_layer=largest - have, **ens,
                                    random_state=np.random.RandomState([random_state, 6]))
        per_layer = [np.hstack([b[:, :have], extra.base_labels[:, extra.layer_of_clustering == j]])
                     for j, b in enumerate(per_layer)]
    rows = []
    for m in sorted(sizes_per_layer):
        t0 = time.perf_counter()
        labels = weighted_bipartite_consensus(np.hstack([b[:, :m] for b in per_layer]), n_clusters,
                                              random_state=random_state)
        rows.append({"M_per_layer": int(m), "M": int(m) * n_layers, **_scores(labels_true, labels),
                     "seconds": time.perf_counter() - t0})
    return pd.DataFrame(rows, columns=["M_per_layer", "M", "nmi", "ari", "acc", "seconds"])


_SCORE_COLUMNS = ["dataset", "method", "seed", "nmi", "ari", "acc", "n_clusters_found", "seconds"]
_BASE_COLUMNS = ["dataset", "seed", "layer", "k", "nmi"]
_HISTORY_COLUMNS = ["dataset", "seed", "epoch", "loss", "instance_loss", "cluster_loss", "entropy_term"]
_SIZE_COLUMNS = ["dataset", "seed", "M_per_layer", "M", "nmi", "ari", "acc", "seconds"]
#: Run-folder artifacts (:func:`clustlib.results.save_table`) that :func:`draw_figures` and a resumed run read.
ARTIFACTS = {"scores": _SCORE_COLUMNS, "base_clusterings": _BASE_COLUMNS, "history": _HISTORY_COLUMNS}
#: Images per :meth:`~clustlib.deep.ContrastiveClustering.layer_features` call, in network batches: the float
#: inputs and activations of one chunk are all that exist at once besides the (N, D) feature matrices.
_FEATURE_CHUNK_BATCHES = 4


def _artifact(run_dir, name: str) -> pd.DataFrame:
    """An artifact of :data:`ARTIFACTS`, empty with its columns when the run folder has none yet."""
    try:
        return results.load_table(run_dir, name)[ARTIFACTS[name]]
    except InvalidParameter:  # not written yet: a new run folder
        return pd.DataFrame(columns=ARTIFACTS[name])


def _sizes_from_records(records: pd.DataFrame, jobs=None) -> pd.DataFrame:
    """The ensemble-size rows (:data:`SIZE_METHOD`) of a run's records as :attr:`DeepCluERuns.sizes`: in the order
    of ``jobs`` ((dataset, seed) pairs; default: as logged), then of M'."""
    part = records[records["method"] == SIZE_METHOD]
    rows = {}
    for r in part.itertuples(index=False):
        setting = results.parse_setting(r.setting)
        key = (r.dataset, int(r.seed), int(setting["M_per_layer"]))
        row = rows.setdefault(key, {"dataset": r.dataset, "seed": int(r.seed), "M_per_layer": key[2],
                                    "M": int(setting["M"]), "seconds": r.time_s})
        row[r.metric] = r.value
    order = {job: i for i, job in enumerate(jobs if jobs is not None else dict.fromkeys(k[:2] for k in rows))}
    keys = sorted((k for k in rows if k[:2] in order), key=lambda k: (order[k[:2]], k[2]))
    return pd.DataFrame([rows[k] for k in keys], columns=_SIZE_COLUMNS)


def _layer_features(model, imageset, names) -> dict:
    """``model.layer_features`` of every image, computed :data:`_FEATURE_CHUNK_BATCHES` network batches at a time
    from the uint8 images, so no float copy of the whole set exists; the same numbers as one call on all of
    :func:`prepare_inputs` (chunks are whole network batches). dict of name -> float32 (N, D_name)."""
    n = len(imageset.labels)
    chunk = _FEATURE_CHUNK_BATCHES * int(model.batch_size)
    out = {}
    for start in range(0, n, chunk):
        part = model.layer_features(prepare_inputs(imageset, rows=slice(start, start + chunk)), names)
        for name, values in part.items():
            if name not in out:
                out[name] = np.empty((n, values.shape[1]), dtype=np.float32)
            out[name][start:start + len(values)] = values
    return out


def run_grid(run: results.Run, imagesets: dict, seeds, *, estimator_params: dict | None = None, layers=None,
             clusterings_per_layer: int = 5, pca_dim: int = 1000, n_representatives: int = 1000, knn: int = 5,
             ensemble_sizes=(), device: str = "cpu", progress: bool = True, parallel=None) -> DeepCluERuns:
    """Train CC once per dataset x seed and log the four clusterings of :data:`METHODS` (NMI, ARI, ACC), and with
    ``ensemble_sizes`` (M' values) the ensemble-size sweep of :func:`ensemble_size_curve` on the same layer
    features and base clusterings (:data:`SIZE_METHOD`).

    The unweighted ensemble is the consensus of the weighted one's base clusterings with every cluster weighing
    1. The ensembles and k-means use the seed as their random state. See :class:`DeepCluERuns`.

    One job per (dataset, seed) (:func:`clustlib.studies._grid.run_jobs`; ``parallel`` None runs them here, or
    ``"local"`` / a scheduler address on Dask). Resumable: a job whose CC record is in ``run``'s folder
    (``run.logged``) is not recomputed, its rows are read back from the records and its kept tables; an unfinished
    one resumes CC from its per-epoch checkpoint (``run.checkpoint_path``). The :data:`ARTIFACTS` tables of the
    whole grid are written at the end, so :func:`draw_figures` redraws the figures from the folder alone.

    Host memory: one dataset's float32 CC input (N, 3, H, W) at a time, built from the uint8 images
    (:func:`prepare_inputs`) and freed once CC is trained; the layer features are computed from the uint8 images
    in chunks of network batches (:func:`_layer_features`).
    """
    layers = tuple(layers or DEEPCLUE_LAYER_NAMES)
    if ensemble_sizes:
        check_ensemble_sizes(list(ensemble_sizes))
    config = {"estimator_params": estimator_params, "layers": layers, "clusterings_per_layer": clusterings_per_layer,
              "ens": ensemble_kwargs(clusterings_per_layer, pca_dim, n_representatives, knn),
              "ensemble_sizes": tuple(sorted(ensemble_sizes)), "device": device}
    pairs = [(d, seed) for d in imagesets for seed in seeds]
    jobs = [Job(d, CC_METHOD, None, seed, tables=tuple(ARTIFACTS), name=f"{d}-s{seed}") for d, seed in pairs]
    outcomes = run_jobs(run, jobs, _grid_job, shared={"imagesets": imagesets, "config": config}, parallel=parallel,
                        desc="DeepCluE", progress=progress)
    frames = {name: _concat([o.tables[name] for o in outcomes], ARTIFACTS[name]) for name in ARTIFACTS}
    for name, frame in frames.items():  # what draw_figures reads
        results.save_table(run.run_dir, name, frame)
    return DeepCluERuns(frames["scores"], frames["base_clusterings"], frames["history"],
                        _sizes_from_records(run.records, pairs))


def _grid_job(job: Job, ctx: JobContext, *, imagesets: dict, config: dict) -> dict:
    """One :func:`run_grid` job: train CC on one (dataset, seed), cluster its layers four ways (and the
    ensemble-size sweep); the records of :data:`METHODS` (+ :data:`SIZE_METHOD`) and the job's tables."""
    from clustlib.cluster import multilayer_ensemble, weighted_bipartite_consensus
    from clustlib.deep import ContrastiveClustering

    dataset, seed, layers = job.dataset, job.seed, config["layers"]
    imageset = imagesets[dataset]
    y, k = imageset.labels, imageset.n_classes
    X = prepare_inputs(imageset)  # (N, 3, H, W) float32, the only float copy of the set
    model = ctx.checkpointed(ContrastiveClustering(k, **estimator_kwargs(dataset, config["estimator_params"]),
                                                   random_state=seed, device=config["device"], progress=False))
    resolved = model.check_params(X)
    t0 = time.perf_counter()
    model.fit(X)
    fit_s = time.perf_counter() - t0
    del X
    feats = _layer_features(model, imageset, tuple(dict.fromkeys((*layers, "fc8"))))
    desc = f"{resolved['backbone']}, {resolved['image_size']} px, {model.epochs} epochs"
    outcomes = [(CC_METHOD, model.labels_, fit_s, f"{desc}; argmax of g_C")]
    t0 = time.perf_counter()
    km = KMeans(k, n_init=10, random_state=seed).fit_predict(feats["fc8"])
    outcomes.append((G_I_METHOD, km, time.perf_counter() - t0, f"{desc}; k-means (10 restarts) on fc8"))
    ens = config["ens"]
    note = (f"{desc}; layers {','.join(layers)}, M'={config['clusterings_per_layer']}, p={ens['n_representatives']}, "
            f"Knn={ens['knn']}")
    t0 = time.perf_counter()
    result = multilayer_ensemble([feats[name] for name in layers], k, **ens, random_state=seed)
    outcomes.append((METHOD, result.labels, time.perf_counter() - t0, f"{note}, entropy-weighted clusters"))
    t0 = time.perf_counter()
    unweighted = weighted_bipartite_consensus(result.base_labels, k, weighted=False, random_state=seed)
    outcomes.append((UNWEIGHTED_METHOD, unweighted, time.perf_counter() - t0,
                     f"{note}, unweighted clusters (the weighted ensemble's base clusterings; consensus time)"))
    base = pd.DataFrame(
        [{"dataset": dataset, "seed": seed, "layer": layers[result.layer_of_clustering[m]],
          "k": int(result.base_ks[m]), "nmi": metrics.evaluate(y, result.base_labels[:, m], metrics=("nmi",))["nmi"]}
         for m in range(result.base_labels.shape[1])], columns=_BASE_COLUMNS)
    logs, score_rows = [], []
    for method, labels, seconds, method_note in outcomes:
        scores = _scores(y, labels)
        logs.append(dict(method=method, metrics=scores, time_s=seconds, note=method_note))
        score_rows.append({"dataset": dataset, "method": method, "seed": seed, **scores,
                           "n_clusters_found": int(np.unique(labels).size), "seconds": seconds})
    h = model.history_
    history = pd.DataFrame(
        [{"dataset": dataset, "seed": seed, "epoch": e + 1, "loss": a, "instance_loss": b, "cluster_loss": c,
          "entropy_term": d} for e, (a, b, c, d) in enumerate(zip(h.losses, h.instance_losses, h.cluster_losses,
                                                                  h.entropy_terms))], columns=_HISTORY_COLUMNS)
    if config["ensemble_sizes"]:
        curve = ensemble_size_curve([feats[name] for name in layers], y, k, config["ensemble_sizes"], pool=result,
                                    clusterings_per_layer=config["clusterings_per_layer"], pca_dim=ens["pca_dim"],
                                    n_representatives=ens["n_representatives"], knn=ens["knn"], random_state=seed)
        for row in curve.itertuples(index=False):
            logs.append(dict(method=SIZE_METHOD, setting={"M": row.M, "M_per_layer": row.M_per_layer},
                             metrics={"nmi": row.nmi, "ari": row.ari, "acc": row.acc}, time_s=row.seconds,
                             note=f"{desc}; the first {row.M_per_layer} base clusterings of each layer, weighted "
                                  "consensus"))
    return {"logs": logs, "tables": {"scores": pd.DataFrame(score_rows, columns=_SCORE_COLUMNS),
                                     "base_clusterings": base, "history": history}}


def _concat(frames: list, columns: list) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


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
    published = pd.concat([paper.load("deepclue2022", t) for t in _TABLES[tables]], ignore_index=True)
    published["setting"] = published["setting"].fillna("")
    side = beside_paper(ours, published, stand_ins)
    return side[side["paper"].notna()].reset_index(drop=True)


def _label(dataset: str) -> str:
    return DATASET_LABELS.get(dataset, dataset)


def _paper_marks(ax, values: dict, order, offsets, width: float, label: str) -> bool:
    """Black dashes at ``values[(dataset, bar)]`` over the bars; ``offsets[bar]`` is the bar's centre offset.
    Returns whether any was drawn (one legend entry)."""
    drawn = False
    for (dataset, bar), value in values.items():
        for j in (j for j, name in enumerate(order) if name == dataset):
            x = j + offsets[bar]
            ax.hlines(value, x - width / 2, x + width / 2, colors="black", linewidth=2,
                      label=None if drawn else label)
            drawn = True
    return drawn


def figure_ablation(scores: pd.DataFrame, *, metric: str = "nmi", stand_ins: dict | None = None, ax=None):
    """Tables V (NMI), VI (ARI), VII (ACC) as bars: ``metric`` per dataset for the last layer of g_I, of g_C (CC),
    and the multiple layers (DeepCluE), the paper's three rows in its order, with the unweighted ensemble beside
    them (mean ± SD over seeds); black dashes: the paper's values."""
    stand_ins = dict(stand_ins or {})
    order = list(dict.fromkeys(scores["dataset"]))
    hue_order = [G_I_METHOD, CC_METHOD, METHOD, UNWEIGHTED_METHOD]
    labels = {G_I_METHOD: r"Using last layer of $g_I(\cdot)$", CC_METHOD: r"Using last layer of $g_C(\cdot)$",
              METHOD: "Using multiple layers", UNWEIGHTED_METHOD: "multiple layers, unweighted (not in the table)"}
    frame = scores[scores["method"].isin(hue_order)]
    table = {"nmi": "V", "ari": "VI", "acc": "VII"}[metric]
    fig = plots.bar_mean_std(frame.assign(method=frame["method"].map(labels), dataset=frame["dataset"].map(_label)),
                             x="dataset", y=metric, hue="method", ax=ax, order=[_label(d) for d in order],
                             hue_order=[labels[m] for m in hue_order], ylabel=metric.upper(),
                             title=f"Table {table}: {metric.upper()} of a single layer vs multiple layers",
                             figsize=(7.6, 3.6))
    ax = fig.axes[0]
    paper_names = [stand_ins.get(d, d) for d in order]
    published = paper.load("deepclue2022", table, dataset=paper_names)
    reverse = {v: k for k, v in ABLATION_NAMES.items()}
    width = 0.8 / len(hue_order)
    offsets = {m: -0.4 + width * (i + 0.5) for i, m in enumerate(hue_order)}
    values = {(order[paper_names.index(r.dataset)], reverse[r.method]): r.value
              for r in published.itertuples(index=False) if r.method in reverse}
    if not _paper_marks(ax, values, order, offsets, width, f"paper (Table {table})"):
        ax.plot([], [], " ", label=f"paper: no {', '.join(map(_label, order))} in Table {table}")
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
    ax.set(xlabel="layer", ylabel="NMI", title=f"Base clusterings per layer vs consensus ({_label(dataset)})")
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def figure_training_curves(history: pd.DataFrame, dataset: str | None = None):
    """CC's training on one dataset, mean over seeds: total, instance and cluster losses per epoch (left) and the
    entropy term ``2 log K - H(p_i) - H(p_j)`` (right; 0 when the clusters are used uniformly)."""
    dataset = dataset or history["dataset"].iloc[0]
    mean = history[history["dataset"] == dataset].groupby("epoch").mean(numeric_only=True).reset_index()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 3.5), layout="constrained")
    for column, label in (("loss", "total"), ("instance_loss", "instance"), ("cluster_loss", "cluster")):
        left.plot(mean["epoch"], mean[column], marker="o", ms=3, label=label)
    right.plot(mean["epoch"], mean["entropy_term"], marker="o", ms=3, color="C3")
    left.set(xlabel="epoch", ylabel="loss (mean over batches)", title=f"CC training loss ({_label(dataset)})")
    right.set(xlabel="epoch", ylabel=r"$2 \log K - H(p_i) - H(p_j)$ (nats)", title="Cluster-size entropy term")
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower left", ncol=3, frameon=False,
               fontsize="small")
    for axis in (left, right):
        if len(mean) <= 12:  # every epoch a tick; a lone epoch would otherwise get fractional ticks
            axis.set_xticks(mean["epoch"].astype(int).tolist())
        else:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


_MAIN_TABLE = {"nmi": "II", "ari": "III", "acc": "IV"}
_FIGURES_WEIGHTING = {"nmi": 3, "ari": 4, "acc": 5}
_FIGURES_SIZE = {"nmi": 6, "ari": 7, "acc": 8}
_WEIGHTING_LABELS = {METHOD: "with weighted clusters", UNWEIGHTED_METHOD: "without weighted clusters"}


def _paper_deepclue(metric: str, paper_names) -> dict:
    """Tables II-IV's DeepCluE value of ``metric`` per paper dataset name (those the table has)."""
    published = paper.load("deepclue2022", _MAIN_TABLE[metric], dataset=list(paper_names), method=METHOD)
    return dict(zip(published["dataset"], published["value"]))


def weighting_table(scores: pd.DataFrame, *, stand_ins: dict | None = None) -> pd.DataFrame:
    """Figures 3-5 as numbers: NMI, ARI, ACC of the ensemble with and without weighted clusters per dataset (mean ±
    SD over seeds), their difference, and the paper's DeepCluE value from Tables II-IV (the weighted bars of
    Figures 3-5 are DeepCluE; the unweighted bars are drawn only, no number is printed)."""
    from clustlib.findings import format_mean_sd

    stand_ins = dict(stand_ins or {})
    rows = []
    for dataset in dict.fromkeys(scores["dataset"]):
        part = scores[scores["dataset"] == dataset]
        wide = part.pivot_table(index="seed", columns="method", values=["nmi", "ari", "acc"])
        for metric in ("nmi", "ari", "acc"):
            published = _paper_deepclue(metric, [stand_ins.get(dataset, dataset)])
            cells = {}
            for method in (METHOD, UNWEIGHTED_METHOD):
                values = wide[(metric, method)] if (metric, method) in wide else pd.Series(dtype=float)
                cells[_WEIGHTING_LABELS[method]] = format_mean_sd(values.mean(), values.std(), len(values),
                                                                  scale="fraction")
            gain = (wide[(metric, METHOD)] - wide[(metric, UNWEIGHTED_METHOD)]).dropna() \
                if {(metric, METHOD), (metric, UNWEIGHTED_METHOD)} <= set(wide.columns) else pd.Series(dtype=float)
            paper_value = published.get(stand_ins.get(dataset, dataset))
            rows.append({"dataset": dataset, "figure": f"Fig. {_FIGURES_WEIGHTING[metric]}", "metric": metric.upper(),
                         **cells, "with - without": format_mean_sd(gain.mean(), gain.std(), len(gain),
                                                                   scale="fraction", signed=True),
                         "paper with (Tables II-IV)": "-" if paper_value is None else f"{paper_value:.3f}",
                         "paper without": "figure only"})
    return pd.DataFrame(rows)


def figure_weighting(scores: pd.DataFrame, *, metric: str = "nmi", stand_ins: dict | None = None, ax=None):
    """Figures 3 (NMI), 4 (ARI), 5 (ACC): DeepCluE with and without weighted clusters, one pair of bars per dataset
    (mean ± SD over seeds), the datasets on the x axis in the paper's order and names; black dashes on the
    weighted bars: Tables II-IV's DeepCluE values (the paper prints no number for the unweighted bars)."""
    stand_ins = dict(stand_ins or {})
    order = list(dict.fromkeys(scores["dataset"]))
    hue_order = [_WEIGHTING_LABELS[METHOD], _WEIGHTING_LABELS[UNWEIGHTED_METHOD]]
    frame = scores[scores["method"].isin(list(_WEIGHTING_LABELS))]
    figure = _FIGURES_WEIGHTING[metric]
    fig = plots.bar_mean_std(frame.assign(method=frame["method"].map(_WEIGHTING_LABELS),
                                          dataset=frame["dataset"].map(_label)),
                             x="dataset", y=metric, hue="method", ax=ax, order=[_label(d) for d in order],
                             hue_order=hue_order, ylabel=metric.upper(),
                             title=f"Fig. {figure}: {metric.upper()}, with or without weighted clusters",
                             figsize=(max(5.6, 1.1 * len(order) + 3.6), 3.4))
    ax = fig.axes[0]
    published = _paper_deepclue(metric, [stand_ins.get(d, d) for d in order])
    width = 0.8 / len(hue_order)
    values = {(d, METHOD): published[stand_ins.get(d, d)] for d in order if stand_ins.get(d, d) in published}
    if not _paper_marks(ax, values, order, {METHOD: -0.4 + width / 2}, width,
                        f"paper, with (Table {_MAIN_TABLE[metric]})"):
        ax.plot([], [], " ", label=f"paper: no {', '.join(map(_label, order))} in Table {_MAIN_TABLE[metric]}")
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(*plots.PAPER_YLIM)
    ax.tick_params(axis="x", rotation=0)
    return fig


def ensemble_size_table(sizes: pd.DataFrame, *, stand_ins: dict | None = None) -> pd.DataFrame:
    """Figures 6-8 as numbers: NMI, ARI, ACC per dataset and ensemble size M (mean ± SD over seeds), with Tables
    II-IV's DeepCluE value beside M = 30, the paper's setting (6 layers x M' = 5); the curves' other points are
    drawn only in the paper."""
    stand_ins = dict(stand_ins or {})
    table = summary_mean_std(sizes.assign(M=sizes["M"].astype(int)), ("dataset", "M"), seconds="seconds",
                             seconds_label="consensus s", decimals=2)
    for metric in ("nmi", "ari", "acc"):
        values = []
        for row in table.itertuples(index=False):
            value = _paper_deepclue(metric, [stand_ins.get(row.dataset, row.dataset)]).get(
                stand_ins.get(row.dataset, row.dataset))
            values.append(f"{value:.3f}" if value is not None and row.M == 30 else "")
        table[f"paper {metric.upper()} (M = 30)"] = values
    return table


def figure_ensemble_size(sizes: pd.DataFrame, *, metric: str = "nmi", stand_ins: dict | None = None, ax=None):
    """Figures 6 (NMI), 7 (ARI), 8 (ACC): DeepCluE against the ensemble size M (base clusterings in all), one line
    per dataset with a ±1 SD band over seeds; crosses: Tables II-IV's DeepCluE value at the paper's M = 30.

    The y axis spans the curves and the crosses with a margin (in steps of 0.05), not [0, 1]: the figures show
    how the score moves with M, which a [0, 1] axis flattens."""
    stand_ins = dict(stand_ins or {})
    stats = (sizes.groupby(["dataset", "M"], sort=False)[metric].agg(["mean", "std"]).reset_index()
             .assign(std=lambda f: f["std"].fillna(0.0)))
    figure = _FIGURES_SIZE[metric]
    fig = plots.line_mean_std(stats.assign(dataset=stats["dataset"].map(_label)), x="M", mean="mean", std="std",
                              hue="dataset", ax=ax, ylabel=metric.upper(), xlabel="ensemble size M",
                              figsize=(5.6, 3.4), title=f"Fig. {figure}: {metric.upper()} vs ensemble size")
    ax = fig.axes[0]
    order = list(dict.fromkeys(stats["dataset"]))
    published = _paper_deepclue(metric, [stand_ins.get(d, d) for d in order])
    labelled = False
    marks = []
    for line, dataset in zip(ax.get_lines(), order):
        value = published.get(stand_ins.get(dataset, dataset))
        if value is not None:
            ax.plot([30], [value], marker="x", ms=8, mew=2, ls="none", color=line.get_color(),
                    label=f"paper, M = 30 (Table {_MAIN_TABLE[metric]})" if not labelled else None)
            labelled = True
            marks.append(value)
    if not labelled:
        ax.plot([], [], " ", label=f"paper: no {', '.join(map(_label, order))} in Table {_MAIN_TABLE[metric]}")
    ax.set_xticks(sorted(set(stats["M"].astype(int)) | ({30} if labelled else set())))
    low = min([*(stats["mean"] - stats["std"]), *marks])
    high = max([*(stats["mean"] + stats["std"]), *marks])
    ax.set_ylim(max(0.0, np.floor(low / 0.05) * 0.05 - 0.05), min(1.05, np.ceil(high / 0.05) * 0.05 + 0.05))
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


#: Figure-name prefixes :func:`draw_figures` knows, in the order it draws them.
FIGURES = ("deepclue_fig3_5_weighting_", "deepclue_fig6_8_ensemble_size_", "deepclue_table5_7_ablation_",
           "deepclue_base_clusterings_", "deepclue_training_curves_")


def scores_from_records(records: pd.DataFrame) -> pd.DataFrame:
    """The CC network's four clusterings (:data:`METHODS`) of a run's records: one row per (dataset, method, seed)
    with ``nmi, ari, acc, seconds``, in the order logged."""
    part = records[records["method"].isin(METHODS)]
    if part.empty:
        return pd.DataFrame(columns=["dataset", "method", "seed", "nmi", "ari", "acc", "seconds"])
    wide = part.pivot_table(index=["dataset", "method", "seed"], columns="metric", values="value", sort=False)
    seconds = part.groupby(["dataset", "method", "seed"], sort=False)["time_s"].first()
    return wide.assign(seconds=seconds)[["nmi", "ari", "acc", "seconds"]].reset_index()


def draw_figures(run_dir, only=None):
    """Every figure of study 04 from a run folder alone (records, params and the :data:`ARTIFACTS` tables):
    Figures 3-5, 6-8 (when the run swept the ensemble size), Tables V-VII as bars, the base clusterings and
    CC's training curves per dataset. A generator of ``(name, Figure)``.

    ``only``: figure names or prefixes of :data:`FIGURES` (e.g. ``["deepclue_fig3_5_weighting_"]``); None draws
    all. Unknown entries raise before anything is drawn.
    """
    wanted = list(FIGURES if only is None else only)
    bad = [w for w in wanted if not any(w.startswith(prefix) or prefix.startswith(w) for prefix in FIGURES)]
    if bad:
        raise InvalidParameter(f"Unknown DeepCluE figure(s) {bad}; names start with one of {list(FIGURES)}.")

    def keep(name: str) -> bool:
        return any(name.startswith(w) for w in wanted)

    params = results.read_params(run_dir)
    records = results.read_records(run_dir)
    scores = scores_from_records(records)
    datasets = [d for d in params["datasets"] if d in set(scores["dataset"])]
    for metric in ("nmi", "ari", "acc"):
        if keep(name := f"deepclue_fig3_5_weighting_{metric}") and len(scores):
            yield name, figure_weighting(scores, metric=metric)
    sizes = _sizes_from_records(records)
    for metric in ("nmi", "ari", "acc"):
        if keep(name := f"deepclue_fig6_8_ensemble_size_{metric}") and len(sizes):
            yield name, figure_ensemble_size(sizes, metric=metric)
    for metric in ("nmi", "ari", "acc"):
        if keep(name := f"deepclue_table5_7_ablation_{metric}") and len(scores):
            yield name, figure_ablation(scores, metric=metric)
    base = _artifact(run_dir, "base_clusterings") if any(keep(f"deepclue_base_clusterings_{d}") for d in datasets) \
        else None
    for dataset in datasets:
        if keep(name := f"deepclue_base_clusterings_{dataset}") and (base["dataset"] == dataset).any():
            yield name, figure_base_clusterings(base, scores, dataset)
    history = _artifact(run_dir, "history") if any(keep(f"deepclue_training_curves_{d}") for d in datasets) else None
    for dataset in datasets:
        if keep(name := f"deepclue_training_curves_{dataset}") and (history["dataset"] == dataset).any():
            yield name, figure_training_curves(history, dataset)
