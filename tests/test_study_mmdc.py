"""Study 5 helpers (clustlib.studies.mmdc_study): parameter checks before compute, README settings and the
ablation grid, inputs, the refinement comparison and the join with the paper."""

from __future__ import annotations

import ast
import dataclasses

import numpy as np
import pandas as pd
import pytest

from clustlib import data, paper, profiles, results
from clustlib.deep import MMDC, MMDC_SETTINGS
from clustlib.deep.mmdc import MMDC_README_SETTINGS
from clustlib.errors import InvalidParameter
from clustlib.metrics import acc
from clustlib.studies import mmdc_study as mmdc


@pytest.mark.parametrize("kwargs,match", [
    (dict(datasets=["mnits"]), "Unknown datasets"),
    (dict(datasets=[]), "at least one"),
    (dict(sobel=[]), "sobel must list"),
    (dict(rotation=["yes"]), "rotation must list"),
    (dict(seeds=[]), "at least one seed"),
    (dict(seeds=[-1]), "seeds must be integers"),
    (dict(subsets={"mnist": 100}), "not in datasets"),
    (dict(ablation_datasets=["cifar10"]), "ablation_datasets"),
    (dict(estimator_params={"lrr": 0.1}), "unknown or reserved"),
    (dict(estimator_params={"sobel": True}), "unknown or reserved"),
    (dict(refinement="yes"), "refinement must be"),
    (dict(refinement_epochs=0), "refinement_epochs"),
    (dict(preset="paper"), "preset must be"),
    # MMDC's own checks, reached through the resolved settings before any data is loaded
    (dict(estimator_params={"batch_size": 1}), "batch_size"),
    (dict(estimator_params={"network": "resnet18", "color_jitter": True, "input_size": 24}), "input_size"),
    (dict(subsets={"digits": 5}), "n_clusters"),  # 10 clusters > 5 images
    (dict(refinement_epochs=2.5), "refinement_epochs"),
])
def test_validate_refuses_bad_parameters_before_loading(kwargs, match, monkeypatch):
    monkeypatch.setattr(data, "load", lambda *a, **k: pytest.fail("loaded data before validating"))
    args = dict(datasets=["digits"], sobel=[False, True], rotation=[False], seeds=[0])
    args.update({k: kwargs.pop(k) for k in list(kwargs) if k in args})
    with pytest.raises(InvalidParameter, match=match):
        mmdc.validate(args["datasets"], args["sobel"], args["rotation"], args["seeds"], **kwargs)


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_validate_accepts_every_profile(profile):
    defaults = {k: ast.literal_eval(v["default"]) for k, v in profiles.notebook_parameters("05_mmdc").items()}
    p = {**defaults, **profiles.resolve_params("05_mmdc", profile)}
    mmdc.validate_params(p)  # Table 4.4's baselines and probe and Figure 4.1's grid included
    assert p["preset"] == "thesis"
    if profile in ("ci", "smoke", "full"):  # every profile but the notebook's own runs Table 4.4 and Figure 4.1
        assert p["feature_datasets"] and p["baselines"] == ["NAT", "RotNet", "NAT+Rot"] and p["grid_datasets"]


def test_settings_follow_the_thesis_and_the_readme():
    assert mmdc.estimator_kwargs("mnist") == {**MMDC_SETTINGS["mnist"], "sobel": False}
    kw = mmdc.estimator_kwargs("cifar10", sobel=True)  # rotation None keeps the thesis's RotNet task
    assert kw == {**MMDC_SETTINGS["cifar10"], "sobel": True} and kw["rotation"] and kw["lr"] == 0.05
    assert (kw["epochs"], kw["lr_milestones"], kw["lr_gamma"], kw["refine_epoch"]) == (400, (350,), 0.2, None)
    readme = mmdc.estimator_kwargs("cifar10", preset="readme")
    assert readme == {**MMDC_README_SETTINGS["cifar10"], "sobel": False}
    assert (readme["lr_milestones"], readme["refine_epoch"]) == ((300,), 350)
    assert mmdc.estimator_kwargs("mnist", preset="readme") == mmdc.estimator_kwargs("mnist")  # one MNIST schedule
    with pytest.raises(InvalidParameter, match="preset"):
        mmdc.estimator_kwargs("mnist", preset="code")
    assert mmdc.estimator_kwargs("cifar10", rotation=False)["lr"] == mmdc.NO_ROTATION_LR  # thesis: lr 0.01 then
    assert mmdc.estimator_kwargs("cifar10", rotation=False, overrides={"lr": 0.02})["lr"] == 0.02
    kw = mmdc.estimator_kwargs("digits", overrides={"epochs": 3, "lr_milestones": [2]})  # YAML lists -> tuples
    assert kw["network"] == "vgg" and kw["epochs"] == 3 and kw["lr_milestones"] == (2,)
    # digits fed at 32, not MNIST's 28: the crops are MMDC's scaling of the 24/20/16-of-28 fractions
    assert "crop_sizes" not in kw
    assert MMDC(10, **kw).check_params(np.zeros((20, 1, 32, 32)))["crop_sizes"] == (27, 23, 18)
    with pytest.raises(InvalidParameter, match="No MMDC setting"):
        mmdc.estimator_kwargs("coil100")


def test_ablation_grid_and_setting_names_match_table_4_3():
    grid = mmdc.ablation_settings("cifar10", [False, True], [True, False])
    assert [mmdc.setting_name(s, r) for s, r in grid] == ["sobel=0,rotation=1", "sobel=0,rotation=0",
                                                          "sobel=1,rotation=1", "sobel=1,rotation=0"]
    published = paper.load("mmdc2021", "4.3")
    assert {mmdc.setting_name(s, r) for s, r in grid} == set(published["setting"])
    assert mmdc.ablation_settings("mnist", [False, True], [True, False]) == [(False, False), (True, False)]  # no head
    assert mmdc.ablation_settings("stl10", [False, True], [True, False], ablation_datasets=["cifar10"]) == [
        (False, True)]  # outside the ablation datasets: the main setting only


def test_prepare_inputs_scales_resizes_and_picks_channels():
    digits = data.load("digits", subset=50)
    X = mmdc.prepare_inputs(digits, "vgg", 32)
    assert X.shape == (50, 1, 32, 32) and X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    assert np.array_equal(X, data.resize_images(digits.images, 32).transpose(0, 3, 1, 2) / np.float32(255))
    rgb = mmdc.prepare_inputs(digits, "resnet18", 32)  # grey repeated for the ResNet18's colour jitter
    assert rgb.shape == (50, 3, 32, 32) and np.array_equal(rgb[:, 2], X[:, 0])
    red = np.zeros(digits.images.shape[:3] + (3,), dtype=np.uint8)
    red[..., 0] = digits.images[..., 0]
    colour = dataclasses.replace(digits, images=red)
    grey = mmdc.prepare_inputs(colour, "vgg", 8)  # luma of (r, 0, 0) is 0.299 r
    assert grey.shape == (50, 1, 8, 8) and np.allclose(grey[:, 0], 0.299 * digits.images[..., 0] / 255, atol=1e-6)
    with pytest.raises(InvalidParameter, match="Unknown network"):
        mmdc.prepare_inputs(digits, "vgg16", 32)


def test_refinement_kwargs_append_the_stage_after_the_schedule():
    assert mmdc.refinement_kwargs({"epochs": 50, "refine_epoch": 20}) is None  # MNIST refines itself
    assert mmdc.refinement_kwargs({"epochs": 400, "refine_epoch": 400}) == {"epochs": 450, "refine_epoch": 400}
    assert mmdc.refinement_kwargs({"epochs": 4, "refine_epoch": 4}, 2) == {"epochs": 6, "refine_epoch": 4}
    assert mmdc.REFINEMENT_EPOCHS == 50  # the README's epochs 350-400


@pytest.mark.usefixtures("isolated_project", "one_thread")
def test_run_grid_takes_table_4_5_from_the_refined_network_itself():
    digits = data.load("digits", subset=120)
    run = results.start_run("05_mmdc", "test", {})
    schedule = {"epochs": 2, "refine_epoch": 1, "lr_milestones": [2], "batch_size": 40}
    runs = mmdc.run_grid(run, {"digits": digits}, [False, True], [False], [0], refinement=True, progress=False,
                         estimator_params=schedule)
    assert runs.scores["setting"].tolist() == ["sobel=0,rotation=0", "sobel=1,rotation=0"]
    assert runs.scores["refined"].tolist() == [True, True]
    assert runs.history.groupby("setting")["refined"].sum().tolist() == [1, 1]  # epoch 2 of 2 refines
    logged = run.records.pivot_table(index="setting", columns="metric", values="value")
    assert set(logged.index) == {"sobel=0,rotation=0", "sobel=1,rotation=0", "before_refinement", "after_refinement"}
    assert logged.loc["after_refinement"].equals(logged.loc["sobel=0,rotation=0"])  # the same network
    assert set(runs.refinement["source"]) == {"main run"}
    before = runs.refinement.set_index("stage").loc["before_refinement"]
    main = runs.scores.iloc[0]
    assert before["acc"] == pytest.approx(logged.loc["before_refinement", "acc"]) == pytest.approx(main["acc_before"])
    # "before" is that network after refine_epoch = 1 epoch: a run stopped there gives the same labels
    kwargs = mmdc.estimator_kwargs("digits", overrides={**schedule, "epochs": 1})
    alone = MMDC(10, **kwargs, random_state=0, progress=False).fit(mmdc.prepare_inputs(digits, "vgg", 32))
    assert before["acc"] == pytest.approx(acc(digits.labels, alone.labels_))
    assert alone.history_.refined == [False]
    run.finish()


@pytest.mark.usefixtures("isolated_project", "one_thread")
def test_run_grid_appends_refinement_where_the_main_setting_has_none():
    digits = data.load("digits", subset=120)
    run = results.start_run("05_mmdc", "test", {})
    schedule = {"epochs": 2, "refine_epoch": None, "lr_milestones": [2], "batch_size": 40}  # no refinement
    runs = mmdc.run_grid(run, {"digits": digits}, [False], [False], [0], refinement=True, refinement_epochs=1,
                         progress=False, estimator_params=schedule)
    assert runs.scores["refined"].tolist() == [False] and runs.scores["acc_before"].isna().all()
    assert runs.history["refined"].sum() == 0 and len(runs.history) == 2  # the main network: 2 epochs, unrefined
    logged = run.records.pivot_table(index="setting", columns="metric", values="value")
    # Table 4.5's "before" is the main network bit for bit: the appended run's first 2 epochs are its epochs
    assert logged.loc["before_refinement"].equals(logged.loc["sobel=0,rotation=0"])
    assert set(runs.refinement["source"]) == {"refinement appended"}
    kwargs = mmdc.estimator_kwargs("digits", overrides={**schedule, "epochs": 3, "refine_epoch": 2})
    refined = MMDC(10, **kwargs, random_state=0, progress=False).fit(mmdc.prepare_inputs(digits, "vgg", 32))
    assert logged.loc["after_refinement", "acc"] == pytest.approx(acc(digits.labels, refined.labels_))
    run.finish()


def test_compare_with_paper_joins_tables_4_2_4_3_4_5():
    scores = pd.DataFrame({"dataset": "digits", "setting": ["sobel=0,rotation=0", "sobel=0,rotation=0",
                                                            "sobel=1,rotation=0"], "seed": [0, 1, 0],
                           "nmi": [0.8, 0.9, 0.7], "ari": 0.7, "acc": [0.90, 0.94, 0.8]})
    side = mmdc.compare_with_paper(scores, "4.2", stand_ins={"digits": "mnist"}).set_index("metric")
    assert set(side["ours_dataset"]) == {"digits"} and set(side["setting"]) == {"avg"}  # main setting only
    assert side.loc["acc", "ours_mean"] == pytest.approx(0.92) and side.loc["acc", "paper"] == pytest.approx(0.990)
    assert mmdc.compare_with_paper(scores, "4.3", stand_ins={"digits": "mnist"}).empty  # 4.3 is CIFAR-10 only
    cifar = scores.assign(dataset="cifar10")
    side = mmdc.compare_with_paper(cifar, "4.3").set_index(["setting", "metric"])
    assert side.loc[("sobel=1,rotation=0", "acc"), "paper"] == pytest.approx(0.560)
    assert side.loc[("sobel=1,rotation=0", "nmi"), "delta"] == pytest.approx(0.7 - 0.463)
    refinement = pd.DataFrame({"dataset": "digits", "stage": ["before_refinement", "after_refinement"], "seed": 0,
                               "setting": "sobel=0,rotation=0", "nmi": 0.9, "ari": 0.9, "acc": [0.95, 0.97]})
    side = mmdc.compare_with_paper(refinement, "4.5", stand_ins={"digits": "mnist"}).set_index(["setting", "metric"])
    assert side.loc[("before_refinement", "acc"), "paper"] == pytest.approx(0.981)
    assert side.loc[("after_refinement", "acc"), "delta"] == pytest.approx(0.97 - 0.990)
    with pytest.raises(InvalidParameter, match="table"):
        mmdc.compare_with_paper(scores, "4.6")


def test_joins_take_each_network_in_the_state_the_table_reports():
    # two seeds of a refined main setting: final scores (after refinement) and the state when it started
    refined = pd.DataFrame({"setting": "sobel=0,rotation=1", "seed": [0, 1], "refined": True,
                            "nmi": [0.8, 0.9], "ari": 0.7, "acc": [0.90, 0.94],
                            "nmi_before": [0.6, 0.7], "ari_before": 0.5, "acc_before": [0.70, 0.80]})
    # Table 4.2: MNIST's cells are after refinement, the others before (= Table 4.5's "before" column)
    side = mmdc.compare_with_paper(refined.assign(dataset="mnist"), "4.2").set_index("metric")
    assert side.loc["acc", "ours_mean"] == pytest.approx(0.92) and side.loc["acc", "paper"] == pytest.approx(0.990)
    side = mmdc.compare_with_paper(refined.assign(dataset="cifar10"), "4.2").set_index("metric")
    assert side.loc["acc", "ours_mean"] == pytest.approx(0.75) and side.loc["acc", "paper"] == pytest.approx(0.820)
    # Table 4.3 (CIFAR-10, no refinement): the state before refinement; an unrefined network as it is
    side = mmdc.compare_with_paper(refined.assign(dataset="cifar10"), "4.3").set_index(["setting", "metric"])
    assert side.loc[("sobel=0,rotation=1", "acc"), "ours_mean"] == pytest.approx(0.75)
    plain = refined.assign(dataset="cifar10", refined=False, acc_before=np.nan)
    side = mmdc.compare_with_paper(plain, "4.3").set_index(["setting", "metric"])
    assert side.loc[("sobel=0,rotation=1", "acc"), "ours_mean"] == pytest.approx(0.92)
    # the thesis prints ± the standard error over its runs: ours beside it is std / sqrt(n)
    row = side.loc[("sobel=0,rotation=1", "acc")]
    assert row["ours_se"] == pytest.approx(np.std([0.90, 0.94], ddof=1) / np.sqrt(2)) and row["n"] == 2
    table = mmdc.comparison_table(side.reset_index())
    assert {"ours mean ± SD (n seeds)", "ours mean ± SE (n seeds)", "paper (± SE)"} <= set(table.columns)
    assert table["ours mean ± SE (n seeds)"].str.startswith("0.920 ± 0.020").any()


@pytest.mark.parametrize("kwargs,match", [
    (dict(feature_datasets=["cifar10"]), "feature_datasets"),
    (dict(feature_datasets=["digits"], baselines=["SimCLR"], feature_seeds=[0]), "baselines"),
    (dict(feature_datasets=["digits"], baselines=["NAT"], feature_seeds=[7]), "feature_seeds"),
    (dict(feature_datasets=["digits"], baselines=["NAT"], feature_seeds=[0], probe_params={"epoch": 3}), "Unknown"),
    (dict(feature_datasets=["digits"], baselines=["NAT"], feature_seeds=[0], baseline_params={"target_dim": 3}),
     "may not set"),
    (dict(feature_datasets=["digits"], baselines=["NAT"], feature_seeds=[0], baseline_params={"batch_size": 1}),
     "batch_size"),
    (dict(grid_datasets=["mnist"]), "grid_datasets"),
    (dict(grid_datasets=["digits"], target_dims=[0], target_sigmas=[0.0], grid_seeds=[0]), "target_dims"),
    (dict(grid_datasets=["digits"], target_dims=[10], target_sigmas=[-1.0], grid_seeds=[0]), "target_sigmas"),
    (dict(grid_datasets=["digits"], target_dims=[10], target_sigmas=[0.0], grid_seeds=[]), "at least one seed"),
    (dict(grid_datasets=["digits"], target_dims=[10], target_sigmas=[0.0], grid_seeds=[0],
          grid_params={"target_sigma": 1.0}), "unknown or reserved"),
])
def test_validate_refuses_bad_table_4_4_and_figure_4_1_parameters(kwargs, match, monkeypatch):
    monkeypatch.setattr(data, "load", lambda *a, **k: pytest.fail("loaded data before validating"))
    with pytest.raises(InvalidParameter, match=match):
        mmdc.validate(["digits"], [False], [False], [0], **kwargs)


def test_baseline_kwargs_take_the_main_setting_network_and_schedule():
    nat = mmdc.baseline_kwargs("cifar10", "NAT")
    rot = mmdc.baseline_kwargs("cifar10", "NAT+Rot")
    assert nat["network"] == rot["network"] == "resnet18" and nat["epochs"] == 400 and nat["crop_sizes"] == (20,)
    assert nat["lr"] == mmdc.NO_ROTATION_LR and rot["lr"] == 0.05  # NAT has no rotation task: MMDC's 0.01
    assert not {"rotation", "refine_epoch", "target_dim"} & set(nat)
    small = mmdc.baseline_kwargs("digits", "RotNet", estimator_params={"epochs": 10},
                                 baseline_params={"epochs": 3, "lr_milestones": [3]})
    assert small["network"] == "vgg" and small["epochs"] == 3 and small["lr_milestones"] == (3,)


def test_probe_split_is_official_where_the_whole_set_is_loaded(monkeypatch):
    digits = data.load("digits", subset=120)
    train, test, how = mmdc.probe_split(digits, "digits", 0)
    assert len(test) == 20 and len(train) == 100 and not set(train) & set(test) and "stratified" in how
    assert np.bincount(digits.labels[test], minlength=10).min() >= 1
    # a dataset with an official split (train rows first, as data.load concatenates them), loaded whole
    monkeypatch.setattr(data, "dataset_info", lambda name: {"splits": {"train": 90, "test": 30, "all": 120}})
    train, test, how = mmdc.probe_split(digits, "cifar10", 0)
    assert list(train) == list(range(90)) and list(test) == list(range(90, 120)) and how.startswith("official")
    monkeypatch.setattr(data, "dataset_info", lambda name: {"splits": {"train": 900, "test": 300, "all": 1200}})
    assert mmdc.probe_split(digits, "cifar10", 0)[2].startswith("stratified")  # a subset: no official split


def test_compare_with_paper_joins_table_4_4():
    features = pd.DataFrame({"dataset": "cifar10", "method": ["MMDC", "MMDC", "NAT+Rot"], "seed": [0, 1, 0],
                             "nmi": [0.40, 0.44, 0.3], "ari": 0.2, "acc": [0.38, 0.42, 0.5],
                             "linear_acc": [0.86, 0.88, 0.7]})
    side = mmdc.compare_with_paper(features, "4.4").set_index(["method", "setting", "metric"])
    assert side.loc[("Ours", "kmeans", "nmi"), "ours_mean"] == pytest.approx(0.42)
    assert side.loc[("Ours", "kmeans", "nmi"), "paper"] == pytest.approx(0.428)
    assert side.loc[("Ours", "linear", "linear_acc"), "delta"] == pytest.approx(0.87 - 0.869)
    assert side.loc[("NAT+Rot", "kmeans", "acc"), "paper"] == pytest.approx(0.511)
    assert ("Ours", "kmeans", "ari") not in side.index  # the thesis prints no ARI
    assert mmdc.compare_with_paper(features.assign(dataset="digits"), "4.4", stand_ins={"digits": "mnist"}).empty


@pytest.fixture
def tiny_run(tmp_path, monkeypatch):
    """A finished study 05 run on 60 digits: main grid, Table 4.4 and Figure 4.1, one epoch each."""
    for var, sub in (("CLUSTLIB_RUNS", "runs"), ("CLUSTLIB_RESULTS", "results"), ("CLUSTLIB_FIGURES", "figures")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    digits = data.load("digits", subset=60)
    params = {"stand_ins": {"digits": "mnist"}, "datasets": ["digits"]}
    one = {"epochs": 1, "lr_milestones": [1], "batch_size": 30}

    def execute(run_dir=None):
        run = results.start_run("05_mmdc", "test", params, run_dir=run_dir)
        runs = mmdc.run_grid(run, {"digits": digits}, [False], [False], [0], estimator_params={**one, "refine_epoch": 0},
                             feature_datasets=["digits"], feature_seeds=[0], probe_params={"epochs": 1},
                             progress=False)
        baselines = mmdc.run_feature_baselines(run, {"digits": digits}, ["digits"], ["NAT", "RotNet"], [0],
                                               estimator_params=one, probe_params={"epochs": 1, "augmented": False},
                                               progress=False)
        features = mmdc.save_features(run, baselines, runs.features)
        grid = mmdc.run_target_grid(run, {"digits": digits}, ["digits"], [10], [0.0, 0.01], [0],
                                    estimator_params=one, progress=False)
        return run, runs, features, grid

    return execute


@pytest.mark.usefixtures("one_thread")
def test_study_loops_resume_without_recomputing_and_figures_redraw(tiny_run, monkeypatch):
    from clustlib.deep.mmdc import selfsup_baselines

    run, runs, features, grid = tiny_run()
    assert set(features["method"]) == {"MMDC", "NAT", "RotNet"} and features["linear_acc"].between(0, 1).all()
    assert len(grid) == 3 and set(grid["means"]) == {"random", "one_hot"}  # 1 x 2 cells and the reference
    assert len(runs.refinement) == 2  # refined from epoch 0: the main network gives both stages
    logged = run.records
    assert set(logged.loc[logged["method"] == "NAT", "setting"]) == {"kmeans", "linear"}
    # a rerun in the same folder (an interrupted `clustlib run` resumed) trains nothing and reads back the same
    monkeypatch.setattr(MMDC, "fit", lambda *a, **k: pytest.fail("refitted a logged MMDC job"))
    monkeypatch.setattr(selfsup_baselines.NAT, "fit", lambda *a, **k: pytest.fail("refitted a logged NAT job"))
    monkeypatch.setattr(selfsup_baselines.RotNet, "fit", lambda *a, **k: pytest.fail("refitted a logged job"))
    again, runs2, features2, grid2 = tiny_run(run.run_dir)
    pd.testing.assert_frame_equal(runs2.scores, runs.scores, check_dtype=False)
    pd.testing.assert_frame_equal(runs2.history, runs.history, check_dtype=False)
    pd.testing.assert_frame_equal(features2, features, check_dtype=False)
    pd.testing.assert_frame_equal(grid2, grid, check_dtype=False)
    assert len(again.records) == len(logged)  # nothing logged twice
    run_dir = again.finish()
    from matplotlib import pyplot as plt

    def names(**kwargs):
        out = []
        for name, fig in mmdc.draw_figures(run_dir, **kwargs):
            out.append(name)
            plt.close(fig)
        return out

    assert names() == ["mmdc_table4_3_ablation", "mmdc_training_curves_digits", "mmdc_table4_5_refinement",
                       "mmdc_table4_4_features", "mmdc_figure4_1_target_grid", "mmdc_figure4_2_cluster_samples_digits"]
    samples = results.load_arrays(run_dir, "figure4_2_samples_digits")
    n_clusters = samples["majority"].size
    assert samples["images"].shape[:2] == (n_clusters, 8) and samples["images"].dtype == np.uint8
    shown = samples["true"] >= 0
    assert (shown.sum(axis=1) == np.minimum(samples["size"], 8)).all()  # a full row where the cluster has 8
    failures = shown & (samples["true"] != samples["majority"][:, None])
    assert (failures.sum(axis=1) <= 2).all() and list(samples["majority"]) == sorted(samples["majority"])
    assert names(only=["mmdc_table4_4_features"]) == ["mmdc_table4_4_features"]
    assert not (run_dir / "checkpoints").exists()  # finish() removes them once every job is done


def test_a_table_4_4_dataset_too_small_for_the_probe_split_is_refused_before_training(monkeypatch, tmp_path):
    monkeypatch.setattr(MMDC, "fit", lambda *a, **k: pytest.fail("trained before the check"))
    tiny = data.load("digits", subset=30)  # 3 images per class: no stratified 1/6 test split of 10 classes
    with pytest.raises(InvalidParameter, match=r"Raise subsets\['digits'\]"):
        mmdc.run_grid(results.start_run("05_mmdc", "test", {}, run_dir=tmp_path), {"digits": tiny}, [False], [False], [0],
                      feature_datasets=["digits"], feature_seeds=[0], progress=False)
