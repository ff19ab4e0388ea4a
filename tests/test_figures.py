"""Figures redrawn from a run folder alone (``clustlib figures``), in each style, with the profile stamped."""

import sys
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from clustlib import figures, plots, results  # noqa: E402
from clustlib.errors import InvalidParameter  # noqa: E402


def _draw_figures(run_dir, only=None):
    """A study's contract: figures drawn only from the run folder's records and artifacts."""
    records = results.read_records(run_dir)
    history = results.load_table(run_dir, "history")
    for name in ["scores", "history"]:
        if only is not None and name not in only:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        if name == "scores":
            ax.bar(records["seed"], records["value"])
        else:
            ax.plot(history["epoch"], history["loss"])
        yield name, fig


@pytest.fixture
def toy_study(isolated_project, monkeypatch):
    module = types.ModuleType("clustlib.studies.toy_figures")
    module.draw_figures = _draw_figures
    monkeypatch.setitem(sys.modules, "clustlib.studies.toy_figures", module)
    from clustlib import studies

    monkeypatch.setitem(studies.STUDY_MODULES, "99_toy", "toy_figures")
    run = results.start_run("99_toy", "smoke", {"n": 2})
    for seed in (0, 1):
        run.log(dataset="d", method="m", seed=seed, metrics={"nmi": 0.5 + seed / 4})
    import pandas as pd

    results.save_table(run.run_dir, "history", pd.DataFrame({"epoch": [1, 2, 3], "loss": [1.0, 0.5, 0.4]}))
    run.finish()
    return run


def test_publish_saves_and_redraw_rewrites_every_figure_without_the_notebook(toy_study, isolated_project):
    assert figures.publish(toy_study, _draw_figures(toy_study.run_dir, only=["scores"]), show=False) is None
    folder = isolated_project / "figures" / "smoke" / "99_toy"
    assert sorted(p.name for p in folder.iterdir()) == ["scores.pdf", "scores.png"]
    paths = figures.redraw("99_toy", "smoke", style="paper")
    assert sorted(p.name for p in paths) == ["history.pdf", "history.png", "scores.pdf", "scores.png"]
    width_px, _ = Image.open(paths[0]).size  # 6.4 in wide fits neither column: across both, 7.0 in at 200 dpi
    assert width_px == 7 * 200
    assert plt.rcParams["font.size"] == pytest.approx(plots.STYLES["notebook"]["font_scale"] * 9.6)  # restored


def test_non_full_figures_carry_their_profile_and_full_ones_do_not(isolated_project):
    smoke, ax = plt.subplots()
    plots.save_figure(smoke, "a", study="99_toy", profile="smoke", close=False)
    assert any(t.get_text() == "profile: smoke" for t in smoke.texts)
    full, ax = plt.subplots()
    plots.save_figure(full, "a", study="99_toy", profile="full", close=False)
    assert not full.texts
    plt.close("all")


def test_redraw_errors_name_the_fix(toy_study, isolated_project):
    with pytest.raises(InvalidParameter, match="choose one of notebook, paper, slides"):
        figures.redraw("99_toy", "smoke", style="poster")
    with pytest.raises(InvalidParameter, match="clustlib run 99_toy --profile ci"):
        figures.redraw("99_toy", "ci")
    with pytest.raises(InvalidParameter, match="Unknown study"):
        figures.redraw("98_nothing", "smoke")
