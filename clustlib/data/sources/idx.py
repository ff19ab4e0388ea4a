"""IDX files: the format of MNIST, Fashion-MNIST and KMNIST (plain or gzip-compressed).

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>`` (type ``0x08`` = unsigned
byte), then ``ndim`` big-endian uint32 dimensions, then the values in C order. Image files have
magic 2051 (three dimensions N, rows, columns), label files magic 2049 (one dimension N).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clustlib.data._files import read_bytes, truncated_error
from clustlib.errors import DatasetUnavailable

__all__ = ["read_idx", "read_idx_pair", "IMAGES_MAGIC", "LABELS_MAGIC"]

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_UBYTE = 0x08


def read_idx(
    path: str | Path,
    *,
    magic: int | None = None,
    dataset: str = "idx",
    how_to_get: str = "download the file again.",
) -> np.ndarray:
    """Read one unsigned-byte IDX file into a writable uint8 array.

    Parameters
    ----------
    path : str or Path
        The file, uncompressed or ``.gz``.
    magic : int, optional
        Expected magic number (2051 for images, 2049 for labels); checked when given.
    dataset, how_to_get : str
        Used in error messages only.

    Returns
    -------
    ndarray of uint8
        Shape given by the header, e.g. (N, 28, 28) for images or (N,) for labels.

    Raises
    ------
    DatasetUnavailable
        The file is missing, is not an unsigned-byte IDX file, or is shorter or longer than its
        header says (the message gives expected and actual byte counts).

    References
    ----------
    Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database of handwritten digits",
    http://yann.lecun.com/exdb/mnist/ (file format section).
    """
    path = Path(path)
    raw = read_bytes(path, dataset=dataset, how_to_get=how_to_get)
    if len(raw) < 4:
        raise truncated_error(dataset, path, detail=f"it holds {len(raw)} bytes, less than an IDX header",
                              how_to_get=how_to_get)
    ndim = raw[3]
    if raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE or ndim == 0:
        raise DatasetUnavailable(
            f"Dataset {dataset!r}: {path} is not an unsigned-byte IDX file (magic bytes {bytes(raw[:4]).hex()}, "
            f"expected 0000 08 nn). Replace it with the original file: {how_to_get}"
        )
    found_magic = int.from_bytes(raw[:4], "big")
    if magic is not None and found_magic != magic:
        kind = {IMAGES_MAGIC: "an image", LABELS_MAGIC: "a label"}.get(magic, "an IDX")
        raise DatasetUnavailable(
            f"Dataset {dataset!r}: {path} has magic number {found_magic}, but {kind} file has {magic}. "
            f"Were the image and label files swapped or renamed? Get the originals: {how_to_get}"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise truncated_error(dataset, path, detail=f"its header needs {header} bytes, the file has {len(raw)}",
                              how_to_get=how_to_get)
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    n_values = int(np.prod(dims, dtype=np.int64))
    expected = header + n_values
    if len(raw) != expected:
        word = "truncated" if len(raw) < expected else "longer than its header says"
        raise truncated_error(
            dataset, path,
            detail=f"it is {word}: header shape {dims} needs {expected:,} bytes (decompressed), found {len(raw):,}",
            how_to_get=how_to_get,
        )
    return np.frombuffer(raw, dtype=np.uint8, count=n_values, offset=header).reshape(dims)


def read_idx_pair(
    images_path: str | Path,
    labels_path: str | Path,
    *,
    dataset: str = "idx",
    how_to_get: str = "download the files again.",
) -> tuple[np.ndarray, np.ndarray]:
    """Read an (images, labels) pair of IDX files and check that they agree.

    Returns
    -------
    images : ndarray of uint8, shape (N, H, W, 1)
    labels : ndarray of int64, shape (N,)
    """
    labels = read_idx(labels_path, magic=LABELS_MAGIC, dataset=dataset, how_to_get=how_to_get)
    images = read_idx(images_path, magic=IMAGES_MAGIC, dataset=dataset, how_to_get=how_to_get)
    if images.shape[0] != labels.shape[0]:
        raise DatasetUnavailable(
            f"Dataset {dataset!r}: {images_path} holds {images.shape[0]:,} images but {labels_path} holds "
            f"{labels.shape[0]:,} labels; the pair does not belong together. Get both again: {how_to_get}"
        )
    return images[..., None], labels.astype(np.int64)
