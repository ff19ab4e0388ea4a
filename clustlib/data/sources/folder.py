"""Image trees: ``<root>/<class>/**/<image>`` (torchvision ImageFolder layout) and flat folders whose
file names carry the class (COIL-100's ``obj<k>__<angle>.png``).

Classes are the sorted names of the sub-folders; files are walked in sorted order (symbolic links
followed), so a tree always gives the same order. Images are decoded with Pillow, converted to RGB
(as torchvision's default loader does) and stretched to one size, ignoring the aspect ratio, as the
Keras ``load_img(target_size=...)`` call in the pretrained-feature paper's code did.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from clustlib.data.transforms import check_image_size, check_resample, resize_image
from clustlib.errors import DatasetUnavailable, InvalidParameter

__all__ = ["IMAGE_EXTENSIONS", "FolderListing", "scan_image_folder", "scan_selected_folders", "scan_flat_folder",
           "decode_images"]

#: File extensions treated as images (case-insensitive), the same list as torchvision's ImageFolder.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class FolderListing:
    """The images of a tree and their classes, before any pixel is decoded.

    Attributes
    ----------
    root : Path
    paths : tuple of Path, length N
    labels : ndarray of int64, shape (N,)
    classes : tuple of str
    """

    root: Path
    paths: tuple
    labels: np.ndarray
    classes: tuple


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def _walk_images(folder: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in sorted(filenames) if _is_image(f))
    return found


def scan_image_folder(root: str | Path, *, dataset: str = "folder") -> FolderListing:
    """List ``<root>/<class>/**/<image>``.

    Raises
    ------
    DatasetUnavailable
        ``root`` is not a folder, has no class sub-folders, or a class folder holds no image.
    """
    root = Path(root)
    layout = f"{root}/<class name>/<image>{{{','.join(IMAGE_EXTENSIONS)}}}"
    if not root.is_dir():
        raise DatasetUnavailable(f"Dataset {dataset!r}: {root} is not a folder. Expected the layout {layout}.")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DatasetUnavailable(
            f"Dataset {dataset!r}: {root} has no class sub-folders. Expected the layout {layout} "
            "(one sub-folder per class)."
        )
    return _list_classes(root, [(d.name, d) for d in class_dirs], dataset, layout)


def scan_selected_folders(root: str | Path, class_names, *, dataset: str = "folder") -> FolderListing:
    """List ``<root>/<name>/**/<image>`` for the given class folders only, labelled in the given order.

    Used to take ImageNet-10 or ImageNet-Dogs straight from a full ImageNet ``train`` tree.
    """
    root = Path(root)
    missing = [n for n in class_names if not (root / n).is_dir()]
    if missing:
        raise DatasetUnavailable(
            f"Dataset {dataset!r}: {root} lacks the class folder(s) {', '.join(missing)}."
        )
    return _list_classes(root, [(n, root / n) for n in class_names], dataset, f"{root}/<class name>/<image>")


def _list_classes(root: Path, named_dirs: list, dataset: str, layout: str) -> FolderListing:
    paths: list[Path] = []
    labels: list[int] = []
    empty = []
    for label, (name, class_dir) in enumerate(named_dirs):
        files = _walk_images(class_dir)
        if not files:
            empty.append(name)
        paths.extend(files)
        labels.extend([label] * len(files))
    if empty:
        raise DatasetUnavailable(
            f"Dataset {dataset!r}: the class folder(s) {', '.join(empty)} under {root} hold no image "
            f"({', '.join(IMAGE_EXTENSIONS)}). Remove them or fill them; expected the layout {layout}."
        )
    return FolderListing(root, tuple(paths), np.asarray(labels, dtype=np.int64), tuple(n for n, _ in named_dirs))


def scan_flat_folder(root: str | Path, pattern: str, *, dataset: str = "folder") -> FolderListing:
    """List a flat folder whose file names carry the class in the regex group ``label``.

    Classes are the distinct ``label`` strings, sorted numerically when they are all digits.
    """
    root = Path(root)
    regex = re.compile(pattern)
    if not root.is_dir():
        raise DatasetUnavailable(f"Dataset {dataset!r}: {root} is not a folder.")
    matched = [(p, m.group("label")) for p in sorted(root.iterdir())
               if p.is_file() and _is_image(p.name) and (m := regex.fullmatch(p.name))]
    if not matched:
        raise DatasetUnavailable(
            f"Dataset {dataset!r}: no image in {root} has a name matching {pattern!r}."
        )
    names = sorted({c for _, c in matched}, key=lambda c: (int(c), c) if c.isdigit() else (float("inf"), c))
    index = {c: i for i, c in enumerate(names)}
    return FolderListing(
        root,
        tuple(p for p, _ in matched),
        np.asarray([index[c] for _, c in matched], dtype=np.int64),
        tuple(names),
    )


def _decode_one(path: Path, size: tuple[int, int], resample: str, mode: str, dataset: str) -> np.ndarray:
    try:
        with Image.open(path) as image:
            image.load()
            return resize_image(image.convert(mode), size, resample)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DatasetUnavailable(
            f"Dataset {dataset!r}: the image {path} cannot be decoded ({exc}); it is probably truncated or not an "
            "image. Replace it with the original file or delete it."
        ) from exc


def decode_images(
    paths,
    image_size,
    *,
    resample: str = "bilinear",
    mode: str = "RGB",
    n_jobs: int = 1,
    progress: bool = True,
    dataset: str = "folder",
) -> np.ndarray:
    """Decode image files into one uint8 array, each stretched to ``image_size``.

    Parameters
    ----------
    paths : sequence of Path, length N
    image_size : int or (int, int)
        Target S x S or (height, width) in pixels; the aspect ratio is not kept.
    resample : {"nearest", "bilinear", "bicubic", "lanczos", "box"}
    mode : {"RGB", "L"}
        Pillow mode every image is converted to (3 or 1 channels).
    n_jobs : int
        Decoding threads (Pillow releases the GIL while decoding and resizing).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    ndarray of uint8, shape (N, H, W, 3) for RGB or (N, H, W, 1) for L
    """
    size = check_image_size(image_size, allow_none=False)
    check_resample(resample)
    if mode not in ("RGB", "L"):
        raise InvalidParameter(f"mode={mode!r} must be 'RGB' or 'L'.")
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise InvalidParameter(f"n_jobs={n_jobs!r} must be a positive int.")
    paths = list(paths)
    out = np.empty((len(paths), *size, 3 if mode == "RGB" else 1), dtype=np.uint8)
    bar = tqdm(total=len(paths), desc=f"decoding {dataset}", unit="img", disable=not progress)
    with bar:
        if n_jobs == 1:
            for i, path in enumerate(paths):
                out[i] = _decode_one(path, size, resample, mode, dataset)
                bar.update()
        else:
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                decoded = pool.map(lambda p: _decode_one(p, size, resample, mode, dataset), paths)
                for i, image in enumerate(decoded):
                    out[i] = image
                    bar.update()
    return out
