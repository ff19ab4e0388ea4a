"""The dataset registry: names, metadata, real offline datasets, subsets, downloads and bad input."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pytest

import clustlib.data as data
from clustlib.data import registry
from clustlib.errors import DatasetUnavailable, InvalidParameter, UnknownName
from official_trees import write_mnist_like

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def empty_root(tmp_path, monkeypatch):
    """An empty data root, also as $CLUSTLIB_DATA."""
    monkeypatch.setenv("CLUSTLIB_DATA", str(tmp_path))
    return tmp_path


def test_all_names_import():
    for name in data.__all__:
        assert hasattr(data, name), name
    from clustlib.data import sources

    for name in sources.__all__:
        assert hasattr(sources, name), name


def test_every_canonical_dataset_is_registered_with_metadata():
    canonical = {"digits", "optdigits", "usps", "mnist", "fashion_mnist", "kmnist", "cifar10", "cifar100_20",
                 "stl10", "imagenet10", "imagenet_dogs", "tiny_imagenet", "voc2007", "coil100", "archi",
                 "mit_indoor", "flowers17", "birds", "umist", "fei", "imagenet_dog_clustpy"}
    assert set(data.list_datasets()) == canonical
    assert data.list_datasets("*mnist*") == ["fashion_mnist", "kmnist", "mnist"]
    for name in canonical:
        info = data.dataset_info(name)
        assert info["name"] == name and info["n_classes"] >= 10 and "all" in info["splits"]
        assert info["source_url"] and info["how_to_get"] and info["citation"] and info["description"]
    assert "test part of UCI Optdigits" in data.dataset_info("digits")["description"]
    assert data.dataset_info("cifar100_20")["n_classes"] == 20
    assert data.dataset_info("fei")["default_image_size"] == 224


@pytest.mark.score
def test_digits_is_the_real_scikit_learn_set(seed, record_score):
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    digits = data.load("digits")
    assert len(digits) == 1797 and digits.image_shape == (8, 8, 1) and digits.n_classes == 10
    assert digits.images.dtype == np.uint8 and digits.images.max() == 255
    labels = KMeans(10, n_init=4, random_state=seed).fit_predict(digits.flat_pixels())
    assert record_score("nmi_kmeans", normalized_mutual_info_score(digits.labels, labels)) > 0.65  # seeds 0-4 on AMD EPYC: 0.739-0.750


@pytest.mark.skipif(not (DEBIAN / "train-images-idx3-ubyte.gz").is_file(),
                    reason="Debian's dataset-fashion-mnist package is not installed")
def test_fashion_mnist_from_debian_package(empty_root, seed):
    fashion = data.load("fashion_mnist")
    assert len(fashion) == 70000 and fashion.image_shape == (28, 28, 1)
    assert np.bincount(fashion.labels).tolist() == [7000] * 10
    assert str(DEBIAN) in fashion.source and fashion.classes[-1] == "Ankle boot"
    test = data.load("fashion_mnist", split="test", subset=1000, seed=seed)
    np.testing.assert_array_equal(np.bincount(test.labels), [100] * 10)
    rows = data.stratified_subset(fashion.labels[60000:], 1000, seed=seed)  # test rows follow the 60,000 train
    np.testing.assert_array_equal(test.images, fashion.images[60000 + rows])


def test_cifar10_without_data_names_root_env_and_download(empty_root):
    with pytest.raises(DatasetUnavailable) as info:
        data.load("cifar10")
    message = str(info.value)
    assert "CLUSTLIB_DATA" in message and str(empty_root / "cifar-10-batches-py") in message
    assert "clustlib data download cifar10" in message and "download=True" in message
    assert not data.is_available("cifar10")


def test_tree_dataset_without_data_gives_url_and_layout(empty_root):
    with pytest.raises(DatasetUnavailable, match=r"mit\.edu.*<root>/mit_indoor/<class>/<image>"):
        data.load("mit_indoor")


def test_fashion_mnist_missing_everywhere_names_every_place(empty_root, monkeypatch):
    monkeypatch.setattr(data.catalog.arrays, "DEBIAN_FASHION_MNIST", empty_root / "no-debian")
    with pytest.raises(DatasetUnavailable) as info:
        data.load("fashion_mnist")
    message = str(info.value)
    for place in ("FashionMNIST/raw", "fashion_mnist", "fashion-mnist", "no-debian"):
        assert str(empty_root / place) in message
    assert "apt-get install dataset-fashion-mnist" in message and "clustlib data download fashion_mnist" in message


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownName) as info:
        data.load("cifar-10")
    assert "cifar10" in str(info.value) and "folder:<path>" in str(info.value)
    with pytest.raises(UnknownName):
        data.dataset_info("nope")


@pytest.mark.parametrize("kwargs, match", [
    ({"split": "train"}, "no train/test split"),
    ({"subset": 0}, "at least 1"),
    ({"subset": 1.5}, "positive int"),
    ({"subset": 1798}, "larger than 'digits'.*1,797"),
    ({"subset": 5}, "too small to keep every class"),
    ({"seed": -1}, "seed"),
    ({"image_size": 0}, "positive"),
    ({"image_size": "big"}, "image_size"),
    ({"resample": "cubic"}, "bilinear"),
    ({"n_jobs": 0}, "n_jobs"),
])
def test_bad_arguments_are_rejected(kwargs, match):
    with pytest.raises(InvalidParameter, match=match):
        data.load("digits", **kwargs)


def test_subset_size_is_checked_before_looking_for_files(empty_root):
    with pytest.raises(InvalidParameter, match="larger than 'cifar10' split 'test'.*10,000"):
        data.load("cifar10", split="test", subset=10001)


def test_stratified_counts_by_largest_remainder():
    labels = np.repeat([0, 1, 2], [5, 3, 2])  # N = 10
    # quotas for 6: 3.0, 1.8, 1.2 -> floors 3, 1, 1 and the spare goes to class 1 (remainder .8)
    assert data.stratified_counts(labels, 6).tolist() == [3, 2, 1]
    # quotas for 5: 2.5, 1.5, 1.0 -> floors 2, 1, 1; tie of remainders: lower class first
    assert data.stratified_counts(labels, 5).tolist() == [3, 1, 1]
    assert data.stratified_counts(labels, 10).tolist() == [5, 3, 2]
    with pytest.raises(InvalidParameter, match="class\\(es\\) 2 would get no image.*subset >= 5"):
        data.stratified_counts(labels, 2)


def test_stratified_subset_is_seeded_sorted_and_proportional(seed):
    labels = np.random.default_rng(seed).integers(0, 7, 5000)
    first = data.stratified_subset(labels, 700, seed=seed)
    again = data.stratified_subset(labels, 700, seed=seed)
    other = data.stratified_subset(labels, 700, seed=seed + 1)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert np.all(np.diff(first) > 0) and len(first) == 700
    np.testing.assert_array_equal(np.bincount(labels[first], minlength=7), data.stratified_counts(labels, 700))


def test_subset_through_load_is_deterministic(seed):
    a = data.load("digits", subset=200, seed=seed)
    b = data.load("digits", subset=200, seed=seed)
    full = data.load("digits")
    assert a.fingerprint == b.fingerprint and len(a) == 200
    rows = data.stratified_subset(full.labels, 200, seed=seed)
    np.testing.assert_array_equal(a.images, full.images[rows])
    assert "stratified subset of 200/1,797 images, seed" in a.source


def test_image_size_resizes_fixed_size_datasets():
    small = data.load("digits", subset=50, image_size=16, resample="nearest")
    base = data.load("digits", subset=50)
    assert small.image_shape == (16, 16, 1)
    np.testing.assert_array_equal(small.images[:, ::2, ::2], base.images)  # nearest 2x upsampling


def test_download_true_uses_torchvision_downloader(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    calls = []

    class FakeMNIST:  # stands in for torchvision's network download: writes what it would write
        def __init__(self, root, train, download):
            calls.append((root, train, download))
            if not (Path(root) / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
                write_mnist_like(Path(root) / "MNIST" / "raw", 4, 3, compress=False)

    monkeypatch.setattr(tvd, "MNIST", FakeMNIST)
    with pytest.raises(DatasetUnavailable):
        data.load("mnist", root=tmp_path)
    assert calls == []  # download=False never downloads
    mnist = data.load("mnist", root=tmp_path, download=True)
    assert len(mnist) == 7 and calls == [(str(tmp_path), True, True), (str(tmp_path), False, True)]
    data.load("mnist", root=tmp_path, download=True)
    assert len(calls) == 2  # files present: nothing fetched again
    assert data.download("mnist", root=tmp_path) == tmp_path.resolve()


def test_failed_download_says_so(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(tvd, "CIFAR10", offline)
    with pytest.raises(DatasetUnavailable, match="Downloading dataset 'cifar10'.*failed.*network"):
        data.load("cifar10", root=tmp_path, download=True)
    with pytest.raises(DatasetUnavailable, match="no automatic download"):
        data.download("umist", root=tmp_path)


def test_register_dataset_contract(monkeypatch, seed):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    meta = dict(description="toy", n_classes=2, splits={"all": 4}, source_url="-", how_to_get="-")

    @data.register_dataset("toy", locate=lambda root, split: None, **meta)
    def _toy(request, located):
        images = np.arange(4 * 2 * 2, dtype=np.uint8).reshape(4, 2, 2, 1)
        return data.RawDataset.from_arrays(images, [0, 1, 0, 1], ("a", "b"), "memory")

    toy = data.load("toy", subset=2, seed=seed)
    assert toy.labels.tolist() == [0, 1] and "toy" in data.list_datasets()
    with pytest.raises(InvalidParameter, match="already registered"):
        data.register_dataset("toy", locate=lambda r, s: None, **meta)(_toy)
    with pytest.raises(InvalidParameter, match="lacks the metadata"):
        data.register_dataset("bad", locate=lambda r, s: None, description="x")
