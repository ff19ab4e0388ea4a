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
    from clustlib.deep import initial_clustering
    from clustlib.deep.autoencoder import base as _base

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
    from clustlib.deep.autoencoder import base as _base
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
    for profile in ("full", "paper_cpu"):
        assert profiles.resolve_params("06_clustpy_benchmark", profile)["amp"] == "off", profile
    for profile in ("ci", "smoke"):  # bfloat16 only where the CPU has it natively
        assert profiles.resolve_params("06_clustpy_benchmark", profile)["amp"] == "cpu_bf16", profile


@pytest.mark.parametrize("flags,native", [("fpu avx512f avx512_bf16 sse", True), ("fpu amx_bf16 amx_tile", True),
                                          ("fpu avx512f avx2", False)])
def test_cpu_bf16_only_on_a_cpu_with_native_bfloat16(tmp_path, monkeypatch, flags, native):
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    assert bench.native_bf16_cpu(info) is native
    assert bench.native_bf16_cpu(tmp_path / "absent") is False  # macOS, Windows: float32
    monkeypatch.setattr(bench, "native_bf16_cpu", lambda: native)
    assert bench.amp_flag("cpu_bf16", "cpu") is native and bench.amp_flag("cpu_bf16", "cuda") is False
    assert bench.precision("cpu_bf16", "cpu") == ("bfloat16" if native else "float32")
    assert bench.precision("on", "cuda") == "bfloat16" and bench.precision("off") == "float32"


@pytest.mark.parametrize("override,match", [
    ({"datasets_per_experiment": {"A": ["digits"]}}, "only .* take their own datasets"),
    ({"datasets_per_experiment": {"C": ["digitz"]}}, r"Unknown datasets_per_experiment\[C\]"),
    ({"methods_per_experiment": {"H": ["dec"]}}, "only .* take their own methods"),
    ({"methods_per_experiment": {"C": ["deck"]}}, "Unknown method"),
    ({"compare_clustpy_methods": ["acedec"]}, "not in the side-by-side"),
    ({"factor_seeds": [-1]}, "seed"),
])
def test_validate_params_refuses_bad_per_experiment_settings(override, match):
    from clustlib import profiles

    params = {**profiles.resolve_params("06_clustpy_benchmark", "ci"), "method_params": {}, **override}
    with pytest.raises(InvalidParameter, match=match):
        bench.validate_params(params)


def test_full_profile_runs_each_experiment_on_the_papers_datasets_and_methods():
    from clustlib import profiles

    full = profiles.resolve_params("06_clustpy_benchmark", "full")
    eight = ["optdigits", "usps", "mnist", "fashion_mnist", "kmnist", "cifar10", "imagenet10", bench.CLUSTPY_DOG]
    assert full["datasets"] == eight  # Table II with its colour rows
    assert bench.experiment_datasets_for("C", full) == eight and bench.experiment_datasets_for("I", full) == eight
    for letter in "DF":
        assert bench.experiment_datasets_for(letter, full) == ["usps", "mnist", "imagenet10"]
    for letter in "EG":
        assert bench.experiment_datasets_for(letter, full) == ["usps", "mnist"]
    assert "dipencoder" in bench.experiment_methods_for("C", full) and "dipencoder" in full["methods"]
    assert all("dipencoder" not in bench.experiment_methods_for(e, full) for e in "DEFG")  # not in the figures


def test_clustpy_imagenet_dog_is_fifteen_stanford_dogs_breeds(tmp_path):
    """The benchmark's ImageNetDog (2,574 images) is Stanford Dogs with one breed other than DAC's list."""
    from PIL import Image

    from clustlib.data.catalog import IMAGENET_DOGS_WNIDS

    assert set(bench.CLUSTPY_DOG_WNIDS) ^ set(IMAGENET_DOGS_WNIDS) == {"n02097209", "n02097130"}
    assert data.dataset_info(bench.CLUSTPY_DOG)["paper_n_samples"] == 2574
    with pytest.raises(Exception, match="stanford_dogs"):
        data.load(bench.CLUSTPY_DOG, root=tmp_path)
    images = tmp_path / "stanford_dogs" / "Images"
    for i, wnid in enumerate(bench.CLUSTPY_DOG_WNIDS[::-1]):  # listed out of order, with an extra breed
        (images / f"{wnid}-breed{i}").mkdir(parents=True)
        Image.new("RGB", (6, 5), (i * 10, 0, 0)).save(images / f"{wnid}-breed{i}" / "a.jpg")
    (images / "n02085620-Chihuahua").mkdir()
    dogs = data.load(bench.CLUSTPY_DOG, root=tmp_path, image_size=8)
    assert len(dogs) == 15 and dogs.n_classes == 15
    assert [c.split("-")[0] for c in dogs.classes] == list(bench.CLUSTPY_DOG_WNIDS)


# --- the study loop: shared jobs, resume, checkpoints ----------------------------------------------------------


@pytest.fixture
def counted_fits(monkeypatch):
    """run_deep_clustering replaced by a fake that records its calls and returns fixed labels."""
    calls = []

    def fake(method, X, n_clusters, *, seed, **kwargs):
        calls.append((method, seed, kwargs))
        labels = (np.arange(len(X)) + seed) % n_clusters
        return {"labels": labels, "clustering_seconds": 1.5, "epoch_seconds": 0.1, "pretrain_seconds": 2.0,
                "pretrain_from_cache": False}

    monkeypatch.setattr(bench, "run_deep_clustering", fake)
    return calls


def test_an_experiment_reuses_the_identical_job_of_an_earlier_one(isolated_project, counted_fits):
    from clustlib import results

    digits = {"digits": data.load("digits", subset=100)}
    run = results.start_run("06_clustpy_benchmark", "test", {})
    shared = {}
    train = dict(pretrain_epochs=1, clustering_epochs=1, batch_size=64, device="cpu", amp=False, progress=False)
    bench.run_grid(run, "A", digits, ["dec"], [0, 1], shared=shared, **train)
    sizes = bench.run_grid(run, "D", digits, ["dec"], [0, 1], vary="embedding_size", values=[2, 10], shared=shared,
                           **train)
    rates = bench.run_grid(run, "F", digits, ["dec"], [0], vary="lr", values=[0.0001], shared=shared, **train)
    assert [(c[0], c[1], c[2].get("embedding_size")) for c in counted_fits] == [
        ("dec", 0, None), ("dec", 1, None), ("dec", 0, 2), ("dec", 1, 2)]  # m = 10 and lr 1e-4 are A's jobs
    notes = run.records.drop_duplicates(["setting", "seed"]).set_index(["setting", "seed"])["note"]
    assert notes[("experiment=D,ae=d-500-500-2000-10,embedding_size=10", 1)] == "same job as experiment A"
    assert notes[("experiment=F,ae=d-500-500-2000-10,lr=0.0001", 0)] == "same job as experiment A"
    assert notes[("experiment=D,ae=d-500-500-2000-10,embedding_size=2", 0)] == ""
    assert sizes.set_index(["embedding_size", "seed"]).loc[(10, 1), "acc"] == pytest.approx(
        run.logged(dataset="digits", method="dec", setting={"experiment": "A", "ae": "d-500-500-2000-10"},
                   seed=1)["acc"])
    assert list(rates["lr"]) == [0.0001] and "checkpoint_path" in counted_fits[0][2]


def test_a_rerun_in_the_same_folder_recomputes_no_finished_job(isolated_project, counted_fits):
    from clustlib import results

    digits = {"digits": data.load("digits", subset=100)}
    train = dict(pretrain_epochs=1, clustering_epochs=1, batch_size=64, device="cpu", amp=True, progress=False)
    first = results.start_run("06_clustpy_benchmark", "test", {})
    before = bench.run_grid(first, "A", digits, ["dec", "ae_kmeans"], [0], **train)
    assert len(counted_fits) == 2 and set(first.records["note"]) == {"bfloat16 autocast"}
    again = results.start_run("06_clustpy_benchmark", "test", {}, run_dir=first.run_dir)  # the interrupted rerun
    after = bench.run_grid(again, "A", digits, ["dec", "ae_kmeans", "idec"], [0], **train)
    assert [c[0] for c in counted_fits] == ["dec", "ae_kmeans", "idec"]  # only the new job ran
    assert len(again.records) == 9  # nothing logged twice
    cols = ["method", "nmi", "ari", "acc", "clustering_s", "precision"]
    assert after[cols].iloc[:2].reset_index(drop=True).equals(before[cols])
    ckpt = counted_fits[-1][2]["checkpoint_path"]
    assert ckpt.parent == first.run_dir / "checkpoints" and "idec" in ckpt.name


# --- figures from the run folder alone ---------------------------------------------------------------------------


def _fake_run_folder(root):
    from clustlib import results

    run = results.start_run("06_clustpy_benchmark", "test", {}, run_dir=root / "run")
    rng = np.random.default_rng(0)
    for dataset in ("usps", "mnist"):
        for seed in (0, 1):
            for method in ("ae_kmeans", "dec", "acedec"):
                def log(setting, note="bfloat16 autocast", d=dataset, m=method):
                    run.log(dataset=d, method=m, setting=setting, seed=seed, time_s=1.0 + seed, note=note,
                            metrics={k: float(rng.uniform(0.5, 0.9)) for k in ("nmi", "ari", "acc")})
                log({"experiment": "A", "ae": "d-500-500-2000-10"})
                log({"experiment": "H", "ae": "d-500-500-2000-10", "augmentation": "affine"})
                for m in (2, 5, 10, 25, 50, 100):
                    log({"experiment": "D", "ae": "d-500-500-2000-10", "embedding_size": m})
                for lr in (0.00001, 0.00005, 0.0001, 0.0005, 0.001):
                    log({"experiment": "F", "ae": "d-500-500-2000-10", "lr": lr})
                for init in ("kmeans", "em", "spectral", "subkmeans"):
                    log({"experiment": "E", "ae": "d-500-500-2000-10", "initial_clustering": init})
                for split in ("train", "test"):
                    log({"experiment": "G", "split": split})
    return run.run_dir


def test_draw_figures_one_panel_per_dataset_with_the_papers_names(tmp_path):
    from matplotlib import pyplot as plt
    from matplotlib.ticker import NullLocator

    drawn = dict(bench.draw_figures(_fake_run_folder(tmp_path)))
    assert list(drawn) == list(bench.FIGURES)
    for name in ("fig2_embedding_size", "fig3_initial_clustering", "fig4_learning_rate", "fig5_generalisation",
                 "table4_augmentation"):
        fig = drawn[name]
        assert [ax.get_title() for ax in fig.axes] == ["USPS", "MNIST"], name
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        assert not {"ae_kmeans", "dec", "acedec"} & set(legend), name
        assert "bfloat16" in fig.get_suptitle(), name
    legend = [t.get_text() for t in drawn["fig2_embedding_size"].legends[0].get_texts()]
    assert legend == ["AE+KMeans", "DEC", "ACe/DeC"]
    for ax in drawn["fig2_embedding_size"].axes:  # the log axis labels each m once, no minor tick labels
        assert ax.get_xscale() == "log" and isinstance(ax.xaxis.get_minor_locator(), NullLocator)
        drawn["fig2_embedding_size"].canvas.draw()
        assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "5", "10", "25", "50", "100"]
    assert "paper" in [t.get_text() for t in drawn["table4_augmentation"].legends[0].get_texts()]
    assert [ax.get_xticklabels()[0].get_text() for ax in drawn["fig3_initial_clustering"].axes] == ["AE+init"] * 2
    for fig in drawn.values():
        plt.close(fig)
    only = list(bench.draw_figures(tmp_path / "run", only=["fig4_learning_rate"]))
    assert [name for name, _ in only] == ["fig4_learning_rate"]
    plt.close(only[0][1])
    with pytest.raises(InvalidParameter, match="Unknown figure"):
        list(bench.draw_figures(tmp_path / "run", only=["fig9"]))


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
