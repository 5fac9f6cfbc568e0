"""A board's calibration learned from a calibration recording.

A multi-zone board (piezos or force sensors under each part of the plank, a microcontroller sending
a note-on per sensor) hears every strike on every sensor, a little later and softer on the ones
not struck; and a player shifting weight between taps makes sensors fire softly. `calibrate
--midi-port` records the player striking each zone alone, then standing and shifting weight;
`learn` turns those notes into a `BoardCalibration` (inputs/board_table.py): per pair of sensors
(notes), the velocity ratio and delay of the bleed with their spread, and per sensor the
weight-shift level and the floor under which a lone note is a weight shift.

A multi-channel audio board (a piezo per zone, each into its own input channel) is learned the same
way by `calibrate --audio-device --channels 1,2,...` (`learn_audio`), each confirmed tap as (time,
channel, peak amplitude).
"""

from __future__ import annotations

import numpy as np

from dessins_de_planche.inputs.board_table import AUDIO, MIDI, BoardCalibration, Bleed, Sensor

STRIKE_GROUP_S = 0.06  # notes within this of a strike's first note are that strike
SHIFT_MARGIN = 1.25  # a sensor's floor: at least this much over the loudest weight shift heard,
SHIFT_SLACK = 1 / 127  # plus a velocity step; halfway (in dB) to its softest strike where that is higher;
FLOOR_UNDER_STRIKES = 0.8  # and never above this share of its softest strike
STRAY_UNDER = 0.25  # a strike this much softer than the median on its sensor is left out
AUDIO_STEP = 0.001  # a multi-channel audio board: the smallest peak difference that means anything (-60 dBFS)


def group_strikes(notes) -> list[list[tuple[float, int, float]]]:
    """Notes (time, note, velocity) in time order as strikes: each the notes within STRIKE_GROUP_S
    of its first, one per sensor (its loudest)."""
    groups, current, start = [], {}, None
    for t, note, velocity in sorted(notes):
        if start is None or t - start > STRIKE_GROUP_S:
            if current:
                groups.append(sorted(current.values()))
            current, start = {}, t
        if note not in current or velocity > current[note][2]:
            current[note] = (t, note, velocity)
    if current:
        groups.append(sorted(current.values()))
    return groups


def learn(strike_notes, shift_notes, shift_seconds: float, zones: dict[int, str] | None = None,
          port: str = "", step: float = SHIFT_SLACK, name: str = "note", level=None) -> BoardCalibration:
    """A board's calibration from the notes heard while each zone was struck alone (any order)
    and those heard while the player stood shifting weight for `shift_seconds`. A multi-channel
    audio board is learned the same way: its taps as (time, channel, peak amplitude), `step` the
    smallest level difference that means anything (a velocity step; for audio, AUDIO_STEP)."""
    zones = zones or {}
    level = level or MIDI.level
    struck: dict[int, list[float]] = {}
    pairs: dict[tuple[int, int], list[tuple[float, float]]] = {}
    groups = group_strikes(strike_notes)
    loudest: dict[int, list[float]] = {}
    for group in groups:
        _t, source, v0 = max(group, key=lambda n: n[2])
        loudest.setdefault(source, []).append(v0)
    typical = {source: float(np.median(vs)) for source, vs in loudest.items()}
    stray = 0
    for group in groups:
        t0, source, v0 = max(group, key=lambda n: n[2])
        if v0 < STRAY_UNDER * typical[source]:  # a click, a stray touch: no strike to learn bleed from
            stray += 1
            continue
        struck.setdefault(source, []).append(v0)
        for t, note, velocity in group:
            if note != source:
                pairs.setdefault((source, note), []).append((velocity / v0, t - t0))
    shifts: dict[int, list[float]] = {}
    for _t, note, velocity in shift_notes:
        shifts.setdefault(note, []).append(velocity)
    sensors, warnings = {}, []
    for note in sorted(set(struck) | set(shifts) | set(zones)):
        hits, noise = struck.get(note, []), shifts.get(note, [])
        zone = zones.get(note, "")
        shift_max = max(noise, default=0.0)
        floor = shift_max * SHIFT_MARGIN + step if noise else 0.0
        if hits and noise:  # halfway (in dB) from the loudest weight shift to the softest strike: a few
            # seconds of standing rarely show a sensor's loudest shift, and the gap is the board's to use
            floor = max(floor, (shift_max * min(hits)) ** 0.5)
        if hits and floor > min(hits) * FLOOR_UNDER_STRIKES:
            warnings.append(f"{name} {note}{f' ({zone})' if zone else ''}: weight shifts up to "
                            f"{level(shift_max)} reach its soft strikes ({level(min(hits))}); "
                            "raise the sensor's threshold (or lower its gain) or strike harder")
            floor = 0.5 * (shift_max + min(hits))
        if not hits and note in zones:
            warnings.append(f"{name} {note} ({zone}): no strike heard on it alone; its bleed is not known")
        sensors[note] = Sensor(
            zone=zone, strikes=len(hits), strike_min=_r(min(hits, default=0.0)),
            strike_median=_r(float(np.median(hits)) if hits else 0.0), shifts=len(noise),
            shift_max=_r(shift_max), shift_median=_r(float(np.median(noise)) if noise else 0.0),
            shift_rate=_r(len(noise) / shift_seconds if shift_seconds > 0 else 0.0), floor=_r(floor))
    bleed = {}
    for (source, note), seen in sorted(pairs.items()):
        ratios = np.array([r for r, _ in seen])
        delays = np.array([d for _, d in seen])
        bleed[(source, note)] = Bleed(
            count=len(seen), heard=_r(len(seen) / len(struck[source])), ratio=_r(float(np.median(ratios))),
            ratio_max=_r(float(ratios.max())), delay=_r(float(np.median(delays)), 5),
            delay_min=_r(float(delays.min()), 5), delay_max=_r(float(delays.max()), 5))
    if stray:
        warnings.append(f"{stray} of {len(groups)} strikes left out: far softer than the others on their {name} "
                        "(a click, a stray touch)")
    return BoardCalibration(port=port, sensors=sensors, bleed=bleed, warnings=tuple(warnings))


def _r(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def learn_audio(strike_taps, shift_taps, shift_seconds: float, zones: dict[int, str] | None = None,
                device: str = "") -> BoardCalibration:
    """A multi-channel audio board's calibration from its confirmed taps (time, 1-based channel,
    peak amplitude) while each zone was struck alone, and while the player stood shifting weight."""
    return learn(strike_taps, shift_taps, shift_seconds, zones, port=device, step=AUDIO_STEP, name=AUDIO.name,
                 level=AUDIO.level)
