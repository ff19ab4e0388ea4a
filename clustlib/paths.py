"""Where things live: argument > environment variable > repository default.

``CLUSTLIB_DATA`` (datasets), ``CLUSTLIB_CACHE`` (features, trained models), ``CLUSTLIB_HOME``
(the project root holding ``runs/``, ``results/``, ``figures/``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "data_root", "cache_root", "runs_root", "results_root", "figures_root"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The project folder: ``CLUSTLIB_HOME``, else the checkout holding this package, else the CWD."""
    env = os.environ.get("CLUSTLIB_HOME")
    if env:
        return Path(env).expanduser().resolve()
    candidate = _PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").exists() and (candidate / "notebooks").exists():
        return candidate
    return Path.cwd().resolve()


def _resolve(explicit, env_var: str, default: Path) -> Path:
    if explicit is not None:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser().resolve()
    return default


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Dataset folder: ``root`` > ``$CLUSTLIB_DATA`` > ``<project>/data``."""
    return _resolve(root, "CLUSTLIB_DATA", project_root() / "data")


def cache_root(root: str | os.PathLike | None = None) -> Path:
    """Cache folder (features, pretrained models): ``root`` > ``$CLUSTLIB_CACHE`` > ``<project>/.cache``."""
    return _resolve(root, "CLUSTLIB_CACHE", project_root() / ".cache")


def runs_root(root: str | os.PathLike | None = None) -> Path:
    """Executed notebooks and per-run records: ``<project>/runs``."""
    return _resolve(root, "CLUSTLIB_RUNS", project_root() / "runs")


def results_root(root: str | os.PathLike | None = None) -> Path:
    """Tidy per-study result tables: ``<project>/results``."""
    return _resolve(root, "CLUSTLIB_RESULTS", project_root() / "results")


def figures_root(root: str | os.PathLike | None = None) -> Path:
    """Saved figures: ``<project>/figures``."""
    return _resolve(root, "CLUSTLIB_FIGURES", project_root() / "figures")
