"""Preflight of a study run: is every dataset and weight file there, and what will it cost (disk, memory, time)?

``clustlib plan STUDY|all --profile P`` prints one table per study; ``clustlib run`` makes the same presence
checks before any kernel starts and stops with exit 2 when something is missing. Estimates come from the
parameters and the per-unit costs in :data:`UNIT_COSTS`, each with where it was measured; a GPU's speed-up over
one CPU thread has not been measured in this project (no device was lent) and is an assumption, said so in the
table. Estimates are orders of magnitude for planning, not promises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clustlib.errors import DatasetUnavailable, InvalidParameter, WeightsUnavailable

__all__ = ["UNIT_COSTS", "StudyPlan", "plan_study", "format_plan", "require_inputs"]

#: name -> (value, unit, where it was measured or what it assumes)
UNIT_COSTS = {
    "cpu_gflops": (9.3, "GFLOP/s per thread, CNN inference",
                   "EfficientNet-Lite0 extract 22.7 img/s x 0.41 GFLOP, 1 thread (benchmarks/RESULTS.md)"),
    "gpu_speedup": (50.0, "x one CPU thread", "assumed, not measured (no GPU lent to this project yet)"),
    "ae_ms_per_image_epoch": (0.23, "ms per image-epoch, d-500-500-2000-10, 1 thread",
                              "16 s per pretraining epoch on 70,000 Fashion-MNIST images, AMD EPYC (issue 15)"),
    "tap_mb_per_image": (0.253, "MB per cached layer tap and image",
                         "study 01 full: ~3.8 MB per image over its 15 taps (issue 13)"),
    "l3_mb_per_image": (0.012, "MB per cached L3 view and image", "fc/pool L3 layers of 1,000-4,096 floats"),
    "resnet_gflops_train": (3 * 3.6, "GFLOP per 224-px image, ResNet34 forward + backward", "3x the forward's 3.6"),
}

#: Forward GFLOP per image at each network's native size (published figures of the architectures).
EXTRACTOR_GFLOPS = {"vgg16": 15.5, "vgg19": 19.6, "inception_v3": 5.7, "xception": 8.4, "resnet50": 4.1,
                    "densenet121": 2.9, "densenet169": 3.4, "densenet201": 4.3, "nasnet_large": 23.8,
                    "inception_resnet_v2": 13.2, "efficientnet_lite0": 0.41, "efficientnet_lite1": 0.63,
                    "efficientnet_lite2": 0.9}

#: Sizes of image-tree datasets whose size the registry cannot know before the tree is there (the sets as
#: published: ImageNet-10 and -Dogs as DAC builds them, Tiny-ImageNet's train part, COIL-100, UMist as Guérin et al.).
_TREE_SIZES = {"imagenet10": 13000, "imagenet_dogs": 19500, "tiny_imagenet": 100000, "coil100": 7200, "umist": 564}


@dataclass
class StudyPlan:
    """What :func:`plan_study` found: ``checks`` (kind, item, ok, detail) and ``estimates`` (quantity, value,
    unit, assumption)."""

    study: str
    profile: str
    device: str
    checks: list = field(default_factory=list)
    estimates: list = field(default_factory=list)

    @property
    def missing(self) -> list:
        return [c for c in self.checks if not c[2]]


def _datasets(params: dict) -> list[str]:
    """Every dataset a study's parameters name: ``datasets`` first, then any ``*_datasets`` list, ``*_dataset``
    name and the lists of a ``datasets_per_*`` mapping (study 06's per-experiment sets, study 07's sweep data)."""
    names = list(params.get("datasets", []) or [])
    for key, value in params.items():
        if key.endswith("_datasets") and isinstance(value, (list, tuple)):
            names += list(value)
        elif key.endswith("_dataset") and isinstance(value, str) and value:
            names.append(value)
        elif key.startswith("datasets_per_") and isinstance(value, dict):
            names += [d for group in value.values() for d in (group or [])]
    return list(dict.fromkeys(names))


def _extractors(params: dict) -> list[str]:
    """Pretrained networks a study's parameters name (``extractors``, or the ``net:layer`` of ``views``; the
    ``pixels`` view needs none)."""
    names = list(params.get("extractors", []) or [])
    names += [v.split(":", 1)[0] for v in params.get("views", []) or []]
    return [n for n in dict.fromkeys(names) if n != "pixels"]


def _n_images(name: str, params: dict, *, exact: bool = False) -> int:
    """Images a study draws from ``name``: its ``subsets`` size, else the registered size; an image tree present
    under the data root is counted (its listing, nothing decoded), else the published size. ``exact``: count the
    files present whatever the dataset (reads an array dataset's files), as a memory check needs."""
    from clustlib import data

    size = (params.get("subsets") or {}).get(name)
    try:
        known = data.dataset_info(name)["splits"].get("all")
    except Exception:  # noqa: BLE001 - a folder: tree has no registered size
        known = None
    if exact or not known:
        present = data.count_images(name, root=params.get("data_root") or None)
        known = present or known
    n = int(known or _TREE_SIZES.get(name, 0))
    return min(int(size), n) if size and n else int(size or n)


def _check_inputs(plan: StudyPlan, params: dict) -> None:
    from clustlib import data
    from clustlib.features import resolve_weights

    root = params.get("data_root") or None
    for name in _datasets(params):
        ok = data.is_available(name, root=root)
        detail = "found" if ok else data.dataset_info(name).get("how_to_get", "see clustlib data info " + name)
        plan.checks.append(("data", name, ok, detail))
    for name in _extractors(params):
        try:
            path = resolve_weights(name, offline=True)
            plan.checks.append(("weights", name, True, str(path)))
        except WeightsUnavailable as exc:
            plan.checks.append(("weights", name, False, str(exc)))
    if "E" in params.get("experiments", []) and "spectral" in params.get("initial_clusterings", []):
        _check_spectral_memory(plan, params)


def _check_spectral_memory(plan: StudyPlan, params: dict) -> None:
    """Study 06, experiment E: scikit-learn's default spectral clustering holds dense N x N matrices; say before
    the run (not after experiments A-D) whether they fit on this machine, and name the fallback."""
    from clustlib.deep.autoencoder.base import available_memory_bytes, check_spectral_memory, spectral_memory_bytes

    for name in params.get("experiment_datasets", []):
        n = _n_images(name, params, exact=True)
        try:
            check_spectral_memory(n)
            plan.checks.append(("memory", f"spectral on {name}", True,
                                f"{spectral_memory_bytes(n) / 1e9:.1f} GB of {available_memory_bytes() / 1e9:.0f} GB"))
        except InvalidParameter as exc:
            plan.checks.append(("memory", f"spectral on {name}", False, str(exc)))


def _hours(gflop_total: float, device: str) -> float:
    rate = UNIT_COSTS["cpu_gflops"][0] * (UNIT_COSTS["gpu_speedup"][0] if device == "cuda" else 1.0)
    return gflop_total / rate / 3600


def _estimate(plan: StudyPlan, params: dict) -> None:
    n = {d: _n_images(d, params) for d in _datasets(params)}
    main = {d: n[d] for d in params.get("datasets", []) if n[d]}
    unknown = [d for d in params.get("datasets", []) if not n[d]]
    if unknown:
        plan.estimates.append(("(size unknown until the tree is there)", float(len(unknown)), "datasets",
                               "left out of every estimate below: " + ", ".join(unknown)))
    dev = plan.device
    gpu_note = "" if dev != "cuda" else f"; GPU at {UNIT_COSTS['gpu_speedup'][0]:.0f}x one CPU thread (assumed)"
    extractors = _extractors(params)
    add = plan.estimates.append
    if extractors:
        gflop = sum(main.values()) * sum(EXTRACTOR_GFLOPS.get(e.split(".")[0], 10.0) for e in extractors)
        add(("time: feature extraction", _hours(gflop, dev), "h",
             f"{sum(main.values()):,} images x {len(extractors)} networks at {UNIT_COSTS['cpu_gflops'][0]} GFLOP/s "
             f"per thread{gpu_note}"))
        taps = len(params.get("layers", ["L3"])) if "extractors" in params else 1
        per = UNIT_COSTS["tap_mb_per_image"][0] if taps > 1 else UNIT_COSTS["l3_mb_per_image"][0]
        disk = sum(main.values()) * len(extractors) * taps * per / 1024
        add(("disk: feature cache", disk, "GB", f"{taps} tap(s) x {per} MB per image and network"))
        add(("host memory: largest feature matrix", max(main.values() or [0]) * per * taps / 1024, "GB",
             "one dataset's taps of one network in memory at a time"))
    if plan.study == "06_clustpy_benchmark":
        epochs = params.get("pretrain_epochs", 100) + params.get("clustering_epochs", 150)
        jobs = len(params.get("seeds", [])) * len(params.get("methods", []))
        image_epochs = sum(main.values()) * epochs * jobs
        hours = image_epochs * UNIT_COSTS["ae_ms_per_image_epoch"][0] / 1000 / 3600
        add(("time: experiment A/B (main table)", hours / (UNIT_COSTS["gpu_speedup"][0] if dev == "cuda" else 1), "h",
             f"{jobs} (method, seed) jobs x {epochs} epochs x {sum(main.values()):,} images at "
             f"{UNIT_COSTS['ae_ms_per_image_epoch'][0]} ms per image-epoch{gpu_note}; other experiments extra"))
    if plan.study in ("04_deepclue", "05_mmdc", "07_dac"):
        est = params.get("estimator_params", {}) or {}
        size = est.get("image_size", 224 if plan.study == "04_deepclue" else 96)
        epochs = (est.get("epochs") or params.get("epochs")  # study 07: iterations in `epochs` (0: the schedule's)
                  or {"04_deepclue": 1000, "05_mmdc": 400, "07_dac": 46}[plan.study])
        seeds = len(params.get("seeds", [0]))
        gflop = sum(main.values()) * seeds * epochs * UNIT_COSTS["resnet_gflops_train"][0] * (size / 224) ** 2
        add(("time: network training", _hours(gflop, dev), "h",
             f"{seeds} seed(s) x {epochs} epochs x {sum(main.values()):,} images, ResNet-size network at {size} px"
             f"{gpu_note}"))
        biggest = max(main, key=main.get) if main else None
        if biggest and plan.study == "04_deepclue":  # the study's own estimate, stage by stage
            from clustlib.studies.deepclue_study import host_memory

            memory = host_memory({**params, "datasets": list(main), "subsets": {**(params.get("subsets") or {}),
                                                                               **main}})
            top = memory.loc[memory["peak_gb"].idxmax()]
            add(("host memory: peak", float(top["peak_gb"]), "GB",
                 f"{top['dataset']}: every dataset's uint8 images plus its largest stage (CC input, layer features "
                 "with PCA's copy, or the pixel baselines; deepclue_study.host_memory)"))
            add(("disk: checkpoints", seeds * len(main) * 0.2, "GB", "about 200 MB per (dataset, seed) network"))
        elif biggest:
            raw = main[biggest] * size * size * 3 / 1e9
            add(("host memory: decoded images (peak)", raw * 9, "GB",
                 f"{biggest}: {main[biggest]:,} images at {size} px as uint8 ({raw:.1f} GB) plus two float32 copies"))
            add(("disk: checkpoints", seeds * len(main) * 0.2, "GB", "about 200 MB per (dataset, seed) network"))


def plan_study(study: str, profile: str, overrides=()) -> StudyPlan:
    """Presence checks and cost estimates of one study on one profile (nothing is loaded or computed)."""
    from importlib import import_module

    from clustlib import profiles
    from clustlib.studies import STUDY_MODULES

    study = profiles.resolve_study(study)
    params = profiles.resolve_params(study, profile, overrides)
    if study in STUDY_MODULES:  # a study module may register its own datasets (06: ClustPy's ImageNetDog)
        import_module(f"clustlib.studies.{STUDY_MODULES[study]}")
    plan = StudyPlan(study, profile, params.get("device", "cpu"))
    _check_inputs(plan, params)
    _estimate(plan, params)
    return plan


def require_inputs(study: str, profile: str, overrides=()) -> None:
    """Raise one :class:`DatasetUnavailable` naming every missing dataset or weight file of a study, and how to
    get each, before any kernel starts."""
    plan = plan_study(study, profile, overrides)
    if plan.missing:
        items = "; ".join(f"{kind} {item}: {detail}" for kind, item, _, detail in plan.missing)
        raise DatasetUnavailable(f"Study {study} ({profile}) cannot start, {len(plan.missing)} input(s) missing: "
                                 f"{items}. 'clustlib plan {study} --profile {profile}' lists what it needs.")


def format_plan(plans: list[StudyPlan]) -> str:
    """The plans as text tables a person reads."""
    import pandas as pd

    if not plans:
        raise InvalidParameter("No study to plan.")
    blocks = []
    for p in plans:
        status = "ready" if not p.missing else f"{len(p.missing)} input(s) MISSING"
        blocks.append(f"== {p.study} [{p.profile}, {p.device}]: {status}")
        checks = pd.DataFrame(p.checks, columns=["kind", "item", "ok", "detail"])
        if len(checks):
            checks["ok"] = np.where(checks["ok"], "ok", "MISSING")
            checks["detail"] = checks["detail"].str.slice(0, 140)
            blocks.append(checks.to_string(index=False))
        if p.estimates:
            est = pd.DataFrame(p.estimates, columns=["estimate", "value", "unit", "assumes"])
            est["value"] = est["value"].map(lambda v: f"{v:,.2f}" if v < 10 else f"{v:,.0f}")
            blocks.append(est.to_string(index=False))
        blocks.append("")
    return "\n".join(blocks)
