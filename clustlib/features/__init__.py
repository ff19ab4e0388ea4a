"""Pretrained CNN feature extractors: registry, weights, preprocessing, L1/L2/L3 taps, cached extraction.

Typical use in a notebook::

    from clustlib.features import extract
    result = extract(imageset, "efficientnet_lite0.imagenet", layers=("L3",))
    X = result["L3"]            # float32 (N, 1280)
    result.from_cache           # {"L3": True} on the second run

See :mod:`clustlib.features.paper_zoo` for how the paper's Keras layer names map onto
torchvision/timm modules.
"""

from clustlib.features.cache import feature_cache_key, features_dir
from clustlib.features.extraction import ExtractionResult, extract
from clustlib.features.factory import create_extractor
from clustlib.features.lite_zoo import OFFLINE_EXTRACTORS
from clustlib.features.paper_zoo import PAPER_EXTRACTORS
from clustlib.features.preprocess import Preprocessing, preprocess_batch
from clustlib.features.registry import (
    LAYER_NAMES,
    ExtractorInfo,
    LayerTap,
    WeightsSource,
    get_extractor_info,
    list_extractors,
    register_extractor,
)
from clustlib.features.weights import downloads_allowed, file_sha256, resolve_weights, weights_dir

__all__ = [
    "extract",
    "ExtractionResult",
    "list_extractors",
    "get_extractor_info",
    "create_extractor",
    "register_extractor",
    "ExtractorInfo",
    "LayerTap",
    "WeightsSource",
    "Preprocessing",
    "preprocess_batch",
    "resolve_weights",
    "weights_dir",
    "downloads_allowed",
    "file_sha256",
    "features_dir",
    "feature_cache_key",
    "LAYER_NAMES",
    "PAPER_EXTRACTORS",
    "OFFLINE_EXTRACTORS",
]
