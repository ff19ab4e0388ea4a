"""The MVEC combination sweep: same answers as per-combination consensus, resume, bad input."""

import itertools
import json

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from clustlib.cluster import all_combinations, coassociation_consensus, sweep_combinations
from clustlib.errors import InvalidParameter


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 6, 300)
    views = np.stack([np.where(rng.random(300) < p, rng.integers(0, 6, 300), truth)
                      for p in (0.1, 0.2, 0.3, 0.4, 0.5)])
    return views, truth


def test_all_31_combinations_match_direct_consensus(problem):
    views, truth = problem
    res = sweep_combinations(views, 6, labels_true=truth, progress=False)
    t = res.table
    assert len(t) == 31 and t["key"].is_unique
    assert t.groupby("m").size().tolist() == [5, 10, 10, 5, 1]
    for combo in [(0,), (1, 3), (0, 2, 4), tuple(range(5))]:
        direct = coassociation_consensus(views[list(combo)], 6).labels
        np.testing.assert_array_equal(res.labels[combo], direct)
        row = t[t["views"] == combo].iloc[0]
        assert row["nmi"] == pytest.approx(normalized_mutual_info_score(truth, direct), abs=1e-12)
    # one view: its own partition; more agreeing views help on average, as in Figure 10
    assert all(normalized_mutual_info_score(views[c[0]], res.labels[c]) == pytest.approx(1.0)
               for c in res.labels if len(c) == 1)
    assert t[t.m == 5].nmi.iloc[0] > t[t.m == 1].nmi.mean()
    assert (t["t_consensus"] >= 0).all() and t["t_total"].isna().all()


def test_time_columns_from_view_seconds(problem):
    views, _ = problem
    res = sweep_combinations(views, 6, combinations=[(0, 4), (2,)], view_seconds=[1, 2, 3, 4, 5],
                             keep_labels=False, progress=False)
    row = res.table.iloc[0]
    assert row["t_base_max"] == 5 and row["t_base_sum"] == 6
    assert row["t_parallel"] == pytest.approx(5 + row["t_consensus"])
    assert res.labels == {}


@pytest.mark.parametrize("n_rows, seed", [(2000, 0)])
def test_engine_agrees_with_reference_on_random_10_view_problem(n_rows, seed):
    """A stratified sample of the 1023 combinations (the full check is the benchmark's job).

    Co-associations of m views take m + 1 values, so exact ties are everywhere and average
    linkage is not unique; the reference breaks them by float rounding (row order changes its
    answer). We check that the engine is as close to the reference as the reference is to itself
    with the rows permuted.
    """
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 20, n_rows)
    views = np.stack([np.where(rng.random(n_rows) < 0.1, rng.integers(0, 20, n_rows), truth)
                      for _ in range(10)])
    combos = [tuple(sorted(rng.choice(10, m, replace=False))) for m in (1, 2, 3, 5, 7, 9, 10)]
    fast = sweep_combinations(views, 20, labels_true=truth, combinations=combos, progress=False).table
    ref = sweep_combinations(views, 20, labels_true=truth, combinations=combos, engine="reference",
                             progress=False).table
    perm = rng.permutation(n_rows)
    ref_perm = sweep_combinations(views[:, perm], 20, labels_true=truth[perm], combinations=combos,
                                  engine="reference", progress=False).table
    d_fast = np.abs(fast.nmi - ref.nmi).to_numpy()
    d_self = np.abs(ref_perm.nmi - ref.nmi).to_numpy()
    assert (fast.n_unique == ref.n_unique).all()
    assert d_fast[0] < 1e-12  # one view: no ties that matter
    assert d_fast.max() < 0.01 and d_fast.mean() <= 2 * d_self.mean() + 1e-3


def test_resume_computes_only_missing(problem, tmp_path):
    views, truth = problem
    store = tmp_path / "sweep.jsonl"
    combos = all_combinations(5)
    first = sweep_combinations(views, 6, labels_true=truth, combinations=combos[:12], store=store,
                               progress=False)
    assert len(store.read_text().splitlines()) == 12
    # an interrupted write leaves half a line: it is ignored and that task recomputed
    with store.open("a") as fh:
        fh.write('{"key": "0+1+2+3+4", "resu')
    full = sweep_combinations(views, 6, labels_true=truth, store=store, progress=False)
    lines = store.read_text().splitlines()
    keys = [json.loads(l)["key"] for l in lines if l.endswith("}")]
    assert len(keys) == 31 and len(set(keys)) == 31  # 12 + 19 new, nothing recomputed
    pids_first = set(first.table.pid)
    assert full.table.set_index("key").loc[first.table.key, "pid"].isin(pids_first).all()
    fresh = sweep_combinations(views, 6, labels_true=truth, progress=False)
    cols = ["key", "m", "n_unique", "nmi"]
    assert full.table[cols].equals(fresh.table[cols])
    for c in fresh.labels:
        np.testing.assert_array_equal(full.labels[c], fresh.labels[c])


@pytest.mark.parametrize("kwargs, match", [
    (dict(combinations=[(0, 1), (1, 0)]), "duplicates combination"),
    (dict(combinations=[(0, 1), (2,), (0, 1)]), "duplicates combination"),
    (dict(combinations=[(0, 0)]), "names a view twice"),
    (dict(combinations=[()]), "empty"),
    (dict(combinations=[(0, 5)]), "outside"),
    (dict(combinations=[]), "empty"),
    (dict(labels_true=np.zeros(10)), "labels_true"),
    (dict(view_seconds=[1.0]), "view_seconds"),
])
def test_bad_sweep_arguments(problem, kwargs, match):
    with pytest.raises(InvalidParameter, match=match):
        sweep_combinations(problem[0], 6, progress=False, **kwargs)


def test_bad_views_and_k(problem):
    views, _ = problem
    with pytest.raises(InvalidParameter, match="at least 2"):
        sweep_combinations(views[:1], 6, progress=False)
    with pytest.raises(InvalidParameter, match="numbers of rows differ"):
        sweep_combinations([views[0], views[1][:-1]], 6, progress=False)
    for k in (1, 301):
        with pytest.raises(InvalidParameter, match="n_clusters"):
            sweep_combinations(views, k, progress=False)
    with pytest.raises(InvalidParameter, match="integer labels"):
        sweep_combinations([views[0].astype(float) + 0.5, views[1]], 6, progress=False)


def test_all_combinations_counts():
    assert len(all_combinations(10)) == 1023
    assert all_combinations(3, sizes=[2]) == [(0, 1), (0, 2), (1, 2)]
    assert sum(1 for _ in itertools.chain(all_combinations(4))) == 15
