"""Shared fixtures: a seed (fixed by default, sweepable with CLUSTLIB_TEST_SEED), headless plotting."""

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # torch's and scikit-learn's OpenMP runtimes otherwise spin
os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture
def seed() -> int:
    """The test seed: 0 unless the environment variable CLUSTLIB_TEST_SEED says otherwise."""
    return int(os.environ.get("CLUSTLIB_TEST_SEED", "0"))


@pytest.fixture
def rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture
def isolated_project(tmp_path, monkeypatch):
    """Point runs/, results/, figures/ and the cache at a temporary folder."""
    for var, sub in (("CLUSTLIB_RUNS", "runs"), ("CLUSTLIB_RESULTS", "results"),
                     ("CLUSTLIB_FIGURES", "figures"), ("CLUSTLIB_CACHE", "cache")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    return tmp_path


@pytest.fixture
def one_thread():
    """One torch and one BLAS/OpenMP thread: deterministic, and no oversubscription on a shared 2-core box.

    Test modules that train networks opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def digits_zscored():
    """scikit-learn's digits as the ClustPy benchmark feeds Optdigits: (X float32 (1797, 64), y int (1797,)),
    one global z-score over all pixels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return ((d.data - d.data.mean()) / d.data.std()).astype(np.float32), d.target


@pytest.fixture
def record_score(request, seed):
    """``record_score(name, value)``: a score a threshold rests on, appended as one JSON line to
    ``$CLUSTLIB_SCORE_LOG`` when that is set (``make measure-scores`` sweeps seeds and summarises the ranges).

    Tests that assert a score of a trained or random model are marked ``score`` and take their seed from the
    ``seed`` fixture, so the sweep varies it; returns ``value`` so it can be used inline.
    """
    import json
    import platform

    path = os.environ.get("CLUSTLIB_SCORE_LOG")

    def record(name: str, value: float) -> float:
        if path:
            from clustlib.evidence import cpu_model

            with open(path, "a") as handle:
                handle.write(json.dumps({"test": request.node.nodeid, "name": name, "seed": seed,
                                         "value": float(value), "cpu": cpu_model(),
                                         "machine": platform.machine()}) + "\n")
        return value

    return record


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # noqa: BLE001 - no torch, no CUDA
        return False


def pytest_collection_modifyitems(config, items):
    """``gpu`` tests are skipped without a CUDA device and ``network`` tests unless ``CLUSTLIB_NETWORK=1``
    (this project's CI machines have neither); the skip reason says how to run them."""
    no_gpu = pytest.mark.skip(reason="needs a CUDA device (none visible to torch here)")
    no_net = pytest.mark.skip(reason="needs internet access: set CLUSTLIB_NETWORK=1 on a machine with a network")
    has_gpu = _cuda_available() if any("gpu" in item.keywords for item in items) else False
    has_net = os.environ.get("CLUSTLIB_NETWORK") == "1"
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(no_gpu)
        if "network" in item.keywords and not has_net:
            item.add_marker(no_net)
