"""Every OSC packet is untrusted: random types, NaN and infinity, huge integers, far-future time
tags, bundles nested deep, bytes that are not OSC. None stops the show, blacks it out, or keeps
it from stopping on SIGTERM.

Part of the hostile-input suite. Two tiers: packets over real UDP into a stage with real GL
(hypothesis draws them; every address of the OSC space, every argument type OSC carries), and
the issue's cases against the real app under Xvfb, whose frames must keep coming.
"""

from __future__ import annotations

import argparse
import math
import signal
import socket
import struct
import time
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dessins_de_planche.control.osc import FUTURE_TAG_S, OscIn
from dessins_de_planche.events import TAP_DTYPE, ZONE_UNCHANGED
from dessins_de_planche.inputs.handle import InputBatch
from dessins_de_planche.inputs.status import InputStatus

YEAR = 365 * 24 * 3600.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- building packets, hostile ones included -------------------------------------------------------
def _padded(raw: bytes) -> bytes:
    return raw + b"\x00" * (4 - len(raw) % 4)


def message(address: str, args) -> bytes:
    """An OSC message by hand, as any sender may write it (python-osc's builder re-reads what it
    builds and refuses some hostile values)."""
    tags, data = ",", b""
    for value, kind in args:
        tags += kind
        if kind == "i":
            data += struct.pack(">i", value)
        elif kind == "h":
            data += struct.pack(">q", value)
        elif kind == "f":
            data += struct.pack(">f", value)
        elif kind == "d":
            data += struct.pack(">d", value)
        elif kind == "s":
            data += _padded(value.encode("utf-8", "surrogatepass"))
        elif kind == "b":
            data += struct.pack(">i", len(value)) + value + b"\x00" * (-len(value) % 4)
    return _padded(address.encode()) + _padded(tags.encode()) + data


def ntp(seconds: float) -> bytes:
    seconds = min(max(seconds + 2208988800.0, 0.0), 2**32 - 1)
    whole = int(seconds)
    return struct.pack(">II", whole, int((seconds - whole) * 2**32))


def bundle(tag: float | None, *contents: bytes) -> bytes:
    """An OSC bundle by hand (python-osc's builder has no way to nest thousands deep)."""
    out = b"#bundle\x00" + (struct.pack(">Q", 1) if tag is None else ntp(tag))
    for content in contents:
        out += struct.pack(">i", len(content)) + content
    return out


def nested(depth: int, inner: bytes) -> bytes:
    for _ in range(depth):
        inner = bundle(None, inner)
    return inner


def send(port: int, packets) -> int:
    """Send what fits in a UDP datagram; returns how many packets went."""
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for packet in packets:
            if len(packet) <= 65000:
                sock.sendto(packet, ("127.0.0.1", port))
                sent += 1
    return sent


ADDRESSES = ["/ddp/preset/select", "/ddp/preset/next", "/ddp/preset/previous", "/ddp/cue", "/ddp/param",
             "/ddp/clear", "/ddp/undo", "/ddp/blackout", "/ddp/freeze", "/ddp/hud", "/ddp/dimmer", "/ddp/tempo",
             "/ddp/tap", "/ddp/tap/refine", "/ddp/tap/withdraw", "/ddp/nothing", "/", "/ddp"]
FLOATS = st.one_of(st.floats(width=32), st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-45]))
ARG = st.one_of(
    st.tuples(st.integers(-2**31, 2**31 - 1), st.just("i")),
    st.tuples(st.sampled_from([70000, 2**31 - 1, -2**31, 255, 256, 65536]), st.just("i")),
    st.tuples(st.integers(-2**63, 2**63 - 1), st.just("h")),
    st.tuples(FLOATS.filter(lambda x: not math.isfinite(x) or abs(x) < 3e38), st.just("f")),
    st.tuples(st.one_of(st.floats(), st.just(1e308)), st.just("d")),
    st.tuples(st.text(max_size=300), st.just("s")),
    st.tuples(st.sampled_from(["heel", "toe", "unknown", "audio", "midi", "board", "rosette", "inf", "nan", "3",
                               "layers[0].size", ""]), st.just("s")),
    st.tuples(st.binary(max_size=64), st.just("b")),
    st.tuples(st.just(True), st.just("T")),
    st.tuples(st.just(False), st.just("F")),
    st.tuples(st.none(), st.just("N")),
)
MESSAGES = st.builds(message, st.sampled_from(ADDRESSES), st.lists(ARG, max_size=10))
TAGS = st.one_of(st.none(), st.floats(-YEAR, 100 * YEAR).map(lambda dt: time.time() + dt))
PACKETS = st.one_of(
    MESSAGES,
    st.builds(lambda tag, contents: bundle(tag, *contents), TAGS, st.lists(MESSAGES, min_size=1, max_size=5)),
    st.builds(lambda depth, tag, inner: nested(depth, bundle(tag, inner)), st.integers(1, 2000), TAGS, MESSAGES),
    st.binary(max_size=200),
    st.builds(lambda raw: b"/ddp/tap\x00\x00\x00\x00," + raw, st.binary(max_size=64)),  # a broken type tag
)


# -- tier 1: a stage with real GL and a real OSC server, packets over UDP ------------------------------
class Show:
    """The app's Show, reduced to what OSC touches."""

    def __init__(self):
        from dessins_de_planche.preset.deck import Deck

        self.deck = Deck([SimpleNamespace(name=n) for n in ("ink", "rosette", "thread")], index=1)
        self.size = (160, 90)
        self.scene = SimpleNamespace(resize=lambda size: None, clear=lambda: None)
        self.rhythm = SimpleNamespace(bpm=120.0, beat_period=0.5, bar_beats=2, beat_number=lambda t: int(t * 2),
                                      bar_phase=lambda t: 0.0, reset=lambda: None,
                                      set_tempo=lambda bpm, at: setattr(self.rhythm, "bpm", bpm))
        self.levels, self.last_tap, self.taps_seen, self.show_soundcheck, self.notice = {}, {}, 0, False, ()

    @property
    def preset(self):
        return self.deck.preset

    def take(self, batch):  # what the console hands on: the tests read it from `take`'s answer
        pass


def build_stage(ctx, folder):
    import pygame

    from dessins_de_planche.app.console import Console

    pygame.font.init()
    port = free_port()
    args = argparse.Namespace(kiosk=False, midi_control=str(folder / "midi.toml"), autosave_dir=str(folder),
                              warp=str(folder / "warp.toml"), listen_osc=True, osc_in=f"127.0.0.1:{port}")
    inputs = SimpleNamespace(zone_names=("board",), status=InputStatus(audio_state="off", running=True))
    stage = Console(ctx, Show(), SimpleNamespace(size=(160, 90), toggle_fullscreen=lambda: None), inputs, args)
    stage.port = port
    return stage


@pytest.fixture(scope="module")
def hammered_stage(gl_context, tmp_path_factory):
    """One stage for every drawn case (a show lives through all of them)."""
    previous = signal.getsignal(signal.SIGINT)
    stage = build_stage(gl_context, tmp_path_factory.mktemp("osc"))
    yield stage
    stage.close()
    stage.output.release()
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def osc_stage(ctx, tmp_path):
    previous = signal.getsignal(signal.SIGINT)
    stage = build_stage(ctx, tmp_path)
    yield stage
    stage.close()
    stage.output.release()
    signal.signal(signal.SIGINT, previous)


def empty_batch() -> InputBatch:
    from dessins_de_planche.events import CONTROL_DTYPE, FEATURE_DTYPE

    return InputBatch(np.zeros(0, TAP_DTYPE), np.zeros(0, FEATURE_DTYPE), np.zeros(0, CONTROL_DTYPE))


def received_by(stage, count: int) -> None:
    """Wait until the server thread has handled `count` packets more (read, refused or counted)."""
    osc = stage.osc_in
    end = time.monotonic() + 10.0
    while osc.received + osc.malformed + osc.dropped < count:
        assert time.monotonic() < end, "the OSC thread stopped handling packets"
        time.sleep(0.002)


def handled(osc: OscIn) -> int:
    return osc.received + osc.malformed + osc.dropped


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(packets=st.lists(PACKETS, min_size=1, max_size=8))
def test_no_packet_stops_the_stage_or_blacks_it_out(hammered_stage, packets):
    stage = hammered_stage
    before = handled(stage.osc_in)
    received_by(stage, before + send(stage.port, packets))  # each packet: a message or more, or one refusal
    batch = stage.take(empty_batch())  # the per-frame path: drain, route, validate
    assert stage.osc_in._thread.is_alive(), "the OSC thread died"
    out = stage.output
    assert math.isfinite(out.dimmer) and 0.0 <= out.dimmer <= 1.0
    assert 0 <= stage.show.deck.index < len(stage.show.deck)
    assert len(stage.zone_names) <= ZONE_UNCHANGED
    taps = batch.taps
    assert np.all(np.isfinite(taps["time"])) and np.all((taps["velocity"] >= 0) & (taps["velocity"] <= 1))
    assert np.all((taps["zone"] < len(stage.zone_names)) | (taps["zone"] == ZONE_UNCHANGED))
    if out.blackout:
        stage.do("blackout", False)  # a valid message may black out; the next case starts lit


def test_the_issue_s_messages_are_refused_one_by_one_and_said_once(osc_stage, caplog):
    from pythonosc.udp_client import SimpleUDPClient

    stage = osc_stage
    stage.show.deck.select(1)
    stage.output.dimmer = 0.8
    client = SimpleUDPClient("127.0.0.1", stage.port)
    before = handled(stage.osc_in)
    client.send_message("/ddp/preset/select", float("inf"))
    client.send_message("/ddp/dimmer", float("nan"))
    for _ in range(50):
        client.send_message("/ddp/tap", [0.0, "board", "heel", 0.8, 0.0, "audio", 70000, 1])
    client.send_message("/ddp/tap", [0.0, "board", "heel", float("inf"), 0.0, "audio", 1, 2])
    received_by(stage, before + 53)
    with caplog.at_level("WARNING", logger="dessins_de_planche.app"):
        batch = stage.take(empty_batch())
    assert stage.show.deck.index == 1 and stage.output.dimmer == 0.8  # nothing changed, nothing black
    assert len(batch.taps) == 0
    said = [r.getMessage() for r in caplog.records if "/ddp/tap" in r.getMessage()]
    assert len(said) == 1 and "channel" in said[0]  # 51 refused taps, one line (rate-limited per address)
    assert any("/ddp/preset/select" in r.getMessage() for r in caplog.records)
    before = handled(stage.osc_in)  # counted before sending: the thread may handle it at once
    client.send_message("/ddp/tap", [0.0, "board", "heel", 0.8, 0.0, "audio", 1, 3])  # a good one still works
    received_by(stage, before + 1)
    assert len(stage.take(empty_batch()).taps) == 1


def test_a_256th_zone_is_refused_and_the_first_255_work(osc_stage):
    from pythonosc.udp_client import SimpleUDPClient

    stage = osc_stage
    client = SimpleUDPClient("127.0.0.1", stage.port)
    names = [f"zone-{i}" for i in range(300)]
    before = handled(stage.osc_in)
    for i, name in enumerate(names):
        client.send_message("/ddp/tap", [0.0, name, "toe", 0.5, 0.0, "audio", 1, 1000 + i])
        if i % 50 == 49:  # paced: a busy machine's socket buffer drops a burst of 300 datagrams
            received_by(stage, before + i + 1)
    received_by(stage, before + len(names))
    taps = stage.take(empty_batch()).taps
    assert len(stage.zone_names) == ZONE_UNCHANGED  # 255 names: indices 0..254, 255 means "unchanged"
    assert len(taps) >= ZONE_UNCHANGED - 60 and np.all(taps["zone"] < ZONE_UNCHANGED)


def test_far_future_and_deeply_nested_bundles_never_hold_the_server(osc_stage):
    stage = osc_stage
    osc = stage.osc_in
    future, malformed = osc.future_tags, osc.malformed
    tap = message("/ddp/tempo", [(128.0, "f")])
    before = handled(osc)
    send(stage.port, [bundle(time.time() + YEAR, tap), nested(3000, tap), bundle(time.time() + 2 * FUTURE_TAG_S, tap)])
    received_by(stage, before + 3)
    started = time.monotonic()
    send(stage.port, [message("/ddp/tempo", [(96.0, "f")])])
    while stage.show.rhythm.bpm != 96.0:
        stage.take(empty_batch())
        assert time.monotonic() - started < 5.0, "a message after a far-future bundle did not come through"
    assert osc.future_tags >= future + 2  # applied at once, counted
    assert osc.malformed == malformed + 1  # 3000 deep: past what python-osc reads; refused, counted, no hang


def test_closing_the_osc_server_is_quick_whatever_it_was_sent():
    port = free_port()
    osc = OscIn("127.0.0.1", port)
    sent = send(port, [bundle(time.time() + YEAR, message("/ddp/clear", [])), b"\x00" * 64, nested(3000, b"")])
    received_by(SimpleNamespace(osc_in=osc), sent)  # all three read (and two refused) before closing
    started = time.monotonic()
    osc.close()
    assert time.monotonic() - started < 2.0  # it used to wait a year for the bundle
    assert not osc._thread.is_alive()


# -- tier 2: the real app under Xvfb, its frames must keep coming ------------------------------------
@pytest.mark.window
def test_the_show_draws_on_through_the_issue_s_packets_and_stops_on_sigterm(tmp_path, x_display):
    from pythonosc.udp_client import SimpleUDPClient

    from app_process import App

    port = free_port()
    app = App(x_display, tmp_path, "--size", "320x180", "--generate", "--listen-osc", "--osc-in",
              f"127.0.0.1:{port}", "--preset", "rosette")
    try:
        app.frames_advance(60)
        client = SimpleUDPClient("127.0.0.1", port)
        cases = [
            [message("/ddp/preset/select", [(math.inf, "f")])],
            [message("/ddp/preset/select", [(2**62, "h")])],
            [message("/ddp/tap", [(0.0, "f"), ("board", "s"), ("heel", "s"), (0.9, "f"), (0.0, "f"),
                                  ("audio", "s"), (70000, "i"), (1, "i")])],
            [message("/ddp/tap", [(0.0, "f"), ("board", "s"), ("heel", "s"), (0.9, "f"), (0.0, "f"),
                                  ("audio", "s"), (math.inf, "f"), (1, "i")])],
            [message("/ddp/tap", [(0.0, "f"), (f"z{i}", "s"), ("toe", "s"), (0.5, "f")]) for i in range(300)],
            [message("/ddp/dimmer", [(math.nan, "f")])],
            [message("/ddp/tempo", [(math.inf, "f")]), message("/ddp/param", [("canvas.decay", "s"), (math.nan, "f")])],
            [bundle(time.time() + YEAR, message("/ddp/blackout", [(1, "i")]))],
            [nested(4000, message("/ddp/clear", []))],
            [b"\xff" * 40, b"#bundle\x00" + b"\x00" * 7, b"/ddp/tap\x00\x00\x00\x00,zzz\x00"],
        ]
        for case in cases:
            send(port, case)
            app.frames_advance(30)
        state = app.wait_state(lambda s: True, 10, "the health file")
        assert state["preset"] == "rosette" and state["output"]["dimmer"] == 1.0
        client.send_message("/ddp/blackout", 0)  # the far-future blackout was applied at once: lift it
        app.wait_state(lambda s: not s["output"]["blackout"], 20, "the blackout to lift")
        state = app.frames_advance(30)
        assert state["output"]["dimmer"] == 1.0 and not state["output"]["blackout"]  # nothing black on screen
    finally:
        began = time.monotonic()
        code = app.stop()
        stopped_in = time.monotonic() - began
    assert code == 0 and stopped_in < 20.0  # SIGTERM is heard (it waited a year on the bundle before)
    output = app.log.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]
