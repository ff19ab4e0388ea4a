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
