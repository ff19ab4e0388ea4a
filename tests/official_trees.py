"""Writers of tiny datasets in the official file layouts the loaders of ``clustlib.data`` read.

Used by the loader tests (``test_data_sources.py``) and by the full-path test (``test_full_path.py``), which points
every dataset of every ``full`` profile at such trees. Pixels are seeded random (uint8); labels are given or
cycle through the classes so that every class is present.
"""

from __future__ import annotations

import bz2
import gzip
import pickle
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image

SEED = 1234

CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
STL10_NAMES = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")


def _rng(seed: int = SEED) -> np.random.Generator:
    return np.random.default_rng(seed)


def _save_image(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


# --- IDX (MNIST, Fashion-MNIST, KMNIST) -----------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray, *, compress: bool) -> Path:
    """One IDX file (uint8, any rank); ``compress`` appends ``.gz`` and gzips it."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def write_mnist_like(folder: Path, n_train: int, n_test: int, *, compress: bool, side: int = 28):
    """``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` in ``folder``, labels ``0..9`` cycling;
    returns ``{"train": (images, labels), "t10k": ...}``."""
    rng = _rng()
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images, compress=compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, compress=compress)
        out[prefix] = (images, labels)
    return out


# --- CIFAR / STL-10 binaries ------------------------------------------------------------------------------------


def write_cifar10(root: Path, per_batch: int = 4, *, balanced: bool = False):
    """``root/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}``; labels random (``balanced``: they
    cycle through the 10 classes across the six batches). Returns ``{batch name: batch dict}``."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = _rng()
    written = {}
    for b, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        pixels = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = (b * per_batch + np.arange(per_batch)) % 10 if balanced else rng.integers(0, 10, per_batch)
        batch = {"batch_label": name, "data": pixels, "labels": [int(v) for v in labels],
                 "filenames": ["x.png"] * per_batch}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        written[name] = batch
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": list(CIFAR10_NAMES), "num_vis": 3072},
                                                       protocol=2))
    return written


def write_cifar100(root: Path, n_train: int = 6, n_test: int = 3, *, balanced: bool = False):
    """``root/cifar-100-python/{train,test,meta}`` with fine and coarse labels (``balanced``: coarse labels cycle
    through the 20 superclasses). Returns (``{split: batch dict}``, coarse names)."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = _rng()
    written = {}
    for name, n in (("train", n_train), ("test", n_test)):
        fine = rng.integers(0, 100, n)
        pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        coarse = np.arange(n) % 20 if balanced else rng.integers(0, 20, n)
        batch = {"data": pixels, "fine_labels": [int(v) for v in fine], "coarse_labels": [int(v) for v in coarse]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        written[name] = batch
    names = [f"super{k}" for k in range(20)]
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"f{k}" for k in range(100)],
                                               "coarse_label_names": names}, protocol=2))
    return written, names


def write_stl10(root: Path, n_train: int = 3, n_test: int = 2, *, balanced: bool = False):
    """``root/stl10_binary/{train,test}_{X,y}.bin`` (column-major as the official files, labels 1..10) and
    ``class_names.txt``. Returns ``{split: (images HWC, labels 1..10)}``."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    rng = _rng()
    written = {}
    for split, n in (("train", n_train), ("test", n_test)):
        hwc = rng.integers(0, 256, (n, 96, 96, 3), dtype=np.uint8)
        labels = (np.arange(n) % 10 + 1 if balanced else rng.integers(1, 11, n)).astype(np.uint8)
        hwc.transpose(0, 3, 2, 1).tofile(folder / f"{split}_X.bin")  # official order: channel, column, row
        labels.tofile(folder / f"{split}_y.bin")
        written[split] = (hwc, labels)
    (folder / "class_names.txt").write_text("\n".join(STL10_NAMES) + "\n")
    return written


# --- USPS, Optdigits ----------------------------------------------------------------------------------------------


def write_usps(root: Path, name: str, n: int):
    """``root/<name>`` (``usps.bz2`` or ``usps.t.bz2``): bz2 libsvm lines, labels 1..10 cycling."""
    rng = _rng()
    values = rng.uniform(-1, 1, (n, 256)).round(6)
    values[:, :3] = -1.0
    labels = np.arange(n) % 10 + 1
    lines = [f"{label} " + " ".join(f"{i + 1}:{v:.6f}" for i, v in enumerate(row)) for label, row in
             zip(labels, values)]
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(bz2.compress(("\n".join(lines) + "\n").encode()))


def write_optdigits(root: Path, n_train: int, n_test: int):
    """``root/optdigits/optdigits.{tra,tes}``: UCI comma-separated rows of 64 block counts (0..16) and the digit."""
    rng = _rng()
    folder = root / "optdigits"
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("optdigits.tra", n_train), ("optdigits.tes", n_test)):
        counts = rng.integers(0, 17, (n, 64))
        lines = [",".join(map(str, row)) + f",{label}" for row, label in zip(counts, np.arange(n) % 10)]
        (folder / name).write_text("\r\n".join(lines) + "\r\n")


# --- image trees --------------------------------------------------------------------------------------------------


def write_tree(root: Path, classes: dict[str, int], *, ext: str = ".png") -> dict[str, list[np.ndarray]]:
    """``root/<class>/img_NNN<ext>``, ``classes`` = {name: count}, every image of another size."""
    rng = _rng()
    pixels = {}
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        pixels[name] = []
        for i in range(count):
            array = rng.integers(0, 256, (5 + i, 7 + 2 * i, 3), dtype=np.uint8)  # sizes differ
            Image.fromarray(array).save(root / name / f"img_{i:03d}{ext}")
            pixels[name].append(array)
    return pixels


def write_imagenet_classes(train: Path, wnids, per_class: int, *, side: int = 12, tiny: bool = False) -> None:
    """ImageNet train-style class folders: ``train/<wnid>/<wnid>_<n>.JPEG``; ``tiny`` writes Tiny-ImageNet's train
    layout instead (``train/<wnid>/images/<wnid>_<n>.JPEG`` beside ``<wnid>_boxes.txt``)."""
    rng = _rng()
    for wnid in wnids:
        folder = train / wnid / ("images" if tiny else "")
        for i in range(per_class):
            _save_image(folder / f"{wnid}_{i}.JPEG", rng.integers(0, 256, (side, side + 2, 3), dtype=np.uint8))
        if tiny:
            (train / wnid / f"{wnid}_boxes.txt").write_text(
                "".join(f"{wnid}_{i}.JPEG\t0\t0\t{side}\t{side}\n" for i in range(per_class)))


def write_stanford_dogs(root: Path, wnids, per_class: int, *, side: int = 12) -> Path:
    """Stanford Dogs' ``images.tar`` extracted: ``root/stanford_dogs/Images/<wnid>-<breed>/<wnid>_<n>.jpg``."""
    folder = root / "stanford_dogs" / "Images"
    rng = _rng()
    for k, wnid in enumerate(wnids):
        for i in range(per_class):
            _save_image(folder / f"{wnid}-breed_{k}" / f"{wnid}_{i}.jpg",
                        rng.integers(0, 256, (side, side + 3, 3), dtype=np.uint8))
    return folder


def write_voc2007(root: Path, objects: dict[str, list[str]], *, side: int = 5) -> Path:
    """The official test archive extracted: ``root/VOCdevkit/VOC2007/{Annotations,JPEGImages,ImageSets/Main}``;
    ``objects`` = {image id: class names of its objects}. Returns the devkit folder."""
    devkit = root / "VOCdevkit" / "VOC2007"
    rng = _rng()
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (devkit / sub).mkdir(parents=True, exist_ok=True)
    for image_id, names in objects.items():
        annotation = ET.Element("annotation")
        ET.SubElement(annotation, "filename").text = f"{image_id}.jpg"
        for n in names:
            obj = ET.SubElement(annotation, "object")
            ET.SubElement(obj, "name").text = n
            ET.SubElement(obj, "difficult").text = "0"
        ET.ElementTree(annotation).write(devkit / "Annotations" / f"{image_id}.xml")
        _save_image(devkit / "JPEGImages" / f"{image_id}.jpg", rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
    (devkit / "ImageSets" / "Main" / "test.txt").write_text("\n".join(objects) + "\n")
    return devkit


def write_flowers17_archive(root: Path, per_class: int, *, side: int = 6) -> Path:
    """``17flowers.tgz`` extracted: ``root/flowers17/jpg/image_NNNN.jpg``, the first ``per_class`` of each class's
    block of 80 (image n is class (n - 1) // 80), and ``files.txt``. Returns the ``jpg`` folder."""
    jpg = root / "flowers17" / "jpg"
    rng = _rng()
    numbers = [c * 80 + i + 1 for c in range(17) for i in range(per_class)]
    for n in numbers:
        _save_image(jpg / f"image_{n:04d}.jpg", rng.integers(0, 256, (side, side + 1, 3), dtype=np.uint8))
    (jpg / "files.txt").write_text("\n".join(f"image_{n:04d}.jpg" for n in numbers) + "\n")
    return jpg


def write_coil100(root: Path, objects, angles) -> Path:
    """The official COIL-100 archive extracted: flat ``root/coil-100/obj<k>__<angle>.png`` (and its Perl script)."""
    folder = root / "coil-100"
    rng = _rng()
    for obj in objects:
        for angle in angles:
            _save_image(folder / f"obj{obj}__{angle}.png", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    (folder / "convertGroupppm2png.pl").write_text("not an image")
    return folder


def write_fei(root: Path, people, shots) -> Path:
    """The official FEI zips extracted: flat ``root/fei/<person>-<shot>.jpg`` (shots numbered 01, 02, ...)."""
    folder = root / "fei"
    rng = _rng()
    for person in people:
        for shot in shots:
            _save_image(folder / f"{person}-{shot:02d}.jpg", rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    return folder


def write_grey_tree(root: Path, classes: dict[str, int], *, ext: str = ".pgm", side: int = 7) -> None:
    """``root/<class>/face_NN<ext>`` of grey images (UMist's cropped faces are grey PGM files)."""
    rng = _rng()
    for name, count in classes.items():
        for i in range(count):
            _save_image(root / name / f"face_{i:02d}{ext}", rng.integers(0, 256, (side, side - 1), dtype=np.uint8))
