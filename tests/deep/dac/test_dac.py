"""DAC (clustlib.deep.dac.dac, clustlib.deep.networks.allconv): networks, restraint layer, adaptive rules, digits, errors, resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.base import clone

from clustlib.deep import DAC, DAC_SCRIPT_SETTINGS, DACNetwork, KerasImageAugment, dac_thresholds, pair_targets
from clustlib.deep.networks.allconv import ALLCONV_ARCHITECTURES, default_architecture, restraint_layer
from clustlib.deep.dac.dac import _batches
from clustlib.deep.dac.loss import (_accumulate_chunk_gradient, chunk_pair_loss, pair_loss, paper_iterations,
                                    paper_thresholds, script_thresholds, select_pairs)
from clustlib.deep.dac.presets import PRESETS
from clustlib.errors import CheckpointMismatch, InvalidParameter
from clustlib.metrics import acc, nmi

pytestmark = pytest.mark.usefixtures("one_thread")

#: Short but real runs on 16x16 digits: 3 chunks of 599 and one gradient step per chunk (about 1 s per iteration);
#: eta = 0.075 runs the paper's whole curriculum (u 0.95 -> 0.5, l 0.455 -> 0.5) in 6 iterations instead of 46.
FAST = dict(chunk_size=599, chunk_passes=1, eta=0.075, progress=False)


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


def test_paper_schedule_u_and_l_of_lambda():
    # Sec. 5.4: u = 0.95 - λ, l = 0.455 + 0.1 λ, λ = 0 at the start; eq. 12 moves λ by -η dE/dλ = 1.1 η = 0.0099
    assert paper_thresholds(0) == (0.95, 0.455)
    for k in (1, 10, 45):
        assert paper_thresholds(k) == pytest.approx((0.95 - 0.0099 * k, 0.455 + 0.00099 * k))
    assert paper_iterations() == 46  # Algorithm 1, line 10: stop once l > u
    u45, l45 = paper_thresholds(45)
    u46, l46 = paper_thresholds(46)
    assert l45 <= u45 and l46 > u46
    assert paper_iterations(eta=0.045) == 10 and paper_iterations(eta=1.0) == 1
    assert dac_thresholds(7) == paper_thresholds(7)  # the paper's schedule is the default


def test_paper_dac_star_anneals_one_threshold_from_0_95_to_0_5():
    assert paper_thresholds(0, "dac_star") == (0.95, 0.95)
    assert paper_thresholds(45, "dac_star") == pytest.approx((0.5, 0.5))  # the last of DAC's 46 iterations
    assert paper_thresholds(9, "dac_star") == pytest.approx((0.95 - 0.45 * 9 / 45,) * 2)


def test_script_schedules_follow_the_scripts():
    # DAC* (cifar100.py): th = 0.99 - e * 0.24 / 50
    assert script_thresholds(0, 50, "dac_star", 0.99, 0.75) == (0.99, 0.99)
    assert script_thresholds(25, 50, "dac_star", 0.99, 0.75)[0] == pytest.approx(0.87)
    assert script_thresholds(49, 50, "dac_star", 0.99, 0.75)[0] == pytest.approx(0.7548)
    # DAC (cifar10_2.py): u falls and l rises by 0.19 / 100 per epoch, meeting at 0.895
    assert script_thresholds(10, 50, "dac", 0.99, 0.80) == pytest.approx((0.971, 0.819))
    assert dac_thresholds(50, 50, "dac", 0.99, 0.80, schedule="script") == pytest.approx((0.895, 0.895))


def test_estimator_runs_the_paper_schedule_and_stops_at_46(rng):
    X = rng.normal(size=(40, 1, 16, 16)).astype(np.float32)
    m = DAC(3, chunk_size=20, chunk_passes=1, batch_size=10, progress=False).fit(X)
    assert m.n_iterations_ == 46 and len(m.history_.losses) == 46
    assert m.history_.thresholds == [paper_thresholds(k) for k in range(46)]
    star = DAC(3, variant="dac_star", chunk_size=20, chunk_passes=1, batch_size=10, epochs=3, progress=False).fit(X)
    assert star.n_iterations_ == 3 and star.history_.thresholds[-1] == paper_thresholds(2, "dac_star")  # a cap


def test_defaults_are_the_paper():
    d = DAC(10)
    assert (d.variant, d.threshold_schedule, d.eta, d.upper, d.chunk_size) == ("dac", "paper", 0.009, 0.95, 1000)
    assert (d.pairs, d.pair_loss, d.distill_weight, d.restart_optimizer) == ("chunk", "bce", 0.0, False)
    X = np.broadcast_to(np.float32(0), (2000, 1, 28, 28))
    r = d.check_params(X)
    assert (r["lower"], r["iterations"], r["distill_weight"], r["chunk"]) == (0.455, 46, 0.0, 1000)
    r = DAC(10, variant="dac_star").check_params(X)
    assert (r["lower"], r["iterations"]) == (0.5, 46)
    assert DAC.from_preset("paper", 10).get_params() == d.get_params()
    assert DAC.from_preset("paper_star").variant == "dac_star"


def test_presets_reproduce_the_scripts_settings():
    assert set(PRESETS) == {"paper", "paper_star"} | {f"script_{name}" for name in DAC_SCRIPT_SETTINGS}
    for name, kw in DAC_SCRIPT_SETTINGS.items():
        params = DAC.from_preset(f"script_{name}").get_params()
        assert {k: params[k] for k in kw} == kw, name
        assert params["threshold_schedule"] == "script" and params["pairs"] == "batch", name
    # values of the scripts (implementation notes 4.3)
    mnist = DAC.from_preset("script_mnist")
    assert (mnist.variant, mnist.upper, mnist.lower, mnist.epochs, mnist.batch_size, mnist.chunk_passes,
            mnist.pair_loss, mnist.distill_weight) == ("dac_star", 0.9, 0.5, 20, 128, 5, "mse", 0.0)
    c2 = DAC.from_preset("script_cifar10_2", 10)
    assert (c2.variant, c2.upper, c2.lower, c2.pair_loss, c2.distill_weight, c2.distill_on, c2.restart_optimizer) == \
        ("dac", 0.99, 0.80, "keras1_swapped_bce", 1.0, "softmax", True)
    r = c2.check_params(np.broadcast_to(np.float32(0), (2000, 3, 32, 32)))
    assert r["iterations"] == 50 and c2.thresholds(10, r) == pytest.approx((0.971, 0.819))
    for name in ("cifar100", "stl", "imagenet10", "imagenet_dog"):
        s = DAC.from_preset(f"script_{name}")
        assert (s.upper, s.distill_weight, s.steps_per_batch, s.chunk_passes) == (0.99, 10.0, 2, 10), name
    assert DAC.from_preset("script_stl").lower == 0.5 and DAC.from_preset("script_stl").epochs == 75
    assert DAC.from_preset("script_mnist", 5, epochs=3).epochs == 3  # overrides
    with pytest.raises(InvalidParameter, match="preset"):
        DAC.from_preset("script_svhn")


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


def test_chunk_pairs_are_all_distinct_pairs_of_the_chunk(rng):
    z = torch.nn.functional.normalize(torch.rand(7, 3, generator=torch.Generator().manual_seed(0)), dim=1)
    sim = z @ z.T
    target, mask = select_pairs(sim, 0.9, 0.9, "dac_star")
    assert int(mask.sum()) == 7 * 6 // 2 and torch.equal(mask, torch.ones(7, 7, dtype=torch.bool).triu(1))
    target, mask = select_pairs(sim, 0.95, 0.6, "dac")
    between = (sim <= 0.95) & (sim >= 0.6)
    assert int(mask.sum()) == 21 - int(between.triu(1).sum())  # pairs between the thresholds are left out
    # eq. 10 over the chunk: the mean BCE of the selected distinct pairs (hand-computed)
    g = sim.clamp(1e-7, 1 - 1e-7)
    elem = -(target * g.log() + (1 - target) * (1 - g).log())
    assert chunk_pair_loss(z, target, mask).item() == pytest.approx(float(elem[mask].mean()), rel=1e-6)
    # the estimator: m (m - 1) / 2 candidate pairs per chunk, against the in-batch pairs of the scripts
    X = rng.normal(size=(60, 1, 16, 16)).astype(np.float32)
    paper = DAC(3, chunk_size=30, chunk_passes=1, batch_size=10, epochs=2, progress=False).fit(X)
    assert paper.history_.candidate_pairs == [30 * 29 // 2] * 2
    script = DAC.from_preset("script_mnist", 3, network="small16", chunk_size=30, batch_size=10, epochs=1,
                             progress=False).fit(X)
    assert script.history_.candidate_pairs == [3 * 10 * 9 // 2]


def test_chunk_gradient_in_mini_batches_equals_the_whole_chunk_loss(rng):
    net = DACNetwork(1, 4, "small16", generator=torch.Generator().manual_seed(0)).train()
    x = torch.from_numpy(rng.normal(size=(23, 1, 16, 16)).astype(np.float32))
    parts = _batches(23, 8)  # 8, 8, 7
    with torch.no_grad():
        z0 = torch.cat([net(x[b])[1] for b in parts])
    target, mask = select_pairs(z0 @ z0.T, 0.9, 0.5, "dac")
    loss = _accumulate_chunk_gradient(net, x, target, mask, parts, "bce")
    fast = [p.grad.clone() for p in net.parameters()]
    net.zero_grad(set_to_none=True)
    reference = chunk_pair_loss(torch.cat([net(x[b])[1] for b in parts]), target, mask)  # one graph, whole chunk
    reference.backward()
    assert loss.item() == pytest.approx(reference.item(), rel=1e-6)
    for a, b in zip(fast, (p.grad for p in net.parameters())):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)


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
    m = DAC(10, random_state=seed, **FAST).fit(X)  # the paper's DAC, its curriculum in 6 iterations
    # seeds 0-4 on AMD EPYC: ACC 0.663-0.858, NMI 0.642-0.775, gain over the untrained network 0.359-0.496
    assert record_score("acc", acc(y, m.labels_)) > 0.6 and record_score("nmi", nmi(y, m.labels_)) > 0.55
    gain = record_score("acc_gain_over_untrained", acc(y, m.labels_) - acc(y, untrained.labels_))
    assert gain > 0.25
    assert m.network_name_ == "small16" and m.label_features_.shape == (1797, 10) and m.n_iterations_ == 6
    assert np.array_equal(m.predict(X), m.labels_)
    assert np.allclose(np.linalg.norm(m.transform(X), axis=1), 1, atol=1e-5)
    h = m.history_
    assert h.thresholds[0] == (0.95, 0.455) and h.thresholds[-1][1] < h.thresholds[-1][0]
    assert h.selected_fraction[-1] > h.selected_fraction[0]  # more pairs take part as u and l close in
    assert all(s < 1 for s in h.selected_fraction[:-1])


@pytest.mark.score
def test_dac_star_clusters_digits(digits16, seed, record_score):
    X, y = digits16
    m = DAC(10, variant="dac_star", random_state=seed, **FAST).fit(X)
    assert record_score("acc", acc(y, m.labels_)) > 0.55  # seeds 0-4 on AMD EPYC: 0.644-0.784
    assert m.history_.selected_fraction == [1.0] * 6  # DAC*: every pair of the chunk is labelled
    assert m.history_.thresholds[0] == (0.95, 0.95) and m.history_.thresholds[-1] == pytest.approx((0.5, 0.5))


@pytest.mark.score
def test_script_preset_clusters_digits(digits16, seed, record_score):
    X, y = digits16
    m = DAC.from_preset("script_mnist", 10, network="small16", epochs=6, chunk_size=599, chunk_passes=1,
                        random_state=seed, progress=False).fit(X)  # mnist.py: in-batch pairs, MSE, 0.9 -> 0.5
    assert record_score("acc", acc(y, m.labels_)) > 0.65  # seeds 0-4 on AMD EPYC: 0.745-0.879
    assert m.history_.thresholds[-1] == pytest.approx((0.9 - 5 * 0.4 / 6,) * 2)
    assert m.history_.candidate_pairs == [4 * 128 * 127 // 2] * 6


def test_same_seed_same_labels(digits16, seed):
    X = digits16[0][:400]
    kw = dict(epochs=2, chunk_size=200, chunk_passes=2, progress=False)
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
        ({"epochs": 2.5}, "ok", "epochs"),
        ({"eta": 0.0}, "ok", "eta"),
        ({"threshold_schedule": "cosine"}, "ok", "threshold_schedule"),
        ({"pairs": "all"}, "ok", "pairs"),
        ({"steps_per_batch": 2}, "ok", "steps_per_batch"),
        ({"restart_optimizer": "yes"}, "ok", "restart_optimizer"),
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
    import clustlib.deep.dac.dac as dac_mod

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
    import clustlib.deep.dac.dac as dac_mod

    X = digits16[0][:300]
    kw = dict(n_clusters=10, epochs=3, chunk_size=150, chunk_passes=1, random_state=0, progress=False)
    ref = DAC(**kw).fit(X)
    path = tmp_path / "dac.pt"
    real_epoch, calls = dac_mod.DAC._chunk_epoch, []

    def interrupted(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # dies during the second epoch, after the first checkpoint
        return real_epoch(self, *a, **k)

    monkeypatch.setattr(dac_mod.DAC, "_chunk_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        DAC(**kw, checkpoint_path=path).fit(X)
    monkeypatch.setattr(dac_mod.DAC, "_chunk_epoch", real_epoch)
    resumed = DAC(**kw, checkpoint_path=path).fit(X)
    assert resumed.history_.resumed_from == 1
    assert np.array_equal(resumed.labels_, ref.labels_)
    assert np.allclose(resumed.label_features_, ref.label_features_, atol=1e-6)
    assert resumed.history_.losses == pytest.approx(ref.history_.losses)
    with pytest.raises(CheckpointMismatch, match="another configuration"):
        DAC(**{**kw, "lr": 2e-3}, checkpoint_path=path).fit(X)
    with pytest.raises(CheckpointMismatch):
        DAC(**kw, checkpoint_path=path).fit(X[::-1].copy())  # other data
