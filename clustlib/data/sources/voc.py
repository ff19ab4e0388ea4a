"""PASCAL VOC2007 test set as a single-label image listing (the images whose objects are all of one class).

References
----------
M. Everingham et al., "The PASCAL Visual Object Classes Challenge 2007 (VOC2007) Results", 2007;
http://host.robots.ox.ac.uk/pascal/VOC/voc2007/. J. Guérin et al., Neurocomputing 423 (2021), Table 1.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from clustlib.data.sources.folder import FolderListing
from clustlib.errors import DatasetUnavailable

__all__ = ["scan_voc2007_single_label"]


def _voc_classes_of(annotation: Path) -> set:
    return {obj.findtext("name", "").strip() for obj in ET.parse(annotation).getroot().iter("object")}


def scan_voc2007_single_label(devkit: Path, *, dataset: str = "voc2007") -> FolderListing:
    """The VOC2007 test images whose objects all belong to one class (the pretrained-feature paper's set).

    ``devkit`` is ``VOCdevkit/VOC2007`` of the official test archive (``ImageSets/Main/test.txt``,
    ``Annotations/``, ``JPEGImages/``). Every object counts, "difficult" ones included.
    """
    ids = [line.strip() for line in (devkit / "ImageSets" / "Main" / "test.txt").read_text().splitlines()
           if line.strip()]
    kept = []
    for image_id in ids:
        try:
            names = _voc_classes_of(devkit / "Annotations" / f"{image_id}.xml")
        except (OSError, ET.ParseError) as exc:
            raise DatasetUnavailable(f"Dataset {dataset!r}: cannot read the annotation of {image_id} ({exc}). "
                                     f"Extract VOCtest_06-Nov-2007.tar again.") from exc
        if len(names) == 1:
            kept.append((image_id, names.pop()))
    classes = tuple(sorted({c for _, c in kept}))
    index = {c: i for i, c in enumerate(classes)}
    return FolderListing(devkit, tuple(devkit / "JPEGImages" / f"{i}.jpg" for i, _ in kept),
                         np.asarray([index[c] for _, c in kept], dtype=np.int64), classes)
