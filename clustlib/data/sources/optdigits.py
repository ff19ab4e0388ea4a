"""UCI Optical Recognition of Handwritten Digits (Optdigits) and scikit-learn's ``digits``.

The UCI files ``optdigits.tra`` (3,823 rows) and ``optdigits.tes`` (1,797 rows) are comma-separated:
64 counts in 0..16 (an 8x8 image, row-major; each count is the number of set pixels in a 4x4 block of
the original 32x32 bitmap) followed by the digit. scikit-learn's bundled ``load_digits`` is exactly
``optdigits.tes``. Counts become uint8 pixels as ``round(v * 255 / 16)``; the map is one-to-one, so
``round(p * 16 / 255)`` recovers the original counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clustlib.data._files import read_bytes, truncated_error

__all__ = ["read_optdigits", "counts_to_uint8"]


def counts_to_uint8(counts: np.ndarray) -> np.ndarray:
    """Map Optdigits block counts in [0, 16] to uint8 pixels ``round(v * 255 / 16)``."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.rint(counts * (255.0 / 16.0)).astype(np.uint8)


def read_optdigits(
    path: str | Path,
    *,
    dataset: str = "optdigits",
    how_to_get: str = "download the file again.",
) -> tuple[np.ndarray, np.ndarray]:
    """Read ``optdigits.tra`` or ``optdigits.tes`` as ``(images, labels)``: uint8 (N, 8, 8, 1) and int64 (N,),
    digits 0..9.

    References
    ----------
    E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning
    Repository, 1998; https://archive.ics.uci.edu/dataset/80.
    """
    path = Path(path)
    text = read_bytes(path, dataset=dataset, how_to_get=how_to_get).decode("ascii", errors="replace")
    rows = [line for line in text.splitlines() if line.strip()]
    try:
        table = np.array([[int(v) for v in line.split(",")] for line in rows], dtype=np.int64)
    except ValueError as exc:
        raise truncated_error(dataset, path, detail=f"a row is not 65 comma-separated integers ({exc})",
                              how_to_get=how_to_get) from exc
    if table.ndim != 2 or table.shape[0] == 0 or table.shape[1] != 65:
        raise truncated_error(dataset, path, detail=f"expected rows of 65 integers, got shape {table.shape}",
                              how_to_get=how_to_get)
    counts, labels = table[:, :64], table[:, 64]
    if counts.min() < 0 or counts.max() > 16 or labels.min() < 0 or labels.max() > 9:
        raise truncated_error(dataset, path, detail="counts must lie in 0..16 and labels in 0..9",
                              how_to_get=how_to_get)
    return counts_to_uint8(counts).reshape(-1, 8, 8, 1), labels
