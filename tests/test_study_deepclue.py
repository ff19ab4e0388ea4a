"""Study 4 helpers (clustlib.studies.deepclue_study): parameter checks before compute, CC inputs, the four
clusterings of one trained network, and the join with the paper's Tables II-VII."""

from __future__ import annotations

import ast
import dataclasses

import numpy as np
import pandas as pd
import pytest

from clustlib import data, paper, profiles, results
from clustlib.cluster import multilayer_ensemble
from clustlib.deep import ContrastiveClustering
from clustlib.errors import InvalidParameter
from clustlib.metrics import acc, nmi
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
    runs = deepclue.run_grid(run, {"digits": digits}, [seed], estimator_params=TINY, progress=False, **ens)
    assert runs.scores["method"].tolist() == list(deepclue.METHODS)
    logged = run.records.pivot_table(index="method", columns="metric", values="value")
    assert set(logged.index) == set(deepclue.METHODS) and logged.notna().all().all()
    assert len(runs.base) == 6 * 2
    assert list(dict.fromkeys(runs.base["layer"])) == ["conv4_x", "conv5_x", "fc6", "fc7", "fc8", "fc9"]
    assert runs.history["epoch"].tolist() == [1]
    # refit by hand with the same seed: CC's labels, and the ensemble of the same six layers
    model = ContrastiveClustering(10, **TINY, random_state=seed, progress=False).fit(deepclue.prepare_inputs(digits))
    assert logged.loc["CC", "acc"] == pytest.approx(acc(digits.labels, model.labels_))
    feats = model.layer_features(deepclue.prepare_inputs(digits))
    alone = multilayer_ensemble(list(feats.values()), 10, **ens, random_state=seed)
    assert logged.loc["DeepCluE", "nmi"] == pytest.approx(nmi(digits.labels, alone.labels))
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
