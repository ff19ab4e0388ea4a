"""The papermill runner and CLI, on a toy project written into a temporary folder."""

import io
import json
import os
import pty
import select
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
from tqdm.auto import tqdm
from clustlib import results
from clustlib.errors import InvalidParameter

run = results.start_run("01_toy", profile, {"n": n, "sleep_s": sleep_s, "fail": fail})
for i in tqdm(range(n), desc="toy records", disable=run.managed):  # as the studies: bars only interactively
    if run.logged(dataset="toy", method="m", seed=i) is not None:  # finished before an interruption
        continue
    with open(run.run_dir / "computed.txt", "a") as handle:
        handle.write(f"{i}\\n")
    time.sleep(sleep_s)
    run.log(dataset="toy", method="m", seed=i, metrics={"nmi": i / n})
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

    again = _clustlib(toy_project, "run", "1", "--profile", "ci", "--quiet")
    # skipped without starting a kernel: no new run folder, the first run's notebook untouched (how fast the
    # skip is belongs in a benchmark, not here)
    assert again.returncode == 0 and "skipped" in again.stdout
    assert list((toy_project / "runs" / "01_toy" / "ci").iterdir()) == run_dirs
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


def _run_on_a_terminal(project, *args, timeout_s=300) -> str:
    """``clustlib ARGS`` with stdout and stderr on a pseudo-terminal, as in ``make reproduce``; what it showed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "clustlib.cli", *args], env=_env(project), stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave)
    os.close(slave)
    chunks, deadline = [], time.time() + timeout_s
    try:
        while time.time() < deadline:
            if select.select([master], [], [], 1.0)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        proc.kill() if proc.poll() is None else None
        proc.wait(timeout=30)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_live_line_shows_cell_and_kernel_bar_on_a_terminal(toy_project):
    shown = _run_on_a_terminal(toy_project, "run", "01_toy", "--profile", "ci", "--set", "n=6", "--set", "sleep_s=0.4")
    frames = shown.replace("\x1b[K", "").split("\r")
    assert any(f.strip().startswith("cell 4/4 |") and "import time" in f for f in frames), shown
    assert any("toy records 2/6" in f for f in frames), shown  # the kernel's bar, though the notebook disables it
    assert "without encryption" not in shown and "Executing" not in shown and "Traceback" not in shown
    assert "done in" in shown
    (run_dir,) = (toy_project / "runs" / "01_toy" / "ci").iterdir()
    assert not (run_dir / ".progress.json").exists()
    cells = json.loads((run_dir / "01_toy.ipynb").read_text())["cells"]
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("name") == "stderr"], outputs  # no bar debris in the notebook
    assert [c["execution_count"] for c in cells if c["cell_type"] == "code"] == [1, 2, 3]


def test_quiet_run_prints_no_live_line(toy_project):
    out = _clustlib(toy_project, "run", "01_toy", "--profile", "ci", "--quiet")
    assert out.returncode == 0, out.stderr
    assert out.stderr == "", out.stderr  # neither the live line nor a kernel warning


def _fake_run(project: Path, study: str, profile: str, name: str, **info) -> Path:
    folder = project / "runs" / study / profile / name
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(info))
    return folder


def test_eta_comes_from_the_previous_completed_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path / "runs"))
    assert runner._previous_timing("01_toy", "ci", "abc") is None
    _fake_run(tmp_path, "01_toy", "ci", "20260101T000000Z_a", status="ok", params_sha="other", wall_s=50.0)
    _fake_run(tmp_path, "01_toy", "ci", "20260103T000000Z_c", status="failed", params_sha="abc")
    assert runner._previous_timing("01_toy", "ci", "abc") == (50.0, None)  # other parameters, still an estimate
    same = _fake_run(tmp_path, "01_toy", "ci", "20260102T000000Z_b", status="ok", params_sha="abc", wall_s=100.0)
    cells = [{"cell_type": "code", "metadata": {"papermill": {"duration": d}}} for d in (1.0, 60.0, 30.0)]
    (same / "01_toy.ipynb").write_text(json.dumps({"cells": cells}))
    assert runner._previous_timing("01_toy", "ci", "abc") == (100.0, [1.0, 60.0, 30.0])

    bars = tmp_path / "bars.json"
    bars.write_text(json.dumps({"bars": [{"desc": "grid", "n": 1, "total": 4, "unit": "it"},
                                         {"desc": "resnet18 L1", "n": 512, "total": 1000, "unit": "img"}]}))
    stream = io.StringIO()
    live = runner._LiveProgress("01_toy", 3, bars, previous=(100.0, [1.0, 60.0, 30.0]), stream=stream, t0=0.0)
    assert live.line(now=5.0) == "    kernel | 0:05 elapsed, ~1:35 left | grid 1/4 > resnet18 L1 512/1000 img | " \
                                 "starting the kernel"
    live.on_cell_start({"cell_type": "code", "source": "\nfeatures = extract(x)  # (N, D)\nmore()"}, 1)
    live.cell_t0 = 10.0
    line = live.line(now=30.0)  # 20 s into a cell that took 60 s last time, then one of 30 s
    assert line.startswith("    cell 2/3 | 0:30 elapsed, ~1:10 left |") and line.endswith("features = extract(x)  # (N, D)")
    assert "3:20 elapsed, ~0:30 left" in live.line(now=200.0)  # a slow cell leaves the later cells' estimate
    live.on_cell_start({"cell_type": "markdown", "source": "## Compare with the paper"}, 2)
    assert live.line().endswith("| Compare with the paper")
    live.cell_t0 = 200.0
    assert "4:20 elapsed, last run took 1:40" in live.line(now=260.0)
    no_history = runner._LiveProgress("01_toy", 3, tmp_path / "none.json", stream=stream, t0=0.0)
    assert no_history.line(now=65.0) == "    kernel | 1:05 elapsed | starting the kernel"


def test_live_line_without_a_terminal_writes_one_line_per_cell(tmp_path):
    stream = io.StringIO()
    live = runner._LiveProgress("01_toy", 3, tmp_path / "none.json", stream=stream)
    live.on_cell_start({"cell_type": "code", "source": "a = 1"}, 0)
    live.draw()
    live.draw()  # same cell, within _PLAIN_EVERY_S: nothing new
    live.on_cell_start({"cell_type": "code", "source": "b = 2"}, 1)
    live.draw()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].endswith("| a = 1") and lines[1].endswith("| b = 2")
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_kernel_bars_report_to_the_progress_file_and_print_nothing(tmp_path, capsys):
    """What the kernel does with ``$CLUSTLIB_PROGRESS_FILE``, in this process (tqdm.auto restored afterwards)."""
    import tqdm.auto
    import tqdm.autonotebook

    saved = tqdm.auto.tqdm, tqdm.autonotebook.tqdm
    path = tmp_path / "progress.json"
    try:
        runner._install_kernel_progress(path)
        with tqdm.auto.tqdm(total=3, desc="outer", disable=True) as outer:
            for _ in tqdm.auto.trange(2, desc="inner", unit="epoch", disable=True):
                state = json.loads(path.read_text())["bars"]
                assert [b["desc"] for b in state] == ["outer", "inner"]
                assert state[1]["total"] == 2 and state[1]["unit"] == "epoch"
            outer.update(3)
            assert [b["desc"] for b in json.loads(path.read_text())["bars"]] == ["outer"]  # inner closed
        assert json.loads(path.read_text())["bars"] == []
    finally:
        tqdm.auto.tqdm, tqdm.autonotebook.tqdm = saved
    assert capsys.readouterr() == ("", "")


def test_rerun_of_a_killed_run_resumes_it_and_recomputes_no_finished_job(toy_project):
    args = ["run", "01_toy", "--profile", "ci", "--set", "n=12", "--set", "sleep_s=0.3", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "clustlib.cli", *args], env=_env(toy_project),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        found = list((toy_project / "runs").glob("01_toy/ci/*/records.jsonl"))
        if found and found[0].read_text().count("\n") >= 3:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    run_dir = found[0].parent
    finished = {json.loads(line)["seed"] for line in found[0].read_text().splitlines()}
    assert 3 <= len(finished) < 12, "the kill should land mid-run"

    out = _clustlib(toy_project, *args)
    assert out.returncode == 0, out.stderr
    assert "resuming the interrupted run" in out.stdout
    assert list((toy_project / "runs" / "01_toy" / "ci").iterdir()) == [run_dir]  # the same folder, finished
    computed = [int(i) for i in (run_dir / "computed.txt").read_text().split()]
    assert not finished & set(computed[len(finished) + 1:]), "a job finished before the kill ran again"
    table = pd.read_csv(toy_project / "results" / "01_toy" / "ci.csv")
    assert sorted(table["seed"]) == list(range(12))  # every job once, as an uninterrupted run
    assert table.set_index("seed")["value"].to_dict() == {i: i / 12 for i in range(12)}
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "ok" and len(info["resumed_utc"]) == 1
