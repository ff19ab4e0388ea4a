"""DAC (clustlib.deep.dac, clustlib.deep.allconv): networks, restraint layer, adaptive rules, digits, errors, resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.base import clone

from clustlib.deep import DAC, DAC_SCRIPT_SETTINGS, DACNetwork, KerasImageAugment, dac_thresholds, pair_targets
from clustlib.deep.allconv import ALLCONV_ARCHITECTURES, default_architecture, restraint_layer
from clustlib.deep.dac import pair_loss
from clustlib.errors import CheckpointMismatch, InvalidParameter
from clustlib.metrics import acc, nmi

pytestmark = pytest.mark.usefixtures("one_thread")

#: Short but real runs on 16x16 digits: 3 chunks of 599, one pass, one step per batch (about 1 s/epoch).
FAST = dict(chunk_size=599, chunk_passes=1, steps_per_batch=1, progress=False)


@pytest.fixture(scope="module")
def digits16():
    """scikit-learn's 8x8 digits upsampled (bilinear) to 16x16, pixels / 16 minus the mean: (X (1797, 1, 16, 16), y)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images[:, None] / 16.0, dtype=torch.float32)
    X = torch.nn.functional.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False).numpy()
    return X - X.mean(), d.target


# -- networks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", sorted(ALLCONV_ARCHITECTURES))
def test_network_outputs_softmax_and_unit_label_features(arch):
    size = ALLCONV_ARCHITECTURES[arch].input_size
    net = DACNetwork(3, 7, arch, generator=torch.Generator().manual_seed(0))
    y, z = net(torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(1)))
    assert y.shape == z.shape == (3, 7)
    assert torch.allclose(y.sum(1), torch.ones(3)) and (z >= 0).all()
    assert torch.allclose(z.norm(dim=1), torch.ones(3))
    assert torch.equal(y.argmax(1), z.argmax(1))
    with pytest.raises(InvalidParameter, match="takes"):
        net(torch.randn(3, 3, size + 2, size + 2))


def test_network_initialisation_follows_the_keras_code():
    net = DACNetwork(1, 10, "mnist", generator=torch.Generator().manual_seed(0))
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 2 and all(torch.equal(m.weight, torch.eye(10)) for m in linears)
    conv = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][1]  # 64 -> 64, 3x3: 36,864 weights
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (64 * 9)), rel=0.03)  # he_normal
    assert torch.equal(conv.bias, torch.zeros(64))


def test_default_architecture_by_image_size():
    assert default_architecture(28) == "mnist" and default_architecture(96) == "stl"
    assert default_architecture(32, "dac_star") == "cifar" and default_architecture(32, "dac") == "cifar_v2"
    with pytest.raises(InvalidParameter, match="resize"):
        default_architecture(20)


def test_restraint_layer_is_the_normalised_softmax():
    z = restraint_layer(torch.tensor([[0.0, math.log(2.0)], [3.0, 3.0]]))
    # softmax [1/3, 2/3] -> divided by its norm sqrt(5)/3; equal logits -> [1, 1] / sqrt(2)
    assert torch.allclose(z, torch.tensor([[1 / math.sqrt(5), 2 / math.sqrt(5)], [2 ** -0.5, 2 ** -0.5]]))
    logits = torch.randn(5, 4, generator=torch.Generator().manual_seed(0)) * 30  # large: the max-shift matters
    ref = torch.nn.functional.normalize(torch.softmax(logits.double(), 1), dim=1).float()
    assert torch.allclose(restraint_layer(logits), ref, atol=1e-6)


def test_batch_statistics_as_keras_mode_2():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 1, 16, 16, generator=gen)
    net = DACNetwork(1, 5, "small16", generator=gen)
    net.eval()
    with torch.no_grad():
        z_eval = net(x)[1]
        z_train = net.train()(x)[1]
        z_other_batch = net(torch.cat([x[:4], -x[4:]]))[1]
    assert torch.allclose(z_eval, z_train)  # batch statistics in both modes
    assert not torch.allclose(z_eval[:4], z_other_batch[:4])  # a sample's feature depends on its batch
    running = DACNetwork(1, 5, "small16", batch_stats=False, generator=gen).eval()
    with torch.no_grad():
        assert torch.allclose(running(x)[1][:4], running(x[:4])[1])


# -- adaptive rules -----------------------------------------------------------------------------


def test_threshold_schedules_follow_the_scripts():
    # DAC* (cifar100.py): th = 0.99 - e * 0.24 / 50
    assert dac_thresholds(0, 50, "dac_star", 0.99, 0.75) == (0.99, 0.99)
    assert dac_thresholds(25, 50, "dac_star", 0.99, 0.75)[0] == pytest.approx(0.87)
    assert dac_thresholds(49, 50, "dac_star", 0.99, 0.75)[0] == pytest.approx(0.7548)
    # DAC (cifar10_2.py): u falls and l rises by 0.19 / 100 per epoch, meeting at 0.895
    assert dac_thresholds(10, 50, "dac", 0.99, 0.80) == pytest.approx((0.971, 0.819))
    assert dac_thresholds(50, 50, "dac", 0.99, 0.80) == pytest.approx((0.895, 0.895))


def test_pair_targets_on_hand_made_similarities():
    s = torch.tensor([[1.0, 0.95, 0.50], [0.95, 1.0, 0.85], [0.50, 0.85, 1.0]])
    t, sel = pair_targets(s, 0.9, 0.9, "dac_star")
    assert sel is None and torch.equal(t, torch.tensor([[1.0, 1, 0], [1, 1, 0], [0, 0, 1]]))
    t, sel = pair_targets(s, 0.9, 0.8, "dac")
    assert torch.equal(t, torch.tensor([[1.0, 1, 0], [1, 1, 0], [0, 0, 1]]))
    # 0.85 lies between the thresholds: that pair is left out
    assert torch.equal(sel, torch.tensor([[True, True, True], [True, True, False], [True, False, True]]))


def test_pair_losses_match_their_formulas():
    g = torch.tensor([[1.0, 0.5], [0.5, 1.0]])
    t = torch.eye(2)
    eps = 1e-7
    diag = -math.log(1 - eps)  # the prediction 1 is clipped to 1 - 1e-7
    assert pair_loss(g, t, None, "bce").item() == pytest.approx((2 * diag + 2 * math.log(2)) / 4, rel=1e-5)
    assert pair_loss(g, t, None, "mse").item() == pytest.approx(0.125)
    sel = torch.tensor([[False, True], [True, False]])  # two pairs; sum / count / B
    assert pair_loss(g, t, sel, "bce").item() == pytest.approx(2 * math.log(2) / 2 / 2, rel=1e-5)
    swapped = -(0.5 * math.log(eps) + 0.5 * math.log(1 - eps))  # labels in the prediction's place
    assert pair_loss(g, t, sel, "keras1_swapped_bce").item() == pytest.approx(2 * swapped / 2 / 2, rel=1e-4)
    assert pair_loss(g, t, torch.zeros(2, 2, dtype=torch.bool), "bce").item() == 0.0


def test_keras_augmentation():
    x = torch.randn(6, 2, 12, 12, generator=torch.Generator().manual_seed(0))
    still = KerasImageAugment(rotation=0, shift=0, channel_shift=0, rescale=1.0, zoom=(1, 1), flip=False)
    assert torch.equal(still(x), x)
    assert torch.allclose(KerasImageAugment(rotation=0, shift=0, channel_shift=0, rescale=0.5, zoom=(1, 1))(x), x / 2)
    flips = KerasImageAugment(rotation=0, shift=0, channel_shift=0, rescale=1.0, zoom=(1, 1), flip=True, seed=3)(x)
    for i in range(6):  # each image is either itself or its mirror
        assert torch.equal(flips[i], x[i]) or torch.equal(flips[i], x[i].flip(2))
    same = x[:1].repeat(6, 1, 1, 1)
    a = KerasImageAugment(rotation=20, shift=0.18, channel_shift=0.1, zoom=(0.85, 1.15), seed=1)
    out = a(same)
    assert not torch.equal(out[0], out[1])  # one draw per sample
    assert torch.equal(out, KerasImageAugment(rotation=20, shift=0.18, channel_shift=0.1, zoom=(0.85, 1.15),
                                              seed=1)(same))
    lo, hi = same.min().item(), same.max().item()  # channel shifts are clipped to the image's range
    assert out.min().item() >= 0.975 * lo - 1e-6 and out.max().item() <= 0.975 * hi + 1e-6


# -- the estimator ------------------------------------------------------------------------------


@pytest.mark.score
def test_dac_clusters_digits_well_above_the_untrained_network(digits16, seed, record_score):
    X, y = digits16
    untrained = DAC(10, epochs=0, random_state=seed, **FAST).fit(X)
    m = DAC(10, epochs=10, random_state=seed, **FAST).fit(X)
    # seeds 0-4 on AMD EPYC: ACC 0.702-0.928, NMI 0.735-0.874, gain over the untrained network 0.442-0.662
    assert record_score("acc", acc(y, m.labels_)) > 0.65 and record_score("nmi", nmi(y, m.labels_)) > 0.6
    gain = record_score("acc_gain_over_untrained", acc(y, m.labels_) - acc(y, untrained.labels_))
    assert gain > 0.25
    assert m.network_name_ == "small16" and m.label_features_.shape == (1797, 10)
    assert np.array_equal(m.predict(X), m.labels_)
    assert np.allclose(np.linalg.norm(m.transform(X), axis=1), 1, atol=1e-5)
    h = m.history_
    assert len(h.losses) == 10 and h.thresholds[0] == (0.99, 0.99)
    assert h.positive_fraction[-1] > h.positive_fraction[0]  # more pairs become positive as th falls


@pytest.mark.score
def test_two_threshold_dac_clusters_digits(digits16, seed, record_score):
    X, y = digits16
    m = DAC(10, variant="dac", epochs=6, random_state=seed, **FAST).fit(X)
    assert record_score("acc", acc(y, m.labels_)) > 0.55  # seeds 0-4 on AMD EPYC: 0.723-0.890
    assert all(s < 1 for s in m.history_.selected_fraction)  # pairs between the thresholds are left out
    assert m.history_.thresholds[-1] == pytest.approx((0.99 - 5 * 0.19 / 12, 0.80 + 5 * 0.19 / 12))


def test_same_seed_same_labels(digits16, seed):
    X = digits16[0][:400]
    kw = dict(epochs=2, chunk_size=200, chunk_passes=1, steps_per_batch=2, progress=False)
    a = DAC(10, random_state=seed, **kw).fit(X)
    b = clone(a).fit(X)
    c = DAC(10, random_state=seed + 1, **kw).fit(X)
    assert np.array_equal(a.labels_, b.labels_) and np.array_equal(a.label_features_, b.label_features_)
    assert a.history_.losses == b.history_.losses
    assert not np.allclose(a.label_features_, c.label_features_)


@pytest.mark.parametrize(
    ("params", "X_kind", "match"),
    [
        ({}, "flat", "N, C, H, W"),
        ({}, "nan", "NaN"),
        ({"n_clusters": 1}, "ok", "n_clusters"),
        ({"n_clusters": 61}, "ok", "n_clusters"),
        ({"lower": 0.995}, "ok", "lower <= upper"),
        ({"upper": 1.0}, "ok", "upper < 1"),
        ({"lower": 0.0}, "ok", "0 < lower"),
        ({"epochs": -1}, "ok", "epochs"),
        ({"lr": 0.0}, "ok", "lr"),
        ({"batch_size": 1}, "ok", "batch_size"),
        ({"batch_size": 64}, "ok", "chunk"),
        ({"variant": "dac2"}, "ok", "variant"),
        ({"network": "mnist"}, "ok", "28x28"),
        ({}, "20px", "resize"),
        ({"pair_loss": "hinge"}, "ok", "pair_loss"),
        ({"distill_weight": -1.0}, "ok", "distill_weight"),
        ({"augmentation": "imagenet"}, "ok", "augmentation"),
        ({"augmentation": {"rotate": 3}}, "ok", "keys"),
        ({"random_state": -2}, "ok", "random_state"),
    ],
)
def test_bad_input_is_refused_before_compute(params, X_kind, match, monkeypatch):
    import clustlib.deep.dac as dac_mod

    def no_network(*a, **k):
        raise AssertionError("built a network before validating")

    monkeypatch.setattr(dac_mod, "DACNetwork", no_network)
    X = np.zeros((60, 1, 16, 16), dtype=np.float32)
    if X_kind == "flat":
        X = X.reshape(60, -1)
    elif X_kind == "nan":
        X[3, 0, 2, 2] = np.nan
    elif X_kind == "20px":
        X = np.zeros((60, 1, 20, 20), dtype=np.float32)
    with pytest.raises(InvalidParameter, match=match):
        DAC(**{"n_clusters": 3, "progress": False, **params}).fit(X)


def test_predict_before_fit_and_wrong_shape():
    with pytest.raises(InvalidParameter, match="fit"):
        DAC(3).predict(np.zeros((4, 1, 16, 16), np.float32))
    m = DAC(3, epochs=0, progress=False).fit(np.random.default_rng(0).normal(size=(40, 1, 16, 16)))
    with pytest.raises(InvalidParameter, match="trained on"):
        m.predict(np.zeros((4, 3, 16, 16), np.float32))


def test_script_settings_are_valid_parameters():
    for name, kw in DAC_SCRIPT_SETTINGS.items():
        assert set(kw) <= set(DAC().get_params()), name


def test_checkpoint_resume_and_refusal(digits16, tmp_path, monkeypatch):
    import clustlib.deep.dac as dac_mod

    X = digits16[0][:300]
    kw = dict(n_clusters=10, epochs=3, chunk_size=150, chunk_passes=1, steps_per_batch=1, random_state=0,
              progress=False)
    ref = DAC(**kw).fit(X)
    path = tmp_path / "dac.pt"
    real_epoch, calls = dac_mod.DAC._epoch, []

    def interrupted(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # dies during the second epoch, after the first checkpoint
        return real_epoch(self, *a, **k)

    monkeypatch.setattr(dac_mod.DAC, "_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        DAC(**kw, checkpoint_path=path).fit(X)
    monkeypatch.setattr(dac_mod.DAC, "_epoch", real_epoch)
    resumed = DAC(**kw, checkpoint_path=path).fit(X)
    assert resumed.history_.resumed_from == 1
    assert np.array_equal(resumed.labels_, ref.labels_)
    assert np.allclose(resumed.label_features_, ref.label_features_, atol=1e-6)
    assert resumed.history_.losses == pytest.approx(ref.history_.losses)
    with pytest.raises(CheckpointMismatch, match="another configuration"):
        DAC(**{**kw, "lr": 2e-3}, checkpoint_path=path).fit(X)
    with pytest.raises(CheckpointMismatch):
        DAC(**kw, checkpoint_path=path).fit(X[::-1].copy())  # other data
