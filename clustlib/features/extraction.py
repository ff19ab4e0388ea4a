"""Batched extraction of L1/L2/L3 features with an on-disk cache."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from clustlib.data.catalog import TreeSource, tree_source
from clustlib.data.imageset import ImageSet
from clustlib.data.sources.folder import decode_images
from clustlib.deep.engine import check_writable_folder
from clustlib.errors import InvalidParameter, UnknownName
from clustlib.features import cache as _cache
from clustlib.features.preprocess import preprocess_batch
from clustlib.features.registry import LAYER_NAMES, create_extractor, get_extractor_info
from clustlib.features.taps import TapRecorder
from clustlib.features.weights import file_sha256, resolve_weights

__all__ = ["extract", "ExtractionResult", "clustering_view", "reduction_path", "drop_wide_layer"]


@dataclass(eq=False)
class ExtractionResult(Mapping):
    """Features of one dataset from one extractor, with where they came from.

    Behaves as the mapping ``{layer: features}``.

    Attributes
    ----------
    features : dict of str to ndarray of float32, shape (N, D)
        One matrix per requested layer (read-only memmaps above ``mmap_threshold_bytes``).
    from_cache : dict of str to bool
        Whether each layer was read from the cache rather than computed.
    seconds : float
        Wall time of the whole call (weights resolution, forward passes, cache I/O), in seconds.
    extractor : str
        Registered extractor name.
    preprocessing : dict
        Size, interpolation, mean/std actually used, and ``pixels``: how the network's input was resampled
        (``"resized from the 224x224 array"``, ``"decoded from the files at 299x299 (bicubic)"``, ``"native size"``).
    weights_sha256 : str
        SHA-256 of the weights file.
    cache_paths : dict of str to Path or None
        Where each layer is cached (None with ``cache=False``).
    device : str
        Device of the forward passes (``"cpu"``, ``"cuda:0"``), also when everything was cached.
    compute_dtype : str
        ``"float32"`` (the default, as the paper's Keras models), or the autocast dtype on CUDA with ``amp=True``.
    """

    features: dict
    from_cache: dict
    seconds: float
    extractor: str
    preprocessing: dict
    weights_sha256: str
    cache_paths: dict = field(default_factory=dict)
    device: str = "cpu"
    compute_dtype: str = "float32"

    def __getitem__(self, layer: str) -> np.ndarray:
        try:
            return self.features[layer]
        except KeyError:
            raise UnknownName("layer", layer, self.features) from None

    def __iter__(self):
        return iter(self.features)

    def __len__(self) -> int:
        return len(self.features)

    @property
    def all_from_cache(self) -> bool:
        """True when no forward pass ran."""
        return all(self.from_cache.values())

    def to_record(self) -> dict:
        """JSON-able summary (no arrays) for run provenance."""
        return {
            "extractor": self.extractor,
            "layers": {k: list(v.shape) for k, v in self.features.items()},
            "from_cache": dict(self.from_cache),
            "seconds": round(self.seconds, 3),
            "preprocessing": self.preprocessing,
            "weights_sha256": self.weights_sha256,
            "device": self.device,
            "compute_dtype": self.compute_dtype,
        }


def extract(
    images: ImageSet | np.ndarray,
    extractor: str,
    layers: Sequence[str] | str = ("L3",),
    *,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    weights: str | Path | None = None,
    offline: bool | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    interpolation: str | None = None,
    amp: bool = False,
    num_threads: int | None = None,
    progress: bool = True,
    mmap_threshold_bytes: int = 1 << 30,
) -> ExtractionResult:
    """Features of every image at the requested layers of a pretrained network.

    Each batch is preprocessed in torch (grey -> RGB, resize of the whole image to the native
    size, mean/std), then one forward pass under ``torch.inference_mode`` fills every requested
    layer (channels-last on CPU; float32 unless ``amp``). An ImageSet loaded from an image tree
    (variable-size files, decoded at 224 px by :func:`clustlib.data.load`) is not resized a second
    time: when the network wants another size or kernel, each batch is decoded again from its files
    straight at the network's size (:func:`clustlib.data.catalog.tree_source`), so every image is
    resampled once from its source, as Keras' ``load_img(target_size=...)`` did in the paper's code.
    Outputs go straight into preallocated (N, D)
    float32 arrays, memory-mapped cache files when ``cache=True``, so even the ~200,000-wide L1
    layers never need a second copy in memory.

    Parameters
    ----------
    images : ImageSet or ndarray of uint8, shape (N, H, W, C)
        C is 1 (grey) or 3 (RGB). An ImageSet's fingerprint keys the cache.
    extractor : str
        Registered name, e.g. ``"efficientnet_lite0.imagenet"`` (see :func:`list_extractors`).
    layers : sequence of {"L1", "L2", "L3"} or str
        Layers to return (Guérin et al. 2021, Table 2).
    batch_size : int
        Images per forward pass, >= 1.
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    weights : path, optional
        Explicit checkpoint file (see :func:`clustlib.features.resolve_weights`).
    offline : bool, optional
        Forbid weight downloads; ``None`` reads ``CLUSTLIB_OFFLINE``.
    cache : bool
        Read and write ``<cache_dir>/features/<key>.npy``.
    cache_dir : path, optional
        Cache root; default :func:`clustlib.paths.cache_root` (``CLUSTLIB_CACHE``).
    interpolation : {"nearest", "bilinear", "bicubic", "area"}, optional
        Override the registered resize kernel (``"nearest"`` mimics Keras' ``load_img``).
    amp : bool, default False
        Autocast to bfloat16 (float16 where bf16 is unsupported) on CUDA; ignored on CPU, which always
        computes in float32. Off by default: the paper's Keras networks ran in float32, and on a small
        test bfloat16 features moved the agglomerative partition to ARI 0.54-0.66 against float32.
    num_threads : int, optional
        torch intra-op threads for the call (restored afterwards); fix it for bitwise
        reproducible CPU features.
    progress : bool
        Show a tqdm progress bar.
    mmap_threshold_bytes : int
        Cached layers larger than this are returned as read-only memmaps.

    Returns
    -------
    ExtractionResult
        Mapping ``{layer: float32 (N, D)}`` with ``from_cache``, ``seconds`` and provenance.

    Raises
    ------
    UnknownName
        Unknown extractor or layer (the message lists the valid ones).
    InvalidParameter
        Images not uint8 (N, H, W, C) with C in {1, 3}, no images, batch size < 1, bad device, a cache folder
        that cannot be written (when something must be computed). All raised before any forward pass.
    WeightsUnavailable
        The checkpoint is missing and cannot be downloaded; the message names file and folder.

    References
    ----------
    .. [1] J. Guérin et al. "Combining pretrained CNN feature extractors to enhance clustering of
       complex natural images". Neurocomputing 423, 2021. Code:
       https://github.com/jorisguerin/pretrainedCNN_clustering
    """
    start_time = time.perf_counter()
    info = get_extractor_info(extractor)
    layers = _validate_layers(layers)
    pixels, fingerprint = _validate_images(images)
    _validate_positive_int("batch_size", batch_size)
    if num_threads is not None:
        _validate_positive_int("num_threads", num_threads)
    torch_device = _validate_device(device)
    prep = info.preprocessing.replace(interpolation=interpolation)
    source, pixels_note = _resampling(images, pixels, prep)
    use_amp = amp and torch_device.type == "cuda"
    compute_dtype = "float32"
    if use_amp:
        compute_dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"

    weights_path = resolve_weights(extractor, weights=weights, offline=offline, root=cache_dir)
    weights_sha256 = file_sha256(weights_path)
    n_images = pixels.shape[0]

    features: dict[str, np.ndarray] = {}
    from_cache = {layer: False for layer in layers}
    paths: dict[str, Path | None] = {layer: None for layer in layers}
    notes: dict[str, dict] = {}
    for layer in layers:
        if not cache:
            continue
        # pixels decoded again from the files are not the array's: they get their own key (array keys are unchanged)
        key_parts = dict(fingerprint=fingerprint if source is None else f"{fingerprint} | {pixels_note}",
                         extractor=extractor, layer=layer, tap=info.layers[layer].to_dict(),
                         preprocessing=prep.to_dict(), weights_sha256=weights_sha256, compute_dtype=compute_dtype)
        paths[layer] = _cache.features_dir(cache_dir) / f"{_cache.feature_cache_key(**key_parts)}.npy"
        notes[layer] = key_parts
        cached = _cache.load_cached(paths[layer], n_images, mmap_threshold_bytes)
        if cached is not None:
            features[layer], from_cache[layer] = cached, True

    todo = [layer for layer in layers if not from_cache[layer]]
    if todo and cache:  # fail now rather than after the first batch (a read-only cache serves hits only)
        check_writable_folder(_cache.features_dir(cache_dir), what="The feature cache folder",
                              fix="pass cache_dir= (or set CLUSTLIB_CACHE to) a writable folder, or cache=False.")
    if todo:
        computed = _run(info, pixels, todo, prep, weights_path, torch_device, batch_size, compute_dtype,
                        num_threads, progress, {k: paths[k] for k in todo} if cache else None, notes, source)
        for layer in todo:
            if cache:  # read back what was committed: same object type as a cache hit
                loaded = _cache.load_cached(paths[layer], n_images, mmap_threshold_bytes)
                features[layer] = loaded if loaded is not None else np.load(paths[layer], mmap_mode="r")
            else:
                features[layer] = computed[layer]

    return ExtractionResult(
        features={layer: features[layer] for layer in layers},
        from_cache=from_cache,
        seconds=time.perf_counter() - start_time,
        extractor=extractor,
        preprocessing={**prep.to_dict(), "pixels": pixels_note},
        weights_sha256=weights_sha256,
        cache_paths=paths,
        device=str(torch_device),
        compute_dtype=compute_dtype,
    )


#: The resize kernels of a network's preprocessing as Pillow names (what decoding the files uses).
_PIL_KERNELS = {"nearest": "nearest", "bilinear": "bilinear", "bicubic": "bicubic", "area": "box"}


def _resampling(images, pixels: np.ndarray, prep) -> tuple[TreeSource | None, str]:
    """The files to decode again (None: use the array) and how the network's input is resampled, in words."""
    size = (prep.size, prep.size)
    source = tree_source(images.images) if isinstance(images, ImageSet) else None
    if source is not None and (tuple(source.size) != size or source.resample != _PIL_KERNELS[prep.interpolation]):
        return source, f"decoded from the files at {size[0]}x{size[1]} ({_PIL_KERNELS[prep.interpolation]})"
    if tuple(pixels.shape[1:3]) == size:
        return None, "native size" if source is None else f"decoded from the files at {size[0]}x{size[1]} " \
                                                           f"({source.resample})"
    return None, f"resized from the {pixels.shape[1]}x{pixels.shape[2]} array ({prep.interpolation})"


def _batch(pixels: np.ndarray, start: int, stop: int, prep, source: TreeSource | None) -> np.ndarray:
    """Rows ``start:stop`` as uint8 (B, H, W, C): from the array, or decoded again from their files."""
    if source is None:
        return pixels[start:stop]
    return decode_images(source.paths[start:stop], prep.size, resample=_PIL_KERNELS[prep.interpolation],
                         mode="L" if pixels.shape[-1] == 1 else "RGB", progress=False, dataset=source.dataset)


def _run(info, pixels, layers, prep, weights_path, device, batch_size, compute_dtype, num_threads, progress,
         paths, notes, source=None) -> dict[str, np.ndarray]:
    """Forward passes over all batches, filling one (N, D) array per layer."""
    n_images = pixels.shape[0]
    outputs: dict[str, np.ndarray] = {}
    temps: dict[str, Path] = {}
    window = [0, 0]  # rows of the current batch

    def sink(layer: str, batch_features: torch.Tensor) -> None:  # (B, D)
        if layer not in outputs:
            shape = (n_images, int(batch_features.shape[1]))
            if paths is None:
                outputs[layer] = np.empty(shape, dtype=np.float32)
            else:
                outputs[layer], temps[layer] = _cache.open_for_writing(paths[layer], shape)
        torch.from_numpy(outputs[layer][window[0]:window[1]]).copy_(batch_features)

    old_threads = torch.get_num_threads()
    committed = False
    try:
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        model = create_extractor(info.name, weights=weights_path)
        channels_last = device.type == "cpu"
        model = model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
        autocast = (torch.autocast(device.type, dtype=getattr(torch, compute_dtype))
                    if compute_dtype != "float32" else contextlib.nullcontext())
        bar = tqdm(total=n_images, unit="img", desc=f"{info.name} {'+'.join(layers)}", disable=not progress)
        with bar, torch.inference_mode(), autocast, TapRecorder(model, {k: info.layers[k] for k in layers}, sink) as rec:
            for start in range(0, n_images, batch_size):
                window[:] = [start, min(start + batch_size, n_images)]
                batch = _batch(pixels, start, window[1], prep, source)
                rec.run(preprocess_batch(batch, prep, device, channels_last=channels_last))
                bar.update(window[1] - start)
        if paths is not None:
            for layer in layers:
                note = dict(notes[layer], shape=list(outputs[layer].shape), created_unix=time.time())
                _cache.commit(outputs.pop(layer), temps.pop(layer), paths[layer], note)
        committed = True
    finally:
        torch.set_num_threads(old_threads)
        if not committed:
            for tmp in temps.values():
                _cache.discard(tmp)
    return outputs


def _validate_layers(layers) -> tuple[str, ...]:
    if isinstance(layers, str):
        layers = (layers,)
    layers = tuple(dict.fromkeys(layers))  # de-duplicate, keep order
    if not layers:
        raise InvalidParameter(f"layers is empty; ask for at least one of {', '.join(LAYER_NAMES)}.")
    for layer in layers:
        if layer not in LAYER_NAMES:
            raise UnknownName("layer", layer, LAYER_NAMES)
    return layers


def _validate_images(images) -> tuple[np.ndarray, str]:
    if isinstance(images, ImageSet):
        return images.images, images.fingerprint
    if not isinstance(images, np.ndarray):
        raise InvalidParameter(
            f"images must be an ImageSet or a uint8 ndarray of shape (N, H, W, C); got {type(images).__name__}."
        )
    if images.dtype != np.uint8:
        raise InvalidParameter(
            f"images must have dtype uint8 (pixels in [0, 255]); got {images.dtype}. "
            "Convert with (x * 255).round().astype(np.uint8) for floats in [0, 1]."
        )
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or min(images.shape[1:3]) < 1:
        raise InvalidParameter(
            f"images must have shape (N, H, W, C) with C = 1 (grey) or 3 (RGB); got {images.shape}. "
            "Add a trailing channel axis to grey images with x[..., None]."
        )
    if images.shape[0] == 0:
        raise InvalidParameter("images is empty (N = 0): there is nothing to extract features from.")
    digest = hashlib.sha256(repr(images.shape).encode())
    digest.update(np.ascontiguousarray(images).data)
    return images, "array:" + digest.hexdigest()


def _validate_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidParameter(f"{name} must be an integer >= 1, got {value!r}.")


def _validate_device(device) -> torch.device:
    try:
        torch_device = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidParameter(f"device must be a torch device such as 'cpu' or 'cuda:0', got {device!r}.") from None
    if torch_device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameter("device='cuda' was asked for but no CUDA device is visible; use device='cpu'.")
    if torch_device.type not in ("cpu", "cuda"):
        raise InvalidParameter(f"device must be 'cpu' or 'cuda[:i]', got {device!r}.")
    return torch_device


def reduction_path(features_path: Path) -> Path:
    """Where the exact reduction of the cached features at ``features_path`` is kept: ``<key>.iso.npy`` beside
    them (its note ``<key>.iso.json``), so it shares their key (dataset and subset fingerprint, extractor, tap,
    preprocessing, weights, precision)."""
    return features_path.with_name(features_path.stem + ".iso.npy")


def clustering_view(extracted: ExtractionResult, layer: str) -> tuple[np.ndarray, dict]:
    """The matrix that clustering one layer needs, computed once for every study that clusters it.

    A layer no wider than its number of images N is returned as it is. A wider one (D > N: L1/L2 of most
    networks) is replaced by its exact isometric reduction (:func:`clustlib.cluster.isometric_reduction`,
    float64 (N, r) with r <= N: the same pairwise distances, hence the same Ward tree and k-means objective),
    cached beside the features (:func:`reduction_path`), so study 01 computes it and studies 02 and 03 read it
    (it is the costly part of clustering a wide layer: the N x N Gram matrix and its eigendecomposition).

    Returns the matrix and a note: ``reduction`` (what was done) and ``reduction_s`` (seconds, or ``"cache"``).
    """
    from clustlib.cluster import isometric_reduction  # clustlib.cluster does not import features: no cycle

    matrix = extracted[layer]
    if matrix.shape[1] <= matrix.shape[0]:
        return matrix, {"reduction": "none"}
    features_path = extracted.cache_paths.get(layer)
    cached = None if features_path is None else reduction_path(features_path)
    if cached is not None and cached.exists():
        try:
            reduced = np.load(cached)
            note = json.loads(cached.with_suffix(".json").read_text())
            if reduced.shape[0] == matrix.shape[0]:
                return reduced, note
        except (OSError, ValueError):
            pass  # unreadable: computed again below
    start = time.perf_counter()
    reduced, description = isometric_reduction(matrix)
    note = {"reduction": description, "reduction_s": round(time.perf_counter() - start, 3)}
    if cached is not None:
        tmp = cached.with_name(f".{cached.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, reduced)
        note_tmp = cached.with_name(f".{cached.stem}.{os.getpid()}.tmp.json")
        note_tmp.write_text(json.dumps({**note, "reduction_s": "cache"}))
        os.replace(note_tmp, cached.with_suffix(".json"))
        os.replace(tmp, cached)
    return reduced, note


def drop_wide_layer(extracted: ExtractionResult, layer: str) -> int:
    """Delete a layer wider than its N images from the cache, with its exact reduction; returns the bytes freed.

    For a study that clusters each wide layer once and then needs it no more (study 01's ``full`` profile with
    ``keep_wide_features=False``): the provenance note ``<key>.json`` stays, a later call of :func:`extract`
    computes the layer again. Layers with D <= N are kept (0 bytes freed).
    """
    path = extracted.cache_paths.get(layer)
    if path is None or extracted[layer].shape[1] <= extracted[layer].shape[0]:
        return 0
    freed = 0
    for target in (path, reduction_path(path), reduction_path(path).with_suffix(".json")):
        try:
            freed += target.stat().st_size
            target.unlink()
        except FileNotFoundError:
            pass
    return freed
