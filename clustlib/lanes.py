"""Run several studies side by side: ``clustlib run all --lanes N`` (``make reproduce`` uses two).

A study notebook uses one or two threads, and much of its time is Python that uses one, so one study at a time
leaves a core idle (a whole smoke `make reproduce` averaged 1.2 busy cores of 2). Lanes run chains of studies in
parallel child processes (``clustlib run STUDY... --profile P``), each study exactly as it runs alone: same
parameters (``n_threads`` included), so the same numbers.

Studies that read pretrained-network features (their profile names ``extractors`` or ``views``) share one
content-keyed feature cache and stay in one lane, in study order, so the first extracts and the others read. The
other studies are spread over the lanes, longest first by their previous wall time on the profile; with no
previous run, the feature chain gets a lane of its own and the others share the rest in study order.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from clustlib import profiles
from clustlib.errors import InvalidParameter

__all__ = ["plan_lanes", "run_lanes"]


def _reads_features(study: str, profile: str, overrides) -> bool:
    params = profiles.resolve_params(study, profile, overrides)
    return bool(params.get("extractors") or params.get("views"))


def _previous_wall(study: str, profile: str, overrides) -> float | None:
    from clustlib import repro
    from clustlib.runner import _previous_timing  # the runner's own reading of completed runs

    params = profiles.resolve_params(study, profile, overrides)
    timing = _previous_timing(study, profile, repro.params_sha256({"study": study, "profile": profile, **params}))
    return None if timing is None else timing[0]


def plan_lanes(studies: list[str], n_lanes: int, profile: str, overrides=(), *, walls=None) -> list[list[str]]:
    """Split ``studies`` into at most ``n_lanes`` ordered chains (lists of study names), none empty.

    ``walls`` maps a study to its expected wall time in seconds (default: the previous completed run's, where
    there is one).
    """
    if isinstance(n_lanes, bool) or not isinstance(n_lanes, int) or n_lanes < 1:
        raise InvalidParameter(f"--lanes must be a whole number >= 1; got {n_lanes!r}.")
    if n_lanes == 1 or len(studies) == 1:
        return [list(studies)]
    walls = dict(walls) if walls is not None else {s: _previous_wall(s, profile, overrides) for s in studies}
    chain = [s for s in studies if _reads_features(s, profile, overrides)]
    units = ([chain] if chain else []) + [[s] for s in studies if s not in chain]
    lanes: list[list[str]] = [[] for _ in range(min(n_lanes, len(units)))]
    if all(walls.get(s) for s in studies):  # longest unit first, onto the least-loaded lane
        load = [0.0] * len(lanes)
        for unit in sorted(units, key=lambda u: -sum(walls[s] for s in u)):
            i = load.index(min(load))
            lanes[i].extend(unit)
            load[i] += sum(walls[s] for s in unit)
    else:  # no timings: the feature chain alone, the others round-robin over the remaining lanes
        rest = units[1:] if chain else units
        if chain:
            lanes[0].extend(chain)
        free = lanes[1:] if chain and len(lanes) > 1 else lanes
        for i, unit in enumerate(rest):
            free[i % len(free)].extend(unit)
    order = {s: i for i, s in enumerate(studies)}
    return [sorted(lane, key=order.__getitem__) for lane in lanes if lane]


def _pump(stream, prefix: str, lock: threading.Lock, out) -> None:
    """Copy a child's lines to ``out``, each prefixed with the lane and its current study."""
    current = prefix
    for line in iter(stream.readline, ""):
        if line.startswith("==> "):
            current = f"{prefix} {line[4:].split(' ', 1)[0]}"
        with lock:
            out.write(f"[{current}] {line}" if line.strip() else line)
            out.flush()
    stream.close()


def run_lanes(lanes: list[list[str]], profile: str, overrides=(), *, force: bool = False,
              timeout_s: int | None = None, quiet: bool = False, stream=None) -> int:
    """Run each lane as a child ``clustlib run`` at the same time; return the worst exit code (0: all ok)."""
    out = stream or sys.stdout
    lock = threading.Lock()
    procs, pumps = [], []
    for i, lane in enumerate(lanes):
        cmd = [sys.executable, "-m", "clustlib.cli", "run", *lane, "--profile", profile]
        for item in overrides:
            cmd += ["--set", item]
        cmd += ["--force"] if force else []
        cmd += ["--timeout", str(timeout_s)] if timeout_s is not None else []
        cmd += ["--quiet"] if quiet else []
        with lock:
            out.write(f"lane {i + 1}: {' -> '.join(lane)}\n")
            out.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        pump = threading.Thread(target=_pump, args=(proc.stdout, f"lane {i + 1}", lock, out), daemon=True)
        pump.start()
        procs.append(proc)
        pumps.append(pump)
    codes = [p.wait() for p in procs]
    for pump in pumps:
        pump.join()
    return max(codes)
