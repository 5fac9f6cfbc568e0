"""The operator screen: the performer's view on the laptop, while the projector shows the drawing only.

`run --operator` opens a second window, in a process of its own (SDL gives a process
one window; a second GL context beside moderngl's would need sharing that pygame does
not expose, and a plain 2D window needs none). Each frame, at most 30 times a second,
the show publishes what the performer needs into shared memory — the HUD's lines,
notices, preset errors, the preset list, the sound check's levels and tap lights, and a
small picture of what is projected — and the operator window draws it. Keys pressed
there come back through a pipe and go through the show's one key table, as if pressed
on the projector's window. Kiosk mode keeps one window.

The show pays, per published frame, a JSON snapshot and a copy into shared memory, plus a
read-back of the picture at thumbnail size into a pixel-buffer object that is collected
the frame after (never waited for): measured in `bench/operator_screen.py`.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import struct
import threading
from multiprocessing import shared_memory

import moderngl
import numpy as np

log = logging.getLogger("dessins_de_planche.app")

THUMB = (480, 270)  # the projected picture, as the operator sees it
STATE_BYTES = 64 * 1024
PUBLISH_HZ = 30.0
HEADER = struct.Struct("<QII")  # sequence (odd while written), JSON length, picture rows written
WINDOW = (1100, 620)

_VERTEX = """
#version 330 core
out vec2 v_uv;
void main() {
    vec2 corner = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    v_uv = corner;
    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}
"""
_FRAGMENT = """
#version 330 core
uniform sampler2D u_picture;
in vec2 v_uv;
out vec4 colour;
void main() { colour = vec4(texture(u_picture, v_uv).rgb, 1.0); }
"""


class OperatorLink:
    """The show's end: publishes snapshots, takes the operator's keys."""

    def __init__(self, ctx: moderngl.Context, display: int = 0, lang: str | None = None, preset_folders=()):
        self.ctx = ctx
        size = HEADER.size + STATE_BYTES + THUMB[0] * THUMB[1] * 3
        self.memory = shared_memory.SharedMemory(create=True, size=size)
        self._buffer = ctx.buffer(reserve=THUMB[0] * THUMB[1] * 3)
        self._scaled = ctx.simple_framebuffer(THUMB, components=4)
        self._full = self._full_fbo = None  # the picture, copied at its own size to sample from
        self._program = ctx.program(vertex_shader=_VERTEX, fragment_shader=_FRAGMENT)
        self._vao = ctx.vertex_array(self._program, [])
        self._pending = False
        self._published_at = -1.0
        self._sequence = 0
        self.closed = False
        context = multiprocessing.get_context("spawn")
        self._keys, their_end = context.Pipe(duplex=False)
        self.process = context.Process(target=operator_main, name="dessins-de-planche-operator", daemon=True,
                                       args=(self.memory.name, their_end, display, lang,
                                             [str(folder) for folder in preset_folders]))
        self.process.start()
        their_end.close()

    def publish(self, now: float, state: dict, picture: moderngl.Framebuffer, picture_size) -> None:
        """Per frame, after the picture is drawn: at most PUBLISH_HZ times a second, a snapshot."""
        if now - self._published_at < 1.0 / PUBLISH_HZ or self.closed:
            return
        self._published_at = now
        pixels = self._buffer.read() if self._pending else None  # started a publish ago: done
        text = json.dumps(state, separators=(",", ":")).encode()[:STATE_BYTES]
        view = self.memory.buf
        self._sequence += 1  # odd: being written
        HEADER.pack_into(view, 0, self._sequence, 0, 0)
        view[HEADER.size:HEADER.size + len(text)] = text
        rows = 0
        if pixels is not None:
            start = HEADER.size + STATE_BYTES
            view[start:start + len(pixels)] = pixels
            rows = THUMB[1]
        self._sequence += 1  # even: whole
        HEADER.pack_into(view, 0, self._sequence, len(text), rows)
        # the next thumbnail: copied and scaled down on the GPU, read back without waiting
        self._shrink(picture, picture_size)
        self._scaled.read_into(self._buffer, components=3, alignment=1)
        self._pending = True

    def _shrink(self, picture, picture_size) -> None:
        size = (int(picture_size[0]), int(picture_size[1]))
        if self._full is None or self._full.size != size:
            if self._full is not None:
                self._release_full()
            self._full = self.ctx.texture(size, 4)
            self._full.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self._full_fbo = self.ctx.framebuffer(color_attachments=[self._full])
        self.ctx.copy_framebuffer(self._full_fbo, picture)
        self._scaled.use()
        self._full.use(0)
        self._vao.render(moderngl.TRIANGLES, vertices=3)
        picture.use()

    def _release_full(self) -> None:
        from dessins_de_planche.render.canvas import release_framebuffer

        release_framebuffer(self.ctx, self._full_fbo)
        self._full.release()
        self._full = self._full_fbo = None

    def keys(self) -> list[tuple]:
        """The keys pressed in the operator window since the last call: (key, mod, unicode), or ('quit',)."""
        pressed = []
        try:
            while self._keys.poll():
                pressed.append(self._keys.recv())
        except (EOFError, OSError):  # the operator window was closed: the show goes on
            if not self.closed:
                log.info("the operator screen closed; the show goes on")
            self.closed = True
        return pressed

    def close(self) -> None:
        self.closed = True
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5.0)
        self._keys.close()
        self._buffer.release()
        from dessins_de_planche.render.canvas import release_framebuffer

        release_framebuffer(self.ctx, self._scaled)
        if self._full is not None:
            self._release_full()
        self._vao.release()
        self._program.release()
        self.memory.close()
        self.memory.unlink()


def read_snapshot(view) -> tuple[dict | None, np.ndarray | None]:
    """The last whole snapshot (None while one is being written)."""
    sequence, length, rows = HEADER.unpack_from(view, 0)
    if sequence % 2 or length == 0:
        return None, None
    state = bytes(view[HEADER.size:HEADER.size + length])
    picture = None
    if rows:
        start = HEADER.size + STATE_BYTES
        picture = np.frombuffer(view[start:start + THUMB[0] * THUMB[1] * 3], np.uint8).reshape(THUMB[1], THUMB[0], 3)
        picture = picture[::-1].copy()  # GL rows: bottom first
    if HEADER.unpack_from(view, 0)[0] != sequence:
        return None, None  # overwritten while read
    return json.loads(state), picture


def operator_main(memory_name: str, keys, display: int, lang: str | None, preset_folders=()) -> None:
    """The operator process: a plain 2D window that draws the show's snapshots, and beside each
    preset's name a picture of the look, drawn here (one per frame until all are made)."""
    import os

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from dessins_de_planche import locale
    from dessins_de_planche.ring import attach_untracked

    locale.install(lang)
    memory = attach_untracked(memory_name)
    pygame.display.init()
    pygame.font.init()
    sizes = pygame.display.get_desktop_sizes()
    desktop = sizes[display] if 0 <= display < len(sizes) else sizes[0]
    size = (min(WINDOW[0], desktop[0] // 2), min(WINDOW[1], desktop[1]))  # a rehearsal shares one screen
    os.environ.pop("SDL_VIDEO_WINDOW_POS", None)  # the projector's --position, inherited: not ours
    if display == 0:  # top right of the first screen: clear of a projector window at its top left
        os.environ["SDL_VIDEO_WINDOW_POS"] = f"{desktop[0] - size[0]},0"
    screen = pygame.display.set_mode(size, pygame.RESIZABLE, display=display)
    pygame.display.set_caption("Dessins de Planche — " + locale._("operator"))
    font = pygame.font.Font(None, 22)
    small = pygame.font.Font(None, 18)
    clock = pygame.time.Clock()
    state, picture = {}, None
    thumbnails = Thumbnails(preset_folders)
    try:
        while True:
            for event in pygame.event.get():
                if event.type == pygame.QUIT:
                    return
                if event.type == pygame.KEYDOWN:
                    keys.send((event.key, event.mod, event.unicode))
            fresh, fresh_picture = read_snapshot(memory.buf)
            if fresh is not None:
                state = fresh
                picture = fresh_picture if fresh_picture is not None else picture
            thumbnails.make_one(state.get("presets", []))
            _draw(screen, font, small, state, picture, thumbnails.surfaces)
            pygame.display.flip()
            clock.tick(PUBLISH_HZ)
    except (BrokenPipeError, OSError):
        return
    finally:
        thumbnails.release()
        memory.close()
        pygame.quit()


class Thumbnails:
    """Each look drawn small from the same steady performance, on a thread of its own with its own
    headless GL context (made current there, so the window's drawing on the main thread is untouched)."""

    SIZE = (96, 54)

    def __init__(self, folders):
        self.folders = list(folders)
        self.surfaces: dict = {}
        self._images: dict = {}  # name -> RGB array, filled by the thread
        self._asked: list = []
        self._thread = None

    def make_one(self, names) -> None:
        """Start drawing the looks once their names are known; turn the drawn ones into surfaces."""
        import pygame

        if self._thread is None and names and self.folders:
            self._asked = list(names)
            self._thread = threading.Thread(target=self._draw_all, name="operator-thumbnails", daemon=True)
            self._thread.start()
        for name, image in list(self._images.items()):
            if name not in self.surfaces:
                self.surfaces[name] = pygame.image.frombuffer(image.tobytes(), self.SIZE, "RGB")

    def _draw_all(self) -> None:
        try:
            from dessins_de_planche.preset.loader import load_gallery
            from dessins_de_planche.render.steady import steady_taps
            from dessins_de_planche.render.offline import replay

            ctx = moderngl.create_standalone_context(backend="egl", require=330)
        except Exception as error:  # no headless GL here (another platform): names alone
            log.info("operator screen: no preset pictures (%s)", error)
            return
        try:
            presets, taps = load_gallery(self.folders), steady_taps(seconds=6.0)
            for name in self._asked:
                if name in presets:  # a look this process cannot load (an edit since): no picture
                    scene = replay(ctx, taps, 6.0, presets[name], self.SIZE)
                    self._images[name] = scene.read_canvas()
                    scene.release()
        except Exception as error:
            log.info("operator screen: preset pictures stopped (%s)", error)
        finally:
            ctx.release()

    def release(self) -> None:
        pass


def _draw(screen, font, small, state: dict, picture, thumbnails=None) -> None:
    import pygame

    screen.fill((14, 12, 20))
    width, height = screen.get_size()
    thumb = (int(min(THUMB[0], width * 0.45)), int(min(THUMB[0], width * 0.45) * THUMB[1] / THUMB[0]))
    if picture is not None:
        surface = pygame.image.frombuffer(picture.tobytes(), THUMB, "RGB")
        screen.blit(pygame.transform.smoothscale(surface, thumb) if thumb != THUMB else surface, (16, 16))
        pygame.draw.rect(screen, (90, 90, 110), (15, 15, thumb[0] + 2, thumb[1] + 2), 1)
    x, y = thumb[0] + 32, 16

    def lines(items, colour, face=font, step=22):
        nonlocal y
        for line in items:
            screen.blit(face.render(str(line), True, colour), (x, y))
            y += step

    lines(state.get("hud", []), (225, 225, 235))
    y += 8
    lines(state.get("notices", []), (250, 210, 120))
    presets, current = state.get("presets", []), state.get("current", -1)
    y += 8
    for index, name in enumerate(presets):
        colour = (255, 220, 90) if index == current else (150, 150, 165)
        look = (thumbnails or {}).get(name)
        if look is not None:
            screen.blit(look, (x, y))
            if index == current:
                pygame.draw.rect(screen, colour, (x - 1, y - 1, Thumbnails.SIZE[0] + 2, Thumbnails.SIZE[1] + 2), 1)
        screen.blit(small.render(f"{index + 1}  {name}", True, colour), (x + Thumbnails.SIZE[0] + 8, y + 4))
        y += Thumbnails.SIZE[1] + 4 if look is not None else 18
    # the sound check: a level bar and a tap light per channel, under the picture
    bx, by = 16, thumb[1] + 36
    for name, level, since_tap in state.get("meters", []):
        screen.blit(small.render(str(name), True, (200, 200, 210)), (bx, by))
        db = 20 * np.log10(max(float(level), 1e-5))
        bar = max(40, thumb[0] - 64)  # under the picture, clear of the text beside it
        fill = int(max(0.0, min(1.0, (db + 60) / 60)) * bar)
        pygame.draw.rect(screen, (60, 60, 70), (bx + 32, by, bar, 14))
        pygame.draw.rect(screen, (90, 200, 120), (bx + 32, by, fill, 14))
        lit = max(0.0, 1.0 - float(since_tap) / 0.25)
        pygame.draw.circle(screen, (int(60 + 195 * lit), int(60 + 150 * lit), 60), (bx + 44 + bar, by + 7), 7)
        by += 22
    errors = state.get("errors", [])
    if errors:
        ey = max(by + 12, height - 20 * len(errors) - 16)
        pygame.draw.rect(screen, (60, 10, 14), (12, ey - 6, width - 24, 20 * len(errors) + 12))
        for line in errors:
            screen.blit(small.render(str(line), True, (255, 230, 225)), (20, ey))
            ey += 20
