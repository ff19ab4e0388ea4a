"""USPS handwritten digits in the bz2-compressed libsvm text files that torchvision downloads.

Each line is ``<label 1..10> 1:<v> 2:<v> ... 256:<v>`` with pixel values in [-1, 1] of a 16x16
image in row-major order. Pixels map to uint8 exactly as torchvision's ``USPS`` does,
``uint8((v + 1) / 2 * 255)`` (truncation), so results match loaders built on torchvision
(ClustPy's among them). Labels 1..10 map to digits 0..9.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from sklearn.datasets import load_svmlight_file

from clustlib.data._files import read_bytes, truncated_error

__all__ = ["read_usps"]

_SIDE = 16


def read_usps(
    path: str | Path,
    *,
    dataset: str = "usps",
    how_to_get: str = "download the file again.",
) -> tuple[np.ndarray, np.ndarray]:
    """Read ``usps.bz2`` (7,291 training images) or ``usps.t.bz2`` (2,007 test images).

    Returns ``(images, labels)``: uint8 (N, 16, 16, 1) and int64 (N,) digits 0..9.

    Raises
    ------
    DatasetUnavailable
        The file is missing, its bz2 stream is cut, or a line is not ``label index:value ...`` with
        indices in 1..256.

    References
    ----------
    J. J. Hull, "A database for handwritten text recognition research", IEEE TPAMI 16(5), 1994;
    files from https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass.html#usps.
    """
    path = Path(path)
    raw = read_bytes(path, dataset=dataset, how_to_get=how_to_get)
    try:
        sparse, target = load_svmlight_file(io.BytesIO(bytes(raw)), n_features=_SIDE * _SIDE, zero_based=False)
    except (ValueError, IndexError) as exc:
        raise truncated_error(dataset, path, detail=f"it is not libsvm text with 256 features ({exc})",
                              how_to_get=how_to_get) from exc
    labels = target.astype(np.int64)
    if labels.size == 0 or labels.min() < 1 or labels.max() > 10 or not np.array_equal(labels, target):
        raise truncated_error(dataset, path, detail="it holds no lines with integer labels in 1..10",
                              how_to_get=how_to_get)
    pixels = sparse.toarray().astype(np.float32)  # (N, 256); libsvm leaves out zero values only
    images = ((pixels + 1.0) / 2.0 * 255.0).astype(np.uint8)  # same rounding as torchvision.datasets.USPS
    return images.reshape(-1, _SIDE, _SIDE, 1), labels - 1
