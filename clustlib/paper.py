"""The numbers the five papers publish, as one tidy DataFrame, and the ours-vs-paper join.

The CSVs in ``clustlib/paper_tables/`` are a copy of the project's transcription (columns
``paper, table, dataset, method, setting, metric, value, std``; scores are fractions in [0, 1];
see ``paper_tables/README.md`` and ``AMBIGUOUS.md`` there).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from clustlib.errors import UnknownName

__all__ = ["TABLES_DIR", "list_tables", "load", "compare"]

TABLES_DIR = Path(__file__).resolve().parent / "paper_tables"


#: Files in ``paper_tables/`` that are not published numbers (the item inventory read by ``clustlib.fidelity``).
_NOT_TABLES = {"items.csv"}


def _table_files() -> list[Path]:
    return sorted(p for p in TABLES_DIR.glob("*.csv") if p.name not in _NOT_TABLES)


def list_tables() -> list[str]:
    """Names of the shipped tables, e.g. ``"guerin2021_table_A_3"``."""
    return sorted(p.stem for p in _table_files())


@lru_cache(maxsize=None)
def _all_tables() -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype={"table": str}, keep_default_na=False, na_values=[""]) for p in _table_files()]
    frame = pd.concat(frames, ignore_index=True)
    frame["setting"] = frame["setting"].fillna("")
    return frame


def load(paper: str | None = None, table: str | None = None, **filters) -> pd.DataFrame:
    """Published values, optionally filtered: ``load("guerin2021", "A.3", dataset="coil100", metric="nmi")``.

    Any column (``dataset``, ``method``, ``setting``, ``metric``) can be filtered by a value or a list.
    """
    frame = _all_tables()
    if paper is not None:
        if paper not in set(frame["paper"]):
            raise UnknownName("paper", paper, set(frame["paper"]))
        frame = frame[frame["paper"] == paper]
    if table is not None:
        valid = set(frame["table"])
        if str(table) not in valid:
            raise UnknownName("table", str(table), valid)
        frame = frame[frame["table"] == str(table)]
    for column, wanted in filters.items():
        if column not in frame.columns:
            raise UnknownName("column", column, frame.columns)
        wanted = [wanted] if isinstance(wanted, str) or not hasattr(wanted, "__iter__") else list(wanted)
        frame = frame[frame[column].isin(wanted)]
    return frame.reset_index(drop=True)


def compare(ours: pd.DataFrame, published: pd.DataFrame, *, on=("dataset", "method", "setting", "metric"),
            method_map: dict | None = None) -> pd.DataFrame:
    """Side-by-side of our aggregated results and the published ones.

    Parameters
    ----------
    ours : DataFrame
        Output of :func:`clustlib.results.aggregate` (columns ``on`` + ``mean, std, n``).
    published : DataFrame
        Rows of :func:`load`.
    method_map : dict, optional
        Our method name -> the paper's row label, where they differ.

    Returns
    -------
    DataFrame with ``on`` + ``ours_mean, ours_std, n, paper, paper_std, delta`` (ours − paper); rows of
    ours without a published counterpart keep ``paper = NaN``.
    """
    on = list(on)
    left = ours.copy()
    if method_map:
        left["method"] = left["method"].map(lambda m: method_map.get(m, m))
    left = left.rename(columns={"mean": "ours_mean", "std": "ours_std"})
    right = published[on + ["value", "std"]].rename(columns={"value": "paper", "std": "paper_std"})
    merged = left.merge(right, on=on, how="left")
    merged["delta"] = merged["ours_mean"] - merged["paper"]
    keep = on + [c for c in ("ours_mean", "ours_std", "n", "paper", "paper_std", "delta") if c in merged]
    return merged[keep]
