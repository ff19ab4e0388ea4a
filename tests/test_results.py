import json

import numpy as np
import pandas as pd
import pytest

from clustlib import paper, results


def test_run_logs_records_with_provenance_and_appends_atomically(isolated_project):
    run = results.start_run("01_toy", "ci", {"n": 3, "names": ["a"]})
    run.log(dataset="digits", method="kmeans", setting={"layer": "L3", "clustering": "KM"}, seed=1,
            metrics={"nmi": 0.5, "acc": 0.6}, time_s=1.25)
    run.log(dataset="digits", method="kmeans", setting={"layer": "L3", "clustering": "KM"}, seed=2,
            metrics={"nmi": 0.7, "acc": 0.8}, time_s=1.0)
    run_dir = run.finish()
    env = json.loads((run_dir / "env.json").read_text())
    assert {"git", "versions", "threads", "device", "params_sha"} <= set(env)
    assert env["versions"]["numpy"] == np.__version__
    assert json.loads((run_dir / "params.json").read_text()) == {"n": 3, "names": ["a"]}
    assert json.loads((run_dir / "done.json").read_text())["n_records"] == 4
    table = results.load_results("01_toy", "ci")
    assert list(table.columns) == list(results.COLUMNS)
    assert len(table) == 4 and set(table["setting"]) == {"layer=L3,clustering=KM"}
    assert table["peak_mem_mb"].gt(0).all()
    agg = results.aggregate(table)
    nmi = agg[agg.metric == "nmi"].iloc[0]
    assert nmi["mean"] == pytest.approx(0.6) and nmi["std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert nmi["best"] == pytest.approx(0.7) and nmi["n"] == 2
    best = results.best_runs(table, "nmi")
    assert best["seed"].tolist() == [2] and best["acc"].tolist() == [0.8]


def test_same_params_same_sha_and_partial_line_ignored(isolated_project):
    a = results.start_run("01_toy", "ci", {"x": 1, "y": 2})
    b = results.start_run("01_toy", "ci", {"y": 2, "x": 1})
    c = results.start_run("01_toy", "ci", {"x": 1, "y": 3})
    assert a.params_sha == b.params_sha != c.params_sha
    a.log(dataset="d", method="m", metrics={"nmi": 0.1})
    with open(a.records_path, "a") as handle:  # a run killed mid-write
        handle.write('{"study": "01_toy", "dat')
    assert len(results.read_records(a.run_dir)) == 1


def test_append_keeps_previous_rows(isolated_project):
    frame = pd.DataFrame([{"study": "s", "dataset": "d", "method": "m", "setting": "", "seed": 0,
                           "metric": "nmi", "value": 0.5}])
    results.append_results(frame, "s", "ci")
    path = results.append_results(frame.assign(seed=1), "s", "ci")
    assert len(pd.read_csv(path)) == 2
    assert not list(path.parent.glob(".*.tmp"))


def test_log_without_metrics_is_an_error(isolated_project):
    run = results.start_run("01_toy", "ci", {})
    with pytest.raises(results.InvalidParameter, match="at least one metric"):
        run.log(dataset="d", method="m", metrics={})


def test_paper_tables_and_compare():
    a3 = paper.load("guerin2021", "A.3", dataset="coil100", metric="nmi", method="VGG16")
    assert len(a3) == 6 and a3["value"].between(0, 1).all()
    ours = pd.DataFrame({"dataset": ["coil100"], "method": ["vgg"], "setting": ["layer=L3,clustering=KM"],
                         "metric": ["nmi"], "mean": [0.9], "std": [0.01], "n": [3]})
    side = paper.compare(ours, a3, method_map={"vgg": "VGG16"})
    row = side.iloc[0]
    assert row["paper"] == pytest.approx(0.945) and row["delta"] == pytest.approx(0.9 - 0.945)
    with pytest.raises(paper.UnknownName, match="guerin2021"):
        paper.load("nopaper")
    assert set(paper.list_tables()) >= {"guerin2021_table_A_3", "clustpy2023_table_II", "dac2017_table_2"}


def test_a_reopened_run_folder_keeps_its_finished_jobs_and_checkpoints(isolated_project):
    first = results.start_run("01_toy", "ci", {"x": 1})
    first.log(dataset="d", method="dec", setting={"k": 3}, seed=1, metrics={"nmi": 0.4, "acc": 0.5})
    assert first.logged(dataset="d", method="dec", setting={"k": 3}, seed=1) == {"nmi": 0.4, "acc": 0.5}
    assert first.logged(dataset="d", method="dec", setting={"k": 3}, seed=2) is None
    assert first.logged(dataset="d", method="dec", setting={"k": 4}, seed=1) is None
    ckpt = first.checkpoint_path(dataset="d", method="dec", setting={"k": 3}, seed=2)
    assert ckpt.parent == first.run_dir / "checkpoints" and ckpt.name.startswith("d-dec-") and ckpt.suffix == ".ckpt"
    assert ckpt != first.checkpoint_path(dataset="d", method="dec", setting={"k": 4}, seed=2)
    ckpt.write_bytes(b"state")

    again = results.start_run("01_toy", "ci", {"x": 1}, run_dir=first.run_dir)  # the rerun after a kill
    assert again.logged(dataset="d", method="dec", setting={"k": 3}, seed=1) == {"nmi": 0.4, "acc": 0.5}
    assert again.checkpoint_path(dataset="d", method="dec", setting={"k": 3}, seed=2).read_bytes() == b"state"
    again.log(dataset="d", method="dec", setting={"k": 3}, seed=2, metrics={"nmi": 0.6})
    again.finish()
    assert len(results.read_records(first.run_dir)) == 3 and len(again.records) == 3
    assert not (first.run_dir / "checkpoints").exists()  # nothing left to resume once done


def test_run_folder_artifacts_round_trip_and_name_what_is_missing(isolated_project):
    run = results.start_run("01_toy", "ci", {})
    frame = pd.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.25]})
    results.save_table(run.run_dir, "history_d", frame)
    pd.testing.assert_frame_equal(results.load_table(run.run_dir, "history_d"), frame)
    results.save_arrays(run.run_dir, "features_d", z=np.eye(3, dtype=np.float32), y=np.arange(3))
    arrays = results.load_arrays(run.run_dir, "features_d")
    assert arrays["z"].dtype == np.float32 and arrays["y"].tolist() == [0, 1, 2]
    assert results.read_params(run.run_dir) == {}
    with pytest.raises(results.InvalidParameter, match="no artifact 'history_e'"):
        results.load_table(run.run_dir, "history_e")
    with pytest.raises(results.InvalidParameter, match="plain file stem"):
        results.save_table(run.run_dir, "../escape", frame)
    with pytest.raises(results.InvalidParameter, match="No finished 'ci' run"):
        results.latest_run_dir("01_toy", "ci")
    run.finish()
    assert results.latest_run_dir("01_toy", "ci") == run.run_dir
