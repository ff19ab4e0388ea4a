"""Dataset loading: clustlib.data readers vs. torchvision's dataset classes on the same files.

Run: ``.venv/bin/python benchmarks/bench_data.py`` (prints a markdown table; about a minute).
Fashion-MNIST is read from Debian's package when installed; CIFAR-10 and the image tree are
written in their official formats into a temporary folder (random pixels, real file sizes).
"""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from clustlib import data  # noqa: E402

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def best_of(fn, repeats: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def bench_fashion(tmp: Path) -> list[tuple]:
    import torchvision.datasets as tvd

    raw = tmp / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in DEBIAN.glob("*.gz"):
        (raw / gz.stem).write_bytes(gzip.decompress(gz.read_bytes()))
    t_gz, ours_gz = best_of(lambda: data.load("fashion_mnist", root=tmp / "none"))
    t_raw, ours = best_of(lambda: data.load("fashion_mnist", root=tmp))

    def reference():
        parts = [tvd.FashionMNIST(str(tmp), train=t) for t in (True, False)]
        return np.concatenate([p.data.numpy() for p in parts]), np.concatenate([p.targets.numpy() for p in parts])

    t_ref, (ref_x, ref_y) = best_of(reference)
    assert np.array_equal(ours.images[..., 0], ref_x) and np.array_equal(ours.labels, ref_y)
    assert ours_gz.fingerprint == ours.fingerprint
    return [("Fashion-MNIST all (70,000), uncompressed IDX", t_raw, "torchvision FashionMNIST train+test", t_ref),
            ("Fashion-MNIST all, Debian .gz IDX", t_gz, "same torchvision (uncompressed)", t_ref)]


def bench_cifar(tmp: Path) -> list[tuple]:
    import torchvision.datasets as tvd
    from torchvision.datasets.utils import check_integrity

    folder = tmp / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (10000, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, 10000).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [str(i) for i in range(10)]}, protocol=2))

    class NoMd5(tvd.CIFAR10):  # the random files cannot pass the md5 check; its cost is timed separately
        train_list = [[n, None] for n, _ in tvd.CIFAR10.train_list]
        test_list = [[n, None] for n, _ in tvd.CIFAR10.test_list]
        meta = {**tvd.CIFAR10.meta, "md5": None}

    t_ours, ours = best_of(lambda: data.load("cifar10", root=tmp))

    def reference():
        parts = [NoMd5(str(tmp), train=t) for t in (True, False)]
        return np.concatenate([p.data for p in parts]), sum((p.targets for p in parts), [])

    t_ref, (ref_x, ref_y) = best_of(reference)
    # torchvision md5-checks all six batches in each constructor (twice for train + test)
    t_md5, _ = best_of(lambda: [check_integrity(str(p), "0" * 32) for p in sorted(folder.glob("*_batch*"))])
    assert np.array_equal(ours.images, ref_x) and np.array_equal(ours.labels, ref_y)
    return [("CIFAR-10 all (60,000), python pickles", t_ours, "torchvision CIFAR10 train+test incl. its md5 checks",
             t_ref + 2 * t_md5)]


def bench_tree(tmp: Path, n: int = 240) -> list[tuple]:
    import torchvision.datasets as tvd
    import torchvision.transforms as T

    rng = np.random.default_rng(0)
    root = tmp / "tree"
    for i in range(n):
        folder = root / f"class{i % 8}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(folder / f"{i:04d}.jpg",
                                                                                 quality=90)
    name = f"folder:{root}"
    t1, ours = best_of(lambda: data.load(name, image_size=224, progress=False), repeats=2)
    t2, ours2 = best_of(lambda: data.load(name, image_size=224, n_jobs=2, progress=False), repeats=2)

    def reference():
        folder = tvd.ImageFolder(str(root), transform=T.Resize((224, 224)))
        return np.stack([np.asarray(img) for img, _ in folder])

    t_ref, ref = best_of(reference, repeats=2)
    assert ours.fingerprint == ours2.fingerprint
    assert np.abs(ours.images.astype(int) - ref.astype(int)).mean() < 2.0  # PIL vs tensor-free Resize: ~equal
    return [(f"image tree, {n} JPEGs 400x300 -> 224x224, 1 thread", t1, "torchvision ImageFolder + Resize", t_ref),
            (f"image tree, {n} JPEGs, n_jobs=2", t2, "torchvision ImageFolder + Resize", t_ref)]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench_data_"))
    try:
        rows = []
        if (DEBIAN / "train-images-idx3-ubyte.gz").is_file():
            rows += bench_fashion(tmp)
        rows += bench_cifar(tmp)
        rows += bench_tree(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"clustlib.data vs torchvision, best of 3 (2 for trees), {os.cpu_count()} CPUs (shared)\n")
    print("| what | clustlib (s) | reference | reference (s) | speed-up |")
    print("|---|---|---|---|---|")
    for what, ours, ref_name, ref in rows:
        print(f"| {what} | {ours:.2f} | {ref_name} | {ref:.2f} | {ref / ours:.1f}x |")


if __name__ == "__main__":
    main()
