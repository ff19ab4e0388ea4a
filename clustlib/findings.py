"""What an executed study notebook concludes, and the captions and side-by-side tables it shows on the way.

Each study tests a few claims of its paper, each an *effect*: one method or setting minus another (DeepCluE minus
CC, after minus before refinement, augmentation minus none...). For every claim and dataset of a run,
:func:`deepclue` and its siblings compute our effect from the run's tidy records, seed by seed, and the paper's
from its published tables (:mod:`clustlib.paper`), and say whether the run agrees with the paper's direction.
Nothing here is typed by hand but what each claim is and where the paper states it; every number comes from the
records or the tables.

A notebook's last cell calls ``findings.show(findings.<study>(run.records, profile=profile, params=params))``.
The profile and the data (and which of our datasets stands in for which of the paper's) are named in the
heading, since a ``ci`` or ``smoke`` run is not the paper's setting: there only the direction of an effect is
comparable, not its size.

Scores are fractions in [0, 1] (as Guérin et al., DeepCluE, MMDC and DAC print them); study 06 shows percent,
as ClustPy prints (``scale="percent"``).

Size (~800 lines): one function per study, each short, with the claims it checks; they share the row and heading helpers at the top, so they stay together.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from clustlib import paper, results

__all__ = ["Findings", "DIRECTIONS", "TOLERANCE", "CLUSTPY_STAND_INS", "direction", "format_mean_sd",
           "describe_data", "caption", "run_protocol", "comparison_table", "show_comparison", "show_table",
           "show_markdown",
           "show_data", "show", "layer_grid", "mvec_sweep", "mvnet_tables", "deepclue", "mmdc", "clustpy_benchmark",
           "dac"]

#: The verdicts of :func:`direction`.
DIRECTIONS = ("agrees", "reverses", "no difference here", "paper shows no difference", "not comparable")
#: An effect smaller than this (half a point of a score in [0, 1]) counts as no difference.
TOLERANCE = 0.005
_SCALES = {"fraction": (1.0, 3, ""), "percent": (100.0, 1, " points")}


class Findings(NamedTuple):
    """What :func:`deepclue` and its siblings return.

    Attributes
    ----------
    table : DataFrame
        One row per claim and dataset: ``claim, data, ours_mean, ours_sd, n, ours, paper_value, paper,
        source, direction, note`` (``ours``/``paper`` formatted; values on the notebook's scale).
    markdown : str
        A "What this run shows" heading naming profile and data, then one sentence per row.
    """

    table: pd.DataFrame
    markdown: str


# ----------------------------------------------------------------------------------------------- formatting


def _number(value: float, scale: str, *, signed: bool = False) -> str:
    factor, decimals, _ = _SCALES[scale]
    return f"{value * factor:{'+' if signed else ''}.{decimals}f}"


def format_mean_sd(mean: float, sd: float, n: int, *, scale: str = "fraction", signed: bool = False,
                   over: str | None = "seeds") -> str:
    """``"0.702 ± 0.010 (3 seeds)"``; one value gives ``"0.702 (1 seed)"``; no value gives ``"n/a"``;
    ``over=None`` leaves the count out."""
    if n == 0 or mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    spread = "" if n < 2 or sd is None or math.isnan(sd) else f" ± {_number(sd, scale)}"
    if over is None:
        return f"{_number(mean, scale, signed=signed)}{spread}"
    unit = over[:-1] if n == 1 and over.endswith("s") else over
    return f"{_number(mean, scale, signed=signed)}{spread} ({n} {unit})"


def direction(ours: float, paper_sign: float | None, *, tolerance: float = TOLERANCE) -> str:
    """Our effect against the paper's: ``"agrees"`` (same sign), ``"reverses"``, ``"no difference here"`` (ours
    within ``tolerance`` of 0), ``"paper shows no difference"``, or ``"not comparable"`` (either is missing).

    ``paper_sign`` is the paper's effect (or just its sign, +1/-1, where the paper states a direction without a
    number); its magnitude matters only against ``tolerance``.
    """
    if ours is None or paper_sign is None or math.isnan(ours) or math.isnan(paper_sign):
        return "not comparable"
    ours_s = 0 if abs(ours) < tolerance else np.sign(ours)
    paper_s = 0 if abs(paper_sign) < tolerance else np.sign(paper_sign)
    if paper_s == 0:
        return "agrees" if ours_s == 0 else "paper shows no difference"
    if ours_s == 0:
        return "no difference here"
    return "agrees" if ours_s == paper_s else "reverses"


def describe_data(datasets, subsets: dict | None = None, stand_ins: dict | None = None) -> str:
    """``"200 digits images (a stand-in for mnist)"``, one phrase per dataset, joined by "and"."""
    subsets, stand_ins = dict(subsets or {}), dict(stand_ins or {})
    phrases = []
    for name in datasets:
        phrase = f"{subsets[name]:,} {name} images" if subsets.get(name) else f"{name} (all images)"
        if stand_ins.get(name) and stand_ins[name] != name:
            phrase += f" as a stand-in for {stand_ins[name]}"
        phrases.append(phrase)
    return " and ".join(phrases)


def _seeds(seeds) -> str:
    seeds = list(seeds)
    return f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} ({', '.join(map(str, seeds))})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _arguments(arguments: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in arguments.items())


def _short(extractor: str) -> str:
    return extractor.split(".")[0]


#: Dataset stand-ins a study applies whatever the profile: scikit-learn's digits is the test part of Optdigits.
CLUSTPY_STAND_INS = {"digits": "optdigits"}


def _setup(study: str, params: dict) -> tuple[str, dict]:
    """The run's data and budget in words, and its stand-ins, from the notebook's parameters."""
    p = params
    stand_ins = dict(p.get("stand_ins") or {})
    if study.startswith("01"):
        text = (f"{describe_data(p['datasets'], p.get('subsets'))}; {', '.join(map(_short, p['extractors']))} at "
                f"{', '.join(p['layers'])}; {' and '.join(p['algorithms'])}; seed {p['seed']}")
    elif study.startswith("02"):
        text = (f"{describe_data(p['datasets'], p.get('subsets'))}; {len(p['views'])} views "
                f"({2 ** len(p['views']) - 1} combinations), {p.get('base_algorithm', 'agglomerative')} base "
                f"clusterings; seed {p['seed']}")
    elif study.startswith("03"):
        jule = p.get("jule_params") or {}
        text = (f"{describe_data(p['datasets'], p.get('subsets'))}; {len(p['views'])} views "
                f"({', '.join(p['views'])})" + (f"; JULE with {_arguments(jule)}" if jule else "")
                + f"; seed {p['seed']}")
    elif study.startswith("04"):
        e = p.get("estimator_params") or {}
        text = (f"{describe_data(p['datasets'], p.get('subsets'))}; CC with a {e.get('backbone', 'resnet34')} at "
                f"{e.get('image_size', 224)} px, {_count(e.get('epochs', 1000), 'epoch')} of batch "
                f"{e.get('batch_size', 256)}; "
                f"{p.get('clusterings_per_layer', 5)} base clusterings per layer; {_seeds(p['seeds'])}")
    elif study.startswith("05"):
        e = p.get("estimator_params") or {}
        epochs = _count(e["epochs"], "epoch") if "epochs" in e else "the README's epochs"
        text = (f"{describe_data(p['datasets'], p.get('subsets'), stand_ins)}; MMDC with {epochs}"
                + (f", refinement from epoch {e['refine_epoch']}" if "refine_epoch" in e else "")
                + f"; {_seeds(p['seeds'])}")
    elif study.startswith("06"):
        stand_ins = dict(CLUSTPY_STAND_INS)
        used = sorted(set(p["datasets"]) | set(p.get("experiment_datasets", [])))
        text = (f"{describe_data(used, p.get('subsets'), stand_ins)}; {p['pretrain_epochs']} pretraining + "
                f"{p['clustering_epochs']} clustering epochs; {_seeds(p['seeds'])}")
    elif study.startswith("07"):
        nets = p.get("networks") or {}
        epochs = _count(p["epochs"], "epoch") if p.get("epochs") else "the scripts' epochs"
        networks = ", ".join(f"{net} on {name}" for name, net in nets.items())
        text = (f"{describe_data(p['datasets'], p.get('subsets'), stand_ins)}; "
                + (f"ALL-ConvNet {networks}, " if nets else "the scripts' networks, ") + f"{epochs}; "
                f"{' and '.join(p.get('variants', []))}; {_seeds(p['seeds'])}")
    else:
        text = describe_data(p.get("datasets", []), p.get("subsets"), stand_ins)
    return text, stand_ins


_SETTINGS = {"full": "the paper's setting", "interactive": "parameters as set in the notebook"}


def caption(study: str, profile: str, params: dict, what: str = "") -> str:
    """``"<what>. Profile `ci` (not the paper's setting): 200 digits images ...; 1 seed (0)."``"""
    text, _ = _setup(study, params)
    setting = _SETTINGS.get(profile, "not the paper's setting")
    return (f"{what}. " if what else "") + f"Profile `{profile}` ({setting}): {text}."


#: The paper's epoch budget per study, as :func:`run_protocol` words it (studies without one are not listed).
_PAPER_EPOCHS = {"03": "20 per JULE period", "06": "100+150"}


def run_protocol(study: str, params: dict) -> dict:
    """What a run's rows were computed on, for the marker column of :func:`comparison_table`: ``subsets`` (our
    dataset -> images drawn), ``epochs`` and ``paper_epochs`` (words, "" where the study has no epochs).

    Study 03 counts JULE's epochs per period (JULE.torch and the paper: 20), study 06 pretraining + clustering
    epochs (the benchmark: 100+150); a notebook passes another ``epochs`` for an experiment with its own (06 I).
    """
    key = study[:2]
    epochs = ""
    if key == "03":
        epochs = f"{(params.get('jule_params') or {}).get('epochs_per_period', 20)} per JULE period"
    elif key == "06":
        epochs = f"{params['pretrain_epochs']}+{params['clustering_epochs']}"
    return {"subsets": dict(params.get("subsets") or {}), "epochs": epochs, "paper_epochs": _PAPER_EPOCHS.get(key, "")}


def _paper_size(dataset: str) -> float:
    """Images the papers use of ``dataset``: its ``paper_n_samples`` (Flowers 400, UMist 564) or all of it."""
    from clustlib import data

    try:
        info = data.dataset_info(dataset)
    except Exception:  # noqa: BLE001 - folder: trees and unknown names have no known size
        return math.nan
    size = info.get("paper_n_samples") or (info.get("splits") or {}).get("all")
    return float(size) if size else math.nan


def _protocol_mark(ours_dataset: str, paper_dataset: str, protocol: dict) -> str:
    """``"stand-in data; subset: 2,000 of 70,000 images; epochs 20+15 (paper 100+150)"``, or ``"—"``."""
    marks = []
    if ours_dataset != paper_dataset:
        marks.append("stand-in data")
    n = (protocol.get("subsets") or {}).get(ours_dataset)
    full = _paper_size(ours_dataset)
    if n and not (math.isfinite(full) and n >= full):
        marks.append(f"subset: {n:,} of {int(full):,} images" if math.isfinite(full) else f"subset: {n:,} images")
    epochs, paper_epochs = protocol.get("epochs", ""), protocol.get("paper_epochs", "")
    if epochs and paper_epochs and epochs.replace(" ", "") != paper_epochs.replace(" ", ""):
        marks.append(f"epochs {epochs} (paper {paper_epochs})")
    return "; ".join(marks) or "—"


# ----------------------------------------------------------------------------------------------- display


def show_markdown(text: str) -> None:
    """Display Markdown whose plain-text form is the same text (not ``<IPython.core.display.Markdown object>``)."""
    from IPython.display import display

    display({"text/markdown": text, "text/plain": text}, raw=True)


def show_table(frame: pd.DataFrame | None, title: str, *, empty: str) -> None:
    """A bold caption and ``frame``; or, when it has no rows, the sentence ``empty`` saying why."""
    from IPython.display import display

    if frame is None or len(frame) == 0:
        print(empty)
        return
    show_markdown(f"**{title}**")
    display(frame)


def comparison_table(side: pd.DataFrame, *, scale: str = "fraction", paper_spread: str = "SD",
                     protocol: dict | None = None) -> pd.DataFrame:
    """A ``compare_with_paper`` frame for reading: ``data`` (ours, and the paper's dataset where ours stands in for
    it), ``method``, ``setting``, ``metric``, ``ours mean ± SD (n seeds)``, ``paper`` and ``ours − paper``.

    ``paper_spread`` names what the paper's ± is (MMDC prints the standard error: ``"SE"``). With ``protocol``
    (:func:`run_protocol`) a column ``ours run on`` marks, row by row, what is not the paper's: stand-in data, a
    subset (``"subset: 2,000 of 70,000 images"``), fewer epochs; ``"—"`` where nothing is.
    """
    out = pd.DataFrame(index=side.index)
    ours_data = side["ours_dataset"] if "ours_dataset" in side else side["dataset"]
    out["data"] = [o if o == d else f"{o} (stand-in for {d})" for o, d in zip(ours_data, side["dataset"])]
    if protocol is not None:
        out["ours run on"] = [_protocol_mark(o, d, protocol) for o, d in zip(ours_data, side["dataset"])]
    out["method"] = side["method"]
    if "setting" in side and side["setting"].fillna("").astype(bool).any():
        out["setting"] = side["setting"].fillna("")
    out["metric"] = side["metric"].str.upper()
    out["ours mean ± SD (n seeds)"] = [format_mean_sd(m, s, int(n), scale=scale)
                                       for m, s, n in zip(side["ours_mean"], side["ours_std"], side["n"])]
    paper_std = side["paper_std"] if "paper_std" in side else pd.Series(math.nan, index=side.index)
    out[f"paper (± {paper_spread})" if paper_std.notna().any() else "paper"] = [
        _number(v, scale) + ("" if pd.isna(s) else f" ± {_number(s, scale)}")
        for v, s in zip(side["paper"], paper_std)]
    out["ours − paper"] = [_number(d, scale, signed=True) for d in side["delta"]]
    for column, label in (("ours_time_s", "ours time (s)"), ("paper_time_s", "paper time (s)")):
        if column in side:
            out[label] = side[column].round(2)
    return out.reset_index(drop=True)


def show_comparison(side: pd.DataFrame, title: str, *, datasets, paper_name: str, tables, scale: str = "fraction",
                    stand_ins: dict | None = None, paper_spread: str = "SD", also_needed: str = "",
                    protocol: dict | None = None) -> None:
    """Show :func:`comparison_table` of ``side`` under ``title``, or one sentence saying why it is empty: the
    run's datasets (through ``stand_ins``) against the ones the paper's ``tables`` hold. ``protocol``
    (:func:`run_protocol`) adds the per-row marker column."""
    stand_ins = dict(stand_ins or {})
    published = pd.concat([paper.load(paper_name, t) for t in tables], ignore_index=True)
    theirs = sorted(set(published["dataset"]))
    missing = [f"{d} (as {stand_ins[d]})" if stand_ins.get(d) else d for d in datasets
               if stand_ins.get(d, d) not in theirs]
    label = ("" if str(tables[0]).startswith("Figure") else "Table ") + ", ".join(tables) if len(tables) < 3 \
        else f"Tables {tables[0]}–{tables[-1]}"
    if missing:
        reason = (f"No row to compare with {label}: this run's data ({', '.join(missing)}) is not among the "
                  f"paper's ({', '.join(theirs)})" + (f", or {also_needed}" if also_needed else "") + ".")
    else:
        reason = f"No row to compare with {label}: {also_needed or 'no method or setting of this run is in it'}."
    show_table(None if side is None or len(side) == 0 else comparison_table(side, scale=scale,
                                                                             paper_spread=paper_spread,
                                                                             protocol=protocol),
               title, empty=reason)


def show_data(imagesets: dict) -> None:
    """One line per loaded dataset: name, images, shape, classes, fingerprint."""
    for name, imageset in imagesets.items():
        shape = "×".join(map(str, imageset.image_shape))
        print(f"{name}: {len(imageset):,} images of {shape}, {imageset.n_classes} classes "
              f"(fingerprint {imageset.fingerprint[:12]})")


def show(findings: Findings, run_dir=None) -> None:
    """Display the findings (heading, sentences, then the table) and where the run's files are."""
    from IPython.display import display

    text = findings.markdown
    if run_dir is not None:
        text += f"\n\nRecords, parameters and environment of this run: `{run_dir}`."
    show_markdown(text)
    if len(findings.table):
        display(findings.table[["claim", "data", "ours", "paper", "source", "direction"]])


# ----------------------------------------------------------------------------------------------- claims


def _stats(values) -> tuple[float, float, int]:
    values = pd.Series(values, dtype=float).dropna()
    n = len(values)
    return (float(values.mean()) if n else math.nan, float(values.std(ddof=1)) if n > 1 else math.nan, n)


def _paper_for(per_dataset: pd.Series, dataset: str) -> tuple[float, str]:
    """The paper's effect on ``dataset`` if it has it, else its mean over the datasets it has."""
    per_dataset = per_dataset.dropna()
    if not len(per_dataset):
        return math.nan, ""
    if dataset in per_dataset.index:
        return float(per_dataset[dataset]), dataset
    positive = int((per_dataset > 0).sum())
    return float(per_dataset.mean()), f"mean of {len(per_dataset)} datasets, {positive} positive"


def _row(claim: str, data: str, ours, paper_value: float, source: str, *, scale: str = "fraction",
         over: str = "seeds", paper_sign: float | None = None, paper_text: str | None = None,
         note: str = "") -> dict:
    """One claim on one dataset; ``ours`` holds our effect per seed (or per cell, ``over``)."""
    mean, sd, n = _stats(ours)
    sign = paper_value if paper_sign is None else paper_sign
    verdict = direction(mean, sign)
    if verdict == "not comparable" and not note:
        note = "not run in this profile" if n == 0 else "the paper gives no value"
    return {"claim": claim, "data": data, "ours_mean": mean, "ours_sd": sd, "n": n,
            "ours": format_mean_sd(mean, sd, n, scale=scale, signed=True, over=over),
            "paper_value": paper_value,
            "paper": paper_text if paper_text is not None else
            ("n/a" if math.isnan(paper_value) else _number(paper_value, scale, signed=True)),
            "source": source, "direction": verdict, "note": note}


_COLUMNS = ["claim", "data", "ours_mean", "ours_sd", "n", "ours", "paper_value", "paper", "source", "direction",
            "note"]


def _findings(rows: list[dict], study: str, profile: str, params: dict, *, scale: str = "fraction",
              lead: str = "") -> Findings:
    table = pd.DataFrame(rows, columns=_COLUMNS)
    setup, _ = _setup(study, params)
    unit = "percentage points" if scale == "percent" else "fractions of 1 (0.01 is one point)"
    budget = _SETTINGS.get(profile, "not the paper's setting, so only the direction of each effect is compared, "
                                    "not its size")
    lines = [f"### What this run shows", "",
             f"Profile `{profile}` ({budget}): {setup}. Effects are ours − baseline, in {unit}; ours is a mean "
             f"± SD, with what it is over in brackets. {lead}".rstrip(), ""]
    for row in table.itertuples(index=False):
        if row.direction == "not comparable":
            lines.append(f"- {row.claim} on {row.data}: not comparable ({row.note}); paper {row.paper} "
                         f"({row.source}).")
        else:
            verdict = {"agrees": "agrees with the paper", "reverses": "the reverse of the paper",
                       "no difference here": "no difference in this run",
                       "paper shows no difference": "the paper shows no difference"}[row.direction]
            lines.append(f"- {row.claim} on {row.data}: ours {row.ours}, paper {row.paper} ({row.source}): "
                         f"{verdict}.")
    counts = table["direction"].value_counts()
    tested = int(counts.drop("not comparable", errors="ignore").sum())
    lines += ["", f"{int(counts.get('agrees', 0))} of {tested} comparable effects agree with the paper's direction"
              + (f"; {int(counts['not comparable'])} not comparable in this profile." if counts.get(
                  "not comparable") else ".")]
    return Findings(table, "\n".join(lines))


def _with_setting(records: pd.DataFrame, metric: str) -> pd.DataFrame:
    frame = records[records["metric"] == metric].copy()
    parsed = frame["setting"].map(results.parse_setting)
    keys = sorted({k for p in parsed for k in p})
    for key in keys:
        frame[f"s_{key}"] = parsed.map(lambda p, key=key: p.get(key))
    return frame


def _per_seed(frame: pd.DataFrame, column: str, index=("dataset", "seed")) -> pd.DataFrame:
    """``value`` as a wide table: one row per ``index``, one column per value of ``column``."""
    if not len(frame):
        return pd.DataFrame()
    return frame.pivot_table(index=list(index), columns=column, values="value", aggfunc="mean")


def _data_label(dataset: str, stand_ins: dict) -> str:
    return f"{dataset} (as {stand_ins[dataset]})" if stand_ins.get(dataset) else dataset


def _difference(wide: pd.DataFrame, dataset: str, a: str, b: str) -> pd.Series:
    """``a − b`` per seed on ``dataset`` (empty where either was not run)."""
    if wide.empty or a not in wide.columns or b not in wide.columns or dataset not in wide.index.get_level_values(0):
        return pd.Series(dtype=float)
    part = wide.xs(dataset, level=0)
    return (part[a] - part[b]).dropna()


# 01 ------------------------------------------------------------------------------------------------------


def _guerin_layers() -> pd.DataFrame:
    frame = pd.concat([paper.load("guerin2021", t, metric="nmi") for t in ("A.3", "A.4", "A.5", "A.6")])
    parsed = frame["setting"].map(results.parse_setting)
    frame = frame.assign(layer=parsed.map(lambda p: p.get("layer")),
                         clustering=parsed.map(lambda p: p.get("clustering")))
    frame = frame[frame["layer"].notna()]
    return frame.pivot_table(index=["dataset", "method", "clustering"], columns="layer", values="value")


def _guerin_bof_gap() -> pd.Series:
    """Per dataset with a BoF row: the paper's BoF NMI − its five CNNs' mean L3 NMI, averaged over KM and Agg."""
    frame = pd.concat([paper.load("guerin2021", t, metric="nmi") for t in ("A.3", "A.4", "A.5", "A.6")])
    parsed = frame["setting"].map(results.parse_setting)
    frame = frame.assign(layer=parsed.map(lambda p: p.get("layer")),
                         clustering=parsed.map(lambda p: p.get("clustering")))
    bof = frame[frame["method"] == "BoF"].groupby(["dataset", "clustering"])["value"].mean()
    cnn = frame[frame["layer"] == "L3"].groupby(["dataset", "clustering"])["value"].mean()
    return (bof - cnn).dropna().groupby(level="dataset").mean()


def layer_grid(records: pd.DataFrame, *, profile: str, params: dict) -> Findings:
    """Study 01 (Guérin et al., Section 3.2.1): "only the last layer before softmax (L3) should be considered":
    NMI of L3 minus L1 and minus L2, per (network, algorithm) pair, against Tables A.3–A.6; and (Appendix A) the
    BoF rows' NMI minus the CNNs' mean L3 NMI, per algorithm, on each dataset of ``bof_datasets``."""
    study = "01_layer_architecture_grid"
    frame = _with_setting(records, "nmi")
    frame = frame[frame["method"] != "pixels"]
    ours = frame.pivot_table(index=["dataset", "method", "s_clustering"], columns="s_layer", values="value") \
        if "s_layer" in frame and len(frame) else pd.DataFrame()
    published = _guerin_layers()
    rows = []
    for dataset in params["datasets"]:
        for other in ("L1", "L2"):
            paper_effect = (published["L3"] - published[other]).groupby(level="dataset").mean()
            value, where = _paper_for(paper_effect, dataset)
            if dataset not in paper_effect.index:
                cells = published[["L3", other]].dropna()
                where = f"mean of {len(cells)} network × algorithm cells on 8 datasets, " \
                        f"{int((cells['L3'] > cells[other]).sum())} with L3 ahead"
            effect = pd.Series(dtype=float)
            if not ours.empty and {"L3", other} <= set(ours.columns) and dataset in ours.index.get_level_values(0):
                part = ours.xs(dataset, level=0)
                effect = (part["L3"] - part[other]).dropna()
            rows.append(_row(f"NMI of L3 − {other}", dataset, effect, value, f"Tables A.3–A.6, {where}",
                             over="network × algorithm pairs",
                             note="" if len(effect) else f"layer {other} or L3 not in this run"))
    bof_gap = _guerin_bof_gap()
    for dataset in params.get("bof_datasets") or []:
        part = frame[frame["dataset"] == dataset]
        bof = part[part["method"] == "BoF"].groupby("s_clustering")["value"].mean()
        cnn = part[part["s_layer"] == "L3"].groupby("s_clustering")["value"].mean() if "s_layer" in part \
            else pd.Series(dtype=float)
        effect = (bof - cnn).dropna()
        value, where = _paper_for(bof_gap, dataset)
        rows.append(_row("NMI of BoF − CNN L3 (mean over networks)", dataset, effect, value,
                         f"Tables A.3–A.6 BoF rows, {where}", over="algorithms",
                         note="" if len(effect) else "BoF or L3 not in this run"))
    return _findings(rows, study, profile, params,
                     lead="The paper keeps only L3 from Section 3.2.1 on.")


# 02 ------------------------------------------------------------------------------------------------------


_GUERIN_SINGLE = ("VGG16", "VGG19", "Inception", "Xception", "Resnet50", "Densenet121", "Densenet169",
                  "Densenet201", "Nasnet", "InceptionResnet")


def _guerin_b(metric: str = "mix") -> pd.DataFrame:
    """Tables B.7–B.10 as dataset × method, ``metric`` (MIX = (NMI + PUR + ACC) / 3 where all three exist)."""
    frame = pd.concat([paper.load("guerin2021", t) for t in ("B.7", "B.8", "B.9", "B.10")])
    wide = frame.pivot_table(index=["dataset", "method"], columns="metric", values="value")
    if metric == "mix":
        wide["mix"] = wide[["nmi", "pur", "acc"]].mean(axis=1, skipna=False)
    return wide[metric].unstack("method")


def mvec_sweep(records: pd.DataFrame, *, profile: str, params: dict) -> Findings:
    """Study 02 (Guérin et al., Section 4.4, Figure 10; Tables B.7–B.10): the all-view MVEC against the best single
    view, and the NMI's mean and spread against the number of views m."""
    study = "02_mvec_sweep"
    frame = _with_setting(records, "nmi")
    frame["m"] = pd.to_numeric(frame.get("s_m"), errors="coerce")
    b = _guerin_b("nmi")
    paper_all = (b["MVEC"] - b[list(_GUERIN_SINGLE)].max(axis=1)).dropna()
    figure_10 = "Figure 10, all 4 datasets; no numbers printed"
    rows = []
    for dataset in params["datasets"]:
        part = frame[frame["dataset"] == dataset]
        by_seed = {seed: grp for seed, grp in part.groupby("seed")}
        m_max = int(part["m"].max()) if len(part) else 0

        def effect(fn):
            return pd.Series({seed: fn(grp) for seed, grp in by_seed.items()}, dtype=float).dropna()

        def mean_at(grp, m):
            return grp.loc[grp["m"] == m, "value"].mean()

        value, where = _paper_for(paper_all, dataset)
        rows.append(_row(f"NMI of MVEC over all {m_max} views − the best single view", dataset,
                         effect(lambda g: mean_at(g, m_max) - g.loc[g["m"] == 1, "value"].max()), value,
                         f"Tables B.7–B.10, MVEC over ten CNNs − best CNN, {where}"))
        rows.append(_row("mean NMI at m = 2 − at m = 1 (two views do worse than one)", dataset,
                         effect(lambda g: mean_at(g, 2) - mean_at(g, 1)), math.nan, figure_10, paper_sign=-1,
                         paper_text="< 0"))
        rows.append(_row(f"mean NMI at m = {m_max} − at m = 1 (more views, better on average)", dataset,
                         effect(lambda g: mean_at(g, m_max) - mean_at(g, 1)), math.nan, figure_10, paper_sign=1,
                         paper_text="> 0"))
        if m_max > 2:
            rows.append(_row(f"SD of NMI at m = {m_max - 1} − at m = 1 (more views, less spread)", dataset,
                             effect(lambda g: g.loc[g["m"] == m_max - 1, "value"].std()
                                    - g.loc[g["m"] == 1, "value"].std()),
                             math.nan, figure_10, paper_sign=-1, paper_text="< 0"))
    return _findings(rows, study, profile, params)


# 03 ------------------------------------------------------------------------------------------------------


_MULTI_VIEW = ("CC", "MVnet_fix", "MVnet", "MVEC", "MVEC_jule", "MVSC", "MVSC_jule", "RMKKM", "RMKKM_jule")


def _guerin_lnet(mix: pd.DataFrame) -> pd.Series:
    """The paper's LNet per dataset (eq. 11): the CNN with the best mean MIX over the other datasets."""
    singles = mix[list(_GUERIN_SINGLE)].dropna()
    out = {}
    for dataset in singles.index:
        leader = singles.drop(index=dataset).mean().idxmax()
        out[dataset] = singles.loc[dataset, leader]
    return pd.Series(out)


def mvnet_tables(records: pd.DataFrame, *, profile: str, params: dict) -> Findings:
    """Study 03 (Guérin et al., Section 6.3, Figures 11–14, Tables B.7–B.10): MIX of the multi-view methods against
    the single networks (BNet, the best; LNet, the leader on the other datasets) and MVnet against CC."""
    study = "03_mvnet_jule_tables"
    wide = _per_seed(records[records["metric"] == "mix"], "method")
    mix = _guerin_b("mix")
    multi_cols = [m for m in _MULTI_VIEW if m in mix.columns]
    bnet = mix[list(_GUERIN_SINGLE)].max(axis=1)
    paper_effects = {
        "best multi-view": (mix[multi_cols].max(axis=1) - bnet).dropna(),
        "MVnet − BNet": (mix["MVnet"] - bnet).dropna(),
        "MVnet − LNet": (mix["MVnet"] - _guerin_lnet(mix)).dropna(),
        "MVnet − CC": (mix["MVnet"] - mix["CC"]).dropna(),
    }
    ours_multi = [m for m in _MULTI_VIEW if not wide.empty and m in wide.columns]
    rows = []
    for dataset in params["datasets"]:
        if not wide.empty and ours_multi and dataset in wide.index.get_level_values(0):
            part = wide.xs(dataset, level=0)
            best = (part[ours_multi].max(axis=1) - part["BNet"]).dropna() if "BNet" in part else pd.Series(dtype=float)
        else:
            best = pd.Series(dtype=float)
        value, where = _paper_for(paper_effects["best multi-view"], dataset)
        rows.append(_row("MIX of the best multi-view method − BNet (the best single network)", dataset, best, value,
                         f"Tables B.7–B.10, {where}"))
        for label, baseline in (("BNet", "BNet"), ("LNet (the leader on the other datasets)", "LNet"), ("CC", "CC")):
            value, where = _paper_for(paper_effects[f"MVnet − {baseline}"], dataset)
            effect = _difference(wide, dataset, "MVnet", baseline)
            note = "LNet needs at least two datasets in the run" if baseline == "LNet" and not len(effect) else ""
            rows.append(_row(f"MIX of MVnet − {label}", dataset, effect, value, f"Tables B.7–B.10, {where}",
                             note=note))
    return _findings(rows, study, profile, params,
                     lead="MIX = (NMI + PUR + ACC) / 3; the paper's LNet is recomputed from its tables by eq. 11.")


# 04 ------------------------------------------------------------------------------------------------------


def deepclue(records: pd.DataFrame, *, profile: str, params: dict) -> Findings:
    """Study 04 (DeepCluE, Tables II, IV, V and Figures 3–8): the multi-layer ensemble against CC's own labels, the
    last layer of g_I and the unweighted ensemble, and the largest ensemble size against the smallest."""
    study = "04_deepclue"
    claims = [("nmi", "DeepCluE", "CC", "NMI of DeepCluE − CC", ("II",), "deepclue2022"),
              ("acc", "DeepCluE", "CC", "ACC of DeepCluE − CC", ("IV",), "deepclue2022"),
              ("nmi", "DeepCluE", "Using last layer of g_I", "NMI of multiple layers − the last layer of g_I",
               ("V",), "deepclue2022")]
    rows = []
    for dataset in params["datasets"]:
        for metric, a, b, label, tables, key in claims:
            published = pd.concat([paper.load(key, t, metric=metric) for t in tables])
            if tables == ("V",):
                a_paper, b_paper = "Using multiple layers", b
            else:
                a_paper, b_paper = a, b
            pw = published.pivot_table(index="dataset", columns="method", values="value")
            value, where = _paper_for(pw[a_paper] - pw[b_paper], dataset)
            wide = _per_seed(records[records["metric"] == metric], "method")
            rows.append(_row(label, dataset, _difference(wide, dataset, a, b), value,
                             f"Table {tables[0]}, {where}"))
        wide = _per_seed(records[records["metric"] == "nmi"], "method")
        rows.append(_row("NMI of the entropy-weighted − the unweighted ensemble", dataset,
                         _difference(wide, dataset, "DeepCluE", "DeepCluE unweighted"), math.nan,
                         "Figures 3–5, \"consistently outperforms\"; no numbers printed", paper_sign=1,
                         paper_text="> 0"))
        sizes = records[(records["method"] == "DeepCluE ensemble size") & (records["metric"] == "nmi")]
        sizes = sizes.assign(M=sizes["setting"].map(lambda s: int(results.parse_setting(s).get("M", 0))))
        by_m = _per_seed(sizes, "M")
        ours = pd.Series(dtype=float)
        if not by_m.empty and by_m.shape[1] > 1 and dataset in by_m.index.get_level_values(0):
            ours = _difference(by_m, dataset, by_m.columns.max(), by_m.columns.min())
        span = f" (M = {by_m.columns.min()} to {by_m.columns.max()})" if by_m.shape[1] > 1 else ""
        rows.append(_row(f"NMI at the largest − the smallest ensemble size{span}", dataset, ours, math.nan,
                         "Figures 6–8, \"a relative larger ensemble size can often be beneficial\"; no numbers "
                         "printed", paper_sign=1, paper_text="> 0 (typically)",
                         note="" if len(ours) else "no ensemble-size sweep in this profile"))
    return _findings(rows, study, profile, params)


# 05 ------------------------------------------------------------------------------------------------------


def mmdc(records: pd.DataFrame, *, profile: str, params: dict) -> Findings:
    """Study 05 (MMDC, Tables 4.3 and 4.5): the refinement stage's gain, and the Sobel filter's and the rotation
    task's gains in the ablation."""
    study = "05_mmdc"
    stand_ins = dict(params.get("stand_ins") or {})
    frame = _with_setting(records, "acc")
    wide = _per_seed(frame, "setting")
    t45 = paper.load("mmdc2021", "4.5", metric="acc").pivot_table(index="dataset", columns="setting", values="value")
    t43 = paper.load("mmdc2021", "4.3", metric="acc").set_index("setting")["value"]
    rows = []
    for dataset in params["datasets"]:
        label, target = _data_label(dataset, stand_ins), stand_ins.get(dataset, dataset)
        value, where = _paper_for(t45["after_refinement"] - t45["before_refinement"], target)
        rows.append(_row("ACC after − before the refinement stage", label,
                         _difference(wide, dataset, "after_refinement", "before_refinement"), value,
                         f"Table 4.5, {where}",
                         note="" if params.get("refinement", True) else "refinement=False in this profile"))
        for rotation in (0, 1):
            on, off = f"sobel=1,rotation={rotation}", f"sobel=0,rotation={rotation}"
            rows.append(_row(f"ACC with − without the Sobel filter (rotation {'on' if rotation else 'off'})", label,
                             _difference(wide, dataset, on, off), float(t43[on] - t43[off]),
                             "Table 4.3, CIFAR-10, its only dataset",
                             note="" if on in wide.columns and off in wide.columns else
                             "this setting pair was not run; rotation needs the ResNet18"))
        on, off = "sobel=0,rotation=1", "sobel=0,rotation=0"
        rows.append(_row("ACC with − without the rotation task (no Sobel)", label,
                         _difference(wide, dataset, on, off), float(t43[on] - t43[off]),
                         "Table 4.3, CIFAR-10, its only dataset",
                         note="" if on in wide.columns and off in wide.columns else
                         "this setting pair was not run; rotation needs the ResNet18"))
    rows += _mmdc_features(records, params, stand_ins)
    return _findings(rows, study, profile, params)


def _mmdc_features(records: pd.DataFrame, params: dict, stand_ins: dict) -> list[dict]:
    """Table 4.4: MMDC's penultimate layer against the baselines', by the linear probe (against RotNet) and by
    k-means NMI (against NAT), per seed."""
    t44 = paper.load("mmdc2021", "4.4")
    baselines = list(params.get("baselines") or [])
    rows = []
    for dataset in params.get("feature_datasets") or []:
        label, target = _data_label(dataset, stand_ins), stand_ins.get(dataset, dataset)
        for metric, setting, other, text in (("linear_acc", "linear", "RotNet", "linear-probe ACC"),
                                             ("nmi", "kmeans", "NAT", "k-means NMI")):
            published = t44[(t44["metric"] == metric) & (t44["setting"] == setting)].pivot_table(
                index="dataset", columns="method", values="value")
            value, where = _paper_for(published["Ours"] - published[other], target)
            part = records[(records["metric"] == metric) & (records["setting"] == setting)]
            wide = _per_seed(part, "method")
            rows.append(_row(f"{text} on the penultimate layer, Ours − {other}", label,
                             _difference(wide, dataset, "MMDC", other), value, f"Table 4.4, {where}",
                             note="" if other in baselines else f"{other} was not run in this profile"))
    return rows


# 06 ------------------------------------------------------------------------------------------------------


_CLUSTPY_NAMES = {"ae_kmeans": "AE+KMeans", "dec": "DEC", "idec": "IDEC", "dcn": "DCN", "dipencoder": "DipEncoder",
                  "acedec": "ACe/DeC"}


def _clustpy_acc(table: str) -> pd.DataFrame:
    return paper.load("clustpy2023", table, metric="acc").pivot_table(index="dataset", columns="method",
                                                                         values="value")


def clustpy_benchmark(records: pd.DataFrame, *, profile: str, params: dict) -> Findings:
    """Study 06 (ClustPy benchmark, Tables II–V): augmentation (H), the small autoencoder (C) and the ResNet18
    autoencoder (I) against the main table (A), each averaged over the methods both ran, and DEC against
    AE+KMeans; ACC in percentage points, digits standing in for Optdigits."""
    study = "06_clustpy_benchmark"
    stand_ins = dict(CLUSTPY_STAND_INS)
    frame = _with_setting(records, "acc")
    frame = frame[frame.get("s_experiment", pd.Series(index=frame.index, dtype=object)).isin(list("ACHI"))]
    frame = frame.assign(paper_method=frame["method"].map(_CLUSTPY_NAMES))
    rows = []
    for dataset in sorted(set(params["datasets"]) | set(params.get("experiment_datasets", []))):
        label, target = _data_label(dataset, stand_ins), stand_ins.get(dataset, dataset)
        part = frame[frame["dataset"] == dataset]
        wide = part.pivot_table(index="seed", columns=["s_experiment", "paper_method"], values="value") \
            if len(part) else pd.DataFrame()
        for experiment, table, label_text in (("H", "IV", "with − without augmentation"),
                                              ("C", "III", "small (d-512-256-128-10) − large autoencoder"),
                                              ("I", "V", "ResNet18 convolutional − feed-forward autoencoder")):
            published = _clustpy_acc(table) - _clustpy_acc("II")
            ran = set() if wide.empty else set(wide.columns.get_level_values(0))
            methods = sorted(set(wide[experiment].columns) & set(wide["A"].columns)) if {experiment, "A"} <= ran \
                else []
            effect = (wide[experiment][methods] - wide["A"][methods]).mean(axis=1).dropna() if methods else \
                pd.Series(dtype=float)
            paper_effect = published[methods].mean(axis=1) if methods else published.mean(axis=1)
            value, where = _paper_for(paper_effect, target)
            rows.append(_row(f"ACC {label_text}, mean over {', '.join(methods) or 'the methods'}", label, effect,
                             value, f"Table {table} − Table II, {where}", scale="percent",
                             note="" if methods else f"experiment {experiment} or A not run on {dataset}"))
        t2 = _clustpy_acc("II")
        value, where = _paper_for(t2["DEC"] - t2["AE+KMeans"], target)
        effect = (wide["A"]["DEC"] - wide["A"]["AE+KMeans"]).dropna() if not wide.empty and "A" in \
            wide.columns.get_level_values(0) and {"DEC", "AE+KMeans"} <= set(wide["A"].columns) else \
            pd.Series(dtype=float)
        rows.append(_row("ACC of DEC − AE+KMeans (main table)", label, effect, value, f"Table II, {where}",
                         scale="percent"))
    return _findings(rows, study, profile, params, scale="percent",
                     lead="digits is scikit-learn's 1,797-image test part of Optdigits (the paper's has 5,620).")


# 07 ------------------------------------------------------------------------------------------------------


def dac(records: pd.DataFrame, *, profile: str, params: dict) -> Findings:
    """Study 07 (DAC, Tables 2 and 3): DAC (two thresholds) against DAC* (one), and k-means on the learned label
    features against the network's own argmax."""
    study = "07_dac"
    stand_ins = dict(params.get("stand_ins") or {})
    frame = records[records["metric"] == "acc"]
    own = frame[frame["method"].isin(["DAC", "DAC*"])]
    wide = _per_seed(own, "method")
    t2 = paper.load("dac2017", "2", metric="acc").pivot_table(index="dataset", columns="method", values="value")
    t3 = paper.load("dac2017", "3", metric="acc").pivot_table(index="dataset", columns="method", values="value")
    rows = []
    for dataset in params["datasets"]:
        label, target = _data_label(dataset, stand_ins), stand_ins.get(dataset, dataset)
        value, where = _paper_for(t2["DAC"] - t2["DAC*"], target)
        rows.append(_row("ACC of DAC − DAC*", label, _difference(wide, dataset, "DAC", "DAC*"), value,
                         f"Table 2, {where}",
                         note="" if {"DAC", "DAC*"} <= set(wide.columns) else "only one variant ran in this profile"))
        value, where = _paper_for(t3["K-means"] - t3["DAC"], target)
        variants = [v for v in ("DAC", "DAC*") if v in set(own["method"])]
        effect, whose = pd.Series(dtype=float), "DAC"
        if variants:
            whose = variants[0]
            features = f"{'dac' if whose == 'DAC' else 'dac_star'}_label_features"
            km = frame[(frame["method"] == "K-means") & (frame["setting"] == f"features={features}")
                       & (frame["dataset"] == dataset)].set_index("seed")["value"]
            mine = own[(own["method"] == whose) & (own["dataset"] == dataset)].set_index("seed")["value"]
            effect = (km - mine).dropna()
        rows.append(_row(f"ACC of K-means on {whose}'s label features − its argmax", label, effect, value,
                         f"Table 3 − Table 2 (DAC's features), {where}",
                         note="" if len(effect) else "K-means on the label features not run"))
        baselines = frame[frame["setting"].str.startswith("input=") & (frame["dataset"] == dataset)]
        best = t2.drop(columns=["DAC", "DAC*"]).max(axis=1)
        value, where = _paper_for(t2["DAC"] - best, target)
        effect = pd.Series(dtype=float)
        if len(baselines) and "DAC" in set(own["method"]):
            mine = own[(own["method"] == "DAC") & (own["dataset"] == dataset)].set_index("seed")["value"]
            effect = mine - baselines.groupby("method")["value"].mean().max()
        rows.append(_row("ACC of DAC − the best rerun Table 2 baseline", label, effect, value,
                         f"Table 2 (DAC − its best baseline), {where}",
                         note="" if len(effect) else "Table 2 baselines or DAC not run"))
    rows += _dac_sweep_rows(records)
    return _findings(rows, study, profile, params)


def _dac_sweep_rows(records: pd.DataFrame) -> list[dict]:
    """Figures 5-7 of DAC: DAC above the other methods on imbalanced data (mean over r), its ACC falling as K grows
    and rising as N grows (largest minus smallest point); the paper states the directions (Sec. 5.6), no values."""
    from clustlib.studies.dac_study import SWEEPS, sweep_table

    claims = {"imbalance": ("ACC of DAC − the best other method, mean over retention rates", 1.0,
                            "DAC above the others", "Figure 5"),
              "clusters": ("ACC of DAC at the largest K − at the smallest", -1.0, "falls as K grows", "Figure 6"),
              "samples": ("ACC of DAC at the largest N − at the smallest", 1.0, "rises with N", "Figure 7")}
    rows = []
    for sweep, (claim, sign, text, source) in claims.items():
        table = sweep_table(records, sweep)
        for dataset in dict.fromkeys(table["dataset"]):
            part = table[table["dataset"] == dataset].groupby(["method", "value"])["acc"].mean().unstack("method")
            if "DAC" not in part.columns:
                continue
            if sweep == "imbalance":
                others = part.drop(columns=["DAC"])
                effect = (part["DAC"] - others.max(axis=1)).dropna() if len(others.columns) else pd.Series(dtype=float)
                over = "retention rates"
            else:
                dac_acc = part["DAC"].dropna().sort_index()
                effect = pd.Series([dac_acc.iloc[-1] - dac_acc.iloc[0]]) if len(dac_acc) > 1 else pd.Series(dtype=float)
                over = "difference"
            rows.append(_row(claim, f"{dataset} ({SWEEPS[sweep][1]})", effect, math.nan, f"{source} (Sec. 5.6)",
                             over=over, paper_sign=sign, paper_text=text))
    return rows
