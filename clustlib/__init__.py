"""clustlib: deep image clustering studies, reproduced (Guérin et al., DeepCluE, MMDC, DAC, ClustPy).

Submodules load on first use (``clustlib.metrics``, ``clustlib.data``...), so ``import clustlib`` is cheap
and does not import torch.
"""

import os
from importlib import import_module

# torch and scikit-learn each bring their own OpenMP runtime; with the default busy-wait policy the two
# spin against each other and scikit-learn's k-means/t-SNE run up to 10x slower after any torch work.
# Takes effect only when clustlib is imported before either runtime loads (as in every notebook here).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

__all__ = [
    "cluster", "data", "deep", "errors", "features", "figure_index", "metrics", "paper", "parallel", "paths", "plots",
    "profiles", "repro", "results", "runner", "studies",
]


def __getattr__(name: str):
    if name in __all__:
        return import_module(f"clustlib.{name}")
    raise AttributeError(f"module 'clustlib' has no attribute {name!r}")
