"""MVEC and its consensus: exact equality with scipy/scikit-learn average linkage, scores, bad input."""

import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform
from sklearn.base import clone
from sklearn.cluster import AgglomerativeClustering
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from clustlib.cluster import MVEC, coassociation_consensus
from clustlib.cluster import _linkage
from clustlib.errors import InvalidParameter, UnknownName


def _weighted_problem(rng, n_super, top=10**6):
    """Super points with random weights and tie-free integer similarities (distance = top - sim)."""
    w = rng.integers(1, 5, n_super).astype(np.int64)
    sim = rng.choice(top, n_super * (n_super - 1) // 2, replace=False).astype(np.int64)
    rows = np.repeat(np.arange(n_super), w)  # the expanded problem: w copies of each super point
    dist = top - squareform(sim)[np.ix_(rows, rows)].astype(np.float64)
    dist[rows[:, None] == rows[None, :]] = 0.0
    return w, sim, rows, dist


@pytest.mark.parametrize("trial", range(3))
def test_weighted_linkage_equals_scipy_and_sklearn_cut(seed, trial):
    rng = np.random.default_rng(seed * 10 + trial)
    w, sim, rows, dist = _weighted_problem(rng, 40)
    sums = sim * squareform(np.outer(w, w), checks=False)  # S[a, b] = w_a w_b sim_ab
    pairs, num, den = _linkage.nn_chain_average(sums.copy(), w)
    order = _linkage.stable_order_by_height(num, den)
    heights = 10**6 - num[order] / den[order]
    z = linkage(squareform(dist, checks=False), method="average")
    np.testing.assert_allclose(heights, z[rows.size - w.size:, 2], rtol=0, atol=1e-6)
    for k in (2, 5, 17):
        ours = _linkage.cut_first_merges(w.size, pairs, order, w.size - k)[rows]
        ref = AgglomerativeClustering(k, metric="precomputed", linkage="average").fit_predict(dist)
        assert adjusted_rand_score(ref, ours) == 1.0


def test_single_and_identical_views_give_that_partition(rng):
    view = rng.integers(0, 6, 300)
    for engine in ("fast", "reference"):
        single = coassociation_consensus([view], 6, engine=engine).labels
        same = coassociation_consensus([view, view, view], 6, engine=engine).labels
        assert adjusted_rand_score(view, single) == 1.0 and adjusted_rand_score(view, same) == 1.0


def test_fewer_distinct_vectors_than_clusters_still_gives_k(rng):
    view = rng.integers(0, 3, 50)
    res = coassociation_consensus([view, view], 5)
    assert np.unique(res.labels).size == 5 and res.n_unique == 3


def test_fast_close_to_reference_on_agreeing_views(rng):
    truth = rng.integers(0, 8, 800)
    views = [np.where(rng.random(800) < 0.15, rng.integers(0, 8, 800), truth) for _ in range(6)]
    fast = coassociation_consensus(views, 8)
    ref = coassociation_consensus(views, 8, engine="reference")
    assert fast.n_unique == ref.n_unique
    # Ties of the co-association (it takes 7 values) may be broken differently; the partitions agree.
    assert adjusted_rand_score(ref.labels, fast.labels) > 0.95
    assert abs(normalized_mutual_info_score(truth, fast.labels)
               - normalized_mutual_info_score(truth, ref.labels)) < 0.01


@pytest.fixture(scope="module")
def digit_views():
    d = load_digits()
    X, y = d.data[:500], d.target[:500]
    rng = np.random.default_rng(1)
    return [X, X @ rng.normal(size=(64, 40)), np.sqrt(X) @ rng.normal(size=(64, 30))], y


def test_mvec_on_digits(digit_views):
    views, y = digit_views
    model = MVEC(n_clusters=10)
    assert model.fit(views) is model
    assert model.labels_.shape == (500,) and model.view_labels_.shape == (3, 500)
    assert normalized_mutual_info_score(y, model.labels_) > 0.75
    assert set(model.consensus_seconds_) == {"coassoc", "linkage"}
    again = clone(model).fit(views)
    np.testing.assert_array_equal(model.labels_, again.labels_)


def test_mvec_kmeans_and_precomputed(digit_views):
    views, y = digit_views
    km = MVEC(n_clusters=10, base="kmeans", random_state=0).fit(views)
    assert normalized_mutual_info_score(y, km.labels_) > 0.7
    pre = MVEC(n_clusters=10, base="precomputed").fit(list(km.view_labels_))
    np.testing.assert_array_equal(pre.labels_, km.labels_)
    assert np.isnan(pre.view_seconds_).all()


def test_estimator_contract():
    model = MVEC(n_clusters=4, base="kmeans", engine="reference", random_state=3)
    assert model.get_params() == {"n_clusters": 4, "base": "kmeans", "engine": "reference",
                                  "random_state": 3, "progress": False}
    assert not hasattr(model, "labels_")


@pytest.mark.parametrize("views, k, match", [
    (lambda X: [X], 10, "at least two views"),
    (lambda X: [X, X[:-1]], 10, "numbers of rows differ"),
    (lambda X: [X, np.where(X > 15, np.nan, X)], 10, "NaN or infinite"),
    (lambda X: [X, np.where(X > 15, np.inf, X)], 10, "NaN or infinite"),
    (lambda X: [X, X], 1, "n_clusters"),
    (lambda X: [X, X], 501, "n_clusters"),
])
def test_mvec_bad_input(digit_views, views, k, match):
    X = digit_views[0][0]
    with pytest.raises(InvalidParameter, match=match):
        MVEC(n_clusters=k).fit(views(X))


def test_mvec_bad_names_and_label_views(digit_views):
    X = digit_views[0][0]
    with pytest.raises(UnknownName):
        MVEC(base="spectral").fit([X, X])
    with pytest.raises(UnknownName):
        MVEC(engine="gpu").fit([X, X])
    with pytest.raises(InvalidParameter, match="integer labels"):
        MVEC(n_clusters=2, base="precomputed").fit([np.array([0.5, 1, 2]), np.array([0, 1, 2])])
    with pytest.raises(InvalidParameter, match="at least 2 label views"):
        MVEC(n_clusters=2, base="precomputed").fit([np.array([0, 1, 2])])
