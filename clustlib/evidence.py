"""Paper-scale evidence runs: resumable, one job at a time, each job's records committed as it finishes.

A study's ``paper_cpu`` profile (``params/<study>/paper_cpu.yaml``) names cells that these CPU machines reach
at the paper's scale (same data, same epochs). :func:`run_evidence` turns it into jobs — one (dataset,
method, seed) each — and runs every job that ``evidence/<study>/<profile>.csv`` does not already hold. The
file is rewritten atomically after each job, so a run killed at any point loses at most the job in flight,
and that job resumes from its training checkpoint (``<cache>/evidence/<study>/<job>.ckpt``) when rerun.

Every row carries its protocol card: images used, epochs, K, split, network, precision, threads, CPU model,
git commit, wall time and peak resident memory of the job. :mod:`clustlib.fidelity` reads these files.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from clustlib import metrics, repro
from clustlib.errors import InvalidParameter
from clustlib.paths import cache_root, project_root
from clustlib.results import atomic_write_text, file_lock

__all__ = ["EVIDENCE_COLUMNS", "Job", "evidence_path", "read_evidence", "plan_jobs", "run_evidence",
           "cpu_model"]

#: Columns of ``evidence/<study>/<profile>.csv``: the result, then its protocol card.
EVIDENCE_COLUMNS = (
    "study", "profile", "dataset", "method", "setting", "seed", "metric", "value",
    "n_images", "n_clusters", "pretrain_epochs", "clustering_epochs", "split", "network", "precision",
    "threads", "time_s", "peak_mem_mb", "cpu", "commit", "finished_utc",
)


@dataclass(frozen=True)
class Job:
    """One (dataset, method, seed) of an evidence profile; ``key`` names it in the file and the checkpoint."""

    study: str
    dataset: str
    method: str
    seed: int
    setting: str
    params: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        return f"{self.dataset}|{self.method}|{self.setting}|{self.seed}"


def evidence_path(study: str, profile: str = "paper_cpu", root: str | Path | None = None) -> Path:
    """``<repo>/evidence/<study>/<profile>.csv`` (``root`` replaces ``<repo>/evidence``)."""
    base = Path(root) if root is not None else project_root() / "evidence"
    return base / study / f"{profile}.csv"


def read_evidence(study: str, profile: str = "paper_cpu", root=None) -> pd.DataFrame:
    """The evidence rows of one study and profile (an empty frame with :data:`EVIDENCE_COLUMNS` if none)."""
    path = evidence_path(study, profile, root)
    if not path.exists():
        return pd.DataFrame(columns=list(EVIDENCE_COLUMNS))
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _job_key(row) -> str:
    return f"{row['dataset']}|{row['method']}|{row['setting']}|{int(row['seed'])}"


# --- study 06: ClustPy Table II ------------------------------------------------------------------------------

def _clustpy_jobs(params: dict) -> list[Job]:
    from clustlib.studies import clustpy_benchmark as bench

    bench.validate(params["methods"], params["experiments"], params["seeds"], amp=params.get("amp", "off"),
                   method_params=params.get("method_params", {}))
    if params.get("amp", "off") != "off":
        raise InvalidParameter("paper_cpu runs train in float32 as the paper did: set amp: off in the profile.")
    setting = bench.NETWORK_SETTINGS["ff_500_500_2000"].replace("ae=", "experiment=A,ae=")
    return [Job("06_clustpy_benchmark", d, m, int(s), setting, params)
            for d in params["datasets"] for s in params["seeds"] for m in params["methods"]]


def _clustpy_run(job: Job, imageset, checkpoint: Path) -> tuple[dict, dict]:
    from clustlib.deep import run_deep_clustering
    from clustlib.studies import clustpy_benchmark as bench

    p = job.params
    X, key = bench.prepare_inputs(imageset, "ff_500_500_2000")
    extra = dict(p.get("method_params", {}).get(job.method, {}))
    if job.method != "ae_kmeans":
        extra["checkpoint_path"] = str(checkpoint)
    out = run_deep_clustering(job.method, X, imageset.n_classes, seed=job.seed, network="ff_500_500_2000",
                              pretrain_epochs=p["pretrain_epochs"], clustering_epochs=p["clustering_epochs"],
                              batch_size=p["batch_size"], dataset_key=key, device=p.get("device", "cpu"),
                              n_threads=p.get("n_threads", 1), amp=False, **extra)
    scores = metrics.evaluate(imageset.labels, out["labels"], metrics=("nmi", "ari", "acc"))
    card = {"pretrain_epochs": p["pretrain_epochs"],
            "clustering_epochs": 0 if job.method == "ae_kmeans" else p["clustering_epochs"],
            "network": "d-500-500-2000-10", "precision": "float32"}
    return scores, card


# --- study 04: DeepCluE Tables II-IV, the traditional baselines on raw pixels ------------------------------------

def _deepclue_jobs(params: dict) -> list[Job]:
    from clustlib.studies.deepclue_study import SEEDLESS_BASELINES, check_baselines

    check_baselines(params["baselines"])
    if not params["seeds"]:
        raise InvalidParameter("seeds must list at least one seed.")
    return [Job("04_deepclue", d, m, int(s), "input=raw pixels", params)
            for d in params["datasets"] for m in params["baselines"]
            for s in (params["seeds"][:1] if m in SEEDLESS_BASELINES else params["seeds"])]


def _deepclue_run(job: Job, imageset, checkpoint: Path) -> tuple[dict, dict]:
    from clustlib.studies.deepclue_study import baseline_labels

    labels = baseline_labels(imageset, job.method, job.seed)
    scores = metrics.evaluate(imageset.labels, labels, metrics=("nmi", "ari", "acc"))
    network = {"agglomerative_pixels": "Ward, 10-NN connectivity" if len(imageset) > 20000 else "Ward",
               "spectral_pixels": "10-NN graph", "kmeans_pixels": "k-means++, 10 restarts",
               "nmf_pixels": "NMF nndsvda, argmax"}[job.method]
    return scores, {"pretrain_epochs": None, "clustering_epochs": None, "network": network, "precision": "float64"}


_CAMPAIGNS: dict[str, tuple[Callable, Callable]] = {"06_clustpy_benchmark": (_clustpy_jobs, _clustpy_run),
                                                    "04_deepclue": (_deepclue_jobs, _deepclue_run)}


def plan_jobs(study: str, params: dict) -> list[Job]:
    """The jobs of a study's evidence profile, validated before any compute."""
    if study not in _CAMPAIGNS:
        raise InvalidParameter(f"Study {study!r} has no paper-scale evidence runner; studies with one: "
                               f"{sorted(_CAMPAIGNS)}.")
    return _CAMPAIGNS[study][0](params)


def run_evidence(study: str, params: dict, *, profile: str = "paper_cpu", root=None, limit: int | None = None,
                 progress: bool = True) -> pd.DataFrame:
    """Run every job of ``params`` that the evidence file lacks; return the file's rows afterwards.

    Parameters
    ----------
    study : str
        A study with an evidence runner (``06_clustpy_benchmark``).
    params : dict
        The profile's parameters (``params/<study>/<profile>.yaml``).
    limit : int, optional
        Stop after this many newly finished jobs (for tests and short sessions).
    """
    from clustlib.studies import load_datasets

    jobs = plan_jobs(study, params)
    path = evidence_path(study, profile, root)
    done = {_job_key(r) for _, r in read_evidence(study, profile, root).iterrows()}
    todo = [j for j in jobs if j.key not in done]
    run_fn = _CAMPAIGNS[study][1]
    repro.set_threads(int(params.get("n_threads", 1)))
    commit = repro.git_info()
    imagesets = {}
    finished = 0
    for i, job in enumerate(todo):
        if limit is not None and finished >= limit:
            break
        if job.key in {_job_key(r) for _, r in read_evidence(study, profile, root).iterrows()}:
            continue  # another process (e.g. one running other seeds) finished it meanwhile
        if job.dataset not in imagesets:
            imagesets.update(load_datasets([job.dataset], params.get("subsets", {}), seed=0,
                                           root=params.get("data_root") or None))
        imageset = imagesets[job.dataset]
        ckpt = cache_root() / "evidence" / study / f"{job.dataset}_{job.method}_{job.seed}.ckpt"
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        if progress:
            print(f"[{time.strftime('%H:%M:%S')}] job {i + 1}/{len(todo)}: {job.key}", flush=True)
        repro.seed_everything(job.seed)
        t0 = time.perf_counter()
        scores, card = run_fn(job, imageset, ckpt)
        seconds = time.perf_counter() - t0
        peak = repro.peak_memory_mb()  # of this process so far: an upper bound for the job
        rows = [{"study": study, "profile": profile, "dataset": job.dataset, "method": job.method,
                 "setting": job.setting, "seed": job.seed, "metric": name, "value": float(value),
                 "n_images": len(imageset), "n_clusters": imageset.n_classes, "split": "all (train+test)",
                 "threads": int(params.get("n_threads", 1)), "time_s": round(seconds, 1),
                 "peak_mem_mb": round(peak, 1), "cpu": cpu_model(),
                 "commit": commit["short"] + ("-dirty" if commit.get("dirty") else ""),
                 "finished_utc": repro.utc_now(), **card} for name, value in scores.items()]
        with file_lock(path):  # two processes may run disjoint seeds of one profile
            frame = pd.concat([read_evidence(study, profile, root), pd.DataFrame(rows)], ignore_index=True)
            atomic_write_text(path, frame.reindex(columns=list(EVIDENCE_COLUMNS)).to_csv(index=False))
        ckpt.unlink(missing_ok=True)
        finished += 1
        if progress:
            print(f"    done in {seconds / 60:.1f} min: " + ", ".join(f"{k}={v:.3f}" for k, v in scores.items()),
                  flush=True)
    return read_evidence(study, profile, root)
