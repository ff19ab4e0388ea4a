"""Side-by-side runs against other implementations, outside the library's core path.

:mod:`clustlib.compare.clustpy_reference` fits ClustPy's own DEC, IDEC and DCN from the same pretrained autoencoder
as :mod:`clustlib.deep` (study 06's side-by-side); it needs the optional ``clustpy`` package. Names load lazily, so
``import clustlib.compare`` imports neither torch nor ClustPy.
"""

from __future__ import annotations

import importlib

__all__ = ["SIDE_BY_SIDE_METHODS", "clustpy_available", "fit_clustpy", "side_by_side", "summarise_side_by_side",
           "to_clustpy_autoencoder"]


def __getattr__(name: str):
    if name in __all__:
        value = getattr(importlib.import_module(f"{__name__}.clustpy_reference"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
