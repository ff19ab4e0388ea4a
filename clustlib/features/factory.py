"""Building a registered extractor with its pretrained weights: :func:`create_extractor`.

Above :mod:`~clustlib.features.registry` (the entries) and :mod:`~clustlib.features.weights` (finding the
checkpoint), as timm's ``_factory.py`` above its ``_registry.py``.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from clustlib.errors import WeightsUnavailable
from clustlib.features.registry import ExtractorInfo, get_extractor_info
from clustlib.features.weights import load_state_dict_file, resolve_weights

__all__ = ["create_extractor"]


def create_extractor(
    name: str,
    *,
    pretrained: bool = True,
    weights: str | os.PathLike | None = None,
    offline: bool | None = None,
) -> nn.Module:
    """Build extractor ``name`` in eval mode, with its pretrained weights loaded.

    Parameters
    ----------
    name : str
        Registered name, see :func:`~clustlib.features.registry.list_extractors`.
    pretrained : bool
        ``False`` gives the architecture with random weights (no file needed).
    weights : path, optional
        Explicit checkpoint file; overrides every other source.
    offline : bool, optional
        Forbid downloads; ``None`` reads ``CLUSTLIB_OFFLINE``.

    Returns
    -------
    torch.nn.Module
        The full classification network (``requires_grad`` off, eval mode). Read layers with
        :func:`clustlib.features.extract`.

    Raises
    ------
    UnknownName
        ``name`` is not registered.
    WeightsUnavailable
        No checkpoint could be found or fetched; the message names the file and its folder.
    """
    info = get_extractor_info(name)
    path = resolve_weights(name, weights=weights, offline=offline) if pretrained else None
    if path is None:
        model = info.builder()
    else:
        model = _build_with_weights(info, path)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def _build_with_weights(info: ExtractorInfo, path) -> nn.Module:
    """Build on the meta device and adopt the checkpoint's tensors: no time spent on a random init."""
    state = load_state_dict_file(path)
    with torch.device("meta"):
        model = info.builder()
    try:
        model.load_state_dict(info.convert_state(model, state), strict=True, assign=True)
    except RuntimeError as err:  # wrong keys or shapes: a file of another network
        raise WeightsUnavailable(
            f"The weights file {path} does not fit extractor {info.name!r} ({str(err).splitlines()[0]}). "
            f"Replace it with {info.weights.file!r} from {', '.join(info.weights.urls) or info.weights.hf_repo}."
        ) from None
    if any(t.is_meta for t in [*model.parameters(), *model.buffers()]):  # a buffer the checkpoint lacks
        model = info.builder()
        model.load_state_dict(info.convert_state(model, state), strict=True)
    return model

