"""The live window: pump events, drain the input rings, render the scene, flip.

The loop owns no drawing state of its own: it hands events and each frame's input to the
console (`app/console.py`), which routes them and hands the show (`app/show.py`) its part;
the keys are a table of small actions (`app/actions.py`, `app/keys.py`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import time
import warnings

from dessins_de_planche.clock import master_time
from dessins_de_planche.config import InputSpec

log = logging.getLogger("dessins_de_planche.app")


def _open_window(size, fullscreen: bool, display: int = 0, borderless: bool = False):
    import pygame

    pygame.display.init()
    pygame.font.init()
    pygame.display.gl_set_attribute(pygame.GL_CONTEXT_MAJOR_VERSION, 3)
    pygame.display.gl_set_attribute(pygame.GL_CONTEXT_MINOR_VERSION, 3)
    pygame.display.gl_set_attribute(pygame.GL_CONTEXT_PROFILE_MASK, pygame.GL_CONTEXT_PROFILE_CORE)
    pygame.display.gl_set_attribute(pygame.GL_CONTEXT_FORWARD_COMPATIBLE_FLAG, True)
    flags = pygame.OPENGL | pygame.DOUBLEBUF | (pygame.NOFRAME if borderless else pygame.RESIZABLE)
    if fullscreen:
        flags |= pygame.FULLSCREEN
        size = (0, 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pygame.display.set_mode(size, flags, vsync=1, display=display)
        except pygame.error:  # some drivers refuse vsync: draw without it rather than not at all
            pygame.display.set_mode(size, flags, display=display)
    for warning in caught:
        log.info("display: %s; frames are paced by a timer instead", warning.message)
    pygame.display.set_caption("Dessins de Planche")
    return pygame.display.get_window_size(), not caught


FALLBACK_FPS = 60
# A loop that vsync lets run faster than this is not held by any display's refresh: the driver
# accepted vsync and does not wait (SDL's offscreen driver; a GPU driver set to ignore it; some
# drivers while the window is minimised).
UNHELD_FPS = 250
VSYNC_CHECK_FRAMES = 60
VSYNC_RECHECK_SECONDS = 10.0  # paced by the timer for that, then vsync is given another chance
UNOBSERVED = contextlib.nullcontext()  # a frame's drawing with no observer


class Window:
    def __init__(self, size, fullscreen, max_fps: float | None, display: int = 0, borderless: bool = False):
        import pygame

        self.size, vsync = _open_window(size, fullscreen, display, borderless)
        # Without vsync a flat-out loop would take a whole core from the input process.
        self.max_fps = max_fps if max_fps is not None else (0 if vsync else FALLBACK_FPS)
        self._pacer = pygame.time.Clock()
        self._checked_frames, self._check_since = 0, 0.0
        self._unheld_until = None  # while vsync is found not to hold: when to try it again
        self._unheld_logged = False

    def pace(self) -> None:
        if self._unheld_until is not None:
            self._pacer.tick(FALLBACK_FPS)
            if time.monotonic() < self._unheld_until:
                return
            self._unheld_until, self._checked_frames = None, 0
        elif self.max_fps:
            self._pacer.tick(self.max_fps)
            return
        self._vsync_check(time.monotonic())

    def _vsync_check(self, now: float) -> None:
        """Frames that vsync lets through faster than any display: pace them by the timer."""
        if self._checked_frames == 0:
            self._check_since = now
        self._checked_frames += 1
        if self._checked_frames <= VSYNC_CHECK_FRAMES:
            return
        fps = (self._checked_frames - 1) / max(now - self._check_since, 1e-9)
        self._checked_frames = 0
        if fps > UNHELD_FPS:
            if not self._unheld_logged:
                log.info("display: vsync was accepted but frames came at %.0f fps; paced by a timer at %d fps "
                         "instead (vsync tried again every %.0f s)", fps, FALLBACK_FPS, VSYNC_RECHECK_SECONDS)
            self._unheld_logged = True
            self._unheld_until = now + VSYNC_RECHECK_SECONDS

    def toggle_fullscreen(self) -> None:
        import pygame

        pygame.display.toggle_fullscreen()


def save_screenshot(ctx, size, path: str) -> None:
    import pygame

    from dessins_de_planche.app.telemetry import read_screen

    pixels = read_screen(ctx, size)  # the back buffer: a plain screen read is a GL error
    image = pygame.image.frombuffer(pixels, size, "RGB")
    pygame.image.save(pygame.transform.flip(image, False, True), path)


def gl_flush():
    """glFlush for the current context (moderngl 5 has no `flush`), found as moderngl found its functions."""
    import ctypes

    from _moderngl import DefaultLoader

    address = DefaultLoader().load_opengl_function("glFlush")
    if not address:
        raise RuntimeError("no glFlush in the current OpenGL context")
    return ctypes.CFUNCTYPE(None)(address)


def import_pygame_without_pkg_resources():
    """pygame looks for its bundled font through `pkg_resources` when setuptools is installed
    (as in a Python 3.11 venv): an import of ~0.1–0.3 s, and a deprecation warning, at every
    start, for a file that lies next to its module, where pygame looks when that import fails.
    Hidden while pygame loads, then visible again to anyone else."""
    import sys

    if "pygame" in sys.modules or "pkg_resources" in sys.modules:
        return
    sys.modules["pkg_resources"] = None  # makes `import pkg_resources` raise ImportError
    try:
        import pygame  # noqa: F401
    finally:
        del sys.modules["pkg_resources"]


def run_window(spec: InputSpec, args) -> int:
    import_pygame_without_pkg_resources()
    import moderngl
    import pygame

    from dessins_de_planche.app.console import Console
    from dessins_de_planche.app.show import Show
    from dessins_de_planche.app.sources import open_inputs

    kiosk = getattr(args, "kiosk", False)
    window = Window(args.size, args.fullscreen or kiosk, args.max_fps, getattr(args, "display", 0), kiosk)
    ctx = moderngl.create_context(require=330)
    log.info("OpenGL %s on %s", ctx.info["GL_VERSION"], ctx.info["GL_RENDERER"])
    show = Show(ctx, window.size, spec, args.preset, args.soundcheck,
                preset_dirs=getattr(args, "presets", None) or (), fade=getattr(args, "fade", 1.0))
    if spec.is_demo:
        log.info("no input device chosen: playing the bundled demo (see `dessins-de-planche devices`)")
    inputs = open_inputs(spec, args)  # the input process, a recorded session, or OSC alone
    inputs.start()
    try:
        console = Console(ctx, show, window, inputs, args)  # performer keys, HUD, output, OSC, recording, kiosk
    except BaseException:  # a bad --osc-in, --osc-send or --record: its one line, with the shared memory freed
        inputs.stop()
        pygame.quit()
        raise
    from dessins_de_planche.app.governor import Governor
    from dessins_de_planche.app.telemetry import observers_from_args

    governor = Governor(1.0 / (window.max_fps or FALLBACK_FPS), getattr(args, "render_scale", None))
    flush = gl_flush()
    # None unless --telemetry / --gl-debug: the loop pays nothing
    observer = observers_from_args(args, ctx, finishes_frames=governor.active)
    if governor.scale != console.output.render_scale:  # a fixed --render-scale
        console.output.set_render_scale(governor.scale)
        console.resize(console.output.window_size)
    # What start-up built (modules, GL wrappers, the gallery) lives as long as the show: out of the
    # collector's sight, a full collection walks only what the show adds, not the 17 ms it took here.
    gc.collect()
    gc.freeze()
    frames, started = 0, time.monotonic()
    stop_signal = []
    signal.signal(signal.SIGTERM, lambda *_: stop_signal.append(True))  # a clean stop, streams closed
    try:
        while True:
            frame_start = time.monotonic()
            quit_requested = bool(stop_signal)
            for event in pygame.event.get():
                if console.handle(event):  # every key, through the one key table
                    continue
                if event.type in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED):
                    size = pygame.display.get_window_size()
                    if size != console.output.window_size and min(size) > 0:
                        console.resize(size)
            if quit_requested or console.quit_requested:
                break
            batch = inputs.poll()
            if observer:
                observer.drained(batch)
            taken = console.take(batch)  # routed at the console, then drawn by the show
            # the governor's measure (below), on all frames or a sample; never a sample that brings taps
            finish = governor.finishes(len(taken.taps) > 0)
            with observer.drawing() if observer else UNOBSERVED:  # the telemetry may time it on the GPU
                console.draw(master_time(), inputs.status)
            frames += 1
            last = (args.frames and frames >= args.frames) or (
                args.seconds and time.monotonic() - started >= args.seconds)
            if last and args.screenshot:
                save_screenshot(ctx, console.output.window_size, args.screenshot)
            if observer:
                observer.drawn(ctx, console.output.window_size)  # the screen, whatever the render scale
            if finish:  # the frame's work, finished, without the wait for the display's refresh
                ctx.finish()
                if observer:
                    observer.finished()
                if governor.frame(time.monotonic(), time.monotonic() - frame_start):
                    log.info("render scale %.2f (frames %s)", governor.scale,
                             "ran long" if governor.scale < console.output.render_scale else "have headroom")
                    console.output.set_render_scale(governor.scale)
                    console.resize(console.output.window_size)  # the canvas kept, resampled
            else:  # sent to the GPU now: a swap that does not flush (SDL's offscreen driver: an EGL pbuffer)
                flush()  # would leave it queued until the next finish, which would then wait for them all
            pygame.display.flip()
            governor.swapped(time.monotonic())
            if observer:
                observer.swapped(inputs.status, console.output.render_scale)
            if last:
                break
            window.pace()
    finally:
        if observer:
            observer.close(inputs.status)
        console.close()
        inputs.stop()
        log.info("%d frames in %.1f s, %d taps", frames, time.monotonic() - started, show.taps_seen)
        pygame.quit()
    return 0
