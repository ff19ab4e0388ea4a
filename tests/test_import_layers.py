"""No two clustlib modules import each other, and a lower layer never imports a higher one.

The graph is read from the source with :mod:`ast` (nothing is imported): an edge ``a -> b`` for every ``import``
or ``from ... import`` in ``a`` that names clustlib module ``b``, at module level, under ``if TYPE_CHECKING:``, or
inside a function (a lazy import is still a dependency; it only hides the cycle until the call). A lazy import
may be exempted only by a trailing ``# cycle-ok: <reason>`` comment on its line. ``from pkg import name`` is an
edge to ``pkg.name`` when that is a module, else to ``pkg`` (its ``__init__``). Importing ``pkg.sub`` also runs
``pkg/__init__``, but that implicit step is not an edge: otherwise every package that re-exports its submodules
would be a cycle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import clustlib

_PACKAGE_DIR = Path(clustlib.__file__).parent
_MARK = re.compile(r"#\s*cycle-ok:\s*\S")

#: The bottom layer: these modules import no clustlib module but the ones listed.
_BASE = {"clustlib.errors": (), "clustlib.paths": (), "clustlib._atomic": ("clustlib.errors",)}
#: The library's core, lowest first: a module of a package never imports the packages listed for it.
_FORBIDDEN = {
    "clustlib.data": ("clustlib.cluster", "clustlib.features", "clustlib.deep", "clustlib.studies"),
    "clustlib.cluster": ("clustlib.data", "clustlib.features", "clustlib.deep", "clustlib.studies"),
    "clustlib.features": ("clustlib.deep", "clustlib.studies"),
}

#: Cycles that exist on main in packages being rebuilt by others (issue 17); each entry must disappear with that
#: work, and the test says so when it has (a stale entry fails), so this list only shrinks.
_PENDING = [
    # clustlib/studies/ and findings.py: findings -> dac_study -> clustpy_benchmark -> findings, _common -> findings
    {"clustlib.findings", "clustlib.studies._common", "clustlib.studies.clustpy_benchmark",
     "clustlib.studies.dac_study"},
]


def _modules(package_dir: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``) for every ``.py`` file below ``package_dir``."""
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [package, *path.relative_to(package_dir).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _targets(node, module: str, is_package: bool, modules) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:  # relative: from . / .. import
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module
        names = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin
                 for alias in node.names]
    out = []
    for name in names:
        while name and name not in modules:  # import a.b.c of a module a.b names a.b
            name = name.rpartition(".")[0]
        if name and name != module:
            out.append(name)
    return out


def import_graph(package_dir: Path, package: str) -> dict[str, dict[str, int]]:
    """``{module: {imported module: line}}`` for the package at ``package_dir`` (see the module docstring)."""
    modules = _modules(package_dir, package)
    graph: dict[str, dict[str, int]] = {m: {} for m in modules}
    for module, (path, is_package) in modules.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source, filename=str(path))
        in_function = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                       for n in ast.walk(f)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            text = " ".join(lines[node.lineno - 1:node.end_lineno])
            if id(node) in in_function and _MARK.search(text):
                continue
            for target in _targets(node, module, is_package, modules):
                graph[module].setdefault(target, node.lineno)
    return graph


def import_cycles(graph: dict[str, dict[str, int]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, cycles, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(component)
    return cycles


def _describe(cycle: set[str], graph) -> str:
    return "; ".join(f"{a} -> {b} (line {line})" for a in sorted(cycle) for b, line in graph[a].items()
                     if b in cycle)


@pytest.fixture(scope="module")
def graph():
    return import_graph(_PACKAGE_DIR, "clustlib")


def test_the_checker_finds_a_lazy_cycle_and_honours_the_mark(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from pkg.sub.low import f\n")
    (pkg / "sub" / "low.py").write_text("def f():\n    from pkg.high import g\n")
    (pkg / "high.py").write_text("from .sub import low\n\ndef g():\n    pass\n")
    (pkg / "other.py").write_text("import pkg.high\n")
    cycles = import_cycles(import_graph(pkg, "pkg"))
    assert cycles == [{"pkg.sub.low", "pkg.high"}]
    (pkg / "sub" / "low.py").write_text("def f():\n    from pkg.high import g  # cycle-ok: tested\n")
    assert import_cycles(import_graph(pkg, "pkg")) == []


def test_no_two_modules_import_each_other(graph):
    cycles = import_cycles(graph)
    new = [c for c in cycles if not any(c <= pending for pending in _PENDING)]
    assert not new, "import cycles: " + " | ".join(_describe(c, graph) for c in new)
    stale = [p for p in _PENDING if not any(len(c & p) > 1 for c in cycles)]
    assert not stale, f"these cycles are gone; delete them from _PENDING in {Path(__file__).name}: {stale}"


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_a_lower_layer_never_imports_a_higher_one(graph):
    wrong = [f"{module} -> {target} (line {line})"
             for module, targets in graph.items() for target, line in targets.items()
             if (module in _BASE and target not in _BASE[module])
             or any(_within(module, package) and any(_within(target, f) for f in forbidden)
                    for package, forbidden in _FORBIDDEN.items())]
    assert not wrong, "a lower layer imports a higher one: " + "; ".join(wrong)
