"""The official Oxford 17 Flowers archive as an image listing: labels from the file numbers.

References
----------
M.-E. Nilsback, A. Zisserman, "Delving deeper into the whorl of flower segmentation", IVC 28, 2010;
https://www.robots.ox.ac.uk/~vgg/data/flowers/17/.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from clustlib.data.sources.folder import FolderListing
from clustlib.errors import DatasetUnavailable

__all__ = ["FLOWERS17_PER_CLASS", "scan_flowers17_archive"]

#: The official Oxford 17 Flowers archive (17flowers.tgz) holds jpg/image_0001.jpg ... image_1360.jpg, 80 per class
#: in class order and no label file: image n belongs to class (n - 1) // 80.
FLOWERS17_PER_CLASS = 80
_FLOWERS17_FILE = re.compile(r"image_(\d{4})\.jpg")


def scan_flowers17_archive(folder: Path, *, dataset: str = "flowers17") -> FolderListing | None:
    """The official Flowers-17 layout, ``folder/jpg/image_NNNN.jpg`` (or those files directly in ``folder``), with
    class ``(NNNN - 1) // 80``; None when ``folder`` is not laid out so (a tree of class folders, say).

    Classes are named by their block of files (``"01 (image_0001-0080)"``): the archive carries no species names.
    """
    for candidate in (folder / "jpg", folder):
        if not candidate.is_dir():
            continue
        found = sorted((int(m.group(1)), p) for p in candidate.iterdir()
                       if p.is_file() and (m := _FLOWERS17_FILE.fullmatch(p.name)))
        if not found:
            continue
        numbers = [n for n, _ in found]
        n_classes = 17
        if numbers[0] < 1 or numbers[-1] > n_classes * FLOWERS17_PER_CLASS:
            raise DatasetUnavailable(
                f"Dataset {dataset!r}: {candidate} holds image_{numbers[-1]:04d}.jpg, but the official archive "
                f"numbers its images 0001-{n_classes * FLOWERS17_PER_CLASS}. Extract 17flowers.tgz again.")
        classes = tuple(f"{c + 1:02d} (image_{c * FLOWERS17_PER_CLASS + 1:04d}-{(c + 1) * FLOWERS17_PER_CLASS:04d})"
                        for c in range(n_classes))
        labels = np.asarray([(n - 1) // FLOWERS17_PER_CLASS for n in numbers], dtype=np.int64)
        return FolderListing(candidate, tuple(p for _, p in found), labels, classes)
    return None
