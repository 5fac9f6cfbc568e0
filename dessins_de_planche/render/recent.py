"""The attributes of the last taps, kept by the scene for the detector's word on them: a refine record
changes a tap's kind, velocity and zone (`hear`), a withdraw takes it away (`forget`), and a mark
placed or replaced later finds when its tap was detected (`seen`)."""

from __future__ import annotations

import numpy as np

from dessins_de_planche.events import ZONE_UNCHANGED
from dessins_de_planche.preset.mapping import TAP_ATTRS_DTYPE
from dessins_de_planche.render.live import FEW, among

RECENT_TAPS = 64  # attributes kept for refine records


class RecentTaps:
    """The last RECENT_TAPS taps' attributes (TAP_ATTRS_DTYPE), oldest first."""

    def __init__(self):
        self.attrs = np.zeros(0, TAP_ATTRS_DTYPE)

    def remember(self, attrs: np.ndarray) -> None:
        attrs = attrs[-RECENT_TAPS:]
        old = self.attrs[max(len(self.attrs) + len(attrs) - RECENT_TAPS, 0):]
        kept = np.empty(len(old) + len(attrs), TAP_ATTRS_DTYPE)  # not concatenate: it compares the fields
        kept[: len(old)] = old
        kept[len(old):] = attrs
        self.attrs = kept

    def seen(self, ids: np.ndarray, epoch: float, otherwise: float) -> np.ndarray:
        """Detection times (scene seconds, from `epoch`) of these taps; `otherwise` when none is kept."""
        recent = self.attrs
        if len(recent) == 0:
            return np.full(len(ids), otherwise)
        wanted = set(ids.tolist())
        if len(wanted) <= FEW:  # the few taps of a frame (a burst's marks all carry one): no sort
            seen = np.empty(len(ids))
            for tap_id in wanted:
                rows = np.flatnonzero(recent["tap_id"] == tap_id)
                if not len(rows):
                    break
                seen[ids == tap_id] = recent["detected_at"][rows[0]] - epoch
            else:
                return seen
        order = np.argsort(recent["tap_id"], kind="stable")
        sorted_ids = recent["tap_id"][order]
        where = np.clip(np.searchsorted(sorted_ids, ids), 0, len(order) - 1)
        return recent["detected_at"][order][where] - epoch

    def times(self, ids) -> np.ndarray:
        """The times of these taps (those kept)."""
        return self.attrs["time"][among(self.attrs["tap_id"], ids)]

    def hear(self, refines: np.ndarray) -> dict[int, frozenset[str]]:
        """The detector's word on taps: their kind, velocity and zone as it heard them at last. Returns,
        per row of `attrs` whose values changed, which of them did."""
        recent = self.attrs
        words: dict[int, frozenset[str]] = {}
        for record in refines:  # a few per frame at most
            heard = {"kind": record["kind"], "velocity": record["velocity"]}
            if record["zone"] != ZONE_UNCHANGED:
                heard["zone"] = record["zone"]
            for row in np.flatnonzero(recent["tap_id"] == record["tap_id"]).tolist():
                word = frozenset(name for name, value in heard.items() if recent[name][row] != np.float32(value))
                for name, value in heard.items():
                    recent[name][row] = value
                if word:
                    words[row] = words.get(row, frozenset()) | word
        return words

    def forget(self, gone: np.ndarray) -> tuple[np.ndarray, bool]:
        """These taps were withdrawn. Returns their times, and whether the newest tap was among them."""
        recent = self.attrs
        lost = among(recent["tap_id"], gone)
        times = recent["time"][lost]
        latest = bool(lost.any()) and times.max() >= recent["time"].max()
        if lost.any():
            self.attrs = recent[~lost]
        return times, latest
