"""STL-10 binary files, read with numpy (no md5 of the 2.7 GB unlabeled file on every call).

``<split>_X.bin`` holds N images of 3x96x96 uint8, each stored channel by channel in column-major
order; ``<split>_y.bin`` holds N labels 1..10 as uint8; ``class_names.txt`` one name per line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clustlib.data._files import read_bytes, truncated_error

__all__ = ["read_stl10_split", "STL10_IMAGE_BYTES"]

STL10_IMAGE_BYTES = 3 * 96 * 96


def read_stl10_split(
    folder: str | Path,
    split: str,
    *,
    dataset: str = "stl10",
    how_to_get: str = "download the archive again.",
) -> tuple[np.ndarray, np.ndarray]:
    """Read ``<folder>/<split>_X.bin`` and ``<folder>/<split>_y.bin``.

    Parameters
    ----------
    folder : str or Path
        The ``stl10_binary`` folder.
    split : {"train", "test"}

    Returns ``(images, labels)``: uint8 (N, 96, 96, 3) and int64 (N,) in 0..9.

    Raises
    ------
    DatasetUnavailable
        A file is missing, or the image file's size is not N * 27,648 bytes for the N labels.

    References
    ----------
    A. Coates, H. Lee, A. Y. Ng, "An analysis of single-layer networks in unsupervised feature
    learning", AISTATS 2011; https://cs.stanford.edu/~acoates/stl10/.
    """
    folder = Path(folder)
    x_path, y_path = folder / f"{split}_X.bin", folder / f"{split}_y.bin"
    labels = np.frombuffer(read_bytes(y_path, dataset=dataset, how_to_get=how_to_get), dtype=np.uint8)
    n = labels.shape[0]
    expected = n * STL10_IMAGE_BYTES
    actual = x_path.stat().st_size if x_path.exists() else 0
    if actual != expected:
        raise truncated_error(
            dataset, x_path,
            detail=f"{y_path.name} holds {n:,} labels, so {x_path.name} should have {expected:,} bytes; it has "
                   f"{actual:,}",
            how_to_get=how_to_get,
        )
    if n and (labels.min() < 1 or labels.max() > 10):
        raise truncated_error(dataset, y_path, detail="labels must lie in 1..10", how_to_get=how_to_get)
    raw = np.fromfile(x_path, dtype=np.uint8)
    images = raw.reshape(n, 3, 96, 96).transpose(0, 3, 2, 1)  # stored (C, W, H) -> (H, W, C)
    return np.ascontiguousarray(images), labels.astype(np.int64) - 1
