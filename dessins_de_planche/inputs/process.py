"""The input process: what runs in it. The render process's handle on it is `inputs/handle.py`.

It owns the audio callback, the MIDI listener and the detector. It attaches the rings and the
status block the render process created (`inputs/shm.py`, `inputs/status.py`), runs each source
on a thread of its own, publishes its status (and beats its heart) every STATUS_SECONDS, and
ends when asked, when its parent is gone, or at once when its device or audio server went away
(EXIT_DEVICE_LOST: closing such a stream hangs or crashes, and the handle starts a new process).
"""

from __future__ import annotations

import faulthandler
import gc
import logging
import os
import sys
import threading
from typing import TextIO

from dessins_de_planche.clock import master_time
from dessins_de_planche.config import InputSpec
from dessins_de_planche.inputs.shm import attach_rings
from dessins_de_planche.inputs.status import AUDIO_STATES, MIDI_STATES, STATUS_SECONDS, StatusBlock, zone_counts

log = logging.getLogger(__name__)

EXIT_DEVICE_LOST = 75  # the input process ended because its device or audio server went away
GIL_SWITCH_SECONDS = 0.0005  # see input_process_main


def _make_handler_factory(spec: InputSpec, channels: tuple[int, ...], rings: dict, generation: int):
    from dessins_de_planche.clock import StreamClock
    from dessins_de_planche.inputs.audio import BlockHandler

    tuned = _calibration(spec, channels)
    from dessins_de_planche.inputs.board import board_detector, usable_audio_board

    board = usable_audio_board(spec.audio_board, channels) if spec.audio_device is not None or spec.input_file else None

    def make_handler(sample_rate: int, block_size: int):
        detector, board_filter = board_detector(sample_rate, channels, block_size, tuned, board)
        handler = BlockHandler(detector, StreamClock(sample_rate), rings["taps"], rings["features"],
                               channels, range(len(channels)), generation, board=board_filter)
        if spec.record_audio:  # only when asked: `run --record DIR --record-audio`
            from dessins_de_planche.record.audio import recording_handler

            return recording_handler(handler, spec.record_audio, sample_rate)
        return handler

    return make_handler


def _calibration(spec: InputSpec, channels) -> tuple:
    """Each channel's calibration from `calibrate`'s file (a board or its recording, not the
    synthesized demo); a broken file is logged, never fatal."""
    if not spec.use_calibration or (spec.audio_device is None and spec.input_file is None):
        return ()
    from dessins_de_planche.listen import calibration

    try:
        return calibration.for_channels(calibration.load(), channels)
    except ValueError as error:
        log.warning("%s; listening with the default detector settings", error)
        return ()


def _audio_source(spec: InputSpec, channels, rings, generation: int):
    from dessins_de_planche.inputs.sources import FileReplay, GeneratorSource, audio_source_kind

    kind = audio_source_kind(spec)
    if kind is None:
        return None
    make_handler = _make_handler_factory(spec, channels, rings, generation)
    if kind == "replay":
        return FileReplay(spec, make_handler)
    if kind == "demo":
        return GeneratorSource(spec, make_handler)
    from dessins_de_planche.inputs.stream import LiveAudio  # loads PortAudio: only when asked for

    return LiveAudio(spec, channels, make_handler)


def _publish(status: StatusBlock, audio, midi) -> None:
    values = {"pid": os.getpid(), "updated": master_time(), "heartbeat": int(status.record["heartbeat"]) + 1}
    errors = []
    if audio is not None:
        median, p99, worst = audio.lateness.summary()
        values.update(audio_state=AUDIO_STATES.index(audio.state), device=audio.device_name,
                      sample_rate=audio.sample_rate, block_size=audio.block_size, overflows=audio.overflows,
                      blocks=audio.blocks, late_median_ms=median, late_p99_ms=p99, late_max_ms=worst)
        errors.append(audio.error)
        from dessins_de_planche.inputs.board import filter_of

        board = filter_of(audio)
        if board is not None:
            values.update(audio_calibrated=True,
                          audio_zone_taps=zone_counts([c[0] for c in board.counts]),
                          audio_zone_bleed=zone_counts([c[1] for c in board.counts]),
                          audio_zone_shifts=zone_counts([c[2] for c in board.counts]))
    if midi is not None:
        values.update(midi_state=MIDI_STATES.index(midi.state), midi_port=midi.port_name or midi.spec.midi_port,
                      midi_api=midi.api_name, midi_calibrated=midi.board is not None,
                      midi_zone_taps=zone_counts(midi.zone_taps), midi_zone_bleed=zone_counts(midi.zone_bleed),
                      midi_zone_shifts=zone_counts(midi.zone_shifts))
        errors.append(midi.error)
    values["error"] = next((e for e in errors if e), "")
    status.write(**values)


def ask_for_priority() -> str:
    """Audio before pictures: the audio callback runs on the sound server's real-time thread
    but needs this process's GIL, so a busy machine must not preempt this process's other
    threads while they hold it. The lowest real-time priority where the system allows it
    (below the sound server's own threads), else a higher nice; neither is required."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        return "real-time (SCHED_FIFO 1)"
    except (AttributeError, OSError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -10)
        return "nice -10"
    except (AttributeError, OSError):
        return "normal (the system allows no higher priority)"


def log_to_stderr(level: int) -> TextIO:
    """The input process's log, on a copy of its stderr: `quiet_stderr` points file descriptor 2
    at /dev/null while libjack complains, and a line another thread logs meanwhile (the audio
    stream's "listening to", a warning) must not vanish with the noise."""
    stream = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    logging.basicConfig(level=level, format="%(asctime)s input %(levelname)s %(message)s", stream=stream)
    return stream


def input_process_main(spec: InputSpec, ring_names: dict, status_name: str, parent_pid: int,
                       log_level: int = logging.INFO, generation: int = 0) -> None:
    """The input process: start the sources, publish status, stop when asked or orphaned.
    `generation`: how many times it was restarted before (each start numbers its taps anew)."""
    log_stream = log_to_stderr(log_level)
    # a crash in a native library (PortAudio, libjack, RtMidi) leaves every thread's Python stack in
    # the log before the process dies and is restarted: the log then says which call it was
    faulthandler.enable(log_stream, all_threads=True)
    log.info("input process priority: %s", ask_for_priority())  # a show's log says whether audio came first
    # A thread that wants the GIL waits this long before the holder is made to let go (5 ms by
    # default, more than a 128-frame period): any Python the other threads run costs the audio
    # callback at most half a millisecond.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # never let a retry start a JACK server of its own
    from dessins_de_planche.inputs.sources import audio_channels

    status = StatusBlock.attach(status_name)
    rings = attach_rings(ring_names)
    channels = audio_channels(spec)
    stop = threading.Event()
    audio = midi = None
    try:
        audio = _audio_source(spec, channels, rings, generation)
    except Exception as error:  # a broken file or generator: say so, and keep MIDI going
        log.error("audio input failed: %s", error)
        status.write(error=f"audio input failed: {error}")
    if spec.midi_port:
        from dessins_de_planche.inputs.midi import MidiListener

        midi = MidiListener(spec, spec.zone_table(len(channels)), rings["midi_taps"], rings["controls"],
                            generation)
    threads = [threading.Thread(target=part.run, args=(stop,), name=f"input-{type(part).__name__}", daemon=True)
               for part in (audio, midi) if part is not None]
    for thread in threads:
        thread.start()
    # What is alive now lives as long as the process: out of the collector's sight, so that a
    # collection (the GIL held for up to a millisecond or more with the imports' objects in
    # view) never stands between the audio callback and its deadline.
    gc.collect()
    gc.freeze()
    states = None
    try:
        while not status.stop_asked and os.getppid() == parent_pid:
            _publish(status, audio, midi)
            now_states = tuple(part.state for part in (audio, midi) if part is not None)
            if now_states != states:  # a stream or port (re)opened: what it made lives on too
                states = now_states
                gc.freeze()
            if (audio is not None and audio.lost) or (midi is not None and midi.lost):
                # Closing a stream or port whose server vanished hangs or crashes: leave at once,
                # without running PortAudio's exit handler, and let the render process restart us.
                os._exit(EXIT_DEVICE_LOST)
            stop.wait(STATUS_SECONDS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(2.0)
        for part in (audio, midi):
            if part is not None:
                part.close()
        if "sounddevice" in sys.modules:
            import sounddevice

            sounddevice._terminate()
        if spec.record_audio:
            from dessins_de_planche.record.audio import close_recorders

            close_recorders()
        for ring in rings.values():
            ring.close()
        status.close()
