"""Freeze, then compare, what every torch method of :mod:`clustlib.deep` computes on a small real input.

Guards the move of the deep methods onto one training engine (issue 17): run it once before the refactor with
``--save BEFORE.npz``, once after with ``--compare BEFORE.npz``; every method must give bit-equal labels, the same
SHA-256 of its final ``state_dict`` and the same per-epoch losses. CPU only, fixed seeds, a few epochs each (about
two minutes on two shared cores with ``OMP_NUM_THREADS=1``).

Inputs: scikit-learn's digits (1,797 8x8 images, pixels / 16): flat rows for the autoencoder methods, JULE and
MVnet (two views: the left and right halves of each image); the first 300 upsampled to 16x16 (DAC), 32x32 (MMDC)
and 32x32 RGB (Contrastive Clustering).

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/engine_equivalence.py --save /work/engine_before.npz
    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/engine_equivalence.py --compare /work/engine_before.npz
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F


def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32)  # (1797, 8, 8) in [0, 1]


def _upsampled(images: np.ndarray, size: int, channels: int = 1) -> np.ndarray:
    x = torch.from_numpy(images[:, None])
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return x.repeat(1, channels, 1, 1).numpy().astype(np.float32)


def _state_hash(module: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _history(est) -> np.ndarray:
    """Per-epoch losses: JULE's and MVnet's ``loss_history_`` (one list per period, flattened; what they froze
    before the engine gave them a per-period ``history_``), every other method's ``history_.losses``."""
    if hasattr(est, "loss_history_"):
        return np.asarray(est.loss_history_, dtype=np.float64).ravel()
    return np.asarray(est.history_.losses, dtype=np.float64)


def _methods(cache_dir: str):
    from clustlib.deep import (ACeDeC, AEKMeans, DAC, DCN, DEC, IDEC, JULE, MMDC, ContrastiveClustering,
                               DipEncoder, MVnet)

    flat = _digits().reshape(-1, 64)
    ae = dict(network="ff_500_500_2000", embedding_size=10, pretrain_epochs=3, clustering_epochs=3, batch_size=256,
              kmeans_n_init=3, device="cpu", random_state=0, progress=False, cache_dir=cache_dir)
    for cls in (DEC, IDEC, DCN, AEKMeans, DipEncoder):
        yield cls.__name__, (lambda cls=cls: cls(10, **ae).fit(flat)), "autoencoder_"
    small = flat[:400]
    yield "ACeDeC", (lambda: ACeDeC(10, **ae).fit(small)), "autoencoder_"  # its NrKMeans start is slow on all 1,797
    yield "JULE", (lambda: JULE(10, epochs_per_period=2, max_epochs=6, device="cpu", random_state=0).fit(small)), \
        "network_"
    views = [small[:, :32].copy(), small[:, 32:].copy()]
    yield "MVnet", (lambda: MVnet(10, jule_params={"epochs_per_period": 2, "max_epochs": 4}, device="cpu",
                                  random_state=0).fit(views)), "network_"
    images = _digits()[:300]
    d16 = _upsampled(images, 16)
    d16 = d16 - d16.mean()
    yield "DAC", (lambda: DAC(10, chunk_size=150, chunk_passes=2, batch_size=30, epochs=3, device="cpu",
                              random_state=0, progress=False).fit(d16)), "network_"
    yield "DAC_batch", (lambda: DAC(10, variant="dac_star", threshold_schedule="script", pairs="batch",
                                    chunk_size=150, chunk_passes=1, batch_size=30, steps_per_batch=2,
                                    distill_weight=1.0, epochs=2, device="cpu", random_state=0,
                                    progress=False).fit(d16)), "network_"
    d32 = _upsampled(images, 32)
    yield "MMDC", (lambda: MMDC(10, epochs=3, refine_epoch=2, lr_milestones=(2,), batch_size=50, input_size=16,
                                crop_sizes=(24,), device="cpu", random_state=0, progress=False).fit(d32)), "network_"
    rgb = _upsampled(images[:128], 32, channels=3)
    yield "ContrastiveClustering", (lambda: ContrastiveClustering(10, backbone="resnet18", image_size=32, epochs=2,
                                                                  batch_size=64, device="cpu", random_state=0,
                                                                  progress=False).fit(rgb)), "network_"


def run(only=None) -> dict[str, dict]:
    """Fit each method; returns {name: {"labels", "state", "history", "seconds"}}."""
    torch.set_num_threads(1)
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for name, fit, attr in _methods(cache):
            if only and name not in only:
                continue
            t0 = time.perf_counter()
            est = fit()
            net = getattr(est, attr)
            out[name] = dict(labels=np.asarray(est.labels_, dtype=np.int64), state=_state_hash(net),
                             history=_history(est), seconds=time.perf_counter() - t0)
            print(f"{name:24s} {out[name]['seconds']:6.1f} s  state {out[name]['state'][:16]}", flush=True)
    return out


def save(results: dict, path: str) -> None:
    """Write (or, for methods run again with ``--only``, update) the .npz at ``path``."""
    try:
        with np.load(path) as old:
            arrays = {k: old[k] for k in old.files}
    except FileNotFoundError:
        arrays = {}
    for name, r in results.items():
        arrays[f"{name}/labels"] = r["labels"]
        arrays[f"{name}/history"] = r["history"]
        arrays[f"{name}/state"] = np.asarray(r["state"])
    np.savez(path, **arrays)


def compare(results: dict, path: str) -> bool:
    ref = np.load(path)
    ok = True
    for name, r in results.items():
        if f"{name}/labels" not in ref:
            print(f"{name:24s} NOT IN {path}")
            ok = False
            continue
        same_labels = np.array_equal(ref[f"{name}/labels"], r["labels"])
        same_state = str(ref[f"{name}/state"]) == r["state"]
        same_hist = np.array_equal(ref[f"{name}/history"], r["history"])
        verdict = "bit-equal" if same_labels and same_state and same_hist else "DIFFERS"
        ok &= verdict == "bit-equal"
        print(f"{name:24s} {verdict}: labels {same_labels}, state {same_state}, history {same_hist}")
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--save", help="write labels, state hashes and histories to this .npz")
    ap.add_argument("--compare", help="compare with the .npz a --save wrote; exit 1 on any difference")
    ap.add_argument("--only", nargs="*", help="method names to run (default: all)")
    args = ap.parse_args(argv)
    results = run(args.only)
    if args.save:
        save(results, args.save)
    if args.compare:
        return 0 if compare(results, args.compare) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
