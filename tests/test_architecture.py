"""The rooms of docs/architecture.md and what each may import, checked.

* ``netviz_core`` (the library, the only package in the wheel) imports neither the
  dashboard (``streamlit``, ``netviz_app``, ``app_pages``) nor ``benchmarks``: checked
  on the source (every import statement, lazy ones in functions included) and at run
  time (importing every module of the package, then reading ``sys.modules``).
* No import cycle inside ``netviz_core``: neither among module-level and ``TYPE_CHECKING``
  imports, nor once imports inside functions count too (a lazy import only hides a cycle).
* The wheel holds ``netviz_core`` only, and the installed ``netviz`` works without the
  repository.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "netviz_core"
#: Top-level names the library must never import (``pages``: the name the design card gives ``app_pages``).
FORBIDDEN = ("streamlit", "netviz_app", "app_pages", "pages", "benchmarks")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(module: str, path: Path, *, lazy: bool) -> list[tuple[str, int]]:
    """(imported module, line) for every import of ``path``; ``lazy``: also those inside functions.

    A ``from X import name`` counts as importing ``X.name`` when that is a module of the
    package, else ``X``.  Imports under ``if TYPE_CHECKING:`` count (they are part of the
    design's dependency graph even though they do not run).
    """
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import) and (lazy or not in_function):
                found.extend((alias.name, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and (lazy or not in_function):
                if child.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module or ""
                for alias in child.names:
                    sub = f"{source}.{alias.name}"
                    found.append((sub if sub in MODULES else source, child.lineno))
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def test_the_library_source_imports_no_dashboard_and_no_benchmark():
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for module, path in MODULES.items()
        for name, line in imports_of(module, path, lazy=True)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert not offending, "\n".join(offending)


def test_the_library_source_does_not_reach_into_the_repository():
    """No ``sys.path`` edits and no path climbing out of the package (``Path(__file__).parents[...]``).

    The wheel holds ``netviz_core`` only: the checkout's ``assets/``, ``app.py`` or
    ``benchmarks/`` are not there when it is installed.
    """
    offending = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            code = ast.unparse(node) if isinstance(node, (ast.Attribute, ast.Subscript)) else ""
            if isinstance(node, ast.Attribute) and code == "sys.path":
                offending.append(f"{path.relative_to(ROOT)}:{node.lineno} uses sys.path")
            elif isinstance(node, ast.Subscript) and "__file__" in code and ".parents" in code:
                offending.append(f"{path.relative_to(ROOT)}:{node.lineno} climbs out of the package: {code}")
    assert not offending, "\n".join(offending)


@pytest.mark.long
def test_importing_every_library_module_loads_no_dashboard_and_no_benchmark():
    code = (
        "import importlib, json, sys\n"
        f"for name in {sorted(m for m in MODULES if not m.endswith('__main__'))!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{FORBIDDEN!r})))\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def import_graph(modules: dict[str, Path] = MODULES, *, lazy: bool = False) -> dict[str, set[str]]:
    """Module -> the package's modules it imports at module level (``TYPE_CHECKING`` included).

    ``lazy``: imports inside functions count too.  A module's own ancestor packages are
    left out: they are always imported before it.
    """
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        ancestors = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        graph[module] = {name for name, _ in imports_of(module, path, lazy=lazy)
                         if name in MODULES and name != module and name not in ancestors}
    return graph


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_inside_the_library():
    assert cycles(import_graph()) == []
    assert cycles(import_graph(lazy=True)) == []


def test_a_cycle_hidden_by_an_import_inside_a_function_is_found(tmp_path):
    """Two modules shaped as parametrizations and spectrum were before they shared spectral_basis."""
    first, second = tmp_path / "parametrizations.py", tmp_path / "spectrum.py"
    first.write_text("def magnitude():\n    from .spectrum import MAGNITUDES\n    return MAGNITUDES\n")
    second.write_text("from .parametrizations import magnitude\nMAGNITUDES = ()\n")
    names = {"netviz_core.optimize.parametrizations": first, "netviz_core.optimize.spectrum": second}
    assert cycles(import_graph(names)) == []
    assert cycles(import_graph(names, lazy=True)) == [sorted(names)]


@pytest.mark.long
def test_the_wheel_holds_the_library_only_and_its_netviz_command_runs_without_the_repository(tmp_path):
    """Build the wheel from a copy of what it packages, install it outside the checkout, run ``netviz``.

    The installed package must not find the checkout: the command runs in an empty
    folder, with the shared environment's dependencies on PYTHONPATH (which, unlike the
    environment itself, does not load the editable install of the checkout).
    """
    pytest.importorskip("setuptools")
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(PACKAGE, source / "netviz_core", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", str(source), "-w", str(wheels)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("netviz-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"netviz_core", wheel.name.split("-py3")[0] + ".dist-info"}, tops

    target = tmp_path / "installed"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                                "--target", str(target), str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    site_packages = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *site_packages]), "OMP_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1"}
    code = ("import sys, netviz_core; print(netviz_core.__file__); "
            "from netviz_core.cli import main; sys.exit(main(['--help']))")
    ran = subprocess.run([sys.executable, "-S", "-c", code], cwd=empty, env=env, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.splitlines()[0].startswith(str(target))
    for command in ("classify", "saliency", "fool", "classvis", "impressions"):
        assert command in ran.stdout
    assert "bench" not in ran.stdout
    script = (target / "bin" / "netviz").read_text()
    assert "netviz_core.cli" in script


def test_no_pages_folder_beside_the_main_script():
    """A ``pages/`` folder next to ``app.py`` puts a fresh server's first run in Streamlit's legacy
    multipage mode (the page runs without the frame; docs/architecture.md): the pages live in ``app_pages/``."""
    assert not (ROOT / "pages").exists()
    registered = {p.name for p in (ROOT / "app_pages").glob("[0-9]_*.py")}
    app = (ROOT / "app.py").read_text()
    assert registered and all(f'"app_pages/{name}"' in app for name in registered)
