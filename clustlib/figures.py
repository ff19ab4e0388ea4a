"""Save and show a study's figures in its notebook, and redraw them later from the run folder alone.

A study module that draws figures exposes ``draw_figures(run_dir, only=None)``: a generator of ``(name, figure)``
pairs drawn only from what the run folder holds (``records.jsonl``, ``params.json`` and the tables and arrays kept
with :func:`clustlib.results.save_table` / :func:`~clustlib.results.save_arrays`). The notebook calls
:func:`publish` on it; ``clustlib figures`` calls :func:`redraw`, which recomputes nothing.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import matplotlib.pyplot as plt

from clustlib import plots, results
from clustlib.errors import InvalidParameter

__all__ = ["publish", "redraw", "study_module", "redrawable_studies"]


def study_module(study: str):
    """The module of ``clustlib.studies`` behind a study notebook name (``"05_mmdc"``)."""
    from clustlib.studies import STUDY_MODULES

    if study not in STUDY_MODULES:
        raise InvalidParameter(f"Unknown study {study!r}; valid studies: {', '.join(STUDY_MODULES)}.")
    return import_module(f"clustlib.studies.{STUDY_MODULES[study]}")


def redrawable_studies() -> list[str]:
    """Studies whose module has ``draw_figures``."""
    from clustlib.studies import STUDY_MODULES

    return [study for study in STUDY_MODULES if hasattr(study_module(study), "draw_figures")]


def publish(run, figures, *, show: bool = True) -> None:
    """Save every ``(name, figure)`` of ``figures`` under ``figures/<profile>/<study>/`` and show it inline.

    ``run`` is the notebook's :class:`clustlib.results.Run`; ``figures`` usually
    ``study.draw_figures(run.run_dir, only=[...])``. Returns nothing, so a notebook cell ending in it shows only
    the figures (the files are where :func:`clustlib.plots.save_figure` puts them).
    """
    for name, fig in figures:
        plots.save_figure(fig, name, study=run.study, profile=run.profile, close=False)
        if show:
            plots.show(fig)
        else:
            plt.close(fig)


def redraw(study: str, profile: str, *, style: str = "notebook", run_dir=None, root=None) -> list[Path]:
    """Redraw every figure of ``study`` from its newest finished ``profile`` run (or ``run_dir``), in ``style``.

    Writes PNG + PDF like the notebook does and returns the paths; nothing is recomputed.
    """
    module = study_module(study)
    if not hasattr(module, "draw_figures"):
        raise InvalidParameter(f"{study} cannot redraw its figures from a run folder yet (its module has no "
                               "draw_figures); re-run its notebook instead.")
    plots.apply_style(style)
    run_dir = Path(run_dir) if run_dir is not None else results.latest_run_dir(study, profile)
    paths = []
    try:
        for name, fig in module.draw_figures(run_dir):
            paths += plots.save_figure(fig, name, study=study, profile=profile, root=root, style=style)
    finally:
        plots.apply_style("notebook")
    return paths
