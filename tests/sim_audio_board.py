"""A simulated multi-channel audio board: four piezos under a plank, each into its own input channel.

What is known here and only here (the app learns it through `calibrate --audio-device --channels`):
how much of a strike on each zone reaches the other channels and how late (a bleed matrix of
amplitude ratios and delays, each with its spread), how hard the player strikes, and the
weight-shift noise of each channel (slow low swells of a foot loading the plank, and soft creaks).
Every event it renders is labelled with the truth: a strike, another zone's bleed, or a weight shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dessins_de_planche.listen.synth import heel_sound, toe_sound, true_onset

SAMPLE_RATE = 48_000
CHANNELS = (1, 2, 3, 4)
ZONES = ("left-heel", "left-toe", "right-heel", "right-toe")
# BLEED_RATIO[i][j]: median share (peak amplitude) of a strike on zone i that channel j hears
BLEED_RATIO = np.array([[0.0, 0.25, 0.12, 0.06],
                        [0.22, 0.0, 0.05, 0.10],
                        [0.12, 0.05, 0.0, 0.26],
                        [0.05, 0.10, 0.24, 0.0]])
RATIO_SPREAD = 0.10  # log-normal sigma of each bleed's ratio
# BLEED_DELAY[i][j]: median seconds from a strike's onset on i to its bleed's on j (a soft plank
# carries it slowly across: past the detector's 2 ms crosstalk window for most pairs)
BLEED_DELAY = np.array([[0.0, 0.0015, 0.005, 0.007],
                        [0.0015, 0.0, 0.006, 0.0045],
                        [0.005, 0.006, 0.0, 0.0015],
                        [0.007, 0.0045, 0.0015, 0.0]])
DELAY_SPREAD = 0.0003  # normal sigma of each bleed's delay (s)
STRIKE = (0.18, 0.5)  # a strike's peak amplitude on its own channel, uniform (-15 .. -6 dBFS)
NOISE = 1e-4  # each channel's background (RMS)
SHIFT_RATE = 2.0  # weight-shift events a second, per channel
SHIFT_CREAK = np.array([0.012, 0.008, 0.015, 0.010])  # the loudest creak of each channel (peak)
SWELL_MAX = 0.03  # the loudest swell (peak), any channel


@dataclass(frozen=True)
class Event:
    time: float  # s, the onset on its channel
    channel: int  # 1-based
    amplitude: float  # peak
    truth: str  # "strike", "bleed" or "shift"
    strike: int = -1  # the strike it belongs to, -1 for a shift


class SimulatedAudioBoard:
    def __init__(self, seed: int = 0, sample_rate: int = SAMPLE_RATE):
        self.rng = np.random.default_rng(seed)
        self.sr = sample_rate
        self.strikes = 0

    def velocity(self) -> float:
        return float(self.rng.uniform(*STRIKE))

    def strike(self, at: float, hits: dict[int, float]) -> list[tuple]:
        """One strike: {zone index: peak} hit together at `at`. Returns (event, sound, channel index)."""
        self.strikes += 1
        out = []
        for i, peak in hits.items():
            sound = (heel_sound if self.rng.uniform() < 0.5 else toe_sound)(self.rng, self.sr)
            onset = true_onset(sound) / self.sr
            out.append((Event(at, CHANNELS[i], peak, "strike", self.strikes), sound * peak, i, at - onset))
            for j in range(len(CHANNELS)):
                if j == i:
                    continue
                ratio = BLEED_RATIO[i, j] * float(np.exp(self.rng.normal(0.0, RATIO_SPREAD)))
                delay = BLEED_DELAY[i, j] + float(self.rng.normal(0.0, DELAY_SPREAD))
                kind = "strike" if j in hits else "bleed"
                if kind == "bleed":
                    out.append((Event(at + delay, CHANNELS[j], peak * ratio, "bleed", self.strikes),
                                sound * peak * ratio, j, at + delay - onset))
                else:
                    out.append((None, sound * peak * ratio, j, at + delay - onset))
        return out

    def strikes_alone(self, zone: int, count: int, start: float, gap: float) -> list[tuple]:
        out = []
        for k in range(count):
            out += self.strike(start + k * gap, {zone: self.velocity()})
        return out

    def performance(self, strikes: int, start: float, gap: float, together: float = 0.4) -> list[tuple]:
        out = []
        for k in range(strikes):
            at = start + k * gap
            if self.rng.uniform() < together:
                i, j = self.rng.choice(len(CHANNELS), 2, replace=False)
                hits = {int(i): self.velocity(), int(j): self.velocity()}
            else:
                hits = {int(self.rng.integers(len(CHANNELS))): self.velocity()}
            out += self.strike(at, hits)
        return out

    def weight_shifts(self, start: float, seconds: float) -> list[tuple]:
        """Standing and shifting weight: on each channel, slow low swells (a foot loading the plank)
        and now and then a soft creak, none louder than its SHIFT_CREAK."""
        out, sr = [], self.sr
        for j in range(len(CHANNELS)):
            count = self.rng.poisson(SHIFT_RATE * seconds)
            for t in self.rng.uniform(start, start + seconds, count):
                if self.rng.uniform() < 0.5:  # a swell: 60-200 ms of a 6-20 Hz half sine
                    n = int(self.rng.uniform(0.06, 0.2) * sr)
                    sound = np.sin(np.linspace(0.0, np.pi, n)) * self.rng.uniform(0.005, SWELL_MAX)
                    out.append((Event(float(t), CHANNELS[j], float(np.abs(sound).max()), "shift"), sound, j, float(t)))
                else:  # a creak: a faint click
                    peak = SHIFT_CREAK[j] * float(self.rng.uniform(0.2, 1.0))
                    sound = toe_sound(self.rng, sr) * peak
                    out.append((Event(float(t), CHANNELS[j], peak, "shift"), sound, j,
                                float(t) - true_onset(sound) / sr))
        return out

    def render(self, parts: list[tuple], seconds: float) -> np.ndarray:
        """The channels' signal (frames, channels) float32: every sound at its place, over the room's noise."""
        audio = (self.rng.standard_normal((int(seconds * self.sr), len(CHANNELS))) * NOISE).astype(np.float32)
        for _event, sound, j, begin in parts:
            at = int(round(begin * self.sr))
            if at < 0 or at >= len(audio):
                continue
            n = min(len(sound), len(audio) - at)
            audio[at : at + n, j] += sound[:n].astype(np.float32)
        return audio


def events(parts) -> list[Event]:
    return sorted((e for e, *_ in parts if e is not None), key=lambda e: e.time)


def score(played: list[Event], taps, channel_of_tap, tolerance: float) -> dict:
    """How the app heard it: a tap matches a played strike on the same channel within `tolerance` s."""
    strikes = [e for e in played if e.truth == "strike"]
    per = {}
    for e in strikes:
        per[e.strike] = per.get(e.strike, 0) + 1
    together = {s for s, n in per.items() if n > 1}
    by_channel: dict[int, list] = {}
    for e in strikes:
        by_channel.setdefault(e.channel, []).append(e)
    kept, false_taps = [], 0
    for tap in taps:
        t, candidates = float(tap["time"]), by_channel.get(channel_of_tap(tap), [])
        near = [i for i, e in enumerate(candidates) if abs(e.time - t) <= tolerance]
        if not near:
            false_taps += 1
            continue
        kept.append(candidates.pop(min(near, key=lambda i: abs(candidates[i].time - t))))
    return {"strikes": len(strikes), "kept": len(kept), "together": sum(1 for e in strikes if e.strike in together),
            "together_kept": sum(1 for e in kept if e.strike in together),
            "bleed": sum(1 for e in played if e.truth == "bleed"), "false_taps": false_taps}


class FrameClock:
    """The stream clock offline: frame / sample rate."""

    def __init__(self, sample_rate: int = SAMPLE_RATE):
        self.sr = float(sample_rate)

    def observe(self, frame, now) -> None:
        pass

    def to_master(self, frame) -> float:
        return float(frame) / self.sr


def detected_taps(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, block: int = 128):
    """What `calibrate` hears on a multi-channel board: every channel's confirmed taps on its own
    (the detector's winner-take-all off), as (onset s, 1-based channel, peak amplitude)."""
    from dessins_de_planche.commands.calibrate import board_taps

    return board_taps(audio, sample_rate, CHANNELS, block)


def listen(audio: np.ndarray, board=None, sample_rate: int = SAMPLE_RATE, block: int = 128):
    """The show's audio path offline (BlockHandler, the detector, and with `board` the board's
    filter): (final taps, the filter or None)."""
    from dessins_de_planche.events import TAP_DTYPE, merge_refinements
    from dessins_de_planche.inputs.audio import BlockHandler
    from dessins_de_planche.inputs.board import board_detector
    from dessins_de_planche.ring import Ring

    taps = Ring.create(TAP_DTYPE, 1 << 16)
    try:
        detector, filter_ = board_detector(sample_rate, CHANNELS, block, (), board)
        handler = BlockHandler(detector, FrameClock(sample_rate), taps, None, CHANNELS, range(len(CHANNELS)),
                               board=filter_)
        got = []
        for start in range(0, len(audio) - block + 1, block):
            handler.handle(audio[start : start + block], (start + block) / sample_rate)
            if start % (block * 256) == 0:
                got.append(taps.pop())
        got.append(taps.pop())
        return merge_refinements(np.concatenate(got)), filter_
    finally:
        taps.close()
