"""One figure style, one way to save figures, one way to show them in a notebook, and the plot functions the
studies share.

Plot functions take ``ax=None`` and return the figure; nothing here calls ``plt.show()``. A notebook shows a
figure with :func:`show`, which embeds it as a PNG whatever the backend (``clustlib run`` starts the kernel with
``MPLBACKEND=Agg``, where ``display(fig)`` gives only the text ``<Figure size 640x360 with 1 Axes>``).
"""

from __future__ import annotations

import base64
import io
import sys
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from clustlib._atomic import atomic_path
from clustlib.errors import InvalidParameter
from clustlib.paths import figures_root

__all__ = ["STYLES", "set_style", "apply_style", "save_figure", "show", "PAPER_YLIM", "bar_mean_std", "line_mean_std", "heatmap_table"]

_PNG_DPI = 200
_SHOW_DPI = 110  # a 6.4-inch figure is 700 px wide: readable on a laptop without scrolling
#: y-limits of score charts that draw the paper's values as lines, so a paper value of 1.0 stays off the frame.
PAPER_YLIM = (0.0, 1.05)


def _quiet_tqdm_auto() -> None:
    """Import ``tqdm.auto`` once without its "IProgress not found" warning.

    In a Jupyter kernel without ipywidgets (papermill runs, this project's environment) ``tqdm.auto`` warns on
    import and falls back to text bars; the warning would land in the first cell of every executed notebook.
    Notebooks import this module before any module that uses ``tqdm.auto``.
    """
    if "tqdm.auto" in sys.modules or "ipykernel" not in sys.modules:
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import tqdm.auto  # noqa: F401


_quiet_tqdm_auto()


def set_style(context: str = "paper", font_scale: float = 1.1) -> None:
    """Seaborn whitegrid + colour-blind palette, TrueType fonts in PDFs, reproducible file metadata."""
    sns.set_theme(context=context, style="whitegrid", palette="colorblind", font_scale=font_scale,
                  rc={"pdf.fonttype": 42, "ps.fonttype": 42, "font.family": "DejaVu Sans",
                      "svg.hashsalt": "clustlib", "figure.dpi": 100, "savefig.dpi": _PNG_DPI})


#: Figure styles of ``clustlib figures --style``: seaborn context, font scale, and for ``paper`` the column widths
#: (inches) a figure is fitted to: 3.5 in for one column of a two-column paper, 7.0 in across both.
STYLES = {
    "notebook": {"context": "paper", "font_scale": 1.1, "widths_in": None},
    "paper": {"context": "paper", "font_scale": 0.8, "widths_in": (3.5, 7.0)},
    "slides": {"context": "talk", "font_scale": 1.0, "widths_in": None},
}


def apply_style(style: str = "notebook") -> None:
    """Set one of :data:`STYLES` before drawing (fonts and line widths are fixed when a figure is made)."""
    if style not in STYLES:
        raise InvalidParameter(f"Unknown figure style {style!r}; choose one of {', '.join(STYLES)}.")
    set_style(STYLES[style]["context"], STYLES[style]["font_scale"])


def _fit_to_column(fig, widths_in) -> None:
    """Scale a figure to the narrower paper column that holds its width (height in proportion)."""
    width, height = fig.get_size_inches()
    target = widths_in[0] if width <= 1.5 * widths_in[0] else widths_in[1]
    fig.set_size_inches(target, height * target / width)


def _stamp_profile(fig, profile: str) -> None:
    """Write the profile in the lower right corner of anything not drawn from a ``full`` run."""
    if profile != "full" and not getattr(fig, "_clustlib_stamped", False):
        fig.text(0.995, 0.005, f"profile: {profile}", ha="right", va="bottom", fontsize=6, color="0.45")
        fig._clustlib_stamped = True


def save_figure(fig, name: str, *, study: str, profile: str, root=None, close: bool = True,
                style: str = "notebook") -> list[Path]:
    """Save ``fig`` as ``figures/<profile>/<study>/<name>.png`` and ``.pdf`` (byte-stable metadata).

    A figure of any profile but ``full`` carries its profile in a corner; ``style="paper"`` fits it to a paper
    column (see :data:`STYLES`). Returns the written paths. The figure is closed afterwards unless ``close=False``.
    """
    if style not in STYLES:
        raise InvalidParameter(f"Unknown figure style {style!r}; choose one of {', '.join(STYLES)}.")
    if STYLES[style]["widths_in"]:
        _fit_to_column(fig, STYLES[style]["widths_in"])
    _stamp_profile(fig, profile)
    folder = figures_root(root) / profile / study
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext, metadata in (("png", {"Software": None}),
                          ("pdf", {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None})):
        path = folder / f"{name}.{ext}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, metadata=metadata, dpi=_PNG_DPI)
        paths.append(path)
    if close:
        plt.close(fig)
    return paths


def _figure_text(fig) -> str:
    """A plain-text stand-in for a figure: its titles, e.g. ``Figure: Layer ablation (Tables V-VII), NMI``."""
    titles = [" ".join(t.split()) for t in [fig.get_suptitle(), *(ax.get_title() for ax in fig.axes)] if t]
    return "Figure: " + "; ".join(dict.fromkeys(titles)) if titles else "Figure"


def show(fig, *, close: bool = True, dpi: int = _SHOW_DPI) -> None:
    """Show ``fig`` in the notebook as a PNG image (``image/png`` output), then close it.

    Works with any backend, so executed notebooks carry the figure itself; the plain-text form of the output
    names the figure's titles instead of ``<Figure size ...>``. Saved files come from :func:`save_figure`.
    """
    from IPython.display import display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    display({"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": _figure_text(fig)},
            raw=True)
    if close:
        plt.close(fig)


def _spread_note(frame: pd.DataFrame, keys, spread: str) -> str:
    """What the error bars show: ``"bars: ±1 SD over seeds"``, or that each bar is one value."""
    keys = [k for k in keys if k is not None]
    largest = frame.groupby(keys, dropna=False).size().max() if keys and len(frame) else len(frame)
    if not largest or largest < 2:
        return "one value per bar, no error bar"
    return f"bars: ±1 SD over {spread}"


def _axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def bar_mean_std(frame: pd.DataFrame, *, x: str, y: str = "value", hue: str | None = None, ax=None,
                 title: str = "", ylabel: str | None = None, figsize=(6.4, 3.6), order=None, hue_order=None,
                 spread: str = "seeds", xlabel: str | None = None):
    """Bars of the mean of ``y`` per ``x`` (and ``hue``) with ±1 std error bars over the rows.

    ``spread`` names what the rows of one bar are (``"seeds"``, ``"datasets and algorithms"``); the x-axis label
    says ``bars: ±1 SD over <spread>``, or that each bar is a single value.
    """
    fig, ax = _axes(ax, figsize)
    sns.barplot(data=frame, x=x, y=y, hue=hue, errorbar="sd", ax=ax, order=order, hue_order=hue_order,
                capsize=0.1, err_kws={"linewidth": 1})
    ax.set_title(title)
    ax.set_ylabel(ylabel or y)
    ax.set_xlabel(f"{xlabel if xlabel is not None else x}  ({_spread_note(frame, [x, hue], spread)})")
    if hue is not None and ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize="small")
    ax.tick_params(axis="x", rotation=30)
    return fig


def line_mean_std(frame: pd.DataFrame, *, x: str, mean: str, std: str | None = None, hue: str | None = None,
                  ax=None, title: str = "", ylabel: str | None = None, figsize=(4.8, 3.4), marker: str = "o",
                  spread: str = "seeds", xlabel: str | None = None):
    """Mean of a quantity against ``x`` with a ±std band, one line per ``hue`` value.

    ``spread`` names what the std is over; the x-axis label says ``band: ±1 SD over <spread>``.
    """
    fig, ax = _axes(ax, figsize)
    groups = [(None, frame)] if hue is None else list(frame.groupby(hue, sort=False))
    for label, part in groups:
        part = part.sort_values(x)
        line, = ax.plot(part[x], part[mean], marker=marker, label=label)
        if std is not None:
            ax.fill_between(part[x], part[mean] - part[std], part[mean] + part[std], alpha=0.2,
                            color=line.get_color(), linewidth=0)
    note = ""
    if std is not None:
        varies = frame[std].fillna(0).gt(0).any()
        note = f"  (band: ±1 SD over {spread})" if varies else "  (one value per point, no band)"
    ax.set_xlabel(f"{xlabel if xlabel is not None else x}{note}")
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
