"""The fidelity ledger: every paper cell some result covers, ours beside the paper's, with a verdict.

Rows come from two kinds of files. Paper-scale evidence (``evidence/<study>/<profile>.csv``, written by
:mod:`clustlib.evidence`, committed) carries its protocol card per row; other profiles' results
(``results/<study>/<profile>.csv``, written by ``clustlib run``) get theirs from the profile's parameters.
A study adapter maps our (dataset, method, setting) onto the paper's cell.

Verdicts
--------
``stand-in``
    the protocol differs from the paper's: another dataset, fewer images or fewer epochs (the reason says
    which); the gap is shown but not judged.
``reproduced``
    same protocol, and |ours mean − paper| ≤ tolerance.
``outside tolerance``
    same protocol, and the gap is larger; ``evidence/INVESTIGATIONS.md`` holds what was checked.
``not run``
    a cell the profile plans whose jobs have not finished yet.

Tolerance rule: 2 points (0.02 on the [0, 1] scale), or the paper's own standard deviation over runs where it
reports one and that is larger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clustlib import paper
from clustlib.errors import InvalidParameter
from clustlib.paths import project_root

__all__ = ["TOLERANCE_POINTS", "LEDGER_COLUMNS", "PaperProtocol", "PAPER_PROTOCOLS", "ledger", "ledger_from_records", "show_ledger", "format_ledger",
           "items", "format_items", "fidelity_markdown", "investigation_anchor", "INVESTIGATIONS_FILE"]

TOLERANCE_POINTS = 2.0
LEDGER_COLUMNS = (
    "paper", "table", "dataset", "method", "setting", "metric", "paper_value", "paper_spread", "ours_mean",
    "ours_std", "n_seeds", "best", "gap_points", "tolerance_points", "verdict", "reason",
    "ours_dataset", "n_images", "paper_n_images", "epochs", "paper_epochs", "n_clusters", "split", "network",
    "precision", "profile", "commit", "time_s", "peak_mem_mb", "cpu", "investigation",
)
INVESTIGATIONS_FILE = "evidence/INVESTIGATIONS.md"


@dataclass(frozen=True)
class PaperProtocol:
    """What the paper did for one table: images per dataset, epochs (``pretrain+clustering``), spread."""

    n_images: dict
    epochs: str  # "" where the methods have no epochs (classical baselines)
    spread: str  # what ``std`` in the paper's table is, or "" if it reports none


PAPER_PROTOCOLS = {
    ("clustpy2023", "II"): PaperProtocol(
        {"optdigits": 5620, "usps": 9298, "mnist": 70000, "fashion_mnist": 70000, "kmnist": 70000,
         "cifar10": 60000, "imagenet10": 13000, "imagenet_dog_clustpy": 2574}, "100+150", "std over 10 runs"),
    ("deepclue2022", "II"): PaperProtocol({"fashion_mnist": 70000, "cifar10": 60000, "cifar100_20": 60000,
                                           "stl10": 13000, "imagenet10": 13000, "tiny_imagenet": 100000}, "", ""),
}
PAPER_PROTOCOLS[("deepclue2022", "III")] = PAPER_PROTOCOLS[("deepclue2022", "IV")] = \
    PAPER_PROTOCOLS[("deepclue2022", "II")]

#: Our dataset -> the paper's dataset it stands in for (never a reproduction).
STAND_INS = {"digits": "optdigits"}


# --- adapters: our tidy rows -> the paper's cells ------------------------------------------------------------

def _clustpy_cells(frame: pd.DataFrame) -> pd.DataFrame:
    from clustlib.studies.clustpy_benchmark import PAPER_METHOD_NAMES

    frame = frame[frame["setting"].astype(str).str.contains("experiment=A,") &
                  frame["setting"].astype(str).str.contains("ae=d-500-500-2000-10")].copy()
    frame["paper"], frame["table"], frame["paper_setting"] = "clustpy2023", "II", "ae=d-500-500-2000-10"
    frame["paper_method"] = frame["method"].map(PAPER_METHOD_NAMES)
    return frame


def _deepclue_cells(frame: pd.DataFrame) -> pd.DataFrame:
    from clustlib.studies import deepclue_study as dc

    names = {dc.METHOD: "DeepCluE", dc.CC_METHOD: "CC", **{k: v[0] for k, v in dc.BASELINES.items()}}
    frame = frame[frame["method"].isin(list(names))].copy()
    frame["paper"], frame["paper_setting"] = "deepclue2022", ""
    frame["table"] = frame["metric"].map({"nmi": "II", "ari": "III", "acc": "IV"})
    frame["paper_method"] = frame["method"].map(names)
    return frame




def _clustpy_as_deepclue_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """DeepCluE Tables II-IV list AE and DEC on Fashion-MNIST (numbers taken from earlier papers, no protocol
    given): the ClustPy benchmark's AE+KMeans and DEC runs on the same 70,000 images fill those cells."""
    frame = frame[frame["method"].isin(["ae_kmeans", "dec"]) &
                  frame["setting"].astype(str).str.contains("experiment=A,")].copy()
    frame["paper"], frame["paper_setting"] = "deepclue2022", ""
    frame["table"] = frame["metric"].map({"nmi": "II", "ari": "III", "acc": "IV"})
    frame["paper_method"] = frame["method"].map({"ae_kmeans": "AE", "dec": "DEC"})
    return frame


#: Study -> the adapters that map its rows onto paper cells (a study's runs may fill several papers' tables).
_ADAPTERS = {"06_clustpy_benchmark": (_clustpy_cells, _clustpy_as_deepclue_cells), "04_deepclue": (_deepclue_cells,)}


def _our_rows(study: str, profile: str, root=None) -> pd.DataFrame:
    """Our per-seed rows of a study and profile, with protocol columns (evidence file, or results + params)."""
    from clustlib import evidence

    ev = evidence.read_evidence(study, profile, root)
    if len(ev):
        return ev
    from clustlib import profiles, results

    frame = results.load_results(study, profile)
    if frame.empty:
        return frame
    try:
        params = profiles.resolve_params(study, profile)
    except Exception:  # noqa: BLE001 - a profile file may have been removed since
        params = {}
    return _with_protocol(frame, profile, params)


def _with_protocol(frame: pd.DataFrame, profile: str, params: dict) -> pd.DataFrame:
    """Tidy records plus the protocol columns a profile's parameters imply (images, epochs, precision)."""
    frame = frame.copy()
    subsets = params.get("subsets", {}) or {}
    frame["n_images"] = frame["dataset"].map(lambda d: subsets.get(d) or _full_size(d))
    epochs = [params.get(k) for k in ("pretrain_epochs", "clustering_epochs") if params.get(k) is not None]
    frame["pretrain_epochs"], frame["clustering_epochs"] = (epochs + [np.nan, np.nan])[:2]
    for column, value in (("n_clusters", np.nan), ("split", "all"), ("network", ""),
                          ("precision", "float32" if params.get("amp", "off") in ("off", "auto") else "bfloat16"),
                          ("threads", params.get("n_threads")), ("cpu", ""), ("commit", frame.get("run_id"))):
        if column not in frame:
            frame[column] = value
    frame["profile"] = profile
    return frame


def _full_size(dataset: str) -> float:
    from clustlib import data

    try:
        splits = data.dataset_info(dataset).get("splits") or {}
    except Exception:  # noqa: BLE001 - an unregistered name has no known size
        return np.nan
    size = splits.get("all") if isinstance(splits, dict) else None
    return float(size) if size is not None else np.nan  # an image tree's size is known only once it is there


def _epochs(row) -> str:
    pre, clu = row.get("pretrain_epochs"), row.get("clustering_epochs")
    if pre is None or (isinstance(pre, float) and np.isnan(pre)):
        return ""
    clu = 0 if clu is None or (isinstance(clu, float) and np.isnan(clu)) else int(clu)
    return f"{int(pre)}+{clu}"


def investigation_anchor(row) -> str:
    """The heading slug of a row's investigation in INVESTIGATIONS.md (GitHub's anchor rules)."""
    title = f"{row['paper']} {row['table']} {row['dataset']} {row['method']} {row['metric']}"
    return re.sub(r"[^a-z0-9 _-]", "", title.lower()).replace(" ", "-")


def _verdict(row, protocol: PaperProtocol | None) -> tuple[str, str]:
    reasons = []
    if row["ours_dataset"] != row["dataset"]:
        reasons.append(f"{row['ours_dataset']} stands in for {row['dataset']}")
    paper_n = row["paper_n_images"]
    if np.isfinite(paper_n) and (not np.isfinite(row["n_images"]) or row["n_images"] < paper_n):
        reasons.append(f"{int(row['n_images']) if np.isfinite(row['n_images']) else '?'} of {int(paper_n)} images")
    if protocol is not None and protocol.epochs and row["epochs"] != protocol.epochs:
        ours = row["epochs"] or "?"
        # AE+KMeans trains no clustering epochs: only its pretraining must match
        if not (row["method"] == "AE+KMeans" and ours.split("+")[0] == protocol.epochs.split("+")[0]):
            reasons.append(f"{ours} epochs instead of {protocol.epochs}")
    if reasons:
        return "stand-in", "; ".join(reasons)
    if not np.isfinite(row["ours_mean"]):
        return "not run", "jobs planned, not finished"
    if abs(row["gap_points"]) <= row["tolerance_points"]:
        return "reproduced", ""
    return "outside tolerance", f"gap {row['gap_points']:+.1f} points > {row['tolerance_points']:.1f}"


def ledger_from_records(study: str, records: pd.DataFrame, profile: str, params: dict) -> pd.DataFrame:
    """The ledger rows of one run, from its records and parameters (a notebook's closing ledger section);
    empty for a study without an adapter."""
    if study not in _ADAPTERS or records.empty:
        return pd.DataFrame(columns=list(LEDGER_COLUMNS))
    return _ledger_rows(study, _with_protocol(records, profile, params), profile)


def show_ledger(study: str, records: pd.DataFrame, profile: str, params: dict) -> None:
    """Display a notebook's ledger section: the covered paper cells with verdicts, or why there are none."""
    from clustlib.findings import show_markdown

    frame = ledger_from_records(study, records, profile, params)
    if study not in _ADAPTERS:
        text = (f"No fidelity adapter maps study {study}'s records onto paper cells yet (studies with one: "
                f"{', '.join(sorted(_ADAPTERS))}); its comparisons with the paper are in the tables above.")
    elif frame.empty:
        text = "None of this run's results covers a paper cell."
    else:
        counts = ", ".join(f"{n} {v}" for v, n in sorted(frame["verdict"].value_counts().items()))
        text = (f"**Fidelity ledger of this run** ({counts}; tolerance {TOLERANCE_POINTS:.0f} points or the paper's SD; "
                f"`clustlib fidelity --profile {profile}` prints it for every run of this profile)\n\n"
                + format_ledger(frame, "md"))
    show_markdown(text)


def ledger(studies=None, profile: str = "paper_cpu", *, root=None, planned: bool = True) -> pd.DataFrame:
    """One row per covered paper cell (columns :data:`LEDGER_COLUMNS`).

    Parameters
    ----------
    studies : sequence of str, optional
        Study names (default: every study with an adapter).
    profile : str
        ``paper_cpu`` reads ``evidence/``; any other profile reads ``results/``.
    planned : bool
        Add ``not run`` rows for evidence jobs the profile plans but has not finished.
    """
    studies = list(studies) if studies else sorted(_ADAPTERS)
    unknown = [s for s in studies if s not in _ADAPTERS]
    if unknown:
        raise InvalidParameter(f"No fidelity adapter for {unknown}; studies with one: {sorted(_ADAPTERS)}.")
    out = []
    for study in studies:
        ours = _our_rows(study, profile, root)
        if planned and profile == "paper_cpu":
            ours = _with_planned(study, profile, ours)
        if ours.empty:
            continue
        out.append(_ledger_rows(study, ours, profile))
    out = [f for f in out if len(f)]
    if not out:
        return pd.DataFrame(columns=list(LEDGER_COLUMNS))
    return pd.concat(out, ignore_index=True)[list(LEDGER_COLUMNS)]


def _ledger_rows(study: str, ours: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Join one study's per-seed rows (with protocol columns) onto the paper's cells."""
    published = paper.load()
    out = []
    cells = pd.concat([adapter(ours) for adapter in _ADAPTERS[study]], ignore_index=True)
    cells = cells[cells["paper_method"].notna() & cells["table"].notna()]
    cells = cells.assign(ours_dataset=cells["dataset"], dataset=cells["dataset"].map(lambda d: STAND_INS.get(d, d)))
    keys = ["paper", "table", "dataset", "paper_method", "paper_setting", "metric"]
    for key, group in cells.groupby(keys, dropna=False, sort=True):
        values = group["value"].astype(float).dropna()
        match = published[(published["paper"] == key[0]) & (published["table"] == key[1]) &
                          (published["dataset"] == key[2]) & (published["method"] == key[3]) &
                          (published["setting"] == key[4]) & (published["metric"] == key[5])]
        if match.empty:
            continue
        protocol = PAPER_PROTOCOLS.get((key[0], key[1]))
        ref = match.iloc[0]
        spread = float(ref["std"]) if pd.notna(ref["std"]) else np.nan
        first = group.iloc[0]
        row = {
            "paper": key[0], "table": key[1], "dataset": key[2], "method": key[3], "setting": key[4],
            "metric": key[5], "paper_value": float(ref["value"]), "paper_spread": spread,
            "ours_mean": values.mean() if len(values) else np.nan,
            "ours_std": values.std(ddof=1) if len(values) > 1 else np.nan, "n_seeds": int(len(values)),
            "best": values.max() if len(values) else np.nan,
            "ours_dataset": first["ours_dataset"],
            "n_images": float(first.get("n_images", np.nan)) if pd.notna(first.get("n_images", np.nan)) else np.nan,
            "paper_n_images": float(protocol.n_images.get(key[2], np.nan)) if protocol else np.nan,
            "epochs": _epochs(first), "paper_epochs": protocol.epochs if protocol else "",
            "n_clusters": first.get("n_clusters"), "split": first.get("split", ""),
            "network": first.get("network", ""), "precision": first.get("precision", ""),
            "profile": profile, "commit": ",".join(sorted({str(c) for c in group.get("commit", pd.Series(dtype=str)).dropna()})),
            "time_s": pd.to_numeric(group.drop_duplicates("seed").get("time_s"), errors="coerce").mean(),
            "peak_mem_mb": pd.to_numeric(group.get("peak_mem_mb"), errors="coerce").max(),
            "cpu": ",".join(sorted({str(c) for c in group.get("cpu", pd.Series(dtype=str)).dropna() if c})),
        }
        row["gap_points"] = 100 * (row["ours_mean"] - row["paper_value"])
        row["tolerance_points"] = max(TOLERANCE_POINTS, 100 * spread if np.isfinite(spread) else 0.0)
        row["verdict"], row["reason"] = _verdict(row, protocol)
        row["investigation"] = (f"{INVESTIGATIONS_FILE}#{investigation_anchor(row)}"
                                if row["verdict"] == "outside tolerance" else "")
        out.append(row)
    return pd.DataFrame(out, columns=list(LEDGER_COLUMNS))


def _with_planned(study: str, profile: str, ours: pd.DataFrame) -> pd.DataFrame:
    """Add NaN-valued rows for planned evidence jobs not in ``ours`` (they become ``not run``)."""
    from clustlib import evidence, profiles

    try:
        params = profiles.resolve_params(study, profile)
        jobs = evidence.plan_jobs(study, params)
    except Exception:  # noqa: BLE001 - no profile or no runner: nothing planned
        return ours
    done = set() if ours.empty else {(r.dataset, r.method, int(r.seed)) for r in ours.itertuples()}
    metrics = ["nmi", "ari", "acc"]
    rows = [{"study": study, "profile": profile, "dataset": j.dataset, "method": j.method, "setting": j.setting,
             "seed": j.seed, "metric": m, "value": np.nan, "n_images": _full_size(j.dataset),
             "pretrain_epochs": j.params.get("pretrain_epochs"), "clustering_epochs": j.params.get("clustering_epochs")}
            for j in jobs if (j.dataset, j.method, j.seed) not in done for m in metrics]
    if not rows:
        return ours
    missing = pd.DataFrame(rows)
    # a method with some finished seeds keeps only those; the planned rows only fill methods with none
    have = set() if ours.empty else set(zip(ours["dataset"], ours["method"]))
    missing = missing[[(d, m) not in have for d, m in zip(missing["dataset"], missing["method"])]]
    if missing.empty:
        return ours
    return pd.concat([ours, missing], ignore_index=True) if len(ours) else missing


# --- output ------------------------------------------------------------------------------------------------

def _pct(value: float) -> str:
    return "" if value is None or not np.isfinite(value) else f"{100 * value:.1f}"


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    """The ledger as people read it: percent, ``mean ± std (n)``, the protocol in one column."""
    def ours(r):
        if not np.isfinite(r.ours_mean):
            return "—"
        sd = f" ± {100 * r.ours_std:.1f}" if np.isfinite(r.ours_std) else ""
        return f"{100 * r.ours_mean:.1f}{sd} (n={r.n_seeds}; best {100 * r.best:.1f})"

    def theirs(r):
        spread = f" ± {100 * r.paper_spread:.1f}" if np.isfinite(r.paper_spread) else ""
        return f"{100 * r.paper_value:.1f}{spread}"

    def protocol(r):
        n = f"{int(r.n_images):,}" if np.isfinite(r.n_images) else "?"
        pn = f"{int(r.paper_n_images):,}" if np.isfinite(r.paper_n_images) else "?"
        parts = [f"{r.ours_dataset}, {n}/{pn} images"]
        if r.epochs or r.paper_epochs:
            parts.append(f"epochs {r.epochs or '—'}/{r.paper_epochs or '—'}")
        parts += [p for p in (r.network, r.precision, r.profile) if isinstance(p, str) and p]
        if np.isfinite(r.time_s):
            parts.append(f"{r.time_s / 60:.0f} min/seed")
        if np.isfinite(r.peak_mem_mb):
            parts.append(f"peak {r.peak_mem_mb / 1024:.1f} GiB")
        if isinstance(r.commit, str) and r.commit:
            parts.append(f"commit {r.commit}")
        return "; ".join(parts)

    def verdict(r):
        v = r.verdict + (f" ({r.reason})" if r.reason else "")
        return f"[{v}]({r.investigation})" if r.investigation else v

    return pd.DataFrame({
        "paper": frame["paper"] + " " + frame["table"], "dataset": frame["dataset"], "method": frame["method"],
        "metric": frame["metric"].str.upper(), "paper value": [theirs(r) for r in frame.itertuples()],
        "ours": [ours(r) for r in frame.itertuples()],
        "gap": [f"{g:+.1f}" if np.isfinite(g) else "" for g in frame["gap_points"]],
        "tol.": [f"{t:.1f}" for t in frame["tolerance_points"]],
        "verdict": [verdict(r) for r in frame.itertuples()],
        "protocol (ours/paper)": [protocol(r) for r in frame.itertuples()],
    })


def format_ledger(frame: pd.DataFrame, fmt: str = "md") -> str:
    """The ledger as Markdown (percent), LaTeX (percent) or CSV (every column, fractions)."""
    if fmt == "csv":
        return frame.to_csv(index=False)
    shown = _display(frame)
    if fmt == "md":
        return shown.to_markdown(index=False) if len(shown) else "(no rows)"
    if fmt == "latex":
        return shown.to_latex(index=False, escape=True)
    raise InvalidParameter(f"format must be md, csv or latex, got {fmt!r}.")


def items() -> pd.DataFrame:
    """Every results table and figure of the five papers with the notebook section and files that reproduce
    it, or ``missing`` (``clustlib/paper_tables/items.csv``)."""
    path = paper.TABLES_DIR / "items.csv"
    if not path.exists():
        raise InvalidParameter(f"The item list {path} is missing; it ships with clustlib.")
    return pd.read_csv(path, keep_default_na=False)


def format_items(frame: pd.DataFrame, fmt: str = "md") -> str:
    """The item list as Markdown, LaTeX or CSV."""
    cols = ["paper", "item", "caption", "study", "section", "outputs", "status", "note"]
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "md":
        return frame[cols].to_markdown(index=False)
    if fmt == "latex":
        return frame[cols].to_latex(index=False, escape=True)
    raise InvalidParameter(f"format must be md, csv or latex, got {fmt!r}.")


def fidelity_markdown(root=None) -> str:
    """The text of FIDELITY.md: the paper-scale ledger from the committed evidence, then the item list."""
    frame = ledger(profile="paper_cpu", root=root)
    counts = frame["verdict"].value_counts().to_dict() if len(frame) else {}
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "no rows"
    lines = [
        "# Fidelity ledger",
        "",
        "Generated by `make fidelity` (`clustlib fidelity --write`) from the committed paper-scale evidence",
        "(`evidence/<study>/paper_cpu.csv`); a test fails when this file is out of date. Do not edit by hand.",
        "",
        f"Tolerance: {TOLERANCE_POINTS:.0f} points, or the paper's own standard deviation where it reports one and it"
        " is larger. Scores in percent. `ours` is mean ± standard deviation over n seeds, with the best run.",
        "",
        f"## Paper-scale cells ({summary})",
        "",
        format_ledger(frame, "md"),
        "",
    ]
    try:
        inventory = items()
    except InvalidParameter:
        inventory = None
    if inventory is not None:
        counts = inventory.groupby("status").size().to_dict()
        lines += [f"## Every results table and figure of the five papers ({len(inventory)} items: "
                  + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ")", "",
                  format_items(inventory, "md"), ""]
    return "\n".join(lines)


def fidelity_path() -> Path:
    return project_root() / "FIDELITY.md"
