"""One-command check of clustlib's CUDA paths, for a session that is lent a GPU (under 8 minutes on one GPU).

    python benchmarks/gpu_check.py            # needs CUDA; prints a Markdown table for benchmarks/RESULTS.md
    python benchmarks/gpu_check.py --device cpu --quick   # the same code paths on the CPU (a dry run)

What it exercises: feature extraction in float32 and with mixed precision (partition agreement between the two);
every deep method for a few steps (the autoencoder methods with AMP), each fitted twice with the same seed
(labels equal: determinism on the device); a checkpointed fit stopped half-way and resumed (equal to the
uninterrupted fit); a Dask GPU worker; the ops that ran without a deterministic CUDA kernel.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _digits(side: int | None = None, rgb: bool = False):
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images * (255 / 16)).astype(np.uint8)
    if side:
        from clustlib.data import resize_images

        images = resize_images(images[..., None], side)[..., 0]
    if rgb:
        images = np.repeat(images[..., None], 3, axis=-1)
    return images, d.target


def _row(rows, name, seconds, **info):
    rows.append({"check": name, "seconds": round(seconds, 2), **info})
    print(f"  {name:38s} {seconds:7.2f} s  " + "  ".join(f"{k}={v}" for k, v in info.items()), flush=True)


def check_extraction(rows, device):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from clustlib import features

    images, _ = _digits(64, rgb=True)
    out = {}
    for amp in (False, True):
        t0 = time.perf_counter()
        feats = features.extract(images, "efficientnet_lite0.imagenet", ("L3",), device=device, amp=amp, cache=False)
        out[amp] = feats["L3"]
        _row(rows, f"extract Lite0 L3 ({'amp' if amp else 'fp32'})", time.perf_counter() - t0, n=len(images))
    a, b = (KMeans(10, n_init=3, random_state=0).fit_predict(out[k]) for k in (False, True))
    _row(rows, "k-means partitions fp32 vs amp", 0.0, ari=round(adjusted_rand_score(a, b), 3),
         max_abs_diff=float(np.abs(out[False] - out[True]).max()))


def check_deep(rows, device, quick, tmp):
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from clustlib import deep

    grey, y = _digits()
    X = ((grey.reshape(len(grey), -1) - grey.mean()) / grey.std()).astype(np.float32)
    rgb32, _ = _digits(32, rgb=True)
    small = dict(pretrain_epochs=2 if quick else 5, clustering_epochs=2, random_state=0, device=device,
                 cache_dir=tmp, progress=False, network="ff_512_256_128", amp=True)
    estimators = {
        "DEC": lambda: deep.DEC(10, **small), "IDEC": lambda: deep.IDEC(10, **small),
        "DCN": lambda: deep.DCN(10, **small), "AE+KMeans": lambda: deep.AEKMeans(10, **small),
        "ACe/DeC": lambda: deep.ACeDeC(10, init_iterations=100, **small),
        "DipEncoder": lambda: deep.DipEncoder(10, **small),
        "JULE": lambda: deep.JULE(10, epochs_per_period=2, max_epochs=4, device=device, random_state=0),
        "DAC": lambda: deep.DAC(10, epochs=2, device=device, random_state=0, progress=False),
        "MMDC": lambda: deep.MMDC(10, epochs=2, batch_size=64, device=device, random_state=0, progress=False),
        "CC": lambda: deep.ContrastiveClustering(10, backbone="resnet18", image_size=32, epochs=1, batch_size=128,
                                                 device=device, random_state=0, progress=False),
    }
    inputs = {"JULE": X, "DAC": None, "MMDC": None, "CC": rgb32}
    for name, make in estimators.items():
        data = inputs.get(name, X)
        if name in ("DAC", "MMDC"):
            data = _digits(16 if name == "DAC" else 32)[0][..., None]
        t0 = time.perf_counter()
        a = make().fit(data)
        seconds = time.perf_counter() - t0
        b = make().fit(data)
        _row(rows, f"{name} fit x2", seconds, nmi=round(nmi(y, a.labels_), 3),
             same_labels=bool(np.array_equal(a.labels_, b.labels_)))


def check_resume(rows, device, tmp):
    from clustlib.deep import DEC

    grey, _ = _digits()
    X = ((grey.reshape(len(grey), -1) - grey.mean()) / grey.std()).astype(np.float32)
    kw = dict(network="ff_512_256_128", pretrain_epochs=3, random_state=0, device=device, cache_dir=tmp,
              progress=False)
    t0 = time.perf_counter()
    full = DEC(10, clustering_epochs=4, **kw).fit(X)
    DEC(10, clustering_epochs=2, checkpoint_path=tmp / "half.ckpt", **kw).fit(X)
    resumed = DEC(10, clustering_epochs=4, checkpoint_path=tmp / "half.ckpt", **kw).fit(X)
    _row(rows, "DEC stopped at epoch 2, resumed to 4", time.perf_counter() - t0,
         equal=bool(np.array_equal(full.labels_, resumed.labels_)))


def check_dask_gpu(rows, device):
    from clustlib.parallel import DaskExecutor

    def where(spec):
        import torch

        return {"cuda": torch.cuda.is_available(), "n": spec}

    t0 = time.perf_counter()
    with DaskExecutor(n_workers=1, gpu=device == "cuda") as ex:
        out = ex.map(where, [0, 1], progress=False)
    _row(rows, "Dask worker (GPU resource)", time.perf_counter() - t0,
         cuda_in_worker=all(r["cuda"] for r in out.values()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="fewer epochs (a dry run of the code paths)")
    args = parser.parse_args(argv)
    import tempfile
    from pathlib import Path

    import torch

    from clustlib import repro

    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device visible to torch; run it on the GPU machine, or pass --device cpu "
              "for a dry run of the same code paths.", file=sys.stderr)
        return 2
    repro.seed_everything(0)
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    print(f"device: {name}; torch {torch.__version__}", flush=True)
    rows: list[dict] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        check_extraction(rows, args.device)
        check_deep(rows, args.device, args.quick, Path(tmp))
        check_resume(rows, args.device, Path(tmp))
        check_dask_gpu(rows, args.device)
    print(f"\nnondeterministic CUDA ops that ran: {repro.nondeterministic_ops() or 'none'}")
    print(f"total {time.perf_counter() - t0:.0f} s\n")
    import pandas as pd

    print(pd.DataFrame(rows).fillna("").to_markdown(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
