"""Feature extraction throughput: ``clustlib.features.extract`` vs. a bare forward loop, same model, CPU.

The bare loop is what one writes by hand: the network in eval mode, ``torch.inference_mode``, the
images already resized and normalised into float tensors, one ``model(x)`` per batch, nothing
kept. ``extract`` does strictly more per batch: uint8 -> float conversion, resize, normalisation,
the hooks that read the layers and the copy into the (N, D) output array. Target: ``extract``
throughput >= 0.9x the bare loop. Both run in the same process on the same images, interleaved,
best of ``--repeats``.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_extract.py`` (prints a markdown table;
about 2 minutes on one core with the defaults).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import clustlib.features as cf  # noqa: E402


def _images(n: int) -> np.ndarray:
    """The first n of scikit-learn's digits as uint8 (n, 8, 8, 1): a real dataset, upsampled by the extractor."""
    digits = load_digits()
    return (digits.images[:n] * (255 / 16)).round().astype(np.uint8)[..., None]


def _bare_loop(model, batches) -> None:
    with torch.inference_mode():
        for x in batches:
            model(x)


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extractor", default="efficientnet_lite0.imagenet")
    parser.add_argument("--n", type=int, default=96, help="images")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    pixels = _images(args.n)
    info = cf.get_extractor_info(args.extractor)
    model = cf.create_extractor(args.extractor, offline=True)
    plain = [cf.preprocess_batch(pixels[i:i + args.batch_size], info.preprocessing, channels_last=False)
             for i in range(0, args.n, args.batch_size)]
    nhwc = [x.contiguous(memory_format=torch.channels_last) for x in plain]
    model_nhwc = cf.create_extractor(args.extractor, offline=True).to(memory_format=torch.channels_last)

    def run_extract(layers):
        return lambda: cf.extract(pixels, args.extractor, layers=layers, batch_size=args.batch_size,
                                  num_threads=args.threads, cache=False, progress=False)

    variants = {
        "bare loop (contiguous input, reference)": lambda: _bare_loop(model, plain),
        "bare loop (channels_last)": lambda: _bare_loop(model_nhwc, nhwc),
        "extract L3": run_extract(("L3",)),
        "extract L1+L2+L3 (one pass)": run_extract(("L1", "L2", "L3")),
    }
    for fn in variants.values():  # warm-up: oneDNN primitive caches, page faults
        fn()
    best = {name: float("inf") for name in variants}
    for _ in range(args.repeats):  # interleave so machine load hits every variant alike
        for name, fn in variants.items():
            best[name] = min(best[name], _best(fn, 1))

    cache_dir = os.environ.get("CLUSTLIB_CACHE")
    cf.extract(pixels, args.extractor, layers=("L3",), batch_size=args.batch_size, progress=False)
    hit = cf.extract(pixels, args.extractor, layers=("L3",), batch_size=args.batch_size, progress=False)
    assert hit.all_from_cache

    reference = best["bare loop (contiguous input, reference)"]
    size = info.preprocessing.size
    print(f"{args.extractor}, N = {args.n} digits (8x8 grey -> {size}x{size}), batch {args.batch_size}, "
          f"{args.threads} thread(s), CPU {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"best of {args.repeats}\n")
    print("| variant | seconds | images/s | throughput vs bare loop |")
    print("|---|---|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.2f} | {args.n / seconds:.1f} | {reference / seconds:.2f}x |")
    print(f"| extract L3, second call (cache hit{', CLUSTLIB_CACHE=' + cache_dir if cache_dir else ''}) | "
          f"{hit.seconds:.3f} | {args.n / hit.seconds:.0f} | {reference / hit.seconds:.0f}x |")


if __name__ == "__main__":
    main()
