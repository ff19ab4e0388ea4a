"""Loaders of the official file formats, on tiny files the tests write in those formats.

Where torchvision can read the same file cheaply, its reader is the reference.
"""

from __future__ import annotations

import pickle
import types

import numpy as np
import pytest
from PIL import Image

from clustlib import data
from clustlib.errors import DatasetUnavailable
from official_trees import (write_cifar10, write_cifar100, write_mnist_like, write_stl10, write_tree, write_usps,
                            write_voc2007)

# --- IDX -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("layout", ["MNIST/raw", "mnist"])
def test_mnist_idx_layouts_and_splits(tmp_path, compress, layout):
    written = write_mnist_like(tmp_path / layout, 7, 4, compress=compress)
    train = data.load("mnist", split="train", root=tmp_path)
    test = data.load("mnist", split="test", root=tmp_path)
    both = data.load("mnist", root=tmp_path)
    np.testing.assert_array_equal(train.images[..., 0], written["train"][0])
    np.testing.assert_array_equal(test.labels, written["t10k"][1])
    np.testing.assert_array_equal(both.images, np.concatenate([train.images, test.images]))  # train first
    assert both.split == "all" and len(both) == 11 and both.image_shape == (28, 28, 1)
    assert both.classes == tuple("0123456789")


def test_idx_matches_torchvision_reader(tmp_path):
    from torchvision.datasets.mnist import read_image_file, read_label_file

    write_mnist_like(tmp_path / "KMNIST" / "raw", 5, 3, compress=False)
    ours = data.load("kmnist", split="train", root=tmp_path)
    raw = tmp_path / "KMNIST" / "raw"
    np.testing.assert_array_equal(ours.images[..., 0], read_image_file(str(raw / "train-images-idx3-ubyte")).numpy())
    np.testing.assert_array_equal(ours.labels, read_label_file(str(raw / "train-labels-idx1-ubyte")).numpy())
    assert ours.classes[0] == "o"


def test_truncated_idx_reports_expected_and_actual_bytes(tmp_path):
    write_mnist_like(tmp_path / "mnist", 6, 2, compress=False)
    images = tmp_path / "mnist" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(DatasetUnavailable, match="truncated") as info:
        data.load("mnist", root=tmp_path)
    message = str(info.value)
    assert f"{16 + 6 * 784:,}" in message and f"{16 + 6 * 784 - 100:,}" in message
    assert str(images) in message and "clustlib data download mnist" in message


def test_truncated_gzip_idx_is_reported(tmp_path):
    write_mnist_like(tmp_path / "FashionMNIST" / "raw", 6, 2, compress=True)
    images = tmp_path / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:40])
    with pytest.raises(DatasetUnavailable, match="truncated or corrupt"):
        data.load("fashion_mnist", split="test", root=tmp_path)


def test_swapped_idx_files_are_rejected(tmp_path):
    folder = tmp_path / "mnist"
    write_mnist_like(folder, 4, 2, compress=False)
    img, lab = folder / "train-images-idx3-ubyte", folder / "train-labels-idx1-ubyte"
    img_bytes, lab_bytes = img.read_bytes(), lab.read_bytes()
    img.write_bytes(lab_bytes)
    lab.write_bytes(img_bytes)
    with pytest.raises(DatasetUnavailable, match="magic number"):
        data.load("mnist", split="train", root=tmp_path)


# --- CIFAR ---------------------------------------------------------------------------------------------------


def test_cifar10_matches_torchvision(tmp_path):
    import torchvision.datasets as tvd

    write_cifar10(tmp_path)

    class NoMd5(tvd.CIFAR10):  # torchvision md5-checks every batch; the fakes cannot pass
        train_list = [[n, None] for n, _ in tvd.CIFAR10.train_list]
        test_list = [[n, None] for n, _ in tvd.CIFAR10.test_list]
        meta = {**tvd.CIFAR10.meta, "md5": None}

    ours = data.load("cifar10", root=tmp_path)
    ref_train, ref_test = NoMd5(str(tmp_path), train=True), NoMd5(str(tmp_path), train=False)
    np.testing.assert_array_equal(ours.images, np.concatenate([ref_train.data, ref_test.data]))
    np.testing.assert_array_equal(ours.labels, ref_train.targets + ref_test.targets)
    assert ours.classes == tuple(ref_train.classes) and len(ours) == 24


def test_cifar100_20_uses_coarse_labels(tmp_path):
    written, coarse = write_cifar100(tmp_path)
    ours = data.load("cifar100_20", root=tmp_path)
    expected = written["train"]["coarse_labels"] + written["test"]["coarse_labels"]
    np.testing.assert_array_equal(ours.labels, expected)
    assert ours.classes == tuple(coarse) and ours.n_classes == 20
    first = written["train"]["data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(ours.images[0], first)


def test_truncated_cifar_pickle_is_reported(tmp_path):
    write_cifar10(tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:500])
    with pytest.raises(DatasetUnavailable, match="data_batch_3.*truncated or corrupt"):
        data.load("cifar10", split="train", root=tmp_path)


def test_cifar_pickle_cannot_run_code(tmp_path):
    write_cifar10(tmp_path)
    evil = pickle.dumps({"data": types.SimpleNamespace(), "labels": []}, protocol=2)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(evil)
    with pytest.raises(DatasetUnavailable, match="not allowed"):
        data.load("cifar10", split="test", root=tmp_path)


# --- STL-10 --------------------------------------------------------------------------------------------------


def test_stl10_matches_torchvision_reader(tmp_path):
    import torchvision.datasets as tvd

    written = write_stl10(tmp_path)
    ours = data.load("stl10", root=tmp_path)
    fake = types.SimpleNamespace(root=str(tmp_path), base_folder="stl10_binary")
    ref_x, ref_y = tvd.STL10._STL10__loadfile(fake, "train_X.bin", "train_y.bin")  # (N, C, H, W), 0..9
    np.testing.assert_array_equal(ours.images[:3], ref_x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(ours.labels[:3], ref_y)
    np.testing.assert_array_equal(ours.images[3:], written["test"][0])
    assert ours.classes[7] == "monkey" and ours.image_shape == (96, 96, 3)


def test_truncated_stl10_binary_is_reported(tmp_path):
    write_stl10(tmp_path)
    x = tmp_path / "stl10_binary" / "test_X.bin"
    x.write_bytes(x.read_bytes()[:-7])
    with pytest.raises(DatasetUnavailable, match=f"should have {2 * 27648:,} bytes; it has {2 * 27648 - 7:,}"):
        data.load("stl10", split="test", root=tmp_path)


# --- USPS and Optdigits --------------------------------------------------------------------------------------


def test_usps_matches_torchvision(tmp_path):
    import torchvision.datasets as tvd

    write_usps(tmp_path, "usps.bz2", 12)
    write_usps(tmp_path, "usps.t.bz2", 5)
    ours = data.load("usps", root=tmp_path)
    ref = [tvd.USPS(str(tmp_path), train=t) for t in (True, False)]
    np.testing.assert_array_equal(ours.images[..., 0], np.concatenate([r.data for r in ref]))
    np.testing.assert_array_equal(ours.labels, np.concatenate([r.targets for r in ref]))
    assert ours.image_shape == (16, 16, 1) and ours.images[0, 0, 0, 0] == 0


def test_truncated_usps_is_reported(tmp_path):
    write_usps(tmp_path, "usps.t.bz2", 20)
    path = tmp_path / "usps.t.bz2"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetUnavailable, match="truncated or corrupt"):
        data.load("usps", split="test", root=tmp_path)


def test_optdigits_test_split_is_sklearn_digits(tmp_path):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    folder = tmp_path / "optdigits"
    folder.mkdir()
    rows = np.column_stack([bunch.data.astype(int), bunch.target])
    np.savetxt(folder / "optdigits.tes", rows, fmt="%d", delimiter=",")
    np.savetxt(folder / "optdigits.tra", rows[:30], fmt="%d", delimiter=",")
    test = data.load("optdigits", split="test", root=tmp_path)
    digits = data.load("digits")
    assert test.fingerprint == digits.fingerprint
    recovered = np.rint(test.images[..., 0].astype(float) * 16 / 255)
    np.testing.assert_array_equal(recovered, bunch.images)  # the uint8 mapping is invertible
    assert len(data.load("optdigits", root=tmp_path)) == 1797 + 30


# --- image trees ---------------------------------------------------------------------------------------------


def test_folder_tree_resizes_without_keeping_aspect(tmp_path):
    pixels = write_tree(tmp_path / "mine", {"b_cat": 3, "a_dog": 2})
    ours = data.load(f"folder:{tmp_path / 'mine'}", image_size=(6, 9), resample="nearest", progress=False)
    assert ours.classes == ("a_dog", "b_cat")  # sorted folder names
    np.testing.assert_array_equal(ours.labels, [0, 0, 1, 1, 1])
    assert ours.images.shape == (5, 6, 9, 3)
    expected = np.asarray(Image.fromarray(pixels["b_cat"][2]).resize((9, 6), Image.Resampling.NEAREST))
    np.testing.assert_array_equal(ours.images[4], expected)


def test_folder_relative_path_is_under_data_root_and_threads_agree(tmp_path):
    write_tree(tmp_path / "trees" / "mine", {"x": 4, "y": 3}, ext=".jpg")
    one = data.load("folder:trees/mine", root=tmp_path, image_size=10, progress=False)
    two = data.load("folder:trees/mine", root=tmp_path, image_size=10, n_jobs=2, progress=False)
    assert one.fingerprint == two.fingerprint and one.image_shape == (10, 10, 3)


def test_registered_tree_uses_default_size_and_subset_decodes_only_chosen(tmp_path, monkeypatch):
    write_tree(tmp_path / "archi", {f"style{k:02d}": 4 for k in range(25)})
    calls = []
    from clustlib.data.sources import folder as folder_module

    original = folder_module._decode_one
    monkeypatch.setattr(folder_module, "_decode_one", lambda *a: calls.append(a[0]) or original(*a))
    ours = data.load("archi", root=tmp_path, subset=50, seed=2, progress=False)
    assert ours.image_shape == (224, 224, 3) and len(ours) == 50 and len(calls) == 50
    assert np.bincount(ours.labels).tolist() == [2] * 25


def test_grey_images_become_rgb(tmp_path):
    (tmp_path / "faces" / "p1").mkdir(parents=True)
    Image.fromarray(np.full((4, 4), 77, np.uint8)).save(tmp_path / "faces" / "p1" / "a.pgm")
    ours = data.load(f"folder:{tmp_path / 'faces'}", image_size=4, progress=False)
    assert ours.images.shape == (1, 4, 4, 3) and (ours.images == 77).all()


def test_coil100_and_fei_official_flat_layouts(tmp_path):
    coil = tmp_path / "coil-100"
    coil.mkdir()
    for obj in (1, 2, 10):
        for angle in (0, 5):
            Image.fromarray(np.full((8, 8, 3), obj, np.uint8)).save(coil / f"obj{obj}__{angle}.png")
    (coil / "convertGroupppm2png.pl").write_text("not an image")
    ours = data.load("coil100", root=tmp_path, image_size=8, progress=False)
    assert ours.classes == ("1", "2", "10")  # numeric order, not string order
    np.testing.assert_array_equal(ours.images[:, 0, 0, 0], ours.labels.choose([1, 2, 10]))

    fei = tmp_path / "fei"
    fei.mkdir()
    for person in (3, 12):
        for shot in (1, 2, 3):
            Image.fromarray(np.full((6, 8, 3), person, np.uint8)).save(fei / f"{person}-{shot:02d}.jpg")
    faces = data.load("fei", root=tmp_path, image_size=4, progress=False)
    assert faces.classes == ("3", "12") and np.bincount(faces.labels).tolist() == [3, 3]


def test_flowers17_official_flat_archive_loads_without_sorting(tmp_path):
    """17flowers.tgz extracts to jpg/image_0001.jpg ... image_1360.jpg (80 per class, in class order) and a files.txt;
    it loads as it is, and the paper's 400 images are a stratified draw of 23-24 per class."""
    jpg = tmp_path / "flowers17" / "jpg"
    jpg.mkdir(parents=True)
    for n in range(1, 17 * 80 + 1):
        Image.fromarray(np.full((4, 5, 3), 12 * ((n - 1) // 80), np.uint8)).save(jpg / f"image_{n:04d}.jpg")
    (jpg / "files.txt").write_text("\n".join(f"image_{n:04d}.jpg" for n in range(1, 1361)))
    ours = data.load("flowers17", root=tmp_path, image_size=4, progress=False)
    assert len(ours) == 1360 and ours.n_classes == 17 and np.bincount(ours.labels).tolist() == [80] * 17
    assert ours.classes[0] == "01 (image_0001-0080)" and ours.classes[16] == "17 (image_1281-1360)"
    assert np.abs(ours.images[:, 0, 0, 0].astype(int) - 12 * ours.labels).max() <= 2  # jpeg rounding
    paper = data.load("flowers17", root=tmp_path, image_size=4, subset=400, progress=False)
    assert len(paper) == 400 and set(np.bincount(paper.labels).tolist()) == {23, 24}


def test_flowers17_archive_with_foreign_numbers_is_rejected(tmp_path):
    jpg = tmp_path / "flowers17" / "jpg"
    jpg.mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(jpg / "image_1361.jpg")
    with pytest.raises(DatasetUnavailable, match="0001-1360"):
        data.load("flowers17", root=tmp_path, image_size=4, progress=False)


def test_imagenet10_from_full_imagenet_train_tree(tmp_path):
    from clustlib.data.catalog import IMAGENET10_WNIDS

    train = tmp_path / "imagenet" / "train"
    write_tree(train, {w: 1 for w in IMAGENET10_WNIDS} | {"n99999999": 2}, ext=".JPEG")
    ours = data.load("imagenet10", root=tmp_path, image_size=16, progress=False)
    assert ours.classes == IMAGENET10_WNIDS and len(ours) == 10  # the extra class is left out


def test_voc2007_keeps_single_class_test_images(tmp_path):
    objects = {"000001": ["dog", "dog"], "000002": ["dog", "person"], "000004": ["cat"], "000006": ["car"]}
    write_voc2007(tmp_path, objects)
    ours = data.load("voc2007", root=tmp_path, image_size=8, progress=False)
    assert ours.classes == ("car", "cat", "dog") and ours.labels.tolist() == [2, 1, 0]


def test_broken_trees_get_clear_errors(tmp_path):
    write_tree(tmp_path / "t", {"a": 1})
    (tmp_path / "t" / "empty").mkdir()
    with pytest.raises(DatasetUnavailable, match="empty under .* hold no image"):
        data.load(f"folder:{tmp_path / 't'}", progress=False)
    (tmp_path / "t" / "empty").rmdir()
    (tmp_path / "t" / "a" / "img_000.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DatasetUnavailable, match="img_000.png cannot be decoded"):
        data.load(f"folder:{tmp_path / 't'}", progress=False)
    with pytest.raises(DatasetUnavailable, match="is not a folder"):
        data.load(f"folder:{tmp_path / 'nope'}")
