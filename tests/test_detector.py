"""The tap detector, fed generated podorhythm with known onsets: what a dancer would check."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW
from dessins_de_planche.listen.detector import TapDetector
from dessins_de_planche.listen.synth import heel_sound, match_onsets, podorhythm, toe_sound, true_onset
from struck_notes import struck_note

SR = 48_000
PATTERNS = [(112, 2, ("heel", "toe")), (120, 3, ("Heel", "toe", "toe")), (150, 4, ("Heel", "toe", "heel", "toe"))]


def listen(audio, sample_rate=SR, block_sizes=(128,), columns=None, stream_offset=0, withdrawn=None,
           detector=None):
    """Run the detector like a stream; final taps (refines folded in, withdrawn taps left out)
    as a structured array with onset and first emission in seconds. `stream_offset`: frames the
    stream has already run; `withdrawn`: a list that receives the withdrawn taps' records."""
    columns = list(range(audio.shape[1])) if columns is None else columns
    detector = detector or TapDetector(sample_rate, columns, block_size=max(block_sizes))
    first, final, closed = {}, {}, set()
    start, i = 0, 0
    while start < len(audio):
        block = audio[start : start + block_sizes[i % len(block_sizes)]]
        i += 1
        count = detector.process(block, start + stream_offset)
        end = start + len(block)
        # the final word comes within 25 ms of the first emission (128-frame blocks; a larger
        # block can hold it back by its own extra length)
        budget = 0.025 + max(0, len(block) - 128) / sample_rate + 1e-9
        for k in range(count):
            tap_id = int(detector.out_tap_id[k])
            record = ((detector.out_onset[k] - stream_offset) / sample_rate, end / sample_rate, float(detector.out_velocity[k]),
                      int(detector.out_kind[k]), int(detector.out_channel[k]))
            kind = int(detector.out_refine[k])
            if kind in (RECORD_REFINE, RECORD_WITHDRAW):
                assert tap_id in first, "a follow-up record names a tap that was emitted before it"
                assert tap_id not in closed, "one final word per tap"
                assert end / sample_rate - first[tap_id][1] <= budget, "the final word within 25 ms"
                closed.add(tap_id)
                if kind == RECORD_WITHDRAW:
                    del final[tap_id]
                    if withdrawn is not None:
                        withdrawn.append(first[tap_id])
                else:
                    final[tap_id] = first[tap_id][:2] + record[2:4] + first[tap_id][4:]
            else:
                assert kind == RECORD_FIRST, kind
                assert tap_id not in first, "tap ids are unique"
                first[tap_id] = final[tap_id] = record
        start = end
    rows = [final[k] for k in sorted(final)]
    dtype = [("time", "f8"), ("detected_at", "f8"), ("velocity", "f4"), ("kind", "u1"), ("channel", "u2")]
    return np.array(rows, dtype=dtype)


@pytest.fixture(scope="module")
def generated_set():
    clips = []
    for seed in (0, 1):
        for level in (-40.0, -20.0, -3.0):
            for bpm, per_beat, pattern in PATTERNS:
                audio, truth = podorhythm(5.0, SR, bpm, per_beat, pattern, seed=seed + 10 * per_beat,
                                          level_db=level, tap_to_music_db=6.0, noise_db=-70.0)
                clips.append((audio, truth, listen(audio)))
    return clips


def test_finds_taps_over_fiddle_and_boom_chick_at_every_level(generated_set):
    found = truth_count = matched = 0
    for audio, truth, taps in generated_set:
        pairs, precision, recall = match_onsets(taps["time"], truth["time"], 0.025)
        assert precision >= 0.9 and recall >= 0.9, (precision, recall)
        found += len(taps)
        truth_count += len(truth)
        matched += len(pairs)
    assert matched / found >= 0.95
    assert matched / truth_count >= 0.95


def test_detection_delay_in_stream_samples(generated_set):
    delays = []
    for audio, truth, taps in generated_set:
        pairs, _, _ = match_onsets(taps["time"], truth["time"], 0.025)
        delays.extend(taps["detected_at"][pairs[:, 0]] - truth["time"][pairs[:, 1]])
    delays = np.array(delays)
    # targets are 6 ms median, 10 ms p95 (see bench/detector.py); the test allows twice that
    assert np.median(delays) <= 0.012
    assert np.percentile(delays, 95) <= 0.020


def test_onsets_are_placed_where_the_hit_rose(generated_set):
    errors = []
    for audio, truth, taps in generated_set:
        pairs, _, _ = match_onsets(taps["time"], truth["time"], 0.025)
        errors.extend(taps["time"][pairs[:, 0]] - truth["time"][pairs[:, 1]])
    assert np.percentile(np.abs(errors), 95) <= 0.005


def test_velocity_follows_the_level_and_stays_in_range(generated_set):
    by_level = {}
    for audio, truth, taps in generated_set:
        peak = 20 * np.log10(np.abs(audio).max())
        by_level.setdefault(round(peak / 10), []).extend(taps["velocity"])
    means = [np.mean(by_level[k]) for k in sorted(by_level)]
    assert all(a < b for a, b in zip(means, means[1:]))
    every = np.concatenate([taps["velocity"] for _, _, taps in generated_set])
    assert every.min() >= 0.0 and every.max() <= 1.0


def test_heel_and_toe_are_told_apart_on_clean_material():
    audio, truth = podorhythm(6.0, SR, 112, 2, ("heel", "toe", "toe", "heel"), seed=3, music=False,
                              level_db=-12.0, noise_db=-80.0)
    taps = listen(audio)
    pairs, precision, recall = match_onsets(taps["time"], truth["time"], 0.025)
    assert precision >= 0.95 and recall >= 0.95
    right = taps["kind"][pairs[:, 0]] == truth["kind"][pairs[:, 1]]
    assert right.mean() >= 0.9
    assert set(taps["kind"]) <= {KIND_HEEL, KIND_TOE}


@pytest.mark.parametrize("first, second", [("heel", "toe"), ("toe", "heel"), ("toe", "toe"), ("heel", "heel")])
def test_taps_40_ms_apart_come_out_as_two(first, second):
    rng = np.random.default_rng(5)
    sound = {"heel": heel_sound, "toe": toe_sound}
    audio = (rng.standard_normal(SR * 3) * 1e-4).astype(np.float32)
    onsets = []
    for start in (0.5, 1.2, 1.9, 2.6):
        for offset, kind in ((0.0, first), (0.040, second)):
            hit = sound[kind](rng, SR) * 0.3
            at = int((start + offset) * SR)
            audio[at : at + len(hit)] += hit
            onsets.append((at + true_onset(hit)) / SR)
    taps = listen(audio[:, None])
    pairs, precision, recall = match_onsets(taps["time"], onsets, 0.015)
    assert len(taps) == len(onsets) and recall == 1.0


def quiet_signals():
    t = np.arange(SR * 4) / SR
    rng = np.random.default_rng(1)
    yield "silence", np.zeros_like(t)
    yield "hum 50 Hz", 0.3 * np.sin(2 * np.pi * 50 * t)
    yield "hum 60 Hz with harmonics", 0.2 * np.sin(2 * np.pi * 60 * t) + 0.05 * np.sin(2 * np.pi * 180 * t)
    yield "tone 440 Hz", 0.5 * np.sin(2 * np.pi * 440 * t)
    yield "tone 5 kHz", 0.5 * np.sin(2 * np.pi * 5000 * t)
    yield "DC offset", np.full_like(t, 0.25)
    yield "DC, hum and room noise", 0.1 + 0.05 * np.sin(2 * np.pi * 50 * t) + 0.003 * rng.standard_normal(len(t))


@pytest.mark.parametrize("name, signal", list(quiet_signals()), ids=[n for n, _ in quiet_signals()])
def test_nothing_on_steady_signals(name, signal):
    assert len(listen(signal.astype(np.float32)[:, None])) == 0


def mains_hum(seconds: float) -> np.ndarray:
    """A 50 Hz hum with odd harmonics at -20 dBFS (a ground loop)."""
    t = np.arange(int(SR * seconds)) / SR
    return (0.06 * np.sin(2 * np.pi * 50 * t) + 0.03 * np.sin(2 * np.pi * 150 * t + 1.0)
            + 0.01 * np.sin(2 * np.pi * 250 * t + 2.0)).astype(np.float32)[:, None]


@pytest.mark.parametrize("hum", [mains_hum(6.0), (0.3 * np.sin(2 * np.pi * 50 * np.arange(SR * 6) / SR)).astype(
    np.float32)[:, None]], ids=["50 Hz and odd harmonics", "50 Hz at -10 dBFS"])
def test_a_loud_mains_hum_does_not_keep_stage_a_busy(hum):
    """Each candidate is a word to withdraw and 20 ms of deafness: a hum's beats with the analysis
    grid (a dB or two of leakage in bands far under the level floor) must not fire stage A."""
    withdrawn = []
    assert len(listen(hum, withdrawn=withdrawn)) == 0
    assert len(withdrawn) <= 3, f"{len(withdrawn)} candidates on hum alone in 6 s (the target: 30 a minute)"


def test_taps_over_a_loud_mains_hum_are_heard_and_nothing_else():
    audio, truth = podorhythm(6.0, SR, 112, 3, ("Heel", "toe", "toe"), seed=21, level_db=-12.0)
    taps = listen(audio + mains_hum(6.0))
    _, precision, recall = match_onsets(taps["time"], truth["time"], 0.025)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)


def test_nan_and_inf_neither_crash_nor_fire_and_the_detector_recovers():
    audio, truth = podorhythm(6.0, SR, 112, 2, ("heel", "toe"), seed=4, level_db=-12.0)
    broken = audio.copy()
    broken[int(2.0 * SR) : int(2.5 * SR)] = np.nan  # a burst of NaN over taps and music
    broken[int(3.0 * SR) : int(3.0 * SR) + 64] = np.inf
    broken[int(3.3 * SR)] = -np.inf
    taps = listen(broken)
    assert np.all(np.isfinite(taps["time"])) and np.all(np.isfinite(taps["velocity"]))
    bad = ((taps["time"] > 1.99) & (taps["time"] < 2.5)) | ((taps["time"] > 2.99) & (taps["time"] < 3.002))
    assert not bad.any()
    later = truth[truth["time"] > 3.4]
    pairs, precision, recall = match_onsets(taps["time"][taps["time"] > 3.4], later["time"], 0.025)
    assert precision >= 0.95 and recall >= 0.95


def test_any_block_size_gives_the_same_taps():
    audio, _ = podorhythm(5.0, SR, 120, 3, ("Heel", "toe", "toe"), seed=6, level_db=-18.0)
    fixed = listen(audio, block_sizes=(128,))
    varied = listen(audio, block_sizes=(128, 7, 300, 64, 1, 129, 512, 33))
    assert len(fixed) > 20 and len(fixed) == len(varied)
    assert np.allclose(fixed["time"], varied["time"], atol=1e-9)
    assert np.array_equal(fixed["kind"], varied["kind"])
    assert np.allclose(fixed["velocity"], varied["velocity"], atol=0.01)


def test_a_stream_eight_hours_old_hears_the_same_taps():
    """The detector's buffers are indexed modulo their length: the stream's age changes nothing."""
    audio, _ = podorhythm(5.0, SR, 120, 3, ("Heel", "toe", "toe"), seed=6, level_db=-18.0)
    fresh = listen(audio)
    old = listen(audio, stream_offset=8 * 3600 * SR)  # a whole number of grid frames
    assert len(fresh) > 20 and len(fresh) == len(old)
    assert np.allclose(fresh["time"], old["time"], atol=1e-6)
    assert np.array_equal(fresh["kind"], old["kind"])
    assert np.allclose(fresh["velocity"], old["velocity"], atol=1e-4)


def test_other_sample_rates_and_channel_selection():
    # 10 s: 17 taps a channel (with fewer, one music onset taken for a tap is 12 % of a channel);
    # each channel holds half the taps under all the music: 9 dB over the clip puts a channel's
    # own taps about 6 dB over it, as in the generated set
    audio, truth = podorhythm(10.0, 44_100, 112, 2, ("heel", "toe"), seed=8, level_db=-12.0, channels=2,
                              tap_to_music_db=9.0)
    taps = listen(audio, sample_rate=44_100)
    matched = 0
    for channel in (0, 1):  # a tap put on the wrong channel is missed on its own and false on the other
        mine = truth[truth["channel"] == channel]
        heard = taps[taps["channel"] == channel]
        pairs, _, recall = match_onsets(heard["time"], mine["time"], 0.025)
        assert recall >= 0.9
        matched += len(pairs)
    assert matched / len(taps) >= 0.9  # (a music onset taken for a tap is one in 18 on a channel)
    # only the second device channel, as detector channel 0: its taps, and none of the first's. The
    # music 20 dB under the taps: what is checked is which channel is heard (music onsets in time
    # with a channel that hears half the feet: the test below)
    audio, truth = podorhythm(10.0, 44_100, 112, 2, ("heel", "toe"), seed=8, level_db=-12.0, channels=2,
                              tap_to_music_db=20.0)
    second = listen(audio, sample_rate=44_100, columns=[1])
    _, precision, recall = match_onsets(second["time"], truth[truth["channel"] == 1]["time"], 0.025)
    assert precision >= 0.9 and recall >= 0.9 and set(second["channel"]) == {0}


def test_a_channel_hearing_half_the_feet_takes_no_music_onset_for_a_tap():
    """The grid such a channel sets (one tap a beat) puts the music's beats on it, where stage B's
    word counts for less: precision over the first 6 of these clips was 0.69 with stop 31's weights,
    1.00 with stop 34's (the app's own false candidates weighing three times in training;
    docs/corpus.md, attempt 81); over all 12, 0.97 with stop 50's (each family weighing alike:
    one clip of twelve takes the band's beat for this foot, 0.68; attempt 94)."""
    precisions = []
    for seed in range(1, 13):
        audio, truth = podorhythm(10.0, 44_100, 112, 2, ("heel", "toe"), seed=seed, level_db=-12.0, channels=2,
                                  tap_to_music_db=9.0)
        heard = listen(audio, sample_rate=44_100, columns=[1])
        _, precision, recall = match_onsets(heard["time"], truth[truth["channel"] == 1]["time"], 0.025)
        assert recall >= 0.9
        precisions.append(precision)
    assert np.mean(precisions) >= 0.95, np.round(precisions, 2)


def test_levels_for_the_sound_check():
    detector = TapDetector(SR, [0, 1], block_size=128)
    block = np.zeros((128, 2), np.float32)
    block[:, 1] = 0.5 * np.sin(2 * np.pi * 6000 * np.arange(128) / SR)
    detector.process(block, 0)
    assert detector.level[0] == 0.0 and detector.peak[0] == 0.0
    assert 0.3 < detector.level[1] < 0.4 and 0.45 < detector.peak[1] <= 0.5
    assert detector.brightness[1] > 0.8


def test_the_generator_stream_is_endless_deterministic_and_heard():
    from dessins_de_planche.config import GeneratorSpec
    from dessins_de_planche.listen.synth import PatternStream

    spec = GeneratorSpec(bpm=118, taps_per_beat=2, pattern=("heel", "toe"), seed=3)
    one, two = PatternStream(spec, SR), PatternStream(spec, SR)
    a = np.concatenate([one.read(128) for _ in range(SR * 9 // 128)])
    b = np.concatenate([two.read(n) for n in (1000, 77, 50_000, 300_000, len(a) - 351_077)])
    assert a.shape == b.shape and a.dtype == np.float32 and np.array_equal(a, b)
    assert np.all(np.isfinite(a)) and np.abs(a).max() < 1.0
    taps = listen(a)
    truth = one.truth_until(len(a) / SR - 0.05)
    _, precision, recall = match_onsets(taps["time"], truth["time"], 0.025)
    assert len(truth) > 20 and precision >= 0.95 and recall >= 0.95


def test_a_sound_cut_off_into_digital_silence_is_not_a_second_tap():
    """A gate or an edit that stops a ringing heel dead is a click of falling energy, not a tap."""
    audio = np.zeros((2 * SR, 1), np.float32)
    starts = (0.3, 0.8, 1.3)
    for i, at in enumerate(starts):
        hit = 0.5 * heel_sound(np.random.default_rng(i), SR)[: int(0.05 * SR)]  # cut while still loud
        audio[int(at * SR) : int(at * SR) + len(hit), 0] = hit
    taps = listen(audio)
    assert len(taps) == len(starts)
    np.testing.assert_allclose(taps["time"], starts, atol=0.005)


# -- the two stages ---------------------------------------------------------------------------

def test_stage_b_weights_ship_small_and_stamped():
    from dessins_de_planche.listen import confirm, detector_settings

    assert confirm.WEIGHTS_PATH.exists() and confirm.WEIGHTS_PATH.stat().st_size <= 1 << 20
    weights = confirm.load_weights()
    parameters = sum(weights[f"{kind}{i}"].size for i in range(int(weights["layers"])) for kind in "wb")
    assert 2_000 <= parameters <= 20_000
    stamp = weights["stamp"]
    assert "corpus-" in stamp and ".train-" in stamp and ".seed-" in stamp
    assert detector_settings.DETECTOR_VERSION.endswith(stamp)
    assert weights["mean"].shape == (confirm.FEATURES + len(confirm.REMEMBERED),) and 0.0 < float(weights["threshold"]) < 1.0
    assert TapDetector(SR, [0]).version == detector_settings.DETECTOR_VERSION


def test_stage_b_features_of_a_hit_in_digital_silence_stay_in_the_range_it_was_trained_on():
    """Over zeros, "the hit over what came before" was 10·log10(energy / 1e-12), over 100 dB where
    no training hit reached 55: the model's word on a heel there was its extrapolation (a heel
    in silence withdrawn). The features of a hit after silence and after a noise floor agree."""
    from dessins_de_planche.listen import confirm

    stage_b = confirm.StageB(SR, None)
    hit = 0.5 * heel_sound(np.random.default_rng(0), SR)
    history = np.zeros(1 << 16, np.float32)
    onset = 20_000
    history[onset : onset + len(hit)] = hit[: len(history) - onset]
    silent = stage_b.features(history, len(history) - 1, onset).copy()
    noisy_history = history + (np.random.default_rng(1).standard_normal(len(history)) * 1e-4).astype(np.float32)
    noisy = stage_b.features(noisy_history, len(noisy_history) - 1, onset).copy()
    assert np.isfinite(silent).all() and np.abs(silent).max() <= 60.0
    assert abs(silent[confirm.FRAMES * confirm.BANDS + confirm.BANDS + 4] - 60.0) < 1e-3  # the hit over before, at its cap
    assert np.abs(noisy).max() <= 60.0


@pytest.mark.parametrize("phase", [0, 24, 72, 100])
def test_the_apps_own_heels_and_toes_in_digital_silence_are_all_kept(phase):
    """A board's mic into a file, a noise gate or a silent JACK port: each tap over zeros. Stage B,
    which never heard a hit over zeros, withdrew one toe of 24 at two hop phases in three (the
    fused board test over JACK). Here the grid does not help: every tap kept on stage B's word."""
    from dessins_de_planche.listen.detector_settings import DetectorSettings

    rng = np.random.default_rng(5)
    gap, taps = 0.3, 32
    audio = np.zeros((phase + int((taps * gap + 1.0) * SR), 1), np.float32)
    truth = []
    for k in range(taps):
        at = phase + int((0.5 + k * gap) * SR)
        hit = (heel_sound if k % 2 == 0 else toe_sound)(rng, SR) * 10 ** (rng.uniform(-30, -3) / 20)
        audio[at : at + len(hit), 0] += hit
        truth.append(at / SR)
    withdrawn = []
    detector = TapDetector(SR, [0], settings=DetectorSettings(withdraw_on_grid=0.5))
    heard = listen(audio, withdrawn=withdrawn, detector=detector)
    _, precision, recall = match_onsets(heard["time"], np.array(truth), 0.025)
    assert not withdrawn, [round((w[0] - 0.5 - phase / SR) / gap, 1) for w in withdrawn]
    assert recall == 1.0 and precision == 1.0


def test_the_softest_toes_of_a_board_gain_staged_low_are_kept():
    """A board whose accented heels peak at -40 dBFS, the quietest gain staging the detector is
    built for, puts unaccented toes 12-16 dB under them, near -55 dBFS, well over a -80 dBFS
    room. Stage B never sees the level, so the detector withdraws what is too faint for a foot;
    with that floor at -50 dBFS every one of these toes was withdrawn."""
    rng = np.random.default_rng(9)
    gap, taps = 0.25, 32
    audio = (rng.standard_normal((int((taps * gap + 1.0) * SR), 1)) * 10 ** (-80 / 20)).astype(np.float32)
    heels, toes = [], []
    for k in range(taps):
        at = int((0.5 + k * gap) * SR)
        heel = k % 2 == 0
        hit = (heel_sound if heel else toe_sound)(rng, SR) * 10 ** (rng.uniform(-41, -39) / 20 if heel
                                                                    else rng.uniform(-56, -52) / 20)
        audio[at : at + len(hit), 0] += hit
        (heels if heel else toes).append(at / SR)
    withdrawn = []
    heard = listen(audio, withdrawn=withdrawn)
    _, _, toe_recall = match_onsets(heard["time"], np.array(toes), 0.025)
    _, precision, recall = match_onsets(heard["time"], np.array(heels + toes), 0.025)
    assert toe_recall >= 0.9 and recall >= 0.9 and precision >= 0.95, (toe_recall, recall, precision, len(withdrawn))


def test_stage_a_weights_ship_small_and_stamped():
    from dessins_de_planche.listen import detector_settings, onset

    assert onset.WEIGHTS_PATH.exists() and onset.WEIGHTS_PATH.stat().st_size <= 64 << 10
    weights = onset.load_weights()
    parameters = sum(weights[f"{kind}{i}"].size for i in range(int(weights["layers"])) for kind in "wb")
    assert 500 <= parameters <= 5_000  # scored every hop: small
    assert ".train-a" in weights["stamp"] and ".seed-" in weights["stamp"]
    assert detector_settings.DETECTOR_VERSION.startswith(f"onset-{weights['stamp']}+")


def test_stage_a_reads_each_band_over_its_recent_mean_as_training_does():
    """Stage A's newest feature group, each band over its mean of the hops before: the live
    ring (summed only at the hops scored) gives training's numbers bit for bit, through a
    stretch of digital silence and from the stream's first hop, and the shipped weights read it."""
    from dessins_de_planche.listen import onset

    rng = np.random.default_rng(3)
    bands, hops = 12, 400
    level = (rng.standard_normal((hops, bands)) * 12 - 50).astype(np.float32)
    level[150:190] = -200.0  # digital silence
    level[191] += 40.0  # a hit after it
    ref = (level + rng.standard_normal((hops, bands)) * 4).astype(np.float32)
    bg, floor = level - 8.0, np.full(bands, -65.0, np.float32)
    groups = onset.group_count(onset.MEAN_HOPS)
    weights = {"bands": np.array(bands), "threshold": np.array(0.0, np.float32), "stamp": "test",
               "layers": np.array(1), "mean": np.zeros(groups * bands, np.float32),
               "scale": np.ones(groups * bands, np.float32), "b0": np.zeros(1, np.float32),
               "w0": rng.standard_normal((groups * bands, 1)).astype(np.float32),
               "mean_hops": np.array(onset.MEAN_HOPS)}
    live = onset.OnsetScore(weights, 1, bands)
    scored = []
    for k in range(hops):
        live.update(level[k][None], ref[k][None], bg[k][None], floor)
        if k % 3 == 0 or 185 <= k <= 195:  # the live detector scores only some hops
            live.evaluate()
            scored.append((k, live.x[0].copy()))
    trained = onset.features(level, ref, bg, floor)
    assert trained.shape[1] == groups * bands
    for k, x in scored:
        np.testing.assert_array_equal(x, trained[k])
    assert trained[191, -bands:].min() == onset.MEAN_RANGE[1]  # 40 dB over silence: clipped at the top
    shipped = onset.load_weights()
    assert int(shipped["mean_hops"]) == onset.MEAN_HOPS
    assert onset.OnsetScore(shipped, 1, int(shipped["bands"])).x.shape[1] == len(shipped["mean"])


def test_stage_a_reads_the_lowest_bands_longer_view_as_training_does():
    """Stage A's view of the energy under 300 Hz (a heel's thump, over 5 to 32 ms): the live
    features, from the energies the front end measures at each hop, are training's (to a
    thousandth of a dB), a thump rises over the silence before it, and the energies are those
    of the signal through a 4th-order Butterworth low-pass at 300 Hz."""
    from dessins_de_planche.listen import onset
    from dessins_de_planche.listen.detector_settings import DetectorSettings
    from dessins_de_planche.listen.front_end import low_pass_response

    sr, block = 48000, 256
    rng = np.random.default_rng(5)
    audio = (rng.standard_normal(48128) * 1e-2).astype(np.float32)  # (whole blocks)
    t = np.arange(2400) / sr
    thump = (0.5 * np.sin(2 * np.pi * 90 * t) * np.exp(-t * 60)).astype(np.float32)
    click = np.diff(0.3 * rng.standard_normal(241) * np.exp(-np.arange(241) / 30.0)).astype(np.float32)
    audio[24000:26400] += thump  # a heel
    audio[36000:36240] += click  # a toe: no low band to speak of
    detector = TapDetector(sr, [0], block_size=block, weights=False,
                           settings=DetectorSettings(stage_b=False, learned_onset=False, onset_db=1e9))
    detector.collect_hops = rows = []
    clean = np.zeros_like(audio)
    for start in range(0, len(audio), block):
        detector.process(audio[start : start + block], start)
        clean[start : start + block] = detector.front.clean[:block, 0]
    k = np.array([r[0] for r in rows])
    low = np.array([r[6] for r in rows], np.float32)
    # the energies: the DC-removed signal through the low-pass, read 4 times a hop
    response = low_pass_response(sr, 1024)
    filtered = np.convolve(clean.astype(np.float64), response)[: len(clean)]
    hop = detector.hop
    reads = (k * hop - 1)[:, None] - np.arange(4)[None, :] * (hop // 4)
    direct = (filtered[np.maximum(reads, 0)] ** 2).mean(axis=1)
    later = k > 40
    np.testing.assert_allclose(low[later], direct[later], rtol=0.01, atol=1e-3 * direct.max())

    trained = onset.low_features(low)
    heel_hop, toe_hop = 24000 // hop + 2, 36000 // hop + 2
    heel, toe = trained[k == heel_hop][0], trained[k == toe_hop][0]
    assert heel[0] > 15.0  # the thump's first 5 ms over the 21 ms before
    assert (heel[:2] - toe[:2]).min() > 12.0  # a click barely stirs the low band

    bands = detector.bands
    groups = onset.group_count(onset.MEAN_HOPS)
    width = groups * bands + onset.LOW_FEATURES
    weights = {"bands": np.array(bands), "threshold": np.array(0.0, np.float32), "stamp": "test",
               "layers": np.array(1), "mean": np.zeros(width, np.float32), "scale": np.ones(width, np.float32),
               "b0": np.zeros(1, np.float32), "w0": rng.standard_normal((width, 1)).astype(np.float32),
               "mean_hops": np.array(onset.MEAN_HOPS), "low_band": np.array(1)}
    live = onset.OnsetScore(weights, 1, bands)
    level = np.array([r[1] for r in rows], np.float32)
    ref = np.array([r[2] for r in rows], np.float32)
    bg = np.array([r[3] for r in rows], np.float32)
    floor = detector.front.band_floor[0]
    offline = onset.features(level, ref, bg, floor, low=low)
    assert offline.shape[1] == width
    shipped = onset.load_weights()
    assert int(shipped["low_band"]) == 1 and len(shipped["mean"]) == width  # the shipped stage A reads it
    for i in range(len(k)):
        live.update(level[i][None], ref[i][None], bg[i][None], floor, low[i : i + 1])
        if i % 5 == 0 or heel_hop - 3 <= k[i] <= heel_hop + 3:
            live.evaluate()
            np.testing.assert_array_equal(live.x[0, : groups * bands], offline[i, : groups * bands])
            np.testing.assert_allclose(live.x[0, groups * bands :], offline[i, groups * bands :], atol=1e-3)


def test_the_rules_alone_still_hear_the_generated_taps():
    """Without stage A's weights (a build without them) the summed-rise rule fires."""
    from dessins_de_planche.listen.detector_settings import DetectorSettings

    audio, truth = podorhythm(6.0, SR, 120, 3, ("Heel", "toe", "toe"), seed=8, level_db=-20.0,
                              tap_to_music_db=6.0, noise_db=-70.0)
    rules = TapDetector(SR, [0], settings=DetectorSettings(learned_onset=False))
    assert rules.onset is None and TapDetector(SR, [0]).onset is not None
    taps = listen(audio, detector=rules)
    _, precision, recall = match_onsets(taps["time"], truth["time"], 0.025)
    assert precision >= 0.95 and recall >= 0.95


def test_training_replays_the_live_candidates():
    """The training scripts replay stage A's firing on recorded band states and read stage B's
    features from the recorded history: the same candidates and features as the live detector."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_detector
    from dessins_de_planche.listen import onset

    clip = train_detector.generated_clips(2)[1]
    replayed = train_detector.candidates_of((clip, {"": onset.load_weights()}))[""]
    audio, sr, _ = train_detector.clip_audio(clip)
    live = TapDetector(sr, [0], weights=False)
    live.collect = []
    for start in range(0, len(audio), 128):
        live.process(audio[start : start + 128], start)
    x = np.array([row[2] for row in live.collect])
    assert len(x) >= 20 and x.shape == replayed["x"].shape
    assert np.allclose(x, replayed["x"], atol=1e-4)


def test_a_lowered_stage_a_teaches_stage_b_more_candidates_than_live_fires():
    """`train_detector.py --train-lower`: stage B may learn the candidates of a stage A more
    sensitive than the live one; the live weights stay as they are, and the lowered model fires on
    more hops of the same clip, the live candidates' taps among them."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_detector
    from dessins_de_planche.listen import onset

    live = {"": onset.load_weights()}
    threshold = float(live[""]["threshold"])
    both = train_detector.lowered(live, train_detector.lowerings_of("0,1"))
    assert sorted(both) == ["", "-lower1"]  # the live model under its own name, the lowered beside it
    assert float(live[""]["threshold"]) == threshold == float(both[""]["threshold"])
    assert float(both["-lower1"]["threshold"]) == threshold - 1.0
    assert all(np.array_equal(both["-lower1"][k], live[""][k]) for k in live[""] if k != "threshold")
    clip = train_detector.generated_clips(2)[1]
    fired = train_detector.candidates_of((clip, both))
    heard, taught = fired[""], fired["-lower1"]
    assert np.array_equal(heard["x"], train_detector.candidates_of((clip, live))[""]["x"])
    assert len(taught["label"]) > len(heard["label"])
    assert (taught["label"] > 0).sum() >= (heard["label"] > 0).sum()


def test_stage_b_hears_each_hit_beside_the_channel_memory_it_was_trained_with():
    """The shipped stage B reads each candidate beside the mean of the channel's recent ones
    (`listen.memory`). Training builds that memory from a clip's cached candidates at once
    (`train_detector.remembering`); the live detector's word must be the one training taught."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_detector
    from dessins_de_planche.listen import confirm

    weights = confirm.load_weights()
    clip = train_detector.generated_clips(2)[1]
    audio, sr, _ = train_detector.clip_audio(clip)
    live = TapDetector(sr, [0])
    assert live.stage_b.remembers and live.memories[0] is not None
    live.collect = []
    for start in range(0, len(audio), 128):
        live.process(audio[start : start + 128], start)
    assert len(live.collect) >= 20
    x = np.array([row[2] for row in live.collect], np.float32)
    fold = {"x": x, "clip": np.zeros(len(x), np.intp), "time": np.array([row[1] for row in live.collect], float)}
    foot, heel = train_detector.predict(train_detector.params_of(weights), train_detector.inputs_for(weights, fold))
    assert np.allclose(foot, [row[3] for row in live.collect], atol=1e-4)
    assert np.allclose(heel, [row[4] for row in live.collect], atol=1e-4)
    live.reset()
    assert np.allclose(live.memories[0].mean(), weights["mean"][weights["memory_features"]])



def test_a_clip_played_faster_or_slower_keeps_its_taps_on_their_sounds(tmp_path):
    """Training also hears the corpus played at other speeds (`train_detector.played_at`): a
    clip at 0.8 is 1.25 times as long and each true tap still lies on its own hit (a tap time
    scaled the wrong way would teach both stages that every hit is no foot)."""
    import sys
    from pathlib import Path

    import soundfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_detector

    rng = np.random.default_rng(3)
    audio = np.zeros(2 * SR, np.float32)
    times = [0.31, 0.77, 1.24, 1.52]
    for t in times:
        at = int(t * SR)
        audio[at : at + 480] += (rng.standard_normal(480) * np.exp(-np.arange(480) / 60)).astype(np.float32) * 0.5
    path = tmp_path / "clicks.flac"
    soundfile.write(path, audio, SR)
    clip = {"name": "clicks", "path": str(path), "family": "test", "music_family": "", "music_only": False,
            "taps": [{"time": t, "kind": "heel"} for t in times]}
    played = train_detector.played_at([clip], [1.0, 0.8, 1.25])
    assert [c.get("speed", 1.0) for c in played] == [1.0, 0.8, 1.25]
    assert len({c["name"] for c in played}) == 3
    for c in played:
        sound, sr, truth = train_detector.clip_audio(c)
        speed = c.get("speed", 1.0)
        assert sr == SR and abs(len(sound) - len(audio) / speed) <= 2
        envelope = np.abs(sound[:, 0])
        for tap, t in zip(truth, times):
            assert tap["time"] == pytest.approx(t / speed, abs=1e-6)
            at = int(round(tap["time"] * sr))
            # the hit starts at the tap: loud in the 2 ms after it, silent in the 5 ms before
            assert envelope[at : at + 96].max() > 0.2
            assert envelope[at - 240 : at - 24].max() < 0.01


def test_taps_alone_for_training_are_over_digital_silence_or_a_faint_floor():
    """Stage B also learns the app's taps with nothing else (`train_detector.alone_clips`): half over
    zeros, the rest over a floor far under the corpus's; every true tap on its own hit."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_detector

    clips = train_detector.alone_clips(4)
    assert [c["name"] for c in clips] == [c["name"] for c in train_detector.alone_clips(4)]
    for i, clip in enumerate(clips):
        audio, sr, truth = train_detector.clip_audio(clip)
        again, _, _ = train_detector.clip_audio(clip)
        assert np.array_equal(audio, again) and len(truth) >= 10
        first = int(truth[0]["time"] * sr)
        assert (np.abs(audio[: first - int(0.005 * sr)]) == 0.0).all() == (i % 2 == 0)
        assert np.abs(audio[: first - int(0.005 * sr)]).max() < 1e-4  # no music, no floor above -80 dBFS
        span = int(0.01 * sr)
        for tap in truth:  # a rise: more energy in the 10 ms from its onset than in the 10 ms before
            at = int(tap["time"] * sr)
            after, before = audio[at : at + span, 0], audio[at - span - int(0.002 * sr) : at - int(0.002 * sr), 0]
            assert np.sum(after.astype(np.float64) ** 2) > 2 * np.sum(before.astype(np.float64) ** 2), tap


def test_randomized_training_clips_are_seeded_and_labelled():
    """The randomized training taps (`train_detector.py --randomized`): the same seed gives the
    same clip; a clip with taps has heels and toes at 4-10 a second, a music-only one none."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_detector

    clips = train_detector.randomized_clips(6)
    audio, sr, truth = train_detector.clip_audio(clips[0])
    again, _, truth_again = train_detector.clip_audio(train_detector.randomized_clips(1)[0])
    assert np.array_equal(audio, again) and truth == truth_again
    assert np.isfinite(audio).all() and 0 < np.abs(audio).max() <= 1
    kinds = {t["kind"] for t in truth}
    assert kinds == {"heel", "toe"} and 4 <= len(truth) / (len(audio) / sr) <= 12
    assert clips[5]["music_only"] and train_detector.clip_audio(clips[5])[2] == []


@pytest.mark.parametrize("kind", [pytest.param("piano", marks=pytest.mark.xfail(strict=True, reason=(
                   "issue 13, open: stage B trained on the corpus keeps many of these "
                   "synthetic struck notes, every 0.35 s (stop 50's weights, each family weighing alike: piano 16 of 27, "
                   "guitar 2 of 25, a plain test since; stop 34's weights: piano 18 of 27, guitar 9 of 25; stop 31's: piano 13 of 27, guitar 7 of 25; stop 25's weights: piano 6 of 27, guitar 12 of 23; stop 22's: piano 8 of 27, guitar 19 of 25; "
                   "stop 21's, with a memory of the channel's recent hits: piano 17 of 27, guitar 18 of 25; stop 19's, eleven families: piano 16 of 27, guitar 23 of 25; stop 18's, ten: piano 11 of 25, "
                   "guitar 22 of 25; nine families, t4: 14 and 26 of 26, t3: 12 and 26 of 26; stop 16's 14 of 34 and 25 of 26, 12 and 23 without the grid, whose "
                   "rhythm they keep; "
                   "docs/corpus.md)"))), "guitar"])
def test_stage_b_withdraws_pitched_attacks_that_stage_a_fired_on(kind):
    rng = np.random.default_rng(3)
    audio = rng.standard_normal(SR * 6) * 1e-4
    for at in np.arange(0.3, 5.5, 0.35):
        note = 0.3 * struck_note(kind, rng, 440 * 2 ** (int(rng.integers(-24, 12)) / 12), SR)
        start = int(at * SR)
        audio[start : start + len(note)] += note[: len(audio) - start]
    audio = audio.astype(np.float32)[:, None]
    rules_only = listen(audio, detector=TapDetector(SR, [0], weights=False))
    withdrawn = []
    kept = listen(audio, withdrawn=withdrawn)
    assert len(rules_only) >= 10, "stage A fires on the attacks"
    assert len(withdrawn) + len(kept) == len(rules_only)  # stage B decides on every candidate
    assert len(kept) <= 0.2 * len(rules_only), (len(kept), len(rules_only))


def test_confirmed_taps_keep_their_kind_over_music():
    audio, truth = podorhythm(8.0, SR, 112, 2, ("heel", "toe", "toe", "heel"), seed=21, level_db=-18.0,
                              tap_to_music_db=6.0, noise_db=-70.0)
    taps = listen(audio)
    pairs, precision, recall = match_onsets(taps["time"], truth["time"], 0.025)
    assert precision >= 0.9 and recall >= 0.9
    assert (taps["kind"][pairs[:, 0]] == truth["kind"][pairs[:, 1]]).mean() >= 0.92


@pytest.mark.parametrize("gap", [0.025, 0.035, 0.060])
def test_a_quiet_tap_right_after_a_loud_one_still_fires(gap):
    """Retrigger cancellation: a toe 12 dB under a heel, 25-60 ms after it (a flam), is a tap."""
    rng = np.random.default_rng(11)
    audio = (rng.standard_normal(SR * 4) * 1e-4).astype(np.float32)
    onsets = []
    for start in (0.5, 1.3, 2.1, 2.9):
        for offset, make, gain in ((0.0, heel_sound, 0.4), (gap, toe_sound, 0.1)):
            hit = make(rng, SR) * gain
            at = int((start + offset) * SR)
            audio[at : at + len(hit)] += hit
            onsets.append((at + true_onset(hit)) / SR)
    taps = listen(audio[:, None])
    pairs, precision, recall = match_onsets(taps["time"], onsets, gap / 2)
    assert recall == 1.0 and precision == 1.0


def test_a_block_allocates_nothing_but_small_objects():
    """The callback's rule: after warm-up, no block (stage B's decisions included) needs more
    than a few kB of transient memory (numpy's and CPython's per-call objects)."""
    import tracemalloc

    audio, _ = podorhythm(6.0, SR, 120, 4, ("Heel", "toe", "heel", "toe"), seed=2, level_db=-12.0, channels=2)
    detector = TapDetector(SR, [0, 1], block_size=128)
    blocks = [np.ascontiguousarray(audio[i : i + 128]) for i in range(0, len(audio) - 127, 128)]
    for i, block in enumerate(blocks[:300]):
        detector.process(block, i * 128)
    worst = records = 0
    tracemalloc.start()
    try:
        for i, block in enumerate(blocks[300:], 300):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            records += detector.process(block, i * 128)
            worst = max(worst, tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    assert records > 20
    assert worst <= 16_384, worst


@pytest.mark.parametrize("channels", [1, 2])
def test_with_the_feet_at_rest_a_candidate_off_the_grid_needs_the_higher_bar(channels):
    """No tap confirmed for `idle_s` on any channel (a tune not begun, a pause, music alone): stage B
    must say more than during a tune. Its word is set here (a stand-in for its model) to test the
    rule; with two channels the taps alternate between them, and the rest is the detector's."""
    from dessins_de_planche.listen.detector_settings import DetectorSettings

    rng = np.random.default_rng(3)
    starts = (0.5, 0.9, 4.0, 4.4, 4.7)  # a rest of 3.1 s after the second tap; none lies on a grid
    audio = np.zeros((int(5.5 * SR), channels), np.float32)
    for i, at in enumerate(starts):
        hit = heel_sound(rng, SR) * 0.3
        audio[int(at * SR) : int(at * SR) + len(hit), i % channels] += hit
    words = [0.9, 0.6, 0.6, 0.6, 0.9]

    def heard_with(settings):
        detector = TapDetector(SR, list(range(channels)), settings=settings)
        said = iter(words)
        detector.stage_b.predict = lambda x, memory_mean=None: (next(said), 0.9)
        withdrawn = []
        heard = listen(audio, withdrawn=withdrawn, detector=detector)
        return np.round(heard["time"], 1).tolist(), len(withdrawn)

    # the first tap passes 0.8; the second, 0.4 s after it, 0.5; after the rest 0.6 is too little
    # twice over (nothing confirmed since 0.9 s), until a tap passes 0.8 again
    settings = DetectorSettings()
    assert settings.idle_s == 2.0 and settings.withdraw_when_idle == 0.8
    assert heard_with(settings) == ([0.5, 0.9, 4.7], 2)
    assert heard_with(dataclasses.replace(settings, withdraw_when_idle=None)) == ([0.5, 0.9, 4.0, 4.4, 4.7], 0)
    assert heard_with(dataclasses.replace(settings, idle_s=4.0)) == ([0.5, 0.9, 4.0, 4.4, 4.7], 0)


def test_the_bar_at_rest_from_the_last_confirmed_tap_to_a_reset_and_beside_a_calibration():
    from dessins_de_planche.listen.calibration import ChannelCalibration

    detector = TapDetector(SR, [0, 1])
    rest = 2 * SR  # idle_s in frames
    assert detector._bar(0, 0) == 0.8  # nothing confirmed yet
    detector._last_confirmed = SR
    assert detector._bar(1, SR + rest) == 0.5, "2 s after a tap on either channel: still the tune's bar"
    assert detector._bar(1, SR + rest + 1) == 0.8, "past 2 s: the feet at rest"
    detector.reset()
    assert detector._bar(0, SR + 10) == 0.8, "a reset forgets the last tap"
    # a soundcheck's bar over 0.8 holds at rest too; the bar at rest never asks more than stage B
    # said of a calibrated player's own softest taps
    calibrated = TapDetector(SR, [0, 1, 2], calibration=[ChannelCalibration(foot_bar=0.9),
                                                         ChannelCalibration(own_feet=0.6),
                                                         ChannelCalibration(foot_bar=0.55, own_feet=0.7)])
    assert [calibrated._bar(ch, 0) for ch in range(3)] == [0.9, 0.6, 0.7]
    calibrated._last_confirmed = 0
    assert [calibrated._bar(ch, SR) for ch in range(3)] == [0.9, 0.5, 0.55]


def test_excluding_a_music_family_leaves_out_its_music_and_the_taps_over_it():
    """`train_detector.py --exclude music-X`: a baseline trained as if that music had never been
    built, from the same cache of candidates (docs/corpus.md, attempt 93)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_detector

    data = {"families": np.array(["music-a", "music-b", "plank"]),
            "family": np.array([2, 2, 0, 1, 2], np.int32),
            "music_family": np.array(["music-a", "music-b", "music-a", "music-b", ""])}
    assert train_detector.not_excluded(data, ["music-a"]).tolist() == [False, True, False, True, True]
    assert train_detector.not_excluded(data, ["plank"]).tolist() == [False, False, True, True, False]
    assert train_detector.not_excluded(data, []).all()


def test_the_shipped_stage_b_carries_the_training_scripts_own_recipe():
    """The README's command (`train_detector.py --folds --threshold 0.5`, its defaults) is the one
    that gave the shipped weights: their stamp names the same lowerings, weighting and seed."""
    import sys
    from pathlib import Path

    from dessins_de_planche.listen import confirm

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_detector

    stamp = str(confirm.load_weights()["stamp"])
    recipe = train_detector.training_tag(train_detector.GENERATED_NEGATIVES, train_detector.FAMILY_BALANCED, 13)
    assert stamp.endswith(recipe), (stamp, recipe)
    assert train_detector.lowering_tag(train_detector.lowerings_of(train_detector.TRAIN_LOWER)) + ".train-" in stamp
    assert "+fb." in stamp and "+gn3" in stamp


def test_family_balanced_weights_give_every_corpus_family_the_same_share():
    """`train_detector.py --family-balanced` (attempt 94): each family of the corpus weighs as much
    as another, the classes within a family as before; the app's own clips (`generated`) keep their
    weight, and the total is unchanged."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_detector

    data = {"families": np.array(["generated", "music-a", "plank"]),
            "family": np.array([2, 2, 1, 0], np.int32), "clip": np.array([0, 0, 0, 1, 1, 2, 3, 3])}
    rows = np.ones(8, bool)
    y = np.array([1, 2, 0, 1, 0, 0, 0, 2])
    plain = train_detector.example_weights(data, rows, y, 3.0)
    balanced = train_detector.example_weights(data, rows, y, 3.0, family_balanced=True)
    family = data["family"][data["clip"]]
    assert np.isclose(plain[6], 3 * plain[5])  # (a false candidate of the app's own clips, and one over music)
    assert np.array_equal(balanced[family == 0], plain[family == 0]) and np.isclose(balanced.sum(), plain.sum())
    assert np.isclose(balanced[family == 1].sum(), balanced[family == 2].sum())
    for f in (1, 2):  # within a family, the same ratios
        ratio = balanced[family == f] / plain[family == f]
        assert np.allclose(ratio, ratio[0])
