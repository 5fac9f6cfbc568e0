"""The package's import graph: the scene stays below what draws with it, and no module imports itself
back through another. Every import counts, the lazy ones inside functions too (they are where a cycle
hides), so the graph is read from the source with `ast`, not from what one import happens to load."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import dessins_de_planche

PACKAGE = Path(dessins_de_planche.__file__).parent
ROOT = PACKAGE.name
SCENE = f"{ROOT}.render.scene"
ABOVE_THE_SCENE = [f"{ROOT}.render.{name}" for name in ("gallery", "offline", "printing")]


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The package's modules that `name` imports anywhere in its source (at the top or in a function)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


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
