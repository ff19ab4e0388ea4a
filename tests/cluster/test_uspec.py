"""U-SPEC, transfer cut and the U-SENC generator (clustlib.cluster.uspec)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_blobs, make_moons
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from clustlib.cluster.uspec import USPEC, transfer_cut, usenc_ensemble, uspec_affinity
from clustlib.errors import InvalidParameter

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


def _block_graph(rng, sizes=(20, 25, 15), cols_per_block=3, leak=0.01):
    """Samples of block b connect strongly to block b's columns and weakly to all others."""
    truth = np.repeat(np.arange(len(sizes)), sizes)
    ny = cols_per_block * len(sizes)
    B = leak * rng.uniform(size=(truth.size, ny))
    for b in range(len(sizes)):
        B[truth == b, b * cols_per_block : (b + 1) * cols_per_block] += rng.uniform(0.5, 1.0, size=(sizes[b], cols_per_block))
    return B, truth


def test_transfer_cut_recovers_blocks(rng, seed):
    B, truth = _block_graph(rng)
    labels = transfer_cut(B, 3, random_state=seed)
    assert adjusted_rand_score(truth, labels) == 1.0
    # sparse input, and a column nobody touches, change nothing
    B_sparse = sp.csr_matrix(np.hstack([B, np.zeros((B.shape[0], 1))]))
    assert np.array_equal(transfer_cut(B_sparse, 3, random_state=seed), labels)


def test_uspec_blobs_and_moons(seed):
    X, y = make_blobs(2000, centers=5, n_features=8, random_state=seed)
    # measured ARI 1.0 for seeds 0-2
    assert adjusted_rand_score(y, USPEC(5, n_representatives=200, random_state=seed).fit(X).labels_) >= 0.98
    X, y = make_moons(1000, noise=0.05, random_state=seed)
    # the KNN graph separates the two moons (measured ARI 1.0 for seeds 0-2)
    assert adjusted_rand_score(y, USPEC(2, n_representatives=100, random_state=seed).fit(X).labels_) >= 0.95


@pytest.mark.score
@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_uspec_digits_nmi(digits, seed, distance, record_score):
    X, y = digits
    model = USPEC(10, distance=distance, random_state=seed).fit(X)
    # seeds 0-4 on AMD EPYC: 0.863-0.891 (euclidean), 0.875-0.908 (cosine), p = 1000
    assert 0.82 <= record_score("nmi", normalized_mutual_info_score(y, model.labels_)) <= 0.96
    assert model.labels_.shape == (X.shape[0],) and set(np.unique(model.labels_)) == set(range(10))
    assert model.affinity_.shape == (X.shape[0], 1000) and model.representatives_.shape == (1000, 64)


def test_affinity_matches_exact_knn(digits, seed):
    X, _ = digits
    B, reps = uspec_affinity(X, n_representatives=300, knn=5, random_state=seed)
    assert sp.isspmatrix_csr(B) and B.shape == (X.shape[0], 300)
    assert np.all(B.getnnz(axis=1) == 5)
    assert np.all((B.data > 0) & (B.data <= 1.0))
    # the approximate search finds almost exactly the true 5 nearest representatives (measured 99.6%)
    d2 = ((X[:, None, :] - reps[None]) ** 2).sum(-1)
    exact = np.argsort(d2, axis=1)[:, :5]
    overlap = np.mean([np.intersect1d(B[i].indices, exact[i]).size / 5 for i in range(X.shape[0])])
    assert overlap >= 0.97
    # Gaussian kernel with sigma = mean kept distance
    dist = np.sqrt(np.take_along_axis(d2, B.indices.reshape(-1, 5), axis=1))
    expected = np.exp(-(dist**2) / (2 * dist.mean() ** 2))
    np.testing.assert_allclose(B.data.reshape(-1, 5), expected, rtol=1e-6, atol=1e-12)


def test_determinism(digits, seed):
    X, _ = digits
    a = USPEC(10, n_representatives=200, random_state=seed).fit(X)
    b = USPEC(10, n_representatives=200, random_state=seed).fit(X)
    assert np.array_equal(a.labels_, b.labels_)
    assert (a.affinity_ != b.affinity_).nnz == 0
    c = USPEC(10, n_representatives=200, random_state=seed + 1).fit(X)
    assert not np.allclose(a.representatives_, c.representatives_)


@pytest.mark.score
def test_usenc_ensemble(digits, seed, record_score):
    X, y = digits
    labels, ks = usenc_ensemble(X, 4, (10, 42), n_representatives=200, random_state=seed)
    assert labels.shape == (X.shape[0], 4) and ks.shape == (4,)
    assert np.all((ks >= 10) & (ks <= 42))
    for j in range(4):
        assert np.unique(labels[:, j]).size <= ks[j]
        assert record_score(f"nmi_base{j}", normalized_mutual_info_score(y, labels[:, j])) > 0.6  # seeds 0-4 on AMD EPYC: 0.733-0.860
    again, ks2 = usenc_ensemble(X, 4, (10, 42), n_representatives=200, random_state=seed)
    assert np.array_equal(labels, again) and np.array_equal(ks, ks2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_clusters": 11, "n_representatives": 10}, "n_clusters"),
        ({"n_clusters": 1}, "n_clusters"),
        ({"n_clusters": 3, "distance": "manhattan"}, "distance"),
        ({"n_clusters": 3, "knn": 0}, "knn"),
        ({"n_clusters": 3, "n_representatives": 1.5}, "n_representatives"),
        ({"n_clusters": 3, "kmeans_replicates": 0}, "kmeans_replicates"),
        ({"n_clusters": 3, "random_state": "seed"}, "random_state"),
    ],
)
def test_uspec_bad_parameters(kwargs, match):
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(InvalidParameter, match=match):
        USPEC(**kwargs).fit(X)


def test_bad_inputs():
    X = np.random.default_rng(0).normal(size=(50, 3))
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(InvalidParameter, match="NaN"):
        USPEC(3).fit(X_nan)
    with pytest.raises(InvalidParameter, match="2-D"):
        USPEC(3).fit(X[:, 0])
    with pytest.raises(InvalidParameter, match="non-negative"):
        transfer_cut(-np.ones((5, 3)), 2)
    with pytest.raises(InvalidParameter, match="non-empty columns"):
        transfer_cut(np.eye(6)[:, :3], 4)
    with pytest.raises(InvalidParameter, match="k_range"):
        usenc_ensemble(X, 2, (1, 5))
    with pytest.raises(InvalidParameter, match="k_range"):
        usenc_ensemble(X, 2, (6, 5))
    with pytest.raises(InvalidParameter, match="n_clusterings"):
        usenc_ensemble(X, 0, (2, 5))


def test_sparse_eigensolver_path_agrees_with_dense(rng, seed, monkeypatch):
    """Above 3000 columns the transfer cut switches to Lanczos; both must give the same partition."""
    import clustlib.cluster.uspec as uspec_module

    B, truth = _block_graph(rng, sizes=(30, 30, 30, 30), cols_per_block=8)
    dense = transfer_cut(B, 4, random_state=seed)
    monkeypatch.setattr(uspec_module, "_DENSE_EIGEN_LIMIT", 0)
    lanczos = transfer_cut(B, 4, random_state=seed)
    assert adjusted_rand_score(dense, lanczos) == 1.0 and adjusted_rand_score(truth, lanczos) == 1.0
