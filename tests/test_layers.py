"""The package reads one way, as a tap travels: heard in the input process (`inputs`, with `listen`'s
detector), through the `ring`, drained by the show (`app`), drawn by the scene (`render`); no module
imports one from a layer above its own. The layers, bottom first, are the package's folders and
top-level modules; a module may import its own layer and those under it. Imports under
`if TYPE_CHECKING:` are names for annotations, not imports, and are left out; lazy imports inside
functions count (`tests/test_import_graph.py` reads them the same way)."""

from __future__ import annotations

from package_graph import MODULES, ROOT, imports

# Bottom first. Each entry is one layer: the names in it may import one another.
LAYERS = [
    ("errors", "paths", "clock", "events", "restarts", "locale"),  # words every part uses
    ("ring",),  # the shared-memory rings between the input process and the show
    ("config", "record"),  # the calibration's and the recordings' files
    ("listen",),  # what a block of audio holds: the detector, the tempo
    ("inputs",),  # the input process: devices, audio callback, MIDI, the rings' producer side
    ("control", "preset"),  # what a MIDI control or OSC message means; the presets
    ("render",),  # the scene and its GL
    ("app",),  # the show: the window, the stage, the loop that drains the rings
    ("options", "settings"),  # the command line's option types and the configuration file
    ("commands",),
    ("cli", "__main__", "__init__"),
]
LAYER_OF = {name: number for number, names in enumerate(LAYERS) for name in names}


def _part(module: str) -> str:
    """`dessins_de_planche.render.scene` -> `render`; the package itself -> `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def upward_imports() -> list[str]:
    wrong = []
    for name, path in sorted(MODULES.items()):
        own = LAYER_OF[_part(name)]
        for imported in sorted(imports(name, path, annotations=False)):
            if imported == ROOT:
                continue  # the package's own __init__ (its version): a name, not a layer
            if LAYER_OF[_part(imported)] > own:
                wrong.append(f"{name} imports {imported} ({_part(imported)} is above {_part(name)})")
    return wrong


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(name) for name in MODULES}
    assert parts <= set(LAYER_OF), f"parts with no layer: {sorted(parts - set(LAYER_OF))}"


def test_no_module_imports_from_a_layer_above_its_own():
    wrong = upward_imports()
    assert not wrong, "imports that go up:\n" + "\n".join(wrong)


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The rule can fail: a module of the ring that imports the scene is named."""
    fake = tmp_path / "ring_probe.py"
    fake.write_text("def f():\n    from dessins_de_planche.render import scene\n", encoding="utf-8")
    monkeypatch.setitem(MODULES, f"{ROOT}.ring", fake)
    assert any(line.startswith(f"{ROOT}.ring imports {ROOT}.render.scene") for line in upward_imports())
