"""Does a render loop starve the audio callback? Three designs, one run, the project's real parts.

The question of the architecture issue (the GIL): an audio callback that shares
a process with a moderngl render loop waits for the GIL whenever a GL call
blocks in C. This bench measures it on this machine:

1. audio alone: the callback in this process, the main thread asleep (the baseline);
2. same process: the callback in the render's process, the render loop flat out;
3. child process (the chosen design): the callback in a spawned process, pushing
   into a shared-memory `Ring` that the render loop drains each frame.

Parts: a JACK dummy server (48 kHz, 128-frame periods); a PortAudio input
stream (sounddevice) whose callback runs the project's tap detector and pushes
one record per block into a `Ring`; a second JACK client, in its own process,
writing each frame's index into the stream's input so lost blocks are counted
exactly; a render loop drawing 5,000 instanced marks and a full-screen feedback
pass at 1280x720 (moderngl, EGL). Callback lateness is the callback's entry
time minus the time its first frame was due (frame index / rate), measured
above the earliest arrival within a second either side.

    .venv/bin/python bench/callback_lateness.py [--seconds 15]

Needs jackd (jackd2), libportaudio2 and Mesa EGL. Nothing is left running:
streams close and PortAudio terminates before jackd stops; jackd's /dev/shm
files are removed.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import glob
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dessins_de_planche.ring import Ring

RATE, PERIOD = 48_000, 128
MOD = 1 << 24  # frame indices travel as float32 samples: exact below 2**24
WIDTH, HEIGHT, MARKS = 1280, 720, 5000
TARGET_LOST = "no more than audio alone"

# One record per audio block: when the callback ran, which frames it got, its own cost.
BLOCK_DTYPE = np.dtype([
    ("entered", "<f8"),  # time.monotonic() at callback entry
    ("first", "<f8"),  # frame index in the block's first sample (written by the frame writer)
    ("last", "<f8"),  # ... and in its last
    ("work", "<f4"),  # seconds spent in the callback
    ("frames", "<u2"),
    ("overflow", "u1"),  # PortAudio's input overflow flag
    ("seq", "<u8"),
])


# -- JACK ------------------------------------------------------------------------------------


def start_jack(name: str) -> subprocess.Popen:
    os.environ["JACK_DEFAULT_SERVER"] = name  # sounddevice and spawned children find it
    os.environ["JACK_NO_START_SERVER"] = "1"
    server = subprocess.Popen(["jackd", "-n", name, "-d", "dummy", "-r", str(RATE), "-p", str(PERIOD)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import jack

    jack.set_error_function(lambda message: None)  # "cannot connect" while it starts is expected
    deadline = time.monotonic() + 10
    while True:
        if server.poll() is not None:
            sys.exit(f"jackd exited with code {server.returncode} (is jackd2 installed and no other '{name}'?)")
        try:
            jack.Client("ddp-bench-probe", no_start_server=True, servername=name).close()
            return server
        except jack.JackOpenError:
            if time.monotonic() > deadline:
                server.kill()
                sys.exit(f"jackd {name} did not accept clients within 10 s")
            time.sleep(0.05)


def stop_jack(server: subprocess.Popen, name: str) -> None:
    server.terminate()
    try:
        server.wait(5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(5)
    for leftover in glob.glob(f"/dev/shm/jack_sem.*_{name}_*"):
        os.unlink(leftover)
    if not any(open(p).read().strip() == "jackd" for p in glob.glob("/proc/[0-9]*/comm") if os.path.exists(p)):
        for leftover in glob.glob("/dev/shm/jack-*"):  # the registry is shared: only when no jackd is left
            shutil.rmtree(leftover, ignore_errors=True) if os.path.isdir(leftover) else os.unlink(leftover)


def frame_writer(server_name: str, stop) -> None:
    """A JACK client in its own process: writes each frame's index into every PortAudio input port."""
    import jack

    jack.set_error_function(lambda message: None)
    client = jack.Client("ddp-frames", no_start_server=True, servername=server_name)
    port = client.outports.register("frames")
    ramp = np.arange(8192, dtype=np.int64)
    work = np.empty(8192, np.int64)

    def process(frames: int) -> None:
        out = port.get_array()
        np.add(ramp[:frames], client.last_frame_time, out=work[:frames])
        np.remainder(work[:frames], MOD, out=work[:frames])
        out[:] = work[:frames]

    client.set_process_callback(process)
    client.activate()
    while not stop.wait(0.02):  # connect each new stream's input to us, and only to us
        for target in client.get_ports("^PortAudio[^:]*:", is_audio=True, is_input=True):
            sources = client.get_all_connections(target)
            if [p.name for p in sources] != [port.name]:
                try:
                    for source in sources:
                        client.disconnect(source, target)
                    client.connect(port, target)
                except jack.JackError:
                    pass  # the stream's client is not active yet (or already gone): next round
    client.deactivate()
    client.close()


# -- the audio callback (in whichever process the design puts it) -------------------------


def open_audio(ring_name: str):
    """A PortAudio input stream on JACK whose callback detects taps and pushes one record per block."""
    import sounddevice as sd

    jack_api = next(i for i, api in enumerate(sd.query_hostapis()) if "JACK" in api["name"])
    device = next(i for i, d in enumerate(sd.query_devices())
                  if d["hostapi"] == jack_api and d["max_input_channels"] > 0)
    ring = Ring.attach(ring_name, BLOCK_DTYPE)
    push, monotonic, perf_counter = ring.push, time.monotonic, time.perf_counter
    work = detector_work()

    def callback(indata, frames, time_info, status):  # PortAudio's JACK thread: no alloc, I/O, locks
        entered = monotonic()
        started = perf_counter()
        work(frames)
        push(entered, float(indata[0, 0]), float(indata[frames - 1, 0]), perf_counter() - started,
             frames, status.input_overflow)

    stream = sd.InputStream(device=device, channels=1, samplerate=RATE, blocksize=PERIOD,
                            dtype="float32", callback=callback)
    stream.start()
    return sd, stream, ring


def detector_work():
    """The callback's real work: the project's tap detector on a block of quiet noise."""
    block = (np.random.default_rng(1).standard_normal((PERIOD, 1)) * 0.01).astype(np.float32)
    frame = [0]
    try:
        from dessins_de_planche.listen.detector import TapDetector

        detector = TapDetector(RATE, [0], PERIOD)
    except Exception as error:  # the detector is still being written: same order of work
        print(f"(tap detector unavailable: {error}; using a 256-point rfft instead)", file=sys.stderr)
        history = np.zeros(256, np.float32)

        def work(frames: int) -> None:
            history[:-frames] = history[frames:]
            history[-frames:] = block[:frames, 0]
            np.abs(np.fft.rfft(history)).sum()

        return work

    def work(frames: int) -> None:
        detector.process(block[:frames], frame[0])
        frame[0] += frames

    return work


def audio_child(ring_name: str, ready, stop) -> None:
    """The chosen design: the callback in its own process; only the ring crosses."""
    sd, stream, ring = open_audio(ring_name)
    ready.set()
    stop.wait()
    stream.stop()
    stream.close()
    sd._terminate()  # before jackd stops: PortAudio's JACK host aborts at exit otherwise
    ring.close()


# -- the render load --------------------------------------------------------------------------

MARK_VS = """
#version 330
in vec4 mark;  // x, y, radius, hue
out vec2 uv; out float hue;
void main() {
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;
    uv = corner; hue = mark.w;
    gl_Position = vec4(mark.xy + corner * mark.z * vec2(0.5625, 1.0), 0.0, 1.0);
}
"""
MARK_FS = """
#version 330
in vec2 uv; in float hue; out vec4 colour;
void main() {
    float a = smoothstep(1.0, 0.8, length(uv));
    colour = vec4(0.5 + 0.5 * cos(6.2831 * (hue + vec3(0.0, 0.33, 0.67))), 1.0) * a * 0.6;
}
"""
FEEDBACK_VS = """
#version 330
out vec2 uv;
void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    uv = p; gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""
FEEDBACK_FS = """
#version 330
uniform sampler2D previous; uniform float fade; uniform float time;
in vec2 uv; out vec4 colour;
void main() {
    vec2 c = uv - 0.5;
    float a = 0.002 * sin(time);
    vec2 p = mat2(cos(a), -sin(a), sin(a), cos(a)) * c * 0.995 + 0.5;
    colour = texture(previous, p) * fade;
}
"""

PRESENT_FS = """
#version 330
uniform sampler2D canvas;
in vec2 uv; out vec4 colour;
void main() { colour = vec4(texture(canvas, uv).rgb, 1.0); }
"""


class RenderLoad:
    """5,000 instanced marks over a full-screen feedback pass, ping-pong, 1280x720, then shown (like the app)."""

    def __init__(self):
        import moderngl

        self.ctx = ctx = moderngl.create_standalone_context(backend="egl", require=330)
        self.renderer = ctx.info["GL_RENDERER"]
        self.targets = []
        for _ in range(2):
            texture = ctx.texture((WIDTH, HEIGHT), 4, dtype="f2")
            self.targets.append((texture, ctx.framebuffer([texture])))
        self.screen = ctx.framebuffer([ctx.renderbuffer((WIDTH, HEIGHT), 4)])  # the window's back buffer
        self.feedback = ctx.program(vertex_shader=FEEDBACK_VS, fragment_shader=FEEDBACK_FS)
        self.fullscreen = ctx.vertex_array(self.feedback, [])
        self.present = ctx.program(vertex_shader=FEEDBACK_VS, fragment_shader=PRESENT_FS)
        self.to_screen = ctx.vertex_array(self.present, [])
        self.marks_program = ctx.program(vertex_shader=MARK_VS, fragment_shader=MARK_FS)
        rng = np.random.default_rng(7)
        self.angle = rng.uniform(0, 2 * math.pi, MARKS).astype(np.float32)
        self.radius = rng.uniform(0.05, 0.95, MARKS).astype(np.float32)
        self.speed = rng.uniform(-1, 1, MARKS).astype(np.float32)
        self.data = np.empty((MARKS, 4), np.float32)
        self.data[:, 2] = rng.uniform(0.005, 0.03, MARKS)
        self.data[:, 3] = rng.uniform(0, 1, MARKS)
        self.buffer = ctx.buffer(reserve=self.data.nbytes, dynamic=True)
        self.marks = ctx.vertex_array(self.marks_program, [(self.buffer, "4f/i", "mark")])
        self.finish = gl_finish_releasing_the_gil() or ctx.finish
        self.time = 0.0

    def frame(self, dt: float) -> None:
        import moderngl

        self.time += dt
        (source, _), (target, fbo) = self.targets
        fbo.use()
        source.use(0)
        self.ctx.disable(moderngl.BLEND)
        self.feedback["fade"].value = 0.5 ** dt  # decay per second, not per frame
        self.feedback["time"].value = self.time
        self.fullscreen.render(moderngl.TRIANGLES, vertices=3)
        angle = self.angle + self.speed * self.time
        self.data[:, 0] = self.radius * np.cos(angle)
        self.data[:, 1] = self.radius * np.sin(angle)
        self.buffer.write(self.data)
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        self.marks.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=MARKS)
        self.screen.use()  # show the canvas: this draw samples what the two above are still rendering
        self.ctx.disable(moderngl.BLEND)
        target.use(0)
        self.to_screen.render(moderngl.TRIANGLES, vertices=3)
        self.targets.reverse()  # ping-pong by swapping references
        self.finish()  # stands for pygame.display.flip(), which waits for the GPU without the GIL

    def release(self) -> None:
        self.ctx.release()


def gl_finish_releasing_the_gil():
    """glFinish through ctypes (which lets go of the GIL), as a window's buffer swap does."""
    name = ctypes.util.find_library("GL") or "libGL.so.1"
    try:
        finish = ctypes.CDLL(name).glFinish
    except (OSError, AttributeError):
        return None
    finish.restype = None
    return finish


# -- one design -------------------------------------------------------------------------------


def run_design(design: str, seconds: float, render: RenderLoad) -> dict:
    ring = Ring.create(BLOCK_DTYPE, 8192)
    spawn = multiprocessing.get_context("spawn")
    child = None
    if design == "child process":
        ready, stop = spawn.Event(), spawn.Event()
        child = spawn.Process(target=audio_child, args=(ring.name, ready, stop), daemon=True)
        child.start()
        if not ready.wait(60):
            sys.exit("the audio child process did not start its stream within 60 s")
    else:
        _, stream, producer = open_audio(ring.name)
    settle = time.monotonic() + 1.0  # the frame writer connects the new stream's input
    while time.monotonic() < settle:
        ring.pop()
        time.sleep(0.01)

    batches, frames = [], 0
    render_loop = design != "audio alone"
    cpu_thread, cpu_process = time.thread_time(), time.process_time()
    started = last = time.monotonic()
    end = started + seconds
    while (now := time.monotonic()) < end:
        if render_loop:
            render.frame(now - last)
            frames += 1
        else:
            time.sleep(1 / 60)  # main thread asleep, waking at 60 Hz to drain
        last = now
        batches.append(ring.pop())  # the render process drains the ring each frame
    elapsed = time.monotonic() - started
    cpu_thread, cpu_process = time.thread_time() - cpu_thread, time.process_time() - cpu_process

    if child is not None:
        stop.set()
        child.join(30)
        if child.exitcode != 0:
            print(f"warning: the audio child exited with code {child.exitcode}", file=sys.stderr)
    else:
        stream.stop()
        stream.close()
        producer.close()
    batches.append(ring.pop())
    try:
        result = analyse(np.concatenate(batches))
        result.update(design=design, fps=frames / elapsed if frames else None,
                      cpu_frame_ms=1000 * cpu_thread / frames if frames else None,
                      cpu_process_frame_ms=1000 * cpu_process / frames if frames else None,
                      ring_dropped=ring.dropped, torn=ring.torn)
    finally:
        ring.close()
    return result


def analyse(blocks: np.ndarray) -> dict:
    """Lost blocks from gaps in the frame indices; lateness against the lower envelope of arrival."""
    frames = blocks["frames"].astype(np.int64)
    first, last = blocks["first"].astype(np.int64), blocks["last"].astype(np.int64)
    counted = (last - first) % MOD == frames - 1  # blocks that carry the frame writer's ramp
    blocks, first, last = blocks[counted], first[counted], last[counted]
    if len(blocks) < 2:
        raise RuntimeError("no block carried the frame writer's indices: its JACK connection to PortAudio failed")
    half = MOD // 2
    gaps = (first[1:] - last[:-1] - 1 + half) % MOD - half  # frames skipped (< 0: a block came twice)
    lost_frames = int(gaps[gaps > 0].sum())
    repeated = int(np.count_nonzero(gaps < 0))
    # Due time of each block = its first frame / rate, up to a constant that moves when the
    # server re-syncs after an xrun (and with clock drift): lateness is the arrival offset
    # above its lower envelope, the earliest arrival within a second either side.
    steps = (first[1:] - first[:-1] + half) % MOD - half
    frame_index = np.concatenate([[0], np.cumsum(steps)])
    offset = blocks["entered"] - frame_index / RATE
    side = RATE // PERIOD
    envelope = sliding_window_view(np.pad(offset, side, mode="edge"), 2 * side + 1).min(axis=1)
    lateness = offset - envelope
    return {
        "blocks": int(frame_index[-1]) // PERIOD + 1,  # periods the run spanned
        "lost": lost_frames / PERIOD,
        "repeated": repeated,
        "overflows": int(blocks["overflow"].sum()),
        "late_median": 1000 * float(np.median(lateness)),
        "late_p99": 1000 * float(np.percentile(lateness, 99)),
        "late_max": 1000 * float(lateness.max()),
        "work_median": 1000 * float(np.median(blocks["work"])),
    }


def report(results: list[dict]) -> None:
    base = results[0]

    def ratio(value, reference):
        if reference == 0:
            return "-" if value == 0 else "inf"
        return f"{value / reference:.1f}x"

    print(f"\n{'design':<16}{'blocks':>8}{'lost':>14}{'overflows':>10}{'late median/p99/max ms':>25}"
          f"{'vs alone (p99, lost)':>22}{'fps':>6}{'render CPU ms/frame':>21}")
    for r in results:
        late = f"{r['late_median']:.2f} / {r['late_p99']:.2f} / {r['late_max']:.1f}"
        versus = f"{ratio(r['late_p99'], base['late_p99'])}, {ratio(r['lost'], base['lost'])}"
        fps = f"{r['fps']:.1f}" if r["fps"] else "-"
        cpu = f"{r['cpu_frame_ms']:.1f} ({r['cpu_process_frame_ms']:.1f})" if r["fps"] else "-"
        lost = f"{r['lost']:.0f} ({100 * r['lost'] / r['blocks']:.1f}%)"
        print(f"{r['design']:<16}{r['blocks']:>8}{lost:>14}{r['overflows']:>10}{late:>25}"
              f"{versus:>22}{fps:>6}{cpu:>21}")
    print("\nlost = blocks missing from the frame indices (exact); render CPU = the render thread's CPU "
          "per frame (the whole process's, with GL worker threads and, same-process, the callback)")
    print(f"callback work (median): " + ", ".join(f"{r['design']} {r['work_median']:.3f} ms" for r in results))
    print("repeated blocks (PortAudio handed the same input twice after an xrun): "
          + ", ".join(f"{r['design']} {r['repeated']}" for r in results))
    print(f"ring: dropped {sum(r['ring_dropped'] for r in results)}, torn {sum(r['torn'] for r in results)}")
    chosen = results[-1]
    print(f"target: lost blocks in the chosen design {TARGET_LOST} -> {chosen['lost']:.0f} vs {base['lost']:.0f} "
          f"({'met' if chosen['lost'] <= base['lost'] else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per design")
    args = parser.parse_args()
    if shutil.which("jackd") is None:
        sys.exit("jackd is not installed (Debian: apt-get install jackd2)")

    name = f"ddp-bench-{os.getpid()}"
    server = start_jack(name)  # before sounddevice is imported: PortAudio scans host APIs at import
    spawn = multiprocessing.get_context("spawn")
    stop_writer = spawn.Event()
    writer = spawn.Process(target=frame_writer, args=(name, stop_writer), daemon=True)
    writer.start()
    render = None
    try:
        render = RenderLoad()
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; GL: {render.renderer}; "
              f"JACK dummy {RATE} Hz / {PERIOD} frames; {args.seconds:.0f} s per design")
        results = []
        for design in ("audio alone", "same process", "child process"):
            results.append(run_design(design, args.seconds, render))
            print(f"  {design}: done", flush=True)
        report(results)
    finally:
        if "sounddevice" in sys.modules:
            sys.modules["sounddevice"]._terminate()  # before jackd stops: PortAudio aborts at exit otherwise
        if render is not None:
            render.release()
        stop_writer.set()
        writer.join(10)
        if writer.is_alive():
            writer.kill()
        stop_jack(server, name)


if __name__ == "__main__":
    main()
