"""Where the corpus's sounds come from: recorded samples in General MIDI soundfonts, rendered
with fluidsynth, or the app's own synthesizer (for tests on a machine without them).

A source gives the same two things either way:
- `hits(kind)`: one-shot hits (float32, peak 1) of sounds closest to a shoe on a board;
- `music(events, seconds)`: a rendered arrangement (fiddle, piano/guitar "boom-chick").
The soundfont path renders with reverb and chorus off: the room is added by `mix.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

import numpy as np

from corpus import midi_file

DRUMS = 9  # General MIDI's percussion channel (0-based)

# General MIDI percussion keys a heel or a toe on a board sounds most like
HEEL_KEYS = {35: "acoustic bass drum", 36: "bass drum 1", 41: "low floor tom", 43: "high floor tom"}
TOE_KEYS = {37: "side stick", 39: "hand clap", 75: "claves", 76: "hi wood block", 77: "low wood block"}
HIT_VELOCITIES = (55, 85, 115)

# General MIDI programs of the music
FIDDLE, VIOLIN, PIANO, NYLON_GUITAR, STEEL_GUITAR = 110, 40, 0, 24, 25

SOUNDFONTS = {
    # name: (path, Debian package, licence) — see docs/corpus.md
    "fluidr3": ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm", "MIT"),
    "timgm6mb": ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont", "GPL-2"),
}


def _cut_at_onset(audio: np.ndarray, before: int) -> np.ndarray:
    """Trim leading silence, keeping `before` samples ahead of the first 1 % of peak."""
    level = np.abs(audio)
    first = int(np.argmax(level >= 0.01 * level.max()))
    return audio[max(0, first - before):]


@dataclass
class SoundfontSource:
    """Recorded samples in a GM soundfont, played by fluidsynth (Debian `fluidsynth`)."""

    name: str
    sample_rate: int = 48_000

    @property
    def path(self) -> str:
        return SOUNDFONTS[self.name][0]

    def render(self, events, seconds: float) -> np.ndarray:
        """A MIDI arrangement -> mono float32 of `seconds` (fluidsynth, no reverb, no chorus)."""
        with tempfile.TemporaryDirectory(prefix="dessins-corpus-") as folder:
            mid = os.path.join(folder, "score.mid")
            raw = os.path.join(folder, "out.raw")
            midi_file.write_midi(mid, events)
            subprocess.run(["fluidsynth", "-q", "-n", "-i", "-g", "0.5", "-R", "0", "-C", "0",
                            "-r", str(self.sample_rate), "-O", "float", "-T", "raw", "-F", raw,
                            self.path, mid], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            stereo = np.fromfile(raw, np.float32).reshape(-1, 2)
        mono = stereo.mean(axis=1)
        n = int(round(seconds * self.sample_rate))
        out = np.zeros(n, np.float32)
        out[: min(n, len(mono))] = mono[:n]
        return out

    def hits(self, kind: str) -> list[tuple[str, np.ndarray]]:
        keys = HEEL_KEYS if kind == "heel" else TOE_KEYS
        spacing = 1.5
        plan = [(key, velocity) for key in keys for velocity in HIT_VELOCITIES]
        events = []
        for i, (key, velocity) in enumerate(plan):
            events += midi_file.note(0.5 + i * spacing, 0.2, DRUMS, key, velocity)
        audio = self.render(events, 0.5 + len(plan) * spacing + 0.5)
        out = []
        for i, (key, velocity) in enumerate(plan):
            start = int((0.5 + i * spacing) * self.sample_rate)
            segment = audio[start : start + int(1.2 * self.sample_rate)]
            if np.abs(segment).max() < 1e-5:
                continue  # this soundfont has no sample on that key
            segment = _cut_at_onset(segment, int(0.002 * self.sample_rate))
            out.append((f"{self.name}:{keys[key]}:v{velocity}",
                        (segment / np.abs(segment).max()).astype(np.float32)))
        return out

    def music(self, events, seconds: float) -> np.ndarray:
        return self.render(events, seconds)


@dataclass
class SyntheticSource:
    """The app's own synthesized heel/toe and an additive fiddle/piano: no packages needed."""

    name: str = "synthetic"
    sample_rate: int = 48_000

    def hits(self, kind: str) -> list[tuple[str, np.ndarray]]:
        from dessins_de_planche.listen.synth import heel_sound, toe_sound

        make = heel_sound if kind == "heel" else toe_sound
        return [(f"synthetic:{kind}:{i}", make(np.random.default_rng([11, i]), self.sample_rate))
                for i in range(4)]

    def music(self, events, seconds: float) -> np.ndarray:
        """Additive tones for the notes in `events` (programs: bowed for the fiddle, plucked
        decay for piano and guitar)."""
        sr = self.sample_rate
        n = int(round(seconds * sr))
        out = np.zeros(n + sr, np.float64)
        programs = {}
        starts = {}
        for time, status, *data in sorted(events, key=lambda e: e[0]):
            kind, channel = status & 0xF0, status & 0x0F
            if kind == 0xC0:
                programs[channel] = data[0]
            elif kind == 0x90:
                starts[(channel, data[0])] = (time, data[1])
            elif kind == 0x80 and (channel, data[0]) in starts:
                begin, velocity = starts.pop((channel, data[0]))
                bowed = programs.get(channel, 0) in (FIDDLE, VIOLIN)
                length = int(((time - begin) + (0.03 if bowed else 0.6)) * sr)
                t = np.arange(length) / sr
                freq = 440.0 * 2 ** ((data[0] - 69) / 12)
                harmonics = np.arange(1, 1 + max(1, min(12, int(0.45 * sr / freq))))
                wave = (np.sin(2 * np.pi * freq * harmonics[:, None] * t[None, :]) / harmonics[:, None]).sum(0)
                if bowed:
                    env = np.minimum(1.0, t / 0.012) * np.minimum(1.0, (length - np.arange(length)) / (0.03 * sr))
                else:
                    env = np.minimum(1.0, t / 0.003) * np.exp(-t / 0.25)
                at = int(round(begin * sr))
                end = min(len(out), at + length)
                if at < len(out):
                    out[at:end] += (wave * env)[: end - at] * velocity / 127.0 * 0.2
        return out[:n].astype(np.float32)


def source(name: str, sample_rate: int = 48_000):
    if name == "synthetic":
        return SyntheticSource(sample_rate=sample_rate)
    if name not in SOUNDFONTS:
        raise ValueError(f"unknown sound source {name!r}: use synthetic or {', '.join(SOUNDFONTS)}")
    return SoundfontSource(name, sample_rate)


def ensure_installed(names) -> None:
    """Install fluidsynth and the soundfonts named (Debian packages) when missing."""
    wanted = []
    if shutil.which("fluidsynth") is None:
        wanted.append("fluidsynth")
    for name in names:
        if name in SOUNDFONTS and not os.path.exists(SOUNDFONTS[name][0]):
            wanted.append(SOUNDFONTS[name][1])
    if not wanted:
        return
    if shutil.which("apt-get") is None:
        raise SystemExit(f"install {' '.join(wanted)} (Debian package names) and run again")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"installing {' '.join(wanted)} ...", flush=True)
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *wanted],
                   check=True, env=env, stdout=subprocess.DEVNULL)
