"""NAT and RotNet on MMDC's networks, and Table 4.4's feature evaluation (clustlib.deep.selfsup_baselines)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from clustlib.deep.augment.mmdc import MMDCAugment
from clustlib.deep.mmdc import selfsup_baselines as ssl
from clustlib.errors import CheckpointMismatch, InvalidParameter

TINY = dict(epochs=2, lr_milestones=(2,), batch_size=8, progress=False)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """24 grey 32x32 images in [0, 1]: bright squares at three places (a toy with visible structure)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.2, size=(24, 1, 32, 32)).astype(np.float32)
    for i in range(24):
        r = 4 + 10 * (i % 3)
        x[i, 0, r:r + 8, r:r + 8] = 1.0
    return x


@pytest.mark.usefixtures("one_thread")
def test_nat_keeps_one_unit_target_per_image_and_is_deterministic(images):
    a = ssl.NAT(5, reassign_every=1, random_state=3, **TINY).fit(images)
    assert a.targets_.shape == (24, 5) and np.allclose(np.linalg.norm(a.targets_, axis=1), 1, atol=1e-5)
    assert sorted(a.target_index_) == list(range(24))  # the batch reassignment only permutes targets
    assert len(a.history_.losses) == 2 and np.isnan(a.history_.rotation_losses).all()
    assert a.history_.reassigned_fraction[0] > 0  # epoch 0 reassigns within batches
    assert a.rotation_head_ is None
    f = a.transform(images)
    assert f.shape == (24, 1024) and f.dtype == np.float32  # the VGG's flattened last block, 256 x 2 x 2
    b = ssl.NAT(5, reassign_every=1, random_state=3, **TINY).fit(images)
    assert np.array_equal(f, b.transform(images)) and np.array_equal(a.target_index_, b.target_index_)
    c = ssl.NAT(5, reassign_every=1, random_state=4, **TINY).fit(images)
    assert not np.array_equal(f, c.transform(images))


@pytest.mark.usefixtures("one_thread")
def test_nat_reassigns_only_every_k_epochs(images):
    nat = ssl.NAT(5, reassign_every=2, random_state=0, **{**TINY, "epochs": 3, "lr_milestones": (3,)}).fit(images)
    moved = nat.history_.reassigned_fraction
    assert moved[1] == 0.0 and moved[0] > 0 and moved[2] > 0  # epochs 0 and 2 of reassign_every = 2


@pytest.mark.usefixtures("one_thread")
def test_rotnet_heads_vgg_gets_one_resnet_has_its_own(images):
    vgg = ssl.RotNet(random_state=0, **TINY).fit(images)
    assert isinstance(vgg.rotation_head_, nn.Linear) and vgg.rotation_head_.in_features == 1024
    assert np.isnan(vgg.history_.losses).all() and np.isfinite(vgg.history_.rotation_losses).all()
    both = ssl.create_baseline("NAT+Rot", 3, random_state=0, **TINY).fit(images)
    assert both.network_.out_dim == 3  # NAT's d is K
    assert np.isfinite(both.history_.losses).all() and np.isfinite(both.history_.rotation_losses).all()
    rgb = np.repeat(images[:8], 3, axis=1)
    res = ssl.RotNet(network="resnet18", random_state=0, **{**TINY, "epochs": 1, "lr_milestones": (1,)}).fit(rgb)
    assert res.rotation_head_ is None and res.network_name_ == "resnet18"  # its own rotnet_head
    assert res.transform(rgb).shape == (8, 512)
    # thesis defaults through MMDC's resolution: the ResNet18 row has 400 epochs, lr / 5 after 350
    r = ssl.RotNet(network="resnet18").check_params(rgb)
    assert (r["epochs"], r["lr_milestones"], r["lr_gamma"], r["color_jitter"]) == (400, (350,), 0.2, True)


@pytest.mark.usefixtures("one_thread")
def test_interrupted_fit_resumes_to_the_same_network(images, tmp_path, monkeypatch):
    kwargs = dict(random_state=1, rotation=True, **{**TINY, "epochs": 3, "lr_milestones": (3,)})
    whole = ssl.NAT(4, **kwargs).fit(images)
    path = tmp_path / "nat.ckpt"
    real = ssl._nat_epoch
    calls = []

    def dies_on_the_second(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(ssl, "_nat_epoch", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        ssl.NAT(4, checkpoint_path=path, **kwargs).fit(images)
    monkeypatch.setattr(ssl, "_nat_epoch", real)
    resumed = ssl.NAT(4, checkpoint_path=path, **kwargs).fit(images)
    assert resumed.history_.resumed_from == 1
    assert np.array_equal(resumed.transform(images), whole.transform(images))
    with pytest.raises(CheckpointMismatch):
        ssl.NAT(4, checkpoint_path=path, **{**kwargs, "lr": 0.01}).fit(images)


class _Killed(Exception):
    """Stands for the process dying right after a checkpoint was written."""


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("name", ["NAT", "RotNet", "NAT+Rot"])
def test_killed_after_an_epoch_resumes_bit_equal(name, images, tmp_path, monkeypatch):
    import clustlib.deep.engine as engine

    kwargs = dict(random_state=2, **{**TINY, "epochs": 3, "lr_milestones": (2,)})
    if name != "RotNet":
        kwargs["reassign_every"] = 2
    whole = ssl.create_baseline(name, 4, **kwargs).fit(images)
    path = tmp_path / "run.pt"
    real = engine.write_checkpoint

    def write_then_die(p, payload):
        real(p, payload)
        if payload["epoch"] == 2:
            raise _Killed

    monkeypatch.setattr(engine, "write_checkpoint", write_then_die)
    with pytest.raises(_Killed):
        ssl.create_baseline(name, 4, checkpoint_path=path, **kwargs).fit(images)
    monkeypatch.setattr(engine, "write_checkpoint", real)
    resumed = ssl.create_baseline(name, 4, checkpoint_path=path, **kwargs).fit(images)
    assert resumed.history_.resumed_from == 2
    for k, v in whole.network_.state_dict().items():
        assert torch.equal(resumed.network_.state_dict()[k], v), k
    assert np.array_equal(resumed.transform(images), whole.transform(images))
    for field in ("losses", "rotation_losses", "reassigned_fraction", "learning_rates"):
        np.testing.assert_array_equal(getattr(resumed.history_, field), getattr(whole.history_, field))
    if name != "RotNet":
        assert np.array_equal(resumed.target_index_, whole.target_index_)
    with pytest.raises(CheckpointMismatch, match="another configuration or data"):
        ssl.create_baseline(name, 4, checkpoint_path=path, **{**kwargs, "random_state": 3}).fit(images)


def test_a_checkpoint_written_before_the_engine_is_refused_with_the_fix(images, tmp_path):
    path = tmp_path / "nat.ckpt"
    torch.save({"format": 1, "config_hash": "0123456789abcdef", "epoch": 1}, path)  # the loop before the engine
    with pytest.raises(CheckpointMismatch, match="format 1.*Delete the file"):
        ssl.NAT(4, checkpoint_path=path, random_state=0, **TINY).fit(images)


def test_nat_signature_spells_out_every_parameter():
    import inspect

    import sklearn.base

    nat = ssl.NAT(6, rotation=True, lr=0.1, input_size=32)
    assert set(nat.get_params()) == set(ssl.RotNet().get_params()) | {"target_dim", "reassign_every", "rotation"}
    assert list(inspect.signature(ssl.NAT).parameters)[:3] == ["target_dim", "reassign_every", "rotation"]
    assert sklearn.base.clone(nat).get_params() == nat.get_params()
    with pytest.raises(TypeError, match="targt_dim"):
        ssl.NAT(4, targt_dim=3)


@pytest.mark.parametrize("make,match", [
    (lambda: ssl.NAT(0), "target_dim"),
    (lambda: ssl.NAT(4, reassign_every=0), "reassign_every"),
    (lambda: ssl.NAT(4, rotation="yes"), "rotation must be"),
    (lambda: ssl.RotNet(batch_size=1), "batch_size"),
    (lambda: ssl.RotNet(network="vgg16"), "network"),
])
def test_bad_parameters_are_refused_before_training(make, match, images):
    with pytest.raises(InvalidParameter, match=match):
        make().check_params(images)


def test_create_baseline_names_and_fixed_arguments():
    assert isinstance(ssl.create_baseline("RotNet", 10), ssl.RotNet)
    nat = ssl.create_baseline("NAT", 20)
    assert nat.target_dim == 20 and nat.rotation is False
    assert ssl.create_baseline("NAT+Rot", 10).rotation is True
    with pytest.raises(InvalidParameter, match="Unknown baseline"):
        ssl.create_baseline("SimCLR", 10)
    with pytest.raises(InvalidParameter, match="fixes"):
        ssl.create_baseline("NAT+Rot", 10, rotation=False)
    with pytest.raises(InvalidParameter, match="does not take"):
        ssl.create_baseline("RotNet", 10, target_dim=4)


class _Flatten(nn.Module):
    """A stand-in network whose penultimate layer is the pixels themselves."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()), requires_grad=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) * self.scale


def _separable(n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 0.05, size=(n, 1, 16, 16)).astype(np.float32)
    x[:, 0, :8] += np.where(y == 1, 1.0, -1.0)[:, None, None].astype(np.float32)  # class = sign of the top half
    return x, y


@pytest.mark.parametrize("augmented", [False, True])
def test_linear_probe_learns_a_separable_problem_and_leaves_the_network_alone(augmented):
    X, y = _separable(120, 0)
    Xt, yt = _separable(60, 1)
    net = _Flatten()
    augment = MMDCAugment(16, (16,), 16)  # crops of the whole image: identity views
    before = augment.get_state()
    out = ssl.linear_probe(net, augment, X, y, Xt, yt, n_classes=2, epochs=5, augmented=augmented)
    assert out["linear_acc"] == 1.0 and out["train_acc"] == 1.0
    assert torch.equal(augment.get_state(), before) and float(net.scale) == 1.0
    shuffled = ssl.linear_probe(net, augment, X, np.random.default_rng(2).permutation(y), Xt, yt, n_classes=2,
                                epochs=5, augmented=augmented)
    assert shuffled["linear_acc"] < 0.8  # labels unrelated to the features cannot be learned


def test_probe_defaults_are_the_thesis_protocol_and_bad_ones_are_refused():
    assert ssl.PROBE_DEFAULTS == dict(epochs=100, lr=0.1, momentum=0.9, weight_decay=1e-5, batch_size=128,
                                      augmented=True)
    assert ssl.check_probe_params({"epochs": 20})["lr"] == 0.1
    for bad, match in (({"epoch": 2}, "Unknown"), ({"epochs": 0}, "epochs"), ({"lr": 0}, "lr"),
                       ({"momentum": 1.0}, "momentum"), ({"augmented": "no"}, "augmented"), ([1], "mapping")):
        with pytest.raises(InvalidParameter, match=match):
            ssl.check_probe_params(bad)


def test_kmeans_scores_find_separated_groups():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    features = rng.normal(0, 0.1, size=(60, 8)) + 5 * np.eye(8)[y]
    scores = ssl.kmeans_scores(features, y, 3)
    assert scores == {"nmi": pytest.approx(1.0), "ari": pytest.approx(1.0), "acc": pytest.approx(1.0)}
