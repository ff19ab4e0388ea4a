"""One job of a study, and the runner every study's grid goes through.

A job is one ``(dataset, method, setting, seed)``: a checkpointed fit, its evaluation and the records it logs.
:func:`run_jobs` runs a list of them through :mod:`clustlib.parallel` (in this process by default, or on a Dask
cluster) and, in the notebook's process, keeps each job's tables and logs its records **in job order**, whatever
order the jobs finish in, so the records file of a parallel run equals the serial one line for line (timings and
memory aside); ``<run_dir>/jobs.jsonl`` says which process ran each job, with how many threads. A job whose first
record ``run.logged`` already has (and whose tables the run folder keeps) is read back, not rerun: that is how an
interrupted ``clustlib run`` resumes; an unfinished one resumes its trainer from ``run.checkpoint_path`` of the job
(:meth:`JobContext.checkpointed`).

A study supplies ``fit_and_score(job, ctx, **shared) -> dict`` with

* ``"logs"``: the :meth:`clustlib.results.Run.log` arguments of its records, the job's own first (``dataset``,
  ``method``, ``setting``, ``seed`` default to the job's);
* ``"tables"`` (optional): ``{name: DataFrame}`` kept as ``artifacts/job-<job.name>-<name>.csv`` before the
  records are logged, and read back for a finished job;
* ``"arrays"`` (optional): ``{artifact: {name: ndarray}}`` kept with :func:`clustlib.results.save_arrays`;
* ``"value"`` (optional): anything else the study wants back from a fresh job (None for a job read back).

The function and everything in ``shared`` must pickle (module-level functions, arrays, ImageSets) for Dask.

References
----------
.. [1] Dask Development Team, "Dask: Library for dynamic task scheduling", 2016, https://dask.org.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from clustlib import results
from clustlib.errors import InvalidParameter

__all__ = ["Job", "JobContext", "JobOutcome", "run_jobs", "open_executor", "check_scheduler", "job_slug"]

_SAME = object()  # Job.checkpoint_setting default: the job's own setting


def job_slug(*parts) -> str:
    """A plain artifact stem from a job's parts (``"digits", "MMDC", "sobel=0,rotation=1", "s0"`` ->
    ``digits-MMDC-sobel0_rotation1-s0``)."""
    return "-".join(re.sub(r"[^A-Za-z0-9.+]+", "_", str(p).replace("=", "")).strip("_") for p in parts)


@dataclass(eq=False)
class Job:
    """One ``(dataset, method, setting, seed)`` of a study's grid.

    Parameters
    ----------
    dataset, method, setting, seed
        The key of the job's first record (what ``run.logged`` looks up).
    spec : dict
        What the fit needs besides the key (hyperparameters, flags); must pickle.
    tables : tuple of str
        Per-job tables the job keeps; a job counts as finished when its first record is logged and the first of
        these tables is in the run folder.
    arrays : tuple of str
        Per-job array artifacts (:func:`clustlib.results.save_arrays` names) read back for a finished job.
    name : str or None
        Stem of its table artifacts (default: :func:`job_slug` of the key).
    checkpoint_setting
        The setting its checkpoint file is named by, when it differs from ``setting``.
    """

    dataset: str
    method: str
    setting: Any = None
    seed: int = 0
    spec: Mapping[str, Any] = field(default_factory=dict)
    tables: tuple[str, ...] = ()
    arrays: tuple[str, ...] = ()
    name: str | None = None
    checkpoint_setting: Any = _SAME

    @property
    def key(self) -> dict:
        """``dataset, method, setting, seed`` as :meth:`~clustlib.results.Run.logged` takes them."""
        return {"dataset": self.dataset, "method": self.method, "setting": self.setting, "seed": int(self.seed)}

    @property
    def stem(self) -> str:
        return self.name or job_slug(self.dataset, self.method, results.format_setting(self.setting) or "-",
                                     f"s{int(self.seed)}")


@dataclass(frozen=True)
class JobContext:
    """What a fit receives from the runner: the job's checkpoint file (None: no checkpoint)."""

    checkpoint_path: Path | None = None

    def checkpointed(self, estimator):
        """``estimator`` with ``checkpoint_path`` set to the job's when its ``get_params()`` has that argument
        (a trainer that keeps no checkpoint is returned unchanged)."""
        if self.checkpoint_path is not None and "checkpoint_path" in estimator.get_params():
            estimator.set_params(checkpoint_path=self.checkpoint_path)
        return estimator

    def checkpoint_kwargs(self, accepts: bool) -> dict:
        """``{"checkpoint_path": ...}`` for a function that passes it on to its trainer when ``accepts``."""
        return {"checkpoint_path": self.checkpoint_path} if accepts and self.checkpoint_path is not None else {}


@dataclass
class JobOutcome:
    """One job after :func:`run_jobs`: ``fresh`` (computed in this call) or read back from the run folder.

    ``metrics``: the job's first record's metrics; ``tables``: its kept tables (empty DataFrames for those it has
    none of); ``arrays``: its array artifacts; ``value``: the fit's ``"value"`` (None when read back);
    ``time_s``: the first record's ``time_s``.
    """

    job: Job
    fresh: bool
    metrics: dict
    tables: dict
    arrays: dict
    value: Any = None
    time_s: float | None = None


def check_scheduler(scheduler) -> None:
    """A notebook's ``scheduler`` must be null, ``"inprocess"``, ``"local"`` or a Dask scheduler address
    (``"tcp://host:8786"``); checked before any compute."""
    if scheduler in (None, "inprocess", "local") or (isinstance(scheduler, str) and "://" in scheduler):
        return
    raise InvalidParameter(f"scheduler must be null (this process), 'local' (a Dask LocalCluster) or a scheduler "
                           f"address such as 'tcp://10.0.0.5:8786', got {scheduler!r}.")


def open_executor(parallel=None, *, n_workers: int = 2, threads_per_worker: int = 1):
    """An executor from a notebook's ``scheduler`` parameter: None or ``"inprocess"`` (this process, the libraries'
    own thread counts, as the studies always ran), ``"local"`` (a Dask ``LocalCluster`` of ``n_workers``
    processes, ``threads_per_worker`` threads each) or ``"tcp://host:port"`` (a running scheduler); an executor
    instance is returned as is. Returns ``(executor, owned)``: ``owned`` says the caller must close it."""
    from clustlib.parallel import make_executor

    if hasattr(parallel, "map"):
        return parallel, False
    if parallel in (None, "inprocess"):
        return make_executor(None), True
    check_scheduler(parallel)
    return make_executor(parallel, n_workers=n_workers, threads_per_worker=threads_per_worker), True


def _logged_times(run: results.Run) -> dict:
    """``(dataset, method, setting, seed) -> time_s`` of the first record of every job logged in ``run``."""
    times = {}
    for row in run.records.itertuples(index=False):
        key = (row.dataset, row.method, row.setting or "", int(row.seed))
        if key not in times:
            times[key] = None if row.time_s is None or pd.isna(row.time_s) else float(row.time_s)
    return times


def _read_back(run: results.Run, job: Job, times: dict) -> JobOutcome | None:
    """The finished job as the run folder keeps it, or None when it has to run (``times``: from
    :func:`_logged_times`, filled on first use)."""
    done = run.logged(**job.key)
    if done is None:
        return None
    tables = {}
    for table in job.tables:
        path = run.run_dir / "artifacts" / f"job-{job.stem}-{table}.csv"
        tables[table] = results.load_table(run.run_dir, f"job-{job.stem}-{table}") if path.exists() else pd.DataFrame()
    if job.tables and not len(tables[job.tables[0]]):
        return None  # logged, but its tables were never kept: rerun (the checkpoint makes it quick)
    try:
        arrays = {name: results.load_arrays(run.run_dir, name) for name in job.arrays}
    except InvalidParameter:
        return None
    if not times:
        times.update(_logged_times(run))
    key = (job.dataset, job.method, results.format_setting(job.setting), int(job.seed))
    return JobOutcome(job, False, done, tables, arrays, None, times.get(key))


def _note_where(run: results.Run, job: Job, task: dict) -> None:
    """Append where and how a fresh job ran (process, host, threads, seconds) to ``<run_dir>/jobs.jsonl``."""
    line = {**job.key, "setting": results.format_setting(job.setting), **{k: task.get(k) for k in ("worker", "pid")},
            "threads": (task.get("threads") or {}).get("requested"), "seconds": round(task.get("seconds", 0.0), 3)}
    with open(run.run_dir / "jobs.jsonl", "a") as handle:
        handle.write(json.dumps(line) + "\n")


def _keep(run: results.Run, job: Job, result: dict) -> JobOutcome:
    """Keep a fresh job's tables and arrays, then log its records (each once: a record a crash left logged is not
    logged again)."""
    tables = {name: frame for name, frame in (result.get("tables") or {}).items()}
    for name, frame in tables.items():
        if len(frame):
            results.save_table(run.run_dir, f"job-{job.stem}-{name}", frame)
    arrays = dict(result.get("arrays") or {})
    for name, values in arrays.items():
        results.save_arrays(run.run_dir, name, **values)
    logs = list(result.get("logs") or [])
    for entry in logs:
        entry = {**{k: v for k, v in job.key.items()}, **entry}
        key = {k: entry[k] for k in ("dataset", "method", "setting", "seed")}
        if run.logged(**key) is None:
            run.log(**entry)
    first = {**job.key, **logs[0]} if logs else {}
    tables = {name: tables.get(name, pd.DataFrame()) for name in (*job.tables, *tables)}
    return JobOutcome(job, True, dict(first.get("metrics") or {}), tables, arrays, result.get("value"),
                      first.get("time_s"))


def _task(spec: tuple, **shared) -> dict:
    """One job in whichever process runs it: ``spec`` is ``(index, job, ctx, fit_and_score)``."""
    _, job, ctx, fit_and_score = spec
    return {"result": fit_and_score(job, ctx, **shared)}


def _spec_key(spec: tuple) -> str:
    return spec[0]


def run_jobs(run: results.Run, jobs: Sequence[Job], fit_and_score: Callable, *, shared: Mapping | None = None,
             parallel=None, checkpoint: bool = True, desc: str | None = None,
             progress: bool = True) -> list[JobOutcome]:
    """Run every job not finished in ``run``'s folder and return all outcomes in job order.

    Parameters
    ----------
    run : Run
        Where records and per-job tables go.
    jobs : sequence of Job
        The grid, in the order its records are logged; keys must be unique.
    fit_and_score : callable
        ``fit_and_score(job, ctx, **shared) -> dict`` (see the module docstring), a module-level function.
    shared : dict, optional
        Inputs every job reads (ImageSets, prepared arrays): passed as is in this process, scattered once to
        every Dask worker.
    parallel : None, str or executor
        :func:`open_executor`'s argument: None runs the jobs here one after the other.
    checkpoint : bool
        Give every job ``run.checkpoint_path`` of its key (or its ``checkpoint_setting``) in ``ctx``.

    Returns
    -------
    list of JobOutcome
        One per job, in job order; records are logged in that order as soon as every earlier job is done.
    """
    jobs = list(jobs)
    seen = set()
    for job in jobs:
        key = (job.dataset, job.method, results.format_setting(job.setting), int(job.seed))
        if key in seen:
            raise InvalidParameter(f"Two jobs share the key {key}; each (dataset, method, setting, seed) runs once.")
        seen.add(key)
    times: dict = {}
    outcomes: list[JobOutcome | None] = [_read_back(run, job, times) for job in jobs]
    todo = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if not todo:
        return outcomes
    specs = []
    for i in todo:
        job = jobs[i]
        setting = job.setting if job.checkpoint_setting is _SAME else job.checkpoint_setting
        path = run.checkpoint_path(dataset=job.dataset, method=job.method, setting=setting,
                                   seed=job.seed) if checkpoint else None
        specs.append((str(i), job, JobContext(path), fit_and_score))
    arrived: dict[int, dict] = {}
    due = iter(todo)  # jobs whose records are not logged yet, in job order
    next_due = [next(due)]

    def on_result(key: str, res: dict) -> None:
        arrived[int(key)] = res
        while next_due[0] is not None and next_due[0] in arrived:
            i = next_due[0]
            res = arrived.pop(i)
            outcomes[i] = _keep(run, jobs[i], res["result"])
            _note_where(run, jobs[i], res.get("_task") or {})
            next_due[0] = next(due, None)

    executor, owned = open_executor(parallel)
    try:
        executor.map(_task, specs, key=_spec_key, shared=dict(shared or {}),
                     desc=desc, progress=progress, on_result=on_result)
    finally:
        if owned:
            executor.close()
    return outcomes
