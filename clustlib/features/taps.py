"""Reading several named layers in one forward pass, with forward hooks.

Each :class:`LayerTap` (where a layer is read; the registry keeps one per L1/L2/L3) becomes a hook that
flattens what it reads to (B, D) and hands it to a sink (which copies it into the preallocated output array).
Once every requested layer has been read the forward pass is cut short, so asking only for L1 does not pay
for the head of the network. This module sits below the registry and imports nothing from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from clustlib.errors import InvalidParameter

__all__ = ["LayerTap", "TapRecorder", "feature_dims", "flatten_features"]

_TAP_POINTS = ("output", "input")
_TAP_POST = (None, "relu")


@dataclass(frozen=True)
class LayerTap:
    """Where a named layer (L1/L2/L3) is read in a torch module tree.

    Parameters
    ----------
    module : str
        Dotted path of a submodule (as in ``model.named_modules()``), e.g. ``"features"`` or
        ``"layer4.2.bn1"``.
    point : {"output", "input"}
        Read the module's output (forward hook) or its first positional input (forward pre-hook;
        used where the paper's layer is a functional op inside ``forward``, e.g. the pooled vector
        that enters the classifier).
    post : {None, "relu"}
        Elementwise op applied to what was read, for a Keras activation layer that torch fuses
        into a shared or functional ReLU.
    keras_name : str
        The layer's name in the Keras implementation the paper used (Table 2), or the closest
        Keras equivalent for networks the table does not list.
    description : str
        One line saying what the layer is.

    Notes
    -----
    A spatial map (B, C, H, W) is flattened in (H, W, C) order, the order of Keras' ``Flatten``
    on channels-last tensors, so the columns correspond to the paper's features one to one.
    """

    module: str
    point: str = "output"
    post: str | None = None
    keras_name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.point not in _TAP_POINTS:
            raise InvalidParameter(f"LayerTap.point must be one of {_TAP_POINTS}, got {self.point!r}.")
        if self.post not in _TAP_POST:
            raise InvalidParameter(f"LayerTap.post must be one of {_TAP_POST}, got {self.post!r}.")

    def to_dict(self) -> dict:
        """JSON-able description (part of the feature cache key)."""
        return {"module": self.module, "point": self.point, "post": self.post}


class _StopForward(Exception):
    """Raised by the last hook to skip the rest of the network."""


def flatten_features(t: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H*W*C) in Keras' channels-last order; (B, D) unchanged; (B, D, 1, 1) -> (B, D)."""
    if t.ndim == 4:
        t = t.permute(0, 2, 3, 1)  # free for channels_last tensors: the memory already is NHWC
    return t.reshape(t.shape[0], -1)


class TapRecorder:
    """Context manager that installs one hook per requested layer on ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    taps : mapping of str to LayerTap
        Layers to read, e.g. ``{"L1": LayerTap("features"), "L3": ...}``.
    sink : callable
        ``sink(layer, features)`` with ``features`` a (B, D) tensor, called from inside the
        forward pass; it must copy what it keeps (later in-place ops may reuse the memory).
    stop_early : bool
        Abort the forward pass once every tap has fired.

    Examples
    --------
    >>> with TapRecorder(model, {"L3": tap}, sink) as rec:   # doctest: +SKIP
    ...     rec.run(x)
    """

    def __init__(
        self,
        model: nn.Module,
        taps: Mapping[str, LayerTap],
        sink: Callable[[str, torch.Tensor], None],
        *,
        stop_early: bool = True,
    ) -> None:
        self.model, self.taps, self.sink, self.stop_early = model, dict(taps), sink, stop_early
        self._handles: list = []
        self._fired: set[str] = set()
        modules = dict(model.named_modules())
        for layer, tap in self.taps.items():
            if tap.module not in modules:
                raise InvalidParameter(
                    f"Layer {layer} reads module {tap.module!r}, which {type(model).__name__} does not have."
                )

    def _hook(self, layer: str, tap) -> Callable:
        def record(tensor: torch.Tensor) -> None:
            if layer in self._fired:
                raise RuntimeError(f"Module {tap.module!r} of layer {layer} ran twice in one forward pass.")
            self._fired.add(layer)
            if tap.post == "relu":
                tensor = F.relu(tensor)
            self.sink(layer, flatten_features(tensor))
            if self.stop_early and len(self._fired) == len(self.taps):
                raise _StopForward

        if tap.point == "input":
            return lambda module, args: record(args[0])
        return lambda module, args, output: record(output)

    def __enter__(self) -> "TapRecorder":
        modules = dict(self.model.named_modules())
        for layer, tap in self.taps.items():
            module = modules[tap.module]
            hook = self._hook(layer, tap)
            if tap.point == "input":
                self._handles.append(module.register_forward_pre_hook(hook))
            else:
                self._handles.append(module.register_forward_hook(hook))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def run(self, x: torch.Tensor) -> None:
        """One forward pass of ``model`` on ``x``; every tap fires exactly once."""
        self._fired = set()
        try:
            self.model(x)
        except _StopForward:
            pass
        missing = set(self.taps) - self._fired
        if missing:
            raise RuntimeError(f"Layers {sorted(missing)} were not reached in the forward pass.")


def feature_dims(info, layers=("L1", "L2", "L3"), size: int | None = None) -> dict[str, int]:
    """Width D of each layer of extractor ``info`` for a (size x size) input, computed on the meta device.

    Parameters
    ----------
    info : ExtractorInfo
        Registry entry.
    layers : sequence of str
        Layer names.
    size : int, optional
        Input side in pixels; default the native size.

    Returns
    -------
    dict of str to int
    """
    size = size or info.preprocessing.size
    with torch.device("meta"):
        model = info.builder().eval()
    dims: dict[str, int] = {}
    with torch.no_grad(), TapRecorder(model, {k: info.layers[k] for k in layers}, lambda k, t: dims.__setitem__(k, t.shape[1])) as rec:
        rec.run(torch.empty(1, 3, size, size, device="meta"))
    return dims
