"""Executors: in-process and Dask give the same sweep table, survive a killed worker, resume, fail fast."""

import os
import signal
import threading
import time

import numpy as np
import pytest

from clustlib.cluster import sweep_combinations
from clustlib.errors import InvalidParameter, SchedulerUnreachable
from clustlib.parallel import DaskExecutor, InProcessExecutor, ResultStore, make_executor

COLS = ["key", "views", "m", "n_unique", "nmi"]


def _square(spec, offset=0):
    return {"value": spec * spec + offset}


def test_in_process_map_records_threads_and_resumes(tmp_path):
    store = tmp_path / "grid.jsonl"
    out = InProcessExecutor(threads=1).map(_square, [1, 2, 3], store=store, shared={"offset": 1},
                                           progress=False)
    assert [r["value"] for r in out.values()] == [2, 5, 10]
    assert out["1"]["_task"]["threads"]["requested"] == 1
    assert out["1"]["_task"]["threads"]["blas"] in ([1], [])
    again = InProcessExecutor().map(_square, [1, 2, 3, 4], store=store, shared={"offset": 100},
                                    progress=False)
    assert [r["value"] for r in again.values()] == [2, 5, 10, 116]  # 1..3 read back, not rerun
    assert list(ResultStore(store).load()) == ["1", "2", "3", "4"]


def test_duplicate_keys_rejected():
    with pytest.raises(InvalidParameter, match="unique"):
        InProcessExecutor().map(_square, [1, 2, 1], progress=False)


def test_unreachable_scheduler_fails_fast():
    t0 = time.perf_counter()
    with pytest.raises(SchedulerUnreachable, match="tcp://127.0.0.1:9"):
        DaskExecutor(address="tcp://127.0.0.1:9", timeout=2).start()
    assert time.perf_counter() - t0 < 30


def test_bad_executor_arguments():
    with pytest.raises(InvalidParameter):
        make_executor("spark")
    with pytest.raises(InvalidParameter, match="n_workers"):
        DaskExecutor(n_workers=0)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 20, 1500)
    views = np.stack([np.where(rng.random(1500) < 0.2, rng.integers(0, 20, 1500), truth) for _ in range(5)])
    return views, truth


@pytest.fixture(scope="module")
def dask_executor():
    with DaskExecutor(n_workers=2, threads_per_worker=1) as ex:
        yield ex


def test_dask_sweep_equals_in_process(problem, dask_executor, tmp_path):
    views, truth = problem
    local = sweep_combinations(views, 20, labels_true=truth, progress=False)
    remote = sweep_combinations(views, 20, labels_true=truth, executor=dask_executor,
                                store=tmp_path / "s.jsonl", progress=False)
    assert len(remote.table) == 31
    assert remote.table[COLS].equals(local.table[COLS])
    for c in local.labels:
        np.testing.assert_array_equal(remote.labels[c], local.labels[c])
    assert set(remote.table.threads) == {1} and remote.table.pid.nunique() >= 1


def test_dask_sweep_survives_killed_worker(problem, dask_executor, tmp_path):
    views, truth = problem
    store = tmp_path / "killed.jsonl"
    pids = list(dask_executor.client.run(os.getpid).values())
    killed_at = []

    def kill_after_first_result():
        while not (store.exists() and store.read_text().count("\n") >= 1):
            time.sleep(0.005)
        killed_at.append(store.read_text().count("\n"))
        os.kill(pids[0], signal.SIGKILL)

    watcher = threading.Thread(target=kill_after_first_result, daemon=True)
    watcher.start()
    # the reference engine makes each task slow enough (~0.1 s) for the kill to land mid-sweep
    res = sweep_combinations(views, 20, labels_true=truth, engine="reference",
                             executor=dask_executor, store=store, keep_labels=False, progress=False)
    watcher.join(timeout=10)
    assert killed_at and killed_at[0] < 31
    assert len(res.table) == 31 and res.table.nmi.notna().all()
    assert len(ResultStore(store).load()) == 31
