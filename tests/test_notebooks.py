"""Static checks of every study notebook, and the harness that runs each on its `ci` profile."""

import ast
import json
import math
import re

import jupytext
import nbformat
import pytest

from clustlib import profiles, results, runner

STUDIES = profiles.list_studies()


def _notebook(study):
    return nbformat.read(profiles.notebook_path(study), as_version=4)


def _parameters_cells(nb):
    return [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]


_FIGURE_CALL = re.compile(r"\bplots\.show\(|\bdisplay\(fig\b")
# Text no reader should meet in an executed notebook: reprs of objects that were meant to be shown otherwise.
_BARE_REPRS = ("PosixPath(", "Empty DataFrame", "<Figure size", "<IPython.core.display.", "<pandas.io.formats.style")


def _output_texts(output) -> list[str]:
    if output.get("output_type") == "stream":
        return [output.get("text", "")]
    data = output.get("data", {})
    return [data[key] for key in ("text/plain", "text/markdown") if key in data]


def _check_executed_notebook(path) -> None:
    """What a reader of the executed notebook sees: every figure as an image, no warning on stderr, no bare repr,
    and a closing cell that states the run's findings."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
        if _FIGURE_CALL.search(cell.source):
            images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            assert images, f"{path.name}: no image from {first_line!r}"
        for output in cell.outputs:
            assert output.get("output_type") != "error", f"{path.name}: error in {first_line!r}"
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                assert "warning" not in output.get("text", "").lower(), f"{path.name}: {output['text'][:300]}"
            for text in _output_texts(output):
                leaked = [r for r in _BARE_REPRS if r in text]
                assert not leaked, f"{path.name}: {leaked} in the output of {first_line!r}: {text[:200]}"
    closing = " ".join(t for o in code[-1].outputs for t in _output_texts(o))
    assert "What this run shows" in closing, f"{path.name}: the last code cell states no findings"


@pytest.mark.parametrize("study", STUDIES)
def test_outputs_stripped_and_one_parameters_cell(study):
    nb = _notebook(study)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    assert len(_parameters_cells(nb)) == 1
    assert nb.metadata.get("kernelspec", {}).get("language") == "python"


@pytest.mark.parametrize("study", STUDIES)
def test_parameters_cell_holds_annotated_literals_only(study):
    tree = ast.parse(_parameters_cells(_notebook(study))[0].source)
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), f"{study}: parameters must be `name: type = literal`"
        ast.literal_eval(node.value)  # raises on anything derived
    assert "profile" in profiles.notebook_parameters(study)


@pytest.mark.parametrize("study", STUDIES)
def test_every_profile_key_is_a_typed_notebook_parameter(study):
    available = sorted(p.stem for p in (profiles.params_dir() / study).glob("*.yaml"))
    assert {"ci", "smoke", "full"} <= set(available)
    for profile in available:
        profiles.resolve_params(study, profile)  # raises ProfileError on an unknown key or a wrong type


@pytest.mark.parametrize("study", STUDIES)
def test_py_percent_twin_in_sync(study):
    twin = profiles.notebooks_dir() / f"{study}.py"
    assert twin.exists(), f"run `make sync` to pair {study}.ipynb with a py:percent twin"
    from_py = jupytext.read(twin)
    ipynb = _notebook(study)
    strip = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
    assert strip(from_py) == strip(ipynb), f"{study}: .py and .ipynb differ; run `make sync`"


@pytest.mark.parametrize("study", STUDIES)
def test_figures_go_through_plots_show(study):
    """Every saved figure is also shown (``plots.show`` embeds it as a PNG under the runner's Agg backend)."""
    for cell in _notebook(study).cells:
        if cell.cell_type == "code" and "plots.save_figure(" in cell.source:
            assert cell.source.count("plots.show(") >= cell.source.count("plots.save_figure("), cell.source[:200]
            assert "display(fig" not in cell.source, "display(fig) shows only <Figure size ...> under Agg"


@pytest.mark.slow
@pytest.mark.parametrize("study", STUDIES)
def test_notebook_runs_on_ci_profile_and_writes_records(study, isolated_project):
    outcome = runner.run_study(study, "ci", progress=False, force=True, timeout_s=900)
    assert outcome.status == "ok"
    frame = results.read_records(outcome.run_dir)
    assert len(frame) > 0 and outcome.n_records == len(frame)
    assert set(frame["study"]) == {study}
    scores = frame[frame["metric"].isin(["nmi", "acc", "ari", "pur", "mix"])]
    assert len(scores) > 0
    assert scores["value"].map(lambda v: math.isfinite(v) and -0.5 <= v <= 1.0 + 1e-9).all()
    env = json.loads((outcome.run_dir / "env.json").read_text())
    assert env["params_sha"] and env["git"]["commit"]
    assert len(results.load_results(study, "ci")) == len(frame)
    if study == "01_layer_architecture_grid":  # the Appendix A BoF rows, joined to the paper's by this setting
        assert set(frame.loc[frame["method"] == "BoF", "setting"]) == {"clustering=KM", "clustering=Agg"}
    _check_executed_notebook(outcome.notebook)
