"""The MIDI control map: a TOML file that says what a board's pads, knobs and program changes do.

    [notes]                       # note -> a tap on a zone, heel or toe
    36 = "left:heel"
    38 = "left:toe"
    [cc]                          # controller -> a function, or a number of the current preset
    20 = "clear"                  # a button: acts when pressed (value rises past 63)
    21 = "blackout"
    7 = "dimmer"                  # a fader: 0..127 -> 0..1
    74 = { set = "canvas.decay", range = [0.0, 0.5] }
    [program]                     # program change -> preset by name (default: by number)
    0 = "rosette"

Controllers the map does not name go on to the preset's own `[controls]`.
MIDI learn writes new `[cc]` entries back to the same file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from dessins_de_planche.config import MidiNote

CONTINUOUS = {"dimmer"}  # functions a fader sets; every other function is a button


class MidiMapError(ValueError):
    pass


def default_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("dessins-de-planche")) / "midi.toml"


@dataclass
class ParameterControl:
    target: str
    range: tuple[float, float]


@dataclass
class MidiMap:
    path: Path | None = None
    notes: dict[int, MidiNote] = field(default_factory=dict)
    cc: dict[int, object] = field(default_factory=dict)  # number -> function name or ParameterControl
    program: dict[int, str] = field(default_factory=dict)
    _pressed: dict[int, bool] = field(default_factory=dict)

    def button(self, number: int, value: int) -> bool:
        """True when a button mapped to a function is pressed (a rising edge: no repeats while held)."""
        down = value >= 64
        was = self._pressed.get(number, False)
        self._pressed[number] = down
        return down and not was

    def learn(self, number: int, function: str) -> None:
        self.cc[number] = function
        self._pressed.pop(number, None)
        if self.path is not None:
            self.save()

    def save(self) -> None:
        import tomli_w

        cc = {str(number): ({"set": target.target, "range": list(target.range)}
                            if isinstance(target, ParameterControl) else target)
              for number, target in sorted(self.cc.items())}
        body = {"notes": {str(n): f"{m.zone}:{m.kind}" for n, m in sorted(self.notes.items())},
                "cc": cc, "program": {str(n): name for n, name in sorted(self.program.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".toml.tmp")
        tmp.write_text("# Dessins de Planche MIDI control map (see docs/osc.md and `run --midi-control`)\n\n"
                       + tomli_w.dumps(body), encoding="utf-8")
        tmp.replace(self.path)


def _number(key: str, where: str) -> int:
    try:
        number = int(key)
    except ValueError:
        raise MidiMapError(f"{where}: {key!r} is not a MIDI number (0..127)") from None
    if not 0 <= number <= 127:
        raise MidiMapError(f"{where}: {number} is not a MIDI number (0..127)")
    return number


def load(path, functions=None) -> MidiMap:
    """Read a map; `functions` are the names a controller may call (None: any). Errors name file and key."""
    path = Path(path)
    if not path.exists():
        return MidiMap(path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise MidiMapError(f"{path}: {error}") from None
    unknown = set(data) - {"notes", "cc", "program"}
    if unknown:
        raise MidiMapError(f"{path}: unknown table [{sorted(unknown)[0]}]; a map has [notes], [cc] and [program]")
    result = MidiMap(path=path)
    for key, value in data.get("notes", {}).items():
        where = f"{path}: notes.{key}"
        zone, _, kind = str(value).partition(":")
        kind = kind or "unknown"
        if not zone or kind not in ("heel", "toe", "unknown"):
            raise MidiMapError(f'{where}: write "ZONE:heel" or "ZONE:toe", got {value!r}')
        result.notes[_number(key, where)] = MidiNote(zone=zone, kind=kind)
    for key, value in data.get("cc", {}).items():
        where = f"{path}: cc.{key}"
        number = _number(key, where)
        if isinstance(value, dict):
            try:
                low, high = value["range"]
                result.cc[number] = ParameterControl(str(value["set"]), (float(low), float(high)))
            except (KeyError, TypeError, ValueError):
                raise MidiMapError(f'{where}: write {{ set = "canvas.decay", range = [0, 0.5] }}') from None
        elif functions is None or value in functions:
            result.cc[number] = value
        else:
            import difflib

            close = difflib.get_close_matches(str(value), functions, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise MidiMapError(f"{where}: no function {value!r}; {hint}functions: {', '.join(sorted(functions))}")
    for key, value in data.get("program", {}).items():
        result.program[_number(key, f"{path}: program.{key}")] = str(value)
    return result
