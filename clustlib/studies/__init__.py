"""The loops and figures behind each study notebook, kept here so the notebooks stay thin.

One module per study: ``layer_grid`` (01), ``mvec_sweep`` (02), ``mvnet_tables`` (03),
``deepclue_study`` (04), ``mmdc_study`` (05), ``clustpy_benchmark`` (06), ``dac_study`` (07).
Study modules load on first use. Each has a ``validate_params(params)``; :func:`validate_study_params` runs it
so that ``clustlib run`` rejects a bad dataset, extractor, method, subset or seed before any kernel starts.
Their grids run through one job runner, :func:`clustlib.studies._grid.run_jobs` (one (dataset, method, setting,
seed) job = checkpointed fit + evaluate + log; in this process, or on Dask with a notebook's ``scheduler``).
"""

import ast
from importlib import import_module

from clustlib.errors import ClustlibError, InvalidParameter
from clustlib.studies._common import PAPER_ARCHITECTURE_NAMES, load_datasets, paper_method_name

#: Study notebook -> its module here (which holds the study's ``validate_params``).
STUDY_MODULES = {
    "01_layer_architecture_grid": "layer_grid",
    "02_mvec_sweep": "mvec_sweep",
    "03_mvnet_jule_tables": "mvnet_tables",
    "04_deepclue": "deepclue_study",
    "05_mmdc": "mmdc_study",
    "06_clustpy_benchmark": "clustpy_benchmark",
    "07_dac": "dac_study",
}
_STUDY_MODULES = tuple(sorted(STUDY_MODULES.values()))

__all__ = [*_STUDY_MODULES, "PAPER_ARCHITECTURE_NAMES", "paper_method_name", "load_datasets", "STUDY_MODULES",
           "validate_study_params"]


def __getattr__(name: str):
    if name in _STUDY_MODULES:
        return import_module(f"clustlib.studies.{name}")
    raise AttributeError(f"module 'clustlib.studies' has no attribute {name!r}")


def validate_study_params(study: str, params: dict) -> None:
    """Check a study's parameters with its module's ``validate_params``, before any kernel starts.

    Parameters
    ----------
    study : str
        Full study name (``"01_layer_architecture_grid"``); a notebook without a module here is not checked.
    params : dict
        Profile values and overrides, as :func:`clustlib.profiles.resolve_params` returns them; the keys they
        leave out take the defaults of the notebook's parameters cell.

    Raises
    ------
    InvalidParameter
        The first bad value, in a message that starts with the study's name and says how to fix it.
    """
    module = STUDY_MODULES.get(study)
    if module is None:
        return
    from clustlib.profiles import notebook_parameters

    defaults = {name: ast.literal_eval(info["default"]) for name, info in notebook_parameters(study).items()}
    try:
        import_module(f"clustlib.studies.{module}").validate_params({**defaults, **params})
    except ClustlibError as exc:
        raise InvalidParameter(f"{study}: {exc}") from exc
