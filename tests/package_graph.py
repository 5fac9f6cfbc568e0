"""The package's modules and the imports between them, read from the source with `ast` (every import
counts, the lazy ones inside functions too): shared by `test_import_graph.py` and `test_layers.py`."""

from __future__ import annotations

import ast
from pathlib import Path

import dessins_de_planche

PACKAGE = Path(dessins_de_planche.__file__).parent
ROOT = PACKAGE.name


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def package_of(name: str, path: Path) -> str:
    """The package a module's relative imports start from."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def base_of(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a `from ... import` reads from."""
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(anchor + ([base] if base else []))
    return base


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The ids of the nodes under `if TYPE_CHECKING:` (names for annotations, not imports)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            inside.update(id(child) for child in ast.walk(node))
    return inside


def imports(name: str, path: Path, *, annotations: bool = True) -> set[str]:
    """The package's modules that `name` imports anywhere in its source (at the top or in a function);
    `annotations=False` leaves out those under `if TYPE_CHECKING:`."""
    package = package_of(name, path)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = set() if annotations else _type_checking_nodes(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = base_of(node, package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {module for module in found if module in MODULES and module != name}
