"""AE+KMeans, DEC, IDEC and DCN (clustlib.deep): reference formulas, bad input, determinism, digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.cluster import KMeans

import clustlib.deep.autoencoder.base as base
from clustlib.deep import AEKMeans, DCN, DEC, IDEC, create_method, list_methods, run_deep_clustering
from clustlib.deep.autoencoder.dcn import online_centroid_update
from clustlib.deep.autoencoder.dec import dec_target, student_t_assignments
from clustlib.deep.networks.autoencoders import build_autoencoder
from clustlib.errors import CheckpointMismatch
from clustlib.errors import InvalidParameter, UnknownName



pytestmark = pytest.mark.usefixtures("one_thread")


def _acc(y, p):
    k = int(max(y.max(), p.max())) + 1
    c = np.zeros((k, k))
    np.add.at(c, (p, y), 1)
    r, s = linear_sum_assignment(-c)
    return c[r, s].sum() / len(y)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("deep_cache")


def _blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=6, size=(3, 6))
    y = np.repeat(np.arange(3), n // 3)
    return (centers[y] + rng.normal(size=(n, 6))).astype(np.float32), y


def _tiny(**kw):
    return dict(network="ff_512_256_128", embedding_size=2, pretrain_epochs=2, clustering_epochs=2, batch_size=16,
                kmeans_n_init=2, progress=False, **kw)


def test_student_t_and_target_match_the_formulas():
    rng = np.random.default_rng(0)
    z, c = rng.normal(size=(7, 3)), rng.normal(size=(4, 3))
    for alpha in (1.0, 2.5):
        d2 = ((z[:, None] - c[None]) ** 2).sum(-1)
        num = (1 + d2 / alpha) ** (-(alpha + 1) / 2)
        q_ref = num / num.sum(1, keepdims=True)
        q = student_t_assignments(torch.tensor(z), torch.tensor(c), alpha).numpy()
        assert np.allclose(q, q_ref)
    w = q_ref ** 2 / q_ref.sum(0)
    p_ref = w / w.sum(1, keepdims=True)
    assert np.allclose(dec_target(torch.tensor(q_ref)).numpy(), p_ref)


def test_online_centroid_update_equals_the_per_sample_loop():
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(3, 2))
    counts = np.full(3, 100.0)
    z = rng.normal(size=(40, 2))
    labels = rng.integers(0, 3, 40)
    ref_c, ref_n = centers.copy(), counts.copy()
    for zi, li in zip(z, labels):  # DCN's original per-sample rule
        ref_n[li] += 1
        eta = 1.0 / ref_n[li]
        ref_c[li] = (1 - eta) * ref_c[li] + eta * zi
    c, n = torch.tensor(centers), torch.tensor(counts)
    online_centroid_update(c, n, torch.tensor(z), torch.tensor(labels))
    assert np.allclose(c.numpy(), ref_c) and np.allclose(n.numpy(), ref_n)


@pytest.mark.parametrize(
    "cls, change, match",
    [
        (DEC, dict(embedding_size=0), "embedding_size"),
        (DEC, dict(n_clusters=1), "n_clusters"),
        (IDEC, dict(n_clusters=61), "n_clusters"),
        (DCN, dict(lr=0.0), "learning rate"),
        (DEC, dict(pretrain_lr=-1.0), "learning rate"),
        (IDEC, dict(clustering_epochs=-1), "clustering_epochs"),
        (AEKMeans, dict(pretrain_epochs=-3), "pretrain_epochs"),
        (DCN, dict(autoencoder=build_autoencoder("ff_512_256_128", 5, 2)), "inputs of shape"),
        (DEC, dict(autoencoder=build_autoencoder("ff_512_256_128", 6, 3)), "embedding_size"),
        (DEC, dict(random_state=-1), "random_state"),
    ],
)
def test_bad_input_is_refused_before_any_compute(monkeypatch, tmp_path, cls, change, match):
    def boom(*a, **k):
        raise AssertionError("pretraining started before the parameters were checked")

    monkeypatch.setattr(base, "pretrain_autoencoder", boom)
    X, _ = _blobs()
    params = _tiny(cache_dir=tmp_path, n_clusters=3)
    params.update(change)
    with pytest.raises(InvalidParameter, match=match):
        cls(**params).fit(X)


def test_estimator_contract_and_determinism(tmp_path):
    X, _ = _blobs()
    est = DEC(3, random_state=4, cache_dir=tmp_path, **{k: v for k, v in _tiny().items()})
    params = est.get_params()
    assert params["n_clusters"] == 3 and params["random_state"] == 4
    assert clone(est).get_params() == params
    a = est.fit(X)
    assert a is est and a.labels_.shape == (60,) and a.labels_.dtype == np.int64
    b = clone(est).fit(X)
    assert np.array_equal(a.labels_, b.labels_) and np.array_equal(a.method_labels_, b.method_labels_)
    assert np.array_equal(a.dec_centers_, b.dec_centers_)
    assert a.history_.losses == b.history_.losses
    assert b.pretrain_from_cache_ and not hasattr(est, "labels") and a.cluster_centers_.shape == (3, 2)
    assert np.array_equal(a.predict(X), ((a.transform(X)[:, None] - a.cluster_centers_[None]) ** 2).sum(-1).argmin(1))


def test_given_autoencoder_is_copied_not_modified(tmp_path):
    X, _ = _blobs()
    ae = build_autoencoder("ff_512_256_128", 6, 2, seed=0)
    before = {k: v.clone() for k, v in ae.state_dict().items()}
    est = IDEC(3, autoencoder=ae, random_state=0, **{k: v for k, v in _tiny().items() if k != "network"}).fit(X)
    assert all(torch.equal(before[k], v) for k, v in ae.state_dict().items())
    assert est.autoencoder_ is not ae and est.pretrain_seconds_ == 0.0


def test_ae_kmeans_is_kmeans_on_the_embedding(tmp_path):
    X, _ = _blobs()
    ae = build_autoencoder("ff_512_256_128", 6, 2, seed=0).eval()
    est = AEKMeans(3, autoencoder=ae, embedding_size=2, kmeans_n_init=3, random_state=5, progress=False).fit(X)
    with torch.no_grad():
        Z = ae.encode(torch.from_numpy(X)).double().numpy()
    ref = KMeans(3, n_init=3, random_state=5).fit(Z)
    assert np.array_equal(est.labels_, ref.labels_)
    assert np.allclose(est.cluster_centers_, ref.cluster_centers_, atol=1e-5)


def test_clustering_checkpoint_from_another_configuration_is_refused(tmp_path):
    X, _ = _blobs()
    ckpt = tmp_path / "dcn.ckpt"
    DCN(3, random_state=0, cache_dir=tmp_path, checkpoint_path=ckpt, **_tiny()).fit(X)
    assert ckpt.exists()
    resumed = DCN(3, random_state=0, cache_dir=tmp_path, checkpoint_path=ckpt, **_tiny()).fit(X)
    assert resumed.history_.resumed_from == 2
    with pytest.raises(CheckpointMismatch):
        DCN(3, random_state=0, cache_dir=tmp_path, checkpoint_path=ckpt, lr=5e-4, **_tiny()).fit(X)


def test_registry():
    assert list_methods("autoencoder") == ["acedec", "ae_kmeans", "dcn", "dec", "dipencoder", "idec"]
    assert set(list_methods()) >= {"jule", "mvnet", "dac", "mmdc", "contrastive_clustering"}
    assert isinstance(create_method("idec", n_clusters=4), IDEC)
    with pytest.raises(UnknownName, match="dec"):
        create_method("deck")


@pytest.mark.score
def test_dec_idec_dcn_cluster_digits(digits_zscored, cache, seed, record_score):
    """Short runs (20 + 10 epochs, small AE) on scikit-learn's digits reach a sensible accuracy."""
    X, y = digits_zscored
    common = dict(seed=seed, network="ff_512_256_128", pretrain_epochs=20, clustering_epochs=10,
                  dataset_key="digits:global", n_threads=1, cache_dir=cache)
    out = {m: run_deep_clustering(m, X, 10, **common) for m in ("dec", "idec", "dcn", "ae_kmeans")}
    assert not out["dec"]["pretrain_from_cache"]
    assert all(out[m]["pretrain_from_cache"] for m in ("idec", "dcn", "ae_kmeans"))  # one AE per seed
    for m in ("dec", "idec", "dcn"):
        assert out[m]["clustering_epochs"] == 10 and out[m]["epoch_seconds"] > 0
        assert np.array_equal(out[m]["init_labels"], out["ae_kmeans"]["labels"])  # same AE, same init
        acc = record_score(f"acc_{m}", _acc(y, out[m]["labels"]))
        assert acc >= 0.6, (m, acc)  # seeds 0-4 on AMD EPYC: DEC 0.706-0.779, IDEC 0.699-0.761, DCN 0.697-0.768
        assert record_score(f"acc_{m}_method", _acc(y, out[m]["method_labels"])) >= 0.6
