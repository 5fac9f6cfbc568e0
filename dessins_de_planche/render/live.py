"""The live marks and the word they wait for: which tap each mark belongs to, which taps are held
back until the detector confirms or withdraws them, and which bytes the GPU has not seen yet.

The scene decides what the marks are (its layers) and draws them; this keeps their books. It adds
marks (`add`), makes room for a refined tap's new marks in one layer (`make_room`), confirms and
withdraws taps, and each frame says which marks are due to be stamped (`due`), retires the spent
ones (`retire`) and uploads what changed (`upload`). A mark stamped into the canvas cannot be taken
back: a word that comes after STAMP_DELAY leaves it be.
"""

from __future__ import annotations

import numpy as np

from dessins_de_planche.events import WORD_TIMEOUT
from dessins_de_planche.render.marks import HELD, SHOWN, MarkPainter, MarkStore

STAMP_DELAY = 0.030  # s after detection: a refine (≤ 20 ms) or withdraw (≤ 25 ms) record still changes the live mark
FEW = 4  # taps: up to this many, `among` compares them one by one


def among(values: np.ndarray, ids) -> np.ndarray:
    """Which of `values` are in `ids` (tap ids), as np.isin says: for the few taps a frame brings
    (a burst's marks all carry the same one), a comparison per tap costs less than isin's sort."""
    wanted = set(ids.tolist() if isinstance(ids, np.ndarray) else ids)
    if len(wanted) > FEW:
        return np.isin(values, np.fromiter(wanted, np.int64, len(wanted)))
    found = np.zeros(len(values), bool)
    for tap_id in wanted:
        found |= values == tap_id
    return found


class LiveMarks:
    """The marks not yet retired, the taps held back (tap_id -> detected, scene s), the first mark
    whose bytes the GPU has not seen."""

    def __init__(self):
        self.store = MarkStore()
        self.held: dict[int, float] = {}
        self.dirty_from = 0

    def clear(self) -> None:
        self.store.clear()
        self.held.clear()
        self.dirty_from = 0

    def hold(self, tap_ids, detected) -> None:
        """These taps may yet be withdrawn: their marks wait for the word (or WORD_TIMEOUT)."""
        for tap_id, seen in zip(tap_ids, detected):
            self.held[tap_id] = seen

    def add(self, marks: np.ndarray, ids: np.ndarray, layer: int, seen: np.ndarray, grow: bool) -> np.ndarray:
        """Marks of a layer (layer code) for these taps; a held tap's show from its detection (`grow`) or
        not until it is confirmed. Returns the marks as kept."""
        store = self.store
        self.dirty_from = min(self.dirty_from, store.count)
        held = self.held
        pending = among(ids, held) if held else False
        marks = marks.copy()
        marks["t_show"] = np.where(pending, seen if grow else HELD, SHOWN)
        store.append(marks, ids, layer, seen, pending)
        return marks

    def make_room(self, code: int, marks: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Take away layer `code`'s marks of these taps where not yet stamped; returns the new marks that
        may take their place (a tap with a mark already stamped keeps its old ones: the canvas cannot
        be redrawn)."""
        store = self.store
        old = (store.layer[: store.count] == code) & among(store.tap_id[: store.count], ids)
        stamped = old & (store.live["stamped"] != 0)
        if stamped.any():
            fresh = ~among(ids, store.tap_id[: store.count][stamped])
            old &= among(store.tap_id[: store.count], ids[fresh])
            marks, ids = marks[fresh], ids[fresh]
        store.keep(~old)
        self.dirty_from = 0
        return marks, ids

    def confirm(self, tap_ids) -> list[int]:
        """These taps are final: their marks may be stamped, and show whole if they were held back.
        Returns those that were held."""
        ids = [int(t) for t in tap_ids if int(t) in self.held]
        if not ids:
            return ids
        for tap_id in ids:
            del self.held[tap_id]
        store = self.store
        mine = store.pending[: store.count] & among(store.tap_id[: store.count], ids)
        if mine.any():
            store.pending[: store.count][mine] = False
            store.live["t_show"][mine] = store.seen[: store.count][mine]
            self.dirty_from = min(self.dirty_from, int(np.argmax(mine)))
        return ids

    def withdraw(self, ids: np.ndarray) -> tuple[list[int], np.ndarray]:
        """These taps were not feet: their marks go where not yet stamped. Returns the ids that were
        held, and those whose marks are all gone (a tap with a stamped mark stays)."""
        held = [int(t) for t in ids.tolist() if int(t) in self.held]
        for tap_id in held:
            del self.held[tap_id]
        store = self.store
        live = among(store.tap_id[: store.count], ids)
        stamped = live & (store.live["stamped"] != 0)  # too late (the word came after STAMP_DELAY): it stays
        gone = np.setdiff1d(ids, np.unique(store.tap_id[: store.count][stamped]))
        if held or len(gone):
            store.keep(~(live & ~stamped))
            self.dirty_from = 0
        return held, gone

    def unheard(self, time: float) -> list[int]:
        """Held taps that got no word within WORD_TIMEOUT (a tap no detector follows up)."""
        return [tap_id for tap_id, seen in self.held.items() if time - seen >= WORD_TIMEOUT]

    def due(self, time: float) -> np.ndarray | None:
        """Which live marks are due to be stamped into the canvas now (a mask), or None."""
        store = self.store
        if not store.count:
            return None
        due = ((store.live["stamped"] == 0) & ~store.pending[: store.count]
               & (time - store.seen[: store.count] >= STAMP_DELAY))
        return due if due.any() else None

    def stamped(self, due: np.ndarray) -> None:
        self.store.live["stamped"][due] = 1.0
        self.dirty_from = min(self.dirty_from, int(np.argmax(due)))

    def retire(self, time: float) -> None:
        """Stamped marks whose glow is over leave."""
        store = self.store
        if store.count:
            live = store.live
            expired = (live["stamped"] != 0) & (time >= live["t_tap"] + live["life"])
            if expired.any():
                store.keep(~expired)
                self.dirty_from = 0

    def upload(self, painter: MarkPainter) -> None:
        """What the GPU has not seen of the live marks goes into its instance buffer."""
        store = self.store
        if self.dirty_from < store.count:
            painter.upload(store.live, self.dirty_from)
        self.dirty_from = store.count
