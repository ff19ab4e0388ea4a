"""The loops and figures behind each study notebook, kept here so the notebooks stay thin.

One module per study: ``layer_grid`` (01), ``mvec_sweep`` (02), ``mvnet_tables`` (03),
``deepclue_study`` (04), ``mmdc_study`` (05), ``clustpy_benchmark`` (06), ``dac_study`` (07).
Study modules load on first use.
"""

from importlib import import_module

from clustlib.studies._common import PAPER_ARCHITECTURE_NAMES, load_datasets, paper_method_name

_STUDY_MODULES = ("clustpy_benchmark", "dac_study", "deepclue_study", "layer_grid", "mmdc_study", "mvec_sweep",
                  "mvnet_tables")

__all__ = [*_STUDY_MODULES, "PAPER_ARCHITECTURE_NAMES", "paper_method_name", "load_datasets"]


def __getattr__(name: str):
    if name in _STUDY_MODULES:
        return import_module(f"clustlib.studies.{name}")
    raise AttributeError(f"module 'clustlib.studies' has no attribute {name!r}")
