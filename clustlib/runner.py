"""Execute study notebooks with papermill, with provenance, skip-if-done and atomic result appends.

``run_study`` validates everything before executing (parameter names and types against the notebook, then the
study's own ``validate_params``), writes
``runs/<study>/<profile>/<utc>_<git-short>/`` (executed notebook, params.json, env.json, records.jsonl,
run.json) and, only when the notebook finished, appends its records to ``results/<study>/<profile>.csv``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from clustlib import repro
from clustlib import errors
from clustlib.errors import ClustlibError
from clustlib.paths import figures_root, project_root, results_root, runs_root
from clustlib.profiles import notebook_path, resolve_params, resolve_study
from clustlib.results import RUN_DIR_ENV, append_results, atomic_write_text, read_records

__all__ = ["RunOutcome", "StudyFailed", "run_study", "kernel_name", "cell_timeout", "DEFAULT_TIMEOUT_S",
           "CELL_TIMEOUTS_S", "PROGRESS_FILE_ENV"]

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


#: Set by :func:`run_study` for the kernel: the JSON file its tqdm bars write their state to (see
#: :func:`_install_kernel_progress`), polled by the runner for the live progress line.
PROGRESS_FILE_ENV = "CLUSTLIB_PROGRESS_FILE"
_BAR_INTERVAL_S = 0.5  # how often a kernel bar rewrites the progress file, at most
_POLL_S = 0.5  # how often the runner redraws the live line
_PLAIN_EVERY_S = 30  # without a terminal (a log file): one line per cell, and at most this often in between


class _NullFile:
    """Where a reporting bar's own text goes: nowhere (the executed notebook stays free of progress output)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _install_kernel_progress(path=None) -> None:
    """Make every ``tqdm.auto`` bar of this process report its state to ``path`` instead of printing.

    Runs inside the kernel that :func:`run_study` starts (``$CLUSTLIB_PROGRESS_FILE``), before the first cell, so
    the modules that ``from tqdm.auto import tqdm`` later get the reporting class. Bars are enabled whatever their
    ``disable`` argument (the notebooks pass ``progress = not run.managed``); each one rewrites the file, at most
    every :data:`_BAR_INTERVAL_S`, with the state of all open bars, outermost first; nothing reaches the notebook.
    """
    path = path or os.environ.get(PROGRESS_FILE_ENV)
    if not path:
        return
    with warnings.catch_warnings():  # tqdm.auto warns "IProgress not found" in a kernel without ipywidgets
        warnings.filterwarnings("ignore", message="IProgress not found")
        import tqdm.auto
        import tqdm.autonotebook
    base = tqdm.auto.tqdm
    target, null = Path(path), _NullFile()

    class ReportingTqdm(base):
        monitor_interval = 0  # no monitor thread: nothing is printed, so nothing needs unsticking

        def __init__(self, *args, **kwargs):
            kwargs.update(disable=False, file=null, mininterval=_BAR_INTERVAL_S, dynamic_ncols=False)
            super().__init__(*args, **kwargs)

        def display(self, msg=None, pos=None):  # tqdm's documented hook for other front ends
            bars = sorted((b for b in self._instances if not b.disable and hasattr(b, "pos")),
                          key=lambda b: abs(b.pos))
            state = {"t": time.time(), "bars": [_bar_state(b.format_dict) for b in bars]}
            try:
                atomic_write_text(target, json.dumps(state, default=str), durable=False)
            except OSError:  # the run folder went away: keep computing, stop reporting
                pass
            return True

    ReportingTqdm.__name__ = ReportingTqdm.__qualname__ = "tqdm"
    tqdm.auto.tqdm = tqdm.autonotebook.tqdm = ReportingTqdm  # tqdm.auto.trange looks its tqdm up at call time


def _bar_state(fmt: dict) -> dict:
    return {"desc": (fmt.get("prefix") or "").rstrip(": "), "n": fmt.get("n"), "total": fmt.get("total"),
            "unit": fmt.get("unit") or "it", "unit_scale": bool(fmt.get("unit_scale")),
            "elapsed": fmt.get("elapsed"), "rate": fmt.get("rate")}


def _format_bar(bar: dict) -> str:
    """``"DeepCluE 2/6"``, ``"resnet18 L1+L2 512/1000 img"``, ``"weights.pth 12.0M/44.7M B"``."""
    n, total, unit = bar.get("n") or 0, bar.get("total"), bar.get("unit") or "it"
    if bar.get("unit_scale"):
        from tqdm.std import tqdm as std_tqdm

        n_text = std_tqdm.format_sizeof(n)
        total_text = std_tqdm.format_sizeof(total) if total else "?"
    else:
        n_text, total_text = f"{n:g}" if isinstance(n, float) else str(n), str(total) if total else "?"
    desc = bar.get("desc") or "loop"
    return f"{desc} {n_text}/{total_text}" + ("" if unit == "it" else f" {unit}")


def _clock(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _cell_label(cell) -> str:
    """The first line of a cell's source: the heading of a markdown cell, the first statement of a code cell."""
    for line in str(cell.get("source", "")).splitlines():
        line = line.strip()
        if line:
            return line.lstrip("#").strip() if cell.get("cell_type") == "markdown" else line
    return f"({cell.get('cell_type', 'cell')}, empty)"


def _previous_timing(study: str, profile: str, params_sha: str) -> tuple[float, list[float] | None] | None:
    """Wall time and per-cell durations of the latest completed run of ``study`` on ``profile``.

    A run with the same parameters is preferred; ``None`` when no run completed. The durations are papermill's
    ``metadata.papermill.duration`` of each cell of that run's executed notebook (``None`` if unreadable).
    """
    chosen = None
    for run_json in sorted((runs_root() / study / profile).glob("*/run.json"), reverse=True):
        try:
            info = json.loads(run_json.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if info.get("status") != "ok" or not info.get("wall_s"):
            continue
        if info.get("params_sha") == params_sha:
            chosen = (run_json.parent, info)
            break
        chosen = chosen or (run_json.parent, info)
    if chosen is None:
        return None
    folder, info = chosen
    try:
        cells = json.loads((folder / f"{study}.ipynb").read_text())["cells"]
        durations = [float(c["metadata"]["papermill"]["duration"] or 0.0) for c in cells]
    except (OSError, ValueError, KeyError, TypeError):
        durations = None
    return float(info["wall_s"]), durations


def _n_cells_after_injection(nb_path: Path) -> int:
    """Cells papermill will execute: the notebook's, plus the ``injected-parameters`` cell it adds."""
    cells = json.loads(Path(nb_path).read_text())["cells"]
    injected = any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells)
    return len(cells) + (0 if injected else 1)


class _LiveProgress:
    """The live line of a running study: current cell, the kernel's tqdm bars, elapsed time and an ETA.

    On a terminal one line is redrawn in place every :data:`_POLL_S`; otherwise (a log file, a pipe) a line is
    written when a cell starts and, while one runs, at most every :data:`_PLAIN_EVERY_S`. The ETA comes from the
    previous completed run of the same study and profile (:func:`_previous_timing`): the remaining cells' durations
    when its notebook has them, else its wall time minus the time elapsed.
    """

    def __init__(self, study: str, n_cells: int, progress_file: Path, *, previous=None, stream=None,
                 t0: float | None = None) -> None:
        self.study, self.n_cells, self.progress_file = study, n_cells, Path(progress_file)
        self.previous, self.stream = previous, stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter() if t0 is None else t0
        self.cell_index, self.cell_text, self.cell_t0 = None, "starting the kernel", self.t0
        self._last_shown, self._last_cell_shown, self._last_plain_t = "", None, 0.0
        self._stop, self._thread = threading.Event(), None

    def on_cell_start(self, cell, cell_index: int, **_) -> None:
        """nbclient's ``on_cell_start`` hook."""
        self.cell_index, self.cell_text, self.cell_t0 = cell_index, _cell_label(cell), time.perf_counter()

    def bars(self) -> list[dict]:
        try:
            return json.loads(self.progress_file.read_text()).get("bars", [])
        except (OSError, ValueError):
            return []

    def eta(self, now: float) -> str:
        elapsed = now - self.t0
        if self.previous is None:
            return f"{_clock(elapsed)} elapsed"
        wall, durations = self.previous
        if self.cell_index is not None and durations and len(durations) == self.n_cells:
            left = max(durations[self.cell_index] - (now - self.cell_t0), 0.0) + sum(durations[self.cell_index + 1:])
        else:
            left = wall - elapsed
        if left <= 0:
            return f"{_clock(elapsed)} elapsed, last run took {_clock(wall)}"
        return f"{_clock(elapsed)} elapsed, ~{_clock(left)} left"

    def line(self, now: float | None = None) -> str:
        now = time.perf_counter() if now is None else now
        cell = "kernel" if self.cell_index is None else f"cell {self.cell_index + 1}/{self.n_cells}"
        parts = [f"    {cell}", self.eta(now)]
        bars = self.bars()
        if bars:
            parts.append(" > ".join(_format_bar(b) for b in bars))
        parts.append(self.cell_text)
        return " | ".join(parts)

    def draw(self, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        text = self.line(now)
        if self.tty:
            width = shutil.get_terminal_size((100, 24)).columns - 1
            if text != self._last_shown:
                self.stream.write("\r" + text[:width] + "\x1b[K")
                self.stream.flush()
        elif self.cell_index != self._last_cell_shown or (
                text != self._last_shown and now - self._last_plain_t >= _PLAIN_EVERY_S):
            self.stream.write(text + "\n")
            self.stream.flush()
            self._last_cell_shown, self._last_plain_t = self.cell_index, now
        self._last_shown = text

    def _loop(self) -> None:
        while not self._stop.wait(_POLL_S):
            try:
                self.draw()
            except Exception:  # noqa: BLE001 - a display problem must never stop the run
                pass

    def __enter__(self) -> "_LiveProgress":
        self.draw()
        self._thread = threading.Thread(target=self._loop, name="clustlib-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _kernel_transport() -> str:
    """``ipc`` (Unix sockets next to the connection file) where the platform allows, else ``tcp``.

    Over ``tcp`` without CurveZMQ keys, ipykernel >= 7 warns "Kernel is running over TCP without encryption" on
    every start; ``ipc`` keeps the traffic off the network, so the warning has no cause. A socket path is capped at
    about 100 bytes: with a longer Jupyter runtime directory the kernel stays on ``tcp``.
    """
    from jupyter_core.paths import jupyter_runtime_dir

    fits = len(os.path.join(jupyter_runtime_dir(), "kernel-00000000-0000-0000-0000-000000000000-ipc-5")) < 100
    return "ipc" if os.name == "posix" and fits else "tcp"


#: Seconds a kernel may take to start (papermill's default, 60 s, was exceeded on two busy cores).
KERNEL_START_TIMEOUT_S = 300

#: glibc malloc settings for the study kernels (ignored by other C libraries; ``$GLIBC_TUNABLES`` overrides).
#: By default glibc maps every block over 32 MB afresh and unmaps it when freed, so each batch's activations
#: (a 64-image EfficientNet layer is 100-400 MB) are page-faulted in again: a smoke run spent a quarter of its CPU
#: time (587 of 2,388 s) in the kernel doing that. Serving blocks up to 2 GB from the heap and keeping it reuses
#: the pages; the arithmetic is the same (see benchmarks/RESULTS.md, "page faults").
KERNEL_GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=2147483648:glibc.malloc.trim_threshold=4294967296"
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


def _interrupted_run(study: str, profile: str, params_sha: str) -> Path | None:
    """The newest run folder of these parameters and this commit that never finished (killed or stopped)."""
    folder = runs_root() / study / profile
    commit = repro.git_info()["short"]
    for run_json in sorted(folder.glob("*/run.json"), reverse=True):
        try:
            info = json.loads(run_json.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if info.get("params_sha") != params_sha:
            continue
        if info.get("status") == "ok" or (run_json.parent / "done.json").exists():
            return None  # a newer completed run: nothing to resume
        if info.get("commit", commit) == commit:
            return run_json.parent
    return None


@contextlib.contextmanager
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
    progress : bool
        Show the live line on stderr while the notebook runs: the current cell, the kernel's ``tqdm.auto`` bars
        (:func:`_install_kernel_progress`) and an ETA from the previous completed run (:class:`_LiveProgress`).
        The executed notebook is the same either way.

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
    from traitlets.config import Config

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

    resumed = None if force else _interrupted_run(study, profile, params_sha)
    run_dir = resumed or _new_run_dir(study, profile)
    output = run_dir / f"{study}.ipynb"
    timeout = cell_timeout(profile, timeout_s)
    run_info = {"study": study, "profile": profile, "params": params, "params_sha": params_sha,
                "commit": repro.git_info()["short"], "cell_timeout_s": timeout, "status": "running",
                "started_utc": repro.utc_now()}
    if resumed is not None:  # keep its finished jobs (records.jsonl) and checkpoints; say so in run.json
        previous = json.loads((run_dir / "run.json").read_text())
        run_info.update(started_utc=previous.get("started_utc"), resumed_utc=[*previous.get("resumed_utc", []),
                                                                             repro.utc_now()])
        print(f"    resuming the interrupted run {run_dir.name}: finished jobs are kept, unfinished ones continue "
              "from their checkpoints (--force starts afresh)", flush=True)
    atomic_write_text(run_dir / "run.json", json.dumps(run_info, indent=2, default=str))
    env = {RUN_DIR_ENV: run_dir, "MPLBACKEND": "Agg", "CLUSTLIB_HOME": project_root(),
           "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
           "TQDM_MININTERVAL": os.environ.get("TQDM_MININTERVAL", "10"),
           "GLIBC_TUNABLES": os.environ.get("GLIBC_TUNABLES", KERNEL_GLIBC_TUNABLES)}
    source = notebook_path(study)
    progress_file = run_dir / ".progress.json"  # the kernel's bars, while it runs (removed afterwards)
    live, hooks = contextlib.nullcontext(), {}
    if progress:
        env[PROGRESS_FILE_ENV] = progress_file
        live = _LiveProgress(study, _n_cells_after_injection(source), progress_file, t0=t0,
                             previous=_previous_timing(study, profile, params_sha))
        hooks = {"on_cell_start": live.on_cell_start,
                 "extra_arguments": ["--IPKernelApp.exec_lines="
                                     "__import__('clustlib.runner').runner._install_kernel_progress()"]}
    config = Config()
    config.KernelManager.transport = _kernel_transport()
    if config.KernelManager.transport == "ipc":  # sockets of its own: two runs started at once never share one
        from jupyter_core.paths import jupyter_runtime_dir

        os.makedirs(jupyter_runtime_dir(), exist_ok=True)
        config.KernelManager.ip = os.path.join(jupyter_runtime_dir(), f"clustlib-{uuid.uuid4().hex[:12]}-ipc")
    try:
        with _environment(**env), live:
            pm.execute_notebook(
                str(source), str(output), parameters={**params, "profile": profile},
                kernel_name=kernel_name(), language="python", cwd=str(project_root()), execution_timeout=timeout,
                progress_bar=False, request_save_on_cell_execute=True, config=config,
                start_timeout=KERNEL_START_TIMEOUT_S, **hooks,
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
    finally:
        progress_file.unlink(missing_ok=True)

    records = read_records(run_dir)
    if len(records):
        append_results(records, study, profile)
    wall = time.perf_counter() - t0
    run_info.update(status="ok", n_records=len(records), wall_s=round(wall, 2), finished_utc=repro.utc_now())
    atomic_write_text(run_dir / "run.json", json.dumps(run_info, indent=2, default=str))
    return RunOutcome(study, profile, "ok", run_dir, output, results_csv, figures_dir, len(records), wall)
