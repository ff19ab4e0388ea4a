"""The datasets stored as arrays in their official files: digits, Optdigits, the MNIST family, USPS, CIFAR, STL-10.

Each entry names the layouts it accepts under the data root (``root`` argument > ``$CLUSTLIB_DATA`` >
``<project>/data``), the official source, and the one command or URL that gets it. Layouts match what
torchvision's downloaders write, so ``download=True`` puts files where we look. The readers of the file formats
are in :mod:`clustlib.data.sources`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clustlib.data._files import missing_error
from clustlib.data.raw import LoadRequest, RawDataset
from clustlib.data.registry import register_dataset
from clustlib.data.sources.cifar import (CIFAR10_TEST, CIFAR10_TRAIN, CIFAR100_TEST, CIFAR100_TRAIN,
                                         read_cifar_batch, read_cifar_meta)
from clustlib.data.sources.idx import read_idx_pair
from clustlib.data.sources.optdigits import counts_to_uint8, read_optdigits
from clustlib.data.sources.stl10 import read_stl10_split
from clustlib.data.sources.usps import read_usps
from clustlib.errors import DatasetUnavailable

__all__ = ["DEBIAN_FASHION_MNIST"]

#: Where Debian's ``dataset-fashion-mnist`` package installs the gzip-compressed IDX files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

_DIGITS = tuple(str(d) for d in range(10))


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


def _register_cifar(name: str, *, folder: str, archive: str, tv_class: str, files: dict, label_key: str,
                    meta_file: str, meta_key: str, classes: tuple, layout: str, **metadata) -> None:
    """One CIFAR entry: the pickled batches ``files`` of ``<root>/<folder>/``, labels ``label_key``, class names
    ``meta_key`` of ``meta_file`` (``classes`` when that file is absent)."""
    how = _download_hint(name, f" (torchvision extracts {archive} from https://www.cs.toronto.edu/~kriz/cifar.html "
                               f"into <data root>/{folder}/)")

    def locate(root: Path, split: str) -> dict:
        wanted = {s: [root / folder / f for f in files[s]] for s in _splits_for(split)}
        missing = [p.name for paths in wanted.values() for p in paths if not p.is_file()]
        if missing:
            raise missing_error(name, [root / folder], how, what=f"the python batches {', '.join(missing)}")
        return wanted

    def download(root: Path) -> None:
        import torchvision.datasets as tvd

        getattr(tvd, tv_class)(str(root), train=True, download=True)  # one archive holds both splits

    def loader(request: LoadRequest, located: dict) -> RawDataset:
        paths = [p for s in located for p in located[s]]
        images, labels = _concat([read_cifar_batch(p, label_key=label_key, dataset=name, how_to_get=how)
                                  for p in paths])
        meta = paths[0].parent / meta_file
        names = read_cifar_meta(meta, meta_key, dataset=name, how_to_get=how) if meta.is_file() else classes
        return RawDataset.from_arrays(images, labels, names, "cifar pickles " + ", ".join(map(str, paths)))

    register_dataset(
        name, locate=locate, downloader=download, how_to_get=how, n_classes=len(classes),
        splits={"train": 50000, "test": 10000, "all": 60000}, image_shape=(32, 32, 3),
        source_url="https://www.cs.toronto.edu/~kriz/cifar.html", layout=layout, license="unknown (research use)",
        citation="A. Krizhevsky, Learning multiple layers of features from tiny images, U. Toronto, 2009.",
        offline="no (needs the files under the data root)", task="objects", **metadata,
    )(loader)


_register_cifar(
    "cifar10", folder="cifar-10-batches-py", archive="cifar-10-python.tar.gz", tv_class="CIFAR10",
    files={"train": CIFAR10_TRAIN, "test": CIFAR10_TEST}, label_key="labels", meta_file="batches.meta",
    meta_key="label_names",
    classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    layout="<root>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} (python pickles)",
    description="CIFAR-10 tiny natural images, 32x32 RGB (60,000 images)",
)
_register_cifar(
    "cifar100_20", folder="cifar-100-python", archive="cifar-100-python.tar.gz", tv_class="CIFAR100",
    files={"train": CIFAR100_TRAIN, "test": CIFAR100_TEST}, label_key="coarse_labels", meta_file="meta",
    meta_key="coarse_label_names",
    classes=("aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
             "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
             "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
             "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
             "vehicles_1", "vehicles_2"),
    layout="<root>/cifar-100-python/{train,test,meta} (python pickles with coarse_labels)",
    description="CIFAR-100 with its 20 coarse superclasses as labels, 32x32 RGB (60,000 images)",
    notes="Labels are the pickles' own coarse_labels (the official superclasses), which torchvision does not read.",
)


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


