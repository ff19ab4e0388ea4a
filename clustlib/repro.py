"""Seeds, thread counts, deterministic algorithms and the provenance recorded with every result."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import resource
import socket
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata

import numpy as np

from clustlib.paths import project_root

__all__ = [
    "seed_everything",
    "set_threads",
    "thread_info",
    "git_info",
    "package_versions",
    "environment_info",
    "params_sha256",
    "data_fingerprint",
    "peak_memory_mb",
    "utc_now",
    "nondeterministic_ops",
]

_TRACKED_PACKAGES = (
    "clustlib", "numpy", "scipy", "scikit-learn", "pandas", "torch", "torchvision", "timm",
    "papermill", "dask", "distributed", "matplotlib", "seaborn",
)


def seed_everything(seed: int, *, deterministic: bool = True) -> np.random.Generator:
    """Seed Python, NumPy and torch (when installed) and turn on deterministic algorithms.

    Returns a NumPy ``Generator`` seeded with ``seed`` for code that prefers explicit generators.
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    if "torch" in sys.modules or _torch_available():
        import torch

        torch.manual_seed(seed)
        if deterministic:
            # CPU: every op has a deterministic kernel, so a nondeterministic one is an error. CUDA: some
            # backward passes (adaptive average pooling, NLL loss) have none; they warn instead of stopping a
            # paper-scale run, and each one that ran is recorded (nondeterministic_ops(), env.json).
            cuda = torch.cuda.is_available()
            torch.use_deterministic_algorithms(True, warn_only=cuda)
            if cuda:
                _watch_nondeterministic_ops()
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return np.random.default_rng(seed)


_NONDETERMINISTIC_OPS: set[str] = set()
_NONDETERMINISTIC_MARK = "does not have a deterministic implementation"


def _watch_nondeterministic_ops() -> None:
    """Record the op named by each of torch's warn-only determinism warnings (installed once)."""
    import warnings

    if getattr(warnings.showwarning, "_clustlib_watch", False):
        return
    previous = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if _NONDETERMINISTIC_MARK in text:
            _NONDETERMINISTIC_OPS.add(text.split(_NONDETERMINISTIC_MARK)[0].strip())
        previous(message, category, filename, lineno, file, line)

    showwarning._clustlib_watch = True
    warnings.showwarning = showwarning


def nondeterministic_ops() -> list[str]:
    """Ops that ran without a deterministic kernel in this process (CUDA warn-only mode); empty on CPU."""
    return sorted(_NONDETERMINISTIC_OPS)


def _torch_available() -> bool:
    try:
        metadata.version("torch")
    except metadata.PackageNotFoundError:
        return False
    return True


def set_threads(n_threads: int | None = None) -> int:
    """Pin the number of CPU threads for BLAS/OpenMP (threadpoolctl) and torch; returns the count used.

    ``None`` means every core (``os.cpu_count()``). Dask workers default to one thread, and the thread
    count changes floating-point results, so every task calls this and records :func:`thread_info`.
    """
    from threadpoolctl import threadpool_limits

    n = int(n_threads or os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    threadpool_limits(limits=n)
    if "torch" in sys.modules:
        import torch

        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
    return n


def thread_info() -> dict:
    """Thread counts in force: BLAS/OpenMP pools (threadpoolctl), torch intra-op, and the env variables."""
    from threadpoolctl import threadpool_info

    info = {
        "cpu_count": os.cpu_count(),
        "threadpools": {f"{p['user_api']}:{p['internal_api']}": p["num_threads"] for p in threadpool_info()},
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY")},
    }
    if "torch" in sys.modules:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    return info


def git_info(root=None) -> dict:
    """Commit hash, short hash and dirty flag of the project checkout (``unknown`` outside git)."""
    root = root or project_root()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True,
            text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "short": "nogit", "dirty": None}
    return {"commit": commit, "short": commit[:8], "dirty": bool(status)}


def package_versions(names=_TRACKED_PACKAGES) -> dict:
    """Installed versions of the packages that can change a result (``None`` when not installed)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _device_info() -> dict:
    if "torch" not in sys.modules:
        return {"device": "cpu"}
    import torch

    if torch.cuda.is_available():
        return {
            "device": "cuda",
            "gpu": torch.cuda.get_device_name(0),
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
            "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
        }
    return {"device": "cpu"}


def environment_info() -> dict:
    """Everything env.json records: git, versions, threads, device, host, platform, time."""
    return {
        "git": git_info(),
        "versions": package_versions(),
        "threads": thread_info(),
        "device": _device_info(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "utc": utc_now(),
    }


def params_sha256(params: dict) -> str:
    """SHA-256 of the parameters as canonical JSON (sorted keys): equal parameters, equal hash."""
    blob = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def data_fingerprint(X: np.ndarray) -> str:
    """SHA-256 (16 hex chars) of an array's shape, dtype and bytes: what a checkpoint or cache was computed on."""
    x = np.ascontiguousarray(X)
    h = hashlib.sha256(f"{x.shape}|{x.dtype}".encode())
    h.update(memoryview(x).cast("B"))
    return h.hexdigest()[:16]


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ``ru_maxrss`` is in KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if sys.platform != "darwin" else rss / 2**20


def utc_now() -> str:
    """Current UTC time as ``YYYYmmddTHHMMSSZ`` (sortable, file-name safe)."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
