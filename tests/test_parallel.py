"""Executors: in-process and Dask give the same sweep table, survive a killed worker, resume, fail fast."""

import os
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
    # the work ran in the two worker processes, one thread each, and not in this process
    workers = set(dask_executor.client.run(os.getpid).values())
    assert set(remote.table.threads) == {1}
    assert set(remote.table.pid) <= workers and os.getpid() not in set(remote.table.pid)
    assert remote.table.pid.nunique() == 2
    assert set(local.table.pid) == {os.getpid()}


def test_dask_map_survives_a_worker_killed_mid_task(dask_executor, tmp_path):
    def _die_once(spec, marker):
        """Square ``spec``; the first task 3 to run kills its own worker mid-task (defined here so that it is
        pickled by value for the workers)."""
        from pathlib import Path

        if spec == 3 and not Path(marker).exists():
            Path(marker).touch()
            os._exit(1)  # the worker dies holding this task: Dask must rerun it elsewhere
        return {"value": spec * spec}

    marker, store = tmp_path / "died", tmp_path / "killed.jsonl"
    out = dask_executor.map(_die_once, range(8), store=store, shared={"marker": str(marker)}, progress=False)
    assert marker.exists()  # a worker really died holding task 3
    assert [r["value"] for r in out.values()] == [s * s for s in range(8)]  # equal to the serial answer
    stored = ResultStore(store).load()  # in completion order, every task once
    assert {k: r["value"] for k, r in stored.items()} == {str(s): s * s for s in range(8)}
    serial = InProcessExecutor().map(_square, range(8), progress=False)
    assert [r["value"] for r in serial.values()] == [r["value"] for r in out.values()]


def _lookup(spec, table):
    return {"value": table[spec]}


def test_in_process_on_result_sees_every_task_as_it_completes():
    seen = []
    out = InProcessExecutor().map(_square, [3, 1, 2], progress=False,
                                  on_result=lambda k, r: seen.append((k, r["value"])))
    assert seen == [("3", 9), ("1", 1), ("2", 4)] and list(out) == ["3", "1", "2"]


def test_dask_scatters_a_dict_as_one_object_and_reports_each_result(dask_executor):
    """Two maps share a dict under the same name and with the same keys but other values: each task sees its own."""
    seen = []
    first = dask_executor.map(_lookup, ["a", "b"], shared={"table": {"a": 1, "b": 2}}, progress=False,
                              on_result=lambda k, r: seen.append(k))
    second = dask_executor.map(_lookup, ["a", "b"], shared={"table": {"a": 10, "b": 20}}, progress=False)
    assert [r["value"] for r in first.values()] == [1, 2]
    assert [r["value"] for r in second.values()] == [10, 20]
    assert sorted(seen) == ["a", "b"]
