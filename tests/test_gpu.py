"""CUDA paths (marked ``gpu``: skipped without a device). What a user of a GPU machine relies on: the same
features as on the CPU, deterministic training on the device, and the estimators' device argument honoured."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

pytestmark = pytest.mark.gpu


def test_extraction_on_cuda_matches_the_cpu_in_float32(tmp_path):
    from clustlib import features

    images = np.random.default_rng(0).integers(0, 256, (8, 64, 64, 3), dtype=np.uint8)
    kw = dict(layers=("L3",), cache=False, amp=False)
    cpu = features.extract(images, "efficientnet_lite0.imagenet", device="cpu", **kw)["L3"]
    gpu = features.extract(images, "efficientnet_lite0.imagenet", device="cuda", **kw)["L3"]
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-3)


def test_dec_trains_on_cuda_deterministically(tmp_path):
    from clustlib.deep import DEC

    d = load_digits()
    X = ((d.data - d.data.mean()) / d.data.std()).astype(np.float32)
    kw = dict(network="ff_512_256_128", pretrain_epochs=3, clustering_epochs=2, random_state=0, device="cuda",
              cache_dir=tmp_path, progress=False, use_cache=False)
    a, b = DEC(10, **kw).fit(X), DEC(10, **kw).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.history_.losses == b.history_.losses
