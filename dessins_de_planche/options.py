"""Option parsers shared by several commands: each turns a mistake into a message that names it."""

from __future__ import annotations

import argparse
import math
import os

from dessins_de_planche.config import MidiNote
from dessins_de_planche.errors import UserError


class UsageError(UserError):
    """A mistake on the command line or in what it names: reported as one line."""


def size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if not (16 <= width <= 16384 and 16 <= height <= 16384):
        raise argparse.ArgumentTypeError(f"size {text!r} is out of range (16..16384 per side)")
    return width, height


def channels(text: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 1-based channel numbers such as 1,2, got {text!r}") from None
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError(f"channel numbers start at 1, got {text!r}")
    if max(numbers) > MAX_CHANNEL or len(numbers) > MAX_CHANNEL:
        raise argparse.ArgumentTypeError(f"channel numbers go up to {MAX_CHANNEL}, got {text[:40]!r}")
    return numbers


MAX_CHANNEL = 256  # more than any sound card has; the device or file is checked for its own count later


def device(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def pattern(text: str) -> tuple[str, ...]:
    steps = tuple(step.strip().lower() for step in text.split(",") if step.strip())
    bad = [s for s in steps if s not in ("heel", "toe", "h", "t")]
    if not steps or bad:
        raise argparse.ArgumentTypeError(f"a pattern is heel/toe steps such as heel,toe,toe (got {text!r})")
    return tuple("heel" if s in ("heel", "h") else "toe" for s in steps)


def midi_map(text: str) -> dict[int, MidiNote]:
    """`36=left:heel,38=left:toe` -> note 36 is a heel on the left zone, ..."""
    notes = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            note, target = item.split("=")
            zone, _, kind = target.partition(":")
            kind = kind or "unknown"
            if kind not in ("heel", "toe", "unknown") or not zone or not 0 <= int(note) <= 127:
                raise ValueError
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad MIDI mapping {item!r}: write NOTE=ZONE[:heel|toe], e.g. 36=left:heel") from None
        notes[int(note)] = MidiNote(zone=zone, kind=kind)
    return notes


def position(text: str) -> tuple[int, int]:
    try:
        x, y = (int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y in pixels such as 0,0, got {text!r}") from None
    return x, y


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text}")
    return value


def positive(kind, allow_zero: bool = False):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < 0 or (value == 0 and not allow_zero) or value != value or value == math.inf:
            raise argparse.ArgumentTypeError(f"must be {'zero or more' if allow_zero else 'positive'} and finite, "
                                             f"got {text}")
        return value

    return parse


def bounded(kind, low, high, unit: str = ""):
    """A number within [low, high]: an absurd value (`--bpm 1e9`) is refused with the range, never run."""
    unit = f" {unit}" if unit else ""

    def parse(text):
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(
                f"expected a number from {low:g} to {high:g}{unit}, got {text!r}") from None
        if not low <= value <= high:  # NaN fails this too
            raise argparse.ArgumentTypeError(f"expected a number from {low:g} to {high:g}{unit}, got {text}")
        return value

    return parse


# The ranges a command line may ask for (beyond them a stream or the generator spins or starves).
BPM = (20.0, 400.0)
TAPS_PER_BEAT = (1, 8)
JITTER_MS = (0.0, 100.0)
SAMPLE_RATE = (8_000, 384_000)
BLOCK_SIZE = (16, 8192)


def non_negative(kind):
    return positive(kind, allow_zero=True)


def check_channels(path: str, channels) -> None:
    """An audio file that can be read, with every channel asked for (one line naming the count)."""
    import soundfile

    try:
        count = soundfile.info(path).channels
    except Exception as error:  # libsndfile's own words, on one line
        reason = str(error).splitlines()[0] if str(error) else "unreadable"
        raise UsageError(f"{path}: not a readable audio file (WAV, FLAC, OGG): {reason}") from None
    wanted = max(channels) if channels else 0
    if wanted > count:
        raise UsageError(f"{path}: channel {wanted} does not exist; the file has {count} "
                         f"channel{'s' if count != 1 else ''} (1..{count})")


def check_readable(path: str) -> None:
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise UsageError(f"{path}: not a readable file")


def take_warnings(path, taps: int, nonfinite_blocks: int = 0) -> list[str]:
    """What `analyze` and `render` say about a take that will draw little or nothing."""
    said = []
    if nonfinite_blocks:
        blocks = f"{nonfinite_blocks} block{'s' if nonfinite_blocks != 1 else ''}"
        said.append(f"warning: {path}: {blocks} held non-finite samples (NaN or infinity); "
                    "those samples were heard as silence")
    if not taps:
        said.append(f"warning: {path}: no taps found (silence, a level below the detector's floor, or the "
                    "wrong channels?)")
    return said
