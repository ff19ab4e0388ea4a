"""Entropy-based cluster weights, the weighted bipartite consensus and DeepCluE's multi-layer ensemble."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from clustlib.cluster.consensus_entropy import (
    cluster_uncertainty,
    entropy_cluster_weights,
    multilayer_ensemble,
    weighted_bipartite_consensus,
    weighted_cluster_bipartite,
)
from clustlib.errors import InvalidParameter

pytestmark = pytest.mark.usefixtures("one_thread")

# three clusterings of 8 samples
PI = np.array(
    [
        [0, 0, 0, 0, 1, 1, 1, 1],  # C0 = {0..3}, C1 = {4..7}
        [0, 0, 0, 0, 1, 1, 2, 2],  # C2 = {0..3}, C3 = {4,5}, C4 = {6,7}
        [0, 0, 1, 1, 2, 2, 3, 3],  # C5..C8 = pairs
    ]
).T  # (N, M) = (8, 3)


def test_uncertainty_and_weights_by_hand():
    # C0: kept whole by pi2, halved by pi3 -> 1 bit; C1: halved by pi2 and pi3 -> 2 bits;
    # C2: halved by pi3 -> 1 bit; the pairs are reproduced inside every other clustering -> 0.
    H = cluster_uncertainty(PI)
    np.testing.assert_allclose(H, [1, 2, 1, 0, 0, 0, 0, 0, 0], atol=1e-12)
    w = entropy_cluster_weights(PI)
    np.testing.assert_allclose(w, np.exp(-np.array([1, 2, 1, 0, 0, 0, 0, 0, 0]) / 3))
    assert np.all(w[3:] == 1.0)
    np.testing.assert_allclose(entropy_cluster_weights(PI, theta=0.4), np.exp(-H / (0.4 * 3)))
    # an uneven 1:3 split costs -(1/4 log2 1/4 + 3/4 log2 3/4) = 0.811278 bits
    uneven = [np.array([0, 0, 0, 0, 1, 1]), np.array([0, 1, 1, 1, 2, 2])]
    np.testing.assert_allclose(cluster_uncertainty(uneven), [0.8112781244591328, 0, 0, 0, 0], atol=1e-12)
    # label values do not matter: the same clustering with other integers gives the same weights
    np.testing.assert_allclose(entropy_cluster_weights([PI[:, 0] * 7 + 3, PI[:, 1] - 5, PI[:, 2]]), w)


def test_bipartite_graph():
    B = weighted_cluster_bipartite(PI)
    w = entropy_cluster_weights(PI)
    assert B.shape == (8, 9) and np.all(B.getnnz(axis=1) == 3)
    np.testing.assert_allclose(B.toarray()[0], [w[0], 0, w[2], 0, 0, w[5], 0, 0, 0])
    assert np.all(weighted_cluster_bipartite(PI, weighted=False).data == 1.0)


def test_consensus_recovers_truth_and_downweights_noise(seed):
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(4), 60)
    good = []
    for _ in range(6):  # truth, each group split at random into 1-3 sub-clusters, 8% relabelled
        lab = truth * 3 + rng.integers(0, rng.integers(1, 4), size=truth.size)
        flip = rng.uniform(size=truth.size) < 0.08
        lab[flip] = rng.integers(0, 12, size=flip.sum())
        good.append(lab)
    noise = [rng.integers(0, 8, size=truth.size) for _ in range(4)]
    base = good + noise
    labels = weighted_bipartite_consensus(base, 4, random_state=seed)
    assert adjusted_rand_score(truth, labels) >= 0.98
    w = entropy_cluster_weights(base)
    k_good = sum(np.unique(lab).size for lab in good)
    assert w[:k_good].mean() > w[k_good:].mean() + 0.1  # random clusters are less certain
    assert np.array_equal(labels, weighted_bipartite_consensus(base, 4, random_state=seed))


@pytest.fixture(scope="module")
def digit_layers():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    return [X, PCA(20, random_state=0).fit_transform(X), X + rng.normal(0.0, 4.0, X.shape)], y


@pytest.mark.score
def test_multilayer_ensemble_beats_median_base(digit_layers, seed, record_score):
    layers, y = digit_layers
    res = multilayer_ensemble(layers, 10, n_representatives=300, pca_dim=32, random_state=seed)
    n = y.size
    assert res.pca_dims == (32, 20, 32)  # the 64-d layers went through PCA, the 20-d one did not
    assert res.base_labels.shape == (n, 15)
    assert np.array_equal(res.layer_of_clustering, np.repeat([0, 1, 2], 5))
    assert np.all((res.base_ks >= 10) & (res.base_ks <= int(np.sqrt(n))))
    assert res.cluster_weights.size == sum(np.unique(c).size for c in res.base_labels.T)
    assert np.all((res.cluster_weights > 0) & (res.cluster_weights <= 1))
    base_nmi = [normalized_mutual_info_score(y, c) for c in res.base_labels.T]
    ens_nmi = normalized_mutual_info_score(y, res.labels)
    assert ens_nmi >= np.median(base_nmi)
    assert record_score("nmi", ens_nmi) >= 0.80  # seeds 0-4 on AMD EPYC: 0.838-0.872
    again = multilayer_ensemble(layers, 10, n_representatives=300, pca_dim=32, random_state=seed)
    assert np.array_equal(res.labels, again.labels) and np.array_equal(res.base_labels, again.base_labels)


def test_bad_inputs():
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(InvalidParameter, match="same samples"):
        multilayer_ensemble([X, X[:30]], 3)
    with pytest.raises(InvalidParameter, match="non-empty list"):
        multilayer_ensemble([], 3)
    with pytest.raises(InvalidParameter, match="non-empty list"):
        multilayer_ensemble(X, 3)
    with pytest.raises(InvalidParameter, match="clusterings_per_layer"):
        multilayer_ensemble([X], 3, clusterings_per_layer=0)
    with pytest.raises(InvalidParameter, match="pca_dim"):
        multilayer_ensemble([X], 3, pca_dim=0)
    with pytest.raises(InvalidParameter, match="theta"):
        entropy_cluster_weights(PI, theta=0)
    with pytest.raises(InvalidParameter, match="exceeds"):
        weighted_bipartite_consensus([np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 1])], 5)
    with pytest.raises(InvalidParameter, match="integer labels"):
        cluster_uncertainty([np.array([0.0, np.nan, 1.0])])
    with pytest.raises(InvalidParameter, match="same rows"):
        cluster_uncertainty([np.array([0, 1, 1]), np.array([0, 1])])
