"""A board's mic and its sensors heard as one: each strike one tap (`run` with both `--audio-device` and
`--midi-port`, unless `--no-fuse`; or `--fuse`).

With a board's contact mic (`--audio-device`) and its sensors (`--midi-port`) open together, every
strike comes twice: a sound from the detector, a note from the sensor that was hit. Fused:

- the sensor gives the zone; the mic gives the onset time, heel/toe and velocity;
- a sensor note with no sound within FUSE_WINDOW_S is a weight shift: dropped, counted;
- a sound with no sensor note is a tap on the zone the last strikes favour;
- a sound the sensors agree with needs no wait for the detector's word: the tap is confirmed (a
  refine record) as soon as both are in, so it shows with the mic's first emission, sooner than
  the mic alone (held until the detector's word) and a few milliseconds after the sensor alone.
  A detector's withdraw of a sound a sensor heard is not followed: the sensor says it was a strike.

Fused taps are the mic's taps (its tap ids, source audio): the scene holds them until their word
like any sound. Runs in the render process, on each frame's records (`InputProcess.poll`).
"""

from __future__ import annotations

from collections import Counter, deque

import numpy as np

from dessins_de_planche.events import (RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW, SOURCE_AUDIO, SOURCE_MIDI,
                                       TAP_DTYPE, ZONE_UNCHANGED)

FUSE_WINDOW_S = 0.020  # a sensor note and a sound whose onsets are this close are one strike
TIE_S = 0.003  # two candidates this much nearer or farther are as near (the onset's precision, a JACK period)
SOUND_WAIT_S = 0.060  # a sensor note waits until the mic has listened this far past it for its sound,
STALE_S = 1.0  # or, a mic that has stopped answering, this long on the clock
FAVOURED_FROM = 8  # a sound with no sensor note goes to the zone most of the last strikes were on


class Fuser:
    def __init__(self):
        self._notes: list[np.void] = []  # sensor notes waiting for their sound (one-record copies)
        self._sounds: list[np.void] = []  # sounds (first records) that a sensor note may still join
        self._taps: dict[int, list] = {}  # audio tap id -> its tap as it stands (`_values`)
        self._fused: set[int] = set()  # audio tap ids a sensor note joined
        self._midi_to_audio: dict[int, int] = {}  # a joined note's tap id -> its sound's
        self._last_zones: deque = deque(maxlen=FAVOURED_FROM)
        self._joins: deque = deque(maxlen=8)  # the last joins: (audio tap id, sound's zone, note's zone, their times)
        self._heard_until = float("-inf")  # master time up to which the mic's stream has been listened to
        self.fused = 0  # strikes heard by both
        self.sound_only = 0  # sounds no sensor note joined (put on the favoured zone)
        self.weight_shifts = 0  # sensor notes no sound joined (dropped)
        self.withdraws_ignored = 0
        self.uncrossed = 0  # pairs of feet together whose notes each sound had taken the other's of

    @property
    def heard_until(self) -> float:
        """Master time up to which the mic's stream has been listened to (its latest block record)."""
        return self._heard_until

    def fuse(self, audio: np.ndarray, midi: np.ndarray, now: float, features: np.ndarray | None = None) -> np.ndarray:
        """This frame's tap records from both sources -> the fused records, in order. `features`: the
        mic's block records of the frame, which say how far it has listened (else `now` does): a note
        whose sound is late because the mic's stream is (a busy machine) still finds it."""
        if features is not None and len(features):
            self._heard_until = max(self._heard_until, float(features["time"].max()))
        elif features is None:
            self._heard_until = now
        out: list[tuple] = []
        records = np.concatenate((audio, midi)) if len(midi) else audio
        if len(records):
            for record in records[np.argsort(records["detected_at"], kind="stable")]:
                if int(record["source"]) == SOURCE_MIDI:
                    self._note(record, out)
                else:
                    self._sound(record, out)
        self._expire(now)
        if not out:
            return np.zeros(0, TAP_DTYPE)
        fused = np.zeros(len(out), TAP_DTYPE)
        for i, values in enumerate(out):
            fused[i] = values
        return fused

    # -- a sensor's note --------------------------------------------------------------------------
    def _note(self, record, out: list) -> None:
        kind = int(record["refine"])
        tap_id = int(record["tap_id"])
        if kind == RECORD_FIRST:
            sound = self._closest(self._sounds, float(record["time"]), int(record["zone"]))
            if sound is None:
                self._notes.append(record.copy())
                return
            self._sounds.remove(sound)
            self._join(int(sound["tap_id"]), record, out)
        elif kind == RECORD_REFINE and int(record["zone"]) != ZONE_UNCHANGED:
            # the listener moved its tap (a bleed heard before its strike): the sound follows
            audio_id = self._midi_to_audio.get(tap_id)
            if audio_id is not None and audio_id in self._taps:
                self._emit(out, audio_id, zone=int(record["zone"]), refine=RECORD_REFINE)
            for note in self._notes:
                if int(note["tap_id"]) == tap_id:
                    note["zone"] = record["zone"]

    # -- a sound ------------------------------------------------------------------------------------------
    def _sound(self, record, out: list) -> None:
        kind = int(record["refine"])
        tap_id = int(record["tap_id"])
        if kind == RECORD_FIRST:
            note = self._closest(self._notes, float(record["time"]), int(record["zone"]))
            self._taps[tap_id] = self._values(record)
            if note is not None:
                self._notes.remove(note)
                self._emit(out, tap_id, zone=int(note["zone"]), refine=RECORD_FIRST)
                self._join(tap_id, note, out)
                return
            self._sounds.append(record.copy())
            self._emit(out, tap_id, zone=self._favoured(int(record["zone"])), refine=RECORD_FIRST)
        elif kind == RECORD_REFINE:
            if tap_id not in self._taps:
                return
            moved = int(record["zone"])
            if moved != ZONE_UNCHANGED and moved != self._taps[tap_id][6]:
                self._moved(tap_id, moved, out)
            self._emit(out, tap_id, kind=int(record["kind"]), velocity=float(record["velocity"]),
                       refine=RECORD_REFINE)
        elif kind == RECORD_WITHDRAW:
            if tap_id in self._fused:
                self.withdraws_ignored += 1
                return
            self._sounds = [s for s in self._sounds if int(s["tap_id"]) != tap_id]
            if tap_id in self._taps:
                self._emit(out, tap_id, refine=RECORD_WITHDRAW)
                del self._taps[tap_id]

    # -- both -----------------------------------------------------------------------------------------------
    def _join(self, audio_id: int, note, out: list) -> None:
        """One strike heard by both: the sound's tap on the note's zone, confirmed now."""
        zone = int(note["zone"])
        self._fused.add(audio_id)
        self._midi_to_audio[int(note["tap_id"])] = audio_id
        self._last_zones.append(zone)
        self.fused += 1
        time, sound_zone = self._taps[audio_id][0], self._taps[audio_id][6]
        note_time = float(note["time"])
        self._emit(out, audio_id, zone=zone, refine=RECORD_REFINE)
        if sound_zone != zone:
            taken = self._crossed(audio_id, sound_zone, zone, time, note_time, out)
            if taken is not None:  # uncrossed: this sound has the other's note now
                zone, note_time = sound_zone, taken
        self._joins.append((audio_id, sound_zone, zone, time, note_time))
        if len(self._midi_to_audio) > 4096:  # a long show: forget the oldest (dicts keep insertion order)
            for key in list(self._midi_to_audio)[:2048]:
                del self._midi_to_audio[key]

    def _moved(self, audio_id: int, zone: int, out: list) -> None:
        """A multi-channel board's filter moved a sound to another channel's zone (a bleed heard before
        its strike): its own zone is that one now, for the notes still to come and for a join it has
        made, which may now mirror another (feet together: the sound first heard as the bleed took the
        other foot's note)."""
        self._taps[audio_id][6] = zone
        for sound in self._sounds:
            if int(sound["tap_id"]) == audio_id:
                sound["zone"] = zone
        for index, (joined, _, note_zone, time, note_time) in enumerate(self._joins):
            if joined != audio_id:
                continue
            self._joins[index] = (joined, zone, note_zone, time, note_time)
            if zone != note_zone:
                taken = self._crossed(audio_id, zone, note_zone, time, note_time, out)
                if taken is not None:
                    self._joins[index] = (joined, zone, zone, time, taken)
            return

    def _crossed(self, audio_id: int, sound_zone: int, note_zone: int, time: float, note_time: float,
                 out: list) -> float | None:
        """Feet landing together on a multi-channel board: two sounds and two notes, and the second
        strike's sound held for its word, so a note may have joined the one sound there was. When this
        join and an earlier one are each other's mirror (each sound on the zone of the other's note, and
        each note within the window of the other sound), the sounds' own channels are right: each tap
        moves to its own sound's zone. A single mic's sounds all share one zone and are never a mirror.
        Returns the time of the note this sound takes over, None when nothing was uncrossed."""
        for index, (other, other_sound, other_note, other_time, other_note_time) in enumerate(self._joins):
            if (other_sound == note_zone and other_note == sound_zone and other in self._taps
                    and abs(other_note_time - time) <= FUSE_WINDOW_S and abs(note_time - other_time) <= FUSE_WINDOW_S):
                self._emit(out, other, zone=other_sound, refine=RECORD_REFINE)
                self._emit(out, audio_id, zone=sound_zone, refine=RECORD_REFINE)
                self._joins[index] = (other, other_sound, other_sound, other_time, note_time)
                self.uncrossed += 1
                return other_note_time  # the note this sound now has
        return None

    @staticmethod
    def _values(record) -> list:
        """A sound's tap as it stands: time, detected_at, velocity, channel, zone, kind, and the zone its
        own channel heard it on."""
        return [float(record["time"]), float(record["detected_at"]), float(record["velocity"]),
                int(record["channel"]), int(record["zone"]), int(record["kind"]), int(record["zone"])]

    def _emit(self, out: list, audio_id: int, refine: int, zone: int | None = None, kind: int | None = None,
              velocity: float | None = None) -> None:
        tap = self._taps[audio_id]
        if zone is not None:
            tap[4] = zone
        if kind is not None:
            tap[5] = kind
        if velocity is not None:
            tap[2] = velocity
        out.append((tap[0], tap[1], tap[2], audio_id, tap[3], SOURCE_AUDIO, tap[4], tap[5], refine, 0))

    @staticmethod
    def _closest(pending: list, t: float, zone: int):
        """The pending record nearest `t` within the window; of those as near as it give or take TIE_S,
        the one on `zone` (feet landing together on a multi-channel board: two sounds and two notes
        within a millisecond or two, each sound's own channel names its note)."""
        near = [(abs(float(candidate["time"]) - t), candidate) for candidate in pending]
        near = [(gap, candidate) for gap, candidate in near if gap <= FUSE_WINDOW_S]
        if not near:
            return None
        nearest = min(gap for gap, _ in near)
        own = [(gap, candidate) for gap, candidate in near
               if gap <= nearest + TIE_S and int(candidate["zone"]) == zone]
        best = min(own or near, key=lambda pair: pair[0])  # the first of equals, as they came
        return best[1]

    def _favoured(self, own: int) -> int:
        if not self._last_zones:
            return own
        return Counter(self._last_zones).most_common(1)[0][0]

    def _expire(self, now: float) -> None:
        kept = []
        for note in self._notes:
            if (self._heard_until - float(note["time"]) > SOUND_WAIT_S
                    or now - float(note["detected_at"]) > STALE_S):
                self.weight_shifts += 1
            else:
                kept.append(note)
        self._notes = kept
        kept = []
        for sound in self._sounds:
            if now - float(sound["detected_at"]) > SOUND_WAIT_S:
                self.sound_only += 1
            else:
                kept.append(sound)
        self._sounds = kept
        if len(self._taps) > 4096:  # a long show: forget the oldest taps (their word came long ago)
            for key in list(self._taps)[:2048]:
                del self._taps[key]
                self._fused.discard(key)
