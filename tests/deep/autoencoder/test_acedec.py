"""ACe/DeC (clustlib.deep.autoencoder.acedec): loss and update formulas, bad input, digits, determinism, resuming."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import clustlib.deep.autoencoder.base as base
import clustlib.deep.autoencoder.acedec as acedec_mod
from clustlib.deep import ACeDeC, create_method, list_methods, run_deep_clustering
from clustlib.deep.autoencoder.acedec import (_ACeDeCState, _update_centers, acedec_subspace_loss, optimal_beta_weights,
                                  subspace_dims)
from clustlib.errors import InvalidParameter
from clustlib.metrics import acc

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("acedec_cache")


#: Small AE, short runs: the AE (20 epochs) is pretrained once and taken from the cache afterwards.
FAST = dict(network="ff_512_256_128", pretrain_epochs=20, clustering_epochs=4, init_iterations=300,
            dataset_key="digits:global", progress=False)


def test_subspace_loss_matches_the_formula():
    rng = np.random.default_rng(0)
    z, c, s = rng.normal(size=(6, 4)), rng.normal(size=(3, 4)), rng.normal(size=(1, 4))
    betas = rng.uniform(size=(2, 4))
    betas /= betas.sum(0)
    d_cluster = (((z[:, None] - c[None]) * betas[0]) ** 2).sum(-1)  # (B, K)
    labels = d_cluster.argmin(1)
    ref = (d_cluster[np.arange(6), labels].sum() / 6 + (((z - s) * betas[1]) ** 2).sum() / 6) / 2
    loss, got = acedec_subspace_loss(*(torch.tensor(a) for a in (z, c, s, betas)))
    assert np.array_equal(got.numpy(), labels) and loss.item() == pytest.approx(ref)
    forced = torch.zeros(6, dtype=torch.long)  # reused assignments (augmented copy)
    loss0, _ = acedec_subspace_loss(*(torch.tensor(a) for a in (z, c, s, betas)), labels=forced)
    assert loss0.item() == pytest.approx((d_cluster[:, 0].sum() / 6 + (((z - s) * betas[1]) ** 2).sum() / 6) / 2)


def test_centre_update_follows_clustpy_rule():
    c0 = np.array([[0.0, 0.0], [10.0, 10.0], [5.0, -5.0]])
    state = _ACeDeCState(c0, np.zeros(2), np.eye(2), np.zeros((2, 2)))
    z = torch.tensor([[1.0, 1.0], [3.0, 1.0], [11.0, 9.0]])
    labels = torch.tensor([0, 0, 1])
    _update_centers(state, z, labels, center_lr=0.5)
    counts = np.array([2.0, 1.0, 0.0]) + 1e-8
    ema = 0.5 * counts
    rate = 1 / (1 + ema)
    batch_mean = np.array([[2.0, 1.0], [11.0, 9.0], [0.0, 0.0]])
    ref = (1 - rate)[:, None] * c0 + rate[:, None] * batch_mean
    assert np.allclose(state.centers.numpy(), ref, atol=1e-6)
    assert np.allclose(state.shared_center.numpy(), 0.5 * z.numpy().mean(0))
    assert state.lonely.tolist() == [0, 0, 1]  # the empty centre counts a lonely batch


def test_closed_form_betas_and_hard_split():
    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    z = np.stack([np.where(y == 1, 5.0, -5.0) + rng.normal(size=200), rng.normal(size=200)], 1)
    centers = np.array([[-5.0, 0.0], [5.0, 0.0]])
    beta = optimal_beta_weights(z, centers)
    assert beta[0, 0] > 2 and abs(beta[0, 1]) < 0.1 and np.allclose(beta[0], -beta[1])
    assert [d.tolist() for d in subspace_dims(torch.softmax(torch.tensor(beta), 0))] == [[0], [1]]
    # A dimension stays shared unless its shared weight drops to 0.45 or below.
    assert [d.tolist() for d in subspace_dims(np.array([[0.56, 0.54], [0.44, 0.46]]))] == [[0], [1]]


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(initial_clustering="em"), "own initialisation"),
        (dict(center_lr=1.5), "center_lr"),
        (dict(init_subsample_size=2), "init_subsample_size"),
        (dict(init_iterations=-1), "init_iterations"),
        (dict(embedding_size=1), "embedding_size"),
        (dict(n_clusters=1), "n_clusters"),
        (dict(lr=0.0), "learning rate"),
    ],
)
def test_bad_input_is_refused_before_any_compute(monkeypatch, tmp_path, change, match):
    def boom(*a, **k):
        raise AssertionError("pretraining started before the parameters were checked")

    monkeypatch.setattr(base, "pretrain_autoencoder", boom)
    X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    params = dict(n_clusters=3, cache_dir=tmp_path, **FAST)
    params.update(change)
    with pytest.raises(InvalidParameter, match=match):
        ACeDeC(**params).fit(X)


def test_registry_knows_acedec():
    assert "acedec" in list_methods()
    est = create_method("acedec", n_clusters=4)
    assert isinstance(est, ACeDeC) and est.lr == 5e-4 and est.batch_size == 256 and est.init_subsample_size == 10000


@pytest.mark.score
def test_acedec_clusters_digits_deterministically(digits_zscored, cache, seed, record_score):
    X, y = digits_zscored
    runs = [run_deep_clustering("acedec", X, 10, seed=seed, n_threads=1, cache_dir=cache,
                                **{k: v for k, v in FAST.items() if k != "progress"}) for _ in range(2)]
    a, b = (r["estimator"] for r in runs)
    # ACC seeds 0-4 on AMD EPYC: 0.709-0.769 (labels_), 0.708-0.765 (method_labels_); chance 0.1. Margin >= 0.05.
    assert record_score("acc", acc(y, a.labels_)) >= 0.65
    assert record_score("acc_method", acc(y, a.method_labels_)) >= 0.65  # was 0.5
    assert np.array_equal(a.labels_, b.labels_) and np.array_equal(a.V_, b.V_)
    assert a.history_.losses == b.history_.losses and b.pretrain_from_cache_
    assert a.V_.shape == (10, 10) and 1 <= a.m_ <= 10 and a.cluster_centers_.shape == (10, 10)
    assert np.array_equal(a.predict(X), a.labels_)


def test_interrupted_training_resumes_from_the_checkpoint(digits_zscored, cache, tmp_path, monkeypatch):
    X, _ = digits_zscored
    params = dict(n_clusters=10, random_state=1, cache_dir=cache, **FAST)
    reference = ACeDeC(**params).fit(X)
    ckpt = tmp_path / "acedec.ckpt"
    real_train = acedec_mod.train_epochs

    def killed_after_two_epochs(*args, **kwargs):
        def die(epoch):
            if epoch == 2:
                raise KeyboardInterrupt
        return real_train(*args, on_epoch_end=die, **kwargs)

    monkeypatch.setattr(acedec_mod, "train_epochs", killed_after_two_epochs)
    with pytest.raises(KeyboardInterrupt):
        ACeDeC(checkpoint_path=ckpt, **params).fit(X)
    monkeypatch.setattr(acedec_mod, "train_epochs", real_train)
    resumed = ACeDeC(checkpoint_path=ckpt, **params).fit(X)
    assert resumed.history_.resumed_from == 2
    assert resumed.history_.losses == pytest.approx(reference.history_.losses)
    assert np.array_equal(resumed.labels_, reference.labels_)
