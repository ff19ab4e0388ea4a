"""`clustlib run all --lanes N`: chains of studies side by side, each study as it runs alone."""

import os
import subprocess
import sys

import jupytext
import pandas as pd
import pytest

from clustlib import lanes
from clustlib.errors import InvalidParameter

TOY = '''\
# %% tags=["parameters"]
profile: str = "interactive"  # set by clustlib run
n: int = 3  # records to write
views: list = []  # names of feature views (a study that reads the feature cache has some)
fail: bool = False  # raise at the end

# %%
from clustlib import results
from clustlib.errors import InvalidParameter

run = results.start_run("{study}", profile, {{"n": n, "views": views}})
for i in range(n):
    run.log(dataset="toy", method="m", seed=i, metrics={{"nmi": (i + 1) / (n + 1)}})
if fail:
    raise InvalidParameter("toy failure requested: set fail=False")
run.finish()
'''

STUDIES = {"01_feat": "views: [efficientnet_lite0.imagenet:L3]\n", "02_feat": "views: [pixels]\n", "03_alone": "n: 2\n", "04_alone": "n: 4\n",
           "05_alone": "n: 1\n"}


@pytest.fixture
def project(tmp_path, monkeypatch):
    for study, profile in STUDIES.items():
        (tmp_path / "notebooks").mkdir(exist_ok=True)
        (tmp_path / "params" / study).mkdir(parents=True)
        nb = jupytext.reads(TOY.format(study=study), fmt="py:percent")
        jupytext.write(nb, tmp_path / "notebooks" / f"{study}.ipynb")
        (tmp_path / "params" / study / "ci.yaml").write_text(profile)
    monkeypatch.setenv("CLUSTLIB_HOME", str(tmp_path))
    for var in ("CLUSTLIB_RUNS", "CLUSTLIB_RESULTS", "CLUSTLIB_FIGURES", "CLUSTLIB_CACHE", "CLUSTLIB_DATA"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_studies_sharing_the_feature_cache_stay_in_one_lane_in_order(project):
    studies = list(STUDIES)
    chains = lanes.plan_lanes(studies, 2, "ci", walls={})
    assert chains == [["01_feat", "02_feat"], ["03_alone", "04_alone", "05_alone"]]
    three = lanes.plan_lanes(studies, 3, "ci", walls={})
    assert three[0] == ["01_feat", "02_feat"] and sorted(sum(three, [])) == sorted(studies)


def test_previous_wall_times_balance_the_lanes_longest_first(project):
    walls = {"01_feat": 100.0, "02_feat": 50.0, "03_alone": 120.0, "04_alone": 20.0, "05_alone": 25.0}
    chains = lanes.plan_lanes(list(STUDIES), 2, "ci", walls=walls)
    # the chain (150 s) and 03 (120 s) open the two lanes; 05 (25 s), then 04 (20 s) go to the lighter one
    assert chains == [["01_feat", "02_feat"], ["03_alone", "04_alone", "05_alone"]]
    assert lanes.plan_lanes(list(STUDIES), 1, "ci") == [list(STUDIES)]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_a_bad_lane_count_is_refused_before_anything_runs(project, bad):
    with pytest.raises(InvalidParameter, match="--lanes"):
        lanes.plan_lanes(list(STUDIES), bad, "ci")


def _run(project, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLUSTLIB_")}
    env["CLUSTLIB_HOME"] = str(project)
    return subprocess.run([sys.executable, "-m", "clustlib.cli", "run", *args], env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_lanes_run_every_study_with_the_records_it_writes_alone(project):
    out = _run(project, "all", "--profile", "ci", "--lanes", "2", "--quiet")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "lane 1: 01_feat -> 02_feat" in out.stdout and "lane 2: 03_alone -> 04_alone -> 05_alone" in out.stdout
    assert "[lane 2 03_alone]" in out.stdout  # every line says which lane and study it comes from
    laned = {s: pd.read_csv(project / "results" / s / "ci.csv") for s in STUDIES}
    alone = _run(project, "03_alone", "--profile", "ci", "--force", "--quiet")
    assert alone.returncode == 0, alone.stderr
    both = pd.read_csv(project / "results" / "03_alone" / "ci.csv")
    first, second = (both[both.run_id == r].reset_index(drop=True) for r in both.run_id.unique())
    cols = ["dataset", "method", "seed", "metric", "value"]
    pd.testing.assert_frame_equal(first[cols], second[cols])
    assert [len(laned[s]) for s in STUDIES] == [3, 3, 2, 4, 1]  # n records each, one metric


@pytest.mark.slow
def test_failing_studies_fail_the_job_with_their_message(project):
    out = _run(project, "01_feat", "03_alone", "--profile", "ci", "--lanes", "2", "--quiet", "--set", "fail=true")
    assert out.returncode == 1
    assert out.stdout.count("toy failure requested") >= 2, out.stdout  # each lane's error, with its lane
