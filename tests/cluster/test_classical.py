"""Base clusterers: scores on digits, the isometric reduction changes nothing, bad input fails early."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from clustlib.cluster import build_label_views, cluster_features, isometric_reduction
from clustlib.errors import InvalidParameter, UnknownName


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.data[:400].astype(np.float64), d.target[:400]


@pytest.fixture(scope="module")
def wide_digits(digits):
    """Digits through a random Gaussian map to 1,500 dims (> N = 400), like a CNN's wide layer."""
    X, y = digits
    rng = np.random.default_rng(0)
    return (X @ rng.normal(size=(X.shape[1], 1500))).astype(np.float32), y


@pytest.mark.parametrize("algorithm, floor", [("agglomerative", 0.75), ("kmeans", 0.65)])
def test_scores_on_digits(digits, algorithm, floor):
    X, y = digits
    labels, seconds, reduction = cluster_features(X, algorithm, 10, random_state=0)
    assert normalized_mutual_info_score(y, labels) > floor
    assert seconds > 0 and reduction == "none" and labels.dtype == np.int64


def test_reduction_preserves_distances(wide_digits):
    X, _ = wide_digits
    Z, note = isometric_reduction(X, chunk_bytes=400 * 8 * 97)  # several column blocks
    assert Z.shape[0] == X.shape[0] and Z.shape[1] <= X.shape[0]
    assert note.startswith("isometric 1500->")
    d_x, d_z = pdist(X.astype(np.float64)), pdist(Z)
    np.testing.assert_allclose(d_z, d_x, rtol=1e-7, atol=1e-6 * d_x.max())


def test_ward_labels_identical_after_reduction(wide_digits):
    X, _ = wide_digits
    plain = cluster_features(X, "agglomerative", 10, reduce=False)
    reduced = cluster_features(X, "agglomerative", 10)
    assert plain.reduction == "none" and reduced.reduction.startswith("isometric")
    np.testing.assert_array_equal(plain.labels, reduced.labels)


def test_kmeans_same_partition_after_reduction(wide_digits):
    X, _ = wide_digits
    plain = cluster_features(X.astype(np.float64), "kmeans", 10, random_state=3, reduce=False)
    reduced = cluster_features(X, "kmeans", 10, random_state=3)
    assert adjusted_rand_score(plain.labels, reduced.labels) == pytest.approx(1.0)


def test_same_seed_same_labels(digits):
    X, _ = digits
    a = cluster_features(X, "kmeans", 10, random_state=7).labels
    b = cluster_features(X, "kmeans", 10, random_state=7).labels
    np.testing.assert_array_equal(a, b)


def test_build_label_views(digits):
    X, y = digits
    views = build_label_views([X, X[:, ::-1].copy(), np.sqrt(X)], 10, "agglomerative", progress=False)
    assert views.labels.shape == (3, 400) and views.seconds.shape == (3,)
    assert views.reductions == ["none"] * 3
    np.testing.assert_array_equal(views.labels[0], views.labels[1])  # column order is irrelevant


@pytest.mark.parametrize("bad, match", [
    (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), "NaN or infinite"),
    (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X), "NaN or infinite"),
    (lambda X: X[:, 0], "2-D"),
])
def test_bad_features(digits, bad, match):
    with pytest.raises(InvalidParameter, match=match):
        cluster_features(bad(digits[0]), "kmeans", 10)


@pytest.mark.parametrize("k", [1, 0, 401, 2.5])
def test_bad_n_clusters(digits, k):
    with pytest.raises(InvalidParameter, match="n_clusters"):
        cluster_features(digits[0], "agglomerative", k)


def test_unknown_algorithm(digits):
    with pytest.raises(UnknownName, match="kmeans"):
        cluster_features(digits[0], "dbscan", 10)


def test_build_label_views_bad_views(digits):
    X, _ = digits
    with pytest.raises(InvalidParameter, match="at least two views"):
        build_label_views([X], 10, progress=False)
    with pytest.raises(InvalidParameter, match="numbers of rows differ"):
        build_label_views([X, X[:-1]], 10, progress=False)
