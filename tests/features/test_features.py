"""clustlib.features: registry, layer taps, preprocessing, batched extraction, cache, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

import clustlib.features as cf
from clustlib.data.imageset import ImageSet
from clustlib.errors import InvalidParameter, UnknownName, WeightsUnavailable
from clustlib.features import extraction as extract_module
from clustlib.features import registry
from clustlib.features.taps import TapRecorder, flatten_features

TINY = "tinynet.test"


class TinyNet(nn.Module):
    """Two convs + linear head; counts its forward passes and head calls."""

    forwards = 0
    head_calls = 0

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.act2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 5)
        self.fc.register_forward_pre_hook(lambda *_: setattr(TinyNet, "head_calls", TinyNet.head_calls + 1))

    def forward(self, x):
        TinyNet.forwards += 1
        x = self.act2(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(self.pool(x).flatten(1))


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    """Empty cache and offline: nothing outside tmp_path is read or written."""
    monkeypatch.setenv("CLUSTLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CLUSTLIB_OFFLINE", "1")
    monkeypatch.setattr("clustlib.features.weights._hf_cached", lambda repo, file: None)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "torch_hub"))
    return tmp_path


@pytest.fixture
def tiny(cache_env, monkeypatch):
    """Register TINY with a real checkpoint file in the cache's weights folder."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    torch.manual_seed(0)
    weights = cf.weights_dir() / "tinynet.pth"
    weights.parent.mkdir(parents=True)
    torch.save(TinyNet().state_dict(), weights)
    cf.register_extractor(
        TINY,
        preprocessing=cf.Preprocessing(size=16, interpolation="bilinear", mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3)),
        layers={"L1": cf.LayerTap("conv1"), "L2": cf.LayerTap("act2"), "L3": cf.LayerTap("fc", point="input")},
        weights=cf.WeightsSource(file="tinynet.pth", sha256=cf.file_sha256(weights)),
    )(TinyNet)
    TinyNet.forwards = TinyNet.head_calls = 0
    return TINY


@pytest.fixture
def pixels(rng) -> np.ndarray:
    return rng.integers(0, 256, size=(10, 12, 9, 3), dtype=np.uint8)


# --- registry --------------------------------------------------------------------------------------


def test_registry_holds_the_paper_ten_and_the_offline_three():
    assert len(cf.PAPER_EXTRACTORS) == 10
    assert set(cf.PAPER_EXTRACTORS) | set(cf.OFFLINE_EXTRACTORS) == set(cf.list_extractors())
    assert cf.list_extractors("densenet*") == [f"densenet{d}.imagenet" for d in (121, 169, 201)]
    for name in cf.list_extractors():
        info = cf.get_extractor_info(name)
        assert f"{info.arch}.{info.weights_tag}" == name
        assert info.weights.file and info.license and info.origin and info.paper
        assert set(info.layers) == {"L1", "L2", "L3"} and all(t.keras_name for t in info.layers.values())


def test_unknown_extractor_lists_the_valid_names():
    with pytest.raises(UnknownName, match="vgg16.imagenet") as err:
        cf.get_extractor_info("vgg17.imagenet")
    assert "efficientnet_lite0.imagenet" in str(err.value)


def test_register_rejects_duplicates_bad_names_and_missing_layers(tiny):
    info = cf.get_extractor_info(tiny)
    kwargs = dict(preprocessing=info.preprocessing, layers=info.layers, weights=info.weights)
    with pytest.raises(InvalidParameter, match="already registered"):
        cf.register_extractor(tiny, **kwargs)
    with pytest.raises(InvalidParameter, match="<arch>.<weights_tag>"):
        cf.register_extractor("tinynet", **kwargs)
    with pytest.raises(InvalidParameter, match="L1"):
        cf.register_extractor("tiny2.test", **dict(kwargs, layers={"L3": info.layers["L3"]}))


# Guérin et al. (2021), Table 2: (L1, L2, L3) widths of the Keras layers.
TABLE_2 = {
    "vgg16.imagenet": (25088, 4096, 4096),
    "vgg19.imagenet": (25088, 4096, 4096),
    "inception_v3.imagenet": (221952, 131072, 2048),
    "xception.imagenet": (102400, 204800, 2048),
    "resnet50.imagenet": (200704, 25088, 2048),
}
# L3 widths of the other five (Keras avg_pool / global_average_pooling2d_1 of NASNetLarge).
L3_WIDTH = {"densenet121.imagenet": 1024, "densenet169.imagenet": 1664, "densenet201.imagenet": 1920,
            "inception_resnet_v2.imagenet": 1536, "nasnet_large.imagenet": 4032}


@pytest.mark.parametrize("name", sorted(TABLE_2))
def test_layer_widths_match_table_2(name):
    dims = cf.get_extractor_info(name).feature_dims()
    assert (dims["L1"], dims["L2"], dims["L3"]) == TABLE_2[name]


@pytest.mark.parametrize("name", sorted(L3_WIDTH))
def test_last_layer_widths_of_the_other_five(name):
    dims = cf.get_extractor_info(name).feature_dims()
    assert dims["L3"] == L3_WIDTH[name] and dims["L1"] > dims["L3"]


# --- taps ------------------------------------------------------------------------------------------


def _read(model, taps, x):
    got = {}
    with torch.inference_mode(), TapRecorder(model, taps, lambda k, t: got.__setitem__(k, t.clone())) as rec:
        rec.run(x)
    return got


def test_resnet50_taps_equal_the_layers_computed_by_hand():
    torch.manual_seed(0)
    info = cf.get_extractor_info("resnet50.imagenet")
    model = cf.create_extractor("resnet50.imagenet", pretrained=False)
    x = torch.randn(2, 3, 64, 64)
    got = _read(model, info.layers, x)
    with torch.inference_mode():
        l3_map = model.layer3(model.layer2(model.layer1(model.maxpool(model.relu(model.bn1(model.conv1(x)))))))
        block = model.layer4[2]
        l4_in = model.layer4[1](model.layer4[0](l3_map))
        l2 = torch.relu(block.bn1(block.conv1(l4_in)))
        l3 = model.avgpool(block(l4_in)).flatten(1)
    torch.testing.assert_close(got["L1"], l3_map.permute(0, 2, 3, 1).reshape(2, -1))  # Keras (H, W, C) order
    torch.testing.assert_close(got["L2"], l2.permute(0, 2, 3, 1).reshape(2, -1))
    torch.testing.assert_close(got["L3"], l3)


def test_densenet121_taps_equal_torchvision_forward():
    torch.manual_seed(0)
    info = cf.get_extractor_info("densenet121.imagenet")
    model = cf.create_extractor("densenet121.imagenet", pretrained=False)
    x = torch.randn(2, 3, 64, 64)
    got = _read(model, info.layers, x)
    with torch.inference_mode():
        spatial = torch.relu(model.features(x))
        pooled = spatial.mean(dim=(2, 3))
        logits = model(x)
    torch.testing.assert_close(got["L2"], flatten_features(spatial))
    torch.testing.assert_close(got["L3"], pooled)
    torch.testing.assert_close(model.classifier(got["L3"]), logits)


def test_flatten_uses_keras_channels_last_order():
    t = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)
    flat = flatten_features(t)
    assert flat.shape == (2, 12)
    assert flat[0, :3].tolist() == [t[0, 0, 0, 0], t[0, 1, 0, 0], t[0, 2, 0, 0]]


# --- preprocessing ---------------------------------------------------------------------------------


def test_preprocessing_normalises_and_repeats_grey():
    prep = cf.Preprocessing(size=4, interpolation="nearest", mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 1.0))
    grey = np.full((1, 4, 4, 1), 255, dtype=np.uint8)
    x = cf.preprocess_batch(grey, prep)
    assert x.shape == (1, 3, 4, 4) and x.dtype == torch.float32
    torch.testing.assert_close(x[0, :, 0, 0], torch.tensor([1.0, 3.0, 1.0]))
    assert x.is_contiguous(memory_format=torch.channels_last)


def test_preprocessing_resizes_whole_image_without_cropping():
    prep = cf.Preprocessing(size=2, interpolation="area", mean=(0.0,) * 3, std=(1.0,) * 3)
    img = np.zeros((1, 4, 8, 3), dtype=np.uint8)
    img[:, :, 4:] = 255  # right half white
    x = cf.preprocess_batch(img, prep)
    torch.testing.assert_close(x[0, 0], torch.tensor([[0.0, 1.0], [0.0, 1.0]]))


def test_bad_preprocessing_values_are_rejected():
    with pytest.raises(InvalidParameter, match="interpolation"):
        cf.Preprocessing(size=8, interpolation="lanczos", mean=(0,) * 3, std=(1,) * 3)
    with pytest.raises(InvalidParameter, match="size"):
        cf.Preprocessing(size=0, interpolation="bilinear", mean=(0,) * 3, std=(1,) * 3)


# --- extraction and cache --------------------------------------------------------------------------


def test_extract_equals_a_plain_forward_and_runs_once_per_batch(tiny, pixels):
    result = cf.extract(pixels, tiny, layers=("L1", "L2", "L3"), batch_size=4, progress=False)
    assert TinyNet.forwards == 3  # ceil(10 / 4): all layers from one pass per batch
    model = cf.create_extractor(tiny)
    x = cf.preprocess_batch(pixels, cf.get_extractor_info(tiny).preprocessing, channels_last=False)
    with torch.inference_mode():
        l1 = model.conv1(x)
        l2 = model.act2(model.conv2(torch.relu(l1)))
        l3 = model.pool(l2).flatten(1)
    for layer, want in (("L1", l1), ("L2", l2), ("L3", l3)):
        assert result[layer].dtype == np.float32
        np.testing.assert_allclose(result[layer], flatten_features(want).numpy(), rtol=1e-5, atol=1e-6)


def test_asking_only_for_an_early_layer_skips_the_head(tiny, pixels):
    cf.extract(pixels, tiny, layers="L1", batch_size=5, cache=False, progress=False)
    assert TinyNet.forwards == 2 and TinyNet.head_calls == 0


def test_second_run_comes_from_the_cache(tiny, pixels):
    first = cf.extract(pixels, tiny, layers=("L1", "L3"), batch_size=4, progress=False)
    assert first.from_cache == {"L1": False, "L3": False} and not first.all_from_cache
    TinyNet.forwards = 0
    second = cf.extract(pixels, tiny, layers=("L1", "L3"), batch_size=4, progress=False)
    assert second.from_cache == {"L1": True, "L3": True} and TinyNet.forwards == 0
    for layer in ("L1", "L3"):
        np.testing.assert_array_equal(first[layer], second[layer])
        assert second.cache_paths[layer].parent == cf.features_dir()
        note = json.loads(second.cache_paths[layer].with_suffix(".json").read_text())
        assert note["extractor"] == tiny and note["layer"] == layer and note["shape"][0] == len(pixels)
    assert json.dumps(second.to_record())  # provenance is JSON-able


def test_cache_reuses_cached_layers_and_computes_only_the_missing_ones(tiny, pixels):
    cf.extract(pixels, tiny, layers="L3", progress=False)
    mixed = cf.extract(pixels, tiny, layers=("L1", "L3"), progress=False)
    assert mixed.from_cache == {"L1": False, "L3": True}
    assert list(mixed) == ["L1", "L3"]


def test_cache_key_changes_with_preprocessing_and_data(tiny, pixels):
    cf.extract(pixels, tiny, progress=False)
    assert not cf.extract(pixels, tiny, interpolation="nearest", progress=False).from_cache["L3"]
    assert not cf.extract(pixels[:-1], tiny, progress=False).from_cache["L3"]
    assert cf.extract(pixels, tiny, progress=False).from_cache["L3"]


def test_imageset_input_is_keyed_by_its_fingerprint(tiny, pixels):
    images = ImageSet("toy", pixels, np.zeros(len(pixels), dtype=np.int64), ("a",), source="test")
    first = cf.extract(images, tiny, progress=False)
    assert cf.extract(images, tiny, progress=False).from_cache["L3"]
    assert images.fingerprint in first.cache_paths["L3"].with_suffix(".json").read_text()


def test_no_cache_writes_nothing(tiny, pixels):
    result = cf.extract(pixels, tiny, layers=("L2",), cache=False, progress=False)
    assert result.cache_paths == {"L2": None} and not cf.features_dir().exists()


def test_interrupted_extraction_leaves_no_partial_file(tiny, pixels, monkeypatch):
    calls = []
    real = extract_module.preprocess_batch

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(extract_module, "preprocess_batch", flaky)
    with pytest.raises(KeyboardInterrupt):
        cf.extract(pixels, tiny, layers=("L1", "L3"), batch_size=4, progress=False)
    assert list(cf.features_dir().iterdir()) == []
    monkeypatch.setattr(extract_module, "preprocess_batch", real)
    assert not cf.extract(pixels, tiny, layers=("L1", "L3"), progress=False).from_cache["L1"]


def test_batch_size_and_grey_input_do_not_change_features(tiny, pixels):
    grey = pixels[..., :1]
    rgb = np.repeat(grey, 3, axis=-1)
    a = cf.extract(grey, tiny, batch_size=3, cache=False, progress=False)["L3"]
    b = cf.extract(rgb, tiny, batch_size=10, cache=False, progress=False)["L3"]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_large_layers_come_back_memory_mapped(tiny, pixels):
    result = cf.extract(pixels, tiny, layers=("L1", "L3"), mmap_threshold_bytes=1000, progress=False)
    assert isinstance(result["L1"], np.memmap) and not result["L1"].flags.writeable
    assert not isinstance(result["L3"], np.memmap)  # 10 x 6 floats: under the threshold


def test_float32_by_default_and_amp_changes_nothing_on_the_cpu(tiny, pixels):
    """The paper's Keras networks ran in float32: so does extract unless amp=True, which only acts on CUDA."""
    import inspect

    assert inspect.signature(cf.extract).parameters["amp"].default is False
    plain = cf.extract(pixels, tiny, cache=False, progress=False)
    asked = cf.extract(pixels, tiny, amp=True, cache=False, progress=False)
    assert plain.compute_dtype == asked.compute_dtype == "float32"
    np.testing.assert_array_equal(plain["L3"], asked["L3"])  # CPU features as before the default changed
    assert plain.to_record()["compute_dtype"] == "float32"


@pytest.fixture
def tree(tmp_path, rng):
    """A folder tree of 6 variable-size RGB images in two classes, loaded as clustlib.data.load does (224 px)."""
    from PIL import Image

    from clustlib import data

    root = tmp_path / "tree"
    for i in range(6):
        folder = root / f"c{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        shape = (30 + 7 * i, 41 - 3 * i, 3)
        Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8)).save(folder / f"{i}.png")
    return data.load(f"folder:{root}", progress=False)


def test_tree_images_are_decoded_once_at_the_network_size(tiny, tree):
    """An image tree decoded at 224 px is not resized again to the network's 16 px: its files are decoded straight
    at 16 px (one resampling from the source), as Keras' load_img(target_size=...) did."""
    from clustlib.data import catalog
    from clustlib.data.sources.folder import decode_images

    source = catalog.tree_source(tree.images)
    assert source is not None and source.size == (224, 224) and len(source.paths) == len(tree)
    once = decode_images(source.paths, 16, resample="bilinear", progress=False)
    result = cf.extract(tree, tiny, batch_size=4, progress=False)
    np.testing.assert_allclose(result["L3"], cf.extract(once, tiny, cache=False, progress=False)["L3"], rtol=1e-6)
    twice = cf.extract(tree.images, tiny, cache=False, progress=False)  # the 224-px array, resized again
    assert not np.allclose(result["L3"], twice["L3"], rtol=1e-4, atol=1e-5)
    assert result.preprocessing["pixels"] == "decoded from the files at 16x16 (bilinear)"
    assert twice.preprocessing["pixels"] == "resized from the 224x224 array (bilinear)"
    assert cf.extract(tree, tiny, progress=False).from_cache["L3"]  # its own cache key, hit the second time
    # a copy or a take() subset has no files behind it: it falls back to resizing the array
    assert catalog.tree_source(tree.take(np.arange(3)).images) is None
    assert catalog.tree_source(tree.images.copy()) is None


def test_figure_6_of_study_01_uses_the_l3_rows_only():
    """Guérin §3.2.1 keeps only L3 "in the rest of this results section": Figure 6 (§3.2.3) averages L3 rows over
    datasets, never L1/L2 or the pixel baseline."""
    import pandas as pd
    from matplotlib import pyplot as plt

    from clustlib.studies import layer_grid

    rows = []
    for dataset, base in (("a", 0.5), ("b", 0.7)):
        for layer, shift in (("L1", -0.4), ("L3", 0.0)):
            for clustering, extra in (("KM", 0.0), ("Agg", 0.1)):
                rows.append({"dataset": dataset, "method": "vgg16.imagenet", "metric": "nmi", "seed": 0,
                             "setting": f"layer={layer},clustering={clustering}", "value": base + shift + extra,
                             "note": "{}", "time_s": 1.0})
        rows.append({"dataset": dataset, "method": "pixels", "metric": "nmi", "seed": 0, "setting": "clustering=KM",
                     "value": 0.0, "note": "{}", "time_s": 1.0})
    fig = layer_grid.figure_algorithm_architecture(pd.DataFrame(rows))
    heights = sorted(round(p.get_height(), 6) for p in fig.axes[0].patches if p.get_height() > 0)
    assert heights == [0.6, 0.7]  # L3 means over the two datasets: KM (0.5 + 0.7) / 2, Agg (0.6 + 0.8) / 2
    assert "L3" in fig.axes[0].get_title()
    plt.close(fig)


# --- bad input: a clear error before any compute ----------------------------------------------------


@pytest.mark.parametrize(
    "images, kwargs, error, match",
    [
        (np.zeros((2, 8, 8, 3), np.float32), {}, InvalidParameter, "uint8"),
        (np.zeros((2, 8, 8), np.uint8), {}, InvalidParameter, r"\(N, H, W, C\)"),
        (np.zeros((2, 8, 8, 4), np.uint8), {}, InvalidParameter, "C = 1"),
        (np.zeros((0, 8, 8, 3), np.uint8), {}, InvalidParameter, "empty"),
        ([[0]], {}, InvalidParameter, "ImageSet or a uint8 ndarray"),
        (np.zeros((2, 8, 8, 3), np.uint8), {"batch_size": 0}, InvalidParameter, "batch_size"),
        (np.zeros((2, 8, 8, 3), np.uint8), {"batch_size": 2.5}, InvalidParameter, "batch_size"),
        (np.zeros((2, 8, 8, 3), np.uint8), {"layers": ("L4",)}, UnknownName, "L1, L2, L3"),
        (np.zeros((2, 8, 8, 3), np.uint8), {"layers": ()}, InvalidParameter, "at least one"),
        (np.zeros((2, 8, 8, 3), np.uint8), {"device": "tpu"}, InvalidParameter, "device"),
        (np.zeros((2, 8, 8, 3), np.uint8), {"interpolation": "lanczos"}, InvalidParameter, "interpolation"),
    ],
)
def test_bad_input_is_rejected_before_weights_or_compute(cache_env, images, kwargs, error, match):
    # vgg16's weights are absent here: reaching the resolver would raise WeightsUnavailable instead
    with pytest.raises(error, match=match):
        cf.extract(images, "vgg16.imagenet", **kwargs)


def test_unknown_extractor_in_extract(cache_env):
    with pytest.raises(UnknownName, match="efficientnet_lite0.imagenet"):
        cf.extract(np.zeros((1, 8, 8, 3), np.uint8), "nope.imagenet")


def test_cuda_request_without_cuda_is_a_clear_error(cache_env):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(InvalidParameter, match="no CUDA device"):
        cf.extract(np.zeros((1, 8, 8, 3), np.uint8), "efficientnet_lite0.imagenet", device="cuda")


def test_paper_extractor_without_weights_names_file_and_folder(cache_env):
    with pytest.raises(WeightsUnavailable) as err:
        cf.extract(np.zeros((1, 8, 8, 3), np.uint8), "vgg16.imagenet", progress=False)
    assert "vgg16-397923af.pth" in str(err.value) and str(cf.weights_dir()) in str(err.value)


def test_every_public_name_is_importable():
    import clustlib.features.cache
    import clustlib.features.extraction
    import clustlib.features.factory
    import clustlib.features.lite_zoo
    import clustlib.features.paper_zoo
    import clustlib.features.preprocess
    import clustlib.features.registry
    import clustlib.features.taps
    import clustlib.features.weights

    for module in (cf, clustlib.features.cache, clustlib.features.extraction, clustlib.features.factory,
                   clustlib.features.lite_zoo, clustlib.features.paper_zoo, clustlib.features.preprocess,
                   clustlib.features.registry, clustlib.features.taps, clustlib.features.weights):
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"


def test_result_is_a_mapping_and_names_missing_layers(tiny, pixels):
    result = cf.extract(pixels, tiny, layers=("L3",), cache=False, progress=False)
    assert dict(result).keys() == {"L3"} and len(result) == 1
    with pytest.raises(UnknownName, match="Valid layers: L3"):
        result["L1"]
