"""SubKmeans / NrKmeans (clustlib.cluster.subkmeans): subspace recovery, contract, determinism, errors."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from clustlib.cluster import NrKMeans, SubKMeans
from clustlib.errors import InvalidParameter


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):  # small matrices: BLAS threads only add overhead on a shared machine
        yield


def _subspace_blobs(n=1000, seed=0, radius=5.0, noise_std=4.0, n_noise=8):
    """3 blobs (std 1) on a circle in a 2-d plane + ``n_noise`` Gaussian dims of std ``noise_std``, rotated.

    Each noise dimension has more variance (16) than either signal dimension (~13.5), so the top
    principal components are noise.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    ang = 2 * np.pi * np.arange(3) / 3
    centers = radius * np.stack([np.cos(ang), np.sin(ang)], 1)
    raw = np.hstack([centers[y] + rng.normal(size=(n, 2)), rng.normal(scale=noise_std, size=(n, n_noise))])
    Q = np.linalg.qr(rng.normal(size=(2 + n_noise, 2 + n_noise)))[0]
    return raw @ Q, y, Q[:2].T  # data, labels, orthonormal basis (d, 2) of the cluster plane


def test_subkmeans_finds_the_cluster_subspace_that_pca_misses(seed):
    X, y, plane = _subspace_blobs(seed=seed)
    est = SubKMeans(3, n_init=10, random_state=seed).fit(X)
    assert adjusted_rand_score(y, est.labels_) >= 0.95
    assert est.m_ == 2
    Vc = est.V_[:, :est.m_]
    residual = Vc - plane @ (plane.T @ Vc)  # part of the found cluster space outside the true plane
    assert np.linalg.norm(residual, 2) < 0.2
    # The high-variance directions are noise: k-means on the top-2 principal components fails.
    pca_labels = KMeans(3, n_init=10, random_state=seed).fit_predict(PCA(2).fit_transform(X))
    assert adjusted_rand_score(y, pca_labels) < 0.6
    assert adjusted_rand_score(y, KMeans(3, n_init=10, random_state=seed).fit_predict(est.transform(X))) >= 0.95


def test_subkmeans_attributes_are_consistent(seed):
    X, y, _ = _subspace_blobs(n=300, seed=seed)
    est = SubKMeans(3, n_init=5, random_state=seed).fit(X)
    d = X.shape[1]
    assert est.labels_.shape == (300,) and est.labels_.dtype == np.int64
    assert np.allclose(est.V_.T @ est.V_, np.eye(d), atol=1e-10)
    means = np.stack([X[est.labels_ == k].mean(0) for k in range(3)])
    assert np.allclose(est.cluster_centers_, means)  # centres in the original space
    assert np.allclose(est.noise_center_, X.mean(0))
    assert est.transform(X).shape == (300, est.m_)
    assert np.array_equal(est.predict(X), est.labels_)
    # The cost is the within scatter in the cluster space plus the total scatter in the noise space.
    Vc, Vn = est.V_[:, :est.m_], est.V_[:, est.m_:]
    R, T = X - est.cluster_centers_[est.labels_], X - X.mean(0)
    assert est.cost_ == pytest.approx(((R @ Vc) ** 2).sum() + ((T @ Vn) ** 2).sum(), rel=1e-9)


def test_subkmeans_is_deterministic_by_seed():
    X, _, _ = _subspace_blobs(n=400, seed=3)
    a = SubKMeans(3, n_init=3, random_state=7).fit(X)
    b = SubKMeans(3, n_init=3, random_state=7).fit(X)
    assert np.array_equal(a.labels_, b.labels_) and np.array_equal(a.V_, b.V_) and a.cost_ == b.cost_


def test_nrkmeans_separates_two_clusterings():
    rng = np.random.default_rng(1)
    n = 900
    y1, y2 = np.arange(n) % 3, rng.permutation(np.arange(n) % 4)
    ang = 2 * np.pi * np.arange(3) / 3
    tri = 6 * np.stack([np.cos(ang), np.sin(ang)], 1)
    square = np.array([[0, 0], [0, 8], [8, 0], [8, 8]])
    X = np.hstack([tri[y1] + rng.normal(size=(n, 2)), square[y2] + rng.normal(size=(n, 2)),
                   rng.normal(scale=2, size=(n, 2))]) @ np.linalg.qr(rng.normal(size=(6, 6)))[0]
    est = NrKMeans([3, 4, 1], n_init=10, random_state=1).fit(X)
    assert est.labels_.shape == (n, 3) and sum(est.m_) == 6
    assert adjusted_rand_score(y1, est.labels_[:, 0]) >= 0.95
    assert adjusted_rand_score(y2, est.labels_[:, 1]) >= 0.95
    assert np.allclose(est.V_.T @ est.V_, np.eye(6), atol=1e-10)
    assert np.array_equal(est.predict(X), est.labels_)
    assert est.transform_subspace(X, 1).shape == (n, est.m_[1])


def test_subkmeans_is_fast_on_10k_points():
    rng = np.random.default_rng(0)
    X = np.hstack([rng.normal(size=(10000, 2)) + np.repeat(rng.normal(scale=5, size=(10, 2)), 1000, 0),
                   rng.normal(scale=3, size=(10000, 8))])
    t0 = time.perf_counter()
    SubKMeans(10, random_state=0).fit(X)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize(
    "est, X, match",
    [
        (SubKMeans(1), np.zeros((10, 3)), "n_clusters"),
        (SubKMeans(11), np.random.default_rng(0).normal(size=(10, 3)), "n_clusters"),
        (SubKMeans(2), np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]), "NaN"),
        (SubKMeans(2), np.zeros((5, 1)), "at least 2 features"),
        (SubKMeans(2, max_iter=0), np.random.default_rng(0).normal(size=(10, 3)), "max_iter"),
        (NrKMeans([1, 3]), np.random.default_rng(0).normal(size=(10, 3)), "noise space"),
        (NrKMeans([3]), np.random.default_rng(0).normal(size=(10, 3)), "at least two"),
        (NrKMeans(3), np.random.default_rng(0).normal(size=(10, 3)), "at least two"),
        (NrKMeans([2, 2, 2, 1]), np.random.default_rng(0).normal(size=(10, 3)), "features"),
    ],
)
def test_bad_input_is_refused(est, X, match):
    with pytest.raises(InvalidParameter, match=match):
        est.fit(X)


def test_agrees_with_clustpy_subkmeans():
    cp = pytest.importorskip("clustpy.centroid")
    X, y, _ = _subspace_blobs(n=600, seed=2, radius=8.0, noise_std=5.0)
    ours = SubKMeans(3, n_init=5, random_state=0).fit(X)
    ref = cp.SubKmeans(3, n_init=5, random_state=0).fit(X)
    assert adjusted_rand_score(ours.labels_, ref.labels_) == 1.0 and ours.m_ == ref.m_
