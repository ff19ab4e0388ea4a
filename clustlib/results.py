"""Tidy result records with provenance, the append-only results store, and aggregation.

One record per (study, dataset, method, setting, seed, metric). A notebook opens a :class:`Run`, logs
records into ``runs/<study>/<profile>/<run_id>/records.jsonl`` as it goes, and the completed run is appended
to ``results/<study>/<profile>.csv`` in one atomic step (temporary file + rename), so a run killed half-way
never leaves a partial line in ``results/``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from clustlib import repro
from clustlib._atomic import atomic_path, atomic_write_text  # atomic_write_text is public here too
from clustlib.errors import InvalidParameter
from clustlib.paths import results_root, runs_root

__all__ = [
    "COLUMNS",
    "RUN_DIR_ENV",
    "Run",
    "start_run",
    "format_setting",
    "parse_setting",
    "read_records",
    "append_results",
    "load_results",
    "aggregate",
    "best_runs",
    "atomic_write_text",
    "file_lock",
    "read_params",
    "save_table",
    "load_table",
    "save_arrays",
    "load_arrays",
    "latest_run_dir",
]

COLUMNS = (
    "study", "dataset", "method", "setting", "seed", "metric", "value",
    "time_s", "run_id", "params_sha", "peak_mem_mb", "note",
)
RUN_DIR_ENV = "CLUSTLIB_RUN_DIR"
_LOWER_IS_BETTER = {"time_s", "time", "seconds", "loss"}


def format_setting(setting: dict | str | None) -> str:
    """``{"layer": "L1", "clustering": "KM"}`` -> ``"layer=L1,clustering=KM"`` (the paper tables' form)."""
    if setting is None:
        return ""
    if isinstance(setting, str):
        return setting
    return ",".join(f"{k}={v}" for k, v in setting.items())


def parse_setting(setting: str) -> dict:
    """Inverse of :func:`format_setting` (values stay strings)."""
    if not isinstance(setting, str) or not setting:
        return {}
    return dict(part.split("=", 1) for part in setting.split(",") if "=" in part)


class Run:
    """One execution of a study: collects records and provenance.

    Parameters
    ----------
    study : str
        Study name (the notebook stem, e.g. ``"01_layer_architecture_grid"``).
    profile : str
        Parameter profile (``"ci"``, ``"smoke"``, ``"full"`` or ``"interactive"``).
    params : dict
        The notebook's parameters; hashed into ``params_sha`` and written to ``params.json``.
    run_dir : path, optional
        Where to write; defaults to ``$CLUSTLIB_RUN_DIR`` (set by ``clustlib run``) or a new
        ``runs/<study>/<profile>/<utc>_<git>/`` folder.
    """

    def __init__(self, study: str, profile: str, params: dict, run_dir=None) -> None:
        self.study, self.profile, self.params = study, profile, dict(params)
        self.params_sha = repro.params_sha256({"study": study, "profile": profile, **self.params})
        env_dir = os.environ.get(RUN_DIR_ENV)
        self.managed = run_dir is None and bool(env_dir)
        if run_dir is None:
            run_dir = env_dir or runs_root() / study / profile / f"{repro.utc_now()}_{repro.git_info()['short']}"
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run_id = self.run_dir.name
        self.records_path = self.run_dir / "records.jsonl"
        self._t0 = time.perf_counter()
        # A resumed run (``clustlib run`` after an interruption) reuses its folder: what it logged stays logged.
        self._records: list[dict] = read_records(self.run_dir).to_dict("records") if self.records_path.exists() else []
        self._jobs: dict[tuple, dict] = {}  # (dataset, method, setting, seed) -> metrics, for :meth:`logged`
        for row in self._records:
            self._index(row)
        atomic_write_text(self.run_dir / "params.json", json.dumps(self.params, indent=2, sort_keys=True, default=str))
        atomic_write_text(self.run_dir / "env.json", json.dumps(
            {**repro.environment_info(), "study": study, "profile": profile, "params_sha": self.params_sha},
            indent=2, default=str))

    def log(self, *, dataset: str, method: str, metrics: dict, setting=None, seed: int = 0,
            time_s: float | None = None, note: str = "") -> list[dict]:
        """Record every ``metric -> value`` of one (dataset, method, setting, seed) result.

        ``time_s`` is the wall time of the computation behind the result, in seconds.
        """
        if not metrics:
            raise InvalidParameter("Run.log needs at least one metric, e.g. metrics={'nmi': 0.8}.")
        rows = []
        peak = round(repro.peak_memory_mb(), 1)
        for metric, value in metrics.items():
            value = float(value) if value is not None else math.nan
            rows.append({
                "study": self.study, "dataset": dataset, "method": method, "setting": format_setting(setting),
                "seed": int(seed), "metric": metric, "value": value,
                "time_s": None if time_s is None else float(time_s), "run_id": self.run_id,
                "params_sha": self.params_sha, "peak_mem_mb": peak, "note": note,
            })
        with open(self.records_path, "a") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._records.extend(rows)
        for row in rows:
            self._index(row)
        return rows

    def logged(self, *, dataset: str, method: str, setting=None, seed: int = 0) -> dict | None:
        """The ``metric -> value`` already logged in this run folder for one job, or None if it has not finished.

        A study loop skips a job whose metrics are here: that is how a rerun of an interrupted ``clustlib run``
        recomputes no finished job.
        """
        found = self._jobs.get((dataset, method, format_setting(setting), int(seed)))
        return dict(found) if found else None

    def _index(self, row: dict) -> None:
        key = (row["dataset"], row["method"], row["setting"] or "", int(row["seed"]))
        self._jobs.setdefault(key, {})[row["metric"]] = row["value"]

    def checkpoint_path(self, *, dataset: str, method: str, setting=None, seed: int = 0) -> Path:
        """Where one job's trainer keeps its checkpoint: ``<run_dir>/checkpoints/<dataset>-<method>-<hash>-s<seed>.ckpt``.

        Pass it as ``checkpoint_path=`` to a trainer so that a rerun resumes the unfinished job; :meth:`finish`
        deletes the folder once every job is done.
        """
        key = hashlib.sha256(format_setting(setting).encode()).hexdigest()[:10]
        folder = self.run_dir / "checkpoints"
        folder.mkdir(exist_ok=True)
        return folder / f"{dataset}-{method}-{key}-s{int(seed)}.ckpt"

    @property
    def records(self) -> pd.DataFrame:
        """Records logged so far, as a tidy DataFrame."""
        return pd.DataFrame(self._records, columns=list(COLUMNS))

    def finish(self) -> Path:
        """Mark the run complete (``done.json``); outside ``clustlib run`` also append to ``results/``."""
        done = {"status": "ok", "wall_s": round(time.perf_counter() - self._t0, 3), "n_records": len(self._records),
                "peak_mem_mb": round(repro.peak_memory_mb(), 1), "params_sha": self.params_sha, "utc": repro.utc_now(),
                "nondeterministic_ops": repro.nondeterministic_ops()}
        atomic_write_text(self.run_dir / "done.json", json.dumps(done, indent=2))
        shutil.rmtree(self.run_dir / "checkpoints", ignore_errors=True)  # every job finished: nothing to resume
        if not self.managed:
            append_results(self.records, self.study, self.profile)
        return self.run_dir


def start_run(study: str, profile: str, params: dict, run_dir=None) -> Run:
    """Open a :class:`Run` (see there); the usual first call of a study notebook."""
    return Run(study, profile, params, run_dir=run_dir)


def read_records(run_dir) -> pd.DataFrame:
    """The records of one run folder; a partial last line (killed run) is ignored."""
    path = Path(run_dir) / "records.jsonl"
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return pd.DataFrame(rows, columns=list(COLUMNS))


def read_params(run_dir) -> dict:
    """The parameters a run folder was executed with (its ``params.json``)."""
    path = Path(run_dir) / "params.json"
    if not path.exists():
        raise InvalidParameter(f"{run_dir} holds no params.json: it is not a run folder (runs/<study>/<profile>/<id>/).")
    return json.loads(path.read_text())


def _artifact_path(run_dir, name: str, suffix: str) -> Path:
    if not name or "/" in name or name.startswith("."):
        raise InvalidParameter(f"Artifact name {name!r} must be a plain file stem such as 'history_mnist'.")
    return Path(run_dir) / "artifacts" / f"{name}{suffix}"


def save_table(run_dir, name: str, frame: pd.DataFrame) -> Path:
    """Keep a table a figure is drawn from (training history, a sweep) as ``<run_dir>/artifacts/<name>.csv``.

    Written atomically, so :func:`clustlib.figures.redraw` can redraw the figure without recomputing it.
    """
    path = _artifact_path(run_dir, name, ".csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, frame.to_csv(index=False))
    return path


def load_table(run_dir, name: str) -> pd.DataFrame:
    """A table saved with :func:`save_table`; a clear error names the run folder when it is missing."""
    path = _artifact_path(run_dir, name, ".csv")
    if not path.exists():
        raise InvalidParameter(f"{run_dir} has no artifact {name!r} ({path.name}); re-run the study to write it.")
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def save_arrays(run_dir, name: str, **arrays) -> Path:
    """Keep arrays a figure is drawn from (embeddings, label features) as ``<run_dir>/artifacts/<name>.npz``."""
    path = _artifact_path(run_dir, name, ".npz")
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **{key: np.asarray(value) for key, value in arrays.items()})
    return path


def load_arrays(run_dir, name: str) -> dict:
    """Arrays saved with :func:`save_arrays`, as a dict of numpy arrays."""
    path = _artifact_path(run_dir, name, ".npz")
    if not path.exists():
        raise InvalidParameter(f"{run_dir} has no artifact {name!r} ({path.name}); re-run the study to write it.")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def latest_run_dir(study: str, profile: str, root=None) -> Path:
    """The newest finished run folder (one with ``done.json``) of a study and profile."""
    folder = runs_root(root) / study / profile
    done = sorted((p.parent for p in folder.glob("*/done.json")), key=lambda p: p.name)
    if not done:
        raise InvalidParameter(f"No finished {profile!r} run of {study} under {folder}; run "
                               f"'clustlib run {study} --profile {profile}' first.")
    return done[-1]


@contextmanager
def file_lock(path: Path):
    """Hold an exclusive lock on ``<path>.lock`` (processes appending to one file take turns)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(path.suffix + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _results_path(study: str, profile: str, root=None) -> Path:
    return results_root(root) / study / f"{profile}.csv"


def append_results(records: pd.DataFrame, study: str, profile: str, root=None) -> Path:
    """Append ``records`` to ``results/<study>/<profile>.csv`` atomically (whole file replaced at once)."""
    path = _results_path(study, profile, root)
    records = records.reindex(columns=list(COLUMNS))
    with file_lock(path):
        if path.exists():
            existing = pd.read_csv(path, keep_default_na=False, na_values=[""])
            records = pd.concat([existing, records], ignore_index=True)
        atomic_write_text(path, records.to_csv(index=False))
    return path


def load_results(study: str, profile: str, root=None) -> pd.DataFrame:
    """The tidy results table of a study and profile (empty with the standard columns if none yet)."""
    path = _results_path(study, profile, root)
    if not path.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def aggregate(records: pd.DataFrame, by=("dataset", "method", "setting", "metric")) -> pd.DataFrame:
    """Mean ± std over seeds (and repeated runs) per group: columns ``mean, std, n, best, time_s``.

    ``best`` is the maximum for scores and the minimum for times and losses.
    """
    by = list(by)
    frame = records.copy()
    frame["setting"] = frame["setting"].fillna("") if "setting" in frame else ""
    grouped = frame.groupby(by, sort=False, dropna=False)
    out = grouped["value"].agg(mean="mean", std="std", n="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    lower = out["metric"].isin(_LOWER_IS_BETTER) if "metric" in out else False
    best_max = grouped["value"].max().reset_index(drop=True)
    best_min = grouped["value"].min().reset_index(drop=True)
    out["best"] = np.where(lower, best_min, best_max)
    if "time_s" in frame:
        out["time_s"] = grouped["time_s"].mean().reset_index(drop=True)
    return out


def best_runs(records: pd.DataFrame, metric: str, by=("dataset", "method", "setting")) -> pd.DataFrame:
    """The single best seed per group for ``metric`` (highest score), with its other metrics beside it."""
    frame = records[records["metric"] == metric]
    if frame.empty:
        return frame
    idx = frame.groupby(list(by), sort=False, dropna=False)["value"].idxmax()
    keys = frame.loc[idx, list(by) + ["seed", "run_id"]]
    return records.merge(keys, on=list(by) + ["seed", "run_id"]).pivot_table(
        index=list(by) + ["seed"], columns="metric", values="value").reset_index()
