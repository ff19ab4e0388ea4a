"""Study 4 helpers (clustlib.studies.deepclue_study): parameter checks before compute, CC inputs, the four
clusterings of one trained network, the ensemble-size sweep (Figures 6-8), the weighting comparison (Figures
3-5), the Tables II-IV baselines, and the join with the paper's Tables II-VII."""

from __future__ import annotations

import ast
import dataclasses

import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt

from clustlib import data, paper, profiles, results
from clustlib.cluster import multilayer_ensemble, weighted_bipartite_consensus
from clustlib.deep import ContrastiveClustering
from clustlib.errors import InvalidParameter
from clustlib.metrics import acc, ari, nmi
from clustlib.studies import deepclue_study as deepclue

TINY = {"backbone": "resnet18", "image_size": 32, "epochs": 1, "batch_size": 40}


@pytest.mark.parametrize("kwargs,match", [
    (dict(datasets=["fashion"]), "Unknown datasets"),
    (dict(datasets=[]), "at least one"),
    (dict(seeds=[]), "at least one seed"),
    (dict(seeds=[1.5]), "seeds must be integers"),
    (dict(subsets={"cifar10": 100}), "not in datasets"),
    (dict(layers=["fc10"]), "Unknown layers"),
    (dict(layers=["fc8", "fc8"]), "must not repeat"),
    (dict(clusterings_per_layer=0), "clusterings_per_layer"),
    (dict(knn=0), "knn"),
    (dict(n_representatives=5), "n_representatives"),  # fewer representatives than the 10 classes
    (dict(estimator_params={"epoch": 3}), "unknown or reserved"),
    (dict(estimator_params={"random_state": 3}), "unknown or reserved"),
    # ContrastiveClustering's own checks, before any data is loaded
    (dict(estimator_params={"backbone": "vgg16"}), "backbone"),
    (dict(estimator_params={"image_size": 16}), "image_size"),
    (dict(subsets={"digits": 100}, estimator_params={"batch_size": 256}), "batch_size"),
    (dict(subsets={"digits": 5}), "n_clusters"),  # 10 clusters > 5 images
])
def test_validate_refuses_bad_parameters_before_loading(kwargs, match, monkeypatch):
    monkeypatch.setattr(data, "load", lambda *a, **k: pytest.fail("loaded data before validating"))
    args = dict(datasets=["digits"], seeds=[0])
    args.update({k: kwargs.pop(k) for k in list(kwargs) if k in args})
    with pytest.raises(InvalidParameter, match=match):
        deepclue.validate(args["datasets"], args["seeds"], **kwargs)


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_validate_accepts_every_profile(profile):
    defaults = {k: ast.literal_eval(v["default"]) for k, v in profiles.notebook_parameters("04_deepclue").items()}
    p = {**defaults, **profiles.resolve_params("04_deepclue", profile)}
    deepclue.validate(p["datasets"], p["seeds"], estimator_params=p["estimator_params"], subsets=p["subsets"],
                      layers=p["layers"], clusterings_per_layer=p["clusterings_per_layer"], pca_dim=p["pca_dim"],
                      n_representatives=p["n_representatives"], knn=p["knn"])


def test_paper_defaults_and_imagenet_augmentation():
    defaults = {k: ast.literal_eval(v["default"]) for k, v in profiles.notebook_parameters("04_deepclue").items()}
    assert (defaults["clusterings_per_layer"], defaults["pca_dim"], defaults["n_representatives"],
            defaults["knn"]) == (5, 1000, 1000, 5)
    assert tuple(defaults["layers"]) == ("conv4_x", "conv5_x", "fc6", "fc7", "fc8", "fc9")
    cc = ContrastiveClustering(10)
    assert (cc.backbone, cc.image_size, cc.epochs, cc.batch_size) == ("resnet34", 224, 1000, 256)
    assert deepclue.estimator_kwargs("cifar10") == {}  # CC's defaults: s = 0.5, no blur
    assert deepclue.estimator_kwargs("imagenet10") == {"color_strength": 1.0, "blur": True}
    assert deepclue.estimator_kwargs("imagenet_dogs", {"blur": False})["blur"] is False
    with pytest.raises(InvalidParameter, match="No DeepCluE setting"):
        deepclue.estimator_kwargs("coil100")


def test_prepare_inputs_scales_and_repeats_grey():
    digits = data.load("digits", subset=30)
    X = deepclue.prepare_inputs(digits)
    assert X.shape == (30, 3, 8, 8) and X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    assert np.array_equal(X[:, 1], digits.images[..., 0] / np.float32(255))
    big = deepclue.prepare_inputs(digits, 32)
    assert np.array_equal(big[:, 0], data.resize_images(digits.images, 32)[..., 0] / np.float32(255))
    rgb = np.stack([digits.images[..., 0], np.zeros_like(digits.images[..., 0]), digits.images[..., 0]], -1)
    colour = deepclue.prepare_inputs(dataclasses.replace(digits, images=rgb))
    assert np.array_equal(colour[:, 1], np.zeros((30, 8, 8), np.float32))  # colour images keep their channels


@pytest.mark.usefixtures("isolated_project", "one_thread")
@pytest.mark.score
def test_run_grid_logs_the_four_clusterings_of_one_network(seed, record_score):
    digits = data.load("digits", subset=120)
    run = results.start_run("04_deepclue", "test", {})
    ens = dict(clusterings_per_layer=2, n_representatives=60, knn=5)
    runs = deepclue.run_grid(run, {"digits": digits}, [seed], estimator_params=TINY, progress=False,
                             ensemble_sizes=[1, 2], **ens)
    assert runs.scores["method"].tolist() == list(deepclue.METHODS)
    logged = run.records.pivot_table(index="method", columns="metric", values="value")
    assert set(logged.index) == {*deepclue.METHODS, deepclue.SIZE_METHOD} and logged.notna().all().all()
    sweep = run.records[run.records["method"] == deepclue.SIZE_METHOD]
    assert sorted(set(sweep["setting"])) == ["M=12,M_per_layer=2", "M=6,M_per_layer=1"] and len(sweep) == 6
    assert runs.sizes[["M_per_layer", "M"]].values.tolist() == [[1, 6], [2, 12]]
    assert len(runs.base) == 6 * 2
    assert list(dict.fromkeys(runs.base["layer"])) == ["conv4_x", "conv5_x", "fc6", "fc7", "fc8", "fc9"]
    assert runs.history["epoch"].tolist() == [1]
    # refit by hand with the same seed: CC's labels, and the ensemble of the same six layers
    model = ContrastiveClustering(10, **TINY, random_state=seed, progress=False).fit(deepclue.prepare_inputs(digits))
    assert logged.loc["CC", "acc"] == pytest.approx(acc(digits.labels, model.labels_))
    feats = model.layer_features(deepclue.prepare_inputs(digits))
    alone = multilayer_ensemble(list(feats.values()), 10, **ens, random_state=seed)
    assert logged.loc["DeepCluE", "nmi"] == pytest.approx(nmi(digits.labels, alone.labels))
    # the unweighted ensemble: the same base clusterings, every cluster weighing 1
    flat = weighted_bipartite_consensus(alone.base_labels, 10, weighted=False, random_state=seed)
    assert logged.loc["DeepCluE unweighted", "nmi"] == pytest.approx(nmi(digits.labels, flat))
    # the sweep's M' = 2 point is the weighted consensus of the main run's 12 base clusterings
    full = weighted_bipartite_consensus(alone.base_labels, 10, random_state=seed)
    assert runs.sizes.loc[runs.sizes["M_per_layer"] == 2, "nmi"].item() == pytest.approx(nmi(digits.labels, full))
    assert runs.base["nmi"].tolist() == pytest.approx([nmi(digits.labels, b) for b in alone.base_labels.T])
    # the ensemble clusters digits well above chance even after one epoch (features of a random-ish ResNet)
    assert record_score("nmi_deepclue", logged.loc["DeepCluE", "nmi"]) > 0.6  # seeds 0-4 on AMD EPYC: 0.658-0.703 (was > 0.4)
    run.finish()


def test_compare_with_paper_joins_tables_ii_to_vii():
    scores = pd.DataFrame({"dataset": "fashion_mnist", "method": list(deepclue.METHODS) * 2,
                           "seed": [0] * 4 + [1] * 4, "nmi": [0.5, 0.4, 0.6, 0.55, 0.6, 0.4, 0.7, 0.55],
                           "ari": 0.3, "acc": 0.5})
    main = deepclue.compare_with_paper(scores, "main").set_index(["method", "metric"])
    assert set(main.index.get_level_values("method")) == {"CC", "DeepCluE"}
    assert main.loc[("DeepCluE", "nmi"), "ours_mean"] == pytest.approx(0.65)
    assert main.loc[("DeepCluE", "nmi"), "paper"] == pytest.approx(0.694)
    ablation = deepclue.compare_with_paper(scores, "ablation").set_index(["method", "metric"])
    assert set(ablation.index.get_level_values("method")) == set(deepclue.ABLATION_NAMES.values())
    assert ablation.loc[("Using last layer of g_C", "nmi"), "delta"] == pytest.approx(0.55 - 0.641)
    assert ablation.loc[("Using last layer of g_I", "acc"), "paper"] == pytest.approx(0.526)
    published = paper.load("deepclue2022", "V")
    assert set(deepclue.ABLATION_NAMES.values()) == set(published["method"])
    assert deepclue.compare_with_paper(scores.assign(dataset="digits"), "main").empty  # no stand-in by default
    with pytest.raises(InvalidParameter, match="tables must be"):
        deepclue.compare_with_paper(scores, "II")


def _blob_layers(seed, n=150, k=3):
    """Three toy 'layers' of the same n samples: k Gaussian blobs seen through three random linear maps."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n // k)
    centres = rng.normal(size=(k, 5)) * 4
    Z = centres[y] + rng.normal(size=(n, 5))
    return [Z @ rng.normal(size=(5, d)) for d in (8, 12, 4)], y


def test_ensemble_size_curve_is_the_consensus_of_the_first_m_clusterings_of_every_layer(seed):
    layers, y = _blob_layers(seed)
    ens = dict(pca_dim=1000, n_representatives=60, knn=5)
    curve = deepclue.ensemble_size_curve(layers, y, 3, [3, 1], **ens, random_state=seed)
    assert curve[["M_per_layer", "M"]].values.tolist() == [[1, 3], [3, 9]]  # sorted, M = 3 layers x M'
    pool = multilayer_ensemble(layers, 3, clusterings_per_layer=3, **ens, random_state=seed)
    for m, row in zip((1, 3), curve.itertuples()):
        first = np.hstack([pool.base_labels[:, pool.layer_of_clustering == j][:, :m] for j in range(3)])
        labels = weighted_bipartite_consensus(first, 3, random_state=seed)
        assert (row.nmi, row.ari, row.acc) == pytest.approx((nmi(y, labels), ari(y, labels), acc(y, labels)))
    # a given pool of M' = 2 is reused; the third clustering of every layer comes from one more draw
    small = multilayer_ensemble(layers, 3, clusterings_per_layer=2, **ens, random_state=seed)
    grown = deepclue.ensemble_size_curve(layers, y, 3, [2, 3], pool=small, clusterings_per_layer=2, **ens,
                                         random_state=seed)
    extra = multilayer_ensemble(layers, 3, clusterings_per_layer=1, **ens,
                                random_state=np.random.RandomState([seed, 6]))
    per_layer = [np.hstack([small.base_labels[:, small.layer_of_clustering == j],
                            extra.base_labels[:, extra.layer_of_clustering == j]]) for j in range(3)]
    for m, row in zip((2, 3), grown.itertuples()):
        labels = weighted_bipartite_consensus(np.hstack([b[:, :m] for b in per_layer]), 3, random_state=seed)
        assert row.nmi == pytest.approx(nmi(y, labels))
    with pytest.raises(InvalidParameter, match="must not repeat"):
        deepclue.ensemble_size_curve(layers, y, 3, [1, 1], **ens)


def _defaults():
    return {k: ast.literal_eval(v["default"]) for k, v in profiles.notebook_parameters("04_deepclue").items()}


@pytest.mark.parametrize("overrides,match", [
    (dict(ensemble_sizes_per_layer=[0]), "ensemble_sizes_per_layer"),
    (dict(ensemble_sizes_per_layer=[2, 2]), "must not repeat"),
    (dict(ensemble_sizes_per_layer=5), "must be a list"),
    (dict(baselines=["dec"]), "Unknown DeepCluE baseline"),
    (dict(baseline_params={"kmeans_pixels": {"n_init": 3}}), "take no arguments"),
    (dict(baseline_params={"dec_pixels": {"epochs": 3}}), "dec_pixels"),
    (dict(baseline_params={"jule_pixels": {"random_state": 3}}), "unknown or reserved"),
    (dict(baseline_params={"dac_pixels": {"variant": "dac_star"}}), "unknown or reserved"),
    (dict(baseline_params={"ae_pixels": 20}), "must be a dict"),
])
def test_validate_params_refuses_bad_sweeps_and_baselines(overrides, match, monkeypatch):
    monkeypatch.setattr(data, "load", lambda *a, **k: pytest.fail("loaded data before validating"))
    params = {**_defaults(), "datasets": ["digits"], "subsets": {}, "seeds": [0], **overrides}
    with pytest.raises(InvalidParameter, match=match):
        deepclue.validate_params(params)


def test_baseline_jobs_skip_dac_without_a_script_and_repeat_only_seeded_baselines():
    jobs = deepclue.baseline_jobs(["tiny_imagenet", "cifar10"], ["dac_pixels", "nmf_pixels", "dec_pixels"], [0, 1])
    assert jobs == [("tiny_imagenet", "nmf_pixels", 0), ("tiny_imagenet", "dec_pixels", 0),
                    ("tiny_imagenet", "dec_pixels", 1), ("cifar10", "dac_pixels", 0), ("cifar10", "dac_pixels", 1),
                    ("cifar10", "nmf_pixels", 0), ("cifar10", "dec_pixels", 0), ("cifar10", "dec_pixels", 1)]
    skipped = deepclue.skipped_baselines(["tiny_imagenet", "cifar10"], ["dac_pixels"])
    assert skipped[["dataset", "baseline"]].values.tolist() == [["tiny_imagenet", "dac_pixels"]]
    assert deepclue.skipped_baselines(["tiny_imagenet"], ["kmeans_pixels"]).empty
    # every baseline maps to a row of Tables II-IV, the names the fidelity ledger uses
    rows = set(paper.load("deepclue2022", "II")["method"])
    assert {row for row, _ in deepclue.BASELINES.values()} <= rows
    assert deepclue.baseline_setting("dec_pixels", {"dec_pixels": {"clustering_epochs": 7}}) == {
        "input": "z-scored pixels", "network": "ff_500_500_2000", "epochs": "100+7"}
    assert deepclue.baseline_setting("dac_pixels", None, "fashion_mnist")["script"] == "mnist"


@pytest.mark.usefixtures("isolated_project", "one_thread")
def test_ae_and_dec_baselines_are_the_clustpy_runs_on_z_scored_pixels(seed):
    from clustlib.deep import run_deep_clustering
    from clustlib.studies.clustpy_benchmark import prepare_inputs

    digits = data.load("digits", subset=80)
    run = results.start_run("04_deepclue", "test", {})
    tiny = {"ae_pixels": {"pretrain_epochs": 2}, "dec_pixels": {"pretrain_epochs": 2, "clustering_epochs": 2}}
    frame = deepclue.run_baselines(run, {"digits": digits}, ["ae_pixels", "dec_pixels"], [seed],
                                   baseline_params=tiny, progress=False)
    assert frame["method"].tolist() == ["ae_pixels", "dec_pixels"] and frame[["nmi", "ari", "acc"]].notna().all().all()
    X, key = prepare_inputs(digits, "ff_500_500_2000")
    for method, baseline in (("ae_kmeans", "ae_pixels"), ("dec", "dec_pixels")):
        out = run_deep_clustering(method, X, 10, seed=seed, dataset_key=key, **{**deepclue.DEEP_BASELINES[baseline],
                                                                               **tiny[baseline]})
        assert out["pretrain_from_cache"]  # the baselines pretrained this autoencoder once, for both
        assert frame.set_index("method").loc[baseline, "nmi"] == pytest.approx(nmi(digits.labels, out["labels"]))
    assert set(run.records["setting"]) == {"input=z-scored pixels,network=ff_500_500_2000,epochs=2",
                                           "input=z-scored pixels,network=ff_500_500_2000,epochs=2+2"}
    side = deepclue.compare_baselines_with_paper(frame.assign(dataset="fashion_mnist"))
    assert set(side["method"]) == {"AE", "DEC"}
    assert side.set_index(["method", "metric"]).loc[("DEC", "nmi"), "paper"] == pytest.approx(0.601)
    run.finish()


def _weighting_scores():
    return pd.DataFrame({"dataset": "fashion_mnist", "method": [deepclue.METHOD, deepclue.UNWEIGHTED_METHOD] * 2,
                         "seed": [0, 0, 1, 1], "nmi": [0.6, 0.5, 0.7, 0.55], "ari": [0.4, 0.4, 0.5, 0.3],
                         "acc": [0.6, 0.6, 0.6, 0.6]})


def test_weighting_table_and_figures_3_to_5():
    table = deepclue.weighting_table(_weighting_scores()).set_index("metric")
    assert table.loc["NMI", "with - without"] == "+0.125 ± 0.035 (2 seeds)"
    assert table.loc["ARI", "paper with (Tables II-IV)"] == "0.569" and table.loc["ARI", "figure"] == "Fig. 4"
    assert (table["paper without"] == "figure only").all()
    fig = deepclue.figure_weighting(_weighting_scores(), metric="ari")
    ax = fig.axes[0]
    assert ax.get_title().startswith("Fig. 4: ARI")
    dashes = [c for c in ax.collections if c.get_label().startswith("paper")]
    assert len(dashes) == 1 and dashes[0].get_segments()[0][0][1] == pytest.approx(0.569)
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["with weighted clusters",
                                                                     "without weighted clusters"]
    digits = deepclue.figure_weighting(_weighting_scores().assign(dataset="digits"), metric="nmi")
    assert "paper: no digits in Table II" in [t.get_text() for t in digits.axes[0].get_legend().get_texts()]


def test_ensemble_size_table_and_figures_6_to_8():
    sizes = pd.DataFrame({"dataset": "fashion_mnist", "seed": [0, 0, 1, 1], "M_per_layer": [1, 5, 1, 5],
                          "M": [6, 30, 6, 30], "nmi": [0.5, 0.6, 0.52, 0.62], "ari": 0.4, "acc": 0.5, "seconds": 0.1})
    table = deepclue.ensemble_size_table(sizes).set_index("M")
    assert table.loc[30, "paper NMI (M = 30)"] == "0.694" and table.loc[6, "paper NMI (M = 30)"] == ""
    assert table.loc[6, "NMI"] == "0.510 ± 0.014"
    fig = deepclue.figure_ensemble_size(sizes, metric="acc")
    ax = fig.axes[0]
    assert ax.get_title().startswith("Fig. 8: ACC") and ax.get_xlabel().startswith("ensemble size M")
    line, cross = ax.get_lines()[:2]
    assert line.get_xdata().tolist() == [6, 30] and line.get_ydata().tolist() == pytest.approx([0.5, 0.5])
    assert cross.get_xdata().tolist() == [30] and cross.get_ydata().tolist() == pytest.approx([0.689])


def _comparable(records: pd.DataFrame) -> pd.DataFrame:
    """Records without what differs between two executions of the same job (run id, times, memory)."""
    keep = ["dataset", "method", "setting", "seed", "metric", "value"]
    return records[keep].sort_values(keep[:5]).reset_index(drop=True)


@pytest.mark.usefixtures("isolated_project", "one_thread")
def test_run_grid_resumes_a_killed_run_and_recomputes_no_finished_job(tmp_path, seed, monkeypatch):
    digits = data.load("digits", subset=120)
    args = dict(estimator_params={**TINY, "epochs": 2}, progress=False, ensemble_sizes=[1, 2],
                clusterings_per_layer=2, n_representatives=60, knn=5)
    whole = results.start_run("04_deepclue", "test", {}, run_dir=tmp_path / "whole")
    expected = deepclue.run_grid(whole, {"digits": digits}, [seed, seed + 1], **args)

    # kill the first run in the second job's second epoch: the first job is logged, the second has a checkpoint
    real_epoch, calls = ContrastiveClustering._epoch, []

    def dying_epoch(self, *a, **k):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt("killed")
        return real_epoch(self, *a, **k)

    monkeypatch.setattr(ContrastiveClustering, "_epoch", dying_epoch)
    killed = results.start_run("04_deepclue", "test", {}, run_dir=tmp_path / "killed")
    with pytest.raises(KeyboardInterrupt):
        deepclue.run_grid(killed, {"digits": digits}, [seed, seed + 1], **args)
    assert set(killed.records["seed"]) == {seed}
    assert list((tmp_path / "killed" / "checkpoints").glob("digits-CC-*")) != []

    # the rerun trains only the second job's missing epoch, and logs what an uninterrupted run logs
    calls.clear()
    rerun = results.start_run("04_deepclue", "test", {}, run_dir=tmp_path / "killed")
    resumed = deepclue.run_grid(rerun, {"digits": digits}, [seed, seed + 1], **args)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(_comparable(rerun.records), _comparable(whole.records))
    for got, want in zip(resumed, expected):
        pd.testing.assert_frame_equal(got.drop(columns=["seconds"], errors="ignore"),
                                      want.drop(columns=["seconds"], errors="ignore"), check_dtype=False)

    # a third execution finds every job logged: nothing trains, the same frames come back from the folder
    monkeypatch.setattr(ContrastiveClustering, "fit", lambda *a, **k: pytest.fail("retrained a finished job"))
    again = deepclue.run_grid(results.start_run("04_deepclue", "test", {}, run_dir=tmp_path / "killed"),
                              {"digits": digits}, [seed, seed + 1], **args)
    for got, want in zip(again, expected):
        pd.testing.assert_frame_equal(got.drop(columns=["seconds"], errors="ignore"),
                                      want.drop(columns=["seconds"], errors="ignore"), check_dtype=False)


@pytest.mark.usefixtures("isolated_project", "one_thread")
def test_baselines_resume_from_the_run_folder(tmp_path, seed, monkeypatch):
    digits = data.load("digits", subset=80)
    first = results.start_run("04_deepclue", "test", {}, run_dir=tmp_path / "run")
    frame = deepclue.run_baselines(first, {"digits": digits}, ["kmeans_pixels", "nmf_pixels"], [seed],
                                   progress=False)
    monkeypatch.setattr(deepclue, "baseline_labels", lambda *a, **k: pytest.fail("reran a logged baseline"))
    again = deepclue.run_baselines(results.start_run("04_deepclue", "test", {}, run_dir=tmp_path / "run"),
                                   {"digits": digits}, ["kmeans_pixels", "nmf_pixels"], [seed], progress=False)
    pd.testing.assert_frame_equal(again, frame, check_dtype=False)


def test_prepare_inputs_in_chunks_equals_one_pass_and_tiny_imagenet_keeps_its_size():
    digits = data.load("digits", subset=50)
    whole = deepclue.prepare_inputs(digits, 32, chunk=50)
    assert np.array_equal(deepclue.prepare_inputs(digits, 32, chunk=7), whole)
    assert np.array_equal(deepclue.prepare_inputs(digits, 32, rows=slice(10, 20)), whole[10:20])
    assert deepclue.decode_size("tiny_imagenet") == 64  # CC upsamples to 224 itself, as for CIFAR
    assert deepclue.decode_size("imagenet_dogs") == 224 and deepclue.decode_size("imagenet10", 96) == 96
    assert deepclue.decode_size("cifar10") is None


@pytest.mark.usefixtures("isolated_project", "one_thread")
def test_draw_figures_redraws_every_figure_from_the_run_folder(tmp_path, seed):
    digits = data.load("digits", subset=120)
    run = results.start_run("04_deepclue", "test", {"datasets": ["digits"]}, run_dir=tmp_path / "run")
    deepclue.run_grid(run, {"digits": digits}, [seed], estimator_params=TINY, progress=False, ensemble_sizes=[1, 2],
                      clusterings_per_layer=2, n_representatives=60, knn=5)
    run.finish()
    drawn = dict(deepclue.draw_figures(run.run_dir))
    assert list(drawn) == [f"{prefix}{suffix}" for prefix in deepclue.FIGURES[:3] for suffix in ("nmi", "ari", "acc")] \
        + ["deepclue_base_clusterings_digits", "deepclue_training_curves_digits"]
    assert drawn["deepclue_fig3_5_weighting_ari"].axes[0].get_title().startswith("Fig. 4: ARI")
    assert [t.get_text() for t in drawn["deepclue_fig3_5_weighting_nmi"].axes[0].get_xticklabels()] == ["digits"]
    only = [name for name, _ in deepclue.draw_figures(run.run_dir, only=["deepclue_fig6_8_ensemble_size_acc"])]
    assert only == ["deepclue_fig6_8_ensemble_size_acc"]
    with pytest.raises(InvalidParameter, match="Unknown DeepCluE figure"):
        list(deepclue.draw_figures(run.run_dir, only=["fig3"]))
    for fig in drawn.values():
        plt.close(fig)


def test_host_memory_counts_images_inputs_features_and_pixels_by_hand():
    params = {"datasets": ["digits"], "subsets": {"digits": 100}, "estimator_params": {"image_size": 32},
              "layers": ["conv4_x", "fc9"], "pca_dim": 1000, "baselines": ["kmeans_pixels"]}
    row = deepclue.host_memory(params).iloc[0]
    assert (row["n"], row["decoded_px"]) == (100, 8)  # digits keep their 8 x 8 grey pixels
    assert row["uint8_gb"] == pytest.approx(100 * 64 / 1e9)
    assert row["cc_input_gb"] == pytest.approx(100 * 3 * 64 * 5 / 1e9)  # float32 and a boolean mask
    # conv4_x at 32 px: 256 x 2 x 2 = 1024 > pca_dim (one PCA copy), fc9 512, fc8 128 (k-means on g_I)
    assert row["features_gb"] == pytest.approx(100 * (1024 + 512 + 128 + 1024) * 4 / 1e9)
    assert row["pixels_gb"] == pytest.approx(100 * 64 * 12 / 1e9)
    assert row["peak_gb"] == pytest.approx(row["uint8_gb"] + row["features_gb"])
    assert deepclue.host_memory({**params, "baselines": []}).loc[0, "pixels_gb"] == 0


def test_full_profile_host_memory_is_what_load_inputs_states():
    p = {**_defaults(), **profiles.resolve_params("04_deepclue", "full")}
    frame = deepclue.host_memory(p).set_index("dataset").round(1)
    assert frame["uint8_gb"].sum() == pytest.approx(6.6, abs=0.05)
    assert frame.loc["tiny_imagenet", "decoded_px"] == 64 and frame.loc["tiny_imagenet", "cc_input_gb"] == 6.1
    assert frame["peak_gb"].to_dict() == {"fashion_mnist": 42.1, "cifar10": 37.0, "cifar100_20": 37.0,
                                          "imagenet10": 30.0, "imagenet_dogs": 41.8, "tiny_imagenet": 57.4}
    for number in ("6.6 GB", "50.8 GB", "35.6 GB", "57 GB on Tiny-ImageNet"):
        assert number in deepclue.load_inputs.__doc__


def test_pixel_baselines_see_pixels_in_zero_one(monkeypatch):
    """K-means/SC/AC/NMF and JULE take the flattened pixels / 255 once (a white pixel is 1.0, not 1/255)."""
    from clustlib.deep import JULE
    from clustlib.studies import dac_study

    digits = data.load("digits", subset=60)
    seen = {}

    def capture(X, *args, **kwargs):
        seen["pixels"] = X
        return np.zeros(len(X), dtype=np.int64)

    monkeypatch.setattr(dac_study, "cluster_label_features", capture)
    deepclue.baseline_labels(digits, "kmeans_pixels", 0)
    assert seen["pixels"].max() == pytest.approx(digits.images.max() / 255.0)

    def fit(self, X):
        seen["jule"] = X
        self.labels_ = np.zeros(len(X), dtype=np.int64)
        return self

    monkeypatch.setattr(JULE, "fit", fit)
    deepclue.baseline_labels(digits, "jule_pixels", 0, baseline_params={"jule_pixels": {}})
    assert seen["jule"].max() == pytest.approx(digits.images.max() / 255.0)
