"""What a tap detector is built from: its settings, every one in seconds or dB, and the two
learned stages' weights, read once and shared by every detector; with the version string
`analyze --json` reports as the detector that heard a file.

Its own module because the front end (`listen.front_end`), the tap logic (`listen.detector`),
calibrate and the training scripts all read the settings, and a bench swaps the weights
(`use_weights`) without building a detector.
"""

from __future__ import annotations

from dataclasses import dataclass

from dessins_de_planche.listen import confirm, onset

# The learned stages' weights, read once: every detector shares them (read-only arrays).
_WEIGHTS = confirm.load_weights()
_ONSET_WEIGHTS = onset.load_weights()
# What `analyze --json` reports as the detector that heard a file: stage A's rules (or its
# learned score's stamp) and stage B's weights stamp (corpus version, training version, seed).
RULES_VERSION = "rules-3"


def version(onset_weights, weights) -> str:
    """The detector's version with these stage A and stage B weights (either may be None)."""
    first = RULES_VERSION if onset_weights is None else f"onset-{onset_weights['stamp']}"
    return first if weights is None else f"{first}+{weights['stamp']}"


DETECTOR_VERSION = version(_ONSET_WEIGHTS, _WEIGHTS)
VELOCITY_FLOOR_DBFS = -60.0  # (`DetectorSettings.velocity_floor_dbfs`; a board's filter reads it too)


def shared_weights() -> tuple[dict | None, dict | None]:
    """The weights a detector built now uses: (stage B's, stage A's); None where there are none."""
    return _WEIGHTS, _ONSET_WEIGHTS


def use_weights(path, onset_path=None) -> str:
    """Make every detector built from now on use the stage B weights at `path` and the stage A
    weights at `onset_path` (a bench's leave-one-family-out folds; None: the shipped ones);
    returns the detector's version."""
    global _WEIGHTS, _ONSET_WEIGHTS, DETECTOR_VERSION
    weights = confirm.load_weights(path)
    if weights is None:
        raise FileNotFoundError(f"{path}: no stage B weights there")
    onset_weights = onset.load_weights(onset_path)
    if onset_path is not None and onset_weights is None:
        raise FileNotFoundError(f"{onset_path}: no stage A weights there")
    _WEIGHTS, _ONSET_WEIGHTS = weights, onset_weights
    DETECTOR_VERSION = version(onset_weights, weights)
    return DETECTOR_VERSION


@dataclass(frozen=True)
class DetectorSettings:
    """Every parameter in seconds or dB, so any sample rate behaves the same."""

    hop_s: float = 1 / 750  # the analysis grid (64 samples at 48 kHz); the window is two hops
    frame_s: float = 1 / 1500  # the calibration's noise measure (32 samples at 48 kHz)
    onset_db: float = 6.5  # summed rise over the bands (dB) that starts a tap
    rise_db: float = 3.0  # a band counts what rises over its decaying recent peak plus this
    band_cap_db: float = 8.0  # ... up to this much: one band alone (a hum's phase, a low note) never fires
    threshold_db: float = 3.0  # ... and over its noise floor plus this
    rise_span_s: float = 0.003  # a rise is measured against frames at least this far back
    hold_s: float = 0.011  # ... against the loudest of the last hold_s of them (a low tone's beat)
    ref_decay_db_per_ms: float = 0.8  # how fast the expected tail of what was heard falls
    floor_dbfs: float = -65.0  # frames quieter than this (RMS) never start a tap
    min_gap_s: float = 0.020  # a channel's next tap at least this long after the last (>= stage B's 16 ms)
    background_quantile: float = 0.2  # the noise floor is this quantile of recent band levels
    background_smooth_s: float = 0.01
    background_up_db_per_s: float = 60.0  # it rises at most this fast
    velocity_window_s: float = 0.010
    # velocity 0 here, and a hit whose peak stays under it is withdrawn (too faint for a foot): a
    # board gain-staged to -40 dBFS peaks puts its softest toes at -57 (accents 4-14 dB under, toes
    # 3 more); at -50 dBFS those were all withdrawn (docs/corpus.md, attempt 55)
    velocity_floor_dbfs: float = VELOCITY_FLOOR_DBFS
    heel_toe_split_hz: float = 1900.0  # the provisional kind: the new energy's centroid
    heel_low_share: float = 0.3  # the rules' final kind: a heel puts this share of its energy below low_cut_hz
    low_cut_hz: float = 300.0
    kind_window_s: float = 0.010
    crosstalk_s: float = 0.002  # several channels: one strike heard by all is one tap, on the loudest
    warmup_s: float = 0.02  # after reset or a gap: learn the levels, do not fire
    learn_s: float = 0.6  # after reset: the noise floor moves 4x faster
    dc_s: float = 0.5
    onset_offset_s: float = 0.0  # the onset lies this long before the middle of the firing window
    # stage B: the learned confirm/withdraw, heard `confirm.SPAN_S` (16 ms) after the onset
    learned_onset: bool = True  # stage A's learned score fires taps (False, or no weights: onset_db's rule)
    stage_b: bool = True  # False: every candidate is confirmed by the rules alone
    withdraw_below: float | None = 0.5  # a foot's probability under this withdraws (None: the weights' own)
    # ... but under this only, on the grid the confirmed taps have set (`grid.TapGrid`; None: no grid)
    withdraw_on_grid: float | None = 0.02
    grid_tolerance_s: float = 0.015  # on the grid: this near one of the recent gaps after the last tap,
    grid_tolerance_share: float = 0.1  # ... or this share of that gap where more
    grid_memory_s: float = 3.0  # the recent gaps: between the confirmed taps of the last this long (9 at most)
    # while no tap has been confirmed for `idle_s` (the feet at rest, a tune not yet begun: music alone,
    # or nobody at the board), a candidate off the grid must pass `withdraw_when_idle` instead: the
    # music's onsets are most of what stage A fires on then (docs/corpus.md, attempt 76). None: no such bar
    idle_s: float = 2.0
    withdraw_when_idle: float | None = 0.8
