"""The one contract of every registered deep method (clustlib/deep/__init__.py), checked on each registry entry.

A method is tested here the moment it is registered (:func:`clustlib.deep.list_methods`): it needs a tiny
configuration in ``TINY`` (a test fails until it has one). Each fit is small real data for one or two epochs on the
CPU, one thread.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import sklearn.base
import sklearn.exceptions
import torch
import torch.nn.functional as F

import clustlib.deep.engine as engine
from clustlib.deep import create_method, list_methods, method_info
from clustlib.errors import ClustlibError, InvalidParameter, NotFittedError

pytestmark = pytest.mark.usefixtures("one_thread")


def _digits_flat(n: int) -> np.ndarray:
    """The first ``n`` of scikit-learn's digits, one global z-score: (n, 64) float32."""
    from sklearn.datasets import load_digits

    x = load_digits().data[:n]
    return ((x - x.mean()) / x.std()).astype(np.float32)


def _digits_images(n: int, size: int, channels: int = 1) -> np.ndarray:
    """The first ``n`` digits upsampled (bilinear) to ``size`` pixels, in [0, 1]: (n, C, S, S) float32."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images[:n, None] / 16.0, dtype=torch.float32)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return x.repeat(1, channels, 1, 1).numpy()


def _views(n: int) -> list[np.ndarray]:
    x = _digits_flat(n)
    return [x[:, :32].copy(), x[:, 32:].copy()]


_AE = dict(embedding_size=3, network="ff_512_256_128", pretrain_epochs=1, clustering_epochs=2, batch_size=32,
           kmeans_n_init=1, use_cache=False, progress=False)
_JULE = dict(epochs_per_period=1, max_epochs=2)

#: Registry name -> (settings besides n_clusters, device and random_state; the input; K). Two epochs where the
#: method has epochs, so that a fit can be interrupted after the first.
TINY = {
    "ae_kmeans": (dict(_AE), lambda: _digits_flat(90), 3),
    "dec": (dict(_AE), lambda: _digits_flat(90), 3),
    "idec": (dict(_AE), lambda: _digits_flat(90), 3),
    "dcn": (dict(_AE), lambda: _digits_flat(90), 3),
    "acedec": (dict(_AE, init_iterations=20), lambda: _digits_flat(90), 3),
    "dipencoder": (dict(_AE), lambda: _digits_flat(90), 3),
    "jule": (dict(_JULE), lambda: _digits_flat(90), 3),
    "mvnet": (dict(jule_params=_JULE), lambda: _views(90), 3),
    "dac": (dict(chunk_size=50, chunk_passes=1, batch_size=25, epochs=2, progress=False),
            lambda: _digits_images(100, 16) - 0.3, 5),
    "mmdc": (dict(epochs=2, refine_epoch=1, lr_milestones=(1,), batch_size=40, input_size=16, crop_sizes=(24,),
                  progress=False), lambda: _digits_images(80, 32), 5),
    "contrastive_clustering": (dict(backbone="resnet18", image_size=32, batch_size=32, epochs=2, progress=False),
                               lambda: _digits_images(64, 32, channels=3), 5),
}

METHODS = list_methods()

#: Contract items a method does not keep yet, (method, item) -> why. The test expects the failure (strict), so an
#: entry has to go the moment the method keeps the item.
PENDING = {
}


def _cases(item: str) -> list:
    """METHODS, each marked as an expected failure where :data:`PENDING` says it does not keep ``item`` yet."""
    return [pytest.param(m, marks=pytest.mark.xfail(reason=PENDING[m, item], strict=True)) if (m, item) in PENDING
            else m for m in METHODS]


def _estimator(name: str, **extra):
    settings, _, k = TINY[name]
    return create_method(name, **{"n_clusters": k, "device": "cpu", "random_state": 0, **settings, **extra})


_FITS: dict = {}


def _reference(name: str):
    """The seed-0 fit of ``name``, computed once per session (several tests compare with it)."""
    if name not in _FITS:
        _FITS[name] = _estimator(name).fit(TINY[name][1]())
    return _FITS[name]


def _takes_checkpoint(name: str) -> bool:
    return "checkpoint_path" in inspect.signature(method_info(name).load()).parameters


def test_every_registered_method_has_a_tiny_case_and_metadata():
    assert sorted(TINY) == METHODS
    for name in METHODS:
        info = method_info(name)
        assert info.code.startswith("https://github.com/") and info.paper and info.inputs in ("vectors", "images",
                                                                                               "views")
        assert f"clustlib.deep.{info.family}." in info.target  # one step from the name to the family's file
        for preset, settings in info.preset_table().items():  # every preset builds an estimator
            assert create_method(name, preset=preset).get_params()["n_clusters"] is None, preset
            assert set(settings) <= set(create_method(name).get_params()), preset


@pytest.mark.parametrize("name", _cases("n_clusters"))
def test_n_clusters_is_required(name):
    params = inspect.signature(method_info(name).load()).parameters
    assert next(iter(params)) == "n_clusters"
    if params["n_clusters"].default is inspect.Parameter.empty:
        return
    assert params["n_clusters"].default is None  # buildable to read its parameters, not to fit
    est = create_method(name, **{**TINY[name][0], "device": "cpu"})
    with pytest.raises(InvalidParameter, match="n_clusters is required"):
        est.fit(TINY[name][1]())


@pytest.mark.parametrize("name", METHODS)
def test_fit_gives_labels_and_the_same_seed_the_same_labels(name):
    _, data, k = TINY[name]
    first = _reference(name)
    labels = first.labels_
    n = len(data()[0]) if name == "mvnet" else len(data())
    assert isinstance(labels, np.ndarray) and labels.dtype == np.int64 and labels.shape == (n,)
    assert labels.min() >= 0 and labels.max() < k
    np.testing.assert_array_equal(_estimator(name).fit(data()).labels_, labels)  # same seed: bit-equal


@pytest.mark.parametrize("name", METHODS)
def test_random_state_none_means_seed_0(name):
    assert create_method(name).get_params()["random_state"] is None
    np.testing.assert_array_equal(_estimator(name, random_state=None).fit(TINY[name][1]()).labels_,
                                  _reference(name).labels_)


@pytest.mark.parametrize("name", METHODS)
def test_device_none_means_cuda_when_available(name, monkeypatch):
    assert create_method(name).get_params()["device"] is None
    if torch.cuda.is_available():
        pytest.skip("a CUDA machine: device=None trains there (the GPU check runs it)")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # as on a CUDA machine: the fit must try CUDA
    with pytest.raises((RuntimeError, AssertionError), match="(?i)cuda|nvidia"):
        _estimator(name, device=None).fit(TINY[name][1]())


@pytest.mark.parametrize("name", METHODS)
def test_unfitted_use_raises_not_fitted(name):
    est = _estimator(name)
    use = getattr(est, "transform", None) or getattr(est, "predict")
    with pytest.raises(NotFittedError, match="not fitted yet; call fit") as info:
        use(TINY[name][1]())
    assert isinstance(info.value, sklearn.exceptions.NotFittedError) and isinstance(info.value, ClustlibError)


@pytest.mark.parametrize("name", METHODS)
def test_get_params_and_clone_round_trip(name):
    est = _estimator(name)
    twin = sklearn.base.clone(est)
    assert type(twin) is type(est) and twin.get_params() == est.get_params()
    assert type(est)(**est.get_params()).get_params() == est.get_params()


class _Killed(Exception):
    """Stands for the process dying right after a checkpoint was written."""


@pytest.mark.parametrize("name", [m for m in METHODS if _takes_checkpoint(m)])
def test_a_fit_interrupted_after_epoch_1_and_resumed_equals_the_uninterrupted_fit(name, tmp_path, monkeypatch):
    path = tmp_path / f"{name}.pt"
    real_write, written = engine.write_checkpoint, []

    def write_then_die(p, payload):
        real_write(p, payload)
        if Path(p) == path:
            written.append(payload["epoch"])
            if payload["epoch"] == 1:
                raise _Killed

    monkeypatch.setattr(engine, "write_checkpoint", write_then_die)
    reference = _reference(name)
    if not reference.history_.losses:  # no epochs to interrupt (AE+KMeans): the checkpoint is never written
        _estimator(name, checkpoint_path=path).fit(TINY[name][1]())
        assert written == []
        return
    with pytest.raises(_Killed):
        _estimator(name, checkpoint_path=path).fit(TINY[name][1]())
    monkeypatch.setattr(engine, "write_checkpoint", real_write)
    resumed = _estimator(name, checkpoint_path=path).fit(TINY[name][1]())
    assert written == [1] and resumed.history_.resumed_from == 1
    np.testing.assert_array_equal(resumed.labels_, reference.labels_)
    assert resumed.history_.losses == reference.history_.losses
