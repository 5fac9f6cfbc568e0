"""Calibration of a real board: per-channel level floor, gain and heel/toe split, measured on
the player's own board and shoes, kept in the user's config folder.

`dessins-de-planche calibrate` records a moment of quiet, then heel taps, then toe taps, and
(`--music`) the band's music heard alone, a soundcheck; `measure` turns those recordings into a
`ChannelCalibration` per channel (on a multi-channel board whose bleed was learned in the same
calibration, only the taps its filter calls strikes count: a bleed is no tap of its channel);
`save`/`load` keep them in `calibration.toml` (platformdirs' user config folder). The detector takes
one per channel (`TapDetector(calibration=...)`) live and in `analyze`; a channel without
one uses the defaults, which meet the targets on the corpus by themselves.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dessins_de_planche.events import RECORD_REFINE
from dessins_de_planche.listen import detector_settings
from dessins_de_planche.listen.detector import TapDetector
from dessins_de_planche.listen.detector_settings import DetectorSettings
from dessins_de_planche.listen.foot_kind import FootKind

FILE_NAME = "calibration.toml"
FORMAT = 1


@dataclass(frozen=True)
class ChannelCalibration:
    gain: float = 1.0  # weight of this sensor's level when one strike is heard on several
    floor_dbfs: float | None = None  # frames quieter than this never start a tap (None: default)
    heel_low_share: float | None = None  # a hit with more of its energy below 300 Hz is a heel
    heel_share: float | None = None  # what was measured (median over the heel taps)
    toe_share: float | None = None  # (median over the toe taps)
    taps: int = 0  # taps the calibration heard on this channel
    heel_bias: float | None = None  # the heel word's logit moved by this on the player's shoes (over the split)
    # that word: stage B's read beside the player's feet (`listen.foot_kind`) when true; stage B's
    # own when absent (a calibration from before stop 29 is read as it was tuned)
    heel_bias_beside_feet: bool | None = None
    kinds_right: int | None = None  # of the calibration's taps, those whose kind the tuned detector calls right
    # the soundcheck: stage B's bar off the grid, raised over what it said of the band's music
    # heard alone (None: the default bar), and how many of the music's onsets it judged
    foot_bar: float | None = None
    music_onsets: int | None = None
    # what stage B said of the player's softest calibration taps (their TAPS_KEPT_QUANTILE): a
    # later soundcheck alone (`calibrate --music-only`) never asks more than that
    own_feet: float | None = None


def config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("dessins-de-planche")) / FILE_NAME


def save(table: dict[int, ChannelCalibration], path: Path | None = None) -> Path:
    """Write {1-based channel: calibration} as TOML."""
    import tomli_w

    path = Path(path or config_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = {str(int(channel)): {key: round(value, 4) if isinstance(value, float) else value
                                    for key, value in asdict(table[channel]).items() if value is not None}
                for channel in sorted(table)}
    kept = {}  # the file's other tables stay: a sensor board's [midi] (inputs/board_table.py)
    if path.exists():
        try:
            kept = {k: v for k, v in tomllib.loads(path.read_text(encoding="utf-8")).items()
                    if k not in ("format", "channel")}
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            pass
    tmp = path.with_suffix(".tmp")
    tmp.write_text("# Dessins de Planche: measured by `dessins-de-planche calibrate`; edit or delete freely\n"
                   + tomli_w.dumps({"format": FORMAT, "channel": channels, **kept}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load(path: Path | None = None) -> dict[int, ChannelCalibration]:
    """{1-based channel: calibration}; {} when there is no file. A broken file raises ValueError
    naming the file, key and what would be right."""
    path = Path(path or config_path())
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid TOML ({error}); run `dessins-de-planche calibrate` again "
                         "or delete it") from None
    fields = set(ChannelCalibration.__dataclass_fields__)
    table = {}
    for name, values in (data.get("channel") or {}).items():
        if not str(name).isdigit() or not isinstance(values, dict):
            raise ValueError(f"{path}: [channel.{name}] should be [channel.N] with N a channel number")
        unknown = set(values) - fields
        if unknown:
            raise ValueError(f"{path}: [channel.{name}] has unknown keys {sorted(unknown)}; "
                             f"known: {sorted(fields)}")
        table[int(name)] = ChannelCalibration(**values)
    return table


def for_channels(table: dict[int, ChannelCalibration], channels) -> tuple:
    """The calibration of each 1-based channel in order (None where there is none)."""
    return tuple(table.get(int(c)) for c in channels)


# the soundcheck's bar: this quantile of stage B's foot probability on the band's music alone, at
# most FOOT_BAR_CAP, and never over this quantile of the player's own calibration taps' (on the
# corpus, each clip's bar from another tune of its band: music false alarms 34.1 -> 22.4 a minute,
# F1 0.817 -> 0.815; docs/corpus.md, attempts 71 and 73)
MUSIC_QUANTILE = 0.99
FOOT_BAR_CAP = 0.95
TAPS_KEPT_QUANTILE = 0.05

BoardFilter = Callable[[float], object]  # the detector's velocity floor (dBFS) -> a fresh multi-channel board's
# filter (inputs/board.py `AudioBoardFilter`)
STRIKE_APART_S = 0.06  # several channels: taps closer than this are one strike heard on several (counting)


def heard_taps(audio: np.ndarray, sample_rate: int, channels, block_size: int = 128,
               settings: DetectorSettings | None = None, board_filter: BoardFilter | None = None):
    """Taps in a recording (frames, device channels) as (channel index, peak, low share, stage B's
    heel probability or None), with the live detector: the low share is measured on the
    detector's own history when it refines; the probability is stage B's own word on that tap
    (before `listen.foot_kind` reads it beside the player's feet).
    `board_filter`: several channels of a board whose bleed is known: the detector hears each
    channel on its own and only the taps that filter calls strikes are kept, as `run` decides."""
    return [tap[1:5] for tap in _heard(audio, sample_rate, channels, block_size, settings, board_filter)]


def _heard(audio, sample_rate, channels, block_size, settings, board_filter):
    """`heard_taps`, each tap with its onset (frames) first, then stage B's foot probability and
    the features it read (None without stage B's weights)."""
    # the player taps when asked, with pauses between: every tap is heard as during a tune (no idle bar)
    settings = dataclasses.replace(settings or DetectorSettings(), withdraw_when_idle=None)
    if board_filter is not None:  # the board's filter decides between channels, as in `run`
        settings = dataclasses.replace(settings, crosstalk_s=0.0)
    detector = TapDetector(sample_rate, [c - 1 for c in channels], block_size=block_size, settings=settings)
    board = None
    if board_filter is not None:
        board = board_filter(detector.settings.velocity_floor_dbfs)
        board.struck = []
    detector.collect = []  # stage B's word on each tap (offline: a calibration is a recording)
    found = {}
    for start in range(0, len(audio), block_size):
        count = detector.process(audio[start : start + block_size], start)
        words = {(int(c), int(onset)): (foot, heel, x) for c, onset, x, foot, heel, _v in detector.collect}
        detector.collect.clear()
        for k in range(count):
            if board is not None:
                board.take(detector.out_onset[k], int(detector.out_channel[k]), float(detector.out_velocity[k]),
                           int(detector.out_kind[k]), int(detector.out_tap_id[k]), int(detector.out_refine[k]))
            if detector.out_refine[k] == RECORD_REFINE:  # a confirmed tap (never one withdrawn)
                channel = int(detector.out_channel[k])
                word = words.get((channel, int(detector.out_onset[k])))
                learned = word is not None and detector.stage_b.weights is not None
                foot, heel, x = (float(word[0]), float(word[1]), word[2]) if learned else (None, None, None)
                onset = int(detector.out_onset[k] - 0.5 * detector.hop)
                found[int(detector.out_tap_id[k])] = (int(detector.out_onset[k]), channel,
                                                      float(detector.out_velocity[k]),
                                                      detector.low_share(channel, onset), heel, foot, x)
        if board is not None:
            board.decide(start + block_size)
    if board is None:
        return list(found.values())
    board.decide(float("inf"))  # the recording's end: what is left, on what was heard
    strikes = set(board.struck)
    return [tap for tap_id, tap in found.items() if tap_id in strikes]


def music_feet(music: np.ndarray, sample_rate: int, channels, block_size: int = 128,
               board: bool = False) -> list[list[float]] | None:
    """Stage B's foot probability of every onset stage A fired on in the band's music heard alone,
    per channel (confirmed or withdrawn alike); None without stage B's weights (the rules confirm
    every onset then, and there is no bar to raise). `board`: a multi-channel board whose filter
    decides between channels, so that each channel hears every onset on its own, as in `run`."""
    settings = DetectorSettings(crosstalk_s=0.0) if board else None
    detector = TapDetector(sample_rate, [c - 1 for c in channels], block_size=block_size, settings=settings)
    if detector.stage_b is None or detector.stage_b.weights is None:
        return None
    detector.collect = []
    feet = [[] for _ in channels]
    for start in range(0, len(music), block_size):
        detector.process(music[start : start + block_size], start)
        for channel, _onset, _x, foot, _heel, _v in detector.collect:
            feet[channel].append(float(foot))
        detector.collect.clear()
    return feet


def own_feet(taps: list[float]) -> float | None:
    """What stage B said of the player's softest taps (`TAPS_KEPT_QUANTILE` of its foot
    probabilities), the most a soundcheck's bar may ask; None without any."""
    return round(float(np.quantile(taps, TAPS_KEPT_QUANTILE)), 3) if taps else None


def foot_bar(music: list[float], feet: float | None) -> float | None:
    """The soundcheck's bar for one channel: over what stage B said of the band's music
    (`MUSIC_QUANTILE`, at most `FOOT_BAR_CAP`), never over what it said of the player's own taps
    (`feet`: `own_feet`, None where unknown); None where it would not raise the default bar."""
    if not music:
        return None
    default = DetectorSettings().withdraw_below
    bar = min(float(np.quantile(music, MUSIC_QUANTILE)), FOOT_BAR_CAP)
    if feet is not None:
        bar = min(bar, feet)
    return round(bar, 3) if bar > default else None


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def fine_tune_heel(heels: list[float], toes: list[float]) -> tuple[float, int]:
    """Stage B's heel/toe fine-tuned on the player's own taps (stage B's heel probabilities of
    known heels and toes): the smallest shift of its heel logit that calls the most of them
    right, halfway between two of them (none when the untuned word does as well); (shift,
    taps then right). The least change to the learned word that a dozen taps can justify; on the
    corpus's held-out families as good as the widest gap's middle (bench/heel_toe.py: 0.925, 0.924)."""
    heel_logits = [_logit(p) for p in heels]
    toe_logits = [_logit(p) for p in toes]

    def right(cut: float) -> int:  # a tap is a heel where its logit is over the cut: the shift is -cut
        return sum(v > cut for v in heel_logits) + sum(v <= cut for v in toe_logits)

    points = sorted(heel_logits + toe_logits)
    cuts = [points[0] - 1.0] + [0.5 * (a + b) for a, b in zip(points, points[1:])] + [points[-1] + 1.0]
    best = max(right(cut) for cut in cuts)
    if right(0.0) >= best:
        return 0.0, right(0.0)
    cut = min((c for c in cuts if right(c) == best), key=abs)
    return float(min(max(-cut, -8.0), 8.0)), best


def measure(quiet: np.ndarray, heels: np.ndarray, toes: np.ndarray, sample_rate: int, channels,
            block_size: int = 128, board_filter: BoardFilter | None = None,
            music: np.ndarray | None = None) -> dict[int, ChannelCalibration]:
    """Calibration per 1-based channel from a quiet moment, heel taps and toe taps (`board_filter`:
    see `heard_taps`; a channel then counts only the strikes on it, not other channels' bleed), and
    the band's music heard alone where there was a soundcheck."""
    defaults = DetectorSettings()
    heard_heels = _heard(heels, sample_rate, channels, block_size, None, board_filter)
    heard_toes = _heard(toes, sample_rate, channels, block_size, None, board_filter)
    head = FootKind.of(detector_settings.shared_weights()[0])  # the word the detector reads heel or toe on
    heel_taps, toe_taps = _beside_own_feet(heard_heels, heard_toes, head)
    by_music = None if music is None else music_feet(music, sample_rate, channels, block_size,
                                                     board=board_filter is not None)
    table = {}
    for index, channel in enumerate(channels):
        signal = quiet[:, channel - 1].astype(np.float64)
        signal = signal - signal.mean()
        hop = max(4, int(round(defaults.frame_s * sample_rate)))
        frames = signal[: len(signal) // hop * hop].reshape(-1, hop)
        noise_dbfs = 10 * math.log10(float(np.percentile((frames ** 2).mean(axis=1), 90)) + 1e-20)
        heel = [share for c, _, share, _ in heel_taps if c == index]
        toe = [share for c, _, share, _ in toe_taps if c == index]
        velocities = [v for c, v, _, _ in heel_taps + toe_taps if c == index]
        # the floor: 10 dB over this room's noise, never above 30 dB under the softest tap
        floor = noise_dbfs + 10.0
        if velocities:
            softest_dbfs = min(velocities) * -defaults.velocity_floor_dbfs + defaults.velocity_floor_dbfs
            floor = min(floor, softest_dbfs - 30.0)
        floor = max(floor, defaults.floor_dbfs)
        split = None
        if len(heel) >= 2 and len(toe) >= 2:
            low_heel, high_toe = float(np.percentile(heel, 20)), float(np.percentile(toe, 80))
            split = 0.5 * (low_heel + high_toe) if low_heel > high_toe else None
        bias, right = _stage_b_bias(heel_taps, toe_taps, index, split)
        feet = own_feet([tap[5] for tap in heard_heels + heard_toes if tap[1] == index and tap[5] is not None])
        bar = None if by_music is None else foot_bar(by_music[index], feet)
        table[channel] = ChannelCalibration(
            gain=1.0, floor_dbfs=round(floor, 1), heel_low_share=None if split is None else round(split, 3),
            heel_share=round(float(np.median(heel)), 3) if heel else None,
            toe_share=round(float(np.median(toe)), 3) if toe else None, taps=len(heel) + len(toe),
            heel_bias=None if bias is None else round(bias, 3), kinds_right=right, foot_bar=bar,
            heel_bias_beside_feet=True if bias is not None and head is not None else None,
            music_onsets=None if by_music is None else len(by_music[index]), own_feet=feet)
    return table


def _beside_own_feet(heard_heels: list, heard_toes: list, head: FootKind | None) -> tuple[list, list]:
    """The heel and toe taps as `heard_taps` gives them, stage B's heel probability read beside the
    player's own feet as the live detector reads a tune's (`listen.foot_kind`), so that stage B is
    tuned to the shoes on the word the show will use: each tap beside the channel's other
    calibration taps, heels and toes together (live, a tap is read before it joins the memory, and
    a tune's memory holds both). Stage B's own where its weights carry no such word (`head` None)."""
    if head is None:
        return [tap[1:5] for tap in heard_heels], [tap[1:5] for tap in heard_toes]
    features = {}
    for tap in heard_heels + heard_toes:
        if tap[6] is not None:
            features.setdefault(tap[1], []).append(tap[6])
    # each channel's means, in the order its taps come below (heels, then toes)
    means = {channel: iter(head.means_without_each(np.array(rows))) for channel, rows in features.items()}

    def read(tap):
        if tap[4] is None:
            return tap[1:5]
        return tap[1], tap[2], tap[3], head.heel(tap[4], tap[6], next(means[tap[1]]))

    return [read(tap) for tap in heard_heels], [read(tap) for tap in heard_toes]


def soundcheck(music: np.ndarray, sample_rate: int, channels, earlier: dict[int, ChannelCalibration],
               block_size: int = 128, board: bool = False) -> dict[int, ChannelCalibration]:
    """A soundcheck alone, for a board and shoes calibrated before (`earlier`, {1-based channel:
    calibration}): each channel's calibration with the new bar, capped by what stage B said of the
    player's taps then (`own_feet`); a channel never calibrated gets the bar alone."""
    by_music = music_feet(music, sample_rate, channels, block_size, board=board)
    table = {}
    for index, channel in enumerate(channels):
        tuned = earlier.get(channel) or ChannelCalibration()
        if by_music is None:
            table[channel] = dataclasses.replace(tuned, foot_bar=None, music_onsets=None)
            continue
        table[channel] = dataclasses.replace(tuned, foot_bar=foot_bar(by_music[index], tuned.own_feet),
                                             music_onsets=len(by_music[index]))
    return table


def _stage_b_bias(heel_taps, toe_taps, index: int, split: float | None) -> tuple[float | None, int | None]:
    """Stage B's heel shift for this channel, when stage B fine-tuned calls at least as many of
    the player's taps right as the low-share split does (else None: the split decides), and how
    many of them the chosen way calls right (None: neither could be measured)."""
    by_split = None
    if split is not None:
        by_split = (sum(s > split for c, _, s, _ in heel_taps if c == index)
                    + sum(s <= split for c, _, s, _ in toe_taps if c == index))
    heels = [p for c, _, _, p in heel_taps if c == index and p is not None]
    toes = [p for c, _, _, p in toe_taps if c == index and p is not None]
    if len(heels) < 2 or len(toes) < 2:
        return None, by_split
    bias, right = fine_tune_heel(heels, toes)
    if by_split is not None and by_split > right:
        return None, by_split
    return bias, right


def count_taps(audio: np.ndarray, sample_rate: int, channels, block_size: int = 128) -> int:
    """Taps heard; on several channels, strikes (taps within STRIKE_APART_S of a strike's first are
    that strike heard on several channels: a bleed later than the detector's own window is no tap)."""
    onsets = sorted(tap[0] for tap in _heard(audio, sample_rate, channels, block_size, None, None))
    if len(tuple(channels)) < 2:
        return len(onsets)
    strikes, first = 0, None
    for onset in onsets:
        if first is None or onset - first > STRIKE_APART_S * sample_rate:
            strikes, first = strikes + 1, onset
    return strikes

