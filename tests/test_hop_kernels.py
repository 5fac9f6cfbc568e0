"""Stage A's per-hop work in C against what it computes, written plainly in numpy: the band levels
against the windowed DFT as one matrix product in double, the band state and the learned score's
features against the numpy statements they replaced (bit for bit: float32, same order), the
score against the training path's (`onset.scores`). The detector's own tests check the taps it
then finds; these check the numbers under them, so that a compiler whose flags change float32
arithmetic fails here, by name. And the build: found where it was left, built where a folder
lets it be, and one clear line where there is no compiler."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dessins_de_planche.listen import hop_kernels, onset
from dessins_de_planche.listen.hop_kernels import floats, integers, lib
from dessins_de_planche.listen.detector import TapDetector
from dessins_de_planche.listen.synth import podorhythm

SR, BLOCK = 48_000, 128


@pytest.fixture(scope="module")
def listened():
    """A detector of two channels, 3 s into taps over music: its front end and the audio's end."""
    audio, _ = podorhythm(3.0, SR, seed=5, channels=2, tap_to_music_db=0.0)
    detector = TapDetector(SR, range(2), BLOCK)
    for start in range(0, len(audio) - BLOCK + 1, BLOCK):
        detector.process(audio[start : start + BLOCK], start)
    return detector.front, (len(audio) // BLOCK) * BLOCK


def test_band_levels_are_the_windowed_dft_of_the_history_in_double(listened):
    front, end = listened
    hop, hops = front.hop, 6
    first_end = (end // hop - hops + 1) * hop
    c, b = front.channels, front.bands
    levels = np.zeros((hops, c, b), np.float32)
    low = np.zeros(c * hops, np.float32)
    taps, columns = front._dft.shape
    span, reads = front._low_taps.shape
    lib.band_levels(floats(front.history), front.history_mask, c, first_end, hop, hops, floats(front._dft), taps,
                    columns, integers(front._bin_band), b, 1e-20, floats(front._band_clamp), floats(levels),
                    floats(front._samples), floats(front._spectrum), floats(front._low_taps), span, reads, floats(low))
    dft = front._dft.astype(np.float64)
    bins = dft.shape[1] // 2
    band_of = np.zeros((bins, b))
    for col, band in enumerate(front._bin_band):
        if band >= 0:
            band_of[col, band] = 1.0
    for j in range(hops):
        frames = np.arange(first_end + j * hop - max(taps, span), first_end + j * hop) & front.history_mask
        for ch in range(c):
            x = front.history[ch, frames].astype(np.float64)
            spectrum = x[-taps:] @ dft
            power = (spectrum[:bins] ** 2 + spectrum[bins:] ** 2) @ band_of
            expected = np.maximum(10 * np.log10(power + 1e-20), front._band_clamp[ch])
            loud = expected > front._band_clamp[ch] + 1.0  # (a clamped band is exact either way)
            assert loud.sum() >= 6, "the clip must sound in most bands for this to test anything"
            np.testing.assert_allclose(levels[j, ch], expected, atol=1e-3)
            outputs = x[-span:] @ front._low_taps.astype(np.float64)
            np.testing.assert_allclose(low[ch * hops + j], (outputs**2).sum(), rtol=1e-4)


def test_the_band_state_moves_as_the_numpy_statements_did_to_the_bit(listened):
    front = listened[0]
    rng = np.random.default_rng(3)
    c, b = front.channels, front.bands
    level = rng.uniform(-90, -20, (c, b)).astype(np.float32)
    ref, bg, smooth = (rng.uniform(-90, -20, (c, b)).astype(np.float32) for _ in range(3))
    held = rng.uniform(-90, -20, (5, c, b)).astype(np.float32)
    lagged = rng.uniform(-90, -20, (c, b)).astype(np.float32)
    decay, smooth_a, down, up_down = (np.float32(v) for v in (1.0667, 0.0123, 0.0031, 0.0402))

    want_held = held.copy()
    want_held[2] = lagged
    want_ref = np.maximum(ref - decay, np.maximum.reduce(want_held, axis=0))
    lib.move_tails(floats(ref), floats(held), 5, c * b, 2, floats(lagged), decay)
    assert np.array_equal(held, want_held) and np.array_equal(ref, want_ref)

    want_smooth = smooth + (level - smooth) * smooth_a
    want_bg = bg - down
    np.add(want_bg, up_down, out=want_bg, where=want_smooth > bg)
    kept = np.zeros_like(level)
    lib.follow_floor(floats(level), floats(smooth), floats(bg), c * b, smooth_a, down, up_down, floats(kept))
    assert np.array_equal(smooth, want_smooth) and np.array_equal(bg, want_bg) and np.array_equal(kept, level)


def test_the_scores_features_and_gate_are_the_numpy_statements_and_the_score_the_trainings(listened):
    front = listened[0]
    score = front.onset
    c, b, s = front.channels, front.bands, score._stride
    rng = np.random.default_rng(4)
    level = rng.uniform(-90, -10, (c, b)).astype(np.float32)
    ref, bg = (rng.uniform(-90, -10, (c, b)).astype(np.float32) for _ in range(2))
    floor = front.band_floor
    x_before = score._x1.copy()

    score.update(level, ref, bg, floor, front.low_at(front._first_hop) if score.low_band else None)
    now = 2 * s
    expected = x_before.copy()
    expected[:, :now] = x_before[:, s : 3 * s]
    expected[:, now : now + b] = level - ref
    expected[:, now + s : now + s + b] = level - bg
    expected[:, now + 2 * s : now + 2 * s + b] = level - floor
    assert np.array_equal(score._x1, expected)
    rise = np.minimum(np.maximum(level - ref, 0.0), 24.0)
    assert np.array_equal(score.rises, np.add.reduce(rise, axis=1, where=level - floor > -20.0))
    assert np.array_equal(score.loudest, expected[:, now + 2 * s : now + 3 * s].max(axis=1))

    logits = score.evaluate().copy()
    features = score.x.copy()  # as scored: the recent mean and low view set, every feature clipped
    assert np.all(features >= score._lowest) and np.all(features <= score._highest)
    weights = onset.load_weights()
    np.testing.assert_allclose(logits, onset.scores(weights, features), rtol=1e-5, atol=1e-4)


def test_a_broken_channel_is_a_gap_and_the_others_keep_their_samples_and_peaks():
    rng = np.random.default_rng(5)
    block = rng.uniform(-0.5, 0.5, (BLOCK, 4)).astype(np.float32)
    block[10, 1] = np.nan
    block[20, 2] = 9.0  # over the absurd level
    block[30, 3] = -np.inf
    signal = block.copy()
    peaks, bad = np.zeros(4, np.float32), np.zeros(4, bool)
    gaps = lib.check_block(floats(signal), BLOCK, 4, 8.0, floats(peaks), hop_kernels.ffi.from_buffer("uint8_t[]", bad))
    assert gaps == 3 and bad.tolist() == [False, True, True, True]
    assert np.array_equal(signal[:, 0], block[:, 0]) and not signal[:, 1:].any()
    assert peaks[0] == np.abs(block[:, 0]).max()


def test_the_library_is_built_where_a_folder_lets_it_and_found_there_after(tmp_path, monkeypatch):
    (tmp_path / "a file").write_text("")
    unwritable, cache = tmp_path / "a file" / "kernels", tmp_path / "cache"  # (a folder under a file: even root cannot)
    monkeypatch.setattr(hop_kernels, "_folders", lambda: [unwritable, cache])
    built = hop_kernels.build()
    assert built == cache / hop_kernels.library_name() and built.stat().st_size > 0
    assert not [p for p in cache.iterdir() if p.name.startswith(".")], "a partial build left behind"
    stamp = built.stat().st_mtime_ns
    monkeypatch.setenv("CC", "/nonexistent/cc")  # found, not built again
    assert hop_kernels.build() == built and built.stat().st_mtime_ns == stamp
    library = hop_kernels.ffi.dlopen(str(built))
    signal, peaks, bad = np.array([[0.25], [-0.5]], np.float32), np.zeros(1, np.float32), np.zeros(1, bool)
    assert library.check_block(floats(signal), 2, 1, 8.0, floats(peaks), hop_kernels.ffi.from_buffer("uint8_t[]", bad)) == 0
    assert peaks[0] == 0.5


def _compiler(tmp_path, name: str, script: str) -> str:
    """A stand-in C compiler: an executable script in tmp_path/bin."""
    (tmp_path / "bin").mkdir(exist_ok=True)
    path = tmp_path / "bin" / name
    path.write_text(script)
    path.chmod(0o755)
    return str(path)


def test_with_no_library_and_no_compiler_it_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(hop_kernels, "_folders", lambda: [tmp_path / "kernels"])
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(hop_kernels.KernelsUnavailable, match=r"C compiler.*apt-get install gcc libc6-dev"):
        hop_kernels.build()
    monkeypatch.setenv("CC", _compiler(tmp_path, "cc", "#!/bin/sh\necho 'cc: fatal error: no input files' >&2\nexit 1\n"))
    with pytest.raises(hop_kernels.KernelsUnavailable, match=r"could not build the tap detector.*no input files"):
        hop_kernels.build()
    assert not list((tmp_path / "kernels").iterdir()), "a failed build left a file"


def test_a_compiler_that_hangs_or_cannot_run_is_told_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(hop_kernels, "_folders", lambda: [tmp_path / "kernels"])
    monkeypatch.setattr(hop_kernels, "BUILD_SECONDS", 1)
    monkeypatch.setenv("CC", _compiler(tmp_path, "hung-cc", "#!/bin/sh\nexec sleep 30\n"))
    with pytest.raises(hop_kernels.KernelsUnavailable, match=r"hung-cc gave no answer in 1 s while building"):
        hop_kernels.build()
    monkeypatch.setenv("CC", _compiler(tmp_path, "broken-cc", "#!/nonexistent/interpreter\n"))
    with pytest.raises(hop_kernels.KernelsUnavailable, match=r"broken-cc could not be run"):
        hop_kernels.build()
    assert not list((tmp_path / "kernels").iterdir()), "a failed build left a file"


def test_a_command_on_a_machine_with_no_compiler_says_so_in_one_line_and_with_one_it_listens(tmp_path):
    """The package as a wheel would put it elsewhere, with no library built yet: `analyze` with no
    compiler exits with one line that names what to install; with the machine's compiler it
    builds the library on first use and hears the taps."""
    repo = Path(__file__).resolve().parents[1]
    site = tmp_path / "site"
    shutil.copytree(repo / "dessins_de_planche", site / "dessins_de_planche",
                    ignore=shutil.ignore_patterns("__pycache__"))
    audio, truth = podorhythm(4.0, SR, seed=9)
    soundfile.write(tmp_path / "taps.wav", audio, SR)
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_CACHE_HOME": str(tmp_path / "cache"), "LANGUAGE": "en"}
    command = [sys.executable, "-m", "dessins_de_planche", "analyze", "--json", str(tmp_path / "taps.wav")]

    refused = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                             env={**env, "CC": str(tmp_path / "no-such-cc")})
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "C compiler" in lines[0] and "apt-get install gcc" in lines[0], refused.stderr
    assert not list((site / "dessins_de_planche" / "listen").glob("__pycache__/hop_kernels-*"))

    env.pop("CC", None)
    heard = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert heard.returncode == 0, heard.stderr
    assert list((site / "dessins_de_planche" / "listen").glob("__pycache__/hop_kernels-*.so"))
    taps = json.loads(heard.stdout)["taps"]
    assert len(taps) == len(truth), (len(taps), len(truth))
    assert np.abs(np.array([t["time"] for t in taps]) - np.sort(truth["time"])).max() < 0.025
