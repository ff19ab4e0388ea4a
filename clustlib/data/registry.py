"""Dataset registry: names -> (where the files are, how to read them, what the dataset is).

A dataset is registered with :func:`register_dataset`, which takes a *locate* function (cheap: find
the files under the data root or raise :class:`~clustlib.errors.DatasetUnavailable`) and decorates a
*loader* (read labels, return a :class:`RawDataset` whose pixels are read on demand). :func:`load`
validates every argument, locates, draws the stratified subset from the labels, and only then reads
(and, for image trees, decodes) the pixels it needs.

Layers: :mod:`clustlib.data.raw` (the loader contract) and :mod:`clustlib.data.folders` (image trees and
``folder:<path>``) sit below this module; the built-in entries (:mod:`clustlib.data.catalog`) above it, and
``clustlib.data`` imports them, so every built-in is registered before any :func:`load`.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from clustlib.data import folders
from clustlib.data.folders import FOLDER_PREFIX
from clustlib.data.imageset import ImageSet
from clustlib.data.raw import LoadRequest, RawDataset
from clustlib.data.subset import check_subset_size, stratified_subset
from clustlib.data.transforms import check_image_size, check_resample, resize_images
from clustlib.errors import DatasetUnavailable, InvalidParameter, UnknownName
from clustlib.paths import data_root

__all__ = [
    "LoadRequest",
    "RawDataset",
    "register_dataset",
    "list_datasets",
    "dataset_info",
    "is_available",
    "count_images",
    "load",
    "download",
    "FOLDER_PREFIX",
]

_SPLITS = ("train", "test", "all")


@dataclass(frozen=True)
class _Entry:
    name: str
    loader: Callable
    locate: Callable
    downloader: Callable | None
    metadata: dict


_REGISTRY: dict[str, _Entry] = {}
_REQUIRED = ("description", "n_classes", "splits", "source_url", "how_to_get")


def register_dataset(name: str, *, locate: Callable, downloader: Callable | None = None,
                     overwrite: bool = False, **metadata) -> Callable:
    """Decorator registering a dataset loader under ``name``.

    Parameters
    ----------
    name : str
        Canonical name (lower case, as in ``paper_tables``).
    locate : callable
        ``locate(root: Path, split: str) -> located``; finds the files without reading pixels, or raises
        :class:`DatasetUnavailable` naming every place it looked and how to get the data.
    downloader : callable, optional
        ``downloader(root: Path) -> None`` fetches the files into ``root`` (torchvision); used by
        ``load(..., download=True)`` and :func:`download`.
    overwrite : bool
        Replace an existing entry (tests, user extensions).
    **metadata
        Must hold ``description``, ``n_classes``, ``splits`` (dict split -> number of images, None when
        unknown), ``source_url`` and ``how_to_get``; typically also ``image_shape``,
        ``default_image_size``, ``layout``, ``license``, ``citation``, ``offline``, ``task``, ``notes``.

    The decorated loader is called as ``loader(request: LoadRequest, located) -> RawDataset``.
    """
    missing = [key for key in _REQUIRED if key not in metadata]
    if missing:
        raise InvalidParameter(f"register_dataset({name!r}) lacks the metadata {', '.join(missing)}.")
    if not set(metadata["splits"]) <= set(_SPLITS) or "all" not in metadata["splits"]:
        raise InvalidParameter(f"register_dataset({name!r}): splits must include 'all' and use only {_SPLITS}.")

    def decorator(loader: Callable) -> Callable:
        if name in _REGISTRY and not overwrite:
            raise InvalidParameter(f"Dataset {name!r} is already registered; pass overwrite=True to replace it.")
        meta = {"name": name, "default_image_size": None, "image_shape": None, **metadata}
        meta.setdefault("download", "clustlib data download " + name if downloader else meta["how_to_get"])
        _REGISTRY[name] = _Entry(name, loader, locate, downloader, meta)
        return loader

    return decorator


def list_datasets(pattern: str | None = None) -> list[str]:
    """Sorted registered names, optionally filtered by a shell-style ``pattern`` (``"*mnist*"``).

    ``folder:<path>`` (any image tree) is accepted by :func:`load` but not listed.
    """
    names = sorted(_REGISTRY)
    return names if pattern is None else [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def _entry(name) -> _Entry:
    if not isinstance(name, str) or name not in _REGISTRY:
        raise UnknownName("dataset", str(name), [*_REGISTRY, FOLDER_PREFIX + "<path>"])
    return _REGISTRY[name]


def dataset_info(name: str) -> dict:
    """Metadata of a dataset: a new dict (name, description, n_classes, splits, image_shape,
    default_image_size, layout, source_url, how_to_get, download, license, citation, offline, ...)."""
    if isinstance(name, str) and name.startswith(FOLDER_PREFIX):
        return folders.folder_metadata(name[len(FOLDER_PREFIX):])
    meta = dict(_entry(name).metadata)
    meta["splits"] = dict(meta["splits"])
    return meta


def is_available(name: str, *, split: str = "all", root: str | os.PathLike | None = None) -> bool:
    """Whether the files of ``name`` (one of its ``split``) are found; reads no pixel, never downloads."""
    try:
        if isinstance(name, str) and name.startswith(FOLDER_PREFIX):
            folders.folder_locate(name, data_root(root))
        else:
            entry = _entry(name)
            _check_split(name, split, entry.metadata["splits"])
            entry.locate(data_root(root), split)
    except DatasetUnavailable:
        return False
    return True


def count_images(name: str, *, split: str = "all", root: str | os.PathLike | None = None) -> int | None:
    """Number of images of ``name`` (one of its ``split``) as the files under the data root hold them, or None when
    they are not there. Image trees are counted from their listing (nothing decoded); array datasets are read by
    their loader (seconds for the largest, CIFAR or STL-10). Never downloads."""
    folder_root = data_root(root)
    try:
        if isinstance(name, str) and name.startswith(FOLDER_PREFIX):
            return len(folders.folder_locate(name, folder_root).labels)
        entry = _entry(name)
        _check_split(name, split, entry.metadata["splits"])
        located = entry.locate(folder_root, split)
        request = LoadRequest(name, folder_root, split, None, "bilinear", 1, False)
        return int(len(entry.loader(request, located).labels))
    except DatasetUnavailable:
        return None


def _check_split(name: str, split, splits) -> str:
    if split not in splits:
        hint = " (it has no train/test split)" if list(splits) == ["all"] else ""
        raise InvalidParameter(
            f"split={split!r} is not a split of {name!r}{hint}; use one of {', '.join(map(repr, splits))}."
        )
    return split


def _run_downloader(entry: _Entry, root: Path) -> None:
    if entry.downloader is None:
        raise DatasetUnavailable(
            f"Dataset {entry.name!r} has no automatic download (its license or host does not allow one). "
            f"{entry.metadata['how_to_get']}"
        )
    root.mkdir(parents=True, exist_ok=True)
    try:
        entry.downloader(root)
    except DatasetUnavailable:
        raise
    except Exception as exc:  # urllib, http, RuntimeError from torchvision: all mean "could not fetch"
        raise DatasetUnavailable(
            f"Downloading dataset {entry.name!r} into {root} failed ({type(exc).__name__}: {exc}). Is there a "
            f"network? Otherwise get the files by hand: {entry.metadata['how_to_get']}"
        ) from exc


def download(name: str, *, root: str | os.PathLike | None = None) -> Path:
    """Fetch ``name``'s files into the data root (no-op when they are there); returns the root.

    Raises :class:`DatasetUnavailable` when there is no network or no automatic download.
    """
    entry = _entry(name)
    folder = data_root(root)
    splits = [s for s in entry.metadata["splits"] if s != "all"] or ["all"]
    try:
        for split in splits:
            entry.locate(folder, split)
    except DatasetUnavailable:
        _run_downloader(entry, folder)
        for split in splits:
            entry.locate(folder, split)
    return folder


def _check_int(value, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidParameter(f"{what}={value!r} must be an int >= {minimum}.")
    return int(value)


def load(
    name: str,
    *,
    split: str = "all",
    subset: int | None = None,
    seed: int = 0,
    root: str | os.PathLike | None = None,
    download: bool = False,
    image_size: int | tuple | None = None,
    resample: str = "bilinear",
    n_jobs: int = 1,
    progress: bool = True,
) -> ImageSet:
    """Load a dataset by name as an :class:`ImageSet`.

    Parameters
    ----------
    name : str
        A registered name (see :func:`list_datasets`) or ``"folder:<path>"`` for any image tree
        ``<path>/<class>/<image>`` (a relative path is taken under the data root).
    split : {"all", "train", "test"}
        ``"all"`` concatenates train then test where the dataset has both. Datasets without splits
        (digits, image trees) only have ``"all"``.
    subset : int, optional
        Keep this many images in total, stratified: each class in proportion to its size
        (largest-remainder rounding), drawn with ``seed``, rows in original order.
    seed : int
        Seed of the subset draw.
    root : path, optional
        Data root; default ``$CLUSTLIB_DATA``, else ``<project>/data``.
    download : bool
        Fetch missing files with torchvision's downloaders (needs a network).
    image_size : int or (int, int), optional
        Stretch every image to S x S (or (H, W)) pixels, aspect ratio ignored (as Keras ``load_img``).
        None keeps fixed-size datasets native and uses ``dataset_info(name)["default_image_size"]``
        for image trees.
    resample : {"bilinear", "nearest", "bicubic", "lanczos", "box"}
        Pillow interpolation for resizing (Keras ``load_img`` used "nearest").
    n_jobs : int
        Threads decoding image trees.
    progress : bool
        Show a progress bar while decoding image trees.

    Returns
    -------
    ImageSet
        uint8 images (N, H, W, C), int64 labels (N,), class names, source files and fingerprint.

    Raises
    ------
    UnknownName
        ``name`` is not registered (the message lists the valid names).
    InvalidParameter
        A bad ``split``, ``subset`` (too large, or too small to keep every class), ``seed``,
        ``image_size``, ``resample`` or ``n_jobs``. Raised before any file is read.
    DatasetUnavailable
        The files are missing or truncated; the message names every place looked at and how to get them.

    References
    ----------
    The dataset's own reference is in ``dataset_info(name)["citation"]``.
    """
    folder = isinstance(name, str) and name.startswith(FOLDER_PREFIX)
    if folder:
        meta = folders.folder_metadata(name[len(FOLDER_PREFIX):])
        entry = None
    else:
        entry = _entry(name)
        meta = entry.metadata
    _check_split(name, split, meta["splits"])
    known_n = meta["splits"].get(split)
    if subset is not None:
        check_subset_size(subset, known_n, what=f"{name!r} split {split!r}")
    _check_int(seed, "seed", 0)
    size = check_image_size(image_size if image_size is not None else meta.get("default_image_size"))
    check_resample(resample)
    _check_int(n_jobs, "n_jobs", 1)
    if not isinstance(download, bool):
        raise InvalidParameter(f"download={download!r} must be True or False.")
    folder_root = data_root(root)

    if folder:
        located = folders.folder_locate(name, folder_root)
        loader = folders.load_folder
    else:
        try:
            located = entry.locate(folder_root, split)
        except DatasetUnavailable:
            if not download:
                raise
            _run_downloader(entry, folder_root)
            located = entry.locate(folder_root, split)
        loader = entry.loader
    request = LoadRequest(name, folder_root, split, size, resample, int(n_jobs), bool(progress))
    raw: RawDataset = loader(request, located)

    indices = None
    source = raw.source
    if subset is not None:
        check_subset_size(subset, len(raw.labels), what=f"{name!r} split {split!r}")
        indices = stratified_subset(raw.labels, subset, seed=seed, class_names=raw.classes)
        source += f" | stratified subset of {int(subset):,}/{len(raw.labels):,} images, seed {seed}"
    images = raw.read(indices)
    labels = raw.labels if indices is None else raw.labels[indices]
    if size is not None and tuple(images.shape[1:3]) != size:
        images = resize_images(images, size, resample)
        source += f" | resized to {size[0]}x{size[1]} ({resample})"
    return ImageSet(name=name, images=images, labels=labels, classes=raw.classes, source=source, split=split)
