"""clustlib plan: presence checks and estimates before a run; clustlib run refuses to start without its inputs."""

import pytest

from clustlib import cli, plan, profiles


@pytest.fixture
def empty_data_root(tmp_path, monkeypatch, isolated_project):
    monkeypatch.setenv("CLUSTLIB_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("CLUSTLIB_OFFLINE", "1")
    return tmp_path


def test_plan_all_full_names_what_is_missing_and_the_estimates(empty_data_root, capsys):
    assert cli.main(["plan", "all", "--profile", "full"]) == 2
    out = capsys.readouterr().out
    for study in profiles.list_studies():
        assert f"== {study} [full, cuda]" in out and "MISSING" in out
    assert "voc2007" in out and "vgg16.imagenet" in out  # a dataset and a weight file, each with how to get it
    assert "time: feature extraction" in out and "disk: feature cache" in out
    assert "host memory: decoded images (peak)" in out and "(assumed)" in out  # the GPU speed-up is an assumption


def test_run_full_stops_before_a_kernel_starts(empty_data_root, capsys):
    assert cli.main(["run", "01", "--profile", "full"]) == 2
    err = capsys.readouterr().err
    assert "cannot start" in err and "voc2007" in err and "clustlib plan" in err
    assert not (empty_data_root / "runs").exists()


def test_ci_profile_is_ready_and_estimated(isolated_project):
    p = plan.plan_study("06_clustpy_benchmark", "ci")
    assert not p.missing and {c[1] for c in p.checks} == {"digits"}
    (time_row,) = [e for e in p.estimates if e[0].startswith("time: experiment A/B")]
    params = profiles.resolve_params("06_clustpy_benchmark", "ci")
    epochs = params["pretrain_epochs"] + params["clustering_epochs"]
    jobs = len(params["seeds"]) * len(params["methods"])
    n = params["subsets"].get("digits") or 1797
    assert time_row[1] == pytest.approx(jobs * epochs * n * plan.UNIT_COSTS["ae_ms_per_image_epoch"][0] / 3.6e6)


def test_plan_counts_the_images_present(tmp_path, monkeypatch, isolated_project):
    """A tree under the data root is counted (not 'size unknown'), and experiment E's dense-spectral memory check
    uses the N of the files present, not the registered 70,000 of MNIST."""
    from official_trees import write_mnist_like, write_usps, write_voc2007

    from clustlib import data

    root = tmp_path / "data"
    write_voc2007(root, {"000001": ["cat"], "000002": ["dog"], "000003": ["dog", "cat"]})
    write_mnist_like(root / "MNIST" / "raw", 20, 10, compress=True)
    write_usps(root, "usps.bz2", 20)
    write_usps(root, "usps.t.bz2", 10)
    monkeypatch.setenv("CLUSTLIB_DATA", str(root))
    assert data.count_images("voc2007") == 2 and data.count_images("mnist") == 30
    assert data.count_images("kmnist") is None
    p = plan.plan_study("01_layer_architecture_grid", "full", ["datasets=[voc2007]", "subsets={}"])
    (row,) = [e for e in p.estimates if e[0] == "time: feature extraction"]
    assert row[3].startswith("2 images x 5 networks")
    assert not [e for e in p.estimates if e[0].startswith("(size unknown")]
    huge = plan.plan_study("06_clustpy_benchmark", "full")
    spectral = {c[1]: c[2] for c in huge.checks if c[0] == "memory"}
    assert spectral == {"spectral on usps": True, "spectral on mnist": True}
