"""The fidelity ledger: verdicts from protocol and gap, the tolerance rule, FIDELITY.md in sync, the item list."""

import numpy as np
import pandas as pd
import pytest

from clustlib import cli, evidence, fidelity, profiles, results

STUDY = "06_clustpy_benchmark"


def _evidence_rows(method, values, *, n_images=70000, pretrain=100, clustering=150):
    """Evidence rows of one method on Fashion-MNIST: ``values`` maps seed -> (nmi, ari, acc)."""
    rows = []
    for seed, scores in values.items():
        for metric, value in zip(("nmi", "ari", "acc"), scores):
            rows.append({"study": STUDY, "profile": "paper_cpu", "dataset": "fashion_mnist", "method": method,
                         "setting": "experiment=A,ae=d-500-500-2000-10", "seed": seed, "metric": metric,
                         "value": value, "n_images": n_images, "n_clusters": 10, "pretrain_epochs": pretrain,
                         "clustering_epochs": clustering, "split": "all", "network": "d-500-500-2000-10",
                         "precision": "float32", "threads": 1, "time_s": 100.0, "peak_mem_mb": 900.0,
                         "cpu": "test CPU", "commit": "abc1234", "finished_utc": "x"})
    return rows


@pytest.fixture
def evidence_root(tmp_path):
    # paper (Table II, Fashion-MNIST): DEC NMI 59.1 ± 2.7, IDEC NMI 62.8 ± 2.1 and ACC 56.0 ± 5.3
    rows = (_evidence_rows("dec", {0: (0.590, 0.41, 0.53), 1: (0.596, 0.42, 0.55)})
            + _evidence_rows("idec", {0: (0.50, 0.30, 0.40)})
            + _evidence_rows("dcn", {0: (0.59, 0.43, 0.54)}, n_images=2000))
    path = evidence.evidence_path(STUDY, "paper_cpu", tmp_path)
    path.parent.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return tmp_path


def _row(frame, method, metric, paper="clustpy2023"):
    hit = frame[(frame.paper == paper) & (frame.method == method) & (frame.metric == metric)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_verdicts_follow_gap_tolerance_and_protocol(evidence_root):
    frame = fidelity.ledger([STUDY], "paper_cpu", root=evidence_root)
    dec = _row(frame, "DEC", "nmi")
    assert dec.verdict == "reproduced" and dec.n_seeds == 2
    assert dec.ours_mean == pytest.approx(0.593) and dec.best == pytest.approx(0.596)
    assert dec.gap_points == pytest.approx(0.2, abs=1e-9)
    assert dec.tolerance_points == pytest.approx(2.7)  # the paper's std (2.7) is larger than 2 points
    idec = _row(frame, "IDEC", "nmi")
    assert idec.verdict == "outside tolerance" and idec.gap_points == pytest.approx(-12.8)
    assert idec.investigation.startswith(fidelity.INVESTIGATIONS_FILE + "#clustpy2023-ii-fashion_mnist-idec-nmi")
    assert _row(frame, "IDEC", "acc").tolerance_points == pytest.approx(5.3)
    dcn = _row(frame, "DCN", "acc")
    assert dcn.verdict == "stand-in" and "2000 of 70000 images" in dcn.reason
    # planned jobs of the profile with nothing finished are listed as not run
    ae = _row(frame, "AE+KMeans", "nmi")
    assert ae.verdict == "not run" and np.isnan(ae.ours_mean)
    # the same DEC runs fill DeepCluE's DEC cell (Table II, NMI 60.1; no spread reported: 2 points)
    dc = _row(frame, "DEC", "nmi", paper="deepclue2022")
    assert dc.table == "II" and dc.tolerance_points == 2.0 and dc.gap_points == pytest.approx(-0.8)


def test_fewer_epochs_make_a_stand_in(evidence_root):
    path = evidence.evidence_path(STUDY, "paper_cpu", evidence_root)
    pd.DataFrame(_evidence_rows("dec", {0: (0.59, 0.41, 0.53)}, clustering=15)).to_csv(path, index=False)
    dec = _row(fidelity.ledger([STUDY], "paper_cpu", root=evidence_root), "DEC", "nmi")
    assert dec.verdict == "stand-in" and "100+15 epochs instead of 100+150" in dec.reason


def test_smoke_rows_are_all_stand_ins_with_their_reason(isolated_project):
    params = profiles.resolve_params(STUDY, "smoke")
    rows = []
    for dataset in ("digits", "fashion_mnist"):
        for method in ("dec", "ae_kmeans"):
            for metric in ("nmi", "ari", "acc"):
                rows.append({"study": STUDY, "dataset": dataset, "method": method, "seed": 0, "metric": metric,
                             "value": 0.5, "setting": "experiment=A,ae=d-500-500-2000-10", "run_id": "r1"})
    results.append_results(pd.DataFrame(rows), STUDY, "smoke")
    frame = fidelity.ledger([STUDY], "smoke")
    # ClustPy Table II for both datasets; DeepCluE Tables II-IV list AE and DEC for Fashion-MNIST
    assert len(frame) == 12 + 6 and set(frame.verdict) == {"stand-in"}
    digits = frame[(frame.ours_dataset == "digits") & (frame.method == "DEC")].iloc[0]
    assert (frame.ours_dataset == "digits").sum() == 6  # Optdigits is in ClustPy's table only
    assert digits.dataset == "optdigits" and "digits stands in for optdigits" in digits.reason
    fm = frame[(frame.ours_dataset == "fashion_mnist") & (frame.method == "DEC") & (frame.paper == "clustpy2023")].iloc[0]
    assert f"{params['subsets']['fashion_mnist']} of 70000 images" in fm.reason
    assert f"{params['pretrain_epochs']}+{params['clustering_epochs']} epochs" in fm.reason


def test_fidelity_md_is_in_sync_with_the_committed_evidence():
    text = fidelity.fidelity_path().read_text()
    assert text == fidelity.fidelity_markdown(), "FIDELITY.md is out of date: run `make fidelity`"


def test_every_outside_tolerance_row_has_its_investigation():
    frame = fidelity.ledger(profile="paper_cpu")
    written = (fidelity.fidelity_path().parent / fidelity.INVESTIGATIONS_FILE).read_text()
    headings = {fidelity.investigation_anchor(dict(zip(["paper", "table", "dataset", "method", "metric"],
                                                       line[4:].split()))) for line in written.splitlines()
                if line.startswith("### ")}
    for row in frame[frame.verdict == "outside tolerance"].itertuples():
        assert row.investigation.split("#", 1)[1] in headings, f"no investigation for {row.investigation}"


def test_item_list_covers_the_five_papers():
    frame = fidelity.items()
    assert set(frame.paper) == {"guerin2021", "deepclue2022", "mmdc2021", "dac2017", "clustpy2023"}
    assert len(frame) >= 50 and not frame.duplicated(["paper", "item"]).any()
    assert set(frame.status) <= {"produced", "partial", "missing"}
    studies = set(profiles.list_studies())
    assert set(frame.loc[frame.status != "missing", "study"]) <= studies


def test_cli_prints_the_ledger_and_the_items(capsys):
    assert cli.main(["fidelity", "--profile", "paper_cpu", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("paper,table,dataset,method")
    assert cli.main(["fidelity", "--items"]) == 0
    assert "| paper" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # argparse rejects an unknown format before anything is read
        cli.main(["fidelity", "--format", "html"])
