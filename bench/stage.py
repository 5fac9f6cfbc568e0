"""A stage for the benches: a screen (Xvfb, or offscreen on a GPU), a JACK dummy server, a board that plays taps, the app, its telemetry.

Shared by `tap_to_photon.py`, `load.py` and `startup.py`; each stops what it started here
(the servers, the clients, the app, jackd's /dev/shm files).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from multiprocessing import shared_memory

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the tests' rig: wait_for and the JACK player

from rig import PERIOD, SAMPLE_RATE, DummyJack, SignalPlayer, remove_jack_registry, wait_for  # noqa: E402


def start_xvfb(size=(1920, 1080)) -> tuple[subprocess.Popen, str]:
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{size[0]}x{size[1]}x24",
                               "-nolisten", "tcp"], pass_fds=(write_end,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        raise RuntimeError("Xvfb did not start")
    return server, f":{number}"


def real_time_refused() -> str | None:
    """Why this machine refuses real-time scheduling (then jackd, the app's audio callback and the
    wake-up probe all run at normal priority, and any load makes late cycles), or None."""
    try:
        policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        os.sched_setscheduler(0, policy, param)  # as it was: jackd and the app inherit it (`chrt`)
        return None
    except (AttributeError, OSError) as error:
        why = getattr(error, "strerror", None) or str(error)
    group = cpu_cgroup()
    if group != "/":  # with real-time group scheduling, a cgroup without a real-time budget refuses it even to root
        why += f"; this process's cgroup {group} may have no real-time budget: try from the root cgroup"
    return why


def cpu_cgroup() -> str:
    """The cgroup whose real-time budget applies here: cgroup v1's `cpu` controller, else v2's."""
    groups = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for controller in controllers.split(","):
                    groups[controller] = path
    except (OSError, ValueError):
        return "/"
    return groups.get("cpu", groups.get("", "/"))


def say_if_real_time_refused() -> None:
    """Print one line if real-time scheduling is refused here."""
    why = real_time_refused()
    if why:
        print(f"NOTE: real-time scheduling is refused on this machine ({why}): jackd, the app's audio "
              f"callback and the probe run at normal priority, so any load delays them; late cycles and "
              f"overflows here say little about the app.")


class Screen:
    """Where the app draws: a window on a fresh Xvfb, or with `offscreen` SDL's offscreen video
    driver (EGL, no X server), for a machine with a GPU and no display.

    SDL's offscreen driver accepts vsync without waiting for anything, so there the app is
    paced by its own 60 Hz timer from the first frame (it would find out itself within 60
    frames), as it is under Xvfb, which refuses vsync.
    """

    def __init__(self, offscreen: bool = False):
        self.server = None
        if offscreen:
            self.env = {"SDL_VIDEODRIVER": "offscreen"}
            self.app_args = ("--max-fps", "60")
        else:
            self.server, display = start_xvfb()
            self.env = {"DISPLAY": display}
            self.app_args = ()

    def close(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(10)


class Jack(DummyJack):
    """`jackd -d dummy` under its own name (exported in JACK_DEFAULT_SERVER for the app)."""

    def __init__(self, name: str | None = None, period: int = PERIOD, capture: int = 2):
        super().__init__(name or f"ddp-bench-{os.getpid()}")
        self.period = period
        self.capture = capture
        self.log_path = os.path.join(tempfile.gettempdir(), f"{self.name}.log")  # jackd's own report of xruns
        os.environ["JACK_DEFAULT_SERVER"] = self.name
        os.environ["JACK_NO_START_SERVER"] = "1"

    def start(self) -> "Jack":
        with open(self.log_path, "w") as log:  # jackd keeps its own handle
            self.launch(self.period, self.capture, stderr=log)
        return self

    def xruns(self) -> dict[str, int]:
        """Cycles each client did not finish in time, and cycles the server itself started late, as jackd
        reported them so far: whose the overflows are."""
        counts: dict[str, int] = {}
        try:
            with open(self.log_path, errors="replace") as log:
                for line in log:
                    if "was not finished" in line and "client = " in line:
                        client = line.split("client = ", 1)[1].split(" was not finished", 1)[0]
                    elif "Driver::Process XRun" in line:  # the server's own cycle woke late
                        client = "jackd itself"
                    else:
                        continue
                    counts[client] = counts.get(client, 0) + 1
        except OSError:
            pass
        return counts


class Board:
    """A JACK client that plays a signal into the app's audio inputs from a known frame.

    It runs in a process of its own: its process callback needs its interpreter's lock,
    and in the bench's process that lock is shared with the loops that send MIDI and
    read telemetry, which the render takes CPU from. A late player is an xrun, and JACK
    tells every client of any late cycle, so PortAudio would count the bench's own
    lateness as the app's overflow.

    `frame_to_master(f)` is when the cycle that starts at frame f began (the lower
    envelope of process-callback entries): the dummy driver hands a cycle's frames
    to every client at that moment, which a sound card would have captured during
    the period before it.
    """

    def __init__(self, jack: Jack, channels: int, name: str = "ddp-board"):
        context = multiprocessing.get_context("spawn")
        self._conn, child_end = context.Pipe()
        self._process = context.Process(target=_player_main, args=(child_end, jack.name, channels, name),
                                        name=name, daemon=True)
        self._process.start()
        child_end.close()
        self.start_frame = None
        self._length = 0
        self._origin = float("inf")
        self._signal_memory = None
        self._ends_at = float("inf")
        self._ask("ready")

    def _ask(self, *request):
        self._conn.send(request)
        if not self._conn.poll(60.0):
            raise RuntimeError(f"the board's player did not answer {request[0]!r}")
        reply = self._conn.recv()
        if isinstance(reply, Exception):
            raise reply
        return reply

    def connect(self, owner: str = "PortAudio") -> None:
        self._ask("connect", owner)

    def load(self, signal: np.ndarray) -> None:
        """Hand the player a signal, before the measurement starts: megabytes allocated and copied
        here stall the machine for a few milliseconds (one JACK cycle missed, measured), and
        through shared memory, since unpickling them would hold the player's lock as long."""
        signal = np.ascontiguousarray(signal, np.float32)
        memory = shared_memory.SharedMemory(create=True, size=max(signal.nbytes, 1))
        np.ndarray(signal.shape, np.float32, buffer=memory.buf)[:] = signal
        self._ask("load", memory.name, signal.shape)
        self._release_signal()
        self._signal_memory = memory
        self._length = len(signal)

    def play(self, lead_seconds: float = 0.3) -> int:
        """Play the loaded signal. Start on a cycle boundary, so every run hands the app the same
        blocks: the same signal then gives the same taps, and a difference between two runs is a
        lost block, not phase."""
        self.start_frame, now_frame = self._ask("play", lead_seconds)
        # when it will be over, by this process's clock: `finished` need not ask the player until then
        self._ends_at = time.monotonic() + (self.start_frame + self._length - now_frame) / SAMPLE_RATE
        return self.start_frame

    def _release_signal(self) -> None:
        if self._signal_memory is not None:
            self._signal_memory.close()
            self._signal_memory.unlink()
            self._signal_memory = None

    def frame_to_master(self, frame) -> np.ndarray:
        if self._process is not None:
            self._origin = self._ask("origin")
        return self._origin + np.asarray(frame, np.float64) / SAMPLE_RATE

    def finished(self) -> bool:
        if self.start_frame is None or time.monotonic() < self._ends_at:
            return False  # polled often: no round trip to the player (it would wake it every time)
        return self._ask("frame_time") > self.start_frame + self._length

    def xruns(self) -> np.ndarray:
        """When jackd told the player of a late cycle (anyone's), in `time.monotonic()` seconds."""
        return np.array(self._ask("xruns"), np.float64)

    def close(self) -> None:
        if self._process is None:
            return
        try:
            self._origin = self._ask("origin")
            self._ask("close")
        finally:
            self._process.join(10.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5.0)
            self._conn.close()
            self._process = None
            self._release_signal()


class _Player(SignalPlayer):
    """The board's JACK client, inside the player process."""

    def __init__(self, client, channels: int):
        super().__init__(client, channels)
        self._memories = []
        self.xruns: list[float] = []  # when jackd told us of a late cycle (anyone's), monotonic s
        client.set_xrun_callback(lambda delayed_usecs: self.xruns.append(time.monotonic()))

    def load(self, memory_name: str, shape: tuple) -> None:
        from dessins_de_planche.ring import attach_untracked

        memory = attach_untracked(memory_name)  # the bench owns it and unlinks it
        self._memories.append(memory)  # kept mapped: the process callback may be reading the last one
        signal = np.ndarray(shape, np.float32, buffer=memory.buf)
        for row in range(0, len(signal), 16384):  # map its pages now, not in the process callback,
            signal[row: row + 16384].max(initial=0.0)
            time.sleep(0)  # and let the callback have the lock between slices
        self.start_frame = None
        self.signal = signal

    def play(self, lead_seconds: float) -> tuple[int, int]:
        """(the first frame to play, the frame time now)"""
        now = self.client.frame_time
        start = now + int(lead_seconds * SAMPLE_RATE)
        start = -(-start // self.client.blocksize) * self.client.blocksize
        self.start_frame = start
        return start, now


def _player_main(conn, server: str, channels: int, name: str) -> None:
    """The player process: one JACK client, and a main thread that sleeps in `recv` (the lock
    free for the process callback) except to answer the bench in a few microseconds."""
    import gc

    try:  # what little the main thread does must not be preempted while it holds the lock
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (AttributeError, OSError):
        pass
    import jack

    client = jack.Client(name, no_start_server=True, servername=server)
    player = _Player(client, channels)
    client.activate()
    gc.collect()
    gc.freeze()
    answers = {"ready": lambda: True, "connect": lambda owner: player.connect(owner, 30.0), "load": player.load,
               "play": player.play, "origin": lambda: player.origin, "frame_time": lambda: client.frame_time,
               "xruns": lambda: list(player.xruns)}
    try:
        while True:
            command, *args = conn.recv()
            if command == "close":
                conn.send(True)
                break
            try:
                reply = answers[command](*args)
            except Exception as error:  # the bench raises it
                reply = RuntimeError(f"board player: {command}: {error!r}")
            conn.send(reply)
    finally:
        client.deactivate()
        client.close()
        player.signal = None
        for memory in player._memories:
            memory.close()


class WakeupProbe:
    """How late this machine wakes a real-time thread, meanwhile (a cyclictest in miniature):
    one process per core, pinned there at `SCHED_FIFO` 4 (below the JACK threads), sleeping
    1 ms at a time. A stall it sees is the machine's (the hypervisor, or kernel work that
    cannot be preempted on that core), whoever caused it; `stop()` gives the oversleeps in ms."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self._go, self._stop = context.Event(), context.Event()
        self._pipes, self._processes = [], []
        for cpu in sorted(os.sched_getaffinity(0)):
            here, there = context.Pipe(duplex=False)
            process = context.Process(target=_probe_main, args=(cpu, self._go, self._stop, there), daemon=True,
                                      name=f"ddp-probe-{cpu}")
            process.start()
            there.close()
            self._pipes.append(here)
            self._processes.append(process)

    def start(self) -> None:
        """Measure from now (the processes are started beforehand, out of the measured window)."""
        self._go.set()

    def stop(self) -> np.ndarray:
        """(wake time in `time.monotonic()` seconds, ms late) of every wake-up, all cores."""
        self._go.set()
        self._stop.set()
        late = [pipe.recv() if pipe.poll(10.0) else np.zeros((0, 2)) for pipe in self._pipes]
        for process in self._processes:
            process.join(5.0)
        return np.concatenate(late) if late else np.zeros((0, 2))


def _probe_main(cpu: int, go, stop, pipe) -> None:
    try:
        os.sched_setaffinity(0, {cpu})
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(4))
    except (AttributeError, OSError):
        pass
    go.wait()
    wakes = []
    while not stop.is_set():
        before = time.monotonic()
        time.sleep(0.001)
        wakes.append((before, time.monotonic()))
    wakes = np.array(wakes).reshape(-1, 2)
    pipe.send(np.column_stack((wakes[:, 1], (wakes[:, 1] - wakes[:, 0] - 0.001) * 1e3)))


class GpuClocks:
    """The GPU's clock while a bench measures, from `nvidia-smi` sampled every 100 ms (nothing where
    there is none): a GPU left idle for most of each 60 Hz frame may be clocked down, and then a
    frame's GPU time in the app is several times a bench's, whose frames come back to back."""

    QUERY = "clocks.sm,clocks.max.sm,pstate,utilization.gpu"

    def __init__(self):
        self.process = None
        self.path = None

    def start(self) -> None:
        if shutil.which("nvidia-smi") is None:
            return
        handle, self.path = tempfile.mkstemp(prefix="ddp-clocks-", suffix=".csv")
        with os.fdopen(handle, "w") as out:  # the child keeps its own handle
            self.process = subprocess.Popen(["nvidia-smi", f"--query-gpu={self.QUERY}", "--format=csv,noheader,nounits",
                                             "-lms", "100", "-i", "0"], stdout=out, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def summary(self) -> str | None:
        """One line: the SM clock's median and range against its maximum, the power states, the utilisation."""
        if self.path is None:
            return None
        try:
            with open(self.path) as f:
                rows = [[v.strip() for v in line.split(",")] for line in f if line.count(",") == 3]
        finally:
            os.unlink(self.path)
            self.path = None
        try:
            clock = np.array([float(r[0]) for r in rows])
            top = max(float(r[1]) for r in rows)
            busy = np.array([float(r[3]) for r in rows])
        except ValueError:  # "[N/A]" or an error text
            return f"no clocks ({rows[:1]})" if rows else "no samples"
        states = sorted({r[2] for r in rows})
        return (f"SM clock median {np.median(clock):.0f} MHz ({clock.min():.0f}..{clock.max():.0f}) of {top:.0f} max, "
                f"power state {'/'.join(states)}, utilisation median {np.median(busy):.0f} %, {len(rows)} samples")


class MidiBoard:
    """A JACK MIDI output connected to the app's virtual port."""

    def __init__(self, jack: Jack, name: str = "ddp-midi-board"):
        import rtmidi

        self.name = name
        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=name)
        self.out.open_virtual_port("out")
        patch = jack.client(f"{name}-patch")
        try:
            target = wait_for(lambda: patch.get_ports("dessins-de-planche", is_midi=True, is_input=True), 30.0,
                              "the app's MIDI input port")[0]
            patch.connect(f"{name}:out", target)
        finally:
            patch.close()

    def send(self, *message: int) -> float:
        self.out.send_message(list(message))
        return time.monotonic()

    def close(self) -> None:
        if self.out is not None:
            self.out.close_port()
            self.out.delete()
            self.out = None


class App:
    """`dessins-de-planche run` in a window on `screen`, with telemetry; its log kept. `code`: the checkout
    whose package runs (another commit's work tree, for a baseline); this one by default."""

    def __init__(self, screen: Screen, *args: str, pixels: bool = False, extra_env: dict | None = None,
                 code: str = ROOT):
        self.dir = tempfile.mkdtemp(prefix="ddp-bench-")
        self.telemetry_path = os.path.join(self.dir, "telemetry.jsonl")
        self.log_path = os.path.join(self.dir, "app.log")
        command = [sys.executable, "-m", "dessins_de_planche", "run", *args, *screen.app_args,
                   "--telemetry", self.telemetry_path]
        if pixels:
            command.append("--telemetry-pixels")
        self.log = open(self.log_path, "w")
        self.launched = time.monotonic()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.log, cwd=code,
                                        env={**os.environ, **screen.env, **(extra_env or {})})

    def saw(self, text: str) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the app exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
        return text in self.log_text()

    def log_text(self) -> str:
        with open(self.log_path) as f:
            return f.read()

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return self.process.returncode

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def records(self) -> tuple[list[dict], list[dict]]:
        """(frames, status records) of the telemetry file."""
        frames, statuses = [], []
        with open(self.telemetry_path) as f:
            for line in f:
                record = json.loads(line)
                (frames if "frame" in record else statuses).append(record)
        return frames, statuses

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def heaviest_preset(size: tuple[int, int], marks: int = 400, frames: int = 40) -> tuple[str, dict[str, float]]:
    """The gallery preset whose frames cost most at `size` with `marks` live marks (offscreen, EGL)."""
    import moderngl

    from dessins_de_planche.events import TAP_DTYPE
    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.preset import load_gallery
    from dessins_de_planche.render.scene import Scene

    class Steady:
        bpm, bar_beats = 112.0, 2

        def beat_phase(self, t):
            return (t * self.bpm / 60) % 1.0

        def bar_phase(self, t):
            return (t * self.bpm / 60 / self.bar_beats) % 1.0

    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    target = ctx.simple_framebuffer(size)
    costs = {}
    try:
        for name, preset in sorted(load_gallery(presets_dir()).items()):
            scene = Scene(ctx, preset, size)
            taps = np.zeros(marks, TAP_DTYPE)
            taps["time"] = 10.0 + np.arange(marks) * (1.0 / marks)
            taps["detected_at"] = taps["time"] + 0.01
            taps["velocity"] = 0.8
            taps["tap_id"] = np.arange(marks)
            taps["kind"] = 1 + np.arange(marks) % 2
            scene.add_taps(taps, Steady())
            walls = []
            for i in range(frames):
                if i % 4 == 0:  # fresh taps keep arriving, as on stage
                    fresh = taps[:4].copy()
                    fresh["time"] = 11.0 + i / 60
                    fresh["detected_at"] = fresh["time"] + 0.01
                    fresh["tap_id"] = marks + i + np.arange(4)
                    scene.add_taps(fresh, Steady())
                start = time.perf_counter()
                scene.render(11.0 + i / 60, target)
                ctx.finish()
                walls.append(time.perf_counter() - start)
            costs[name] = float(np.median(walls[5:])) * 1e3
            scene.release()
    finally:
        target.release()
        ctx.release()
    return max(costs, key=costs.get), costs


def percentile(values, q) -> float:
    values = np.asarray(values, np.float64)
    return float(np.percentile(values, q)) if len(values) else float("nan")
