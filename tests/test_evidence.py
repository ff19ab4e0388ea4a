"""Paper-scale evidence runs: job by job, resumable, each row with its protocol card."""

import pandas as pd
import pytest

from clustlib import evidence, profiles
from clustlib.errors import InvalidParameter

pytestmark = pytest.mark.usefixtures("isolated_project", "one_thread")

TINY = ["pretrain_epochs=1", "clustering_epochs=1", "seeds=[0]", "subsets={fashion_mnist: 300}",
        "methods=[ae_kmeans, dec]"]


def _params(*extra):
    return profiles.resolve_params("06_clustpy_benchmark", "paper_cpu", [*TINY, *extra])


def test_the_profile_plans_table_ii_at_paper_scale():
    params = profiles.resolve_params("06_clustpy_benchmark", "paper_cpu")
    jobs = evidence.plan_jobs("06_clustpy_benchmark", params)
    assert {j.method for j in jobs} == {"ae_kmeans", "dec", "idec", "dcn"} and len({j.seed for j in jobs}) >= 3
    assert params["subsets"] == {} and (params["pretrain_epochs"], params["clustering_epochs"]) == (100, 150)
    assert params["amp"] == "off" and params["batch_size"] == 256


def test_jobs_run_once_and_a_stopped_run_resumes_with_the_rest(tmp_path, monkeypatch):
    params = _params()
    first = evidence.run_evidence("06_clustpy_benchmark", params, root=tmp_path, limit=1, progress=False)
    assert set(first["method"]) == {"ae_kmeans"} and len(first) == 3  # nmi, ari, acc of one job
    card = first.iloc[0]
    assert card.n_images == 300 and card.pretrain_epochs == 1 and card.precision == "float32"
    assert card.cpu and card.commit and card.time_s >= 0 and card.peak_mem_mb > 0
    calls = []
    real = evidence._CAMPAIGNS["06_clustpy_benchmark"]
    monkeypatch.setitem(evidence._CAMPAIGNS, "06_clustpy_benchmark",
                        (real[0], lambda job, *a: calls.append(job.method) or real[1](job, *a)))
    second = evidence.run_evidence("06_clustpy_benchmark", params, root=tmp_path, progress=False)
    assert calls == ["dec"]  # the finished job is read back, not rerun
    assert len(second) == 6 and second.iloc[:3].equals(first)
    assert not list((tmp_path.parent / "cache" / "evidence").rglob("*.ckpt"))  # finished jobs leave no checkpoint


def test_paper_cpu_refuses_mixed_precision():
    with pytest.raises(InvalidParameter, match="amp: off"):
        evidence.plan_jobs("06_clustpy_benchmark", _params("amp='on'"))


def test_unknown_study_or_baseline_is_refused_before_compute():
    with pytest.raises(InvalidParameter, match="no paper-scale evidence runner"):
        evidence.plan_jobs("02_mvec_sweep", {})
    with pytest.raises(InvalidParameter, match="nosuch"):
        evidence.plan_jobs("04_deepclue", {"datasets": ["fashion_mnist"], "baselines": ["nosuch"], "seeds": [0]})


def test_deepclue_baselines_on_pixels(tmp_path):
    params = {"datasets": ["fashion_mnist"], "subsets": {"fashion_mnist": 200}, "seeds": [0, 1],
              "baselines": ["kmeans_pixels", "nmf_pixels"], "n_threads": 1}
    frame = evidence.run_evidence("04_deepclue", params, root=tmp_path, progress=False)
    # NMF's initialisation is deterministic: one run; k-means one per seed
    assert frame.groupby("method").seed.nunique().to_dict() == {"kmeans_pixels": 2, "nmf_pixels": 1}
    assert frame.value.between(0, 1).all() and set(frame.metric) == {"nmi", "ari", "acc"}
    on_disk = pd.read_csv(evidence.evidence_path("04_deepclue", "paper_cpu", tmp_path))
    assert len(on_disk) == len(frame) == 9
