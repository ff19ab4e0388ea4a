"""CIFAR-10 and CIFAR-100 "python version" pickles, read without torchvision.

Each batch file is a pickled dict with ``data`` (N, 3072) uint8, channel-major 32x32 planes (R, G, B),
and ``labels`` (CIFAR-10) or ``fine_labels`` and ``coarse_labels`` (CIFAR-100). The meta files
(``batches.meta``, ``meta``) hold the class names. torchvision's CIFAR100 never reads the 20 coarse
"superclass" labels that the clustering papers use, hence this reader.

Unpickling is restricted to the few numpy names these files need, so a tampered file cannot run code.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from clustlib.data._files import read_bytes, truncated_error
from clustlib.errors import DatasetUnavailable

__all__ = ["read_cifar_batch", "read_cifar_meta", "CIFAR10_TRAIN", "CIFAR10_TEST", "CIFAR100_TRAIN",
           "CIFAR100_TEST"]

CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST = ("test_batch",)
CIFAR100_TRAIN = ("train",)
CIFAR100_TEST = ("test",)

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),  # arrays pickled with protocol 5
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # bytes pickled by Python 3 with protocol 2
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR file")
        return super().find_class(module, name)


def _unpickle(path: Path, dataset: str, how_to_get: str) -> dict:
    raw = read_bytes(path, dataset=dataset, how_to_get=how_to_get)
    try:
        # latin1 decodes the Python 2 byte strings of the official files into str keys
        obj = _SafeUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise truncated_error(dataset, path, detail=f"it does not unpickle ({type(exc).__name__}: {exc})",
                              how_to_get=how_to_get) from exc
    if not isinstance(obj, dict):
        raise truncated_error(dataset, path, detail="it does not hold a dict", how_to_get=how_to_get)
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def read_cifar_batch(
    path: str | Path,
    *,
    label_key: str = "labels",
    dataset: str = "cifar",
    how_to_get: str = "download the archive again.",
) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR batch pickle.

    Parameters
    ----------
    path : str or Path
        ``data_batch_1`` ... ``test_batch`` (CIFAR-10) or ``train``/``test`` (CIFAR-100).
    label_key : str
        ``"labels"`` (CIFAR-10), ``"fine_labels"`` or ``"coarse_labels"`` (CIFAR-100).

    Returns
    -------
    images : ndarray of uint8, shape (N, 32, 32, 3)
    labels : ndarray of int64, shape (N,)

    References
    ----------
    A. Krizhevsky, "Learning multiple layers of features from tiny images", Tech. report, U. Toronto,
    2009; https://www.cs.toronto.edu/~kriz/cifar.html (format of the python version).
    """
    path = Path(path)
    batch = _unpickle(path, dataset, how_to_get)
    if "data" not in batch or label_key not in batch:
        raise DatasetUnavailable(
            f"Dataset {dataset!r}: {path} lacks the key 'data' or {label_key!r} (keys: {sorted(batch)}); it is not "
            f"an official CIFAR python batch. Get the original: {how_to_get}"
        )
    data = np.asarray(batch["data"])
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != labels.shape[0]:
        raise truncated_error(
            dataset, path,
            detail=f"'data' has dtype {data.dtype} and shape {data.shape} with {labels.shape[0]} labels, expected "
                   "uint8 (N, 3072) with N labels",
            how_to_get=how_to_get,
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, 32, 32, 3)
    return np.ascontiguousarray(images), labels


def read_cifar_meta(path: str | Path, key: str, *, dataset: str = "cifar",
                    how_to_get: str = "download the archive again.") -> tuple[str, ...]:
    """Class names from ``batches.meta`` (key ``label_names``) or ``meta`` (``fine_label_names``,
    ``coarse_label_names``)."""
    meta = _unpickle(Path(path), dataset, how_to_get)
    if key not in meta:
        raise DatasetUnavailable(f"Dataset {dataset!r}: {path} has no {key!r} (keys: {sorted(meta)}). "
                                 f"Get the original: {how_to_get}")
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta[key])
