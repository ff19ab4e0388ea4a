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
