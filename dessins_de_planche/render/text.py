"""Lines of text over the picture (notices, the sound-check labels): pygame's default font to a texture.

Each distinct line is rendered once and kept (a small cache by content), so a
notice shown every frame costs one textured quad, not a font rendering.
"""

from __future__ import annotations

from collections import OrderedDict

import moderngl

from dessins_de_planche.render.glsl import ProgramCache

_CACHE_SIZE = 128


class OverlayPainter:
    """Rectangles in target pixels (y down from the top): solid, or tinted by a texture's alpha."""

    def __init__(self, ctx: moderngl.Context, programs: ProgramCache | None = None):
        self.ctx = ctx
        programs = programs or ProgramCache(ctx)
        self.program = programs.get("overlay.vert.glsl", "overlay.frag.glsl")
        self.vao = ctx.vertex_array(self.program, [])

    def rect(self, target, rect, color, texture: moderngl.Texture | None = None) -> None:
        target.use()
        width, height = target.viewport[2:]
        p = self.program
        p["u_rect"].value = tuple(float(v) for v in rect)
        p["u_target"].value = (float(width), float(height))
        p["u_color"].value = tuple(float(c) for c in color)
        p["u_textured"].value = texture is not None
        if texture is not None:
            texture.use(0)
            p["u_texture"].value = 0
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        self.vao.render(moderngl.TRIANGLE_STRIP, vertices=4)
        self.ctx.disable(moderngl.BLEND)


class TextOverlay:
    def __init__(self, ctx: moderngl.Context, programs: ProgramCache | None = None):
        import pygame

        if not pygame.font.get_init():
            pygame.font.init()
        self.ctx = ctx
        self.painter = OverlayPainter(ctx, programs)
        self._fonts: dict[int, object] = {}
        self._lines: OrderedDict[tuple[str, int], tuple[moderngl.Texture, int, int]] = OrderedDict()

    def _font(self, size_px: int):
        import pygame

        font = self._fonts.get(size_px)
        if font is None:
            font = self._fonts[size_px] = pygame.font.Font(None, size_px)
        return font

    def _line(self, text: str, size_px: int):
        key = (text, size_px)
        entry = self._lines.get(key)
        if entry is not None:
            self._lines.move_to_end(key)
            return entry
        import pygame

        # antialiased text with no background comes back as a 32-bit surface with per-pixel alpha
        surface = self._font(size_px).render(text or " ", True, (255, 255, 255))
        width, height = surface.get_size()
        texture = self.ctx.texture((width, height), 4, pygame.image.tobytes(surface, "RGBA"))
        texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
        entry = self._lines[key] = (texture, width, height)
        if len(self._lines) > _CACHE_SIZE:
            _, (old, _, _) = self._lines.popitem(last=False)
            old.release()
        return entry

    def measure(self, text: str, size_px: int = 18) -> tuple[int, int]:
        _, width, height = self._line(text, size_px)
        return width, height

    def draw(self, lines, target: moderngl.Framebuffer, position=(16, 16), size_px: int = 18,
             color=(1.0, 1.0, 1.0, 1.0), line_gap: float = 1.2) -> None:
        """Draw lines top-down from `position` (pixels from the target's top-left)."""
        if isinstance(lines, str):
            lines = [lines]
        x, y = position
        for text in lines:
            texture, width, height = self._line(str(text), int(size_px))
            self.painter.rect(target, (x, y, width, height), color, texture)
            y += int(size_px * line_gap)

    def release(self) -> None:
        for texture, _, _ in self._lines.values():
            texture.release()
        self._lines.clear()
