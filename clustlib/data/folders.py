"""Image trees as datasets: the loader every tree shares, the ``folder:<path>`` name, and where pixels came from.

:func:`load_folder` is the loader of every registered image tree (:mod:`clustlib.data.catalog.trees`) and of
``folder:<path>`` (:func:`folder_metadata`, :func:`folder_locate`, any ``<path>/<class>/<image>`` tree a user
brings). It decodes on demand and remembers, per decoded array, which files it came from
(:func:`tree_source`), so feature extraction can decode each file once more, straight at a network's own input
size.

Below :mod:`clustlib.data.registry` (which dispatches ``folder:`` names here) and the catalog.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import NamedTuple

import numpy as np

from clustlib.data.raw import LoadRequest, RawDataset
from clustlib.data.sources.folder import FolderListing, decode_images, scan_image_folder
from clustlib.errors import DatasetUnavailable

__all__ = ["FOLDER_PREFIX", "NATURAL_SIZE", "TreeSource", "tree_source", "load_folder", "folder_metadata",
           "folder_locate"]

#: ``load("folder:<path>")`` loads any image tree ``<path>/<class>/<image>``.
FOLDER_PREFIX = "folder:"

# Default decode size of variable-size trees: the input of most of the papers' ImageNet networks (VGG, ResNet,
# DenseNet). Networks with another input (InceptionV3/Xception/Inception-ResNet-v2 299, NASNet-Large 331) do not
# resize these pixels again: clustlib.features.extract decodes the files once more, straight at their size
# (tree_source), so every network sees one resampling of the source image, as Keras' load_img(target_size=...).
NATURAL_SIZE = 224


def _listing_source(listing: FolderListing) -> str:
    return f"image tree {listing.root} ({len(listing.paths):,} files, {len(listing.classes)} classes)"


class TreeSource(NamedTuple):
    """The files the pixel rows of an image-tree ImageSet were decoded from, and how.

    Attributes
    ----------
    paths : tuple of Path
        One file per row, in row order.
    size : (int, int)
        (height, width) the rows were decoded at.
    resample : str
        Interpolation of that decode.
    dataset : str
    """

    paths: tuple
    size: tuple
    resample: str
    dataset: str


# id(pixel array) -> (weak reference to it, its TreeSource); an entry goes when its array is freed.
_TREE_SOURCES: dict[int, tuple[weakref.ref, TreeSource]] = {}


def _forget(key: int) -> None:
    _TREE_SOURCES.pop(key, None)


def _remember_source(images: np.ndarray, source: TreeSource) -> None:
    key = id(images)
    _TREE_SOURCES[key] = (weakref.ref(images, lambda _ref, key=key: _forget(key)), source)


def tree_source(images: np.ndarray) -> TreeSource | None:
    """Where the rows of ``images`` came from, if it is the pixel array ``clustlib.data.load`` decoded from an image
    tree (``ImageSet.images`` as loaded); None for any other array (array datasets, copies, ``take`` subsets).

    Feature extraction uses it to decode each file once, straight at a network's own input size, instead of
    resizing the already-resized pixels a second time.
    """
    entry = _TREE_SOURCES.get(id(images))
    if entry is None or entry[0]() is not images:
        return None
    return entry[1]


def load_folder(request: LoadRequest, listing: FolderListing) -> RawDataset:
    """Loader of every image tree: labels from the listing, pixels decoded on demand at ``image_size``."""

    def read(indices):
        paths = listing.paths if indices is None else [listing.paths[i] for i in indices]
        images = decode_images(paths, request.image_size, resample=request.resample, n_jobs=request.n_jobs,
                               progress=request.progress, dataset=request.name)
        _remember_source(images, TreeSource(tuple(paths), tuple(request.image_size), request.resample, request.name))
        return images

    return RawDataset(listing.labels, listing.classes, _listing_source(listing), read)



def _folder_path(path: str, root: Path) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else root / candidate


def folder_metadata(path: str) -> dict:
    """Metadata of ``folder:<path>``: an image tree a user brings."""
    return {
        "name": FOLDER_PREFIX + path,
        "description": f"your image tree {path} (<class>/<image>)",
        "n_classes": None,
        "splits": {"all": None},
        "image_shape": None,
        "default_image_size": NATURAL_SIZE,
        "layout": f"{path}/<class>/<image> (a relative path is taken under the data root)",
        "source_url": None,
        "how_to_get": "put one sub-folder of images per class under the path.",
        "download": None,
        "license": None,
        "citation": None,
        "offline": "yes",
    }


def folder_locate(name: str, root: Path) -> FolderListing:
    """List the tree of ``folder:<path>`` (relative paths are taken under the data root ``root``)."""
    path = _folder_path(name[len(FOLDER_PREFIX):], Path(root))
    if not path.is_dir():
        raise DatasetUnavailable(
            f"Dataset {name!r}: {path} is not a folder (a relative path is taken under the data root {root}, "
            f"which is the `root` argument, else $CLUSTLIB_DATA, else <project>/data). Give the absolute path of "
            "a folder holding one sub-folder of images per class."
        )
    return scan_image_folder(path, dataset=name)
