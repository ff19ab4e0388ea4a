"""Every name a package's ``__all__`` promises can be imported (a lost comma would merge two names)."""

import importlib
import pkgutil

import pytest

import clustlib

MODULES = sorted({"clustlib"} | {f"clustlib.{m.name}" for m in pkgutil.iter_modules(clustlib.__path__)
                                 if not m.name.startswith("_")})


@pytest.mark.parametrize("module_name", MODULES)
def test_all_names_import(module_name):
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{module_name} has no __all__"
    assert len(names) == len(set(names)), f"{module_name}.__all__ lists a name twice"
    for name in names:
        assert getattr(module, name) is not None, f"{module_name}.{name}"


def test_import_clustlib_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, clustlib, clustlib.metrics, clustlib.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
