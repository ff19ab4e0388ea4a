"""Study 6 helpers (clustlib.studies.clustpy_benchmark): parameter checks before compute, experiment inputs."""

from __future__ import annotations

import numpy as np
import pytest

from clustlib import data
from clustlib.deep import zscore_images
from clustlib.errors import InvalidParameter
from clustlib.studies import clustpy_benchmark as bench


@pytest.mark.parametrize("kwargs,match", [
    (dict(methods=["deck"]), "Unknown method"),
    (dict(experiments=["J"]), "Unknown experiment"),
    (dict(seeds=[]), "at least one seed"),
    (dict(initial_clusterings=["dbscan"]), "Unknown initial clustering"),
    (dict(conv_epochs=[5]), "conv_epochs"),
    (dict(amp="fp8"), "amp must be one of"),
    (dict(method_params={"acedek": {}}), "unknown method"),
    (dict(method_params={"dec": {"alpah": 1.0}}), "unknown argument"),
])
def test_validate_refuses_bad_parameters(kwargs, match):
    args = dict(methods=["dec"], experiments=["A"], seeds=[0])
    args.update({k: kwargs.pop(k) for k in list(kwargs) if k in args})
    with pytest.raises(InvalidParameter, match=match):
        bench.validate(args["methods"], args["experiments"], args["seeds"], **kwargs)


def test_validate_accepts_the_profiles_overrides():
    bench.validate(["acedec", "dec"], list(bench.EXPERIMENTS), [0, 1], initial_clusterings=list(bench.INIT_NAMES),
                   method_params={"acedec": {"init_iterations": 2000}}, amp="on")


def test_augmentation_params_put_a_black_pixel_where_the_zscore_puts_it():
    digits = data.load("digits")
    params = bench.augmentation_params(digits)
    assert params["augmentation"] == "affine" and params["image_shape"] == (8, 8, 1)
    X, _ = bench.prepare_inputs(digits, "ff_500_500_2000")
    black = np.flatnonzero(digits.images.reshape(len(digits), -1) == 0)[0]
    assert np.isclose(X.reshape(-1)[black], params["augmentation_fill"][0], atol=1e-5)
    assert np.allclose(X, zscore_images(digits.images, "global"))


def test_stratified_subsets_keep_every_class():
    digits = data.load("digits")
    cut = bench.stratified_subsets({"digits": digits}, 100, seed=0)["digits"]
    assert len(cut) == 100 and set(cut.labels) == set(range(10))
    assert bench.stratified_subsets({"digits": digits}, 0)["digits"] is digits


# --- experiment G: the official train/test split ---------------------------------------------------------------


def test_generalisation_uses_the_official_split_and_says_when_there_is_none(monkeypatch):
    """The benchmark trains on the PyTorch train split and predicts the test split (Sec. IV-G); only a dataset
    without one (digits) is split at random, and its parts say so."""
    from clustlib.data.imageset import ImageSet

    calls = []
    real_load = data.load

    def fake_load(name, *, split="all", subset=None, seed=0, root=None, **kw):
        if name != "mnist":
            return real_load(name, split=split, subset=subset, seed=seed, root=root, **kw)
        calls.append((split, subset))
        n = subset or 10
        return ImageSet(f"mnist-{split}", np.zeros((n, 2, 2, 1), np.uint8), np.arange(n) % 2, ("a", "b"), "fake",
                        split=split)

    monkeypatch.setattr(data, "load", fake_load)
    splits = bench.generalisation_splits(["mnist", "digits"], {"mnist": 700, "digits": 200})
    train, test, how = splits["mnist"]
    assert how == bench.OFFICIAL_SPLIT and calls == [("train", 600), ("test", 100)]  # 60,000 : 10,000
    assert train.split == "train" and test.split == "test"
    train, test, how = splits["digits"]
    assert how == bench.STRATIFIED_SPLIT and "no official" in how and (len(train), len(test)) == (140, 60)


def test_generalisation_inputs_are_zscored_with_the_train_statistics():
    from clustlib.data.imageset import ImageSet

    def part(values):
        pixels = np.asarray(values, np.uint8).reshape(-1, 1, 2, 1)
        return ImageSet("toy", pixels, np.zeros(len(pixels), int), ("a",), "test")

    X_train, X_test = bench.zscore_train_test(part([0, 255, 0, 255]), part([255, 255]))
    np.testing.assert_allclose(X_train, [[-1, 1], [-1, 1]], atol=1e-6)  # mean 0.5, std 0.5 of the train pixels
    np.testing.assert_allclose(X_test, [[1, 1]], atol=1e-6)  # the test part's own stats would give 0 / 0


def test_run_generalisation_records_which_split(isolated_project):
    from clustlib import results

    run = results.start_run("06_clustpy_benchmark", "test", {})
    splits = bench.generalisation_splits(["digits"], {"digits": 100})
    frame = bench.run_generalisation(run, splits, ["ae_kmeans"], [0], pretrain_epochs=1, clustering_epochs=0,
                                     batch_size=64, device="cpu", progress=False)
    assert set(frame["split"]) == {"train", "test"} and set(frame["partition"]) == {bench.STRATIFIED_SPLIT}
    assert set(run.records["note"]) == {bench.STRATIFIED_SPLIT}


# --- experiment E: scikit-learn's default spectral clustering ------------------------------------------------


@pytest.mark.filterwarnings("ignore:Graph is not fully connected")  # the 10-NN fallback graph of three blobs
def test_spectral_initial_clustering_is_sklearns_default(rng):
    from sklearn.cluster import SpectralClustering

    from clustlib.deep import initial_clustering

    Z = np.concatenate([rng.normal(c, 0.3, size=(30, 3)) for c in (0.0, 1.5, 3.0)])  # one connected RBF graph
    ours = initial_clustering(Z, 3, "spectral", n_init=10, seed=0)
    np.testing.assert_array_equal(ours.labels_, SpectralClustering(3, random_state=0).fit_predict(Z))  # RBF affinity
    knn = initial_clustering(Z, 3, "spectral_knn", n_init=10, seed=0)  # the named fallback, only when asked
    assert knn.labels_.shape == (90,) and ours.cluster_centers_.shape == (3, 3)


def test_spectral_that_cannot_fit_says_so_before_building_anything(monkeypatch):
    from clustlib.deep import _base, initial_clustering

    def refuse(*args, **kwargs):
        raise AssertionError("no affinity may be built")

    monkeypatch.setattr(_base, "SpectralClustering", refuse)
    with pytest.raises(InvalidParameter, match=r"about 0\.6 GB for N = 5,000 .*spectral_knn"):
        initial_clustering(np.zeros((5000, 2)), 2, "spectral", n_init=1, seed=0, max_memory_bytes=10**8)
    assert _base.spectral_memory_bytes(70_000) == 3 * 70_000**2 * 8  # MNIST: about 118 GB


def test_study_refuses_spectral_on_data_too_large_before_the_kernel_starts(monkeypatch, isolated_project):
    """The preflight (clustlib plan, run by clustlib run before any kernel) says the dense affinity does not fit
    and names the fallback; validation itself does not depend on the machine's memory."""
    from clustlib import plan
    from clustlib.deep import _base
    from clustlib.errors import DatasetUnavailable
    from clustlib.studies import validate_study_params

    monkeypatch.setattr(_base, "available_memory_bytes", lambda: 16 * 10**9)
    sets = ["experiment_datasets=[digits]", "experiments=[E]", "initial_clusterings=[kmeans, spectral]",
            "subsets={digits: 0}"]
    monkeypatch.setattr(_base, "spectral_memory_bytes", lambda n: 117_600_000_000 if n == 1797 else 0)
    with pytest.raises(DatasetUnavailable, match=r"about 117\.6 GB for N = 1,797 .*spectral_knn"):
        plan.require_inputs("06_clustpy_benchmark", "ci", sets)
    plan.require_inputs("06_clustpy_benchmark", "ci", [*sets[:2], "initial_clusterings=[kmeans, spectral_knn]"])
    validate_study_params("06_clustpy_benchmark", dict(experiment_datasets=["mnist"], experiments=["E"],
                                                       initial_clusterings=["kmeans", "spectral"]))


# --- precision: float32 unless a profile asks --------------------------------------------------------------


def test_float32_unless_asked_and_every_profile_says_so():
    from clustlib import profiles
    from clustlib.deep import DEC

    assert bench.amp_flag("off") is False and bench.amp_flag("on") is True
    with pytest.raises(InvalidParameter, match="'auto' is gone"):
        bench.amp_flag("auto")
    assert DEC(10)._amp() is False and DEC(10, amp=True)._amp() is True  # None no longer means bf16 on CUDA
    assert profiles.notebook_parameters("06_clustpy_benchmark")["amp"]["default"] in ("'off'", '"off"')
    for profile in ("ci", "smoke", "full", "paper_cpu"):
        assert profiles.resolve_params("06_clustpy_benchmark", profile)["amp"] == "off", profile


# --- comparison tables mark rows not run as the paper -----------------------------------------------------------


def test_comparison_rows_on_a_subset_or_fewer_epochs_are_marked():
    import pandas as pd

    from clustlib import findings

    side = pd.DataFrame({"ours_dataset": ["fashion_mnist", "digits", "mnist"],
                         "dataset": ["fashion_mnist", "optdigits", "mnist"], "method": ["DEC"] * 3,
                         "setting": [""] * 3, "metric": ["acc"] * 3, "ours_mean": [0.5] * 3, "ours_std": [0.0] * 3,
                         "n": [3] * 3, "paper": [0.6] * 3, "delta": [-0.1] * 3})
    smoke = findings.run_protocol("06_clustpy_benchmark", {"subsets": {"fashion_mnist": 2000}, "pretrain_epochs": 20,
                                                           "clustering_epochs": 15})
    marks = findings.comparison_table(side, scale="percent", protocol=smoke)["ours run on"].tolist()
    assert marks[0] == "subset: 2,000 of 70,000 images; epochs 20+15 (paper 100+150)"
    assert marks[1] == "stand-in data; epochs 20+15 (paper 100+150)"
    full = findings.run_protocol("06_clustpy_benchmark", {"subsets": {}, "pretrain_epochs": 100,
                                                          "clustering_epochs": 150})
    assert findings.comparison_table(side, protocol=full)["ours run on"].tolist() == ["—", "stand-in data", "—"]
    assert "ours run on" not in findings.comparison_table(side)  # callers that pass no protocol: as before
    jule = findings.run_protocol("03_mvnet_jule_tables", {"subsets": {"umist": 564}, "jule_params": {}})
    assert findings.comparison_table(side.assign(ours_dataset="umist", dataset="umist"),
                                     protocol=jule)["ours run on"].tolist() == ["—"] * 3  # 564 is the paper's count
