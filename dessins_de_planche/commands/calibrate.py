"""`calibrate`: measure the player's board and shoes, so the detector fits them.

Asks for a moment of quiet, then heel taps, then toe taps, on the board the show will
use, and with `--music` a soundcheck: the band's music heard alone, whose onsets the detector
then asks more of before it draws them; stores per-channel level floors, heel/toe splits and
that bar in the user's config folder (`calibration.toml`), which `run` and `analyze` then
use. The show's input process is not running: this command opens the device itself, in a
recording process of its own (`inputs.capture`), so a stalled or crashed audio system costs
it a sentence, never a hang.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from pathlib import Path

import numpy as np

from dessins_de_planche import options as opt
from dessins_de_planche.config import DEFAULT_BLOCK_SIZE, DEFAULT_SAMPLE_RATE
from dessins_de_planche.inputs.capture import AudioCapture

NAME = "calibrate"
ORDER = 35
HELP = "tune tap detection to your board and shoes (heel, then toe taps; or a sensor board's bleed)"
DESCRIPTION = ("Record a moment of quiet, then heel taps, then toe taps on your board, and store "
               "per-channel thresholds and heel/toe splits in your config folder for run and analyze.")
QUIET_S = 1.5
SETTLE_S = 0.6  # after the last tap asked for, so its refine is heard


def add_arguments(parser) -> None:
    parser.add_argument("--audio-device", type=opt.device, metavar="NAME_OR_INDEX",
                        help="the board's audio input (see `dessins-de-planche devices`)")
    parser.add_argument("--channels", type=opt.channels, metavar="1,2", default=(1,),
                        help="input channels, one board zone each (default: 1)")
    parser.add_argument("--sample-rate", type=opt.bounded(int, *opt.SAMPLE_RATE, "Hz"),
                        default=DEFAULT_SAMPLE_RATE)
    parser.add_argument("--block-size", type=opt.bounded(int, *opt.BLOCK_SIZE, "frames"),
                        default=DEFAULT_BLOCK_SIZE)
    parser.add_argument("--taps", type=opt.positive(int), default=6, help="taps asked for each of heel and toe")
    parser.add_argument("--timeout", type=opt.positive(float), default=30.0,
                        help="seconds to wait for each step before giving up")
    parser.add_argument("--music", type=opt.bounded(float, 0.0, 120.0, "s"), default=0.0, metavar="SECONDS",
                        help="a soundcheck last: record the band's music (or its recording played in the room) "
                             "this long with no tapping, so that its onsets are not drawn as taps (0: none; "
                             "20 is a good length)")
    parser.add_argument("--music-only", action="store_true",
                        help="only the soundcheck (with --music): the board and shoes as calibrated before, "
                             "for a new band or venue")
    parser.add_argument("--yes", action="store_true",
                        help="do not wait for Enter between steps (prompts still go to stderr)")
    parser.add_argument("--output", metavar="FILE", help="where to store it (default: your config folder)")
    parser.add_argument("--zones", type=lambda text: tuple(z.strip() for z in text.split(",") if z.strip()),
                        metavar="left,right", default=(), help="names of the zones of --channels, in order")
    parser.add_argument("--no-board", action="store_true",
                        help="several --channels: skip learning the board's bleed and weight shifts")
    board = parser.add_argument_group("a sensor board (MIDI, or several --channels): each zone struck alone, "
                                      "then weight shifts")
    board.add_argument("--midi-port", metavar="NAME",
                       help="the board's MIDI input port (part of its name): learn its bleed and weight-shift noise")
    board.add_argument("--midi-map", type=opt.midi_map, default={}, metavar="36=left:heel,...",
                       help="the board's notes and zones (default: the MIDI control map's notes)")
    board.add_argument("--sensors", type=opt.positive(int), metavar="N",
                       help="without a map: how many zones to strike in turn")
    board.add_argument("--shift-seconds", type=opt.positive(float), default=6.0, metavar="S",
                       help="how long to stand shifting weight (default: 6)")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class BoardTaps:
    """A multi-channel board's taps as `calibrate` learns from them: every channel heard on its own
    (the detector's winner-take-all off), each confirmed tap as (onset s, 1-based channel, peak
    amplitude); `read` hears what was recorded since the last call (the board flow's note source)."""

    def __init__(self, sample_rate: int, channels, block_size: int, recorder=None):
        from dessins_de_planche.listen.detector import TapDetector
        from dessins_de_planche.listen.detector_settings import DetectorSettings

        self.detector = TapDetector(sample_rate, [c - 1 for c in channels], block_size=block_size,
                                    settings=DetectorSettings(crosstalk_s=0.0, withdraw_when_idle=None))
        self.channels, self.sample_rate, self.block_size = tuple(channels), sample_rate, block_size
        self.recorder = recorder
        self.frame = recorder.frames if recorder is not None else 0

    def hear(self, audio: np.ndarray, start: int) -> list[tuple[float, int, float]]:
        from dessins_de_planche.events import RECORD_REFINE
        from dessins_de_planche.inputs.board import amplitude

        detector, found = self.detector, []
        floor = detector.settings.velocity_floor_dbfs
        for at in range(0, len(audio) - self.block_size + 1, self.block_size):
            count = detector.process(audio[at : at + self.block_size], start + at)
            for k in range(count):
                if detector.out_refine[k] == RECORD_REFINE:
                    found.append((float(detector.out_onset[k]) / self.sample_rate,
                                  self.channels[int(detector.out_channel[k])],
                                  amplitude(float(detector.out_velocity[k]), floor)))
        return found

    def read(self) -> list[tuple[float, int, float]]:
        end = self.frame + (self.recorder.frames - self.frame) // self.block_size * self.block_size
        found = self.hear(self.recorder.buffer[self.frame : end], self.frame)
        self.frame = end
        return found


def board_taps(audio: np.ndarray, sample_rate: int, channels, block_size: int = 128) -> list:
    """A recording's taps as the multi-channel board's calibration hears them (`BoardTaps`)."""
    return BoardTaps(sample_rate, channels, block_size).hear(audio, 0)


def _calibrate_audio_board(recorder: AudioCapture, args):
    """Each channel's zone struck alone, then weight shifts: the board's bleed and floors, saved
    as the file's [audio_board] table; returns what was learned."""
    from dessins_de_planche.commands import _calibrate_board
    from dessins_de_planche.inputs import board_learn, board_table

    zones = dict(zip(args.channels, args.zones or ()))
    steps = [(f"ZONE {zones.get(c, c)} (channel {c})" if c in zones else f"CHANNEL {c}", (c,)) for c in args.channels]
    source = BoardTaps(args.sample_rate, args.channels, args.block_size, recorder)
    say(f"Now the board's bleed: {len(steps)} zones struck alone, then weight shifts.")
    strikes, shifts = _calibrate_board.record(source, steps, args.taps, args.shift_seconds, args.timeout, say,
                                              lambda what: _wait_enter(args, what))
    learned = board_learn.learn_audio(strikes, shifts, args.shift_seconds, zones, device=recorder.device_name)
    _calibrate_board.save_and_report(learned, board_table.AUDIO, args.output, "multi-channel board calibration")
    return learned


def kept_board(channels, output=None):
    """With several channels and `--no-board`, the board an earlier calibration learned (the file's
    [audio_board] table), so the heel and toe steps still hear each channel through its bleed, as `run`
    would; None with one channel or no table."""
    from dessins_de_planche.inputs import board_table

    if len(channels) < 2:
        return None
    return board_table.AUDIO.load(Path(output) if output else None)


def board_filter(learned, channels, sample_rate: int):
    """Fresh filters of the board just learned (given the detector's velocity floor), for the channels'
    own heel and toe steps (each channel then counts only the strikes on it, not the others' bleed, as
    `run` decides); None when the board does not know every channel (the detector's own rule then, as
    in `run`)."""
    import functools

    from dessins_de_planche.inputs.board import AudioBoardFilter, usable_audio_board

    board = usable_audio_board(learned, tuple(channels))
    return None if board is None else functools.partial(AudioBoardFilter, board, tuple(channels), sample_rate)


def _wait_enter(args, what: str) -> None:
    if args.yes:
        return
    say(f"Press Enter when ready to {what}.")
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), done.set()), daemon=True).start()
    if not done.wait(args.timeout):
        raise opt.UsageError(f"no answer in {args.timeout:.0f} s (use --yes to run without prompts)")


def _record_taps(recorder: AudioCapture, args, word: str) -> np.ndarray:
    from dessins_de_planche.listen.calibration import count_taps

    _wait_enter(args, f"tap your {word}")
    start = recorder.frames
    say(f"Tap your {word.upper()} {args.taps} times on the board, about once a second ...")
    deadline = time.monotonic() + args.timeout
    heard_at = None
    while time.monotonic() < deadline:
        time.sleep(0.25)  # a foreground command polling its own recording, not a test
        heard = count_taps(recorder.since(start), recorder.sample_rate, args.channels, args.block_size)
        if heard >= args.taps:
            heard_at = heard_at or time.monotonic()
            if time.monotonic() - heard_at >= SETTLE_S:
                say(f"  heard {heard} {word} taps")
                return recorder.since(start).copy()
    heard = count_taps(recorder.since(start), recorder.sample_rate, args.channels, args.block_size)
    if heard < 2:
        raise opt.UsageError(f"heard {heard} {word} taps in {args.timeout:.0f} s on channel(s) "
                             f"{','.join(map(str, args.channels))}: check --audio-device, --channels and the "
                             "mic's gain (`dessins-de-planche run --audio-device ...` shows levels in the sound check)")
    say(f"  heard {heard} {word} taps (asked for {args.taps}); going on with those")
    return recorder.since(start).copy()


def main(args) -> int:
    from dessins_de_planche.listen import calibration

    if args.midi_port is not None:
        if args.audio_device is not None:
            raise opt.UsageError("calibrate the board's mic (--audio-device) and its sensors (--midi-port) one at a time")
        from dessins_de_planche.commands import _calibrate_board

        return _calibrate_board.main(args, say, lambda what: _wait_enter(args, what))
    if args.audio_device is None:
        raise opt.UsageError("name the board's input with --audio-device, or its sensors' MIDI port with --midi-port "
                             "(see `dessins-de-planche devices`)")
    if args.music_only:
        return _soundcheck_only(args)
    multi = len(args.channels) > 1 and not args.no_board
    seconds = QUIET_S + 2 * args.timeout + 10.0 + args.music
    if multi:
        seconds += len(args.channels) * args.timeout + args.shift_seconds + 5.0
    with AudioCapture(args.audio_device, max(args.channels), args.sample_rate, args.block_size, seconds) as recorder:
        say(f"Calibrating {recorder.device_name}, channel(s) {','.join(map(str, args.channels))}.")
        _wait_enter(args, "record a moment of quiet")
        say(f"Keep the board QUIET for {QUIET_S:.1f} s ...")
        start = recorder.frames
        deadline = time.monotonic() + args.timeout
        while recorder.frames - start < QUIET_S * args.sample_rate:
            if time.monotonic() > deadline:
                raise opt.UsageError(f"the audio device delivered no sound for {args.timeout:.0f} s")
            time.sleep(0.05)
        quiet = recorder.since(start).copy()
        heels = _record_taps(recorder, args, "heel")
        toes = _record_taps(recorder, args, "toe")
        music = _record_music(recorder, args) if args.music > 0 else None
        learned = _calibrate_audio_board(recorder, args) if multi else None
    board = learned if learned is not None else kept_board(args.channels, args.output)
    strikes_only = board_filter(board, args.channels, args.sample_rate) if board is not None else None
    table = calibration.measure(quiet, heels, toes, args.sample_rate, args.channels, args.block_size,
                                board_filter=strikes_only, music=music)
    existing = calibration.load(args.output) if args.output else calibration.load()
    if music is None:  # no soundcheck this time: an earlier one's bar stays (the same band, most often)
        table = {channel: _soundcheck_kept(tuned, existing.get(channel)) for channel, tuned in table.items()}
    existing.update(table)
    path = calibration.save(existing, args.output)
    heard_through = "just learned" if learned is not None else "kept from an earlier calibration"
    print(f"calibration saved to {path}" + (f" (heel and toe taps heard through the board's bleed {heard_through})"
                                            if strikes_only is not None else ""))
    for channel, tuned in sorted(table.items()):
        print(f"  channel {channel}: {tuned.taps} taps, floor {tuned.floor_dbfs:.1f} dBFS, {_heel_toe_said(tuned)}"
              + _music_said(tuned, music is not None))
    return 0


def _soundcheck_only(args) -> int:
    """`--music-only`: the band's music alone, the rest of the calibration kept."""
    from dessins_de_planche.listen import calibration

    if args.music <= 0:
        raise opt.UsageError("--music-only needs --music SECONDS (20 is a good length)")
    with AudioCapture(args.audio_device, max(args.channels), args.sample_rate, args.block_size,
                  args.music + args.timeout + 5.0) as recorder:
        say(f"Soundcheck on {recorder.device_name}, channel(s) {','.join(map(str, args.channels))}.")
        music = _record_music(recorder, args)
    existing = calibration.load(args.output) if args.output else calibration.load()
    board = kept_board(args.channels, args.output)
    usable = board is not None and board_filter(board, args.channels, args.sample_rate) is not None
    table = calibration.soundcheck(music, args.sample_rate, args.channels, existing, args.block_size, board=usable)
    existing.update(table)
    path = calibration.save(existing, args.output)
    print(f"soundcheck saved to {path} (the board's and shoes' calibration kept)")
    for channel, tuned in sorted(table.items()):
        print(f"  channel {channel}: " + _music_said(tuned, True).removeprefix("; "))
    return 0


def _record_music(recorder: AudioCapture, args) -> np.ndarray:
    _wait_enter(args, "play the band's music")
    say(f"Let the band PLAY (or play its recording into the room) for {args.music:.0f} s; do not tap ...")
    start = recorder.frames
    deadline = time.monotonic() + args.music + args.timeout
    while recorder.frames - start < args.music * args.sample_rate:
        if time.monotonic() > deadline:
            raise opt.UsageError(f"the audio device delivered no sound for {args.timeout:.0f} s")
        time.sleep(0.05)
    return recorder.since(start).copy()


def _soundcheck_kept(tuned, earlier):
    """A new calibration of the taps, with the earlier calibration's soundcheck where it had one (its
    bar as measured then, against the taps of then; `calibrate --music` measures it anew)."""
    if earlier is None or earlier.music_onsets is None:
        return tuned
    return dataclasses.replace(tuned, foot_bar=earlier.foot_bar, music_onsets=earlier.music_onsets)


def _music_said(tuned, asked: bool) -> str:
    if tuned.music_onsets is None:
        return "; soundcheck: not used (this build's detector has no learned stage B to ask)" if asked else ""
    if not asked:
        return _music_said(tuned, True) + " (the last soundcheck's, kept)"
    if tuned.foot_bar is None:
        return f"; soundcheck: {tuned.music_onsets} onsets in the music, none the detector would draw"
    return (f"; soundcheck: {tuned.music_onsets} onsets in the music, the detector now asks {tuned.foot_bar:.2f} "
            "of a foot before it draws one off the beat")


def _heel_toe_said(tuned) -> str:
    if tuned.taps == 0:
        return "heel/toe as by default (no tap of its own heard: tap on this zone to tune it)"
    right = "" if tuned.kinds_right is None else f", {tuned.kinds_right} of your {tuned.taps} taps right"
    if tuned.heel_bias is not None:
        return f"heel/toe by the learned model tuned to your shoes (shift {tuned.heel_bias:+.2f}{right})"
    if tuned.heel_low_share is not None:
        return (f"heel/toe split {tuned.heel_low_share:.2f} (heels {tuned.heel_share}, toes {tuned.toe_share}"
                f"{right})")
    return f"heel/toe as by default (heels {tuned.heel_share}, toes {tuned.toe_share}: no split found)"
