"""Podorhythm patterns as taps on a beat grid, and the tunes they are danced to.

A reel (2/2) counts half-note beats split in four sixteenths; a jig (6/8) counts
dotted-quarter beats split in three eighths. A pattern is the slots of one beat (or
of a two-beat bar) that carry a tap, with its heel/toe and accent:

| name      | grid | slots of a beat (H heel, t toe, capital = accented)      |
|-----------|------|-----------------------------------------------------------|
| en deux   | 4    | H . t .                                                   |
| en trois  | 4    | H t t .   (three taps and a breath)                       |
| ti-galop  | 4    | H . t t | h . t t  (the right foot's heel marks the bar) |
| en quatre | 4    | H t h t  or  H t t t                                      |
| jig 6/8   | 3    | H t t                                                     |

Ground truth is written per tap: time (first sample at 5 % of the hit's peak), kind,
accent; per clip: tempo (beats per minute), pattern name, downbeat (time of a bar start).
"""

from __future__ import annotations

import numpy as np

PATTERNS = {
    # name: (metre, grid per beat, [per-beat slot lists over a bar of two beats])
    "en deux": ("reel", 4, [[(0, "H"), (2, "t")], [(0, "H"), (2, "t")]]),
    "en trois": ("reel", 4, [[(0, "H"), (1, "t"), (2, "t")], [(0, "H"), (1, "t"), (2, "t")]]),
    "ti-galop": ("reel", 4, [[(0, "H"), (2, "t"), (3, "t")], [(0, "h"), (2, "t"), (3, "t")]]),
    "en quatre": ("reel", 4, [[(0, "H"), (1, "t"), (2, "h"), (3, "t")], [(0, "H"), (1, "t"), (2, "h"), (3, "t")]]),
    "en quatre toes": ("reel", 4, [[(0, "H"), (1, "t"), (2, "t"), (3, "t")], [(0, "H"), (1, "t"), (2, "t"), (3, "t")]]),
    "jig 6/8": ("jig", 3, [[(0, "H"), (1, "t"), (2, "t")], [(0, "H"), (1, "t"), (2, "t")]]),
}
# the name the tracker should say for each pattern
PATTERN_NAME = {"en quatre toes": "en quatre"}


def tap_plan(rng, pattern: str, bpm: float, start: float, end: float, swing: float,
             jitter_s: float, flam_rate: float, rest_rate: float, flam_gap=(0.030, 0.060),
             with_flams: bool = False):
    """Taps of `pattern` from `start` to `end`: list of (time, kind, velocity, downbeat?), and
    with `with_flams` a fifth item, True for the second hit of a flam or double."""
    metre, grid, bar = PATTERNS[pattern]
    beat = 60.0 / bpm
    slot = beat / grid
    taps = []
    beat_index = 0
    t_bar = start
    rest_left = 0
    while t_bar + beat_index * beat < end:
        t_beat = start + beat_index * beat
        if rest_left == 0 and rng.random() < rest_rate:
            rest_left = int(rng.integers(1, 3))  # a beat or two of silence
        if rest_left:
            rest_left -= 1
            beat_index += 1
            continue
        for position, mark in bar[beat_index % 2]:
            when = t_beat + position * slot
            if grid == 4 and position % 2 == 1:  # swing: the off sixteenths come late
                when += swing * slot
            when += rng.normal(0.0, jitter_s)
            kind = "heel" if mark.lower() == "h" else "toe"
            velocity = rng.uniform(0.85, 1.0) if mark.isupper() else rng.uniform(0.45, 0.75)
            if pattern == "ti-galop" and mark == "H":
                velocity = 1.0  # the right foot's strong heel: the downbeat
            if when >= end:
                break
            if rng.random() < flam_rate:  # a flam or double: two taps `flam_gap` apart
                taps.append((when, kind, velocity, position == 0 and beat_index % 2 == 0, False))
                second = "toe" if kind == "heel" else kind
                taps.append((when + rng.uniform(*flam_gap), second, velocity * rng.uniform(0.6, 1.0), False, True))
            else:
                taps.append((when, kind, velocity, position == 0 and beat_index % 2 == 0, False))
        beat_index += 1
    return taps if with_flams else [tap[:4] for tap in taps]


_D_MAJOR = [62, 64, 66, 67, 69, 71, 73, 74, 76, 78, 79, 81, 83]  # D4 .. B5
_CHORDS = {"D": (50, 54, 57), "G": (55, 59, 62), "A": (57, 61, 64), "Bm": (59, 62, 66)}
_PROGRESSION = ["D", "D", "G", "A", "D", "Bm", "A", "D"]


def tune_events(rng, metre: str, bpm: float, seconds: float, fiddle: int | None,
                backing: int | None, fiddle_velocity=(70, 110), picked: bool = False):
    """MIDI events of a fiddle line (eighth notes, ornaments, held notes) over a
    "boom-chick" (bass on the beat, chord on the off-beat) on piano or guitar; with `picked`
    the backing is picked instead, one string a step (bass on the beat, the chord's notes
    between): single plucks as steady as feet."""
    from corpus.midi_file import note, program

    events = []
    beat = 60.0 / bpm
    notes_per_beat = 4 if metre == "reel" else 3
    step = beat / notes_per_beat
    if fiddle is not None:
        events.append(program(0.0, 0, fiddle))
        degree = int(rng.integers(2, 9))
        t = 0.0
        i = 0
        while t < seconds:
            if rng.random() < 0.12:  # a held note: two steps
                length = 2 * step
            else:
                length = step
            if rng.random() < 0.08 and i > 0:  # a cut: a grace note just before
                events += note(t, 0.025, 0, _D_MAJOR[min(len(_D_MAJOR) - 1, degree + 1)], 60)
                t += 0.025
            degree = int(np.clip(degree + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3]), 0, len(_D_MAJOR) - 1))
            accent = 1.0 if i % notes_per_beat == 0 else 0.85
            velocity = int(rng.uniform(*fiddle_velocity) * accent)
            events += note(t, length * 0.95, 0, _D_MAJOR[degree], velocity)
            t = (i + length / step) * step if length > step else (i + 1) * step
            i = int(round(t / step))
    if backing is not None and picked:
        events.append(program(0.0, 1, backing))
        order = [1, 2, 1] if notes_per_beat == 4 else [1, 2]
        i = 0
        while i * step < seconds:
            chord = _CHORDS[_PROGRESSION[(i // notes_per_beat // 2) % len(_PROGRESSION)]]
            slot = i % notes_per_beat
            key = chord[0] - 12 if slot == 0 else chord[order[slot - 1]]
            velocity = int(rng.uniform(80, 105) if slot == 0 else rng.uniform(55, 90))
            events += note(i * step, 1.8 * step, 1, key, velocity)
            i += 1
    elif backing is not None:
        events.append(program(0.0, 1, backing))
        b = 0
        while b * beat < seconds:
            chord = _CHORDS[_PROGRESSION[(b // 2) % len(_PROGRESSION)]]
            t = b * beat
            events += note(t, beat * 0.45, 1, chord[0] - 12, int(rng.uniform(85, 105)))  # boom
            chick = t + (beat / 2 if metre == "reel" else 2 * step)
            for key in chord:
                events += note(chick, beat * 0.3, 1, key, int(rng.uniform(65, 85)))  # chick
            b += 1
    return events
