"""What the input process is asked to listen to: a plain, picklable description.

The render process builds one `InputSpec` from the command line, hands it to
the input process, and can hand it again to a restarted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dessins_de_planche.inputs.board_table import BoardCalibration

DEFAULT_SAMPLE_RATE = 48_000
DEFAULT_BLOCK_SIZE = 128


@dataclass(frozen=True)
class GeneratorSpec:
    """A synthesized podorhythm pattern: taps on a beat grid with human jitter, over a music bed."""

    bpm: float = 112.0
    taps_per_beat: int = 2
    pattern: tuple[str, ...] = ("heel", "toe")  # cycled over the taps
    jitter_ms: float = 6.0
    music: bool = True  # a fiddle-and-piano-like bed under the taps
    seed: int = 7


@dataclass(frozen=True)
class MidiNote:
    zone: str
    kind: str = "unknown"  # heel / toe / unknown


@dataclass(frozen=True)
class InputSpec:
    audio_device: str | int | None = None
    channels: tuple[int, ...] | None = None  # 1-based input channels, one zone each
    sample_rate: int = DEFAULT_SAMPLE_RATE
    block_size: int = DEFAULT_BLOCK_SIZE
    midi_port: str | None = None
    input_file: str | None = None  # replay a recording through the detector, in real time
    generator: GeneratorSpec | None = None  # or a synthesized pattern (the demo is one)
    loop: bool = True  # replay files and generators forever
    zones: tuple[str, ...] = ()  # names for the audio channels, in order
    midi_notes: dict[int, MidiNote] = field(default_factory=dict)  # note -> zone/kind
    midi_crosstalk_s: float = 0.005  # note-ons this close are one strike on several sensors (0: off)
    # a sensor board's calibration (`calibrate --midi-port`): bleed and weight shifts told from taps by
    # what was learned on the board; it replaces the window above. None: the window
    midi_board: BoardCalibration | None = None
    # a multi-channel audio board's calibration (`calibrate --audio-device --channels 1,2,...`): the
    # same for its channels, in place of the detector's winner-take-all. None: that rule
    audio_board: BoardCalibration | None = None
    fuse: bool = False  # a board's mic and its sensors as one: each strike one tap (inputs/fuse.py)
    client_name: str = "dessins-de-planche"
    use_calibration: bool = True  # the detector reads `calibrate`'s per-channel file, if there is one
    record_audio: str | None = None  # a session folder to record the input audio into (only when asked)

    @property
    def is_demo(self) -> bool:
        return self.audio_device is None and self.midi_port is None and self.input_file is None

    def audio_zone_names(self, count: int) -> tuple[str, ...]:
        if self.zones:
            names = list(self.zones[:count])
        elif count == 1:
            names = ["board"]
        elif count == 2:
            names = ["left", "right"]
        else:
            names = [f"zone{i + 1}" for i in range(count)]
        names += [f"zone{i + 1}" for i in range(len(names), count)]
        return tuple(names)

    def zone_table(self, audio_channels: int) -> tuple[str, ...]:
        """Every zone name an event can carry; a record's `zone` indexes this table."""
        table = list(self.audio_zone_names(audio_channels))
        for note in self.midi_notes.values():
            if note.zone not in table:
                table.append(note.zone)
        if "midi" not in table:
            table.append("midi")
        return tuple(table)
