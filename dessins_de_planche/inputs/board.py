"""Which of a board's taps are strikes, at run time, by what its calibration learned (the calibration:
inputs/board_table.py; its learning: inputs/board_learn.py).

A sensor board (a note-on per sensor) hears every strike on every sensor, a little later and softer
on the ones not struck, and a player shifting weight makes sensors fire softly. In `BoardFilter`
(in the MIDI listener's thread) a note-on is bleed only if it looks like bleed: within the learned
delay of a stronger tap on another sensor and within the learned ratio of its velocity, both with a
margin. Anything else is a tap, even at the same moment: two feet landing together are two taps. A
bleed that comes before its strike's own note (a sensor the board scans first) is found when the
strike's note arrives: the tap already sent moves to the struck zone (a refine record), as the
winner-take-all window does without a calibration. A lone note under its sensor's floor is a weight
shift.

A multi-channel audio board is filtered the same way in the audio callback (`AudioBoardFilter`).
"""

from __future__ import annotations

from dessins_de_planche.inputs.board_table import BoardCalibration
from dessins_de_planche.listen.detector_settings import VELOCITY_FLOOR_DBFS

# -- a sensor board ------------------------------------------------------------------------------------
# Margins over what calibration saw: a few strikes show most of the spread, not all of it.
RATIO_MARGIN = 1.25  # a bleed may be this much louder (relative to its strike) than the loudest seen
RATIO_SLACK = 2 / 127  # and two velocity steps more (a soft strike's bleed is a few steps, rounded)
DELAY_MARGIN = 1.5  # and come this much later than the latest seen
DELAY_SLACK_S = 0.003  # plus a JACK period or a board's scan: notes reach us in batches
RECENT = 16  # taps remembered to explain a bleed (a window of a few tens of ms holds a handful)

TAP, BLEED, EARLIER_WAS_BLEED, WEIGHT_SHIFT = 0, 1, 2, 3


class BoardFilter:
    """Which note-ons are taps. Runs in the MIDI listener's thread: fixed tables built once,
    a fixed ring of recent taps, no I/O, no lock, nothing that waits.

    `classify` answers one of TAP, BLEED (of the recent tap in slot `self.match`),
    EARLIER_WAS_BLEED (the recent tap in slot `self.match` was this strike's bleed, heard first:
    move it here) or WEIGHT_SHIFT."""

    def __init__(self, board: BoardCalibration):
        self.floor = [0.0] * 128
        for note, sensor in board.sensors.items():
            self.floor[note] = sensor.floor
        # per (struck note * 128 + hearing note): the loudest bleed ratio allowed, and the window
        # after (and before) the strike's note in which its bleed may come; -1: never bleed
        self.ratio = [0.0] * (128 * 128)
        self.after = [-1.0] * (128 * 128)
        self.before = [-1.0] * (128 * 128)
        longest = 0.0
        for (source, note), b in board.bleed.items():
            k = source * 128 + note
            self.ratio[k] = b.ratio_max * RATIO_MARGIN + RATIO_SLACK
            self.after[k] = max(b.delay_max, 0.0) * DELAY_MARGIN + DELAY_SLACK_S
            self.before[k] = max(-b.delay_min, 0.0) * DELAY_MARGIN + DELAY_SLACK_S
            longest = max(longest, self.after[k], self.before[k])
        self.longest = longest
        self.at = [float("-inf")] * RECENT  # recent taps: time, note, velocity, tap id, zone
        self.note = [0] * RECENT
        self.velocity = [0.0] * RECENT
        self.tap_id = [0] * RECENT
        self.zone = [0] * RECENT
        self.next = 0
        self.match = -1
        self.dropped_at = [float("-inf")] * RECENT  # recent weight shifts: a scanned-first sensor's bleed
        self.dropped_note = [0] * RECENT  # comes before its strike, under the floor, and is a bleed after all
        self.dropped_velocity = [0.0] * RECENT
        self.dropped_zone = [0] * RECENT
        self.dropped_next = 0

    def classify(self, now: float, note: int, velocity: float) -> int:
        at, notes, velocities = self.at, self.note, self.velocity
        for back in range(1, RECENT + 1):  # newest first, until older than any window
            i = (self.next - back) % RECENT
            age = now - at[i]
            if age > self.longest:
                break
            other = notes[i]
            if other == note:
                continue
            k = other * 128 + note
            if age <= self.after[k] and velocity <= self.ratio[k] * velocities[i]:
                self.match = i
                return BLEED
            k = note * 128 + other
            if age <= self.before[k] and velocities[i] <= self.ratio[k] * velocity:
                self.match = i
                return EARLIER_WAS_BLEED
        if velocity < self.floor[note]:
            return WEIGHT_SHIFT
        return TAP

    def remember(self, now: float, note: int, velocity: float, tap_id: int, zone: int) -> None:
        """A tap went out: later notes may be its bleed."""
        i = self.next
        self.at[i], self.note[i], self.velocity[i], self.tap_id[i], self.zone[i] = now, note, velocity, tap_id, zone
        self.next = (i + 1) % RECENT

    def dropped(self, now: float, note: int, velocity: float, zone: int) -> None:
        """A weight shift was dropped: a strike's note coming next may show it was its bleed."""
        i = self.dropped_next
        self.dropped_at[i], self.dropped_note[i], self.dropped_velocity[i], self.dropped_zone[i] = (
            now, note, velocity, zone)
        self.dropped_next = (i + 1) % RECENT

    def earlier_drop(self, now: float, note: int, velocity: float) -> int:
        """The slot of a recent weight shift that was this tap's bleed heard first (-1: none); it is forgotten."""
        for back in range(1, RECENT + 1):
            i = (self.dropped_next - back) % RECENT
            age = now - self.dropped_at[i]
            if age > self.longest:
                return -1
            k = note * 128 + self.dropped_note[i]
            if self.dropped_note[i] != note and age <= self.before[k] and (
                    self.dropped_velocity[i] <= self.ratio[k] * velocity):
                self.dropped_at[i] = float("-inf")
                return i
        return -1

    def moved(self, i: int, note: int, velocity: float, zone: int) -> None:
        """The recent tap in slot i is now the strike on `note` (its time stays)."""
        self.note[i], self.velocity[i], self.zone[i] = note, velocity, zone


# -- a multi-channel audio board ------------------------------------------------------------------------
# Piezos under each zone into a multi-channel audio interface, a channel per zone: one strike is
# heard on every channel, softer and later on the ones not struck, and the detector fires on each.
# `calibrate --audio-device --channels 1,2,...` learns it as for the sensors (board_learn.py
# `learn_audio`, with each confirmed tap as (time, channel, peak amplitude)); it is stored as the
# `[audio_board]` table (board_table.py). At run time (`AudioBoardFilter`, in the audio callback after
# the detector, whose own winner-take-all is then off) a tap is bleed only if it looks like the
# learned bleed.
AUDIO_RATIO_MARGIN = 1.25  # a bleed may be this much louder (relative to its strike) than the loudest seen
AUDIO_RATIO_SLACK = 0.01  # plus this (the room's noise and a ringing channel's own tail add to a soft bleed)
AUDIO_DELAY_SLACK_S = 0.003  # onsets sit on the detector's 1.33 ms grid and jitter by a hop or two
AUDIO_DECIDE_S = 0.005  # a strike is decided once no later tap can join it: this long after its last onset's window
AUDIO_WORD_WAIT_S = 0.1  # and its taps' word has come (the detector's, 16-20 ms after each onset), or this long more


def amplitude(velocity: float, floor_dbfs: float = VELOCITY_FLOOR_DBFS) -> float:
    """The detector's velocity (a log scale, floor_dbfs -> 0, 0 dBFS -> 1) as a peak amplitude."""
    return 10.0 ** ((1.0 - float(velocity)) * floor_dbfs / 20.0)


# what became of a tap of the multi-channel board (AudioBoardFilter.counts' index)
A_TAP, A_BLEED, A_SHIFT = 0, 1, 2
_ID, _CH, _ONSET, _VEL, _AMP, _KIND, _WORD, _EMITTED, _FATE, _SOURCE = range(10)
_NO_WORD, _REFINED, _WITHDRAWN = 0, 1, 2


class AudioBoardFilter:
    """Which of the detector's taps on a multi-channel audio board are strikes (in the audio callback).

    The detector hears every channel on its own (its winner-take-all off). Taps whose onsets lie
    within the board's longest learned bleed window of each other are one cluster; a cluster's
    first tap goes out at once (unless it is under its channel's floor), the others wait. Once every
    tap of a cluster has the detector's word (its final peak, 10 ms from its onset, the same measure
    calibration learned from) the cluster is decided, loudest first: a tap is bleed when a louder
    tap of the cluster (or just before it) on another channel explains it, within the learned
    delay and ratio (with margins); else a tap under its channel's floor is a weight shift; else a
    strike, kept even at the same moment as another. A first tap that turns out to be another
    channel's bleed heard first is moved to that channel (a refine record), one under the floor
    is withdrawn.

    `take` feeds a detector record; `decide(now_frame)` appends what goes out to `self.out`, as
    (onset frame, channel index, velocity, kind, tap id, record kind, zone channel index).
    Channels are detector channel indices; the calibration's are 1-based device channels."""

    def __init__(self, board: BoardCalibration, channel_numbers, sample_rate: float,
                 floor_dbfs: float = VELOCITY_FLOOR_DBFS):
        self.sample_rate = sr = float(sample_rate)
        numbers = [int(c) for c in channel_numbers]
        n = self.channels = len(numbers)
        self.floor_dbfs = floor_dbfs
        self.floor = [0.0] * n
        for i, c in enumerate(numbers):
            if c in board.sensors:
                self.floor[i] = board.sensors[c].floor
        self.ratio = [[0.0] * n for _ in range(n)]  # [struck][hearing]
        self.after = [[-1.0] * n for _ in range(n)]  # frames the bleed may come after the strike's onset
        self.before = [[-1.0] * n for _ in range(n)]  # ... or before it
        longest = 0.0
        for i, a in enumerate(numbers):
            for j, b in enumerate(numbers):
                bleed = board.bleed.get((a, b))
                if i == j or bleed is None:
                    continue
                self.ratio[i][j] = bleed.ratio_max * AUDIO_RATIO_MARGIN + AUDIO_RATIO_SLACK
                self.after[i][j] = (max(bleed.delay_max, 0.0) * DELAY_MARGIN + AUDIO_DELAY_SLACK_S) * sr
                self.before[i][j] = (max(-bleed.delay_min, 0.0) * DELAY_MARGIN + AUDIO_DELAY_SLACK_S) * sr
                longest = max(longest, self.after[i][j], self.before[i][j])
        self.longest = longest
        self.settle = longest + AUDIO_DECIDE_S * sr
        self.give_up = self.settle + AUDIO_WORD_WAIT_S * sr
        self.clusters: list[list[list]] = []  # open clusters: lists of taps (`_ID` ... `_SOURCE`)
        self.recent: list[list] = []  # taps of decided clusters that may explain a later one (sources)
        self.by_id: dict[int, list] = {}
        self.out: list[tuple] = []
        self.counts = [[0, 0, 0] for _ in range(n)]  # per channel: strikes, bleed suppressed, weight shifts
        self.struck = None  # a list: the tap ids decided strikes (offline: calibrate's heel and toe steps)

    def take(self, onset: float, channel: int, velocity: float, kind: int, tap_id: int, record: int) -> None:
        if record == 0:
            tap = [tap_id, channel, float(onset), float(velocity), amplitude(velocity, self.floor_dbfs), kind,
                   _NO_WORD, False, -1, None]
            cluster = self.clusters[-1] if self.clusters else None
            if cluster is not None and onset - max(t[_ONSET] for t in cluster) <= self.longest:
                cluster.append(tap)
            else:
                self.clusters.append([tap])
                if tap[_AMP] >= self.floor[channel] and not self._near_recent(tap):
                    tap[_EMITTED] = True
                    self.out.append((onset, channel, velocity, kind, tap_id, 0, channel))
            self.by_id[tap_id] = tap
            return
        tap = self.by_id.get(tap_id)
        if tap is None:
            return
        tap[_WORD] = _WITHDRAWN if record == 2 else _REFINED
        tap[_VEL], tap[_AMP], tap[_KIND] = float(velocity), amplitude(velocity, self.floor_dbfs), kind

    def _near_recent(self, tap) -> bool:
        """A decided source just before it may explain it: wait for the word."""
        for source in self.recent:
            if source[_CH] != tap[_CH] and tap[_ONSET] - source[_ONSET] <= self.longest:
                return True
        return False

    def decide(self, now: float) -> None:
        """Decide every cluster whose taps all have their word and that no later tap can join (at a
        stream's end, `decide(float("inf"))` decides what is left on what was heard)."""
        while self.clusters:
            cluster = self.clusters[0]
            last = max(t[_ONSET] for t in cluster)
            if now - last < self.settle:
                return
            if any(t[_WORD] == _NO_WORD for t in cluster) and now - last < self.give_up:
                return  # (a word that never comes, a stream cut short: decided on what was heard)
            self.clusters.pop(0)
            self._decide(cluster)

    def _explained(self, sources, tap):
        """The source whose bleed this tap is (the largest share of it), or None. Bleeds add up: two
        feet landing together are heard on a third channel as the sum of their bleeds."""
        j, allowed, best, most = tap[_CH], 0.0, None, 0.0
        for source in sources:
            i = source[_CH]
            if i == j:
                continue
            delay = tap[_ONSET] - source[_ONSET]
            window = self.after[i][j] if delay >= 0 else self.before[i][j]
            if window >= 0 and abs(delay) <= window:
                share = self.ratio[i][j] * source[_AMP]
                allowed += share
                if share > most:
                    best, most = source, share
        return best if best is not None and tap[_AMP] <= allowed else None

    def _decide(self, cluster) -> None:
        start = min(t[_ONSET] for t in cluster)
        self.recent = [s for s in self.recent if start - s[_ONSET] <= self.longest]
        sources = list(self.recent)
        for tap in sorted(cluster, key=lambda t: -t[_AMP]):
            source = self._explained(sources, tap)
            if source is not None:
                tap[_FATE], tap[_SOURCE] = A_BLEED, source
            elif tap[_WORD] == _WITHDRAWN:
                sources.append(tap)  # not a foot, but its bleed is not one either
            elif tap[_AMP] < self.floor[tap[_CH]]:
                tap[_FATE] = A_SHIFT
            else:
                tap[_FATE] = A_TAP
                sources.append(tap)
        out, counts = self.out, self.counts
        carried, moved = set(), set()  # a strike whose tap went out already as its bleed heard first: moved there
        for tap in cluster:
            source = tap[_SOURCE]
            if (tap[_EMITTED] and tap[_FATE] == A_BLEED and source[_FATE] == A_TAP and not source[_EMITTED]
                    and id(source) not in carried and any(source is t for t in cluster)):
                carried.add(id(source))
                moved.add(id(tap))
                out.append((tap[_ONSET], source[_CH], source[_VEL], source[_KIND], tap[_ID], 1, source[_CH]))
        if self.struck is not None:  # offline, never in a live callback
            self.struck.extend(tap[_ID] for tap in cluster if tap[_FATE] == A_TAP)
        for tap in sorted(cluster, key=lambda t: t[_ONSET]):
            fate, ch = tap[_FATE], tap[_CH]
            self.by_id.pop(tap[_ID], None)
            if fate == A_TAP:
                counts[ch][A_TAP] += 1
                if id(tap) not in carried:
                    if not tap[_EMITTED]:
                        out.append((tap[_ONSET], ch, tap[_VEL], tap[_KIND], tap[_ID], 0, ch))
                    out.append((tap[_ONSET], ch, tap[_VEL], tap[_KIND], tap[_ID], 1, ch))
            elif fate == A_BLEED:
                counts[ch][A_BLEED] += 1
                if tap[_EMITTED] and id(tap) not in moved:
                    out.append((tap[_ONSET], ch, tap[_VEL], tap[_KIND], tap[_ID], 2, ch))
            else:  # withdrawn by the detector, or a weight shift
                if fate == A_SHIFT:
                    counts[ch][A_SHIFT] += 1
                if tap[_EMITTED]:
                    out.append((tap[_ONSET], ch, tap[_VEL], tap[_KIND], tap[_ID], 2, ch))
            if fate in (A_TAP, -1):
                self.recent.append(tap)


# -- the input process's use of it ----------------------------------------------------------------------
def usable_audio_board(board, channels):
    """A multi-channel board's calibration when it knows every channel listened to (else None: the
    detector's own crosstalk rule, as without one)."""
    if board is None or len(channels) < 2:
        return None
    missing = [c for c in channels if c not in board.sensors]
    if missing:
        import logging

        logging.getLogger(__name__).warning(
            "the board's calibration has no channel %s: listening with the detector's own crosstalk rule "
            "(calibrate --audio-device ... --channels %s)", ",".join(map(str, missing)), ",".join(map(str, channels)))
        return None
    return board


def board_detector(sample_rate: int, channels, block_size: int, tuned=(), board=None):
    """The detector for these 1-based channels, and a multi-channel board's filter (None without a
    calibration): with one, the detector hears each channel on its own and the filter decides
    which taps are strikes (inputs/board.py `AudioBoardFilter`)."""
    from dessins_de_planche.listen.detector import TapDetector
    from dessins_de_planche.listen.detector_settings import DetectorSettings

    settings = DetectorSettings(crosstalk_s=0.0) if board is not None else None
    detector = TapDetector(sample_rate, [c - 1 for c in channels], block_size=block_size, calibration=tuned,
                           settings=settings)
    if board is None:
        return detector, None
    return detector, AudioBoardFilter(board, channels, sample_rate, detector.settings.velocity_floor_dbfs)


def filter_of(audio):
    """The multi-channel board's filter of the audio source's block handler (None without one)."""
    handler = getattr(audio, "handler", None)
    while handler is not None and not hasattr(handler, "board"):
        handler = getattr(handler, "handler", None)  # a recording wrapper
    return None if handler is None else handler.board
