"""A sensor board's calibration: how a strike on one sensor bleeds into the others, and how loud a
weight shift is on each; and, at run time, which note-ons are taps.

A multi-zone board (piezos or force sensors under each part of the plank, a microcontroller sending
a note-on per sensor) hears every strike on every sensor, a little later and softer on the ones
not struck; and a player shifting weight between taps makes sensors fire softly. `calibrate
--midi-port` records the player striking each zone alone, then standing and shifting weight;
`learn` turns those notes into a `BoardCalibration`: per pair of sensors (notes), the velocity
ratio and delay of the bleed with their spread, and per sensor the weight-shift level and the
floor under which a lone note is a weight shift. It is kept in `calibrate`'s file, in a `[midi]`
table beside the audio channels' (`save`, `load`).

At run time (`BoardFilter`, in the MIDI listener's thread) a note-on is bleed only if it looks
like bleed: within the learned delay of a stronger tap on another sensor and within the learned
ratio of its velocity, both with a margin. Anything else is a tap, even at the same moment: two
feet landing together are two taps. A bleed that comes before its strike's own note (a sensor
the board scans first) is found when the strike's note arrives: the tap already sent moves to
the struck zone (a refine record), as the winner-take-all window does without a calibration.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

STRIKE_GROUP_S = 0.06  # calibration: notes within this of a strike's first note are that strike
# Run-time margins over what calibration saw: a few strikes show most of the spread, not all of it.
RATIO_MARGIN = 1.25  # a bleed may be this much louder (relative to its strike) than the loudest seen
RATIO_SLACK = 2 / 127  # and two velocity steps more (a soft strike's bleed is a few steps, rounded)
DELAY_MARGIN = 1.5  # and come this much later than the latest seen
DELAY_SLACK_S = 0.003  # plus a JACK period or a board's scan: notes reach us in batches
SHIFT_MARGIN = 1.25  # a sensor's floor: at least this much over the loudest weight shift heard,
SHIFT_SLACK = 1 / 127  # plus a velocity step; halfway (in dB) to its softest strike where that is higher;
FLOOR_UNDER_STRIKES = 0.8  # and never above this share of its softest strike
STRAY_UNDER = 0.25  # calibration: a strike this much softer than the median on its sensor is left out
RECENT = 16  # taps remembered to explain a bleed (a window of a few tens of ms holds a handful)


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


# -- learning ---------------------------------------------------------------------------------------
def group_strikes(notes) -> list[list[tuple[float, int, float]]]:
    """Notes (time, note, velocity) in time order as strikes: each the notes within STRIKE_GROUP_S
    of its first, one per sensor (its loudest)."""
    groups, current, start = [], {}, None
    for t, note, velocity in sorted(notes):
        if start is None or t - start > STRIKE_GROUP_S:
            if current:
                groups.append(sorted(current.values()))
            current, start = {}, t
        if note not in current or velocity > current[note][2]:
            current[note] = (t, note, velocity)
    if current:
        groups.append(sorted(current.values()))
    return groups


def learn(strike_notes, shift_notes, shift_seconds: float, zones: dict[int, str] | None = None,
          port: str = "", step: float = SHIFT_SLACK, name: str = "note", level=None) -> BoardCalibration:
    """A board's calibration from the notes heard while each zone was struck alone (any order)
    and those heard while the player stood shifting weight for `shift_seconds`. A multi-channel
    audio board is learned the same way: its taps as (time, channel, peak amplitude), `step` the
    smallest level difference that means anything (a velocity step; for audio, AUDIO_STEP)."""
    zones = zones or {}
    level = level or _velocity
    struck: dict[int, list[float]] = {}
    pairs: dict[tuple[int, int], list[tuple[float, float]]] = {}
    groups = group_strikes(strike_notes)
    loudest: dict[int, list[float]] = {}
    for group in groups:
        _t, source, v0 = max(group, key=lambda n: n[2])
        loudest.setdefault(source, []).append(v0)
    typical = {source: float(np.median(vs)) for source, vs in loudest.items()}
    stray = 0
    for group in groups:
        t0, source, v0 = max(group, key=lambda n: n[2])
        if v0 < STRAY_UNDER * typical[source]:  # a click, a stray touch: no strike to learn bleed from
            stray += 1
            continue
        struck.setdefault(source, []).append(v0)
        for t, note, velocity in group:
            if note != source:
                pairs.setdefault((source, note), []).append((velocity / v0, t - t0))
    shifts: dict[int, list[float]] = {}
    for _t, note, velocity in shift_notes:
        shifts.setdefault(note, []).append(velocity)
    sensors, warnings = {}, []
    for note in sorted(set(struck) | set(shifts) | set(zones)):
        hits, noise = struck.get(note, []), shifts.get(note, [])
        zone = zones.get(note, "")
        shift_max = max(noise, default=0.0)
        floor = shift_max * SHIFT_MARGIN + step if noise else 0.0
        if hits and noise:  # halfway (in dB) from the loudest weight shift to the softest strike: a few
            # seconds of standing rarely show a sensor's loudest shift, and the gap is the board's to use
            floor = max(floor, (shift_max * min(hits)) ** 0.5)
        if hits and floor > min(hits) * FLOOR_UNDER_STRIKES:
            warnings.append(f"{name} {note}{f' ({zone})' if zone else ''}: weight shifts up to "
                            f"{level(shift_max)} reach its soft strikes ({level(min(hits))}); "
                            "raise the sensor's threshold (or lower its gain) or strike harder")
            floor = 0.5 * (shift_max + min(hits))
        if not hits and note in zones:
            warnings.append(f"{name} {note} ({zone}): no strike heard on it alone; its bleed is not known")
        sensors[note] = Sensor(
            zone=zone, strikes=len(hits), strike_min=_r(min(hits, default=0.0)),
            strike_median=_r(float(np.median(hits)) if hits else 0.0), shifts=len(noise),
            shift_max=_r(shift_max), shift_median=_r(float(np.median(noise)) if noise else 0.0),
            shift_rate=_r(len(noise) / shift_seconds if shift_seconds > 0 else 0.0), floor=_r(floor))
    bleed = {}
    for (source, note), seen in sorted(pairs.items()):
        ratios = np.array([r for r, _ in seen])
        delays = np.array([d for _, d in seen])
        bleed[(source, note)] = Bleed(
            count=len(seen), heard=_r(len(seen) / len(struck[source])), ratio=_r(float(np.median(ratios))),
            ratio_max=_r(float(ratios.max())), delay=_r(float(np.median(delays)), 5),
            delay_min=_r(float(delays.min()), 5), delay_max=_r(float(delays.max()), 5))
    if stray:
        warnings.append(f"{stray} of {len(groups)} strikes left out: far softer than the others on their {name} "
                        "(a click, a stray touch)")
    return BoardCalibration(port=port, sensors=sensors, bleed=bleed, warnings=tuple(warnings))


def _r(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


# -- the calibration file ---------------------------------------------------------------------------
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


# -- run time -------------------------------------------------------------------------------------------
TAP, BLEED, EARLIER_WAS_BLEED, WEIGHT_SHIFT = 0, 1, 2, 3


class BoardFilter:
    """Which note-ons are taps. Runs in the MIDI listener's thread: fixed tables built once,
    a fixed ring of recent taps, no I/O, no lock, nothing that waits.

    `classify` answers one of TAP, BLEED (of the recent tap in slot `self.match`),
    EARLIER_WAS_BLEED (the recent tap in slot `self.match` was this strike's bleed, heard first:
    move it here) or WEIGHT_SHIFT."""

    def __init__(self, board: BoardCalibration):
        self.floor = [0.0] * 128
        for note, sensor in board.sensors.items():
            self.floor[note] = sensor.floor
        # per (struck note * 128 + hearing note): the loudest bleed ratio allowed, and the window
        # after (and before) the strike's note in which its bleed may come; -1: never bleed
        self.ratio = [0.0] * (128 * 128)
        self.after = [-1.0] * (128 * 128)
        self.before = [-1.0] * (128 * 128)
        longest = 0.0
        for (source, note), b in board.bleed.items():
            k = source * 128 + note
            self.ratio[k] = b.ratio_max * RATIO_MARGIN + RATIO_SLACK
            self.after[k] = max(b.delay_max, 0.0) * DELAY_MARGIN + DELAY_SLACK_S
            self.before[k] = max(-b.delay_min, 0.0) * DELAY_MARGIN + DELAY_SLACK_S
            longest = max(longest, self.after[k], self.before[k])
        self.longest = longest
        self.at = [float("-inf")] * RECENT  # recent taps: time, note, velocity, tap id, zone
        self.note = [0] * RECENT
        self.velocity = [0.0] * RECENT
        self.tap_id = [0] * RECENT
        self.zone = [0] * RECENT
        self.next = 0
        self.match = -1
        self.dropped_at = [float("-inf")] * RECENT  # recent weight shifts: a scanned-first sensor's bleed
        self.dropped_note = [0] * RECENT  # comes before its strike, under the floor, and is a bleed after all
        self.dropped_velocity = [0.0] * RECENT
        self.dropped_zone = [0] * RECENT
        self.dropped_next = 0

    def classify(self, now: float, note: int, velocity: float) -> int:
        at, notes, velocities = self.at, self.note, self.velocity
        for back in range(1, RECENT + 1):  # newest first, until older than any window
            i = (self.next - back) % RECENT
            age = now - at[i]
            if age > self.longest:
                break
            other = notes[i]
            if other == note:
                continue
            k = other * 128 + note
            if age <= self.after[k] and velocity <= self.ratio[k] * velocities[i]:
                self.match = i
                return BLEED
            k = note * 128 + other
            if age <= self.before[k] and velocities[i] <= self.ratio[k] * velocity:
                self.match = i
                return EARLIER_WAS_BLEED
        if velocity < self.floor[note]:
            return WEIGHT_SHIFT
        return TAP

    def remember(self, now: float, note: int, velocity: float, tap_id: int, zone: int) -> None:
        """A tap went out: later notes may be its bleed."""
        i = self.next
        self.at[i], self.note[i], self.velocity[i], self.tap_id[i], self.zone[i] = now, note, velocity, tap_id, zone
        self.next = (i + 1) % RECENT

    def dropped(self, now: float, note: int, velocity: float, zone: int) -> None:
        """A weight shift was dropped: a strike's note coming next may show it was its bleed."""
        i = self.dropped_next
        self.dropped_at[i], self.dropped_note[i], self.dropped_velocity[i], self.dropped_zone[i] = (
            now, note, velocity, zone)
        self.dropped_next = (i + 1) % RECENT

    def earlier_drop(self, now: float, note: int, velocity: float) -> int:
        """The slot of a recent weight shift that was this tap's bleed heard first (-1: none); it is forgotten."""
        for back in range(1, RECENT + 1):
            i = (self.dropped_next - back) % RECENT
            age = now - self.dropped_at[i]
            if age > self.longest:
                return -1
            k = note * 128 + self.dropped_note[i]
            if self.dropped_note[i] != note and age <= self.before[k] and (
                    self.dropped_velocity[i] <= self.ratio[k] * velocity):
                self.dropped_at[i] = float("-inf")
                return i
        return -1

    def moved(self, i: int, note: int, velocity: float, zone: int) -> None:
        """The recent tap in slot i is now the strike on `note` (its time stays)."""
        self.note[i], self.velocity[i], self.zone[i] = note, velocity, zone


# -- a multi-channel audio board ------------------------------------------------------------------------
# Piezos under each zone into a multi-channel audio interface, a channel per zone: one strike is
# heard on every channel, softer and later on the ones not struck, and the detector fires on each.
# `calibrate --audio-device --channels 1,2,...` learns it as for the sensors (`learn`, with each
# confirmed tap as (time, channel, peak amplitude)); it is stored as the `[audio_board]` table.
# At run time (`AudioBoardFilter`, in the audio callback after the detector, whose own
# winner-take-all is then off) a tap is bleed only if it looks like the learned bleed.
AUDIO_TABLE = "audio_board"
AUDIO_STEP = 0.001  # the smallest peak difference that means anything (-60 dBFS)
AUDIO_RATIO_MARGIN = 1.25  # a bleed may be this much louder (relative to its strike) than the loudest seen
AUDIO_RATIO_SLACK = 0.01  # plus this (the room's noise and a ringing channel's own tail add to a soft bleed)
AUDIO_DELAY_SLACK_S = 0.003  # onsets sit on the detector's 1.33 ms grid and jitter by a hop or two
AUDIO_DECIDE_S = 0.005  # a strike is decided once no later tap can join it: this long after its last onset's window
AUDIO_WORD_WAIT_S = 0.1  # and its taps' word has come (the detector's, 16-20 ms after each onset), or this long more


def amplitude(velocity: float, floor_dbfs: float = -50.0) -> float:
    """The detector's velocity (a log scale, floor_dbfs -> 0, 0 dBFS -> 1) as a peak amplitude."""
    return 10.0 ** ((1.0 - float(velocity)) * floor_dbfs / 20.0)


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


def learn_audio(strike_taps, shift_taps, shift_seconds: float, zones: dict[int, str] | None = None,
                device: str = "") -> BoardCalibration:
    """A multi-channel audio board's calibration from its confirmed taps (time, 1-based channel,
    peak amplitude) while each zone was struck alone, and while the player stood shifting weight."""
    return learn(strike_taps, shift_taps, shift_seconds, zones, port=device, step=AUDIO_STEP, name=AUDIO.name,
                 level=AUDIO.level)


# what became of a tap of the multi-channel board (AudioBoardFilter.counts' index)
A_TAP, A_BLEED, A_SHIFT = 0, 1, 2
_ID, _CH, _ONSET, _VEL, _AMP, _KIND, _WORD, _EMITTED, _FATE, _SOURCE = range(10)
_NO_WORD, _REFINED, _WITHDRAWN = 0, 1, 2


class AudioBoardFilter:
    """Which of the detector's taps on a multi-channel audio board are strikes (in the audio callback).

    The detector hears every channel on its own (its winner-take-all off). Taps whose onsets lie
    within the board's longest learned bleed window of each other are one cluster; a cluster's
    first tap goes out at once (unless it is under its channel's floor), the others wait. Once every
    tap of a cluster has the detector's word (its final peak, 10 ms from its onset, the same measure
    calibration learned from) the cluster is decided, loudest first: a tap is bleed when a louder
    tap of the cluster (or just before it) on another channel explains it, within the learned
    delay and ratio (with margins); else a tap under its channel's floor is a weight shift; else a
    strike, kept even at the same moment as another. A first tap that turns out to be another
    channel's bleed heard first is moved to that channel (a refine record), one under the floor
    is withdrawn.

    `take` feeds a detector record; `decide(now_frame)` appends what goes out to `self.out`, as
    (onset frame, channel index, velocity, kind, tap id, record kind, zone channel index).
    Channels are detector channel indices; the calibration's are 1-based device channels."""

    def __init__(self, board: BoardCalibration, channel_numbers, sample_rate: float, floor_dbfs: float = -50.0):
        self.sample_rate = sr = float(sample_rate)
        numbers = [int(c) for c in channel_numbers]
        n = self.channels = len(numbers)
        self.floor_dbfs = floor_dbfs
        self.floor = [0.0] * n
        for i, c in enumerate(numbers):
            if c in board.sensors:
                self.floor[i] = board.sensors[c].floor
        self.ratio = [[0.0] * n for _ in range(n)]  # [struck][hearing]
        self.after = [[-1.0] * n for _ in range(n)]  # frames the bleed may come after the strike's onset
        self.before = [[-1.0] * n for _ in range(n)]  # ... or before it
        longest = 0.0
        for i, a in enumerate(numbers):
            for j, b in enumerate(numbers):
                bleed = board.bleed.get((a, b))
                if i == j or bleed is None:
                    continue
                self.ratio[i][j] = bleed.ratio_max * AUDIO_RATIO_MARGIN + AUDIO_RATIO_SLACK
                self.after[i][j] = (max(bleed.delay_max, 0.0) * DELAY_MARGIN + AUDIO_DELAY_SLACK_S) * sr
                self.before[i][j] = (max(-bleed.delay_min, 0.0) * DELAY_MARGIN + AUDIO_DELAY_SLACK_S) * sr
                longest = max(longest, self.after[i][j], self.before[i][j])
        self.longest = longest
        self.settle = longest + AUDIO_DECIDE_S * sr
        self.give_up = self.settle + AUDIO_WORD_WAIT_S * sr
        self.clusters: list[list[list]] = []  # open clusters: lists of taps (`_ID` ... `_SOURCE`)
        self.recent: list[list] = []  # taps of decided clusters that may explain a later one (sources)
        self.by_id: dict[int, list] = {}
        self.out: list[tuple] = []
        self.counts = [[0, 0, 0] for _ in range(n)]  # per channel: strikes, bleed suppressed, weight shifts

    def take(self, onset: float, channel: int, velocity: float, kind: int, tap_id: int, record: int) -> None:
        if record == 0:
            tap = [tap_id, channel, float(onset), float(velocity), amplitude(velocity, self.floor_dbfs), kind,
                   _NO_WORD, False, -1, None]
            cluster = self.clusters[-1] if self.clusters else None
            if cluster is not None and onset - max(t[_ONSET] for t in cluster) <= self.longest:
                cluster.append(tap)
            else:
                self.clusters.append([tap])
                if tap[_AMP] >= self.floor[channel] and not self._near_recent(tap):
                    tap[_EMITTED] = True
                    self.out.append((onset, channel, velocity, kind, tap_id, 0, channel))
            self.by_id[tap_id] = tap
            return
        tap = self.by_id.get(tap_id)
        if tap is None:
            return
        tap[_WORD] = _WITHDRAWN if record == 2 else _REFINED
        tap[_VEL], tap[_AMP], tap[_KIND] = float(velocity), amplitude(velocity, self.floor_dbfs), kind

    def _near_recent(self, tap) -> bool:
        """A decided source just before it may explain it: wait for the word."""
        for source in self.recent:
            if source[_CH] != tap[_CH] and tap[_ONSET] - source[_ONSET] <= self.longest:
                return True
        return False

    def decide(self, now: float) -> None:
        """Decide every cluster whose taps all have their word and that no later tap can join."""
        while self.clusters:
            cluster = self.clusters[0]
            last = max(t[_ONSET] for t in cluster)
            if now - last < self.settle:
                return
            if any(t[_WORD] == _NO_WORD for t in cluster) and now - last < self.give_up:
                return  # (a word that never comes, a stream cut short: decided on what was heard)
            self.clusters.pop(0)
            self._decide(cluster)

    def _explained(self, sources, tap):
        """The source whose bleed this tap is (the largest share of it), or None. Bleeds add up: two
        feet landing together are heard on a third channel as the sum of their bleeds."""
        j, allowed, best, most = tap[_CH], 0.0, None, 0.0
        for source in sources:
            i = source[_CH]
            if i == j:
                continue
            delay = tap[_ONSET] - source[_ONSET]
            window = self.after[i][j] if delay >= 0 else self.before[i][j]
            if window >= 0 and abs(delay) <= window:
                share = self.ratio[i][j] * source[_AMP]
                allowed += share
                if share > most:
                    best, most = source, share
        return best if best is not None and tap[_AMP] <= allowed else None

    def _decide(self, cluster) -> None:
        start = min(t[_ONSET] for t in cluster)
        self.recent = [s for s in self.recent if start - s[_ONSET] <= self.longest]
        sources = list(self.recent)
        for tap in sorted(cluster, key=lambda t: -t[_AMP]):
            source = self._explained(sources, tap)
            if source is not None:
                tap[_FATE], tap[_SOURCE] = A_BLEED, source
            elif tap[_WORD] == _WITHDRAWN:
                sources.append(tap)  # not a foot, but its bleed is not one either
            elif tap[_AMP] < self.floor[tap[_CH]]:
                tap[_FATE] = A_SHIFT
            else:
                tap[_FATE] = A_TAP
                sources.append(tap)
        out, counts = self.out, self.counts
        carried, moved = set(), set()  # a strike whose tap went out already as its bleed heard first: moved there
        for tap in cluster:
            source = tap[_SOURCE]
            if (tap[_EMITTED] and tap[_FATE] == A_BLEED and source[_FATE] == A_TAP and not source[_EMITTED]
                    and id(source) not in carried and any(source is t for t in cluster)):
                carried.add(id(source))
                moved.add(id(tap))
                out.append((tap[_ONSET], source[_CH], source[_VEL], source[_KIND], tap[_ID], 1, source[_CH]))
        for tap in sorted(cluster, key=lambda t: t[_ONSET]):
            fate, ch = tap[_FATE], tap[_CH]
            self.by_id.pop(tap[_ID], None)
            if fate == A_TAP:
                counts[ch][A_TAP] += 1
                if id(tap) not in carried:
                    if not tap[_EMITTED]:
                        out.append((tap[_ONSET], ch, tap[_VEL], tap[_KIND], tap[_ID], 0, ch))
                    out.append((tap[_ONSET], ch, tap[_VEL], tap[_KIND], tap[_ID], 1, ch))
            elif fate == A_BLEED:
                counts[ch][A_BLEED] += 1
                if tap[_EMITTED] and id(tap) not in moved:
                    out.append((tap[_ONSET], ch, tap[_VEL], tap[_KIND], tap[_ID], 2, ch))
            else:  # withdrawn by the detector, or a weight shift
                if fate == A_SHIFT:
                    counts[ch][A_SHIFT] += 1
                if tap[_EMITTED]:
                    out.append((tap[_ONSET], ch, tap[_VEL], tap[_KIND], tap[_ID], 2, ch))
            if fate in (A_TAP, -1):
                self.recent.append(tap)


# -- the input process's use of it ----------------------------------------------------------------------
def usable_audio_board(board, channels):
    """A multi-channel board's calibration when it knows every channel listened to (else None: the
    detector's own crosstalk rule, as without one)."""
    if board is None or len(channels) < 2:
        return None
    missing = [c for c in channels if c not in board.sensors]
    if missing:
        import logging

        logging.getLogger(__name__).warning(
            "the board's calibration has no channel %s: listening with the detector's own crosstalk rule "
            "(calibrate --audio-device ... --channels %s)", ",".join(map(str, missing)), ",".join(map(str, channels)))
        return None
    return board


def board_detector(sample_rate: int, channels, block_size: int, tuned=(), board=None):
    """The detector for these 1-based channels, and a multi-channel board's filter (None without a
    calibration): with one, the detector hears each channel on its own and the filter decides
    which taps are strikes (inputs/board.py `AudioBoardFilter`)."""
    from dessins_de_planche.listen.detector import DetectorSettings, TapDetector

    settings = DetectorSettings(crosstalk_s=0.0) if board is not None else None
    detector = TapDetector(sample_rate, [c - 1 for c in channels], block_size=block_size, calibration=tuned,
                           settings=settings)
    if board is None:
        return detector, None
    return detector, AudioBoardFilter(board, channels, sample_rate, detector.settings.velocity_floor_dbfs)


def filter_of(audio):
    """The multi-channel board's filter of the audio source's block handler (None without one)."""
    handler = getattr(audio, "handler", None)
    while handler is not None and not hasattr(handler, "board"):
        handler = getattr(handler, "handler", None)  # a recording wrapper
    return None if handler is None else handler.board
