"""A board's calibration as `calibrate`'s file keeps it: per sensor (a note of a sensor board, a
channel of a multi-channel audio board) the strikes and weight shifts heard and the floor under
which a lone note is a weight shift; per pair of sensors the bleed's velocity ratio and delay with
their spread.

A sensor board's is the file's `[midi]` table (`save`, `load`, `describe`), a multi-channel audio
board's the `[audio_board]` table (`save_audio`, `load_audio`, `describe_audio`), beside the audio
channels' tables. `inputs/board_learn.py` learns a calibration from a calibration recording;
`inputs/board.py` uses it at run time.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Sensor:
    """One sensor (a note) of the board, as calibration heard it. Velocities are 0..1."""

    zone: str = ""
    strikes: int = 0  # strikes on it alone (it was the loudest)
    strike_min: float = 0.0
    strike_median: float = 0.0
    shifts: int = 0  # its notes while the player stood shifting weight
    shift_max: float = 0.0
    shift_median: float = 0.0
    shift_rate: float = 0.0  # weight-shift notes a second
    floor: float = 0.0  # a note under this that no strike explains is a weight shift (0: none dropped)


@dataclass(frozen=True)
class Bleed:
    """A strike on one sensor heard on another: velocity ratio (bleed / strike) and delay (s, the
    bleed's note after the strike's; negative when the bleed's note comes first)."""

    count: int = 0
    heard: float = 0.0  # share of the struck sensor's strikes that reached this one
    ratio: float = 0.0  # median
    ratio_max: float = 0.0
    delay: float = 0.0  # median
    delay_min: float = 0.0
    delay_max: float = 0.0


@dataclass(frozen=True)
class BoardCalibration:
    port: str = ""  # the port it was measured on (a reminder; any port may use it)
    sensors: dict[int, Sensor] = field(default_factory=dict)  # note -> sensor
    bleed: dict[tuple[int, int], Bleed] = field(default_factory=dict)  # (struck note, hearing note) -> bleed
    warnings: tuple[str, ...] = ()



@dataclass(frozen=True)
class BoardKind:
    """What tells one kind of board's calibration from another's in `calibrate`'s file and in what
    it says: a sensor board's `[midi]` table of notes, a multi-channel audio board's `[audio_board]`
    table of channels. Everything else (the keys of a sensor and a bleed, the checks, the writing)
    is the same for both."""

    table: str  # the file's table
    port_key: str  # its key for where the board was measured (a MIDI port, an audio device)
    sensor_key: str  # its key for the per-sensor tables
    name: str  # a sensor, in words: "note 36", "channel 1"
    number: Callable[[object, str], int]  # a sensor's number from a table's key (ValueError naming `where`)
    level: Callable[[float], str]  # a level (0..1) as the board builder reads it
    strike_on: str  # how a bleed line starts, before the struck sensor's number
    no_shifts: str = ""  # shown for the weight shifts' level when none were heard ("": the level)
    no_floor: str = ""  # shown for a floor of 0 ("": the level)

    def describe(self, board: BoardCalibration) -> list[str]:
        """What calibration learned, as lines a board builder reads."""
        level, lines = self.level, []
        for number, s in sorted(board.sensors.items()):
            name = f"{self.name} {number}" + (f" ({s.zone})" if s.zone else "")
            shifts = level(s.shift_max) if s.shifts or not self.no_shifts else self.no_shifts
            floor = level(s.floor) if s.floor or not self.no_floor else self.no_floor
            lines.append(f"  {name}: {s.strikes} strikes, softest {level(s.strike_min)}, median "
                         f"{level(s.strike_median)}; weight shifts {s.shifts} ({s.shift_rate:.1f}/s) up to "
                         f"{shifts}; floor {floor}")
        for (source, number), b in sorted(board.bleed.items()):
            lines.append(f"  {self.strike_on}{source} heard on {number}: {b.heard:.0%} of strikes, ratio "
                         f"{b.ratio:.2f} (max {b.ratio_max:.2f}), {b.delay * 1000:.1f} ms "
                         f"({b.delay_min * 1000:.1f}..{b.delay_max * 1000:.1f})")
        return lines

    def to_table(self, board: BoardCalibration) -> dict:
        bleed: dict[str, dict] = {}
        for (source, number), b in sorted(board.bleed.items()):
            bleed.setdefault(str(source), {})[str(number)] = asdict(b)
        return {self.port_key: board.port,
                self.sensor_key: {str(number): asdict(s) for number, s in sorted(board.sensors.items())},
                "bleed": bleed}

    def from_table(self, table: dict, where: str) -> BoardCalibration:
        """The kind's table back as a calibration; ValueError naming the key and what would be right."""
        t = self.table
        if not isinstance(table, dict):
            raise ValueError(f"{where}: [{t}] should be a table")
        known = sorted((self.port_key, self.sensor_key, "bleed"))
        unknown = set(table) - set(known)
        if unknown:  # before what they hold: a misspelt key is the likelier mistake
            raise ValueError(f"{where}: [{t}] has unknown keys {sorted(unknown)}; known: {', '.join(known)}")
        sensors, bleed = {}, {}
        for name, values in (table.get(self.sensor_key) or {}).items():
            key = f"{where}: [{t}.{self.sensor_key}.{name}]"
            sensors[self.number(name, key)] = _record(Sensor, values, key)
        for source, targets in (table.get("bleed") or {}).items():
            if not isinstance(targets, dict):
                raise ValueError(f"{where}: [{t}.bleed.{source}] should hold "
                                 f"[{t}.bleed.{source}.{self.name.upper()}] tables")
            for number, values in targets.items():
                key = f"{where}: [{t}.bleed.{source}.{number}]"
                bleed[(self.number(source, key), self.number(number, key))] = _record(Bleed, values, key)
        return BoardCalibration(port=str(table.get(self.port_key, "")), sensors=sensors, bleed=bleed)

    def save(self, board: BoardCalibration, path: Path | None = None) -> Path:
        """Write the board's calibration into `calibrate`'s file as the kind's table; the file's
        other tables (the audio channels', the other kind of board's) stay as they are."""
        import tomli_w

        from dessins_de_planche.listen import calibration

        path = Path(path or calibration.config_path())
        data = _read(path)
        data.setdefault("format", calibration.FORMAT)
        data[self.table] = self.to_table(board)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("# Dessins de Planche: measured by `dessins-de-planche calibrate`; edit or delete freely\n"
                       + tomli_w.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
        return path

    def load(self, path: Path | None = None) -> BoardCalibration | None:
        """The board's calibration from `calibrate`'s file; None when there is none. A broken file or
        table raises ValueError naming the file and key."""
        from dessins_de_planche.listen import calibration

        path = Path(path or calibration.config_path())
        data = _read(path)
        if self.table not in data:
            return None
        return self.from_table(data[self.table], str(path))


def _note(name, where: str) -> int:
    if not str(name).isdigit() or not 0 <= int(name) <= 127:
        raise ValueError(f"{where}: {name!r} should be a MIDI note number, 0..127")
    return int(name)


def _velocity(value: float) -> str:
    return str(round(value * 127))


def _record(kind, values, where: str):
    fields = kind.__dataclass_fields__
    if not isinstance(values, dict):
        raise ValueError(f"{where} should be a table")
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"{where} has unknown keys {sorted(unknown)}; known: {sorted(fields)}")
    for key, value in values.items():
        expected = fields[key].type
        if expected == "str" and not isinstance(value, str) or expected != "str" and (
                isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"{where}: {key} should be {'text' if expected == 'str' else 'a number'}")
    return kind(**values)


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid TOML ({error}); run `dessins-de-planche calibrate` again "
                         "or delete it") from None


TABLE = "midi"
MIDI = BoardKind(table=TABLE, port_key="port", sensor_key="sensor", name="note", number=_note, level=_velocity,
                 strike_on="strike on ")
describe = MIDI.describe
to_table = MIDI.to_table
from_table = MIDI.from_table
save = MIDI.save
load = MIDI.load


# -- a multi-channel audio board ------------------------------------------------------------------------
# Piezos under each zone into a multi-channel audio interface, a channel per zone: its calibration is
# stored as the `[audio_board]` table, channels 1-based as the device numbers them.
AUDIO_TABLE = "audio_board"


def _dbfs(value: float) -> str:
    import math

    return f"{20 * math.log10(max(value, 1e-9)):.0f} dBFS"


def _channel(name, where: str) -> int:
    if not str(name).isdigit() or not 1 <= int(name) <= 256:
        raise ValueError(f"{where}: {name!r} should be an input channel number, 1..256")
    return int(name)


AUDIO = BoardKind(table=AUDIO_TABLE, port_key="device", sensor_key="channel", name="channel", number=_channel,
                  level=_dbfs, strike_on="strike on channel ", no_shifts="-", no_floor="none")
describe_audio = AUDIO.describe
audio_to_table = AUDIO.to_table
audio_from_table = AUDIO.from_table
save_audio = AUDIO.save
load_audio = AUDIO.load
