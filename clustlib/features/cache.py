"""On-disk feature cache: ``cache_root()/features/<key>.npy`` plus a ``<key>.json`` provenance note.

The key is the SHA-256 of everything that decides the numbers: the dataset fingerprint, the
extractor name, the layer (and the module it reads), the preprocessing, the weights file's
SHA-256 and the compute precision. Files are written to a temporary name and renamed into place,
so a crash never leaves a truncated array under a valid key, and two processes computing the same
key both end with a complete file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from clustlib._atomic import atomic_write_text, temporary_sibling
from clustlib.paths import cache_root

__all__ = ["features_dir", "feature_cache_key", "load_cached", "open_for_writing", "commit", "discard"]

#: Bump when the meaning of cached arrays changes (layout, flatten order...).
CACHE_FORMAT = 1


def features_dir(root: str | os.PathLike | None = None) -> Path:
    """Folder of cached features: ``cache_root(root)/features``."""
    return cache_root(root) / "features"


def feature_cache_key(
    *,
    fingerprint: str,
    extractor: str,
    layer: str,
    tap: dict,
    preprocessing: dict,
    weights_sha256: str,
    compute_dtype: str,
) -> str:
    """SHA-256 hex key of one (dataset, extractor, layer) feature matrix; see the module docstring."""
    payload = {
        "format": CACHE_FORMAT,
        "fingerprint": fingerprint,
        "extractor": extractor,
        "layer": layer,
        "tap": tap,
        "preprocessing": preprocessing,
        "weights_sha256": weights_sha256,
        "compute_dtype": compute_dtype,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def load_cached(path: Path, n_rows: int, mmap_threshold_bytes: int) -> np.ndarray | None:
    """The cached float32 (N, D) array at ``path``, or None if absent or unusable.

    Arrays larger than ``mmap_threshold_bytes`` come back memory-mapped read-only.
    """
    if not path.is_file():
        return None
    try:
        array = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    if array.dtype != np.float32 or array.ndim != 2 or array.shape[0] != n_rows:
        return None
    if array.nbytes <= mmap_threshold_bytes:
        array = np.array(array)  # small: plain in-memory array
    return array


def open_for_writing(final: Path, shape: tuple[int, int]) -> tuple[np.memmap, Path]:
    """A writable float32 memmap of ``shape`` at a temporary path next to ``final``."""
    tmp = temporary_sibling(final)
    return np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape), tmp


def commit(array: np.memmap, tmp: Path, final: Path, note: dict) -> None:
    """Flush ``array`` and atomically rename ``tmp`` to ``final``; write the provenance note next to it."""
    array.flush()
    del array
    os.replace(tmp, final)  # the second half of the atomic write open_for_writing began
    atomic_write_text(final.with_suffix(".json"), json.dumps(note, indent=1, sort_keys=True), durable=False)


def discard(tmp: Path) -> None:
    """Remove a temporary file left by an interrupted extraction."""
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
