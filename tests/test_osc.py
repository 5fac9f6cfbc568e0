"""OSC with a real python-osc client and server: control comes in, every tap goes out, and a second
instance draws the first one's taps."""

import socket
import threading

import pytest

from app_process import App, wait_for
from dessins_de_planche.control.osc import parse_address

pytestmark = pytest.mark.window


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Listener:
    """A python-osc server that keeps every message it gets."""

    def __init__(self):
        from pythonosc.dispatcher import Dispatcher
        from pythonosc.osc_server import ThreadingOSCUDPServer

        self.messages = []
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(lambda address, *args: self.messages.append((address, args)))
        self.server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def get(self, address):
        return [args for a, args in list(self.messages) if a == address]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_addresses_default_to_localhost():
    assert parse_address("7400") == ("127.0.0.1", 7400)
    assert parse_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    with pytest.raises(ValueError, match="HOST:]PORT"):
        parse_address("localhost")


def test_osc_changes_the_preset_and_every_tap_goes_out(tmp_path, x_display):
    from pythonosc.udp_client import SimpleUDPClient

    listener = Listener()
    port = free_port()
    app = App(x_display, tmp_path, "--size", "320x180", "--generate", "--bpm", "130", "--preset", "rosette",
              "--osc-in", f"127.0.0.1:{port}", "--osc-send", f"127.0.0.1:{listener.port}")
    try:
        app.wait_state(lambda s: s.get("preset") == "rosette", 60, "the app to draw rosette")
        client = SimpleUDPClient("127.0.0.1", port)
        client.send_message("/ddp/preset/select", "thread")
        app.wait_state(lambda s: s.get("preset") == "thread", 20, "OSC to select the thread preset")
        number = wait_for(lambda: [a[0] for a in listener.get("/ddp/preset") if a[1] == "thread"], 20,
                          "the app to say the number of the thread preset")[0]
        client.send_message("/ddp/preset/select", "rosette")
        app.wait_state(lambda s: s.get("preset") == "rosette", 20, "OSC to select rosette again")
        client.send_message("/ddp/preset/select", number)  # by number, as on the keys
        app.wait_state(lambda s: s.get("preset") == "thread", 20, f"OSC to select preset {number}")
        client.send_message("/ddp/blackout", 1)
        client.send_message("/ddp/dimmer", 0.5)
        client.send_message("/ddp/param", ["layers[0].size", 123.0])  # refused (not a rosette number): logged
        app.wait_state(lambda s: s["output"]["blackout"] and s["output"]["dimmer"] == 0.5, 20, "blackout and dimmer")
        client.send_message("/ddp/blackout", 0)
        app.wait_state(lambda s: not s["output"]["blackout"], 20, "the blackout to lift")

        taps = wait_for(lambda: len(listener.get("/ddp/tap")) >= 6 and listener.get("/ddp/tap"), 30, "taps over OSC")
        for time, zone, kind, velocity, latency, source, channel, tap_id in taps:
            assert time > 0 and zone == "board" and kind in ("heel", "toe", "unknown")
            assert 0.0 < velocity <= 1.0 and 0.0 <= latency < 1.0
            assert source == "audio" and channel == 1 and isinstance(tap_id, int)
        times = [t[0] for t in taps]
        assert times == sorted(times)
        refines = wait_for(lambda: listener.get("/ddp/tap/refine"), 30, "refined taps over OSC")
        sent_ids = {t[7] for t in listener.get("/ddp/tap")}
        for tap_id, kind, velocity, zone in refines:
            assert tap_id in sent_ids and kind in ("heel", "toe", "unknown") and 0.0 < velocity <= 1.0
            assert zone == "board"
        wait_for(lambda: listener.get("/ddp/tempo"), 30, "the tempo over OSC")
        beats = wait_for(lambda: len(listener.get("/ddp/beat")) >= 2 and listener.get("/ddp/beat"), 30, "beats")
        assert beats[1][0] > beats[0][0] and 60 < beats[0][1] < 200
        assert "parameter layers[0].size = 123 refused by" in app.output()  # named in the log
    finally:
        assert app.stop() == 0
        listener.close()


def test_a_second_instance_draws_the_first_one_s_taps(tmp_path, x_display):
    port = free_port()
    follower = App(x_display, tmp_path, "--size", "320x180", "--listen-osc", "--osc-in", f"127.0.0.1:{port}",
                   "--preset", "thread")
    leader = None
    try:
        follower.frames_advance(60)
        assert follower.state()["taps"] == 0  # no demo of its own: it waits for the leader
        leader = App(x_display, tmp_path, "--size", "320x180", "--generate", "--osc-send", f"127.0.0.1:{port}")
        follower.wait_state(lambda s: s["taps"] >= 5, 60, "the follower to draw the leader's taps")
        assert follower.state()["preset"] == "thread"  # with its own look
    finally:
        if leader is not None:
            leader.stop()
        follower.stop()


def test_a_withdrawn_tap_is_forwarded_as_withdrawn_and_not_counted(tmp_path, x_display):
    """Taps from another instance, one of them taken back by its detector: the withdraw comes in on
    /ddp/tap/withdraw, goes out again on /ddp/tap/withdraw, and only the tap that stood counts."""
    from pythonosc.udp_client import SimpleUDPClient

    from dessins_de_planche.app.osc_routes import osc_tap_id

    listener = Listener()
    port = free_port()
    app = App(x_display, tmp_path, "--size", "320x180", "--listen-osc", "--osc-in", f"127.0.0.1:{port}",
              "--osc-send", f"127.0.0.1:{listener.port}", "--preset", "rosette")
    try:
        app.frames_advance(60)
        client = SimpleUDPClient("127.0.0.1", port)
        client.send_message("/ddp/tap", [1.0, "board", "heel", 0.8, 0.004, "audio", 1, 5])
        client.send_message("/ddp/tap/withdraw", 5)
        client.send_message("/ddp/tap", [1.3, "board", "toe", 0.7, 0.004, "audio", 1, 6])
        client.send_message("/ddp/tap/refine", [6, "toe", 0.9, "board"])
        withdrawn = wait_for(lambda: listener.get("/ddp/tap/withdraw"), 30, "the withdraw sent on")
        assert withdrawn == [(osc_tap_id(5),)]
        wait_for(lambda: listener.get("/ddp/tap/refine"), 30, "the refine sent on")
        sent = {args[7] for args in listener.get("/ddp/tap")}
        assert sent == {osc_tap_id(5), osc_tap_id(6)}
        state = app.wait_state(lambda s: s["taps"] == 1, 30, "one tap that stood")
        app.frames_advance(30)
        assert app.state()["taps"] == 1 and state["preset"] == "rosette"
    finally:
        assert app.stop() == 0
        listener.close()
