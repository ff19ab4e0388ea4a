"""Pieces several studies share: dataset loading from profile parameters, paper naming."""

from __future__ import annotations

from clustlib import data
from clustlib.errors import InvalidParameter

__all__ = ["PAPER_ARCHITECTURE_NAMES", "paper_method_name", "load_datasets"]

# Our extractor architecture -> the row label Guérin et al. print in Tables A.3–A.6 and B.7–B.10.
PAPER_ARCHITECTURE_NAMES = {
    "vgg16": "VGG16", "vgg19": "VGG19", "inception_v3": "Inception", "xception": "Xception",
    "resnet50": "Resnet50", "densenet121": "Densenet121", "densenet169": "Densenet169",
    "densenet201": "Densenet201", "nasnet_large": "Nasnet", "inception_resnet_v2": "InceptionResnet",
}


def paper_method_name(extractor: str) -> str:
    """``"vgg16.imagenet"`` -> ``"VGG16"``; names the paper does not use are returned unchanged."""
    return PAPER_ARCHITECTURE_NAMES.get(extractor.split(".")[0], extractor)


def load_datasets(names, subsets: dict | None = None, *, seed: int = 0, root=None) -> dict:
    """Load every dataset named in ``names``, each cut to a stratified subset when ``subsets[name]`` > 0.

    Validates all names and sizes before loading anything heavy; returns ``{name: ImageSet}``.
    """
    subsets = dict(subsets or {})
    unknown = [name for name in subsets if name not in names]
    if unknown:
        raise InvalidParameter(f"subsets names datasets that are not in datasets: {unknown}; "
                               f"datasets are {list(names)}.")
    for name in names:
        if not name.startswith("folder:"):
            data.dataset_info(name)  # raises UnknownName listing the valid datasets
    return {name: data.load(name, subset=subsets.get(name) or None, seed=seed, root=root) for name in names}
