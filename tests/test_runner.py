"""The papermill runner and CLI, on a toy project written into a temporary folder."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import pandas as pd
import pytest

from clustlib import runner

TOY_NOTEBOOK = '''\
# %% [markdown]
# # Toy study used by the runner tests

# %% tags=["parameters"]
profile: str = "interactive"  # set by clustlib run
n: int = 3  # records to write
sleep_s: float = 0.0  # pause after each record, seconds
fail: bool = False  # raise a ClustlibError at the end

# %%
import time
from clustlib import results
from clustlib.errors import InvalidParameter

run = results.start_run("01_toy", profile, {"n": n, "sleep_s": sleep_s, "fail": fail})
for i in range(n):
    run.log(dataset="toy", method="m", seed=i, metrics={"nmi": i / n})
    time.sleep(sleep_s)
if fail:
    raise InvalidParameter("toy failure requested: set fail=False")
run.finish()
'''


@pytest.fixture
def toy_project(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "params" / "01_toy").mkdir(parents=True)
    jupytext.write(jupytext.reads(TOY_NOTEBOOK, fmt="py:percent"), tmp_path / "notebooks" / "01_toy.ipynb")
    (tmp_path / "params" / "01_toy" / "ci.yaml").write_text("n: 2\n")
    (tmp_path / "params" / "01_toy" / "smoke.yaml").write_text("n: 4\n")
    return tmp_path


def _env(project: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLUSTLIB_")}
    env["CLUSTLIB_HOME"] = str(project)
    return env


def _clustlib(project, *args, **kwargs):
    return subprocess.run([sys.executable, "-m", "clustlib.cli", *args], env=_env(project), capture_output=True,
                          text=True, timeout=300, **kwargs)


def test_unknown_parameter_exits_2_before_executing(toy_project):
    out = _clustlib(toy_project, "run", "01_toy", "--profile", "smoke", "--set", "no_such_key=1")
    assert out.returncode == 2
    assert "no_such_key" in out.stderr and "fail, n, sleep_s" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (toy_project / "runs").exists()


@pytest.mark.parametrize("args, needle", [
    (["run", "01_toy", "--set", "n=abc"], "must be of type int"),
    (["run", "01_toy", "--profile", "nope"], "Unknown profile 'nope'"),
    (["run", "no_study"], "Unknown study 'no_study'"),
    (["run", "01_toy", "--set", "profile=x"], "Unknown parameter 'profile'"),
])
def test_bad_input_is_one_clear_paragraph(toy_project, args, needle):
    out = _clustlib(toy_project, *args)
    assert out.returncode == 2 and needle in out.stderr and "Traceback" not in out.stderr


def test_run_writes_run_folder_results_and_skips_identical_rerun(toy_project):
    out = _clustlib(toy_project, "run", "toy", "--profile", "ci", "--quiet")
    assert out.returncode == 0, out.stderr
    run_dirs = list((toy_project / "runs" / "01_toy" / "ci").iterdir())
    assert len(run_dirs) == 1
    names = {p.name for p in run_dirs[0].iterdir()}
    assert {"01_toy.ipynb", "params.json", "env.json", "records.jsonl", "run.json"} <= names
    table = pd.read_csv(toy_project / "results" / "01_toy" / "ci.csv")
    assert len(table) == 2 and set(table["run_id"]) == {run_dirs[0].name}

    start = time.perf_counter()
    again = _clustlib(toy_project, "run", "1", "--profile", "ci", "--quiet")
    assert time.perf_counter() - start < 5
    assert again.returncode == 0 and "skipped" in again.stdout
    assert len(pd.read_csv(toy_project / "results" / "01_toy" / "ci.csv")) == 2

    forced = _clustlib(toy_project, "run", "01_toy", "--profile", "ci", "--set", "n=1", "--quiet")
    assert forced.returncode == 0
    assert len(pd.read_csv(toy_project / "results" / "01_toy" / "ci.csv")) == 3


def test_error_inside_notebook_exits_2_with_message(toy_project):
    out = _clustlib(toy_project, "run", "01_toy", "--profile", "ci", "--set", "fail=true", "--quiet")
    assert out.returncode == 2
    assert "toy failure requested" in out.stderr and "Traceback" not in out.stderr
    assert not (toy_project / "results" / "01_toy" / "ci.csv").exists()


def test_killed_run_leaves_no_partial_results(toy_project):
    proc = subprocess.Popen([sys.executable, "-m", "clustlib.cli", "run", "01_toy", "--profile", "ci", "--set",
                             "n=50", "--set", "sleep_s=0.2", "--quiet"], env=_env(toy_project),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    records = None
    deadline = time.time() + 120
    while time.time() < deadline:
        found = list((toy_project / "runs").glob("01_toy/ci/*/records.jsonl"))
        if found and found[0].read_text().count("\n") >= 2:
            records = found[0]
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert records is not None, "the toy notebook never started writing records"
    assert not (toy_project / "results" / "01_toy" / "ci.csv").exists()
    # the next run is not skipped: the killed one never completed
    out = _clustlib(toy_project, "run", "01_toy", "--profile", "ci", "--quiet")
    assert out.returncode == 0 and "skipped" not in out.stdout
    assert len(pd.read_csv(toy_project / "results" / "01_toy" / "ci.csv")) == 2


def test_cell_timeout_is_a_per_profile_setting_recorded_in_run_json(toy_project):
    from clustlib.errors import InvalidParameter

    assert runner.cell_timeout("full") is None and runner.cell_timeout("paper_cpu") is None  # no cap
    assert runner.cell_timeout("ci") == 900 and runner.cell_timeout("smoke") == 3600
    assert runner.cell_timeout("smoke", 0) is None and runner.cell_timeout("full", 60) == 60
    with pytest.raises(InvalidParameter, match="--timeout"):
        runner.cell_timeout("ci", -1)
    out = _clustlib(toy_project, "run", "01_toy", "--profile", "ci", "--quiet")
    assert out.returncode == 0, out.stderr
    (run_json,) = (toy_project / "runs" / "01_toy" / "ci").glob("*/run.json")
    assert json.loads(run_json.read_text())["cell_timeout_s"] == 900
