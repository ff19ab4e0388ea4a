"""Reading several named layers in one forward pass, with forward hooks.

Each :class:`~clustlib.features.registry.LayerTap` becomes a hook that flattens what it reads to
(B, D) and hands it to a sink (which copies it into the preallocated output array). Once every
requested layer has been read the forward pass is cut short, so asking only for L1 does not pay for
the head of the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from clustlib.errors import InvalidParameter

if TYPE_CHECKING:  # registry imports this module: no runtime import, no cycle
    from clustlib.features.registry import LayerTap

__all__ = ["TapRecorder", "feature_dims", "flatten_features"]


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
