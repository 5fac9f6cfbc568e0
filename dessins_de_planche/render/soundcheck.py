"""The sound-check view: one level bar and one tap light per input channel, and for a
sensor board, per zone: its hits, the bleed suppressed and the weight shifts ignored.

Levels are shown in decibels (-60..0 dBFS) because that is how a sound engineer
reads a meter; a light flashes when the channel's last tap is fresh and fades
over a quarter second. A board builder tunes the board by the zone counts: bleed
on a zone nobody struck is the board doing its job; hits there are bleed let through.
"""

from __future__ import annotations


import moderngl
import numpy as np

from dessins_de_planche.locale import _
from dessins_de_planche.render.glsl import ProgramCache
from dessins_de_planche.render.text import TextOverlay

FLOOR_DB = -60.0
LIGHT_FADE_S = 0.25


def level_to_height(level: np.ndarray) -> np.ndarray:
    """RMS 0..1 -> bar fill 0..1 on a -60..0 dB scale."""
    db = 20.0 * np.log10(np.maximum(np.asarray(level, np.float64), 1e-9))
    return np.clip((db - FLOOR_DB) / -FLOOR_DB, 0.0, 1.0)


def zone_lines(status) -> list[str]:
    """A board's counts from the input status, one line per zone: a multi-channel audio board's
    (when calibrated), then a sensor board's zones that heard a note."""
    lines = []
    audio = getattr(status, "audio_zones", ())
    if audio:
        lines.append(_("Board channels: calibrated"))
        lines += _count_lines(audio)
    zones = getattr(status, "midi_zones", ())
    if zones:
        lines.append(_("Sensor board: calibrated") if status.midi_calibrated else _("Sensor board: not calibrated"))
        lines += _count_lines(zones)
    fused = fusion_line(status)
    return lines + [fused] if fused and lines else lines


def _count_lines(zones) -> list[str]:
    return [_("{zone}: {taps} hits · {bleed} bleed suppressed · {shifts} weight shifts ignored").format(
        zone=zone, taps=taps, bleed=bleed, shifts=shifts) for zone, taps, bleed, shifts in zones]


def fusion_line(status) -> str:
    """`run --fuse`: strikes heard by mic and sensors, by the mic alone, sensor notes with no sound."""
    fused = getattr(status, "fused", ())
    if not fused:
        return ""
    both, mic, shifts = fused
    return _("Mic and sensors: {both} strikes together · {mic} mic alone · {shifts} notes with no sound").format(
        both=both, mic=mic, shifts=shifts)


def board_summary(status) -> str:
    """The same counts for the whole board, and the fusion's, in one line (the HUD); empty without a board."""
    parts = []
    for name, zones in (("audio", getattr(status, "audio_zones", ())), ("MIDI", getattr(status, "midi_zones", ()))):
        if zones:
            parts.append(_("{zone}: {taps} hits · {bleed} bleed suppressed · {shifts} weight shifts ignored").format(
                zone=name, taps=sum(z[1] for z in zones), bleed=sum(z[2] for z in zones),
                shifts=sum(z[3] for z in zones)))
    return "   ".join(part for part in (*parts, fusion_line(status)) if part)


class SoundCheck:
    def __init__(self, ctx: moderngl.Context, programs: ProgramCache | None = None):
        self.text = TextOverlay(ctx, programs)
        self.painter = self.text.painter

    def draw(self, target: moderngl.Framebuffer, channels, levels, since_tap, origin=(24, 24), zones=()) -> None:
        """`levels`: RMS per channel (0..1); `since_tap`: seconds since each channel's last tap;
        `zones`: a sensor board's lines (`zone_lines`), under the meters."""
        heights = level_to_height(levels)
        lights = np.exp(-np.maximum(np.asarray(since_tap, np.float64), 0.0) / LIGHT_FADE_S)
        bar_w, bar_h, gap = 26, 180, 22
        x0, y0 = origin
        panel_w = max(1, len(heights)) * (bar_w + gap) + gap
        self.painter.rect(target, (x0, y0, panel_w, bar_h + 96), (0.0, 0.0, 0.0, 0.72))
        self.text.draw(["sound check"], target, (x0 + gap, y0 + 8), size_px=18, color=(0.8, 0.8, 0.8, 1.0))
        top = y0 + 32
        for i, channel in enumerate(channels):
            x = x0 + gap + i * (bar_w + gap)
            fill = float(heights[i]) * bar_h
            self.painter.rect(target, (x, top, bar_w, bar_h), (0.16, 0.16, 0.18, 1.0))
            hot = fill > bar_h * (1.0 - 6.0 / -FLOOR_DB)  # within 6 dB of full scale
            colour = (0.95, 0.3, 0.25, 1.0) if hot else (0.35, 0.85, 0.5, 1.0)
            if fill > 0.5:
                self.painter.rect(target, (x, top + bar_h - fill, bar_w, fill), colour)
            glow = float(lights[i])
            self.painter.rect(target, (x, top + bar_h + 10, bar_w, bar_w),
                              (0.2 + 0.8 * glow, 0.2 + 0.7 * glow, 0.2 + 0.2 * glow, 1.0))
            label = f"{channel}"
            self.text.draw([label], target, (x + bar_w / 2 - 4 * len(label), top + bar_h + 40), size_px=18,
                           color=(0.8, 0.8, 0.8, 1.0))
        if zones:
            size = 16
            top = y0 + bar_h + 96 + 8
            width = max(self.text.measure(line, size)[0] for line in zones) + 2 * gap
            self.painter.rect(target, (x0, top, max(width, panel_w), int(len(zones) * size * 1.2) + 16),
                              (0.0, 0.0, 0.0, 0.72))
            self.text.draw(list(zones), target, (x0 + gap, top + 8), size_px=size, color=(0.85, 0.85, 0.85, 1.0))
