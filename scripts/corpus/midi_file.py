"""A Standard MIDI File writer small enough to read: one track, absolute times in seconds.

Only what the corpus needs (program change, note on/off); tempo is fixed at 120 BPM with
960 ticks per beat, so one tick is 1/1920 s and every time is placed to half a millisecond.
"""

from __future__ import annotations

import struct

TICKS_PER_BEAT = 960
TICKS_PER_SECOND = 2 * TICKS_PER_BEAT  # at the default 120 BPM


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def write_midi(path, events) -> None:
    """`events`: (time s, status byte, data bytes...) tuples, any order."""
    ordered = sorted(events, key=lambda e: (e[0], 0 if (e[1] & 0xF0) in (0x80, 0xC0, 0xB0) else 1))
    body = bytearray()
    last = 0
    for time, status, *data in ordered:
        tick = int(round(time * TICKS_PER_SECOND))
        body += _varlen(max(0, tick - last)) + bytes([status, *data])
        last = max(last, tick)
    body += _varlen(TICKS_PER_SECOND) + b"\xff\x2f\x00"  # end of track a second later
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_BEAT))
        f.write(b"MTrk" + struct.pack(">I", len(body)) + bytes(body))


def program(time: float, channel: int, number: int):
    return (time, 0xC0 | channel, number)


def note(time: float, length: float, channel: int, key: int, velocity: int):
    """A note on at `time` and its note off `length` seconds later."""
    return [(time, 0x90 | channel, key, max(1, min(127, velocity))),
            (time + length, 0x80 | channel, key, 0)]


def notes(events):
    """Every note of (time, status, data...) events, as (begin, end, program, key, velocity), in
    the order the notes end: what a renderer plays."""
    programs, starts = {}, {}
    for time, status, *data in sorted(events, key=lambda e: e[0]):
        kind, channel = status & 0xF0, status & 0x0F
        if kind == 0xC0:
            programs[channel] = data[0]
        elif kind == 0x90 and data[1] > 0:
            starts[(channel, data[0])] = (time, data[1])
        elif kind in (0x80, 0x90) and (channel, data[0]) in starts:
            begin, velocity = starts.pop((channel, data[0]))
            yield begin, time, programs.get(channel, 0), data[0], velocity


def control(time: float, channel: int, number: int, value: int):
    return (time, 0xB0 | channel, number, value)
