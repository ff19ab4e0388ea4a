"""The training engine (clustlib.deep.engine): resume after a kill, mixed precision, checkpoint refusal, inference,
and the one contract of the estimators (not fitted, clone)."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.base
import sklearn.exceptions
import torch
import torch.nn.functional as F

import clustlib.deep.engine as engine
from clustlib.deep import DAC, MMDC, ContrastiveClustering
from clustlib.errors import CheckpointMismatch, ClustlibError, InvalidParameter, NotFittedError

pytestmark = pytest.mark.usefixtures("one_thread")


def _digits(n: int, size: int, channels: int = 1) -> np.ndarray:
    """The first ``n`` of scikit-learn's digits, upsampled (bilinear) to ``size`` pixels, in [0, 1]: (n, C, S, S)."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images[:n, None] / 16.0, dtype=torch.float32)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return x.repeat(1, channels, 1, 1).numpy()


#: Three short real fits: (estimator class, its settings, its input).
CASES = {
    "DAC": (DAC, dict(n_clusters=10, chunk_size=100, chunk_passes=1, batch_size=20, epochs=3),
            lambda: _digits(200, 16) - 0.3),
    "MMDC": (MMDC, dict(n_clusters=10, epochs=3, refine_epoch=2, lr_milestones=(2,), batch_size=40, input_size=16,
                        crop_sizes=(24,)), lambda: _digits(120, 32)),
    "CC": (ContrastiveClustering, dict(n_clusters=5, backbone="resnet18", image_size=32, batch_size=32, epochs=3),
           lambda: _digits(64, 32, channels=3)),
}


class _Killed(Exception):
    """Stands for the process dying right after a checkpoint was written."""


def _fit(name, **extra):
    cls, kw, data = CASES[name]
    return cls(**kw, device="cpu", random_state=0, progress=False, **extra).fit(data())


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_killed_after_an_epoch_resumes_bit_equal(name, tmp_path, monkeypatch):
    reference = _fit(name)
    path = tmp_path / f"{name}.pt"
    written = []
    real_write = engine.write_checkpoint

    def write_then_die(p, payload):
        real_write(p, payload)
        written.append(payload["epoch"])
        if payload["epoch"] == 2:
            raise _Killed

    monkeypatch.setattr(engine, "write_checkpoint", write_then_die)
    with pytest.raises(_Killed):
        _fit(name, checkpoint_path=path)
    monkeypatch.setattr(engine, "write_checkpoint", real_write)
    assert written == [1, 2] and path.exists()
    resumed = _fit(name, checkpoint_path=path)
    assert resumed.history_.resumed_from == 2
    np.testing.assert_array_equal(resumed.labels_, reference.labels_)
    _assert_same_weights(resumed.network_, reference.network_)
    assert resumed.history_.losses == reference.history_.losses  # the first two epochs come from the checkpoint
    again = _fit(name, checkpoint_path=path)  # a finished checkpoint: nothing left to train, same result
    assert again.history_.resumed_from == 3
    np.testing.assert_array_equal(again.labels_, reference.labels_)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_checkpoint_of_another_configuration_is_refused(name, tmp_path):
    path = tmp_path / f"{name}.pt"
    _fit(name, checkpoint_path=path)
    cls, kw, data = CASES[name]
    other = cls(**{**kw, "lr": kw.get("lr", 1e-3) * 2}, device="cpu", random_state=0, progress=False,
                checkpoint_path=path)
    with pytest.raises(CheckpointMismatch, match="another configuration or data.*Delete the file"):
        other.fit(data())
    with pytest.raises(CheckpointMismatch, match="another configuration or data"):  # same settings, bfloat16
        cls(**kw, device="cpu", random_state=0, progress=False, checkpoint_path=path, amp=True).fit(data())


@pytest.mark.parametrize("name", sorted(CASES))
def test_bfloat16_fit_runs_and_records_its_precision(name):
    est = _fit(name, amp=True)
    assert est.precision_ == "bfloat16" and est.history_.precision == "bfloat16"
    assert all(np.isfinite(est.history_.losses))
    assert _fit(name).precision_ == "float32"


def test_precision_settings_and_refusals():
    cpu = torch.device("cpu")
    assert engine.resolve_precision(cpu).name == "float32" and engine.resolve_precision(cpu, None).dtype is None
    assert engine.resolve_precision(cpu, True).dtype is torch.bfloat16
    with pytest.raises(InvalidParameter, match="needs a CUDA device"):
        engine.resolve_precision(cpu, "float16")
    with pytest.raises(InvalidParameter, match="amp must be one of"):
        engine.resolve_precision(cpu, "fp8")
    with pytest.raises(InvalidParameter, match="amp must be one of"):
        DAC(10, amp="half").check_params(np.zeros((40, 1, 16, 16), np.float32))


def test_a_checkpoint_holding_a_pickled_callable_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": engine.CHECKPOINT_FORMAT, "hook": print}, path)  # unpickling would import a callable
    with pytest.raises(CheckpointMismatch, match="pickled Python objects"):
        engine.load_checkpoint(path, None, fmt=engine.CHECKPOINT_FORMAT)


def test_batched_inference_equals_one_pass_and_restores_the_mode():
    net = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.BatchNorm1d(4), torch.nn.Dropout(0.5))
    net.train()
    x = torch.randn(50, 6)
    out = engine.batched_inference(net, x, batch_size=7)
    assert net.training  # back to the mode it had
    net.eval()
    with torch.no_grad():
        whole = net(x)
    torch.testing.assert_close(out, whole)
    pair = engine.batched_inference(net, [x, x], batch_size=16, forward=lambda a, b: (net(a), {"s": a + b}))
    torch.testing.assert_close(pair[0], whole)
    torch.testing.assert_close(pair[1]["s"], 2 * x)


def test_run_epochs_records_times_and_resumes_plain_state(tmp_path):
    from clustlib.deep.base import TrainHistory

    counter = {"value": torch.zeros(())}

    def step(epoch):
        counter["value"] += epoch
        return {"losses": float(counter["value"])}

    prec = engine.resolve_precision(torch.device("cpu"))
    path = tmp_path / "run.pt"
    h = engine.run_epochs(step, epochs=3, history=TrainHistory(), state={"c": counter}, precision=prec,
                          checkpoint_path=path, config={"a": 1}, progress=False)
    assert h.losses == [0.0, 1.0, 3.0] and len(h.epoch_seconds) == 3
    counter["value"] = torch.zeros(())
    h2 = engine.run_epochs(step, epochs=4, history=TrainHistory(), state={"c": counter}, precision=prec,
                           checkpoint_path=path, config={"a": 1}, progress=False)
    assert h2.resumed_from == 3 and h2.losses == [0.0, 1.0, 3.0, 6.0]
    with pytest.raises(CheckpointMismatch):
        engine.run_epochs(step, epochs=4, history=TrainHistory(), state={"c": counter}, precision=prec,
                          checkpoint_path=path, config={"a": 2}, progress=False)
    with pytest.raises(InvalidParameter, match="needs config"):
        engine.run_epochs(step, epochs=1, history=TrainHistory(), state={}, precision=prec, checkpoint_path=path)


# -- the one contract -------------------------------------------------------------------------------------------


def _estimators():
    from clustlib.deep import DCN, DEC, IDEC, JULE, ACeDeC, AEKMeans, DipEncoder, MVnet

    return [DEC(3), IDEC(3), DCN(3), AEKMeans(3), ACeDeC(3), DipEncoder(3), JULE(3), MVnet(3), DAC(3), MMDC(3),
            ContrastiveClustering(3)]


def _unfitted_input(est):
    from clustlib.deep import JULE, MVnet

    if isinstance(est, MVnet):
        return [np.zeros((4, 3), np.float32)] * 2
    if isinstance(est, JULE) or not isinstance(est, (DAC, MMDC, ContrastiveClustering)):
        return np.zeros((4, 3), np.float32)
    return np.zeros((4, 3 if isinstance(est, ContrastiveClustering) else 1, 32, 32), np.float32)


@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_unfitted_use_raises_not_fitted(est):
    use = getattr(est, "transform", None) or est.predict
    if isinstance(est, ContrastiveClustering):
        use = est.predict
    with pytest.raises(NotFittedError, match="not fitted yet; call fit") as info:
        use(_unfitted_input(est))
    assert isinstance(info.value, sklearn.exceptions.NotFittedError) and isinstance(info.value, ClustlibError)


@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_clone_round_trips_the_parameters(est):
    twin = sklearn.base.clone(est)
    assert type(twin) is type(est) and twin.get_params() == est.get_params()


def test_an_autoencoder_checkpoint_written_before_the_engine_resumes(tmp_path):
    """A format-1 file (the loop before the engine) with this run's configuration is upgraded and resumed."""
    from clustlib.deep.networks.autoencoders import build_autoencoder
    from clustlib.deep.autoencoder.training import config_hash, make_adam, seed_everything, train_epochs

    X = torch.from_numpy(np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32))
    cfg = {"what": "toy"}

    def fit(epochs, path=None):
        ae = build_autoencoder("ff_512_256_128", 8, 2, seed=0)
        opt = make_adam(ae.parameters(), 1e-3)
        h = train_epochs(X, lambda idx, xb: F.mse_loss(ae(xb), xb), opt, {"autoencoder": ae}, epochs=epochs,
                         batch_size=16, generator=seed_everything(0), device=torch.device("cpu"),
                         checkpoint_path=path, checkpoint_config=cfg if path else None, progress=False)
        return ae, h

    reference, ref_h = fit(3)
    path = tmp_path / "ae.ckpt"
    fit(2, path)
    new = torch.load(path, weights_only=True)
    st = new["state"]
    torch.save({"format": 1, "config_hash": config_hash(cfg), "config": new["config"], "epoch": 2,
                "modules": {"autoencoder": st["module.autoencoder"]}, "optimizer": st["optimizer"],
                "generator": st["generator"], "augment": None, "scaler": None,
                "losses": new["history"]["losses"], "epoch_seconds": new["history"]["epoch_seconds"]}, path)
    resumed, h = fit(3, path)
    assert h.resumed_from == 2 and h.losses == ref_h.losses
    _assert_same_weights(resumed, reference)
    torch.save({"format": 1, "config_hash": "another run", "epoch": 1}, path)
    with pytest.raises(CheckpointMismatch, match="format 1"):
        fit(3, path)


def test_the_early_checkpoint_check_lets_an_upgradable_format_through(tmp_path):
    """A DEC/IDEC/DCN fit checks its checkpoint before pretraining; a format-1 file of the same run must pass
    that check (the trainer upgrades it later), one of another format or configuration must not."""
    from clustlib.deep.engine import check_checkpoint

    path = tmp_path / "old.ckpt"
    torch.save({"format": 1, "config": {"lr": 0.1}, "epoch": 3}, path)
    check_checkpoint(path, {"lr": 0.1}, upgradable=(1,))
    with pytest.raises(CheckpointMismatch, match="format"):
        check_checkpoint(path, {"lr": 0.1})
    with pytest.raises(CheckpointMismatch, match="lr"):
        check_checkpoint(path, {"lr": 0.2}, upgradable=(1,))
