"""Hartigan's dip (with modal triangle) and DipEncoder (clustlib.deep)."""

from __future__ import annotations

import diptest
import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.datasets import load_digits

from clustlib.deep import DipEncoder
from clustlib.stats.dip import dip_gradient, dip_statistic, mirrored_modal_interval
from clustlib.deep.autoencoder.dipencoder import dip_loss_value
from clustlib.errors import InvalidParameter


pytestmark = pytest.mark.usefixtures("one_thread")


def _samples():
    rng = np.random.default_rng(0)
    for trial in range(160):
        n = int(rng.integers(3, 250))
        kind = trial % 4
        if kind == 0:
            yield rng.normal(size=n)
        elif kind == 1:
            yield np.concatenate([rng.normal(size=n // 2), rng.normal(rng.uniform(0, 6), size=n - n // 2)])
        elif kind == 2:
            yield rng.integers(0, 6, size=n).astype(float)  # ties
        else:
            yield rng.exponential(size=n)


def test_dip_equals_the_diptest_package():
    """diptest (PyPI) ports Maechler's C code of Hartigan's AS 217; same statistic on every sample."""
    for x in _samples():
        assert dip_statistic(x)[0] == pytest.approx(diptest.dipstat(x, allow_zero=False), rel=1e-12, abs=1e-15)


def test_dip_known_values():
    # Evenly spaced points are as unimodal as a sample gets: dip = 1/(2n).
    assert dip_statistic(np.arange(20.0))[0] == pytest.approx(1 / 40)
    # Two equal point masses: the largest possible dip, 1/4 (Hartigan & Hartigan 1985).
    assert dip_statistic(np.repeat([0.0, 1.0], 50))[0] == pytest.approx(0.25)
    assert dip_statistic([3.0])[0] == pytest.approx(0.5)
    with pytest.raises(InvalidParameter):
        dip_statistic([])


def test_modal_triangle_reproduces_the_dip_and_its_gradient():
    checked = 0
    for x in _samples():
        xs = np.sort(x)
        d, (lo, hi), (i1, i2, i3) = dip_statistic(xs, is_sorted=True)
        assert 0 <= lo <= hi < len(xs)
        if i1 < 0 or len(np.unique(xs)) < len(xs):
            continue
        n, span = len(xs), i3 - i1
        r = (xs[i2] - xs[i1]) / (xs[i3] - xs[i1])
        left, right = (i2 - i1 + 1) - span * r, span * r - (i2 - i1 - 1)
        assert d == pytest.approx(max(left, right) / (2 * n), rel=1e-9)
        # Finite differences on the three triangle values, small enough to keep the triangle.
        g = dip_gradient(xs, (i1, i2, i3))
        gaps = np.diff(xs)
        eps = 1e-4 * gaps.min()
        for pos, idx in enumerate((i1, i2, i3)):
            up, dn = xs.copy(), xs.copy()
            up[idx] += eps
            dn[idx] -= eps
            fd = (dip_statistic(up, is_sorted=True)[0] - dip_statistic(dn, is_sorted=True)[0]) / (2 * eps)
            assert fd == pytest.approx(g[pos], rel=1e-3, abs=1e-9)
        checked += 1
    assert checked > 50


def test_dip_autograd_function_puts_the_gradient_on_the_triangle():
    x = torch.tensor(np.random.default_rng(1).normal(size=40), requires_grad=True)
    d = dip_loss_value(x)
    d.backward()
    assert float(d.detach()) == pytest.approx(diptest.dipstat(x.detach().numpy(), allow_zero=False))
    assert int((x.grad != 0).sum()) <= 3


def test_mirrored_modal_interval_lies_on_the_sample():
    rng = np.random.default_rng(2)
    for x in (np.abs(rng.normal(size=300)), rng.normal(size=300), rng.exponential(size=200)):
        xs = np.sort(x)
        lo, hi = mirrored_modal_interval(xs)
        assert xs[0] <= lo <= hi <= xs[-1]
        assert np.isin([lo, hi], xs).all()  # its ends are sample points
    sym = np.sort(rng.normal(size=400))
    lo, hi = mirrored_modal_interval(sym)
    assert lo < np.median(sym) < hi  # a symmetric unimodal sample keeps its centre inside


def _acc(y, p):
    c = np.zeros((10, 10))
    np.add.at(c, (p, y), 1)
    r, s = linear_sum_assignment(-c)
    return c[r, s].sum() / len(y)


def test_dipencoder_bad_input(tmp_path):
    X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    with pytest.raises(InvalidParameter, match="max_cluster_size_diff_factor"):
        DipEncoder(3, max_cluster_size_diff_factor=0.5, cache_dir=tmp_path, progress=False).fit(X)
    with pytest.raises(InvalidParameter, match="reconstruction_loss_weight"):
        DipEncoder(3, reconstruction_loss_weight=-1.0, cache_dir=tmp_path, progress=False).fit(X)


@pytest.mark.score
def test_dipencoder_on_digits_is_deterministic_and_sensible(tmp_path, seed, record_score):
    d = load_digits()
    X = ((d.data - d.data.mean()) / d.data.std()).astype(np.float32)
    kw = dict(network="ff_512_256_128", pretrain_epochs=15, clustering_epochs=2, random_state=seed,
              cache_dir=tmp_path, progress=False)
    a = DipEncoder(10, **kw).fit(X)
    b = DipEncoder(10, **kw).fit(X)
    assert np.array_equal(a.labels_, b.labels_) and a.history_.losses == b.history_.losses
    assert a.projection_axes_.shape == (45, 10) and len(a.thresholds_) == 45
    assert a.reconstruction_weight_ > 0
    assert np.array_equal(a.predict(X), a.labels_)
    assert record_score("acc", _acc(d.target, a.labels_)) >= 0.6  # seeds 0-4 on AMD EPYC: 0.656-0.726
