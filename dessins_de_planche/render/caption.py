"""The line of text under a print: what it says (the options, else a recorded session's header), its
colour (the look's own ink), and where it is set, on the page (PNG) or in the SVG.

Its own module because the command line builds the text before any print is planned, and the
page (`render.printing`) and the SVG (`render.offline`) both set it.
"""

from __future__ import annotations

import numpy as np

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


def caption_colour(preset) -> tuple[float, float, float]:
    """The look's own ink for the caption: of its palettes' colours, the one that stands out most
    from the page (dimmed a little: a caption is quieter than the drawing)."""
    from dessins_de_planche.preset.palettes import palette_array, parse_colour

    page = np.array(parse_colour(preset.canvas.background)[:3])
    colours = [palette_array(layer.palette)[:, :3] for layer in preset.layers if hasattr(layer, "palette")]
    if not colours:
        return tuple(float(c) for c in (1.0 - page))
    colours = np.concatenate(colours)
    best = colours[np.argmax(np.abs(colours - page).sum(axis=1))]
    return tuple(float(c) for c in page + (best - page) * 0.8)


def caption_text(caption: str | None = None, title: str | None = None, performer: str | None = None,
                 place: str | None = None, date: str | None = None, header: dict | None = None) -> str:
    """The line under a print: `caption` as given, else title, performer, place and date (from the
    options, else from a recorded session's header), joined by middle dots; "" when there is none."""
    if caption:
        return caption.strip()
    header = header or {}
    parts = [title or header.get("title") or header.get("tune"), performer or header.get("performer"),
             place or header.get("place"), date or (str(header.get("date", ""))[:10] if header.get("date") else None)]
    return " · ".join(str(part).strip() for part in parts if part and str(part).strip())


def caption_box(size, text_size, corner: str, margin: float) -> tuple[int, int]:
    """Top-left pixel (y down) of a caption of `text_size` in `corner`, inside the page's margin."""
    width, height = size
    inset = max(8, int(round(margin * height * 0.5)))
    x = inset if corner.endswith("left") else width - inset - text_size[0]
    y = inset if corner.startswith("top") else height - inset - text_size[1]
    return max(0, x), max(0, y)


def draw_caption(ctx, target, text: str, corner: str, preset, programs=None) -> tuple[int, int, int, int]:
    """Set `text` small in a corner of the page, in the look's palette. Returns its box (x, y, w, h)."""
    from dessins_de_planche.render.text import TextOverlay

    if corner not in CORNERS:
        raise ValueError(f"caption corner {corner!r}: one of {', '.join(CORNERS)}")
    width, height = target.viewport[2:]
    size_px = max(12, int(round(height / 48)))
    overlay = TextOverlay(ctx, programs)
    try:
        text_size = overlay.measure(text, size_px)
        x, y = caption_box((width, height), text_size, corner, preset.print.margin)
        overlay.draw([text], target, (x, y), size_px, (*caption_colour(preset), 1.0))
    finally:
        overlay.release()
    return x, y, *text_size


def svg_caption(svg: str, text: str, corner: str, preset, width_mm: float, aspect: float) -> str:
    """The SVG with `text` set small in `corner` (a pen's line of text, in the look's palette)."""
    from xml.sax.saxutils import escape

    if corner not in CORNERS:
        raise ValueError(f"caption corner {corner!r}: one of {', '.join(CORNERS)}")
    height_mm = width_mm / aspect
    size = height_mm / 48
    inset = max(2.0, preset.print.margin * height_mm * 0.5)
    x = inset if corner.endswith("left") else width_mm - inset
    y = inset + size if corner.startswith("top") else height_mm - inset
    anchor = "start" if corner.endswith("left") else "end"
    r, g, b = (int(round(c * 255)) for c in caption_colour(preset))
    line = (f'  <text class="caption" x="{x:.2f}" y="{y:.2f}" font-family="sans-serif" font-size="{size:.2f}" '
            f'text-anchor="{anchor}" fill="#{r:02x}{g:02x}{b:02x}">{escape(text)}</text>\n')
    return svg.replace("</svg>", line + "</svg>")
