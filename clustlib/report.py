"""Paste-ready results tables (``clustlib report STUDY``) and the static HTML report of the latest runs
(``make report``, ``clustlib report --html``).

A results table has one row per (dataset, method, setting) and, per metric, our mean ± std over seeds beside the
paper's value where :mod:`clustlib.paper` has one; the best mean per (dataset, metric) is bold. The paper join maps
our names onto the paper's with the study's own name maps (:data:`_PAPER_JOINS`) and a profile's ``stand_ins``,
then calls :func:`clustlib.paper.compare`.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from clustlib import paper, profiles, results
from clustlib.errors import ClustlibError, InvalidParameter
from clustlib.paths import figures_root, project_root, runs_root

__all__ = ["FORMATS", "results_table", "format_table", "study_report", "latest_run", "build_html_report"]

FORMATS = ("md", "latex", "csv")
_KEYS = ["dataset", "method", "setting", "metric"]
_LOWER_IS_BETTER = {"time_s", "time", "seconds", "loss"}  # as results.aggregate's ``best``
_STAND_IN_MARK = "†"


# --- the paper join ---------------------------------------------------------------------------------------------

def _no_setting(setting: str) -> str:
    return ""


def _clustpy_setting(setting: str) -> str:
    """``experiment=H,ae=d-500-500-2000-10,augmentation=affine`` -> ``ae=d-500-500-2000-10,augmentation``
    (ClustPy's tables name the autoencoder, and Table IV only says that augmentation was on)."""
    parts = [p for p in str(setting).split(",") if p and not p.startswith("experiment=")]
    return ",".join("augmentation" if p.startswith("augmentation=") else p for p in parts)


def _dac_setting(setting: str) -> str:
    """``features=dac_label_features`` -> ``dac_label_features`` (Table 3); DAC's script settings -> ``""``."""
    setting = str(setting)
    return setting.split("=", 1)[1] if setting.startswith("features=") else ""


def _paper_architecture(method: str) -> str:
    from clustlib.studies._common import paper_method_name

    return paper_method_name(str(method).split(":")[0])


def _deepclue_method(method: str) -> str:
    from clustlib.studies import deepclue_study as dc

    return {k: v[0] for k, v in dc.BASELINES.items()}.get(method, method)


def _mmdc_method(method: str) -> str:
    from clustlib.studies import mmdc_study

    return mmdc_study.PAPER_METHOD if method == mmdc_study.METHOD else method


def _clustpy_method(method: str) -> str:
    from clustlib.studies.clustpy_benchmark import PAPER_METHOD_NAMES

    return PAPER_METHOD_NAMES.get(method, method)


@dataclass(frozen=True)
class _PaperJoin:
    """How one study's tidy rows meet the paper's tables: the paper's key, the tables searched (first match wins),
    our method and setting mapped onto the paper's labels, and stand-ins used when the profile names none."""

    paper: str
    tables: tuple
    method: Callable[[str], str] = str
    setting: Callable[[str], str] = str
    stand_ins: dict = field(default_factory=dict)


#: Study -> its join; 02_mvec_sweep has none (the paper shows its sweep only as Figure 10).
_PAPER_JOINS = {
    "01_layer_architecture_grid": _PaperJoin("guerin2021", ("A.3", "A.4", "A.5", "A.6"), _paper_architecture),
    "03_mvnet_jule_tables": _PaperJoin("guerin2021", ("B.7", "B.8", "B.9", "B.10"), _paper_architecture,
                                       _no_setting),
    "04_deepclue": _PaperJoin("deepclue2022", ("II", "III", "IV", "V", "VI", "VII"), _deepclue_method, _no_setting),
    "05_mmdc": _PaperJoin("mmdc2021", ("4.3", "4.4", "4.5"), _mmdc_method),
    "06_clustpy_benchmark": _PaperJoin("clustpy2023", ("II", "III", "IV", "V"), _clustpy_method, _clustpy_setting,
                                       {"digits": "optdigits"}),
    "07_dac": _PaperJoin("dac2017", ("2", "3"), str, _dac_setting),
}


def _stand_ins(study: str, profile: str, join: _PaperJoin) -> dict:
    try:
        params = profiles.resolve_params(study, profile)
    except Exception:  # noqa: BLE001 - a profile without a file here (interactive, paper_cpu) names no stand-ins
        params = {}
    named = params.get("stand_ins")
    return dict(join.stand_ins if named is None else named)


def _with_paper(study: str, profile: str, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (``results.aggregate`` output) plus ``paper_dataset, paper_method, paper_setting, paper_table,
    paper, paper_std, delta`` (NaN or ``""`` where the paper publishes no such cell)."""
    out = table.copy()
    join = _PAPER_JOINS.get(study)
    if join is None:
        for column in ("paper_dataset", "paper_method", "paper_setting", "paper_table"):
            out[column] = ""
        out["paper"] = out["paper_std"] = out["delta"] = np.nan
        return out
    stand_ins = _stand_ins(study, profile, join)
    keyed = out[_KEYS + ["mean", "std", "n"]].assign(
        dataset=out["dataset"].map(lambda d: stand_ins.get(d, d)), method=out["method"].map(join.method),
        setting=out["setting"].fillna("").map(join.setting))
    published = pd.concat([paper.load(join.paper, t) for t in join.tables], ignore_index=True)
    published = published.drop_duplicates(_KEYS)  # the first table listed wins (DeepCluE's CC: II, not V)
    side = paper.compare(keyed, published)  # a left join: one row per row of ``keyed``, in its order
    tables = {tuple(k): t for k, t in zip(published[_KEYS].itertuples(index=False), published["table"])}
    out["paper_dataset"], out["paper_method"] = keyed["dataset"].to_numpy(), keyed["method"].to_numpy()
    out["paper_setting"] = keyed["setting"].to_numpy()
    out["paper_table"] = [tables.get(tuple(k), "") for k in keyed[_KEYS].itertuples(index=False)]
    out["paper"], out["paper_std"], out["delta"] = (side[c].to_numpy() for c in ("paper", "paper_std", "delta"))
    return out


def _best_mask(table: pd.DataFrame) -> pd.Series:
    """True where the mean is the best of its (dataset, metric) as displayed (3 decimals; ties all bold)."""
    shown = table["mean"].round(3)
    lower = table["metric"].isin(_LOWER_IS_BETTER)
    signed = shown.where(lower, -shown)  # smaller is better after the sign flip
    best = signed.groupby([table["dataset"], table["metric"]], sort=False).transform("min")
    return (signed == best) & shown.notna()


def results_table(study: str, profile: str = "smoke", *, records: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (dataset, method, setting, metric) of a study's results, with the paper's value beside ours.

    Each seed counts once, with the value of its latest run (``results/`` keeps every completed run).
    Columns: ``study, profile, dataset, method, setting, metric, mean, std, n, best`` (best seed), ``time_s``,
    ``bold`` (best mean of its dataset and metric), ``paper_dataset, paper_method, paper_setting, paper_table,
    paper, paper_std, delta`` (ours − paper; NaN without a published cell). ``records`` defaults to
    ``results/<study>/<profile>.csv``.

    Raises
    ------
    ClustlibError
        No results for the study and profile yet.
    """
    study = profiles.resolve_study(study)
    frame = results.load_results(study, profile) if records is None else records
    if frame.empty:
        raise ClustlibError(f"No results for {study} [{profile}] yet: run 'clustlib run {study} "
                            f"--profile {profile}' first.")
    frame = frame.assign(setting=frame["setting"].fillna("").astype(str))
    # results/ keeps every completed run (--force appends): each seed counts once, with its latest value
    frame = frame.drop_duplicates(["dataset", "method", "setting", "seed", "metric"], keep="last")
    table = results.aggregate(frame)
    table = _with_paper(study, profile, table)
    table["bold"] = _best_mask(table)
    table.insert(0, "profile", profile)
    table.insert(0, "study", study)
    if "time_s" not in table:
        table["time_s"] = np.nan
    return table


# --- formatting -------------------------------------------------------------------------------------------------

def _number(value: float, metric: str) -> str:
    return f"{value:.1f}" if metric in _LOWER_IS_BETTER else f"{value:.3f}"


def _escape_latex(text: str) -> str:
    table = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
             "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(table.get(ch, ch) for ch in str(text))


def _escape_md(text: str) -> str:
    return str(text).replace("|", r"\|").replace("*", r"\*")


@dataclass
class _Cell:
    mean: str = ""
    std: str = ""
    bold: bool = False
    paper: str = ""
    stand_in: bool = False


def _wide(table: pd.DataFrame):
    """Rows (dataset, method, setting, n, {metric: _Cell}), the metrics in order, and whether any paper value."""
    metrics = list(dict.fromkeys(table["metric"]))
    rows: dict = {}
    for r in table.itertuples(index=False):
        key = (r.dataset, r.method, r.setting)
        entry = rows.setdefault(key, {"n": 0, "cells": {}})
        entry["n"] = max(entry["n"], int(r.n))
        cell = _Cell(bold=bool(r.bold))
        if np.isfinite(r.mean):
            cell.mean = _number(r.mean, r.metric)
            cell.std = _number(r.std, r.metric) if int(r.n) > 1 else ""
        if np.isfinite(r.paper):
            cell.paper = _number(r.paper, r.metric) + (
                f" ± {_number(r.paper_std, r.metric)}" if np.isfinite(r.paper_std) else "")
            cell.stand_in = r.paper_dataset != r.dataset
        entry["cells"][r.metric] = cell
    with_paper = {m for m in metrics if table.loc[table["metric"] == m, "paper"].notna().any()}
    return rows, metrics, with_paper


def _caption(study: str, profile: str, table: pd.DataFrame) -> str:
    text = (f"{study} ({profile} profile): mean ± std over seeds (n); bold: the best mean per dataset and metric")
    tables = sorted({t for t in table["paper_table"] if t})
    join = _PAPER_JOINS.get(study)
    if tables and join:
        text += f"; paper: {join.paper}, Table{'s' if len(tables) > 1 else ''} {', '.join(tables)}"
    return text + "."


def _stand_in_note(table: pd.DataFrame) -> str:
    pairs = sorted({(r.dataset, r.paper_dataset) for r in table.itertuples()
                    if np.isfinite(r.paper) and r.paper_dataset != r.dataset})
    if not pairs:
        return ""
    return (f"{_STAND_IN_MARK} the paper's value for " + "; ".join(f"{theirs}, which {ours} stands in for"
                                                                  for ours, theirs in pairs)
            + " (a comparison, not a reproduction).")


@dataclass(frozen=True)
class _Markup:
    """How one output format writes names, bold, ± and the stand-in mark."""

    escape: Callable[[str], str]
    bold: str
    pm: str
    dagger: str
    n: str
    missing: str  # a paper cell the paper does not publish


_MD = _Markup(_escape_md, "**{}**", "±", _STAND_IN_MARK, "n", "")
_LATEX = _Markup(_escape_latex, r"\textbf{{{}}}", r"$\pm$", r"$^\dagger$", "$n$", "--")


def _grid(table: pd.DataFrame, markup: _Markup) -> tuple[list, list, int]:
    """The wide table in one markup: header cells, rows of cells, and how many leading columns are text."""
    rows, metrics, with_paper = _wide(table)
    show_setting = any(s for _, _, s in rows)
    head = ["dataset", "method"] + (["setting"] if show_setting else []) + [markup.n]
    for m in metrics:
        name = markup.escape(m.upper())
        head += [name] + ([f"{name} (paper)"] if m in with_paper else [])
    body = []
    for (dataset, method, setting), entry in rows.items():
        cells = [markup.escape(v) for v in (dataset, method) + ((setting,) if show_setting else ())]
        cells.append(str(entry["n"]))
        for m in metrics:
            c = entry["cells"].get(m, _Cell())
            mean = markup.bold.format(c.mean) if c.bold and c.mean else c.mean
            cells.append(f"{mean} {markup.pm} {c.std}" if c.std else mean)
            if m in with_paper:
                cells.append(c.paper.replace("±", markup.pm) + (markup.dagger if c.stand_in else "") if c.paper
                             else markup.missing)
        body.append(cells)
    return head, body, len(head) - len(metrics) - len(with_paper)


def _format_md(study: str, profile: str, table: pd.DataFrame) -> str:
    head, body, n_text = _grid(table, _MD)
    lines = [f"**{_caption(study, profile, table)}**", "", "| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * n_text + ["---:"] * (len(head) - n_text)) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    note = _stand_in_note(table)
    return "\n".join(lines + ([f"\n{note}"] if note else [])) + "\n"


def _format_latex(study: str, profile: str, table: pd.DataFrame) -> str:
    head, body, n_text = _grid(table, _LATEX)
    spec = "l" * (n_text - 1) + "r" * (len(head) - n_text + 1)  # the n column and the numbers right-aligned
    label = re.sub(r"[^a-z0-9]+", "-", f"{study}-{profile}".lower()).strip("-")
    caption = _escape_latex(_caption(study, profile, table)).replace("±", _LATEX.pm)
    lines = [f"% clustlib report {study} --profile {profile} --format latex; needs \\usepackage{{booktabs}}",
             r"\begin{table}[htbp]", r"\centering", r"\small", f"\\caption{{{caption}}}",
             f"\\label{{tab:{label}}}", f"\\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(head) + r" \\",
             r"\midrule"]
    lines += [" & ".join(cells) + r" \\" for cells in body]
    lines += [r"\bottomrule", r"\end{tabular}"]
    note = _stand_in_note(table)
    if note:
        lines.append(r"\par\smallskip{\footnotesize " + _escape_latex(note).replace(_STAND_IN_MARK, _LATEX.dagger)
                     + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def format_table(table: pd.DataFrame, fmt: str = "md") -> str:
    """A :func:`results_table` as Markdown (GitHub tables), LaTeX (booktabs ``table``) or CSV (every column)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt not in FORMATS:
        raise InvalidParameter(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
    study, profile = table["study"].iloc[0], table["profile"].iloc[0]
    return (_format_md if fmt == "md" else _format_latex)(study, profile, table)


def study_report(study: str, profile: str = "smoke", fmt: str = "md") -> str:
    """``clustlib report STUDY --format FMT``: :func:`results_table` of ``results/`` formatted by
    :func:`format_table`."""
    if fmt not in FORMATS:
        raise InvalidParameter(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
    return format_table(results_table(study, profile), fmt)


# --- the static HTML report -------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1f2328; line-height: 1.45; }
nav { margin-bottom: 1.5rem; font-size: 0.95rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.55rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(20rem, 1fr)); gap: 1rem; }
.gallery figure { margin: 0; border: 1px solid #d0d7de; padding: 0.5rem; background: #fff; }
.gallery img { width: 100%; height: auto; } .gallery figcaption { font-size: 0.85rem; word-break: break-all; }
.status-ok { color: #1a7f37; } .status-failed, .status-running { color: #cf222e; }
"""
_NAV = ('<nav><a href="index.html">Index</a> · <a href="gallery.html">Figures</a> · '
        '<a href="fidelity.html">Fidelity ledger</a></nav>')


def latest_run(study: str, profile: str) -> Path | None:
    """The newest run folder of ``study`` on ``profile`` with an executed notebook, a completed one preferred."""
    folders = [p.parent for p in sorted((runs_root() / study / profile).glob(f"*/{study}.ipynb"), reverse=True)]
    for folder in folders:
        try:
            if json.loads((folder / "run.json").read_text()).get("status") == "ok":
                return folder
        except (OSError, json.JSONDecodeError):
            continue
    return folders[0] if folders else None


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
            f"<body>{_NAV}\n{body}\n</body></html>\n")


def _markdown_html(text: str) -> str:
    """Markdown (GitHub tables) to HTML; relative links point back into the project (the report sits in it)."""
    import mistune

    rendered = mistune.create_markdown(plugins=["table", "strikethrough"])(text)
    return re.sub(r'href="(?!https?:|#|mailto:|/|\.\./)', 'href="../', rendered)


def _notebook_html(notebook: Path, title: str) -> str:
    """An executed notebook as one standalone page, images embedded (nbconvert's lab template)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", embed_images=True)
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4),
                                          resources={"metadata": {"name": title, "path": str(notebook.parent)}})
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + f'<div style="padding:0.5rem 1rem">{_NAV}</div>', body,
                  count=1)


def _run_summary(folder: Path) -> dict:
    try:
        info = json.loads((folder / "run.json").read_text())
    except (OSError, json.JSONDecodeError):
        info = {}
    return {"status": info.get("status", "unknown"), "wall_s": info.get("wall_s"),
            "finished": info.get("finished_utc") or info.get("started_utc") or "", "run": folder.name}


def _gallery(profile: str, out: Path) -> tuple[str, int]:
    """Copy ``figures/<profile>/**/*.png`` under ``out/figures/`` and return the gallery body and the count."""
    source = figures_root() / profile
    pngs = sorted(source.glob("**/*.png")) if source.is_dir() else []
    target = out / "figures"
    if target.exists():
        shutil.rmtree(target)
    sections, current = [], None
    for png in pngs:
        rel = png.relative_to(source)
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, target / rel)
        group = rel.parts[0] if len(rel.parts) > 1 else ""
        if group != current:
            if current is not None:
                sections.append("</div>")
            sections.append(f"<h2>{html.escape(group or profile)}</h2><div class=\"gallery\">")
            current = group
        src = html.escape("figures/" + rel.as_posix())
        sections.append(f'<figure><a href="{src}"><img src="{src}" alt="{html.escape(rel.stem)}" loading="lazy"></a>'
                        f"<figcaption>{html.escape(rel.as_posix())}</figcaption></figure>")
    if current is not None:
        sections.append("</div>")
    body = f"<h1>Figures ({html.escape(profile)} profile)</h1>"
    body += "".join(sections) if pngs else f"<p>No figures under {html.escape(str(source))} yet.</p>"
    return body, len(pngs)


def _fidelity_body(profile: str) -> tuple[str, int]:
    from clustlib import fidelity

    frame = fidelity.ledger(profile=profile, planned=False)
    parts = [f"<h1>Fidelity ledger ({html.escape(profile)} profile)</h1>"]
    if len(frame):
        counts = ", ".join(f"{n} {v}" for v, n in sorted(frame["verdict"].value_counts().items()))
        parts.append(f"<p>{len(frame)} paper cells covered by this profile's results ({html.escape(counts)}); "
                     f"scores in percent, tolerance {fidelity.TOLERANCE_POINTS:.0f} points or the paper's SD.</p>")
        parts.append(_markdown_html(fidelity.format_ledger(frame, "md")))
    else:
        parts.append(f"<p>None of the {html.escape(profile)} results covers a paper cell yet.</p>")
    committed = fidelity.fidelity_path()
    if committed.exists():
        parts.append("<hr><p>The committed paper-scale ledger, <code>FIDELITY.md</code>:</p>")
        parts.append(_markdown_html(committed.read_text()))
    return "\n".join(parts), len(frame)


def build_html_report(profile: str = "smoke", out=None) -> Path:
    """Write the static HTML report of the latest runs of ``profile``; returns ``out/index.html``.

    ``out`` (default ``<project>/report/``, git-ignored) gets one page per study from its latest executed notebook
    (:func:`latest_run`; nbconvert's HTMLExporter, images embedded), ``gallery.html`` with
    ``figures/<profile>/**/*.png`` copied under ``figures/``, ``fidelity.html`` (the profile's fidelity ledger and
    the committed ``FIDELITY.md``) and ``index.html`` linking them.
    """
    out = Path(out) if out is not None else project_root() / "report"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for study in profiles.list_studies():
        folder = latest_run(study, profile)
        page = out / f"{study}.html"
        if folder is None:
            page.unlink(missing_ok=True)
            rows.append(f"<tr><td>{html.escape(study)}</td><td colspan=\"4\">no run on {html.escape(profile)} yet "
                        f"(<code>clustlib run {html.escape(study)} --profile {html.escape(profile)}</code>)</td></tr>")
            continue
        page.write_text(_notebook_html(folder / f"{study}.ipynb", f"{study} ({profile})"), encoding="utf-8")
        info = _run_summary(folder)
        wall = f"{info['wall_s']:.0f} s" if isinstance(info["wall_s"], (int, float)) else ""
        rows.append(f'<tr><td><a href="{html.escape(page.name)}">{html.escape(study)}</a></td>'
                    f'<td class="status-{html.escape(info["status"])}">{html.escape(info["status"])}</td>'
                    f"<td>{html.escape(info['run'])}</td><td>{html.escape(info['finished'])}</td><td>{wall}</td></tr>")
    gallery, n_figures = _gallery(profile, out)
    (out / "gallery.html").write_text(_page(f"Figures ({profile})", gallery), encoding="utf-8")
    ledger_body, n_cells = _fidelity_body(profile)
    (out / "fidelity.html").write_text(_page(f"Fidelity ledger ({profile})", ledger_body), encoding="utf-8")
    body = (f"<h1>clustlib: latest runs ({html.escape(profile)} profile)</h1>"
            "<table><tr><th>study</th><th>status</th><th>run</th><th>finished (UTC)</th><th>wall</th></tr>"
            + "".join(rows) + "</table>"
            f'<p><a href="gallery.html">Figure gallery</a> ({n_figures} figures) · '
            f'<a href="fidelity.html">Fidelity ledger</a> ({n_cells} paper cells from this profile, and '
            "FIDELITY.md)</p>")
    index = out / "index.html"
    index.write_text(_page(f"clustlib report ({profile})", body), encoding="utf-8")
    return index

