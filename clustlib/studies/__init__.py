"""The loops and figures behind each study notebook, kept here so the notebooks stay thin.

One module per study: ``layer_grid`` (notebook 01), ``mvec_sweep`` (notebook 02).
"""

__all__ = ["PAPER_ARCHITECTURE_NAMES", "paper_method_name", "load_datasets"]

from clustlib.studies._common import PAPER_ARCHITECTURE_NAMES, load_datasets, paper_method_name  # noqa: E402
