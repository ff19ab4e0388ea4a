"""The datasets of the five reproduced papers: where their files live and what they are.

Every entry names the layouts it accepts under the data root (``root`` argument > ``$CLUSTLIB_DATA``
> ``<project>/data``), the official source, and the one command or URL that gets it. Layouts match
what torchvision's downloaders write, so ``download=True`` puts files where we look.
"""

from __future__ import annotations

import re
import weakref
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

import numpy as np

from clustlib.data._files import missing_error
from clustlib.data.registry import FOLDER_PREFIX, LoadRequest, RawDataset, register_dataset
from clustlib.data.sources.cifar import (CIFAR10_TEST, CIFAR10_TRAIN, CIFAR100_TEST, CIFAR100_TRAIN,
                                         read_cifar_batch, read_cifar_meta)
from clustlib.data.sources.folder import (FolderListing, decode_images, scan_flat_folder, scan_image_folder,
                                          scan_selected_folders)
from clustlib.data.sources.idx import read_idx_pair
from clustlib.data.sources.optdigits import counts_to_uint8, read_optdigits
from clustlib.data.sources.stl10 import read_stl10_split
from clustlib.data.sources.usps import read_usps
from clustlib.errors import DatasetUnavailable

__all__ = ["folder_metadata", "folder_locate", "load_folder", "TreeSource", "tree_source", "scan_flowers17_archive",
           "DEBIAN_FASHION_MNIST", "IMAGENET10_WNIDS", "IMAGENET_DOGS_WNIDS", "FLOWERS17_PER_CLASS",
           "CLUSTPY_DOG", "CLUSTPY_DOG_WNIDS"]

#: Where Debian's ``dataset-fashion-mnist`` package installs the gzip-compressed IDX files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

#: The 10 ImageNet classes of ImageNet-10 (DAC; Contrastive Clustering's datasets/ImageNet-10.txt).
IMAGENET10_WNIDS = ("n02056570", "n02085936", "n02128757", "n02690373", "n02692877", "n03095699", "n04254680",
                    "n04285008", "n04467665", "n07747607")
#: The 15 dog classes of ImageNet-Dogs (DAC; Contrastive Clustering's datasets/ImageNet-dogs.txt).
IMAGENET_DOGS_WNIDS = ("n02085936", "n02086646", "n02088238", "n02091467", "n02097130", "n02099601", "n02101388",
                       "n02101556", "n02102177", "n02105056", "n02105412", "n02105855", "n02107142", "n02110958",
                       "n02112137")

_DIGITS = tuple(str(d) for d in range(10))
# Default decode size of variable-size trees: the input of most of the papers' ImageNet networks (VGG, ResNet,
# DenseNet). Networks with another input (InceptionV3/Xception/Inception-ResNet-v2 299, NASNet-Large 331) do not
# resize these pixels again: clustlib.features.extract decodes the files once more, straight at their size
# (tree_source), so every network sees one resampling of the source image, as Keras' load_img(target_size=...).
_NATURAL_SIZE = 224


def _download_hint(name: str, extra: str = "") -> str:
    return (f"run `clustlib data download {name}` or call clustlib.data.load({name!r}, download=True) on a "
            f"machine with a network{extra}.")


def _splits_for(split: str) -> tuple[str, ...]:
    return ("train", "test") if split == "all" else (split,)


def _concat(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# ---------------------------------------------------------------------------------------------------------------
# scikit-learn digits and UCI Optdigits


def _locate_digits(root: Path, split: str) -> None:
    return None  # bundled with scikit-learn


@register_dataset(
    "digits",
    locate=_locate_digits,
    description="scikit-learn's 8x8 handwritten digits: the 1,797-image test part of UCI Optdigits",
    task="digits",
    n_classes=10,
    splits={"all": 1797},
    image_shape=(8, 8, 1),
    source_url="https://archive.ics.uci.edu/dataset/80 (bundled with scikit-learn: sklearn.datasets.load_digits)",
    how_to_get="nothing to do: it ships with scikit-learn.",
    layout="none (read from scikit-learn)",
    license="CC BY 4.0 (UCI)",
    citation="E. Alpaydin, C. Kaynak, Optical Recognition of Handwritten Digits, UCI ML Repository, 1998.",
    offline="always (bundled with scikit-learn)",
    notes="Pixel p = round(count * 255 / 16) of the 0..16 block counts; the same rows as optdigits split 'test'.",
)
def _load_digits(request: LoadRequest, located) -> RawDataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = counts_to_uint8(bunch.images)[..., None]  # (1797, 8, 8, 1)
    return RawDataset.from_arrays(images, bunch.target, _DIGITS, "sklearn.datasets.load_digits (UCI optdigits.tes)")


_OPTDIGITS_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/optdigits/"
_OPTDIGITS_FILES = {"train": "optdigits.tra", "test": "optdigits.tes"}
_OPTDIGITS_HOW = _download_hint("optdigits", f", or download optdigits.tra and optdigits.tes from {_OPTDIGITS_URL} "
                                             "into <data root>/optdigits/")


def _locate_optdigits(root: Path, split: str) -> dict:
    candidates = [root / "optdigits", root]
    for folder in candidates:
        files = {s: folder / _OPTDIGITS_FILES[s] for s in _splits_for(split)}
        if all(p.is_file() for p in files.values()):
            return files
    raise missing_error("optdigits", candidates, _OPTDIGITS_HOW, what=" and ".join(
        _OPTDIGITS_FILES[s] for s in _splits_for(split)))


def _download_optdigits(root: Path) -> None:
    from torchvision.datasets.utils import download_url

    for filename in _OPTDIGITS_FILES.values():
        download_url(_OPTDIGITS_URL + filename, str(root / "optdigits"), filename)


@register_dataset(
    "optdigits",
    locate=_locate_optdigits,
    downloader=_download_optdigits,
    description="UCI Optical Recognition of Handwritten Digits, 8x8 block counts (5,620 images)",
    task="digits",
    n_classes=10,
    splits={"train": 3823, "test": 1797, "all": 5620},
    image_shape=(8, 8, 1),
    source_url=_OPTDIGITS_URL,
    how_to_get=_OPTDIGITS_HOW,
    layout="<root>/optdigits/optdigits.tra and optdigits.tes (UCI comma-separated text)",
    license="CC BY 4.0",
    citation="E. Alpaydin, C. Kaynak, Optical Recognition of Handwritten Digits, UCI ML Repository, 1998.",
    offline="no (the 'test' split equals the offline 'digits')",
    notes="Pixel p = round(count * 255 / 16). ClustPy's benchmark uses train+test (N = 5,620).",
)
def _load_optdigits(request: LoadRequest, located: dict) -> RawDataset:
    parts = [read_optdigits(located[s], dataset="optdigits", how_to_get=_OPTDIGITS_HOW) for s in located]
    images, labels = _concat(parts)
    return RawDataset.from_arrays(images, labels, _DIGITS, "UCI " + ", ".join(str(p) for p in located.values()))


# ---------------------------------------------------------------------------------------------------------------
# MNIST family: IDX files


def _idx_files(folder: Path, prefix: str) -> tuple[Path, Path] | None:
    found = []
    for kind in ("images-idx3", "labels-idx1"):
        plain = folder / f"{prefix}-{kind}-ubyte"
        hit = next((p for p in (plain, plain.with_name(plain.name + ".gz")) if p.is_file()), None)
        if hit is None:
            return None
        found.append(hit)
    return found[0], found[1]


def _register_idx(name: str, tv_class: str, aliases: tuple, classes: tuple, *, system_dirs=lambda: (),
                  extra_how: str = "", **metadata) -> None:
    how = _download_hint(name, f" (torchvision saves the files in <data root>/{tv_class}/raw/){extra_how}")

    def locate(root: Path, split: str) -> dict:
        candidates = [root / tv_class / "raw", *(root / a for a in aliases), *system_dirs()]
        for folder in candidates:
            files = {s: _idx_files(folder, "train" if s == "train" else "t10k") for s in _splits_for(split)}
            if all(files.values()):
                return files
        wanted = ", ".join(f"{'train' if s == 'train' else 't10k'}-{{images-idx3,labels-idx1}}-ubyte[.gz]"
                           for s in _splits_for(split))
        raise missing_error(name, candidates, how, what=f"the IDX files {wanted}")

    def download(root: Path) -> None:
        import torchvision.datasets as tvd

        for train in (True, False):
            getattr(tvd, tv_class)(str(root), train=train, download=True)

    def loader(request: LoadRequest, located: dict) -> RawDataset:
        parts = [read_idx_pair(*located[s], dataset=name, how_to_get=how) for s in located]
        images, labels = _concat(parts)
        if labels.max() >= len(classes):
            raise DatasetUnavailable(f"Dataset {name!r}: labels up to {labels.max()} but {len(classes)} classes; "
                                     f"the files are not {name}. Get them again: {how}")
        source = "idx " + ", ".join(str(p) for pair in located.values() for p in pair)
        return RawDataset.from_arrays(images, labels, classes, source)

    register_dataset(
        name, locate=locate, downloader=download, how_to_get=how, n_classes=len(classes),
        splits={"train": 60000, "test": 10000, "all": 70000}, image_shape=(28, 28, 1),
        layout=f"<root>/{tv_class}/raw/ (torchvision) or " + " or ".join(f"<root>/{a}/" for a in aliases)
        + ": {train,t10k}-{images-idx3,labels-idx1}-ubyte, plain or .gz",
        **metadata,
    )(loader)


_register_idx(
    "mnist", "MNIST", ("mnist",), _DIGITS,
    description="MNIST handwritten digits, 28x28 grey (70,000 images)",
    task="digits", source_url="http://yann.lecun.com/exdb/mnist/", license="CC BY-SA 3.0",
    citation="Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, Gradient-based learning applied to document "
             "recognition, Proc. IEEE 86(11), 1998.",
    offline="no (needs the files under the data root)",
)
_register_idx(
    "fashion_mnist", "FashionMNIST", ("fashion_mnist", "fashion-mnist"),
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    system_dirs=lambda: (DEBIAN_FASHION_MNIST,),  # read at call time, so it can be pointed elsewhere
    extra_how=", or on Debian/Ubuntu `sudo apt-get install dataset-fashion-mnist` (installs "
              f"{DEBIAN_FASHION_MNIST}/)",
    description="Fashion-MNIST clothing images, 28x28 grey (70,000 images)",
    task="objects", source_url="https://github.com/zalandoresearch/fashion-mnist", license="MIT",
    citation="H. Xiao, K. Rasul, R. Vollgraf, Fashion-MNIST: a novel image dataset for benchmarking machine "
             "learning algorithms, arXiv:1708.07747, 2017.",
    offline=f"yes where Debian's dataset-fashion-mnist package is installed ({DEBIAN_FASHION_MNIST})",
)
_register_idx(
    "kmnist", "KMNIST", ("kmnist",), ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    description="Kuzushiji-MNIST cursive Japanese characters, 28x28 grey (70,000 images)",
    task="characters", source_url="https://github.com/rois-codh/kmnist", license="CC BY-SA 4.0",
    citation="T. Clanuwat, M. Bober-Irizar, A. Kitamoto, A. Lamb, K. Yamamoto, D. Ha, Deep learning for "
             "classical Japanese literature, arXiv:1812.01718, 2018.",
    offline="no (needs the files under the data root)",
)


# ---------------------------------------------------------------------------------------------------------------
# USPS: bz2 libsvm


_USPS_FILES = {"train": "usps.bz2", "test": "usps.t.bz2"}
_USPS_HOW = _download_hint("usps", " (torchvision saves usps.bz2 and usps.t.bz2 directly in <data root>/)")


def _locate_usps(root: Path, split: str) -> dict:
    candidates = [root, root / "usps", root / "USPS"]
    for folder in candidates:
        files = {s: folder / _USPS_FILES[s] for s in _splits_for(split)}
        if all(p.is_file() for p in files.values()):
            return files
    raise missing_error("usps", candidates, _USPS_HOW,
                        what=" and ".join(_USPS_FILES[s] for s in _splits_for(split)))


def _download_usps(root: Path) -> None:
    import torchvision.datasets as tvd

    for train in (True, False):
        tvd.USPS(str(root), train=train, download=True)


@register_dataset(
    "usps",
    locate=_locate_usps,
    downloader=_download_usps,
    description="USPS handwritten digits, 16x16 grey (9,298 images)",
    task="digits",
    n_classes=10,
    splits={"train": 7291, "test": 2007, "all": 9298},
    image_shape=(16, 16, 1),
    source_url="https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass.html#usps",
    how_to_get=_USPS_HOW,
    layout="<root>/usps.bz2 and <root>/usps.t.bz2 (torchvision; also <root>/usps/), bz2 libsvm text",
    license="unknown (research use)",
    citation="J. J. Hull, A database for handwritten text recognition research, IEEE TPAMI 16(5), 1994.",
    offline="no (needs the files under the data root)",
    notes="Pixels uint8((v + 1) / 2 * 255) of the [-1, 1] values, as torchvision.datasets.USPS.",
)
def _load_usps(request: LoadRequest, located: dict) -> RawDataset:
    images, labels = _concat([read_usps(located[s], how_to_get=_USPS_HOW) for s in located])
    return RawDataset.from_arrays(images, labels, _DIGITS, "libsvm " + ", ".join(map(str, located.values())))


# ---------------------------------------------------------------------------------------------------------------
# CIFAR-10 / CIFAR-100 (20 superclasses): python pickles


_CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_CIFAR10_HOW = _download_hint("cifar10", " (torchvision extracts cifar-10-python.tar.gz from "
                                         "https://www.cs.toronto.edu/~kriz/cifar.html into <data root>/"
                                         "cifar-10-batches-py/)")
_CIFAR100_HOW = _download_hint("cifar100_20", " (torchvision extracts cifar-100-python.tar.gz from "
                                              "https://www.cs.toronto.edu/~kriz/cifar.html into <data root>/"
                                              "cifar-100-python/)")


def _cifar_locate(name: str, folder_name: str, files: dict, how: str):
    def locate(root: Path, split: str) -> dict:
        folder = root / folder_name
        wanted = {s: [folder / f for f in files[s]] for s in _splits_for(split)}
        missing = [p.name for paths in wanted.values() for p in paths if not p.is_file()]
        if missing:
            raise missing_error(name, [folder], how, what=f"the python batches {', '.join(missing)}")
        return wanted
    return locate


def _tv_cifar_download(tv_class: str):
    def download(root: Path) -> None:
        import torchvision.datasets as tvd

        getattr(tvd, tv_class)(str(root), train=True, download=True)  # one archive holds both splits
    return download


@register_dataset(
    "cifar10",
    locate=_cifar_locate("cifar10", "cifar-10-batches-py", {"train": CIFAR10_TRAIN, "test": CIFAR10_TEST},
                         _CIFAR10_HOW),
    downloader=_tv_cifar_download("CIFAR10"),
    description="CIFAR-10 tiny natural images, 32x32 RGB (60,000 images)",
    task="objects",
    n_classes=10,
    splits={"train": 50000, "test": 10000, "all": 60000},
    image_shape=(32, 32, 3),
    source_url="https://www.cs.toronto.edu/~kriz/cifar.html",
    how_to_get=_CIFAR10_HOW,
    layout="<root>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} (python pickles)",
    license="unknown (research use)",
    citation="A. Krizhevsky, Learning multiple layers of features from tiny images, U. Toronto, 2009.",
    offline="no (needs the files under the data root)",
)
def _load_cifar10(request: LoadRequest, located: dict) -> RawDataset:
    paths = [p for s in located for p in located[s]]
    images, labels = _concat([read_cifar_batch(p, dataset="cifar10", how_to_get=_CIFAR10_HOW) for p in paths])
    meta = paths[0].parent / "batches.meta"
    classes = (read_cifar_meta(meta, "label_names", dataset="cifar10", how_to_get=_CIFAR10_HOW)
               if meta.is_file() else _CIFAR10_NAMES)
    return RawDataset.from_arrays(images, labels, classes, "cifar pickles " + ", ".join(map(str, paths)))


_CIFAR100_COARSE = ("aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
                    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
                    "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
                    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
                    "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2")


@register_dataset(
    "cifar100_20",
    locate=_cifar_locate("cifar100_20", "cifar-100-python", {"train": CIFAR100_TRAIN, "test": CIFAR100_TEST},
                         _CIFAR100_HOW),
    downloader=_tv_cifar_download("CIFAR100"),
    description="CIFAR-100 with its 20 coarse superclasses as labels, 32x32 RGB (60,000 images)",
    task="objects",
    n_classes=20,
    splits={"train": 50000, "test": 10000, "all": 60000},
    image_shape=(32, 32, 3),
    source_url="https://www.cs.toronto.edu/~kriz/cifar.html",
    how_to_get=_CIFAR100_HOW,
    layout="<root>/cifar-100-python/{train,test,meta} (python pickles with coarse_labels)",
    license="unknown (research use)",
    citation="A. Krizhevsky, Learning multiple layers of features from tiny images, U. Toronto, 2009.",
    offline="no (needs the files under the data root)",
    notes="Labels are the pickles' own coarse_labels (the official superclasses), which torchvision does not read.",
)
def _load_cifar100_20(request: LoadRequest, located: dict) -> RawDataset:
    paths = [p for s in located for p in located[s]]
    images, labels = _concat([read_cifar_batch(p, label_key="coarse_labels", dataset="cifar100_20",
                                               how_to_get=_CIFAR100_HOW) for p in paths])
    meta = paths[0].parent / "meta"
    classes = (read_cifar_meta(meta, "coarse_label_names", dataset="cifar100_20", how_to_get=_CIFAR100_HOW)
               if meta.is_file() else _CIFAR100_COARSE)
    return RawDataset.from_arrays(images, labels, classes, "cifar pickles " + ", ".join(map(str, paths)))


# ---------------------------------------------------------------------------------------------------------------
# STL-10 binaries


_STL10_NAMES = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")
_STL10_HOW = _download_hint("stl10", " (torchvision extracts stl10_binary.tar.gz, 2.6 GB, from "
                                     "https://cs.stanford.edu/~acoates/stl10/ into <data root>/stl10_binary/)")


def _locate_stl10(root: Path, split: str) -> Path:
    folder = root / "stl10_binary"
    wanted = [f"{s}_{k}.bin" for s in _splits_for(split) for k in ("X", "y")]
    missing = [f for f in wanted if not (folder / f).is_file()]
    if missing:
        raise missing_error("stl10", [folder], _STL10_HOW, what=f"the binaries {', '.join(missing)}")
    return folder


def _download_stl10(root: Path) -> None:
    import torchvision.datasets as tvd

    tvd.STL10(str(root), split="train", download=True)


@register_dataset(
    "stl10",
    locate=_locate_stl10,
    downloader=_download_stl10,
    description="STL-10 labelled images, 96x96 RGB (13,000 images; the unlabeled split is not used)",
    task="objects",
    n_classes=10,
    splits={"train": 5000, "test": 8000, "all": 13000},
    image_shape=(96, 96, 3),
    source_url="https://cs.stanford.edu/~acoates/stl10/",
    how_to_get=_STL10_HOW,
    layout="<root>/stl10_binary/{train_X,train_y,test_X,test_y}.bin and class_names.txt",
    license="unknown (research use; images from ImageNet)",
    citation="A. Coates, H. Lee, A. Y. Ng, An analysis of single-layer networks in unsupervised feature "
             "learning, AISTATS 2011.",
    offline="no (needs the files under the data root)",
)
def _load_stl10(request: LoadRequest, folder: Path) -> RawDataset:
    splits = _splits_for(request.split)
    images, labels = _concat([read_stl10_split(folder, s, how_to_get=_STL10_HOW) for s in splits])
    names_file = folder / "class_names.txt"
    classes = _STL10_NAMES
    if names_file.is_file():
        names = tuple(line.strip() for line in names_file.read_text().splitlines() if line.strip())
        classes = names if len(names) == 10 else classes
    return RawDataset.from_arrays(images, labels, classes, f"stl10 binaries {folder} ({'+'.join(splits)})")


# ---------------------------------------------------------------------------------------------------------------
# Image trees


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


def _has_class_dirs(folder: Path) -> bool:
    return any(p.is_dir() and not p.name.startswith(".") for p in folder.iterdir())


def _register_tree(name: str, *, aliases: tuple = (), n_classes: int, default_image_size: int, url: str,
                   flat_pattern: str | None = None, wnids: tuple | None = None, voc: bool = False,
                   archive=None, archive_layout: str = "", **metadata) -> None:
    layout = f"<root>/{name}/<class>/<image>"
    if archive_layout:
        layout += f", or {archive_layout}"
    if flat_pattern:
        layout += f", or a flat folder of files named like {flat_pattern!r}"
    if wnids:
        layout += " (class folders named by WordNet id), or a full ImageNet train tree <root>/imagenet/train/"
    if voc:
        layout += ", or the official test archive extracted as <root>/VOCdevkit/VOC2007/"
    how = (f"download it from {url} and arrange it as {layout} (a tree elsewhere loads as "
           f"'folder:<path>'); there is no automatic download.")

    def locate(root: Path, split: str) -> FolderListing:
        candidates = [root / name, *(root / a for a in aliases)]
        for folder in candidates:
            if not folder.is_dir():
                continue
            if voc and (folder / "ImageSets" / "Main" / "test.txt").is_file():
                return scan_voc2007_single_label(folder, dataset=name)
            if wnids and all((folder / w).is_dir() for w in wnids):
                return scan_selected_folders(folder, wnids, dataset=name)
            if archive is not None and (listing := archive(folder, dataset=name)) is not None:
                return listing
            if _has_class_dirs(folder):
                return scan_image_folder(folder, dataset=name)
            if flat_pattern:
                return scan_flat_folder(folder, flat_pattern, dataset=name)
        raise missing_error(name, candidates, how, what="its image folder")

    register_dataset(
        name, locate=locate, n_classes=n_classes, splits={"all": None}, default_image_size=default_image_size,
        source_url=url, how_to_get=how, layout=layout, offline="no (needs the image tree under the data root)",
        **metadata,
    )(load_folder)


_GUERIN = "Used by Guerin et al. (2021), Table 1, with this number of images and classes."
_register_tree(
    "imagenet10", aliases=("imagenet/train", "ILSVRC/Data/CLS-LOC/train"), n_classes=10, default_image_size=224,
    url="https://image-net.org/download.php (ILSVRC2012 train, the 10 classes in clustlib.data.catalog."
        "IMAGENET10_WNIDS)",
    wnids=IMAGENET10_WNIDS, paper_n_samples=13000, task="objects",
    description="ImageNet-10: 10 ImageNet train classes, 1,300 images each (DAC, CC, DeepCluE, MMDC)",
    license="ImageNet terms of access (non-commercial research)",
    citation="J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, Deep adaptive image clustering, ICCV 2017.",
    notes="MMDC stores these at 96x96; CC and DeepCluE resize to 224; ClustPy flattens 224x224x3.",
)
_register_tree(
    "imagenet_dogs", aliases=("imagenet/train", "ILSVRC/Data/CLS-LOC/train"), n_classes=15,
    default_image_size=224,
    url="https://image-net.org/download.php (ILSVRC2012 train, the 15 classes in clustlib.data.catalog."
        "IMAGENET_DOGS_WNIDS)",
    wnids=IMAGENET_DOGS_WNIDS, paper_n_samples=19500, task="fine-grained",
    description="ImageNet-Dogs: 15 ImageNet dog breeds from the train split (DAC, CC, DeepCluE)",
    license="ImageNet terms of access (non-commercial research)",
    citation="J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, Deep adaptive image clustering, ICCV 2017.",
    notes="ClustPy's benchmark reports N = 2,574 for its ImageNetDog (a different selection).",
)
_register_tree(
    "tiny_imagenet", aliases=("tiny-imagenet-200/train",), n_classes=200, default_image_size=64,
    url="http://cs231n.stanford.edu/tiny-imagenet-200.zip (train split)", paper_n_samples=100000,
    task="objects", description="Tiny-ImageNet train split: 200 classes x 500 images, 64x64 RGB",
    license="ImageNet terms of access (non-commercial research)",
    citation="Y. Le, X. Yang, Tiny ImageNet visual recognition challenge, CS231N, 2015.",
)
_register_tree(
    "voc2007", aliases=("VOCdevkit/VOC2007",), n_classes=20, default_image_size=_NATURAL_SIZE, voc=True,
    url="http://host.robots.ox.ac.uk/pascal/VOC/voc2007/ (VOCtest_06-Nov-2007.tar)", paper_n_samples=2841,
    task="objects", description="PASCAL VOC2007 test images showing a single object class (20 classes)",
    license="Flickr terms of use (research)",
    citation="M. Everingham et al., The PASCAL Visual Object Classes Challenge 2007 (VOC2007) Results, 2007.",
    notes=_GUERIN + " Images with objects of two or more classes are removed.",
)
_register_tree(
    "coil100", aliases=("coil-100",), n_classes=100, default_image_size=128,
    flat_pattern=r"obj(?P<label>\d+)__\d+\.png",
    url="https://www.cs.columbia.edu/CAVE/software/softlib/coil-100.php", paper_n_samples=7200,
    task="objects", description="COIL-100: 100 objects x 72 poses, 128x128 RGB",
    license="research use", citation="S. Nene, S. Nayar, H. Murase, Columbia Object Image Library (COIL-100), "
                                     "CUCS-006-96, 1996.",
    notes=_GUERIN + " The official archive (flat obj<k>__<angle>.png files) loads as it is.",
)
_register_tree(
    "archi", aliases=("arcDataset",), n_classes=25, default_image_size=_NATURAL_SIZE,
    url="https://sites.google.com/site/zhexuutssjtu/projects/arch (Architectural Style dataset)",
    paper_n_samples=4794, task="scenes", description="Architectural styles: 25 classes (4,794 images)",
    license="research use",
    citation="Z. Xu, D. Tao, Y. Zhang, J. Wu, A. C. Tsoi, Architectural style classification using multinomial "
             "latent logistic regression, ECCV 2014.",
    notes=_GUERIN,
)
_register_tree(
    "mit_indoor", aliases=("indoorCVPR_09/Images", "Images"), n_classes=67, default_image_size=_NATURAL_SIZE,
    url="https://web.mit.edu/torralba/www/indoor.html (indoorCVPR_09.tar)", paper_n_samples=15620,
    task="scenes", description="MIT Indoor scenes: 67 classes (15,620 images)", license="research use",
    citation="A. Quattoni, A. Torralba, Recognizing indoor scenes, CVPR 2009.", notes=_GUERIN,
)
_PAPER_SELECTION = (" Which {n} images the paper used is not published: the full profiles of studies 01 and 03 draw a "
                    "stratified subset of {n} (subsets: {{{name}: {n}}}, seed 0) from the {total}.")
_register_tree(
    "flowers17", aliases=("flowers", "17flowers"), n_classes=17, default_image_size=_NATURAL_SIZE,
    url="https://www.robots.ox.ac.uk/~vgg/data/flowers/17/ (17flowers.tgz: 80 images per class, in class order)",
    archive=scan_flowers17_archive,
    archive_layout="the official archive extracted as it is: <root>/flowers17/jpg/image_0001.jpg ... image_1360.jpg",
    paper_n_samples=400, task="fine-grained", description="Oxford 17 Flowers: 17 flower species",
    license="research use",
    citation="M.-E. Nilsback, A. Zisserman, Delving deeper into the whorl of flower segmentation, IVC 28, 2010.",
    notes=_GUERIN + " The official archive (1,360 images, jpg/image_NNNN.jpg, 80 per class in class order, no label "
                    "file) loads as it is: image n is class (n - 1) // 80." +
          _PAPER_SELECTION.format(n=400, name="flowers17", total="1,360"),
)
_register_tree(
    "birds", aliases=("CUB_200_2010/images", "images"), n_classes=200, default_image_size=_NATURAL_SIZE,
    url="https://www.vision.caltech.edu/datasets/cub_200/ (CUB-200 2010, images.tgz)", paper_n_samples=2800,
    task="fine-grained", description="Caltech-UCSD Birds 200 (2010): 200 bird species", license="research use",
    citation="P. Welinder et al., Caltech-UCSD Birds 200, CNS-TR-2010-001, Caltech, 2010.",
    notes="The paper's Table 1 gives 2,800 images for Birds and 6,033 for FEI; CUB-200 (2010) has 6,033 and FEI "
          "2,800 (200 x 14): the two counts look swapped.",
)
_register_tree(
    "umist", aliases=("umist_cropped",), n_classes=20, default_image_size=_NATURAL_SIZE,
    url="https://www.visioneng.org.uk/datasets/ (Sheffield/UMIST face database, cropped)", paper_n_samples=564,
    task="faces", description="UMist (Sheffield) faces: 20 people, grey images replicated to RGB",
    license="research use",
    citation="D. B. Graham, N. M. Allinson, Characterising virtual eigensignatures for general purpose face "
             "recognition, Face Recognition, Springer, 1998.",
    notes=_GUERIN + " The cropped database has 575 images (the tutorial of Guerin et al. loads 575); the paper says "
                    "564." + _PAPER_SELECTION.format(n=564, name="umist", total="575"),
)
_register_tree(
    "fei", aliases=("originalimages",), n_classes=200, default_image_size=_NATURAL_SIZE,
    flat_pattern=r"(?P<label>\d+)-\d+\.jpg",
    url="https://fei.edu.br/~cet/facedatabase.html (originalimages_part1..4.zip)", paper_n_samples=6033,
    task="faces", description="FEI faces: 200 people x 14 images, 640x480 RGB", license="research use",
    citation="C. E. Thomaz, G. A. Giraldi, A new ranking method for principal components analysis and its "
             "application to face image analysis, IVC 28, 2010.",
    notes="The official zips extract to flat <person>-<shot>.jpg files, which load as they are. See 'birds' for "
          "the image counts of the paper's Table 1.",
)


# ---------------------------------------------------------------------------------------------------------------
# folder:<path>


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
        "default_image_size": _NATURAL_SIZE,
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


#: ClustPy's "ImageNetDog" (Leiber et al. 2023, Table II; ClustPy's loader): 15 Stanford Dogs breeds, 2,574 images.
#: Its list is DAC's ImageNet-Dogs list (:data:`IMAGENET_DOGS_WNIDS`) with n02097209 (standard schnauzer) in place
#: of n02097130 (giant schnauzer); DAC's 19,500-image ``imagenet_dogs`` is another selection.
CLUSTPY_DOG_WNIDS = ("n02085936", "n02086646", "n02088238", "n02091467", "n02097209", "n02099601", "n02101388",
                     "n02101556", "n02102177", "n02105056", "n02105412", "n02105855", "n02107142", "n02110958",
                     "n02112137")
CLUSTPY_DOG = "imagenet_dog_clustpy"
_DOG_FOLDERS = ("stanford_dogs/Images", "StanfordDogs/Images", "Images")


def _locate_clustpy_dogs(root: Path, split: str):
    """Stanford Dogs as its archive extracts (``<root>/stanford_dogs/Images/<wnid>-<breed>/*.jpg``): the 15 breeds
    of :data:`CLUSTPY_DOG_WNIDS`, labelled in that order."""
    looked = [Path(root) / f for f in _DOG_FOLDERS]
    for folder in looked:
        if folder.is_dir():
            names = {d.name.split("-", 1)[0]: d.name for d in folder.iterdir() if d.is_dir()}
            if all(w in names for w in CLUSTPY_DOG_WNIDS):
                return scan_selected_folders(folder, [names[w] for w in CLUSTPY_DOG_WNIDS], dataset=CLUSTPY_DOG)
    raise missing_error(CLUSTPY_DOG, looked, _DOG_HOW, what="the Stanford Dogs image folders")


_DOG_HOW = ("download images.tar from http://vision.stanford.edu/aditya86/ImageNetDogs/ and extract it to "
            "<data root>/stanford_dogs/ (giving stanford_dogs/Images/n02085936-Maltese_dog/...); there is no "
            "automatic download.")


def _register_clustpy_dogs() -> None:
    register_dataset(
        CLUSTPY_DOG, locate=_locate_clustpy_dogs, n_classes=15, splits={"all": None}, default_image_size=224,
        source_url="http://vision.stanford.edu/aditya86/ImageNetDogs/", how_to_get=_DOG_HOW,
        layout="<data root>/stanford_dogs/Images/<wnid>-<breed>/<image>.jpg", paper_n_samples=2574,
        offline="no (needs the Stanford Dogs image tree under the data root)", task="fine-grained",
        description="ImageNetDog of the ClustPy benchmark: 15 Stanford Dogs breeds, 2,574 images at 224 px",
        license="Stanford Dogs terms (ImageNet images, non-commercial research)",
        citation="A. Khosla, N. Jayadevaprakash, B. Yao, F.-F. Li, Novel dataset for fine-grained image "
                 "categorization: Stanford Dogs, CVPR FGVC workshop 2011.",
        notes="Not DAC's 19,500-image imagenet_dogs: one breed differs (n02097209 for n02097130).",
    )(load_folder)


_register_clustpy_dogs()
