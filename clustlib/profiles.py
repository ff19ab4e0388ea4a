"""Studies, their parameter profiles, and validation of parameters against the notebook.

A study is a notebook ``notebooks/<study>.ipynb``; its profiles are ``params/<study>/<profile>.yaml``.
Every key of a profile or ``--set`` override must be a parameter of the notebook's ``parameters`` cell,
with a value of the annotated type (papermill itself only warns), and this is checked before executing.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from clustlib.errors import ProfileError, UnknownName
from clustlib.paths import project_root

__all__ = [
    "PROFILES",
    "notebooks_dir",
    "params_dir",
    "list_studies",
    "resolve_study",
    "notebook_path",
    "notebook_parameters",
    "load_profile",
    "parse_override",
    "resolve_params",
]

PROFILES = ("ci", "smoke", "full")
# Parameters every study notebook has, filled by the runner rather than by a profile.
RUNNER_PARAMETERS = ("profile",)

_TYPES = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
}


def notebooks_dir() -> Path:
    """``<project>/notebooks``."""
    return project_root() / "notebooks"


def params_dir() -> Path:
    """``<project>/params``."""
    return project_root() / "params"


def list_studies() -> list[str]:
    """Study names: the stems of ``notebooks/*.ipynb``, in order."""
    return sorted(p.stem for p in notebooks_dir().glob("[0-9]*.ipynb"))


def resolve_study(name: str) -> str:
    """Full study name from the stem, the stem without its number, or the number (``"01"``, ``"1"``)."""
    studies = list_studies()
    if name in studies:
        return name
    for study in studies:
        number, _, rest = study.partition("_")
        if name == rest or (name.isdigit() and int(name) == int(number)):
            return study
    raise UnknownName("study", name, studies)


def notebook_path(study: str) -> Path:
    """``notebooks/<study>.ipynb``."""
    return notebooks_dir() / f"{resolve_study(study)}.ipynb"


@lru_cache(maxsize=32)
def _inspect(path: str, mtime: float) -> dict:
    """Parse the first cell tagged ``parameters``: ``name: type = literal  # help`` per line.

    Parsed with :mod:`ast` rather than papermill's regular expressions, which silently skip a line whose
    comment contains ``=``.
    """
    import ast

    import nbformat

    notebook = nbformat.read(path, as_version=4)
    cells = [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ProfileError(f"{path} has no cell tagged 'parameters'; tag the cell holding the defaults.")
    source = cells[0].source
    lines = source.splitlines()
    declared = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            raise ProfileError(f"{path}: the parameters cell must hold only `name: type = literal` lines "
                               f"(line {node.lineno} does not).")
        line = lines[node.end_lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line[node.end_col_offset:] else ""
        declared[node.target.id] = {"inferred_type_name": ast.unparse(node.annotation),
                                    "default": ast.unparse(node.value) if node.value is not None else "None",
                                    "help": comment}
    return declared


def notebook_parameters(study: str) -> dict:
    """``{name: {"type": "int", "default": "3", "help": "..."}}`` from the notebook's parameters cell."""
    path = notebook_path(study)
    raw = _inspect(str(path), path.stat().st_mtime)
    return {name: {"type": info["inferred_type_name"], "default": info["default"], "help": info["help"]}
            for name, info in raw.items()}


def load_profile(study: str, profile: str) -> dict:
    """The values of ``params/<study>/<profile>.yaml`` (an empty profile file is allowed)."""
    study = resolve_study(study)
    folder = params_dir() / study
    available = sorted(p.stem for p in folder.glob("*.yaml"))
    if profile not in available:
        raise UnknownName("profile", profile, available or PROFILES)
    values = yaml.safe_load((folder / f"{profile}.yaml").read_text()) or {}
    if not isinstance(values, dict):
        raise ProfileError(f"{folder / (profile + '.yaml')} must be a mapping of parameter: value.")
    return values


def parse_override(text: str) -> tuple[str, object]:
    """``"key=value"`` -> ``(key, value)`` with the value parsed as YAML (``3`` int, ``[a, b]`` list...)."""
    if "=" not in text:
        raise ProfileError(f"Override {text!r} is not of the form key=value (e.g. --set n_seeds=3).")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise ProfileError(f"Override {text!r}: {key!r} is not a parameter name.")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ProfileError(f"Override {text!r}: the value is not valid YAML ({exc}).") from None
    return key, value


def _check_type(key: str, value, type_name: str | None, origin: str) -> None:
    allowed = _TYPES.get((type_name or "").split("[")[0])
    if allowed is None:
        return
    ok = isinstance(value, allowed) and not (type_name in ("int", "float") and isinstance(value, bool))
    if not ok:
        raise ProfileError(
            f"Parameter {key!r} from {origin} must be of type {type_name}, got {type(value).__name__} "
            f"({value!r}). Fix the value in {origin}."
        )


def resolve_params(study: str, profile: str, overrides=()) -> dict:
    """Profile values updated by ``overrides`` (``"key=value"`` strings), validated against the notebook.

    Raises
    ------
    ProfileError
        A key that the notebook does not have (the message lists the valid ones) or a value of the wrong type.
    """
    study = resolve_study(study)
    declared = notebook_parameters(study)
    values = {key: (value, f"params/{study}/{profile}.yaml") for key, value in load_profile(study, profile).items()}
    for text in overrides:
        key, value = parse_override(text)
        values[key] = (value, f"--set {text}")
    valid = sorted(k for k in declared if k not in RUNNER_PARAMETERS)
    for key, (value, origin) in values.items():
        if key not in declared or key in RUNNER_PARAMETERS:
            raise ProfileError(
                f"Unknown parameter {key!r} (from {origin}) for study {study}. "
                f"Valid parameters: {', '.join(valid)}."
            )
        _check_type(key, value, declared[key]["type"], origin)
    return {key: value for key, (value, _) in values.items()}
