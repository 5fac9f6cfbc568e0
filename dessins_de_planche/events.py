"""The plain records that cross every boundary: rings, `analyze` JSON, recordings.

One tap record everywhere. Fields are packed (no padding) so a producer can
write a slot with one ``struct.pack_into`` and a consumer can read a batch as
one numpy copy. Every record ends with `seq`, the ring's stamp: written last,
so a reader that sees the right stamp knows the record before it is whole.
"""

from __future__ import annotations

import numpy as np

SOURCE_AUDIO = 0
SOURCE_MIDI = 1
SOURCE_NAMES = ("audio", "midi")

KIND_UNKNOWN = 0
KIND_HEEL = 1
KIND_TOE = 2
KIND_NAMES = ("unknown", "heel", "toe")
ZONE_UNCHANGED = 255  # a refine record that leaves its tap's zone as it was

# What a tap record says about its `tap_id` (the `refine` field).
RECORD_FIRST = 0  # a new tap, emitted at once (provisional kind and velocity)
RECORD_REFINE = 1  # a follow-up: the final kind, velocity and zone of that tap
RECORD_WITHDRAW = 2  # a follow-up: that tap was not a foot after all; it is to be removed
RECORD_NAMES = ("first", "refine", "withdraw")
CONFIRM_WINDOW = 0.025  # s after its first emission within which a tap's follow-up comes, if any
WORD_TIMEOUT = 0.030  # s after its first emission when an audio tap without a follow-up stands (some slack
#                      over CONFIRM_WINDOW: a follow-up reaches the render loop a little after its stamp)

# Tap identity. Each source numbers its taps in a range of its own, and each start of the input
# process moves on within it, so a follow-up record (refine, withdraw) only ever names its own
# source's tap: never a MIDI tap for an audio one, never a tap from before a restart.
TAP_ID_SPACES = {  # source -> [first, end) of its tap ids (tap_id is a uint32)
    "audio": (1, 1 << 30),
    "midi": (1 << 30, 1 << 31),
    "osc": (1 << 31, 3 << 30),  # taps another instance sends (its own ids, folded in here)
    "attract": (3 << 30, 1 << 32),
}
GENERATION_STRIDE = 1 << 20  # tap numbers a start of the input process has before the next start's


def tap_id_space(source: str, generation: int = 0) -> tuple[int, int, int]:
    """(first id, span, offset) for a source's n-th tap: first + (offset + n) % span."""
    first, end = TAP_ID_SPACES[source]
    span = end - first
    return first, span, (int(generation) * GENERATION_STRIDE) % span


# A tap. `time` is the onset on the master clock (s); `detected_at` when it was
# emitted. `refine` = RECORD_REFINE marks a follow-up that updates kind, velocity and
# zone of the tap with the same `tap_id` (emitted at most 20 ms after the first record;
# the zone changes when another sensor heard the same strike louder); RECORD_WITHDRAW
# a follow-up (within CONFIRM_WINDOW) that takes the tap back. MIDI taps are final at once:
# they may be refined (crosstalk) but are never withdrawn.
TAP_DTYPE = np.dtype(
    [
        ("time", "<f8"),
        ("detected_at", "<f8"),
        ("velocity", "<f4"),
        ("tap_id", "<u4"),
        ("channel", "<u2"),
        ("source", "u1"),
        ("zone", "u1"),
        ("kind", "u1"),
        ("refine", "u1"),
        ("seq", "<u8"),
    ]
)

# MIDI messages that are not taps: control change, program change, note off.
CONTROL_CC = 1
CONTROL_PROGRAM = 2
CONTROL_NOTE_OFF = 3
CONTROL_DTYPE = np.dtype(
    [
        ("time", "<f8"),
        ("type", "u1"),
        ("channel", "u1"),
        ("number", "u1"),
        ("value", "u1"),
        ("seq", "<u8"),
    ]
)

# Continuous audio features, one record per block and channel.
FEATURE_DTYPE = np.dtype(
    [
        ("time", "<f8"),
        ("level", "<f4"),  # RMS of the block, linear 0..1
        ("peak", "<f4"),  # absolute peak of the block, 0..1
        ("brightness", "<f4"),  # 0..1, share of high-frequency energy
        ("channel", "<u2"),
        ("seq", "<u8"),
    ]
)


def tap_to_dict(record, zone_names=None) -> dict:
    """A tap record as the JSON object of `analyze`, recordings and OSC."""
    zone = int(record["zone"])
    return {
        "time": round(float(record["time"]), 6),
        "detected_at": round(float(record["detected_at"]), 6),
        "source": SOURCE_NAMES[int(record["source"])],
        "channel": int(record["channel"]),
        "zone": zone_names[zone] if zone_names and zone < len(zone_names) else str(zone),
        "kind": KIND_NAMES[int(record["kind"])],
        "velocity": round(float(record["velocity"]), 4),
    }


def final_taps(records: np.ndarray) -> tuple[np.ndarray, int]:
    """The final word on every tap, and how many taps were withdrawn.

    Follow-up records are folded into their first emission: a refine gives the final kind,
    velocity and zone (`time` and `detected_at` stay those of the first emission, so a delay
    counts from it); a withdraw removes the tap, whatever came before or after it. Records
    are in emission order; a follow-up whose first record is not among them is ignored.
    This is the one place that settles taps: `analyze`, recordings and the telemetry use it.
    """
    first = records[records["refine"] == RECORD_FIRST].copy()
    follow = records[records["refine"] != RECORD_FIRST]
    if not len(follow) or not len(first):
        return first, 0
    index = {int(tid): i for i, tid in enumerate(first["tap_id"])}
    gone = np.zeros(len(first), bool)
    for r in follow:  # a few per tap at most
        i = index.get(int(r["tap_id"]))
        if i is None:
            continue
        if r["refine"] == RECORD_WITHDRAW:
            gone[i] = True
        elif r["refine"] == RECORD_REFINE:
            first[i]["kind"] = r["kind"]
            first[i]["velocity"] = r["velocity"]
            if r["zone"] != ZONE_UNCHANGED:
                first[i]["zone"] = r["zone"]
    return first[~gone], int(gone.sum())


def merge_refinements(taps: np.ndarray) -> np.ndarray:
    """The final taps alone (see `final_taps`): refinements folded in, withdrawn taps dropped."""
    return final_taps(taps)[0]


class TapRecordsHeld:
    """What keeps every tap record as it came (`taps`: first emissions, refines, withdraws) — an
    analysis, a recorded session — and so knows the final word on each."""

    taps: np.ndarray

    @property
    def final_taps(self) -> np.ndarray:
        """One record per tap that stood, with its final kind and velocity (`detected_at`: its first emission)."""
        return final_taps(self.taps)[0]

    @property
    def withdrawn(self) -> int:
        """Taps the detector emitted and then took back (not feet after all)."""
        return final_taps(self.taps)[1]


class TapSettler:
    """The live counterpart of `final_taps`: each tap handed on once the word on it is final.

    An audio tap waits for its follow-up: a refine gives its final values, a withdraw drops it,
    and with no word it stands WORD_TIMEOUT after its first emission (a detector that never
    follows up, attract mode). Other sources' taps are final at once. Taps leave in the order
    they came (one that is final waits behind an earlier one still waiting), so a tempo
    tracker fed from here hears only taps that stood, in time order.
    """

    def __init__(self):
        self._waiting: list[np.ndarray] = []  # one-record arrays, in the order they came
        self._final: list[bool] = []

    def settle(self, records: np.ndarray, now: float) -> np.ndarray:
        """Take this frame's records (any kind) and return the taps that are final by `now`."""
        for record in records:  # a few per frame
            follow = int(record["refine"])
            if follow == RECORD_FIRST:
                self._waiting.append(np.array([record], TAP_DTYPE))
                self._final.append(int(record["source"]) != SOURCE_AUDIO)
                continue
            for i, waiting in enumerate(self._waiting):
                if waiting["tap_id"][0] != record["tap_id"] or self._final[i]:
                    continue
                if follow == RECORD_WITHDRAW:
                    del self._waiting[i], self._final[i]
                elif follow == RECORD_REFINE:
                    waiting["kind"], waiting["velocity"] = record["kind"], record["velocity"]
                    if record["zone"] != ZONE_UNCHANGED:
                        waiting["zone"] = record["zone"]
                    self._final[i] = True
                break
        for i, waiting in enumerate(self._waiting):
            if not self._final[i] and now - float(waiting["detected_at"][0]) >= WORD_TIMEOUT:
                self._final[i] = True
        ready = 0
        while ready < len(self._final) and self._final[ready]:
            ready += 1
        if not ready:
            return np.zeros(0, TAP_DTYPE)
        out = np.concatenate(self._waiting[:ready])
        del self._waiting[:ready], self._final[:ready]
        return out

    def clear(self) -> None:
        self._waiting.clear()
        self._final.clear()
