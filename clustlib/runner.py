"""Execute study notebooks with papermill, with provenance, skip-if-done and atomic result appends.

``run_study`` validates everything before executing (parameter names and types against the notebook, then the
study's own ``validate_params``), writes
``runs/<study>/<profile>/<utc>_<git-short>/`` (executed notebook, params.json, env.json, records.jsonl,
run.json) and, only when the notebook finished, appends its records to ``results/<study>/<profile>.csv``.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from clustlib import repro
from clustlib import errors
from clustlib.errors import ClustlibError
from clustlib.paths import figures_root, project_root, results_root, runs_root
from clustlib.profiles import notebook_path, resolve_params, resolve_study
from clustlib.results import RUN_DIR_ENV, append_results, atomic_write_text, read_records

__all__ = ["RunOutcome", "StudyFailed", "run_study", "kernel_name", "cell_timeout", "DEFAULT_TIMEOUT_S",
           "CELL_TIMEOUTS_S"]

DEFAULT_TIMEOUT_S = 3600  # per cell, for profiles without their own entry in CELL_TIMEOUTS_S
#: papermill's per-cell timeout by profile, in seconds; None: no cap (paper-scale cells train for hours or days).
CELL_TIMEOUTS_S = {"ci": 900, "interactive": 3600, "smoke": 3600, "full": None, "paper_cpu": None}


def cell_timeout(profile: str, override: int | None = None) -> int | None:
    """The per-cell timeout of a run: ``override`` (0 means no cap) or the profile's :data:`CELL_TIMEOUTS_S`."""
    if override is not None:
        if override < 0:
            raise errors.InvalidParameter(f"--timeout must be >= 0 seconds (0: no cap), got {override}.")
        return override or None
    return CELL_TIMEOUTS_S.get(profile, DEFAULT_TIMEOUT_S)
_CLUSTLIB_ERRORS = set(errors.__all__)  # exception names papermill reports for a ClustlibError in a cell


class StudyFailed(Exception):
    """A notebook cell raised; ``notebook`` is the executed notebook holding the traceback."""

    def __init__(self, study: str, notebook: Path, ename: str, evalue: str) -> None:
        self.study, self.notebook, self.ename, self.evalue = study, notebook, ename, evalue
        super().__init__(f"Study {study} failed: {ename}: {evalue}\nSee the executed notebook {notebook}")


@dataclass
class RunOutcome:
    """What ``run_study`` did: ``status`` is ``"ok"`` or ``"skipped"`` (identical parameters done before)."""

    study: str
    profile: str
    status: str
    run_dir: Path
    notebook: Path
    results_csv: Path
    figures_dir: Path
    n_records: int
    wall_s: float


def kernel_name() -> str:
    """The project's Jupyter kernel (``clustlib``, registered by ``make env``) if present, else ``python3``."""
    from jupyter_client.kernelspec import KernelSpecManager

    return "clustlib" if "clustlib" in KernelSpecManager().find_kernel_specs() else "python3"


def _completed_run(study: str, profile: str, params_sha: str) -> Path | None:
    folder = runs_root() / study / profile
    for run_json in sorted(folder.glob("*/run.json"), reverse=True):
        try:
            info = json.loads(run_json.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if info.get("status") == "ok" and info.get("params_sha") == params_sha:
            return run_json.parent
    return None


@contextmanager
def _environment(**values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _new_run_dir(study: str, profile: str) -> Path:
    base = runs_root() / study / profile / f"{repro.utc_now()}_{repro.git_info()['short']}"
    run_dir, n = base, 1
    while run_dir.exists():
        n += 1
        run_dir = base.with_name(f"{base.name}-{n}")
    run_dir.mkdir(parents=True)
    return run_dir


def run_study(study: str, profile: str = "smoke", overrides=(), *, force: bool = False,
              timeout_s: int | None = None, progress: bool = True) -> RunOutcome:
    """Run one study notebook on a profile.

    Parameters
    ----------
    study : str
        Study name, its number, or its name without the number.
    profile : str
        ``ci``, ``smoke`` or ``full`` (a file ``params/<study>/<profile>.yaml``).
    overrides : sequence of str
        ``"key=value"`` strings applied on top of the profile.
    force : bool
        Re-run even when a run with identical parameters completed before.
    timeout_s : int, optional
        papermill's per-cell execution timeout in seconds (0: none); default: the profile's
        (:data:`CELL_TIMEOUTS_S`: none for ``full`` and ``paper_cpu``). Recorded in ``run.json``.

    Raises
    ------
    ClustlibError
        Unknown study/profile/parameter, a wrongly typed value or one the study's ``validate_params`` rejects
        (before creating the run folder or executing anything), or a
        ``ClustlibError`` raised inside the notebook (re-raised with its message).
    StudyFailed
        Any other exception inside the notebook.
    """
    import papermill as pm

    from clustlib.studies import validate_study_params

    t0 = time.perf_counter()
    study = resolve_study(study)
    params = resolve_params(study, profile, overrides)
    validate_study_params(study, params)  # the study's own checks (datasets, extractors, methods, seeds...)
    params_sha = repro.params_sha256({"study": study, "profile": profile, **params})
    results_csv = results_root() / study / f"{profile}.csv"
    figures_dir = figures_root() / profile / study
    if not force:
        done = _completed_run(study, profile, params_sha)
        if done is not None:
            info = json.loads((done / "run.json").read_text())
            return RunOutcome(study, profile, "skipped", done, done / f"{study}.ipynb", results_csv, figures_dir,
                              info.get("n_records", 0), time.perf_counter() - t0)

    run_dir = _new_run_dir(study, profile)
    output = run_dir / f"{study}.ipynb"
    timeout = cell_timeout(profile, timeout_s)
    run_info = {"study": study, "profile": profile, "params": params, "params_sha": params_sha,
                "cell_timeout_s": timeout, "status": "running", "started_utc": repro.utc_now()}
    atomic_write_text(run_dir / "run.json", json.dumps(run_info, indent=2, default=str))
    env = {RUN_DIR_ENV: run_dir, "MPLBACKEND": "Agg", "CLUSTLIB_HOME": project_root(),
           "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
           "TQDM_MININTERVAL": os.environ.get("TQDM_MININTERVAL", "10")}
    try:
        with _environment(**env):
            pm.execute_notebook(
                str(notebook_path(study)), str(output), parameters={**params, "profile": profile},
                kernel_name=kernel_name(), language="python", cwd=str(project_root()), execution_timeout=timeout,
                progress_bar=progress, request_save_on_cell_execute=True,
            )
    except pm.PapermillExecutionError as exc:
        run_info.update(status="failed", error=f"{exc.ename}: {exc.evalue}", finished_utc=repro.utc_now())
        atomic_write_text(run_dir / "run.json", json.dumps(run_info, indent=2, default=str))
        if exc.ename in _CLUSTLIB_ERRORS:
            raise ClustlibError(f"Study {study} ({profile}) stopped: {exc.evalue} "
                                f"[executed notebook: {output}]") from None
        raise StudyFailed(study, output, exc.ename, exc.evalue) from None
    except BaseException as exc:
        run_info.update(status="failed", error=repr(exc), finished_utc=repro.utc_now())
        atomic_write_text(run_dir / "run.json", json.dumps(run_info, indent=2, default=str))
        raise

    records = read_records(run_dir)
    if len(records):
        append_results(records, study, profile)
    wall = time.perf_counter() - t0
    run_info.update(status="ok", n_records=len(records), wall_s=round(wall, 2), finished_utc=repro.utc_now())
    atomic_write_text(run_dir / "run.json", json.dumps(run_info, indent=2, default=str))
    return RunOutcome(study, profile, "ok", run_dir, output, results_csv, figures_dir, len(records), wall)
