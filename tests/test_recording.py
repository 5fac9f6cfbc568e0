"""Session recording: the event stream goes to disk, replays live, and re-renders to the same picture."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from app_process import App, wait_for
from dessins_de_planche.events import KIND_HEEL, KIND_TOE, TAP_DTYPE
from dessins_de_planche.record.session import EVENTS, SessionPlayer, SessionWriter, load_session


def taps(times, start=100.0):
    records = np.zeros(len(times), TAP_DTYPE)
    records["time"] = np.asarray(times) + start
    records["detected_at"] = records["time"] + 0.004
    records["velocity"] = np.linspace(0.3, 0.9, len(times))
    records["kind"] = [KIND_HEEL if i % 2 == 0 else KIND_TOE for i in range(len(times))]
    records["tap_id"] = np.arange(len(times))
    records["channel"] = 1
    return records


def read_events(folder):
    lines = [json.loads(line) for line in (folder / EVENTS).read_text().splitlines()]
    return lines[0], [line for line in lines[1:] if line["type"] == "tap"]


def test_a_recorded_session_reads_back_and_replays_at_its_pace(tmp_path):
    writer = SessionWriter(tmp_path / "s", ("left", "right"), started=100.0, preset="rosette")
    recorded = taps([0.5, 0.75, 1.0, 1.25])
    recorded["zone"] = [0, 1, 0, 1]
    writer.add_taps(recorded)
    writer.close()
    header, lines = read_events(tmp_path / "s")
    assert header["zones"] == ["left", "right"] and header["preset"] == "rosette"
    assert [line["zone"] for line in lines] == ["left", "right", "left", "right"]
    assert lines[0]["time"] == 0.5 and lines[0]["kind"] == "heel" and lines[1]["kind"] == "toe"
    session = load_session(tmp_path / "s")
    player = SessionPlayer(session, start=500.0)
    first, _ = player.due(500.0 + 0.6)  # only what had been received by then
    assert len(first) == 1 and first["time"][0] == pytest.approx(500.5)
    rest, _ = player.due(500.0 + 5.0)
    assert len(rest) == 3 and player.finished


def test_a_full_disk_stops_the_recording_cleanly(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    folder = tmp_path / "full"
    folder.mkdir()
    (folder / EVENTS).symlink_to("/dev/full")  # every write: ENOSPC
    writer = SessionWriter(folder, ("board",), started=0.0)
    writer.add_taps(taps([0.1, 0.2]))
    wait_for(lambda: writer.error, 10, "the writer to notice the full disk")
    assert "No space left on device" in writer.error and not writer.active
    writer.add_taps(taps([0.3]))  # the show goes on: more records are simply not written
    writer.close()


@pytest.mark.window
def test_record_replay_and_render_give_the_same_events_and_the_same_picture(tmp_path, x_display):
    first, second = tmp_path / "first", tmp_path / "second"
    app = App(x_display, tmp_path, "--size", "320x180", "--generate", "--bpm", "140", "--seconds", "5",
              "--record", str(first))
    assert app.process.wait(120) == 0, app.output()[-3000:]
    header, original = read_events(first)
    assert len([t for t in original if t["refine"] == 0]) >= 8, "the generator's taps were recorded"
    assert set(original[0]) >= {"time", "detected_at", "source", "channel", "zone", "kind", "velocity"}
    duration = max(t["detected_at"] for t in original)
    replay = App(x_display, tmp_path, "--size", "320x180", "--input", str(first), "--no-loop",
                 "--seconds", str(duration + 3), "--record", str(second))
    assert replay.process.wait(120) == 0, replay.output()[-3000:]
    assert "Traceback" not in replay.output()
    _, replayed = read_events(second)
    assert replayed == original  # the same records, the same times from the session's start

    pictures = []
    for folder in (first, second):
        out = tmp_path / f"{folder.name}.png"
        result = subprocess.run([sys.executable, "-m", "dessins_de_planche", "render", "--input", str(folder),
                                 "--preset", "rosette", "--size", "320x180", "--out", str(out)],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        import pygame

        pictures.append(pygame.surfarray.array3d(pygame.image.load(str(out))))
    assert np.array_equal(pictures[0], pictures[1])
    colourful = pictures[0].max(axis=2).astype(int) - pictures[0].min(axis=2)
    assert (colourful > 60).sum() > 50  # the taps drew something


def test_the_input_audio_is_recorded_block_by_block(tmp_path):
    import soundfile

    from dessins_de_planche.record.audio import AudioRecorder

    recorder = AudioRecorder(tmp_path, 48_000, 2)
    signal = np.random.default_rng(3).uniform(-1, 1, (48_000, 2)).astype(np.float32)
    for start in range(0, len(signal), 128):
        recorder.write(signal[start:start + 128], now=start / 48_000)
    recorder.close()
    back, rate = soundfile.read(tmp_path / "audio.wav", dtype="float32")
    assert rate == 48_000 and np.array_equal(back, signal)
    assert json.loads((tmp_path / "audio.json").read_text())["frames"] == len(signal)


def test_a_failing_audio_recording_never_stops_detection(tmp_path):
    import errno

    from dessins_de_planche.record.audio import AudioRecorder, recording_handler

    handled = []

    class Handler:
        def handle(self, block, now):
            handled.append(len(block))

    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    tee = recording_handler(Handler(), not_a_folder, 48_000)
    block = np.zeros((128, 1), np.float32)
    tee.handle(block, 0.0)
    tee.handle(block, 0.01)
    assert handled == [128, 128]  # detection goes on; the recording never started

    recorder = AudioRecorder(tmp_path / "ok", 48_000, 1)

    class FullDisk:
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            pass

    recorder._file = FullDisk()  # the disk fills up mid-show
    recorder.write(block, 0.0)
    wait_for(lambda: recorder.error, 10, "the recorder to notice")
    assert "No space left on device" in recorder.error
    recorder.write(block, 0.01)  # the callback still returns at once
    recorder.close()


class SteadyTempo:
    """A tempo tracker that has always known the tempo (the replay's picture then depends on the taps alone)."""

    bpm, bar_beats, beat_period = 120.0, 2, 0.5

    def __init__(self, bar_beats=2):
        pass

    def add(self, *tap):
        pass

    def beat_phase(self, t):
        return (t / self.beat_period) % 1.0

    def bar_phase(self, t):
        return (t / self.beat_period / self.bar_beats) % 1.0


@pytest.mark.gl
def test_a_recorded_withdraw_replays_without_the_mark(tmp_path, ctx):
    from dessins_de_planche.events import RECORD_REFINE, RECORD_WITHDRAW
    from dessins_de_planche.preset import load_gallery
    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.render.offline import replay

    firsts = taps([0.5, 0.75, 1.0])
    follow = firsts.copy()
    follow["detected_at"] += 0.016
    follow["refine"] = [RECORD_REFINE, RECORD_WITHDRAW, RECORD_REFINE]
    records = np.concatenate([firsts, follow])
    records = records[np.argsort(records["detected_at"], kind="stable")]

    def recorded(name, kept):
        writer = SessionWriter(tmp_path / name, ("board",), started=100.0, preset="rosette")
        writer.add_taps(records[kept])
        writer.close()
        return load_session(tmp_path / name)

    session = recorded("withdrawn", np.ones(len(records), bool))
    assert len(session.taps) == 6 and session.withdrawn == 1
    assert session.final_taps["tap_id"].tolist() == [0, 2]
    never = recorded("never", records["tap_id"] != 1)
    confirmed = recorded("confirmed", ~((records["tap_id"] == 1) & (records["refine"] == RECORD_WITHDRAW)))
    assert never.withdrawn == 0 and len(confirmed.final_taps) == 3

    rosette = load_gallery(presets_dir())["rosette"]
    pictures, heard = [], []

    class HeardTempo(SteadyTempo):
        def add(self, time, *rest):
            heard.append(round(time, 6))

    for take in (session, never, confirmed):
        scene = replay(ctx, take.taps, take.duration, rosette, (320, 180), tracker_factory=HeardTempo, tail=0.1)
        try:
            pictures.append(scene.read_canvas().astype(int))
        finally:
            scene.release()
        if take is session:
            assert heard == [0.5, 1.0], "the tempo heard the taps that stood"
    assert np.abs(pictures[0] - pictures[1]).max() < 3, "replayed as if the withdrawn tap had never come"
    assert (np.abs(pictures[2] - pictures[1]).max(axis=2) >= 3).sum() > 20, "had it stood, it would show"
