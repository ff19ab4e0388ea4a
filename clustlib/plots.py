"""One figure style, one way to save figures, and the plot functions the studies share.

Plot functions take ``ax=None`` and return the figure; nothing here calls ``plt.show()``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from clustlib.paths import figures_root

__all__ = ["set_style", "save_figure", "bar_mean_std", "line_mean_std", "heatmap_table"]

_PNG_DPI = 200


def set_style(context: str = "paper", font_scale: float = 1.1) -> None:
    """Seaborn whitegrid + colour-blind palette, TrueType fonts in PDFs, reproducible file metadata."""
    sns.set_theme(context=context, style="whitegrid", palette="colorblind", font_scale=font_scale,
                  rc={"pdf.fonttype": 42, "ps.fonttype": 42, "font.family": "DejaVu Sans",
                      "svg.hashsalt": "clustlib", "figure.dpi": 100, "savefig.dpi": _PNG_DPI})


def save_figure(fig, name: str, *, study: str, profile: str, root=None, close: bool = True) -> list[Path]:
    """Save ``fig`` as ``figures/<profile>/<study>/<name>.png`` and ``.pdf`` (byte-stable metadata).

    Returns the written paths. The figure is closed afterwards unless ``close=False``.
    """
    folder = figures_root(root) / profile / study
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext, metadata in (("png", {"Software": None}),
                          ("pdf", {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None})):
        path = folder / f"{name}.{ext}"
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format=ext, metadata=metadata, dpi=_PNG_DPI)
        tmp.replace(path)
        paths.append(path)
    if close:
        plt.close(fig)
    return paths


def _axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def bar_mean_std(frame: pd.DataFrame, *, x: str, y: str = "value", hue: str | None = None, ax=None,
                 title: str = "", ylabel: str | None = None, figsize=(6.4, 3.6), order=None, hue_order=None):
    """Bars of the mean of ``y`` per ``x`` (and ``hue``) with ±1 std error bars over the rows."""
    fig, ax = _axes(ax, figsize)
    sns.barplot(data=frame, x=x, y=y, hue=hue, errorbar="sd", ax=ax, order=order, hue_order=hue_order,
                capsize=0.1, err_kws={"linewidth": 1})
    ax.set_title(title)
    ax.set_ylabel(ylabel or y)
    if hue is not None and ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize="small")
    ax.tick_params(axis="x", rotation=30)
    return fig


def line_mean_std(frame: pd.DataFrame, *, x: str, mean: str, std: str | None = None, hue: str | None = None,
                  ax=None, title: str = "", ylabel: str | None = None, figsize=(4.8, 3.4), marker: str = "o"):
    """Mean of a quantity against ``x`` with a ±std band, one line per ``hue`` value."""
    fig, ax = _axes(ax, figsize)
    groups = [(None, frame)] if hue is None else list(frame.groupby(hue, sort=False))
    for label, part in groups:
        part = part.sort_values(x)
        line, = ax.plot(part[x], part[mean], marker=marker, label=label)
        if std is not None:
            ax.fill_between(part[x], part[mean] - part[std], part[mean] + part[std], alpha=0.2,
                            color=line.get_color(), linewidth=0)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or mean)
    ax.set_title(title)
    if hue is not None:
        ax.legend(frameon=False, fontsize="small")
    return fig


def heatmap_table(table: pd.DataFrame, *, ax=None, title: str = "", fmt: str = ".2f", cmap: str = "viridis",
                  figsize=(6.4, 4.0)):
    """Annotated heat map of a 2-D table (rows × columns)."""
    fig, ax = _axes(ax, figsize)
    sns.heatmap(table, annot=True, fmt=fmt, cmap=cmap, ax=ax, cbar_kws={"shrink": 0.8})
    ax.set_title(title)
    return fig
