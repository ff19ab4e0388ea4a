import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from clustlib import metrics
from clustlib.errors import InvalidParameter


def _brute_force_acc(y, p):
    """Best accuracy over every injective relabelling of the clusters (small K only)."""
    classes, clusters = np.unique(y), np.unique(p)
    best = 0
    pool = list(classes) + [-1] * max(0, len(clusters) - len(classes))
    for perm in itertools.permutations(pool, len(clusters)):
        mapping = dict(zip(clusters, perm))
        best = max(best, int(np.sum(np.vectorize(mapping.get)(p) == y)))
    return best / len(y)


labelings = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(st.lists(st.integers(0, 5), min_size=n, max_size=n),
                        st.lists(st.integers(0, 5), min_size=n, max_size=n)))


@settings(max_examples=1000, deadline=None)
@given(labelings)
def test_acc_nmi_ari_match_brute_force_and_sklearn(pair):
    y, p = map(np.asarray, pair)
    assert metrics.acc(y, p) == pytest.approx(_brute_force_acc(y, p), abs=1e-12)
    assert metrics.nmi(y, p) == pytest.approx(skm.normalized_mutual_info_score(y, p), abs=1e-12)
    assert metrics.ari(y, p) == pytest.approx(skm.adjusted_rand_score(y, p), abs=1e-12)


def test_acc_invariant_to_relabelling_and_rectangular(rng):
    y = rng.integers(0, 4, 500)
    perm = np.array([3, 0, 2, 1])
    assert metrics.acc(y, perm[y]) == 1.0
    # more clusters than classes: the extra cluster's samples count as errors
    p = y.copy()
    p[:50] = 9
    assert metrics.acc(y, p) == pytest.approx(np.mean(p == y))


def test_purity_hand_computed():
    y = [0, 0, 0, 1, 1, 2]
    p = [0, 0, 1, 1, 1, 1]
    # cluster 0 = {0,0} -> 2 ; cluster 1 = {0,1,1,2} -> 2
    assert metrics.purity(y, p) == pytest.approx(4 / 6)


def test_fm_local_matches_pair_counting(rng):
    y = rng.integers(0, 3, 60)
    p = rng.integers(0, 4, 60)
    same_class = y[:, None] == y[None, :]
    same_cluster = p[:, None] == p[None, :]
    np.fill_diagonal(same_class, False)
    np.fill_diagonal(same_cluster, False)
    tp = (same_class & same_cluster).sum(1)
    fp = (~same_class & same_cluster).sum(1)
    fn = (same_class & ~same_cluster).sum(1)
    expected = np.where((tp + fp) * (tp + fn) > 0, tp / np.sqrt(np.maximum((tp + fp) * (tp + fn), 1)), 0.0)
    np.testing.assert_allclose(metrics.fm_local(y, p), expected)
    per_class = metrics.fm_per_class(y, p)
    for k in range(3):
        assert per_class[k] == pytest.approx(expected[y == k].mean())


def test_fmi_and_mix():
    y = [0, 0, 1, 1, 2, 2]
    p = [0, 0, 1, 1, 1, 2]
    assert metrics.fmi(y, p) == pytest.approx(skm.fowlkes_mallows_score(y, p))
    assert metrics.mix(y, p) == pytest.approx((metrics.nmi(y, p) + metrics.purity(y, p) + metrics.acc(y, p)) / 3)


def test_evaluate_returns_requested_metrics():
    out = metrics.evaluate([0, 1, 1], [1, 0, 0], metrics=("nmi", "acc", "pur", "ari"))
    assert out == {"nmi": 1.0, "acc": 1.0, "pur": 1.0, "ari": 1.0}
    with pytest.raises(InvalidParameter, match="Valid metrics"):
        metrics.evaluate([0], [0], metrics=("nope",))


@pytest.mark.parametrize("fn", [metrics.acc, metrics.nmi, metrics.ari, metrics.purity, metrics.fm_local])
def test_bad_labels_raise_before_compute(fn):
    with pytest.raises(InvalidParameter, match="same samples"):
        fn([0, 1, 2], [0, 1])
    with pytest.raises(InvalidParameter, match="empty"):
        fn([], [])
