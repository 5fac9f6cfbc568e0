"""Tap sources, grouped by family: recorded one-shots from Debian packages, and synthesized taps.

A family is one provenance (one package, or one group of kits recorded apart from the others),
so that leave-one-family-out scores a detector on sounds it has never heard. Each hit is
labelled heel (a low thump: kicks, floor toms, djembe bass, cajon thump, the heel model) or toe
(a dry click: side stick, rim, sticks, claves, wood block, djembe slap and tone, the toe model).

`hits(family, sample_rate)` gives `Hit`s: mono float32 at `sample_rate`, peak 1, cut 2 ms before
the hit starts and faded out by `MAX_SECONDS`. Every file opened goes through `reserved.check`.
"""

from __future__ import annotations

import os
import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from math import gcd

import numpy as np

from corpus import reserved

MAX_SECONDS = 0.5
HYDROGEN_KITS = reserved.HYDROGEN_KITS
FREEPATS = "/usr/share/midi/freepats/Drum_000"
AVLDRUMS = ("/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2", "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2")
TIMGM6MB = "/usr/share/sounds/sf2/TimGM6mb.sf2"
CSOUND = "/usr/share/sounds/sf2/sf_GMbank.sf2"
UFOAI_SOUNDS = "/usr/share/games/ufoai/base/0snd.pk3"
OPENARENA_PAK = "/usr/share/games/openarena/baseoa/pak0.pk3"
MINETEST_SOUNDS = "/usr/share/games/minetest/games/minetest_game/mods/default/sounds"
ZERO_AD_PUBLIC = "/usr/share/games/0ad/mods/public/public.zip"
REDECLIPSE_PLAYER = "/usr/share/games/redeclipse/data/sounds/player"


@dataclass(frozen=True)
class Hit:
    sound: str  # source:instrument:layer
    kind: str  # heel or toe
    audio: np.ndarray


@dataclass(frozen=True)
class Family:
    name: str
    what: str
    packages: tuple[str, ...]
    licence: str
    built_by_default: bool = True  # False: only with `make_corpus.py --family NAME` (docs/corpus.md)


FAMILIES = {f.name: f for f in [
    Family("plank", "modal model of a shoe on a plank: 8 boards, heel and toe contacts, 4 soles",
           (), "MIT (this repository)"),
    Family("h2-africa", "hydrogen circAfrique v4: djembe bass/slap/tone, dununba, sangban, kenkeni",
           ("hydrogen-drumkits",), "CC-BY-SA-3.0 (Jim Harney)"),
    Family("h2-hand", "hydrogen Gimme A Hand 1.0: cajon, bongos, claves, wood blocks, snaps",
           ("hydrogen-drumkits",), "GPL-2 (Glen MacArthur)"),
    Family("h2-acoustic-a", "hydrogen BJA_Pacific, ColomboAcousticDrumkit, rumpf_kit, ForzeeStereo: "
           "kicks, floor toms, side stick, rim click", ("hydrogen-drumkits",),
           "CC-BY-SA-3.0-us (BJA_Pacific), GPL-2+ with composition exception (Colombo), "
           "CC-BY-3.0 (rumpf_kit), GPL-2 (ForzeeStereo)"),
    Family("h2-acoustic-b", "hydrogen The Black Pearl 1.0, Millo-Drums, Millo_MultiLayered2/3: "
           "kicks, toms, side stick, rim", ("hydrogen-drumkits",), "GPL-2 (Glen MacArthur; Emiliano Grilli)"),
    Family("h2-electronic", "hydrogen Audiophob, ElectricEmpireKit, HardElectro1, VariBreaks: "
           "kicks, clicks, sticks, congas", ("hydrogen-drumkits",),
           "CC0 (Audiophob), GPL-2+ (Artemiy Pavlov's kits)"),
    Family("avldrums", "AVL Drums Black Pearl and Red Zeppelin kits, six velocity layers "
           "(kick, floor toms, side stick)", ("avldrums.lv2-soundfont", "fluidsynth"), "CC-BY-SA-3.0 (Glen MacArthur)"),
    Family("freepats", "FreePats drums: kicks, low toms; sticks, stick rim, claves, wood blocks, snap, bongos",
           ("freepats",), "GPL-2+ with composition exception"),
    Family("timgm6mb", "TimGM6mb GM drum kits (Standard, Room, Power, Jazz, Brush): kicks, floor toms; "
           "side stick, claves, wood blocks", ("timgm6mb-soundfont", "fluidsynth"), "GPL-2 (Tim Brechbill)"),
    Family("csound", "Csound's GM/GS bank (an EMU8000-era bank) drum kits (Standard, Room, Power, Electronic, "
           "TR-808, Jazz, Brush): kicks, floor toms; side stick, claves, wood blocks",
           ("csound-soundfont", "fluidsynth"), "Public Domain (the bank's copyright field)"),
    Family("footsteps", "recorded footsteps of three games (UFO: Alien Invasion, OpenArena, Minetest) on wood, "
           "tile, stone, linoleum, metal, glass, hard ground and carpet, each heel and toe strike apart",
           ("ufoai-sound", "openarena-data", "minetest-data"),
           "CC-BY-SA-3.0 (UFO:AI's sound credits; Minetest's default sounds), GPL-2+ (OpenArena)"),
    Family("footsteps-b", "recorded footsteps of two more games (0 A.D.: single steps and walking and running "
           "on wood; Red Eclipse: steps on concrete and hard floors, landings), each heel and toe strike apart",
           ("0ad-data", "redeclipse-data"), "CC-BY-SA-3.0 (Wildfire Games; the Red Eclipse Team)",
           built_by_default=False),  # a check of steps never heard: attempt 90
]}

# hydrogen kits of each family, and which instruments (drumkit.xml names) are heels and toes
_H2 = {
    "h2-africa": ["circAfrique v4"],
    "h2-hand": ["Gimme A Hand 1.0"],
    "h2-acoustic-a": ["BJA_Pacific", "ColomboAcousticDrumkit", "rumpf_kit_z01_h2", "ForzeeStereo"],
    "h2-acoustic-b": ["The Black Pearl 1.0", "Millo-Drums_v.1", "Millo_MultiLayered2", "Millo_MultiLayered3"],
    "h2-electronic": ["Audiophob", "ElectricEmpireKit", "HardElectro1", "VariBreaks"],
}
_HEEL = re.compile(r"kick|bass ?drum|bassdrum|floor|tom low|low tom|djembe\d bass|(dununba|sangban)\d head"
                   r"|cajon thump", re.I)
_TOE = re.compile(r"stick|rim ?click|clave|wood ?block|click|djembe\d (slap|tone)|kenkeni\d head|cajon slap"
                  r"|snap|bongo", re.I)
# names that say little (an electronic kit's "Drum 1", "Conga"): a toe only if bright (see `_bright`)
_MAYBE_TOE = re.compile(r"conga|^drum \d|varibreaks drum", re.I)
_NOT = re.compile(r"rimshot|snare|hat|crash|ride|cymbal", re.I)

# fluidsynth-rendered one-shots: (key: instrument) per kind, the velocities played
_AVL_KEYS = {"heel": {36: "kick", 41: "floor tom", 43: "floor tom edge"}, "toe": {37: "side stick"}}
_GM_KEYS = {"heel": {35: "acoustic bass drum", 36: "bass drum 1", 41: "low floor tom", 43: "high floor tom"},
            "toe": {37: "side stick", 75: "claves", 76: "hi wood block", 77: "low wood block"}}
_GM_KITS = {0: "standard", 8: "room", 16: "power", 32: "jazz", 40: "brush"}
_CSOUND_KITS = {**_GM_KITS, 24: "electronic", 25: "tr-808"}
_LAYER_VELOCITIES = (24, 48, 72, 96, 120)

_FREEPATS = {"heel": ["035_Kick_1", "036_Kick_2", "041_Tom_Low_2", "043_Tom_Low_1"],
             "toe": ["031_Sticks", "037_Stick_Rim", "075_Claves", "076_Wood_Block_1_High",
                     "077_Wood_Block_2_Low", "026_Snap", "060_Bongo_High", "061_Bongo_Low"]}


def resample(audio: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    if rate == sample_rate:
        return audio
    from scipy.signal import resample_poly

    g = gcd(int(rate), int(sample_rate))
    return resample_poly(audio, sample_rate // g, int(rate) // g)


def prepare(audio: np.ndarray, rate: int, sample_rate: int) -> np.ndarray | None:
    """Mono, resampled, cut 2 ms before the first 1 % of peak, faded by MAX_SECONDS, peak 1."""
    audio = np.asarray(audio, np.float64)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    audio = resample(audio - np.median(audio[:64]) if len(audio) > 64 else audio, rate, sample_rate)
    level = np.abs(audio)
    if len(audio) < 64 or level.max() < 1e-4:
        return None
    first = int(np.argmax(level >= 0.01 * level.max()))
    audio = audio[max(0, first - int(0.002 * sample_rate)):][: int(MAX_SECONDS * sample_rate)]
    fade = int(0.03 * sample_rate)
    if len(audio) > 2 * fade:
        audio[-fade:] *= 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade))
    return (audio / np.abs(audio).max()).astype(np.float32)


def band_noise(rng, n: int, sample_rate: int, low: float, high: float) -> np.ndarray:
    """White noise limited to [low, high] Hz (spectrum masked), peak 1."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spectrum[(freqs < low) | (freqs > high)] = 0.0
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.abs(noise).max() + 1e-12)


def _bright(hit: np.ndarray, sample_rate: int) -> bool:
    """A dry click rather than a drum: most of the first 50 ms's spectrum above 1.5 kHz."""
    head = hit[: int(0.05 * sample_rate)].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(head))
    freqs = np.fft.rfftfreq(len(head), 1.0 / sample_rate)
    return float((spectrum * freqs).sum() / (spectrum.sum() + 1e-12)) >= 1500.0


def _read(path: str):
    import soundfile

    reserved.check(path)
    return soundfile.read(path, dtype="float64", always_2d=False)


def _h2_instruments(kit: str):
    """(instrument name, [sample files]) from a hydrogen kit's drumkit.xml."""
    folder = os.path.join(HYDROGEN_KITS, kit)
    root = ET.parse(reserved.check(os.path.join(folder, "drumkit.xml"))).getroot()
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    for inst in root.iter(ns + "instrument"):
        name = (inst.findtext(ns + "name") or "").strip()
        files = [e.text for e in inst.iter(ns + "filename") if e.text]
        yield name, [os.path.join(folder, f) for f in files]


def hydrogen_hits(family: str, sample_rate: int) -> list[Hit]:
    out = []
    for kit in _H2[family]:
        for name, files in _h2_instruments(kit):
            if _NOT.search(name):
                continue
            kind = "heel" if _HEEL.search(name) else "toe" if _TOE.search(name) else None
            maybe = kind is None and _MAYBE_TOE.search(name)
            if kind is None and not maybe:
                continue
            for layer, path in enumerate(files):
                if not os.path.exists(path):
                    continue
                audio, rate = _read(path)
                hit = prepare(audio, rate, sample_rate)
                if hit is not None and (not maybe or _bright(hit, sample_rate)):
                    out.append(Hit(f"{kit}:{name}:{layer}", kind or "toe", hit))
    return out


def _gus_patch(path: str):
    """The first wave of a Gravis Ultrasound patch (.pat, as FreePats ships): float, rate."""
    reserved.check(path)
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"GF1PATCH"):
        raise ValueError(f"{path}: not a GUS patch")
    at = 129 + 63 + 47  # file, instrument and layer headers
    size, = struct.unpack_from("<I", data, at + 8)
    rate, = struct.unpack_from("<H", data, at + 20)
    modes = data[at + 55]
    raw = data[at + 96 : at + 96 + size]
    if modes & 1:
        audio = np.frombuffer(raw[: len(raw) // 2 * 2], "<u2" if modes & 2 else "<i2").astype(np.float64)
        audio = audio - 32768 if modes & 2 else audio
    else:
        audio = np.frombuffer(raw, "u1" if modes & 2 else "i1").astype(np.float64)
        audio = audio - 128 if modes & 2 else audio
    return audio, rate


def freepats_hits(sample_rate: int) -> list[Hit]:
    out = []
    for kind, names in _FREEPATS.items():
        for name in names:
            path = os.path.join(FREEPATS, name + ".pat")
            audio, rate = _gus_patch(path)
            hit = prepare(audio, rate, sample_rate)
            if hit is None:
                continue
            label = name.split("_", 1)[1].replace("_", " ").lower()
            out.append(Hit(f"freepats:{label}:0", kind, hit))
            # the same patch played a little off its root, as a sampler does for nearby keys
            for cents in (-300, 300):
                shifted = prepare(audio, int(round(rate * 2 ** (cents / 1200))), sample_rate)
                if shifted is not None:
                    out.append(Hit(f"freepats:{label}:{cents:+d}c", kind, shifted))
    return out


# recorded footsteps on hard floors, by game: (game, archive or folder, member pattern, names,
# the package to read it unpacked from rather than install: OpenArena's would pull 300 MB of maps in);
# soft ground, snow, water, gravel crunch and many-strike rattles left out (no single strike)
_FOOTSTEPS = [
    ("ufoai", UFOAI_SOUNDS, "sound/footsteps/{}.ogg",
     ("wood1", "wood2", "wood3", "wood4", "tile1", "tile2", "tile3", "tile4", "stone1", "stone2", "stone3",
      "stone4", "linoleum", "metal1", "metal3", "hitground2", "hitground3", "hitground4", "carpet2", "carpet3",
      "carpet4"), None),
    ("openarena", OPENARENA_PAK, "sound/player/footsteps/{}.wav",
     ("boot1", "boot2", "boot3", "boot4", "step1", "step2", "step3", "step4", "mech1", "mech2", "mech3",
      "mech4", "clank2"), "openarena-data"),
    ("minetest", MINETEST_SOUNDS, "default_{}.ogg",
     ("wood_footstep.1", "wood_footstep.2", "hard_footstep.1", "hard_footstep.2", "hard_footstep.3",
      "metal_footstep.1", "metal_footstep.2", "metal_footstep.3", "glass_footstep", "place_node.1",
      "place_node.2", "place_node.3", "place_node_hard.1", "place_node_hard.2", "dug_node.1", "dug_node.2"), None),
]


# the second family of game footsteps, read unpacked from their packages (1.4 GB and 860 MB of
# game: installed, they would stay); 0 A.D.'s rock, gravel and dirt steps left out (crunch)
_FOOTSTEPS_B = [
    ("0ad", ZERO_AD_PUBLIC, "audio/actor/{}.ogg",
     ("singlesteps/fs_wood1", "singlesteps/fs_wood2", "singlesteps/fs_wood3", "singlesteps/fs_wood4",
      "human/movement/Footsteps/Footstep_Wood_Walking", "human/movement/Footsteps/Footstep_Wood_Running"),
     "0ad-data"),
    ("redeclipse", REDECLIPSE_PLAYER, "{}.ogg",
     ("footstep", "footstep2", "footstep3", "footstep4", "footstep5", "concstep", "concstep2", "concstep3",
      "concstep4", "concstep5", "land", "land2", "land3"), "redeclipse-data"),
]


def strike_onsets(audio: np.ndarray, rate: int) -> list[int]:
    """Sample indices where a step's strikes begin: 1 ms peaks rising 10 dB over the 5 ms before,
    to within 15 dB of the recording's peak, 25 ms apart at least (a heel, then its toe)."""
    hop = max(1, int(0.001 * rate))
    n = len(audio) // hop
    level = 20 * np.log10(np.abs(audio[: n * hop]).reshape(n, hop).max(axis=1) + 1e-9)
    onsets: list[int] = []
    for i in range(1, n):
        before = level[max(0, i - 6) : i - 1] if i > 1 else level[:1]
        if level[i] >= level.max() - 15 and level[i] - before.min() >= 10 and (not onsets or i - onsets[-1] >= 25):
            onsets.append(i)
    return [i * hop for i in onsets]


def _recordings(source: str, member: str, names, unpack_from: str | None = None):
    """(name, mono float64, rate) of each recording, from a game's .pk3 or .zip or a folder; from
    the package `unpack_from` unpacked (`sounds.unpacked_all`) rather than installed."""
    import io
    import zipfile

    import soundfile

    def mono(data):
        audio, rate = soundfile.read(data, dtype="float64")
        return (audio.mean(axis=1) if audio.ndim == 2 else audio), rate

    archive = source.endswith((".pk3", ".zip"))
    if archive and not unpack_from:
        with zipfile.ZipFile(reserved.check(source)) as pack:
            for name in names:
                yield (name, *mono(io.BytesIO(pack.read(member.format(name)))))
        return
    paths = [os.path.join(source, member.format(name)) for name in names]
    if unpack_from:
        from corpus import sounds

        paths = (sounds.unpacked_members(unpack_from, source, [member.format(name) for name in names]) if archive
                 else sounds.unpacked_all(unpack_from, paths))
    for name, path in zip(names, paths):
        yield (name, *mono(reserved.check(path)))


def footstep_hits(sample_rate: int, family: str = "footsteps") -> list[Hit]:
    """Each strike of each recorded step on its own (cut 3 ms before the next), heel if dull and
    toe if bright (`_bright`), and each played 300 cents off, as a bigger or smaller shoe."""
    out = []
    for game, source, member, names, unpack_from in (_FOOTSTEPS_B if family == "footsteps-b" else _FOOTSTEPS):
        for name, audio, rate in _recordings(source, member, names, unpack_from):
            onsets = strike_onsets(audio, rate)
            for k, onset in enumerate(onsets):
                end = onsets[k + 1] - int(0.003 * rate) if k + 1 < len(onsets) else len(audio)
                strike = audio[max(0, onset - int(0.002 * rate)) : end].copy()
                if k + 1 < len(onsets):  # cut before the next strike: fade, not a step to zero
                    fade = min(len(strike) // 4, int(0.003 * rate))
                    strike[len(strike) - fade :] *= np.linspace(1.0, 0.0, fade)
                for cents in (0, -300, 300):
                    hit = prepare(strike, int(round(rate * 2 ** (cents / 1200))), sample_rate)
                    if hit is not None:
                        kind = "toe" if _bright(hit, sample_rate) else "heel"
                        out.append(Hit(f"{family}:{game} {name} strike {k + 1}:{cents:+d}c", kind, hit))
    return out


def soundfont_hits(name: str, path: str, keys: dict, programs: dict, channel: int,
                   sample_rate: int) -> list[Hit]:
    """One-shots of `keys` at each layer velocity, rendered by fluidsynth from `path`."""
    from corpus import midi_file, sounds

    plan = [(program, kind, key, velocity) for program in programs for kind in keys for key in keys[kind]
            for velocity in _LAYER_VELOCITIES]
    spacing = 1.2
    events = []
    for i, (program, kind, key, velocity) in enumerate(plan):
        if i == 0 or program != plan[i - 1][0]:
            events.append(midi_file.program(0.3 + i * spacing - 0.2, channel, program))
        events += midi_file.note(0.3 + i * spacing, 0.15, channel, key, velocity)
    audio = sounds.render_file(path, events, 0.3 + len(plan) * spacing + 0.5, sample_rate)
    out = []
    for i, (program, kind, key, velocity) in enumerate(plan):
        start = int((0.3 + i * spacing - 0.01) * sample_rate)
        hit = prepare(audio[start : start + int(1.0 * sample_rate)], sample_rate, sample_rate)
        if hit is not None:
            out.append(Hit(f"{name}:{programs[program]} {keys[kind][key]}:v{velocity}", kind, hit))
    return out


# --- the shoe on a plank: modal synthesis -------------------------------------------------------

_BOARDS = [  # (name, length m, width m, thickness mm, wave-speed scale, loss factor)
    ("pine stage", 1.2, 0.6, 19, 1.00, 0.020), ("oak plank", 0.9, 0.25, 25, 1.25, 0.012),
    ("plywood", 1.0, 0.8, 12, 0.90, 0.030), ("spruce board", 0.6, 0.3, 18, 1.10, 0.015),
    ("maple floor", 1.5, 0.9, 22, 1.20, 0.025), ("birch ply", 0.8, 0.6, 15, 1.05, 0.022),
    ("hollow box", 0.7, 0.45, 12, 0.95, 0.010), ("thick hardwood", 1.1, 0.4, 32, 1.35, 0.018),
]
_SOLES = [  # (name, heel contact s, toe contact s, brightness)
    ("leather", 0.0025, 0.0007, 1.0), ("hard heel tap", 0.0015, 0.0004, 1.4),
    ("rubber", 0.006, 0.0018, 0.5), ("clog", 0.002, 0.0006, 1.2),
]


def plank_hit(rng, kind: str, board, sole, sample_rate: int) -> np.ndarray:
    """A heel (broad contact, low modes, a floor thump) or a toe (short contact, bright) on a plank."""
    _, length, width, thickness, speed, loss = board
    _, heel_contact, toe_contact, bright = sole
    n = int((0.35 if kind == "heel" else 0.15) * sample_rate)
    t = np.arange(n) / sample_rate
    # plate modes f_mn ~ c * h * ((m/L)^2 + (n/W)^2), a random strike point weights them
    c = 0.45 * 5000 * speed * thickness / 1000
    mm, nn = np.meshgrid(np.arange(1, 9), np.arange(1, 6))
    freqs = (c * np.pi / 2 * ((mm / length) ** 2 + (nn / width) ** 2)).ravel() / 2
    freqs *= rng.uniform(0.97, 1.03, freqs.size)
    keep = (freqs > 40) & (freqs < 0.45 * sample_rate)
    freqs, mm, nn = freqs[keep], mm.ravel()[keep], nn.ravel()[keep]
    x, y = rng.uniform(0.15, 0.85, 2)
    weight = np.abs(np.sin(np.pi * mm * x) * np.sin(np.pi * nn * y)) + 0.05
    contact = (heel_contact if kind == "heel" else toe_contact) * rng.uniform(0.8, 1.25)
    # a half-sine force of `contact` seconds: its spectrum falls off above ~1/contact
    spectrum = np.abs(np.sinc(2 * freqs * contact) / (1 - (2 * freqs * contact) ** 2 + 1e-3)) ** 0.5
    decay = 1.0 / (np.pi * freqs * loss * rng.uniform(0.8, 1.3))
    if kind == "heel":
        amp = weight * spectrum * (freqs / 200.0) ** (0.25 * bright - 0.5)
    else:  # the toe's edge strikes the board's upper modes; the shoe damps it quickly
        amp = weight * spectrum * (freqs / 200.0) ** (0.5 * bright)
        decay = np.minimum(decay, rng.uniform(0.008, 0.025))
    phase = rng.uniform(0, 0.3, freqs.size)
    body = (amp[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phase[:, None])
            * np.exp(-t[None, :] / decay[:, None])).sum(0)
    # the contact itself: a knock for a heel; for a toe a bright clack of a few ms
    m = max(8, int(contact * sample_rate * 3))
    click = np.zeros(n)
    if kind == "heel":
        click[:m] = rng.standard_normal(m) * np.hanning(m)
    else:
        k = int(0.03 * sample_rate)
        low = rng.uniform(1200, 2500) * min(1.5, bright)
        clack = band_noise(rng, k, sample_rate, low, min(0.45 * sample_rate, low * rng.uniform(3, 6)))
        click[:k] = clack * np.exp(-np.arange(k) / (rng.uniform(0.0015, 0.004) * sample_rate))
    hit = body / (np.abs(body).max() + 1e-12) * (1.0 if kind == "heel" else rng.uniform(0.4, 0.8)) \
        + click / (np.abs(click).max() + 1e-12) * (rng.uniform(0.15, 0.35) if kind == "heel" else 1.0)
    if kind == "heel":  # the floor and the air under the board: a low damped thump
        f0 = rng.uniform(55, 120)
        hit += rng.uniform(0.6, 1.2) * np.sin(2 * np.pi * f0 * t) * np.exp(-t / rng.uniform(0.02, 0.05))
    rise = int(contact * sample_rate) + 1
    hit[:rise] *= np.sin(np.linspace(0, np.pi / 2, rise))
    pad = np.zeros(int(0.002 * sample_rate))
    out = np.concatenate([pad, hit])
    return (out / np.abs(out).max()).astype(np.float32)


def plank_hits(sample_rate: int, per_pair: int = 3) -> list[Hit]:
    out = []
    for b, board in enumerate(_BOARDS):
        for s, sole in enumerate(_SOLES):
            for kind in ("heel", "toe"):
                for i in range(per_pair):
                    rng = np.random.default_rng([77, b, s, kind == "heel", i])
                    out.append(Hit(f"plank:{board[0]} {sole[0]} {kind}:{i}", kind,
                                   plank_hit(rng, kind, board, sole, sample_rate)))
    return out


def synthetic_hits(sample_rate: int) -> list[Hit]:
    """The app's own synthesized heel and toe (tests; no package needed)."""
    from dessins_de_planche.listen.synth import heel_sound, toe_sound

    return [Hit(f"synthetic:{kind}:{i}", kind, (heel_sound if kind == "heel" else toe_sound)(
        np.random.default_rng([11, i]), sample_rate)) for kind in ("heel", "toe") for i in range(4)]


def hits(family: str, sample_rate: int) -> list[Hit]:
    if family in _H2:
        return hydrogen_hits(family, sample_rate)
    if family == "freepats":
        return freepats_hits(sample_rate)
    if family == "avldrums":
        return [h for path in AVLDRUMS for h in soundfont_hits(
            "avldrums:" + os.path.basename(path).split("_4_")[0], path, _AVL_KEYS, {0: "kit"}, 0, sample_rate)]
    if family == "timgm6mb":
        return soundfont_hits("timgm6mb", TIMGM6MB, _GM_KEYS, _GM_KITS, 9, sample_rate)
    if family == "csound":
        return soundfont_hits("csound", CSOUND, _GM_KEYS, _CSOUND_KITS, 9, sample_rate)
    if family in ("footsteps", "footsteps-b"):
        return footstep_hits(sample_rate, family)
    if family == "plank":
        return plank_hits(sample_rate)
    if family == "synthetic":
        return synthetic_hits(sample_rate)
    raise ValueError(f"unknown tap family {family!r}: one of {', '.join(FAMILIES)} or synthetic")


def default_families() -> list[str]:
    """The families of a full build: those the shipped weights were trained and scored on."""
    return [name for name, family in FAMILIES.items() if family.built_by_default]


# --- audience clapping (a hard negative) ----------------------------------------------------------

_CLAP_KITS = {"Gimme A Hand 1.0": "Hand Clap", "The Black Pearl 1.0": "Hand Clap",
              "Millo_MultiLayered2": "Hand Clap", "ElectricEmpireKit": "Clap", "HardElectro1": "Clap"}


def clap_samples(sample_rate: int, synthetic_only: bool = False) -> list[np.ndarray]:
    """Hand claps: recorded ones from hydrogen-drumkits (unless `synthetic_only`), and synthesized."""
    out = []
    if not synthetic_only:
        for kit, wanted in _CLAP_KITS.items():
            for name, files in _h2_instruments(kit):
                if name.lower().startswith(wanted.lower()):
                    for path in files:
                        if os.path.exists(path):
                            clap = prepare(*_read(path), sample_rate)
                            if clap is not None:
                                out.append(clap)
    for i in range(12):  # a clap: a few ms of band noise with two or three quick reflections
        rng = np.random.default_rng([91, i])
        n = int(0.12 * sample_rate)
        t = np.arange(n) / sample_rate
        noise = band_noise(rng, n, sample_rate, rng.uniform(600, 1200), rng.uniform(3000, 6000))
        env = np.zeros(n)
        for k in range(int(rng.integers(1, 4))):
            at = int(k * rng.uniform(0.004, 0.009) * sample_rate)
            env[at:] += np.exp(-(t[: n - at]) / rng.uniform(0.006, 0.02)) * rng.uniform(0.5, 1.0)
        out.append((noise * env / np.abs(noise * env).max()).astype(np.float32))
    return out
