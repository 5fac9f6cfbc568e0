"""The corpus generator: deterministic clips with truth that a detector can be trained and scored on.

Runs on the synthetic source (the app's synthesizer; no Debian package): the package path is the
same code with other tap pools and soundfonts. One small simulated room keeps it quick."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402
from corpus import patterns, reserved, sampler, sounds, splits, taps  # noqa: E402

import pyroomacoustics  # noqa: E402,F401  (the corpus extra: scripts/setup.sh test installs it, never skipped)
import scipy  # noqa: E402,F401

TAP_FIELDS = {"time", "kind", "velocity", "sound", "family", "downbeat", "rel_db", "flam"}
CLIP_FIELDS = {"name", "family", "music", "music_family", "music_only", "negative", "bpm", "pattern",
               "pattern_name", "metre", "level_db", "ratio_db", "room", "noise_dbfs", "hum_hz", "dc",
               "eq_tilt_db"}


def build(folder, cache):
    return make_corpus.make(folder, "synthetic", taps_per_family=8, music_clips=2, seconds=6.0,
                            sample_rate=48_000, cache=cache, rt60s=(0.3,), log=lambda *_: None)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("corpus")
    index = build(base / "a", base / "cache")
    return base, index


def test_the_same_arguments_give_the_same_clips(corpus, tmp_path):
    """... on another machine too: its rooms simulated afresh (no cache), ray tracing included."""
    base, index = corpus
    again = build(tmp_path / "b", tmp_path / "cache")
    assert [c["name"] for c in again] == [c["name"] for c in index]
    for clip in index:
        a, rate = soundfile.read(base / "a" / clip["clip"], dtype="float32")
        b, _ = soundfile.read(tmp_path / "b" / clip["clip"], dtype="float32")
        info = soundfile.info(base / "a" / clip["clip"])
        assert rate == 48_000 and info.channels == 1 and info.subtype == "PCM_24"
        assert np.array_equal(a, b)
        assert (base / "a" / clip["clip"]).with_suffix(".json").read_text() == \
            (tmp_path / "b" / clip["clip"]).with_suffix(".json").read_text()


def test_a_second_batch_numbered_on_repeats_no_clip_and_matches_a_longer_build(corpus, tmp_path):
    """`make_corpus.py --first 8`: more clips of each family beside a corpus of 8 a family, none
    of them one it has, each the clip a build of more clips a family would have made."""
    base, index = corpus
    more = make_corpus.make(tmp_path / "more", "synthetic", taps_per_family=2, music_clips=0, seconds=6.0,
                            cache=base / "cache", rt60s=(0.3,), log=lambda *_: None, first_tap_clip=8)
    assert [c["name"].split("-")[1] for c in more] == ["08", "09"]
    assert not {c["name"] for c in more} & {c["name"] for c in index}
    longer = make_corpus.make(tmp_path / "longer", "synthetic", taps_per_family=9, music_clips=0, seconds=6.0,
                              cache=base / "cache", rt60s=(0.3,), log=lambda *_: None)
    ninth = more[0]["clip"]
    assert longer[8]["clip"] == ninth
    a, _ = soundfile.read(tmp_path / "more" / ninth, dtype="float32")
    b, _ = soundfile.read(tmp_path / "longer" / ninth, dtype="float32")
    first, _ = soundfile.read(base / "a" / index[0]["clip"], dtype="float32")
    assert np.array_equal(a, b) and not np.array_equal(a[: len(first)], first[: len(a)])


def test_every_clip_carries_its_family_conditions_and_truth(corpus):
    base, index = corpus
    listed = json.loads((base / "a" / "index.json").read_text())["clips"]
    assert listed == index and len(index) == 10 and sum(c["music_only"] for c in index) == 2
    rigs = set()
    for clip in index:
        assert CLIP_FIELDS <= set(clip)
        truth = json.loads((base / "a" / f"{clip['name']}.json").read_text())
        assert CLIP_FIELDS <= set(truth) and set(truth["room"]) == {"kind", "rt60", "distance"}
        rigs.add(truth["room"]["kind"])
        if clip["music_only"]:
            assert truth["taps"] == [] and clip["family"] == clip["music_family"] == "music-synthetic"
            continue
        assert clip["family"] == "synthetic"
        assert all(set(tap) == TAP_FIELDS and tap["family"] == "synthetic" for tap in truth["taps"])
        times = np.array([t["time"] for t in truth["taps"]])
        assert len(times) > 10 and np.all(np.diff(times) >= 0.02) and times[-1] < truth["seconds"]
        assert {t["kind"] for t in truth["taps"]} == {"heel", "toe"}
        assert 100 <= truth["bpm"] <= 140 and truth["pattern_name"]
        assert max(t["rel_db"] for t in truth["taps"]) == 0.0 and min(t["rel_db"] for t in truth["taps"]) < -3
    assert rigs == {"dry", "room", "contact"}


def test_each_truth_time_is_where_its_hit_starts_in_the_dry_track():
    """Placed hits: each hit, put back with its onset (5 % of its peak) on its truth time and at
    its velocity, rebuilds the dry track exactly; nothing else is in it."""
    from dessins_de_planche.listen.synth import true_onset

    pool = taps.hits("synthetic", 48_000)
    by_sound = {h.sound: h.audio for h in pool}
    plan = make_corpus.plan_tap_clip("synthetic", 3, 8.0, [])
    n = int(plan["seconds"] * 48_000)
    track, truth = make_corpus.place_taps(np.random.default_rng(1), plan, pool, 48_000, n)
    rebuilt = np.zeros(n + 48_000)
    for tap in truth:
        hit = by_sound[tap["sound"]]
        start = int(round(tap["time"] * 48_000)) - true_onset(hit)
        gain = tap["velocity"] * (10 ** (plan["toe_db"] / 20) if tap["kind"] == "toe" else 1.0)
        rebuilt[start : start + len(hit)] += hit * gain
    assert np.max(np.abs(rebuilt[:n] - track)) < 2e-3 * np.abs(track).max()


def test_rel_db_is_relative_to_the_loudest_tap_within_a_quarter_second():
    truth = [{"time": t} for t in (0.0, 0.1, 0.5, 0.52, 1.0)]
    make_corpus.set_rel_db(truth, [1.0, 0.5, 0.25, 0.5, 0.1])
    assert [t["rel_db"] for t in truth] == [0.0, -6.02, -6.02, 0.0, 0.0]


def test_flams_and_doubles_are_25_to_60_ms_apart_and_the_second_hit_is_marked():
    plan = patterns.tap_plan(np.random.default_rng(2), "en deux", 110, 0.5, 10.0, 0.0, 0.0, flam_rate=1.0,
                             rest_rate=0.0, flam_gap=(0.025, 0.060), with_flams=True)
    seconds = [i for i, tap in enumerate(plan) if tap[4]]
    assert len(seconds) == len(plan) // 2
    gaps = np.array([plan[i][0] - plan[i - 1][0] for i in seconds])
    assert np.all((gaps >= 0.025) & (gaps <= 0.060))
    assert not any(plan[i - 1][4] for i in seconds)


def test_leave_one_family_out_holds_out_taps_and_music(corpus):
    _, index = corpus
    both = index + [dict(c, name=c["name"] + "-x", family="other", music_family="music-other")
                    for c in index if not c["music_only"]]
    assert splits.families(both) == ["other", "synthetic", "music-synthetic"]
    train, test = splits.leave_one_out(both, "synthetic")
    assert test and all(c["family"] == "synthetic" for c in test)
    assert not {c["name"] for c in train} & {c["name"] for c in test}
    assert all(c["family"] != "synthetic" for c in train)
    train, test = splits.leave_one_out(both, "music-synthetic")
    assert all(c["music_only"] for c in test)
    assert all(c["music_family"] != "music-synthetic" for c in train) and train
    with pytest.raises(ValueError):
        splits.leave_one_out(both, "nope")


def test_leaving_a_tap_family_out_also_holds_out_music_from_its_package(corpus):
    _, index = corpus
    drums = [dict(c, name=c["name"] + "-d", family="freepats") for c in index if not c["music_only"]]
    tunes = [dict(c, name=c["name"] + "-m", family="music-freepats", music_family="music-freepats")
             for c in index if c["music_only"]]
    over = [dict(c, name=c["name"] + "-o", music_family="music-freepats") for c in index if not c["music_only"]]
    train, test = splits.leave_one_out(index + drums + tunes + over, "freepats")
    assert {c["name"] for c in test} == {c["name"] for c in drums}
    assert train and all(c.get("music_family") != "music-freepats" for c in train)
    train, _ = splits.leave_one_out(index + drums + tunes + over, "synthetic")
    assert {c["name"] for c in tunes} <= {c["name"] for c in train}


@pytest.mark.parametrize("path", [
    "/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/FluidR3_GS.sf2",
    "/usr/share/hydrogen/data/drumkits/GMRockKit/Kick-Softest.wav",
    "/usr/share/hydrogen/data/drumkits/TR808EmulationKit/808_Kick-Long.flac",
    "/usr/share/hydrogen/data/demo_songs/x.h2song", "/usr/share/sonic-pi/samples/drum_bass_hard.flac",
    "/usr/share/lmms/samples/drums/kick01.ogg",
])
def test_the_reserved_packages_are_never_read(path):
    assert reserved.reason(path)
    with pytest.raises(reserved.ReservedSource):
        reserved.check(path)


def strums_kit_take():
    """A take of the guitar-strum kit, which shares hydrogen's kit folder with reserved kits."""
    from corpus import strums

    return os.path.join(strums.KIT, "Amajor_DOWN_00.flac")


def test_a_link_to_a_reserved_soundfont_is_refused_and_allowed_sources_pass(tmp_path):
    link = tmp_path / "default-GM.sf2"
    os.symlink("/usr/share/sounds/sf2/FluidR3_GM.sf2", link)
    with pytest.raises(reserved.ReservedSource):
        reserved.check(link)
    with pytest.raises(reserved.ReservedSource):
        sounds.render_file(str(link), [], 1.0, 48_000)
    with pytest.raises(reserved.ReservedSource):
        sounds.ensure_installed(["fluid-soundfont-gm"])
    for allowed in ("/usr/share/hydrogen/data/drumkits/circAfrique v4/Djembe1 Bass.flac",
                    "/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/midi/freepats/Drum_000/075_Claves.pat",
                    sounds.SOUNDFONTS["musescore"][0], taps.CSOUND, taps.UFOAI_SOUNDS, taps.OPENARENA_PAK,
                    taps.MINETEST_SOUNDS + "/default_wood_footstep.1.ogg", taps.ZERO_AD_PUBLIC,
                    taps.REDECLIPSE_PLAYER + "/footstep.ogg", strums_kit_take(), *taps.AVLDRUMS):
        assert reserved.reason(allowed) is None, allowed


def test_a_recorded_step_is_cut_into_its_heel_and_toe_strikes():
    """A step recorded as one file (a heel, then its toe 40 ms later, over a faint room): two
    strikes, each found within a millisecond, and no strike in the heel's ring-down."""
    rate = 44_100
    rng = np.random.default_rng(5)
    t = np.arange(int(0.3 * rate)) / rate
    step = 1e-3 * rng.standard_normal(len(t))
    for at, size, ring in ((0.010, 1.0, 0.012), (0.050, 0.5, 0.01)):
        n = int(at * rate)
        step[n:] += size * rng.standard_normal(len(t) - n) * np.exp(-(t[: len(t) - n]) / ring)
    found = taps.strike_onsets(step, rate)
    assert len(found) == 2
    assert abs(found[0] / rate - 0.010) <= 0.0015 and abs(found[1] / rate - 0.050) <= 0.0015
    assert taps.strike_onsets(step[: int(0.045 * rate)], rate) == found[:1]


def test_a_strummed_backing_strums_down_on_each_boom_and_up_on_each_chick(monkeypatch):
    """Recorded strums stand in for the boom-chick: one take starts at each backing onset, in the
    chord the chick plays (a boom's bass note alone names no chord), and rings until 20 ms past
    the next one. Stand-in takes (a long ring, tagged by chord and stroke) keep it package-free."""
    from corpus import strums

    rate = 8_000
    library = {}
    for root in range(12):
        for quality in ("major", "minor"):
            for stroke in ("down", "up", "plain"):
                library[(root, quality, stroke)] = [f"{root}-{quality}-{stroke}"]
    monkeypatch.setattr(strums, "takes", lambda: library)
    heard = []

    def take(path, sample_rate):
        heard.append(path)
        return np.ones(2 * sample_rate, np.float32)

    monkeypatch.setattr(strums, "_take", take)
    events = patterns.tune_events(np.random.default_rng(3), "reel", 120.0, 4.0, None, sounds.STEEL_GUITAR)
    audio = strums.backing(np.random.default_rng(4), events, 4.0, rate)
    onsets = sorted({round(e[0], 4) for e in events if e[1] & 0xF0 == 0x90})
    assert len(heard) == len(onsets) == 16  # a boom and a chick a beat, 8 beats
    booms, chicks = heard[0::2], heard[1::2]
    assert all(h.split("-")[2] in ("down", "plain") for h in booms)
    assert all(h.endswith("-up") or h.endswith("-down") for h in chicks)
    assert [b.rsplit("-", 1)[0] for b in booms] == [c.rsplit("-", 1)[0] for c in chicks]  # the chick's chord
    assert booms[0].startswith("2-major")  # the tune is in D: D major first
    ringing = np.abs(audio) > 1e-6
    first_gap = int(round(onsets[1] * rate)) + int(0.02 * rate)
    assert ringing[int(onsets[0] * rate) : first_gap - int(0.01 * rate)].all()  # rings until the next


def test_a_picked_backing_plucks_one_string_a_step_with_the_bass_on_each_beat():
    """`--plucked`'s picking: single plucks as steady as feet, the hardest music for a tap detector
    to leave alone (attempt 97)."""
    from corpus import midi_file

    bpm, seconds = 120.0, 4.0
    picked = sorted(midi_file.notes(patterns.tune_events(np.random.default_rng(3), "reel", bpm, seconds, None,
                                                         sounds.BANJO, picked=True)))
    plain = list(midi_file.notes(patterns.tune_events(np.random.default_rng(3), "reel", bpm, seconds, None,
                                                      sounds.BANJO)))
    step = 60.0 / bpm / 4
    starts = np.array([n[0] for n in picked])
    assert len(picked) == 32 and np.allclose(np.diff(starts), step)  # one pluck a step, no chord
    assert all(n[2] == sounds.BANJO for n in picked)
    keys = np.array([n[3] for n in picked]).reshape(-1, 4)
    assert (keys[:, 0] < keys[:, 1:].min(axis=1)).all()  # the bass on the beat, under the chord's notes
    assert all(end - begin > step for begin, end, *_ in picked)  # each string rings past the next pluck
    assert len({round(n[0], 4) for n in plain}) == 16  # the boom-chick: a boom and a chick a beat


def test_a_plucked_build_holds_plucked_arrangements_none_a_default_build_has(corpus, tmp_path):
    base, index = corpus
    plucked = make_corpus.make(tmp_path / "plucked", "synthetic", taps_per_family=0, music_clips=3, seconds=6.0,
                               cache=base / "cache", rt60s=(0.3,), log=lambda *_: None, plucked=True)
    arrangements = [what for what, *_ in make_corpus.PLUCKED_ONLY]
    assert [c["music"] for c in plucked] == [f"synthetic: {what}" for what in arrangements[:3]]
    assert all(c["music_only"] and c["family"] == "music-synthetic" for c in plucked)
    assert not {c["name"] for c in plucked} & {c["name"] for c in index}
    default = next(c for c in index if c["music_only"])
    a, _ = soundfile.read(tmp_path / "plucked" / plucked[0]["clip"], dtype="float32")
    b, _ = soundfile.read(base / "a" / default["clip"], dtype="float32")
    assert np.abs(a).max() > 0.01 and not np.array_equal(a[: len(b)], b[: len(a)])


def _steps_package(tmp_path, monkeypatch, files: dict) -> Path:
    """A package `steps-data` holding `files` ({path: bytes}), handed over by a stand-in
    `apt-get download` that logs its calls; returns the log."""
    import subprocess

    root = tmp_path / "package"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text("Package: steps-data\nVersion: 1\nArchitecture: all\n"
                                             "Maintainer: Nobody <nobody@example.org>\nDescription: steps\n")
    for path, data in files.items():
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / path.lstrip("/")).write_bytes(data)
    deb = tmp_path / "steps-data_1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)], check=True, capture_output=True)
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "apt-get"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\ncp "{deb}" .\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return calls


def test_a_package_file_is_unpacked_from_its_deb_without_installing_it(tmp_path, monkeypatch):
    """A package whose dependencies would install far more than the one file read (OpenArena's
    footsteps): `apt-get download` (here a stand-in that logs its call and hands over a .deb
    built by dpkg-deb) fetches it once into the user's cache, and the file comes out of it."""
    inside = "/usr/share/games/steps/pak0.pk3"
    calls = _steps_package(tmp_path, monkeypatch, {inside: b"heel, then toe"})

    (got,) = sounds.unpacked_all("steps-data", [inside])
    assert got.startswith(str(tmp_path / "cache")) and Path(got).read_bytes() == b"heel, then toe"
    assert sounds.unpacked_all("steps-data", [inside]) == [got]
    assert calls.read_text().splitlines() == ["download steps-data"]  # fetched once, never installed
    with pytest.raises(reserved.ReservedSource):
        sounds.unpacked_all("hydrogen-data", ["/usr/share/hydrogen/data/drumkits/GMRockKit/drumkit.xml"])


def test_a_game_s_steps_are_read_from_the_archive_inside_its_deb_in_one_pass(tmp_path, monkeypatch):
    """0 A.D.'s steps lie in a zip inside a 1.4 GB package, Red Eclipse's as files in an 860 MB
    one: every file wanted comes out of one download, streamed; neither the .deb nor the zip is
    kept, only the steps; a file the package lacks is named."""
    import io
    import zipfile

    rate = 44_100
    step = np.zeros(int(0.2 * rate))
    step[int(0.01 * rate) :] = 0.8 * np.exp(-np.arange(len(step) - int(0.01 * rate)) / (0.01 * rate))
    ogg = io.BytesIO()
    soundfile.write(ogg, step, rate, format="OGG")
    archive = "/usr/share/games/steps/public.zip"
    folder = "/usr/share/games/steps/player"
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as pack:
        pack.writestr("audio/wood1.ogg", ogg.getvalue())
    calls = _steps_package(tmp_path, monkeypatch, {archive: zipped.getvalue(), folder + "/stepl.ogg": ogg.getvalue(),
                                                   folder + "/stepr.ogg": ogg.getvalue()})

    steps = list(taps._recordings(folder, "{}.ogg", ("stepl", "stepr"), "steps-data"))
    assert [name for name, _, _ in steps] == ["stepl", "stepr"]
    assert all(got_rate == rate and np.abs(audio).max() > 0.5 for _, audio, got_rate in steps)
    assert calls.read_text().splitlines() == ["download steps-data"]  # both files from one download
    assert not list(sounds.debs_cache().rglob("*.deb"))  # not kept: a game's package is large
    (name, audio, got_rate), = taps._recordings(archive, "audio/{}.ogg", ("wood1",), "steps-data")
    assert name == "wood1" and got_rate == rate
    assert taps.strike_onsets(audio, rate) == [int(0.01 * rate) // 44 * 44]  # one strike, where it is
    assert len(calls.read_text().splitlines()) == 2
    assert not list(sounds.debs_cache().rglob("*.zip"))  # the step kept, not the 3 GB archive around it
    assert [n for n, _, _ in taps._recordings(archive, "audio/{}.ogg", ("wood1",), "steps-data")] == ["wood1"]
    assert len(calls.read_text().splitlines()) == 2  # read again from the cache, nothing fetched
    with pytest.raises(SystemExit, match="has no /usr/share/games/steps/player/jump.ogg"):
        sounds.unpacked_all("steps-data", [folder + "/jump.ogg"])


def test_a_package_file_that_cannot_be_fetched_says_why_in_one_line(tmp_path, monkeypatch):
    """No apt-get (not Debian), or a download that fails (no network): a plain message naming the
    package and the file, never a traceback from deep in subprocess."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    inside = "/usr/share/games/steps/pak0.pk3"
    system_path = os.environ["PATH"]
    bare = tmp_path / "bare"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))  # neither apt-get nor dpkg-deb
    with pytest.raises(SystemExit) as stop:
        sounds.unpacked_all("steps-data", [inside])
    assert "steps-data" in str(stop.value) and "apt-get and dpkg-deb" in str(stop.value) and inside in str(stop.value)

    failing = tmp_path / "bin" / "apt-get"
    failing.parent.mkdir()
    failing.write_text('#!/bin/sh\necho "E: Failed to fetch steps-data_1_all.deb  Temporary failure resolving" >&2\n'
                       "exit 100\n")
    failing.chmod(0o755)
    monkeypatch.setenv("PATH", f"{failing.parent}{os.pathsep}{system_path}")
    with pytest.raises(SystemExit) as stop:
        sounds.unpacked_all("steps-data", [inside])
    assert "apt-get download failed" in str(stop.value) and "Temporary failure resolving" in str(stop.value)


def _gus_patch(path, wave: np.ndarray, rate: int, root_hz: float, loop: tuple[int, int]) -> None:
    """A one-wave GUS patch (16-bit signed, looped) as FreePats writes them."""
    import struct

    data = (np.clip(wave, -1, 1) * 32767).astype("<i2").tobytes()
    header = b"GF1PATCH110\0ID#000002\0".ljust(129, b"\0")
    instrument = bytearray(63)
    layer = bytearray(47)
    layer[6] = 1  # one wave
    sample = bytearray(96)
    struct.pack_into("<III", sample, 8, len(data), 2 * loop[0], 2 * loop[1])
    struct.pack_into("<H", sample, 20, rate)
    struct.pack_into("<III", sample, 22, 20_000, 8_000_000, int(root_hz * 1000))
    sample[55] = 1 | 4  # 16-bit, looping
    path.write_bytes(header + bytes(instrument) + bytes(layer) + bytes(sample) + data)


def test_the_sampler_plays_a_patch_at_the_note_s_pitch_for_as_long_as_it_is_held(tmp_path, monkeypatch):
    rate = 32_000
    t = np.arange(rate // 4) / rate
    _gus_patch(tmp_path / "040_Violin.pat", 0.5 * np.sin(2 * np.pi * 440.0 * t), rate, 440.0,
               (rate // 8, rate // 8 + 2 * 73 * 4))  # a loop of whole periods (73 samples a period at 32 kHz ~ 440 Hz)
    monkeypatch.setattr(sampler, "FREEPATS_TONES", str(tmp_path))
    sampler.patch.cache_clear()
    try:
        sr = 48_000
        # the violin's A5 (880 Hz), held 1.5 s: six times the patch's own length
        audio = sampler.render([(0.0, 0xC0, 40), (0.2, 0x90, 81, 100), (1.7, 0x80, 81, 0)], 2.5, sr)
    finally:
        sampler.patch.cache_clear()
    assert audio.dtype == np.float32 and len(audio) == int(2.5 * sr)
    loud = np.abs(audio) > 0.05
    first, last = np.flatnonzero(loud)[[0, -1]] / sr
    assert abs(first - 0.2) < 0.005
    assert 1.7 <= last <= 1.7 + sampler.RELEASE_S[True] + 0.005  # held, then a short release
    middle = audio[int(0.8 * sr) : int(1.2 * sr)].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle))))
    peak_hz = np.argmax(spectrum) * sr / len(middle)
    assert abs(peak_hz - 880.0) < 10.0


def _renamed_corpus(base: Path, index: list[dict], out: Path) -> Path:
    """A second corpus: the same clips as families `other` and `music-other` (as a corpus of
    another source, built beside the first, names them)."""
    out.mkdir()
    clips = []
    for clip in index:
        name = clip["name"] + "-b"
        for suffix in (".flac", ".json"):
            (out / (name + suffix)).write_bytes((base / "a" / Path(clip["clip"]).with_suffix(suffix).name).read_bytes())
        music = "music-other" if clip["music_family"] else None
        clips.append(dict(clip, name=name, clip=name + ".flac", family="music-other" if clip["music_only"] else "other",
                          music_family=music))
    (out / "index.json").write_text(json.dumps({"clips": clips}))
    return out


def test_stage_a_folds_of_two_corpora_and_stage_b_told_of_a_missing_fold_before_collecting(corpus, tmp_path,
                                                                                             monkeypatch, capsys):
    """A corpus built beside the shipped one (`make_corpus.py --music-from ... --out out/corpus-npm`)
    adds families: `train_detector.py --folds` with both says at once which stage A folds are
    missing and the command that trains them (not after half an hour of collecting candidates),
    and `train_stage_a.py --folds` with both corpora trains a fold for every family of each."""
    import train_detector
    import train_stage_a

    base, index = corpus
    second = _renamed_corpus(base, index, tmp_path / "b")
    folds, cache = tmp_path / "folds", tmp_path / "candidates.npz"
    first = base / "a"
    with pytest.raises(SystemExit):
        train_detector.main(["--corpus", str(first), "--corpus", str(second), "--folds", "--folds-dir", str(folds),
                             "--cache", str(cache), "--generated", "0", "--alone", "0", "--doubled", "0",
                             "--steady", "0", "--speeds", ""])
    said = capsys.readouterr().err
    assert "no stage A fold for music-other, music-synthetic, other, synthetic" in said
    assert f"train_stage_a.py --folds --corpus {first} --corpus {second} --folds-dir {folds}" in said
    assert not cache.exists()
    monkeypatch.setattr(train_stage_a, "HOPS_DIR", tmp_path / "hops")
    quick = ["--folds-only", "--folds-dir", str(folds), "--generated", "0", "--steady", "0", "--speeds", "",
             "--epochs", "1", "--jobs", "1"]
    with pytest.raises(SystemExit):  # each clip's hops are cached by its name
        train_stage_a.main(["--corpus", str(first), "--corpus", str(first), *quick])
    assert "clip names repeat across the corpora" in capsys.readouterr().err
    train_stage_a.main(["--corpus", str(first), "--corpus", str(second), *quick])
    assert sorted(p.name for p in folds.iterdir()) == [
        f"{family}.stage_a.npz" for family in ("music-other", "music-synthetic", "other", "synthetic")]
    assert len(list((tmp_path / "hops").glob("*.npz"))) == 2 * len(index)
