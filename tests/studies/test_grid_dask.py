"""A study's ci profile with its jobs on a Dask LocalCluster of 2 worker processes logs the serial run's records:
the same keys in the same order, bit-equal values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clustlib import results, runner

#: The cheapest study with several jobs per grid (2 MMDC networks, 3 Table 4.4 baselines, 5 Figure 4.1 cells).
STUDY = "05_mmdc"
KEY = ["study", "dataset", "method", "setting", "seed", "metric"]


def _pids(run_dir) -> list[int]:
    return [json.loads(line)["pid"] for line in (run_dir / "jobs.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_ci_profile_on_two_dask_workers_logs_the_serial_records(isolated_project):
    serial = runner.run_study(STUDY, "ci", progress=False, force=True)
    on_dask = runner.run_study(STUDY, "ci", ["scheduler=local"], progress=False, force=True)
    assert serial.status == on_dask.status == "ok"
    before, after = (results.read_records(o.run_dir) for o in (serial, on_dask))
    assert len(before) > 20
    assert before[KEY].equals(after[KEY])  # the same records in the same (job) order
    a, b = before["value"].to_numpy(), after["value"].to_numpy()
    assert np.array_equal(a, b, equal_nan=True)  # bit-equal
    assert list(before["note"]) == list(after["note"])
    # the jobs really ran in two worker processes, one thread each, not in the notebook's kernel
    assert len(set(_pids(serial.run_dir))) == 1
    workers = set(_pids(on_dask.run_dir))
    assert len(workers) == 2 and not workers & set(_pids(serial.run_dir))
    threads = [json.loads(line)["threads"] for line in (on_dask.run_dir / "jobs.jsonl").read_text().splitlines()]
    assert set(threads) == {1}
