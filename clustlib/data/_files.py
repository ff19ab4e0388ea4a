"""Shared helpers for dataset sources: reading files whole, and the wording of missing-data errors."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from pathlib import Path

from clustlib.errors import DatasetUnavailable

__all__: list[str] = []  # private module

_ROOT_RULE = "the data root is the `root` argument, else $CLUSTLIB_DATA, else <project>/data"


def read_bytes(path: Path, *, dataset: str, how_to_get: str) -> bytearray:
    """The file's bytes, transparently decompressing ``.gz`` and ``.bz2``.

    A compressed stream that ends early raises :class:`DatasetUnavailable` saying the file is
    truncated, how many bytes it has, and how to get it again.
    """
    path = Path(path)
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix)
    try:
        if opener is None:
            with open(path, "rb") as handle:
                return bytearray(handle.read())
        with opener(path, "rb") as handle:
            return bytearray(handle.read())
    except (EOFError, gzip.BadGzipFile, OSError, zlib.error, lzma.LZMAError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise missing_error(dataset, [path], how_to_get) from exc
        if isinstance(exc, PermissionError):
            raise DatasetUnavailable(
                f"Dataset {dataset!r}: cannot read {path} (permission denied); fix its permissions."
            ) from exc
        raise truncated_error(
            dataset, path, detail=f"its compressed stream is cut or corrupt ({exc})", how_to_get=how_to_get
        ) from exc


def truncated_error(dataset: str, path: Path, *, detail: str, how_to_get: str) -> DatasetUnavailable:
    """The error for a file that is there but incomplete or corrupt."""
    size = Path(path).stat().st_size if Path(path).exists() else 0
    return DatasetUnavailable(
        f"Dataset {dataset!r}: the file {path} ({size:,} bytes on disk) is truncated or corrupt: {detail}. "
        f"Delete it and get it again: {how_to_get}"
    )


def missing_error(dataset: str, looked: list, how_to_get: str, *, what: str = "its files") -> DatasetUnavailable:
    """The error for a dataset whose files are in none of the places we looked."""
    places = "; ".join(str(p) for p in looked)
    return DatasetUnavailable(
        f"Dataset {dataset!r} is not available: cannot find {what}. Looked in: {places}. "
        f"({_ROOT_RULE}; set CLUSTLIB_DATA to use another folder.) To get it: {how_to_get}"
    )
