"""Stage B leave-one-family-out with no audio heard again: each fold's stage B retrained on its own
stage A's cached candidates (and a more sensitive one's, as shipped) and its word replayed with the
grid, clip by clip.

    .venv/bin/python bench/stage_b_replay.py                     # the shipped recipe
    .venv/bin/python bench/stage_b_replay.py --hidden 32,16 --l2 1e-2 --details

Reads the candidates `scripts/train_detector.py --folds` cached (out/detector/*-candidates.npz:
every fold's stage A candidates with stage B's features, label and onset). For each family, a
stage B is trained as `train_detector.py` trains that fold's (without the family and its music,
each candidate beside its clip's recent ones), and its word on the family's clips is replayed in
time order with `listen.grid.TapGrid`, as the live detector gives it. No audio is heard again, so
a recipe for stage B is scored with no corpus replayed (15-18 minutes, training fifteen folds
on both stage As' candidates; 2-3 on the live ones alone); the
figures run about 0.01 over `bench/listening.py`'s
(no crosstalk, no block edges, the candidates as stage A fired them without stage B's deafness
after a withdrawn one). Heel or toe as the live detector says it: stage B's word read beside the
clip's recent feet by a word trained on the fold's feet (`listen.foot_kind`; `--no-foot-kind`
without it), split where the clip's feet put it (`listen.kinds`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train_detector  # noqa: E402
from corpus import splits  # noqa: E402
from dessins_de_planche.listen import confirm  # noqa: E402
from dessins_de_planche.listen.detector import stage_b_bar  # noqa: E402
from dessins_de_planche.listen.detector_settings import DetectorSettings  # noqa: E402
from dessins_de_planche.listen.foot_kind import FootKind  # noqa: E402
from dessins_de_planche.listen.grid import TapGrid  # noqa: E402
from dessins_de_planche.listen.kinds import KindSplit  # noqa: E402


def replay(times, foot, clip, below: float, on_grid: float | None, bars: dict | None = None,
           when_idle: float | None = DetectorSettings().withdraw_when_idle,
           idle_s: float = DetectorSettings().idle_s) -> np.ndarray:
    """Which candidates stand, as the live detector decides (`stage_b_bar`): each clip's in time
    order, under `below` withdrawn (`bars`: a clip's own, where it has one), under `on_grid` only
    where they fall on the grid of the taps confirmed before them (None: `below` there), and off the
    grid under `when_idle` (where higher) while no tap has been confirmed for `idle_s`."""
    s = DetectorSettings()
    idle_n = int(round(idle_s * 48_000))
    keep = np.zeros(len(foot), bool)
    for c in np.unique(clip):
        idx = np.flatnonzero(clip == c)
        idx = idx[np.argsort(times[idx], kind="stable")]
        grid = TapGrid(48_000.0, memory_s=s.grid_memory_s, tolerance_s=s.grid_tolerance_s,
                       tolerance_share=s.grid_tolerance_share)
        off_grid = below if bars is None else bars.get(int(c), below)
        last = None  # the last confirmed candidate's stream frame
        for i in idx:
            at = int(round(times[i] * 48_000))
            bar = stage_b_bar(grid.on_grid(at), below if on_grid is None else on_grid, off_grid, when_idle,
                              None if last is None else at - last, idle_n)
            if foot[i] >= bar:
                keep[i] = True
                grid.add(at)
                last = at
    return keep


def held_out(data: dict, family: str) -> np.ndarray:
    """The clips a family's fold never trains on: the family's own and those over its music (a
    music family's, and for a tap family the music of the same package), as `train_detector.py`."""
    index = [str(f) for f in data["families"]].index(family)
    return (data["family"] == index) | np.isin(data["music_family"], splits.held_music(family))


def fold_word(data: dict, family: str, seed: int, epochs: int = 40, l2: float = 1e-3, learn: dict | None = None,
              lowers=(0.0,), generated_negatives: float = 1.0, family_balanced: bool = False):
    """One family's fold: its stage A's candidates as stage B reads them, and the word (foot, heel
    probabilities) on every one of them of a stage B trained without the family and its music;
    and the candidates the heel/toe word learns (the first of `lowers`). Stage B learns `learn`'s
    candidates (another cache of the same clips; by default `data`'s own) at each of `lowers`, side
    by side, as `train_detector.py --train-lower` gives them; the false candidates of the app's own
    clips weigh `generated_negatives` times another (`--generated-negatives`), and with
    `family_balanced` each family of the corpus as much as another (`--family-balanced`). The defaults are the
    plain recipe (the live candidates, every false one weighing as another); the command line's
    are the shipped one."""
    taught_from = data if learn is None else learn
    held = held_out(taught_from, family)
    taught = train_detector.taught(taught_from, family, lowers, ~held)
    prior = train_detector.memory_prior(taught, ~held)  # the candidates learnt from, as live starts from
    same = learn is None and list(lowers) == [0]
    fold = taught if same else train_detector.remembering(train_detector.for_model(data, family), ~held, prior)
    train = (~held)[taught["clip"]]
    x = taught["x"][train].astype(np.float64)
    mean = x.mean(axis=0)
    scale = 1.0 / np.maximum(x.std(axis=0), 1e-3)
    y = taught["label"][train].astype(np.intp)
    weight = train_detector.example_weights(taught, train, y, generated_negatives, family_balanced)
    params = train_detector.train((x - mean) * scale, y, weight, seed, epochs, l2=l2)
    foot, heel = train_detector.predict(params, (fold["x"] - mean) * scale)
    return fold, foot, heel, train_detector.for_model(taught_from, train_detector.lowered_name(family, lowers[0]))


def live_heels(x, heel, times, clip, keep, head: FootKind | None) -> tuple[np.ndarray, np.ndarray]:
    """Heel or toe of the kept candidates as the live detector says it: each clip's in time
    order, stage B's word read beside the clip's recent feet (`head`, where there is one) and
    split where they put it (`listen.kinds`); (heel or not, the word read) per candidate."""
    said, word = np.zeros(len(heel), bool), np.array(heel, np.float64)
    for c in np.unique(clip[keep]):
        idx = np.flatnonzero((clip == c) & keep)
        split, feet = KindSplit(), head.memory() if head is not None else None
        for i in idx[np.argsort(times[idx], kind="stable")]:
            if head is not None:
                word[i] = head.heel(float(heel[i]), x[i], feet.mean())
                feet.add(x[i])
            said[i] = split.is_heel(float(word[i]))
    return said, word


def played_only(data: dict) -> np.ndarray:
    """The clips played at other speeds (`train_detector.py --speeds`): trained on, never scored."""
    return data["speed"] != 1.0 if "speed" in data else np.zeros(len(data["family"]), bool)


def load_cache(path: Path | None) -> dict | None:
    """A candidate cache (`train_detector.py`'s npz) as a dict of arrays; None for no path."""
    if path is None:
        return None
    with np.load(path, allow_pickle=False) as cached:
        return {k: cached[k] for k in cached.files}


def check_same_clips(data: dict, learn: dict | None) -> None:
    """A cache stage B learns from must list the scored cache's clips (`--train-cache`)."""
    if learn is not None and ([str(f) for f in learn["families"]] != [str(f) for f in data["families"]]
                              or not np.array_equal(learn["family"], data["family"])):
        raise SystemExit("--train-cache: not the same clips as --cache")


def score(data: dict, args, learn: dict | None = None) -> dict:
    """Every family left out in turn; `learn`: the cache stage B learns from (default `data`)."""
    check_same_clips(data, learn)
    taught_from = data if learn is None else learn
    families = [str(f) for f in data["families"]]
    family_of = data["family"]
    played = played_only(data)
    claps = train_detector.clapping_clips(data)  # reported apart from music alone
    rows = {}
    for family in families:
        if family == "generated":
            continue
        fold, foot, heel, taught = fold_word(data, family, args.seed, args.epochs, args.l2, learn, args.lowers,
                                             args.generated_negatives, args.family_balanced)
        clip = fold["clip"]
        scored = (family_of == families.index(family)) & ~played
        test = scored[clip]
        foot, heel = foot[test], heel[test]
        label = fold["label"][test]
        times = data[f"time.{family}"][test]
        keep = replay(times, foot, clip[test], args.below, args.on_grid, when_idle=args.when_idle,
                      idle_s=args.idle_s)
        truth = int(data["truth"][scored].sum())
        false = keep & (label == 0)
        clapped = claps[clip[test]]  # false alarms over an audience clapping: reported apart
        tp, fp = int((keep & (label > 0)).sum()), int((false & ~clapped).sum())
        head = FootKind(train_detector.fit_kind(taught, ~held_out(taught_from, family))) if args.foot_kind else None
        said, _ = live_heels(fold["x"][test][:, : confirm.FEATURES], heel, times, clip[test], keep, head)
        right = said == (label == 1)
        rows[family] = {"tp": tp, "fp": fp, "truth": truth, "withdrawn": int((~keep).sum()),
                        "seconds": float(data["seconds"][scored & ~claps].sum()),
                        "clapping fp": int((false & clapped).sum()),
                        "clapping seconds": float(data["seconds"][scored & claps].sum()),
                        "f1": 2 * tp / max(tp + fp + truth, 1),
                        "heel_toe": float(right[keep & (label > 0)].mean()) if (keep & (label > 0)).any() else None}
        if args.details:
            print(f"  {family}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                              for k, v in rows[family].items()), flush=True)
    taps = [r for f, r in rows.items() if not f.startswith("music")]
    music = [r for f, r in rows.items() if f.startswith("music")]
    f1 = [r["f1"] for r in taps]
    kept = sum(r["tp"] + r["fp"] for r in taps)
    return {"f1 mean": float(np.mean(f1)), "worst": min(f1),
            "precision": sum(r["tp"] for r in taps) / max(kept, 1),
            "recall": sum(r["tp"] for r in taps) / max(sum(r["truth"] for r in taps), 1),
            "music FA/min": 60 * sum(r["fp"] for r in music) / max(sum(r["seconds"] for r in music), 1e-9),
            "clapping FA/min": 60 * sum(r["clapping fp"] for r in music)
            / max(sum(r["clapping seconds"] for r in music), 1e-9),
            "withdrawn/min": 60 * sum(r["withdrawn"] for r in rows.values())
            / max(sum(r["seconds"] + r["clapping seconds"] for r in rows.values()), 1e-9),
            "heel/toe": float(np.mean([r["heel_toe"] for r in taps if r["heel_toe"] is not None]))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path,
                        default=train_detector.candidates_cache(),
                        help="the candidates `train_detector.py` cached (default: the shipped recipe's)")
    parser.add_argument("--hidden", default=",".join(map(str, train_detector.HIDDEN)))
    parser.add_argument("--l2", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--below", type=float, default=DetectorSettings().withdraw_below)
    parser.add_argument("--on-grid", type=float, default=DetectorSettings().withdraw_on_grid)
    parser.add_argument("--when-idle", type=lambda v: None if v == "none" else float(v),
                        default=DetectorSettings().withdraw_when_idle,
                        help="the bar off the grid while no tap was confirmed for --idle-s ('none': no such bar)")
    parser.add_argument("--idle-s", type=float, default=DetectorSettings().idle_s,
                        help="seconds with no tap confirmed: the feet at rest")
    parser.add_argument("--no-foot-kind", dest="foot_kind", action="store_false",
                        help="heel or toe from stage B's word alone, split as the player's feet put it")
    parser.add_argument("--details", action="store_true", help="every family's figures")
    parser.add_argument("--train-cache", type=Path, default=None,
                        help="stage B learns this cache's candidates (the same clips, e.g. those of a stage A "
                             "`train_detector.py --train-lower` made more sensitive) and is scored on --cache's")
    parser.add_argument("--train-lower", dest="lowers", type=train_detector.lowerings_of, default=train_detector.TRAIN_LOWER,
                        metavar="LOGITS",
                        help="stage B learns the candidates of stage A this many logits under its threshold, "
                             "several side by side (0,1), as cached by `train_detector.py --train-lower`; "
                             "it is scored on the live ones (0)")
    parser.add_argument("--generated-negatives", type=float, default=train_detector.GENERATED_NEGATIVES,
                        metavar="TIMES", help="each false candidate of the app's own clips weighs this many times "
                                              "another (as train_detector.py's)")
    parser.add_argument("--family-balanced", action=argparse.BooleanOptionalAction,
                        default=train_detector.FAMILY_BALANCED,
                        help="each family of the corpus weighs as much as another, the app's own clips keeping "
                             "their share (as train_detector.py's)")
    args = parser.parse_args(argv)
    if not args.cache.exists():
        parser.error(f"{args.cache}: no cached candidates; run scripts/train_detector.py --folds first")
    train_detector.HIDDEN = tuple(int(n) for n in args.hidden.split(","))
    started = time.monotonic()
    figures = score(load_cache(args.cache), args, load_cache(args.train_cache))
    print(f"stage B {args.hidden}, L2 {args.l2}, withdraw under {args.below} ({args.on_grid} on the grid, "
          f"{args.when_idle} with the feet at rest {args.idle_s} s): "
          + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()) + f" ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
