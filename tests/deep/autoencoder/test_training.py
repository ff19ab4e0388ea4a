"""Networks, the shared training loop, checkpoints and cached autoencoder pretraining (clustlib.deep)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import clustlib.deep as deep
from clustlib.deep.networks.autoencoders import FeedforwardAutoencoder, build_autoencoder
from clustlib.deep.autoencoder.pretrain import pretrain_autoencoder
from clustlib.deep.autoencoder.preprocessing import zscore_images
from clustlib.deep.autoencoder.training import (
    CheckpointMismatch,
    amp_settings,
    make_adam,
    seed_everything,
    train_epochs,
)
from clustlib.errors import InvalidParameter, UnknownName



pytestmark = pytest.mark.usefixtures("one_thread")


def _toy(n=96, d=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32)


def test_every_public_name_imports():
    for name in deep.__all__:
        assert getattr(deep, name) is not None, name


def test_feedforward_autoencoder_is_the_clustpy_architecture():
    ae = build_autoencoder("ff_500_500_2000", 64, 10, seed=0)
    linears = [m for m in ae.encoder if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 500), (500, 500), (500, 2000), (2000, 10)]
    dec = [m for m in ae.decoder if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in dec] == [(10, 2000), (2000, 500), (500, 500), (500, 64)]
    # LeakyReLU(0.01) between layers, nothing after the embedding nor after the output.
    assert isinstance(ae.encoder[-1], torch.nn.Linear) and isinstance(ae.decoder[-1], torch.nn.Linear)
    acts = [m for m in ae.encoder if isinstance(m, torch.nn.LeakyReLU)]
    assert len(acts) == 3 and all(a.negative_slope == 0.01 for a in acts)
    x = torch.randn(5, 64)
    assert ae.encode(x).shape == (5, 10) and ae(x).shape == (5, 64)
    small = build_autoencoder("ff_512_256_128", 30, 4)
    assert small.layers == (30, 512, 256, 128, 4)


def test_build_autoencoder_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_autoencoder("ff_512_256_128", 8, 3, seed=7)
    after = torch.rand(1)
    b = build_autoencoder("ff_512_256_128", 8, 3, seed=7)
    assert torch.equal(before, after)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


@pytest.mark.parametrize(
    "kwargs, err",
    [
        (dict(name="vgg", input_shape=8, embedding_size=3), UnknownName),
        (dict(name="ff_512_256_128", input_shape=8, embedding_size=0), InvalidParameter),
    ],
)
def test_build_autoencoder_bad_input(kwargs, err):
    with pytest.raises(err):
        build_autoencoder(**kwargs)


def test_feedforward_rejects_bad_layers():
    with pytest.raises(InvalidParameter, match="layers"):
        FeedforwardAutoencoder([10, 0, 3])


def _tiny_run(X, epochs, seed=0, **kw):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ae = FeedforwardAutoencoder([X.shape[1], 16, 4])
    gen = seed_everything(seed)
    opt = make_adam(ae.parameters(), 1e-2)
    Xt = torch.from_numpy(X)
    hist = train_epochs(
        Xt, lambda idx, xb: torch.nn.functional.mse_loss(ae(xb), xb), opt, {"ae": ae},
        epochs=epochs, batch_size=32, generator=gen, device=torch.device("cpu"), progress=False, **kw,
    )
    return ae, hist


def test_train_epochs_is_deterministic_and_learns():
    X = _toy()
    a, ha = _tiny_run(X, 15)
    b, hb = _tiny_run(X, 15)
    assert ha.losses == hb.losses
    assert ha.losses[-1] < 0.8 * ha.losses[0]
    assert len(ha.epoch_seconds) == 15 and ha.resumed_from == 0


def test_train_epochs_resumes_to_the_same_weights(tmp_path):
    X = _toy()
    full, hfull = _tiny_run(X, 6)
    ckpt = tmp_path / "run.ckpt"
    cfg = {"what": "toy", "epochs": 6}

    def crash(epoch):
        if epoch == 2:
            raise KeyboardInterrupt  # killed during the third epoch, before its checkpoint

    with pytest.raises(KeyboardInterrupt):
        _tiny_run(X, 6, on_epoch_end=crash, checkpoint_path=ckpt, checkpoint_config=cfg)
    assert ckpt.exists()  # epochs 0 and 1 were checkpointed
    resumed, hres = _tiny_run(X, 6, checkpoint_path=ckpt, checkpoint_config=cfg)
    assert hres.resumed_from == 2
    assert np.allclose(hres.losses, hfull.losses, rtol=0, atol=0)
    for va, vb in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(va, vb)


def test_foreign_checkpoint_is_refused(tmp_path):
    X = _toy()
    ckpt = tmp_path / "run.ckpt"
    _tiny_run(X, 2, checkpoint_path=ckpt, checkpoint_config={"lr": 0.01})
    with pytest.raises(CheckpointMismatch, match="another configuration"):
        _tiny_run(X, 2, checkpoint_path=ckpt, checkpoint_config={"lr": 0.02})


def test_train_epochs_bad_input():
    X = torch.zeros(4, 2)
    ae = FeedforwardAutoencoder([2, 1])
    opt = make_adam(ae.parameters(), 1e-3)
    kw = dict(generator=torch.Generator(), device=torch.device("cpu"), progress=False)
    with pytest.raises(InvalidParameter, match="epochs"):
        train_epochs(X, lambda i, x: ae(x).sum(), opt, {"ae": ae}, epochs=-1, batch_size=2, **kw)
    with pytest.raises(InvalidParameter, match="learning rate"):
        make_adam(ae.parameters(), 0.0)


def test_amp_defaults_off_on_cpu_and_means_bfloat16_there():
    assert amp_settings(torch.device("cpu"), None) == (False, None, False)
    assert amp_settings(torch.device("cpu"), False) == (False, None, False)
    assert amp_settings(torch.device("cpu"), True) == (True, torch.bfloat16, False)


def test_cpu_bfloat16_training_is_deterministic_and_learns():
    X = _toy(n=96, d=12)
    runs = []
    for _ in range(2):
        ae = build_autoencoder("ff_512_256_128", 12, 3, seed=0)
        opt = make_adam(ae.parameters(), 1e-3)
        hist = train_epochs(torch.from_numpy(X), lambda i, x: torch.nn.functional.mse_loss(ae(x), x), opt,
                            {"ae": ae}, epochs=4, batch_size=32, generator=torch.Generator().manual_seed(0),
                            device=torch.device("cpu"), amp=True, progress=False)
        runs.append(hist.losses)
    assert runs[0] == runs[1]
    assert runs[0][-1] < runs[0][0]


def test_pretraining_is_cached_and_reused(tmp_path):
    X = _toy(n=64, d=10)
    kw = dict(network="ff_512_256_128", embedding_size=3, epochs=2, batch_size=32, seed=1, cache_dir=tmp_path,
              progress=False)
    first = pretrain_autoencoder(X, **kw)
    second = pretrain_autoencoder(X, **kw)
    assert not first.from_cache and second.from_cache
    assert first.path == second.path and first.path.parent == tmp_path / "models" / "autoencoders"
    for va, vb in zip(first.autoencoder.state_dict().values(), second.autoencoder.state_dict().values()):
        assert torch.equal(va.cpu(), vb.cpu())
    assert not list(first.path.parent.glob("*.tmp")) and not list(first.path.parent.glob("*.ckpt"))
    other = pretrain_autoencoder(X, **{**kw, "seed": 2})
    assert not other.from_cache and other.path != first.path


def test_killed_pretraining_resumes_from_its_checkpoint(tmp_path):
    X = _toy(n=64, d=10)
    kw = dict(network="ff_512_256_128", embedding_size=3, epochs=6, batch_size=32, seed=0, progress=False,
              checkpoint_every=1)
    reference = pretrain_autoencoder(X, cache_dir=tmp_path / "a", **kw)

    def kill(epoch):
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pretrain_autoencoder(X, cache_dir=tmp_path / "b", _after_epoch=kill, **kw)
    ckpts = list((tmp_path / "b" / "models" / "autoencoders").glob("*.ckpt"))
    assert len(ckpts) == 1
    resumed = pretrain_autoencoder(X, cache_dir=tmp_path / "b", **kw)
    assert not resumed.from_cache
    assert resumed.losses == reference.losses
    for va, vb in zip(reference.autoencoder.state_dict().values(), resumed.autoencoder.state_dict().values()):
        assert torch.equal(va, vb)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(lr=0.0), "learning rate"),
        (dict(lr=-1e-3), "learning rate"),
        (dict(epochs=-1), "epochs"),
        (dict(embedding_size=0), "embedding_size"),
        (dict(network="ff_1_2_3"), "autoencoder"),
    ],
)
def test_pretraining_bad_input(tmp_path, change, match):
    kw = dict(network="ff_512_256_128", embedding_size=3, epochs=1, cache_dir=tmp_path, progress=False)
    kw.update(change)
    with pytest.raises(InvalidParameter, match=match):
        pretrain_autoencoder(_toy(n=8, d=4), **kw)
    assert not (tmp_path / "models").exists()


def test_pretraining_rejects_nan(tmp_path):
    X = _toy(n=8, d=4)
    X[0, 0] = np.nan
    with pytest.raises(InvalidParameter, match="NaN"):
        pretrain_autoencoder(X, cache_dir=tmp_path, progress=False)


def test_zscore_images_global_and_channel():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(20, 4, 4, 3), dtype=np.uint8)
    img[..., 2] //= 4  # make the channels differ
    g = zscore_images(img, "global")
    assert g.shape == (20, 48) and g.dtype == np.float32
    assert abs(g.mean()) < 1e-5 and abs(g.std() - 1) < 1e-4
    c = zscore_images(img, "channel", flatten=False)
    assert c.shape == (20, 3, 4, 4)
    assert np.allclose(c.mean(axis=(0, 2, 3)), 0, atol=1e-5) and np.allclose(c.std(axis=(0, 2, 3)), 1, atol=1e-4)
    # HWC flattening order: feature 0..2 are the three channels of pixel (0, 0).
    flat = zscore_images(img, "channel")
    assert np.allclose(flat[:, :3], c[:, :, 0, 0])
    # Scale-free: raw 0-255 and [0, 1] floats give the same z-scores.
    assert np.allclose(zscore_images(img.astype(np.float32) / 255.0, "channel"), flat, atol=1e-5)
    with pytest.raises(InvalidParameter, match="normalization"):
        zscore_images(img, "minmax")
    with pytest.raises(InvalidParameter, match=r"\(N, H, W, C\)"):
        zscore_images(img[..., 0], "global")


def test_a_checkpoint_holding_a_pickled_callable_is_refused(tmp_path):
    """Checkpoints and cached autoencoders load with weights_only=True: a file that would run code is refused."""
    import torch

    from clustlib.deep.autoencoder.training import CheckpointMismatch, read_state_file

    evil = tmp_path / "evil.ckpt"
    torch.save({"format": 1, "config": {}, "hook": print}, evil)  # a callable: unpickling it imports code
    with pytest.raises(CheckpointMismatch, match="pickled Python objects"):
        read_state_file(evil)
    plain = tmp_path / "plain.ckpt"
    torch.save({"w": torch.ones(2), "losses": [0.5], "epoch": 3}, plain)
    assert read_state_file(plain)["epoch"] == 3
