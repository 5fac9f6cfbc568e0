"""Leave-one-family-out splits of the corpus, for the trainer and the bench.

Every clip has a `family`: the tap family of its taps (`plank`, `h2-africa`, ... see
`corpus.taps.FAMILIES`), or for a music-only clip the family of its music (`music-timgm6mb`,
`music-musescore`: the soundfont that rendered it). Every clip also names its `music_family`
(null when it has no music).

`leave_one_out(index, family)`: the test set is the clips of that family; the training set is
every other clip that neither belongs to it nor carries its music. Leaving a tap family out
scores taps the model has never heard; leaving a music family out scores false alarms on music
it has never heard (and drops the tap clips over that music from training too).
"""

from __future__ import annotations

import json
from pathlib import Path

MUSIC_PREFIX = "music-"


def clips(index) -> list[dict]:
    """The clip records of an index: index.json's path, its parsed dict, or the list itself."""
    if isinstance(index, (str, Path)):
        index = json.loads(Path(index).read_text())
    return list(index["clips"] if isinstance(index, dict) else index)


def families(index) -> list[str]:
    """Every family in the index: the tap families, then the music families, each sorted."""
    names = {c["family"] for c in clips(index)}
    return sorted(n for n in names if not n.startswith(MUSIC_PREFIX)) + sorted(
        n for n in names if n.startswith(MUSIC_PREFIX))


def tap_families(index) -> list[str]:
    return [f for f in families(index) if not f.startswith(MUSIC_PREFIX)]


def music_families(index) -> list[str]:
    return [f for f in families(index) if f.startswith(MUSIC_PREFIX)]


def leave_one_out(index, family: str) -> tuple[list[dict], list[dict]]:
    """(train, test): test is `family`'s clips, train all clips with neither its taps nor its music."""
    every = clips(index)
    if family not in {c["family"] for c in every}:
        raise ValueError(f"no family {family!r} in this corpus: {', '.join(families(every))}")
    test = [c for c in every if c["family"] == family]
    train = [c for c in every if not held_out(c, family)]
    return train, test


def held_out(clip: dict, family: str) -> bool:
    """Whether a fold that leaves `family` out must not train on `clip`: the family's own clips
    and the clips over any of `held_music(family)`."""
    return clip["family"] == family or clip.get("music_family") in held_music(family)


def held_music(family: str) -> tuple[str, str]:
    """The music families a fold leaving `family` out holds out: its own (a music family), and
    for a tap family the music of the same package (FreePats' instruments, `music-freepats`,
    when the `freepats` drums are scored)."""
    return family, MUSIC_PREFIX + family
