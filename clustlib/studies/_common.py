"""Pieces several studies share: dataset loading from profile parameters, parameter checks, paper naming,
mean ± std summaries, our scores beside the paper's, the two-panel training-history figure."""

from __future__ import annotations

import pandas as pd

from clustlib import data
from clustlib.errors import InvalidParameter

__all__ = ["PAPER_ARCHITECTURE_NAMES", "paper_method_name", "load_datasets", "load_image_trees_at", "check_list",
           "check_datasets", "check_seed", "check_seeds", "check_mapping", "check_estimator_params",
           "summary_mean_std", "beside_paper", "history_panels"]

# Our extractor architecture -> the row label Guérin et al. print in Tables A.3–A.6 and B.7–B.10.
PAPER_ARCHITECTURE_NAMES = {
    "vgg16": "VGG16", "vgg19": "VGG19", "inception_v3": "Inception", "xception": "Xception",
    "resnet50": "Resnet50", "densenet121": "Densenet121", "densenet169": "Densenet169",
    "densenet201": "Densenet201", "nasnet_large": "Nasnet", "inception_resnet_v2": "InceptionResnet",
}


def paper_method_name(extractor: str) -> str:
    """``"vgg16.imagenet"`` -> ``"VGG16"``; names the paper does not use are returned unchanged."""
    return PAPER_ARCHITECTURE_NAMES.get(extractor.split(".")[0], extractor)


def load_datasets(names, subsets: dict | None = None, *, seed: int = 0, root=None) -> dict:
    """Load every dataset named in ``names``, each cut to a stratified subset when ``subsets[name]`` > 0.

    Validates all names and sizes before loading anything heavy; returns ``{name: ImageSet}``.
    """
    subsets = dict(subsets or {})
    check_datasets(list(names), subsets)
    return {name: data.load(name, subset=subsets.get(name) or None, seed=seed, root=root) for name in names}


def load_image_trees_at(sizes: dict, datasets, subsets: dict | None = None, *, seed: int = 0, root=None,
                        default_size: int = 96) -> dict:
    """``{name: ImageSet}`` like :func:`load_datasets`, with image-tree datasets (ImageNet-10, ImageNet-Dogs...)
    decoded straight at ``sizes.get(name, default_size)`` pixels; array datasets keep their own size."""
    subsets = dict(subsets or {})
    for name in datasets:
        data.dataset_info(name)  # raises UnknownName listing the valid datasets
    out = {}
    for name in datasets:
        tree = data.dataset_info(name).get("image_shape") is None
        out[name] = data.load(name, subset=subsets.get(name) or None, seed=seed, root=root,
                              image_size=sizes.get(name, default_size) if tree else None)
    return out


def check_list(name: str, values, valid) -> None:
    """``values`` must be a non-empty list whose items are all in ``valid`` (InvalidParameter otherwise)."""
    if not isinstance(values, (list, tuple)) or not values:
        raise InvalidParameter(f"{name} must list at least one value, got {values!r}.")
    bad = [v for v in values if v not in valid]
    if bad:
        raise InvalidParameter(f"Unknown {name} {bad}; valid: {sorted(valid, key=str)}.")


def check_seeds(seeds) -> None:
    """``seeds`` must be a non-empty list of integers >= 0 (InvalidParameter otherwise)."""
    if not isinstance(seeds, (list, tuple)) or not seeds:
        raise InvalidParameter(f"seeds must list at least one seed, got {seeds!r}.")
    bad = [s for s in seeds if not isinstance(s, int) or isinstance(s, bool) or s < 0]
    if bad:
        raise InvalidParameter(f"seeds must be integers >= 0, got {bad}.")


def check_seed(seed, name: str = "seed") -> None:
    """``seed`` must be one integer >= 0 (InvalidParameter otherwise)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidParameter(f"{name} must be an integer >= 0, got {seed!r}.")


def check_mapping(name: str, mapping, valid, *, maps: str, outside: str) -> dict:
    """``mapping`` (None: ``{}``) must be a dict whose keys are all in ``valid``; returns it.

    The errors read ``"<name> must map <maps>, got ..."`` and ``"<name> <outside>"``, where ``{keys}`` in
    ``outside`` is replaced by the keys not in ``valid``.
    """
    mapping = {} if mapping is None else mapping
    if not isinstance(mapping, dict):
        raise InvalidParameter(f"{name} must map {maps}, got {mapping!r}.")
    bad = [key for key in mapping if key not in valid]
    if bad:
        raise InvalidParameter(f"{name} {outside.replace('{keys}', str(bad))}")
    return mapping


def check_datasets(datasets, subsets: dict | None = None, *, name: str = "datasets", loaded=None) -> None:
    """``datasets`` must be a non-empty list of registered dataset names or ``folder:<path>`` trees, and every key
    of ``subsets`` a dataset the study loads (``loaded``, default ``datasets``) with a size >= 0 (0 or None: all).

    Checks names, not whether the files are there (a ``full`` profile names datasets not downloaded yet).
    """
    if not isinstance(datasets, (list, tuple)) or not datasets:
        raise InvalidParameter(f"{name} must list at least one dataset, got {datasets!r}; see `clustlib data list`.")
    valid = data.list_datasets()
    bad = [d for d in datasets if not isinstance(d, str) or not (d in valid or d.startswith(data.FOLDER_PREFIX))]
    if bad:
        raise InvalidParameter(f"Unknown {name} {bad}; valid: {valid}, or folder:<path> for an image tree of your "
                               "own (`clustlib data list` describes each).")
    if subsets is None:
        return
    loaded = list(datasets if loaded is None else loaded)
    check_mapping("subsets", subsets, loaded, maps="dataset names to subset sizes",
                  outside=f"names datasets that are not in datasets: {{keys}}; datasets are {loaded}. Remove them "
                          "from subsets or add them to datasets.")
    bad = {d: n for d, n in subsets.items() if n is not None and (not isinstance(n, int) or isinstance(n, bool)
                                                                  or n < 0)}
    if bad:
        raise InvalidParameter(f"subsets sizes must be integers >= 0 (0: the whole dataset), got {bad}.")


def check_estimator_params(estimator_params, estimator, reserved, set_by_study: str) -> dict:
    """``estimator_params`` must be a dict of arguments ``estimator`` (an instance) accepts, none of them in
    ``reserved`` (which the study sets itself, described by ``set_by_study``); returns it ({} for None)."""
    name = type(estimator).__name__
    estimator_params = {} if estimator_params is None else estimator_params
    if not isinstance(estimator_params, dict):
        raise InvalidParameter(f"estimator_params must be a dict of {name} arguments, got {estimator_params!r}.")
    accepted = set(estimator.get_params()) - set(reserved)
    bad = [k for k in estimator_params if k not in accepted]
    if bad:
        raise InvalidParameter(f"estimator_params has unknown or reserved argument(s) {bad}; {name} accepts "
                               f"{sorted(accepted)} ({set_by_study} come from the study).")
    return estimator_params


def summary_mean_std(frame: pd.DataFrame, by, *, seconds: str | None = None, seconds_label: str = "",
                     decimals: int = 4, scale: str = "fraction") -> pd.DataFrame:
    """NMI, ARI, ACC as "mean ± SD" over seeds, grouped by ``by``, with the number of seeds, plus the mean of the
    ``seconds`` column (rounded to ``decimals``) under ``seconds_label`` when it is given and present.

    ``scale`` is ``"fraction"`` (0.702, as Guérin et al., DeepCluE, MMDC and DAC print) or ``"percent"`` (70.2,
    as ClustPy prints); a single seed shows the value alone.
    """
    from clustlib.findings import format_mean_sd

    grouped = frame.groupby(list(by), sort=False)
    stats = grouped[["nmi", "ari", "acc"]].agg(["mean", "std", "count"])
    out = grouped.size().rename("seeds").to_frame()
    for metric in ("nmi", "ari", "acc"):
        out[metric.upper()] = [format_mean_sd(mean, sd, int(n), scale=scale, over=None) for mean, sd, n in
                               zip(stats[(metric, "mean")], stats[(metric, "std")], stats[(metric, "count")])]
    if seconds is not None and seconds in frame:
        out[seconds_label or seconds] = grouped[seconds].mean().round(decimals)
    return out.reset_index()


def beside_paper(ours: pd.DataFrame, published: pd.DataFrame, stand_ins: dict | None = None) -> pd.DataFrame:
    """Our per-seed rows (``dataset, method, setting, seed, metric, value``) as mean ± std beside the paper's
    ``published`` values (:func:`clustlib.paper.compare`), only where the paper has one.

    ``stand_ins`` maps one of our datasets to the paper's dataset it stands in for; such rows keep our name in
    ``ours_dataset`` (the first column) and are not a reproduction.
    """
    from clustlib import paper, results

    stand_ins = dict(stand_ins or {})
    aggregated = results.aggregate(ours)
    aggregated.insert(0, "ours_dataset", aggregated["dataset"])
    aggregated["dataset"] = aggregated["dataset"].map(lambda d: stand_ins.get(d, d))
    side = paper.compare(aggregated, published)
    side.insert(0, "ours_dataset", aggregated["ours_dataset"].to_numpy())
    return side


def history_panels(history: pd.DataFrame, dataset: str | None, by: str):
    """The start of a two-panel training figure: ``dataset``'s rows of ``history`` (None: the first dataset), their
    mean over seeds per (``by``, ``epoch``), and a 1 x 2 figure.

    Returns ``(dataset, part, lines, fig, left, right)``; ``lines`` lists ``(colour, value of by, mean rows)``, one
    per value of ``by`` in the order of ``history``.
    """
    from matplotlib import pyplot as plt

    dataset = dataset or history["dataset"].iloc[0]
    part = history[history["dataset"] == dataset]
    mean = part.groupby([by, "epoch"], sort=False).mean(numeric_only=True).reset_index()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 3.2), layout="constrained")
    lines = [(f"C{i}", key, rows) for i, (key, rows) in enumerate(mean.groupby(by, sort=False))]
    return dataset, part, lines, fig, left, right
