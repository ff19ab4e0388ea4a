"""The studies' job runner (clustlib.studies._grid): job-order logging whatever order jobs finish in, resume from the
run folder, checkpoint paths, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from clustlib import results
from clustlib.errors import InvalidParameter
from clustlib.parallel import InProcessExecutor
from clustlib.studies._grid import Job, JobContext, check_scheduler, open_executor, run_jobs


def _square(job, ctx, *, offset=0):
    """A job whose score is (seed + offset)^2 / 100, with one extra record and one table."""
    value = (job.seed + offset) ** 2 / 100
    return {"logs": [dict(metrics={"nmi": value, "acc": 1 - value}, time_s=0.5 + job.seed, note=f"s{job.seed}"),
                     dict(method=job.method + " twice", metrics={"nmi": 2 * value})],
            "tables": {"rows": pd.DataFrame([{"seed": job.seed, "value": value}])},
            "value": {"checkpoint": ctx.checkpoint_path}}


def _refuse(job, ctx, **shared):
    raise AssertionError(f"job {job.key} ran again; it was logged")


class _ReversedExecutor(InProcessExecutor):
    """Runs every task, then reports them in reverse order (a cluster where the last job finishes first)."""

    def map(self, fn, specs, *, key=str, shared=None, on_result=None, **kwargs):
        done = [(key(s), dict(fn(s, **(shared or {})))) for s in specs]
        for k, res in reversed(done):
            on_result(k, res)
        return dict(done)


def _jobs(n=4, tables=("rows",)):
    return [Job("toy", "square", {"k": 2}, seed, tables=tables) for seed in range(n)]


def _lines(run):
    """The records file without what differs between two runs (timings of logging, run id, memory)."""
    return results.read_records(run.run_dir).drop(columns=["run_id", "peak_mem_mb", "params_sha"])


def test_records_are_logged_in_job_order_whatever_order_jobs_finish(tmp_path):
    serial = results.Run("toy", "ci", {}, run_dir=tmp_path / "serial")
    run_jobs(serial, _jobs(), _square, shared={"offset": 1}, progress=False)
    shuffled = results.Run("toy", "ci", {}, run_dir=tmp_path / "reversed")
    outcomes = run_jobs(shuffled, _jobs(), _square, shared={"offset": 1}, parallel=_ReversedExecutor(),
                        progress=False)
    pd.testing.assert_frame_equal(_lines(shuffled), _lines(serial))
    lines = _lines(serial).to_dict("records")
    assert [(r["seed"], r["method"], r["metric"]) for r in lines[:4]] == [
        (0, "square", "nmi"), (0, "square", "acc"), (0, "square twice", "nmi"), (1, "square", "nmi")]
    assert [o.job.seed for o in outcomes] == [0, 1, 2, 3] and all(o.fresh for o in outcomes)
    assert outcomes[2].metrics == {"nmi": 0.09, "acc": 0.91} and outcomes[2].time_s == 2.5
    assert outcomes[2].tables["rows"]["value"].tolist() == [0.09]


def test_a_logged_job_is_read_back_with_its_tables_not_rerun(tmp_path):
    run = results.Run("toy", "ci", {}, run_dir=tmp_path / "run")
    first = run_jobs(run, _jobs(2), _square, progress=False)
    again = results.Run("toy", "ci", {}, run_dir=tmp_path / "run")  # a rerun reuses the folder
    outcomes = run_jobs(again, _jobs(3), lambda job, ctx: _refuse(job, ctx) if job.seed < 2 else _square(job, ctx),
                        progress=False)
    assert [o.fresh for o in outcomes] == [False, False, True]
    assert outcomes[1].metrics == first[1].metrics and outcomes[1].time_s == first[1].time_s
    assert outcomes[1].tables["rows"].equals(first[1].tables["rows"])
    assert outcomes[1].value is None
    assert len(results.read_records(again.run_dir)) == 3 * 3  # each job's three records once


def test_a_logged_job_without_its_tables_runs_again(tmp_path):
    run = results.Run("toy", "ci", {}, run_dir=tmp_path / "run")
    run_jobs(run, _jobs(1), _square, progress=False)
    (run.run_dir / "artifacts" / f"job-{_jobs(1)[0].stem}-rows.csv").unlink()
    outcomes = run_jobs(results.Run("toy", "ci", {}, run_dir=run.run_dir), _jobs(1), _square, progress=False)
    assert outcomes[0].fresh
    assert len(results.read_records(run.run_dir)) == 3  # the records it had are not logged twice


class _Trainer:
    def __init__(self, checkpoint_path=None):
        self.checkpoint_path = checkpoint_path

    def get_params(self):
        return {"checkpoint_path": self.checkpoint_path}

    def set_params(self, **params):
        self.__dict__.update(params)
        return self


class _NoCheckpoint:
    def get_params(self):
        return {"n_clusters": 2}


def test_every_job_gets_its_own_checkpoint_path(tmp_path):
    run = results.Run("toy", "ci", {}, run_dir=tmp_path / "run")
    jobs = _jobs(2) + [Job("toy", "square", "other", 0, checkpoint_setting="named")]
    outcomes = run_jobs(run, jobs, _square, progress=False)
    paths = [o.value["checkpoint"] for o in outcomes]
    assert paths[0] == run.checkpoint_path(dataset="toy", method="square", setting={"k": 2}, seed=0)
    assert paths[2] == run.checkpoint_path(dataset="toy", method="square", setting="named", seed=0)
    assert len(set(paths)) == 3
    ctx = JobContext(paths[0])
    assert ctx.checkpointed(_Trainer()).checkpoint_path == paths[0]
    assert ctx.checkpointed(_NoCheckpoint()).get_params() == {"n_clusters": 2}
    assert JobContext(None).checkpointed(_Trainer()).checkpoint_path is None
    no_checkpoint = run_jobs(results.Run("toy", "ci", {}, run_dir=tmp_path / "b"), _jobs(1), _square,
                             checkpoint=False, progress=False)
    assert no_checkpoint[0].value["checkpoint"] is None


def test_two_jobs_with_one_key_are_refused(tmp_path):
    run = results.Run("toy", "ci", {}, run_dir=tmp_path / "run")
    with pytest.raises(InvalidParameter, match="share the key"):
        run_jobs(run, _jobs(2) + _jobs(1), _square, progress=False)
    assert not run.records_path.exists()  # refused before any job ran


@pytest.mark.parametrize("bad", ["dask", 3, ["local"]])
def test_a_bad_scheduler_is_refused_with_the_valid_values(bad):
    with pytest.raises(InvalidParameter, match="scheduler must be null"):
        check_scheduler(bad)
    with pytest.raises(InvalidParameter, match="tcp://"):
        open_executor(bad)


def test_the_default_runs_in_this_process():
    executor, owned = open_executor(None)
    assert isinstance(executor, InProcessExecutor) and executor.threads is None and owned
    mine = InProcessExecutor(threads=1)
    assert open_executor(mine) == (mine, False)
