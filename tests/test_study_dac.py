"""Study 7 helpers (clustlib.studies.dac_study): parameter checks before compute, script settings, inputs,
Table 3's clusterings, Figure 4's statistic and the join with the paper."""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import pytest

from clustlib import data, profiles
from clustlib.deep import DAC_SCRIPT_SETTINGS
from clustlib.deep.dac import center_images
from clustlib.errors import InvalidParameter
from clustlib.metrics import acc
from clustlib.studies import dac_study as dac


@pytest.mark.parametrize("kwargs,match", [
    (dict(datasets=["mnits"]), "Unknown datasets"),
    (dict(datasets=[]), "at least one"),
    (dict(variants=["dac2"]), "Unknown variants"),
    (dict(seeds=[]), "at least one seed"),
    (dict(seeds=[-1]), "seeds must be integers"),
    (dict(networks={"cifar10": "small16"}), "not in datasets"),
    (dict(networks={"digits": "resnet18"}), "Unknown network"),
    (dict(epochs=-1), "epochs"),
    (dict(subsets={"mnist": 100}), "not in datasets"),
    (dict(estimator_params={"dac3": {}}), "unknown variant"),
    (dict(estimator_params={"dac": {"lowr": 0.5}}), "unknown or reserved"),
    (dict(estimator_params={"dac": {"random_state": 3}}), "unknown or reserved"),
    (dict(table3_methods=["dbscan"]), "Unknown table3_methods"),
    (dict(preset="code"), "preset must be"),
    (dict(preset="scripts"), "No two-threshold DAC script"),  # the scripts run DAC on CIFAR-10 only
    # DAC's own checks, reached through the resolved settings before any data is loaded
    (dict(estimator_params={"dac": {"lower": 0.97}}), "lower <= upper"),  # the paper's u starts at 0.95
    (dict(estimator_params={"dac_star": {"eta": -1.0}}), "eta"),
    (dict(subsets={"digits": 100}), "batch_size"),  # mnist.py's batch of 128 > 100 images
])
def test_validate_refuses_bad_parameters_before_loading(kwargs, match, monkeypatch):
    monkeypatch.setattr(data, "load", lambda *a, **k: pytest.fail("loaded data before validating"))
    args = dict(datasets=["digits"], variants=["dac_star", "dac"], seeds=[0])
    args.update({k: kwargs.pop(k) for k in list(kwargs) if k in args})
    kwargs.setdefault("networks", {"digits": "small16"} if "digits" in args["datasets"] else {})
    with pytest.raises(InvalidParameter, match=match):
        dac.validate(args["datasets"], args["variants"], args["seeds"], **kwargs)


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_validate_accepts_every_profile(profile):
    defaults = {k: ast.literal_eval(v["default"]) for k, v in profiles.notebook_parameters("07_dac").items()}
    p = {**defaults, **profiles.resolve_params("07_dac", profile)}
    dac.validate(p["datasets"], p["variants"], p["seeds"], preset=p["preset"], networks=p["networks"],
                 epochs=p["epochs"], estimator_params=p["estimator_params"], table3_methods=p["table3_methods"],
                 subsets=p["subsets"])
    assert p["preset"] == "paper"


def test_paper_preset_is_dac_defaults_with_the_scripts_network_and_augmentation():
    from clustlib.deep import DAC

    script, kw = dac.script_settings("mnist", "dac")  # the paper preset is the default
    assert script == "mnist" and kw == {"variant": "dac", "network": "mnist", "augmentation": "mnist", "batch_size": 128}
    model = DAC(10, **kw)
    assert (model.threshold_schedule, model.pairs, model.pair_loss, model.distill_weight, model.chunk_size) == \
        ("paper", "chunk", "bce", 0.0, 1000)
    r = model.check_params(np.broadcast_to(np.float32(0), (70000, 1, 28, 28)))
    assert r["iterations"] == 46 and model.thresholds(0, r) == (0.95, 0.455)
    script, kw = dac.script_settings("cifar10", "dac")  # the two-threshold script's network for DAC on CIFAR-10
    assert script == "cifar10_2" and kw["network"] == "cifar_v2" and kw["augmentation"] == "cifar10_2"
    script, kw = dac.script_settings("stl10", "dac")  # no two-threshold script: the DAC* script's network
    assert script == "stl" and kw == {"variant": "dac", "network": "stl", "augmentation": "stl", "batch_size": 32}
    assert dac.script_settings("stl10", "dac_star", epochs=10)[1]["epochs"] == 10  # a cap on the 46 iterations


def test_scripts_preset_follows_the_authors_scripts():
    script, kw = dac.script_settings("cifar10", "dac", preset="scripts")
    assert script == "cifar10_2" and kw == DAC_SCRIPT_SETTINGS["cifar10_2"]  # the one two-threshold script
    script, kw = dac.script_settings("cifar10", "dac_star", preset="scripts")
    assert script == "cifar100" and kw == DAC_SCRIPT_SETTINGS["cifar100"]  # issue #11: cifar100.py for CIFAR-10
    with pytest.raises(InvalidParameter, match="No two-threshold DAC script"):  # no schedule the scripts lack
        dac.script_settings("stl10", "dac", preset="scripts")
    script, kw = dac.script_settings("digits", "dac_star", preset="scripts", network="small16", epochs=3,
                                     overrides={"lr": 5e-4})
    assert script == "mnist" and kw == {**DAC_SCRIPT_SETTINGS["mnist"], "network": "small16", "epochs": 3, "lr": 5e-4}
    assert dac.script_settings("imagenet_dogs", "dac_star", preset="scripts")[1]["network"] == "imagenet_dog"
    with pytest.raises(InvalidParameter, match="No DAC script"):
        dac.script_settings("coil100", "dac")
    table = dac.settings_table(["cifar10"], ["dac_star", "dac"], preset="scripts")
    assert table["threshold_schedule"].tolist() == ["script", "script"] and table["pairs"].tolist() == ["batch"] * 2
    assert dac.settings_table(["cifar10"], ["dac"])["pairs"].tolist() == ["chunk"]


def test_prepare_inputs_as_the_scripts_do():
    digits = data.load("digits")
    X = dac.prepare_inputs(digits, "small16", "mnist")
    assert X.shape == (1797, 1, 16, 16) and X.dtype == np.float32
    expected = center_images(data.resize_images(digits.images, 16).transpose(0, 3, 1, 2))
    assert np.array_equal(X, expected) and abs(float(X.mean())) < 1e-5
    raw = dac.prepare_inputs(digits, "small16", "imagenet_dog")  # imagenetdog.py: pixels / 255, no centring
    assert np.allclose(raw, data.resize_images(digits.images, 16).transpose(0, 3, 1, 2) / 255.0)
    assert np.allclose(raw - raw.mean(), expected, atol=1e-5)
    with pytest.raises(InvalidParameter, match="Unknown network"):
        dac.prepare_inputs(digits, "vgg16", "mnist")


def test_table3_clusterings_recover_separated_label_features(rng):
    y = np.repeat(np.arange(3), 40)
    Z = np.eye(3)[y] * 0.9 + rng.uniform(0, 0.1, size=(120, 3))  # non-negative, near one-hot
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    for method in dac.TABLE3_METHODS:
        assert acc(y, dac.cluster_label_features(Z, method, 3, seed=0)) == 1.0, method
    with pytest.raises(InvalidParameter, match="Table 3 method"):
        dac.cluster_label_features(Z, "dbscan", 3)


def test_feature_distribution_counts_elements_per_interval():
    initial = np.array([[0.05, 0.2, 0.6, 0.95]], dtype=np.float32)  # one element in each interval
    final = np.array([[0.0, 0.0, 0.0, 1.0]], dtype=np.float32)  # one-hot: 3/4 in [0, 0.1), 1/4 in [0.9, 1]
    runs = dac.DACRuns(pd.DataFrame(), pd.DataFrame(), {("digits", "dac", 0): (initial, final)})
    dist = dac.feature_distribution(runs).set_index(["stage", "interval"])["share"]
    assert (dist["initial"] == 0.25).all() and len(dist["initial"]) == 4
    assert dist["final"].tolist() == [0.75, 0.0, 0.0, 0.25]


def test_compare_with_paper_joins_table_2_and_table_3_through_stand_ins():
    scores = pd.DataFrame({"dataset": "digits", "method": ["DAC*", "DAC*", "DAC"], "seed": [0, 1, 0],
                           "nmi": [0.8, 0.9, 0.85], "ari": 0.7, "acc": [0.90, 0.94, 0.95]})
    side = dac.compare_with_paper(scores, "2", stand_ins={"digits": "mnist"}).set_index(["method", "metric"])
    assert set(side["ours_dataset"]) == {"digits"} and set(side["dataset"]) == {"mnist"}
    assert side.loc[("DAC*", "acc"), "ours_mean"] == pytest.approx(0.92)
    assert side.loc[("DAC*", "acc"), "paper"] == pytest.approx(0.9660)  # Table 2, MNIST
    assert side.loc[("DAC", "nmi"), "delta"] == pytest.approx(0.85 - 0.9351)
    assert dac.compare_with_paper(scores, "2").empty  # digits alone is not in the paper
    t3 = pd.DataFrame({"dataset": "mnist", "method": ["K-means", "K-means"], "seed": [0, 0],
                       "features": ["dac_label_features", "dac_star_label_features"], "nmi": 0.9, "ari": 0.9,
                       "acc": 0.97})
    side = dac.compare_with_paper(t3, "3")
    assert len(side) == 3 and set(side["setting"]) == {"dac_label_features"}  # only DAC's features are in Table 3
    assert side.set_index("metric").loc["acc", "paper"] == pytest.approx(0.9761)
    with pytest.raises(InvalidParameter, match="table"):
        dac.compare_with_paper(scores, "4")


@pytest.mark.parametrize("extra,match", [
    (dict(baselines=["kmeans", "dbscan"]), "Unknown baselines"),
    (dict(baseline_params={"kmeans": {"n_init": 3}}), "take no arguments"),
    (dict(baseline_params={"dec": {"pretrain_epoch": 3}}), r"baseline_params\['dec'\]"),
    (dict(sweep_methods=["dac", "sae"]), "Unknown sweep_methods"),
    (dict(sweep_seeds=[]), "at least one seed"),
    (dict(imbalance_rates=[0.0, 0.5]), "imbalance_rates"),
    (dict(imbalance_dataset="coil100"), "Unknown sweep datasets"),
    (dict(cluster_counts=[4, 11]), r"\[2, 10\]"),  # digits has 10 classes
    (dict(sample_counts=[100, 2000]), "do not fit digits"),
    (dict(sweep_subsets={"cifar10": 100}), "sweep_subsets"),
    (dict(sweep_estimator_params={"dac": {"lowr": 1}}), "unknown or reserved"),
    (dict(sample_counts=[100]), "batch_size"),  # mnist.py's batch of 128 > the 100 images of Figure 7's first point
    (dict(cluster_counts=[4], clusters_per_class=50, sweep_subsets={"digits": 300}), "about 120 images"),  # 30 a class
])
def test_validate_extras_refuses_bad_parameters_before_loading(extra, match, monkeypatch):
    monkeypatch.setattr(data, "load", lambda *a, **k: pytest.fail("loaded data before validating"))
    params = {**dict(datasets=["digits"], networks={"digits": "small16"}, imbalance_dataset="digits",
                     clusters_dataset="digits", samples_datasets=["digits"], sweep_methods=["kmeans", "dac"],
                     imbalance_rates=[0.5], cluster_counts=[10], sample_counts=[200]), **extra}
    with pytest.raises(InvalidParameter, match=match):
        dac.validate_extras(params)


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_validate_params_accepts_every_profile(profile):
    defaults = {k: ast.literal_eval(v["default"]) for k, v in profiles.notebook_parameters("07_dac").items()}
    dac.validate_params({**defaults, **profiles.resolve_params("07_dac", profile)})


def test_imbalanced_subset_keeps_class_c_with_the_papers_probability():
    labels = np.repeat(np.arange(10), 20_000)
    kept = np.bincount(labels[dac.imbalanced_subset(labels, 0.1, seed=3)], minlength=10) / 20_000
    expected = 0.1 + 0.9 * np.arange(10) / 9  # class 0 with r, class 9 always, linear in between
    assert np.abs(kept - expected).max() < 0.01 and kept[-1] == 1.0
    assert np.array_equal(dac.imbalanced_subset(labels, 0.1, seed=3), dac.imbalanced_subset(labels, 0.1, seed=3))
    for bad in (0, 1.5, True):
        with pytest.raises(InvalidParameter, match="retention"):
            dac.imbalanced_subset(labels, bad)


def test_cluster_subsets_are_nested_with_per_class_images():
    labels = np.repeat(np.arange(8), 30)
    small, large = (dac.cluster_subset(labels, k, seed=1, per_class=10) for k in (3, 5))
    assert set(small) <= set(large) and len(small) == 30 and len(large) == 50
    assert (np.bincount(labels[large], minlength=8)[np.unique(labels[large])] == 10).all()
    with pytest.raises(InvalidParameter, match=r"\[2, 8\]"):
        dac.cluster_subset(labels, 9)
    digits = data.load("digits")
    (k, sub), = dac.sweep_jobs("clusters", digits, [4], seed=0, per_class=20)
    assert sub.n_classes == 4 and sorted(set(sub.labels)) == [0, 1, 2, 3] and len(sub) == 80  # relabelled 0..3
    with pytest.raises(InvalidParameter, match="sample counts"):
        dac.sweep_jobs("samples", digits, [5000])


def test_kgon_puts_one_hot_features_on_vertices_and_flat_ones_at_the_centre():
    xy = dac.kgon_coordinates(np.eye(4))
    assert np.allclose(xy, [[0, 1], [1, 0], [0, -1], [-1, 0]], atol=1e-12)  # vertex 0 on top, clockwise
    assert np.allclose(dac.kgon_coordinates(np.full((1, 10), 10 ** -0.5)), 0, atol=1e-12)
    mixed = dac.kgon_coordinates(np.array([[0.6, 0.8, 0.0, 0.0]]))  # weights 0.36 and 0.64 on vertices 0 and 1
    assert np.allclose(mixed, [[0.64, 0.36]])


def test_label_feature_samples_pick_the_most_confident_typical_and_failure_images():
    Z = np.array([[0.9, 0.1], [0.99, 0.1], [0.95, 0.2], [0.1, 0.8], [0.2, 0.7]])
    labels = np.array([0, 0, 1, 1, 1])
    picks = dac.label_feature_samples(labels, Z).set_index(["cluster", "kind"])["index"]
    assert picks[(0, "typical")] == 1 and picks[(0, "failure")] == 2  # image 2 is class 1 in class 0's cluster
    assert picks[(1, "typical")] == 3 and (1, "failure") not in picks.index


def test_traditional_inputs_are_pixels_or_hog_with_a_colour_map(rng):
    from clustlib.data import ImageSet

    images = rng.integers(0, 256, size=(3, 96, 96, 3), dtype=np.uint8)
    stl = ImageSet(name="stl10", images=images, labels=np.array([0, 1, 0]), classes=("a", "b"), source="test")
    X = dac.traditional_inputs(stl)
    assert X.shape == (3, 11 * 11 * 2 * 2 * 9 + 8 * 8 * 3)  # HOG (8x8 cells, 2x2 blocks, 9 bins) + 8x8x3 colour
    assert np.allclose(X[:, -192:], data.resize_images(images, 8).reshape(3, -1) / 255.0)
    assert np.allclose(dac.traditional_inputs(stl, "digits"), images.reshape(3, -1) / 255.0, atol=1e-6)
    assert dac.baseline_setting("kmeans", dataset="stl10") == {"input": "HOG + colour map"}
    assert dac.baseline_setting("dec", {"dec": {"clustering_epochs": 5}}) == {
        "input": "z-scored pixels", "network": "ff_500_500_2000", "epochs": "100+5"}


def test_run_grid_resumes_and_figures_redraw_from_the_run_folder(tmp_path, monkeypatch):
    from clustlib import results
    from clustlib.deep import DAC

    digits = dac.load_inputs(["digits"], {"digits": 150})
    params = dict(datasets=["digits"], stand_ins={"digits": "mnist"})
    kw = dict(networks={"digits": "small16"}, estimator_params={"dac": {"eta": 0.3, "chunk_passes": 1}},
              progress=False)
    run = results.Run("07_dac", "ci", params, run_dir=tmp_path / "run")
    first = dac.run_grid(run, digits, ["dac"], [0], **kw)
    base = dac.run_baselines(run, digits, ["kmeans", "nmf"], [0, 1], progress=False)
    assert base["method"].tolist() == ["K-means", "K-means", "NMF"]  # NMF is seedless: one run
    sweep = dac.run_sweep(run, "samples", "digits", digits["digits"], [130, 150], ["kmeans"], [0], progress=False)
    assert sweep["n"].tolist() == [130, 150]
    dac.keep_label_feature_samples(run, digits, first)
    monkeypatch.setattr(DAC, "fit", lambda *a, **k: pytest.fail("a logged network was trained again"))
    monkeypatch.setattr(dac, "cluster_label_features", lambda *a, **k: pytest.fail("a logged baseline ran again"))
    again = results.Run("07_dac", "ci", params, run_dir=tmp_path / "run")  # a rerun reuses the folder
    second = dac.run_grid(again, digits, ["dac"], [0], **kw)
    pd.testing.assert_frame_equal(first.scores, second.scores)
    pd.testing.assert_frame_equal(base, dac.run_baselines(again, digits, ["kmeans", "nmf"], [0, 1], progress=False))
    dac.run_sweep(again, "samples", "digits", digits["digits"], [130, 150], ["kmeans"], [0], progress=False)
    assert len(again.records) == len(run.records)  # nothing logged twice
    loaded = dac.load_runs(again.run_dir)
    pd.testing.assert_frame_equal(loaded.history, first.history, check_dtype=False)
    assert np.array_equal(loaded.features[("digits", "dac", 0)][1], first.features[("digits", "dac", 0)][1])
    names = [name for name, fig in dac.draw_figures(again.run_dir)]
    assert names == ["dac_table2_digits", "dac_thresholds_digits", "dac_fig4_label_features_digits",
                     "dac_cluster_sizes_digits", "dac_fig1_kgon_digits", "dac_fig3_label_features_digits",
                     "dac_fig7_samples"]
    assert [name for name, _ in dac.draw_figures(again.run_dir, only=["fig1", "dac_fig7_samples"])] == [
        "dac_fig1_kgon_digits", "dac_fig7_samples"]
    table = dac.sweep_table(again.records, "samples")
    assert table["value"].tolist() == [130.0, 150.0] and set(table["dataset"]) == {"digits"}
    import matplotlib.pyplot as plt
    plt.close("all")


def test_findings_read_the_sweeps_directions(tmp_path):
    from clustlib import findings, results

    run = results.Run("07_dac", "ci", {}, run_dir=tmp_path / "run")
    for r, (dac_acc, km) in {0.1: (0.9, 0.5), 0.5: (0.95, 0.7)}.items():
        for method, value in (("DAC", dac_acc), ("K-means", km)):
            run.log(dataset="digits_imbalanced", method=method, setting={"figure": "5", "retention": r, "n": 100},
                    metrics={"acc": value, "nmi": value, "ari": value})
    for k, value in ((4, 0.9), (10, 0.7)):
        run.log(dataset="digits_clusters", method="DAC", setting={"figure": "6", "k": k, "n": 60 * k},
                metrics={"acc": value})
    rows = pd.DataFrame(findings._dac_sweep_rows(run.records)).set_index("data")
    assert rows.loc["digits (imbalanced)", "ours_mean"] == pytest.approx(0.325)  # mean of 0.4 and 0.25
    assert rows.loc["digits (imbalanced)", "direction"] == rows.loc["digits (clusters)", "direction"]
    assert rows.loc["digits (clusters)", "ours_mean"] == pytest.approx(-0.2)  # falls with K, as the paper says
    assert "digits (samples)" not in rows.index  # no Figure 7 records
