"""The package's import graph: the scene stays below what draws with it, no module imports itself
back through another, and no private name crosses from one module to another. Every import counts,
the lazy ones inside functions too (they are where a cycle hides), so the graph is read from the
source with `ast`, not from what one import happens to load."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from package_graph import MODULES, PACKAGE, ROOT, base_of, imports, package_of

SCENE = f"{ROOT}.render.scene"
ABOVE_THE_SCENE = [f"{ROOT}.render.{name}" for name in ("gallery", "offline", "printing")]

GRAPH = {name: imports(name, path) for name, path in MODULES.items()}


def _reach(start: str) -> dict[str, str]:
    """Every module `start` imports, directly or through others: module -> the module that imports it."""
    seen, todo = {start: ""}, [start]
    while todo:
        module = todo.pop()
        for imported in sorted(GRAPH[module]):
            if imported not in seen:
                seen[imported] = module
                todo.append(imported)
    del seen[start]
    return seen


def _path(reach: dict[str, str], start: str, end: str) -> str:
    chain = [end]
    while chain[-1] != start:
        chain.append(reach.get(chain[-1]) or start)
    return " -> ".join(reversed(chain))


def test_the_graph_sees_lazy_imports():
    """The walk itself: gallery imports offline only inside a function, and the graph has that edge."""
    assert f"{ROOT}.render.offline" in GRAPH[f"{ROOT}.render.gallery"]
    assert f"{ROOT}.render.scene" in GRAPH[f"{ROOT}.render.offline"]


@pytest.mark.parametrize("above", ABOVE_THE_SCENE)
def test_the_scene_never_imports_what_draws_with_it(above):
    reach = _reach(SCENE)
    assert above not in reach, f"the scene imports {above}: {_path(reach, SCENE, above)}"


def test_no_module_imports_itself_back():
    cycles = []
    for name in sorted(GRAPH):
        for imported in sorted(GRAPH[name]):
            back = _reach(imported)
            if name in back:
                cycles.append(f"{name} -> {_path(back, imported, name)}")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("module", [SCENE, *ABOVE_THE_SCENE, f"{ROOT}.render.steady"])
def test_each_module_imports_alone_in_a_fresh_interpreter(module):
    """Imported first, on its own (no other module loaded before it), each one loads; the scene loads
    none of the modules above it."""
    code = (f"import sys, {module}\n"
            f"print(sorted(m for m in {ABOVE_THE_SCENE!r} if m in sys.modules and m != {module!r}))\n")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120,
                          cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    if module == SCENE:
        assert done.stdout.strip() == "[]", f"importing the scene loaded {done.stdout.strip()}"


# -- private names ---------------------------------------------------------------------------------
# A private module may be imported by the modules of the package that holds it (`_calibrate_board.py`
# by `commands/*`), nothing else. These crossings are known and have an owner:
KNOWN_CROSSINGS: set[tuple[str, str]] = set()  # (importer, private module): none today


def _private(name: str) -> bool:
    """A private name: a leading underscore; not a dunder, not gettext's `_`."""
    return name.startswith("_") and name != "_" and not (name.startswith("__") and name.endswith("__"))


def _hidden_from(importer: str, module: str) -> str | None:
    """The private part of `module`'s path that `importer` is outside of, if any: `a.b._c` (and whatever
    lies under it) is for the modules under `a.b`."""
    parts = module.split(".")
    for index, part in enumerate(parts):
        owner = ".".join(parts[:index])
        if _private(part) and importer != owner and not importer.startswith(owner + "."):
            return ".".join(parts[: index + 1])
    return None


def _chain(node: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None for anything but names and attributes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _private_crossings(name: str, source: str, package: str, modules) -> list[str]:
    """Where module `name` reaches into another of the package's modules for a private name: `from m
    import _name`, a private module imported from outside its package, or `alias._name` where `alias`
    is bound to one of the package's modules. (Attributes of objects, and of other libraries, are not
    looked at: `self._x`, `sd._terminate`.)"""
    found = []
    bound = {}  # names bound to the package's modules: local name -> module

    def crossing(line: int, module: str, what: str) -> None:
        hidden = _hidden_from(name, module)
        if hidden is not None and (name, hidden) not in KNOWN_CROSSINGS:
            found.append(f"{name}:{line}: {what}")

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == ROOT:
                    crossing(node.lineno, alias.name, f"import {alias.name}")
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:
                        bound[ROOT] = ROOT
        elif isinstance(node, ast.ImportFrom):
            base = base_of(node, package)
            if base.split(".")[0] != ROOT:
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in modules:  # `from package import module`
                    crossing(node.lineno, full, f"from {base} import {alias.name}")
                    bound[alias.asname or alias.name] = full
                elif _private(alias.name) and base != name:
                    found.append(f"{name}:{node.lineno}: from {base} import {alias.name}")
                else:
                    crossing(node.lineno, base, f"from {base} import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            chain = _chain(node.value)
            if chain is None or chain[0] not in bound:
                continue
            owner = ".".join([bound[chain[0]], *chain[1:]])
            if owner in modules and owner != name:
                if f"{owner}.{node.attr}" in modules:  # a private module, reached as an attribute
                    crossing(node.lineno, f"{owner}.{node.attr}", ".".join([*chain, node.attr]))
                else:
                    found.append(f"{name}:{node.lineno}: {'.'.join([*chain, node.attr])}")
    return found


def test_the_private_name_check_sees_each_way_in():
    """The check itself, on a module written to break the rule every way it can, and one that keeps it."""
    modules = set(MODULES) | {f"{ROOT}.commands._options", f"{ROOT}.listen.detector"}
    bad = (f"from {ROOT}.listen.detector import _hop_grid, TapDetector\n"
           f"from {ROOT}.commands import _options\n"
           f"from {ROOT}.commands._options import channels\n"
           f"import {ROOT}.listen.detector as det\n"
           f"from {ROOT}.listen import detector\n"
           f"from . import detector as near\n"
           "def f():\n"
           "    return det._BAND_EDGES_HZ, detector._frequency(1, 2, 3), near._BIN_HZ\n")
    found = _private_crossings(f"{ROOT}.listen.scratch", bad, f"{ROOT}.listen", modules)
    assert sorted(line.split(": ", 1)[1] for line in found) == sorted([
        f"from {ROOT}.listen.detector import _hop_grid",
        f"from {ROOT}.commands import _options",
        f"from {ROOT}.commands._options import channels",
        "det._BAND_EDGES_HZ", "detector._frequency", "near._BIN_HZ"]), found
    good = (f"from {ROOT}.commands import _options as opt\n"
            f"from {ROOT}.locale import _\n"
            "import sounddevice as sd\n"
            "def f(self, batch):\n"
            "    sd._terminate(); self._x; batch._replace(); opt.channels; _('x')\n")
    assert _private_crossings(f"{ROOT}.commands.run", good, f"{ROOT}.commands", modules) == []


def test_no_private_name_crosses_modules():
    found = []
    for name, path in sorted(MODULES.items()):
        found += _private_crossings(name, path.read_text(encoding="utf-8"), package_of(name, path), MODULES)
    assert not found, "private names read from another module:\n" + "\n".join(found)
