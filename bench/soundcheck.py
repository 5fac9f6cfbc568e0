"""The soundcheck (`calibrate --music`) on the corpus, leave-one-family-out: each clip's bar off the
grid raised as `listen.calibration.foot_bar` raises it, from stage B's word on a music-only clip of
the same band (the same music family, another tune), beside the default bar.

    .venv/bin/python bench/soundcheck.py [--cache "out/detector/corpus+lower0,1-candidates.npz"]

Reads the candidates `scripts/train_detector.py --folds` cached, and trains and replays each fold's
stage B as `bench/stage_b_replay.py` does (about 18 minutes). A tap family's stage B has heard that
band's music in training (a music family's has not: it is left out with it), so its soundcheck's
bar comes out low: the figures for the taps lean towards the default's. The player's own taps are
not in the corpus, so the bar is not capped by them here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stage_b_replay import check_same_clips, fold_word, load_cache, played_only, replay, train_detector  # noqa: E402
from dessins_de_planche.listen.calibration import foot_bar  # noqa: E402
from dessins_de_planche.listen.detector_settings import DetectorSettings  # noqa: E402


def soundchecks(data: dict) -> dict[str, list[int]]:
    """Each music family's music-only clips (at their own speed): the bands' soundchecks."""
    played = played_only(data)
    found: dict[str, list[int]] = {}
    for i, (family, alone) in enumerate(zip(data["music_family"], data["music_only"])):
        if alone and not played[i] and str(family).startswith("music-"):
            found.setdefault(str(family), []).append(i)
    return found


def score(data: dict, seed: int, learn: dict | None = None, lowers=(0.0,), generated_negatives: float = 1.0,
          family_balanced: bool = False) -> dict:
    check_same_clips(data, learn)
    s = DetectorSettings()
    families = [str(f) for f in data["families"]]
    family_of, music_of = data["family"], data["music_family"]
    played = played_only(data)
    claps = train_detector.clapping_clips(data)  # reported apart from music alone
    checks = soundchecks(data)
    rows = {"default": {}, "soundcheck": {}}
    for family in families:
        if family == "generated":
            continue
        fold, foot, _, _ = fold_word(data, family, seed, learn=learn, lowers=lowers,
                                     generated_negatives=generated_negatives, family_balanced=family_balanced)
        clip = fold["clip"]
        scored = (family_of == families.index(family)) & ~played
        test = scored[clip]
        bars = {}
        for c in np.flatnonzero(scored):
            others = [i for i in checks.get(str(music_of[c]), []) if i != c]
            if others:  # another tune of the same band, picked by the clip's number
                bar = foot_bar(foot[clip == others[c % len(others)]].tolist(), None)
                if bar is not None:
                    bars[int(c)] = bar
        label = fold["label"][test]
        truth = int(data["truth"][scored].sum())
        seconds = float(data["seconds"][scored & ~claps].sum())  # music alone: the clapping apart
        clapped = claps[clip[test]]
        for way, per_clip in (("default", None), ("soundcheck", bars)):
            keep = replay(fold["time"][test], foot[test], clip[test], s.withdraw_below, s.withdraw_on_grid, per_clip,
                          when_idle=s.withdraw_when_idle, idle_s=s.idle_s)
            false = keep & (label == 0)
            tp, fp = int((keep & (label > 0)).sum()), int((false & ~clapped).sum())
            rows[way][family] = {"tp": tp, "fp": fp, "truth": truth, "seconds": seconds,
                                 "f1": 2 * tp / max(tp + fp + truth, 1), "clapping fp": int((false & clapped).sum()),
                                 "clapping seconds": float(data["seconds"][scored & claps].sum())}
        print(f"  {family}: " + ", ".join(
            f"{way} " + (f"{60 * r[family]['fp'] / r[family]['seconds']:.1f} a minute" if family.startswith("music")
                         else f"F1 {r[family]['f1']:.3f}") for way, r in rows.items())
            + f" ({len(bars)} of {int(scored.sum())} clips' bars raised)", flush=True)
    figures = {}
    for way, by_family in rows.items():
        taps = [r for f, r in by_family.items() if not f.startswith("music")]
        music = [r for f, r in by_family.items() if f.startswith("music")]
        figures[way] = {"F1 mean": float(np.mean([r["f1"] for r in taps])), "worst": min(r["f1"] for r in taps),
                        "recall": sum(r["tp"] for r in taps) / max(sum(r["truth"] for r in taps), 1),
                        "music FA/min": 60 * sum(r["fp"] for r in music) / max(sum(r["seconds"] for r in music), 1e-9),
                        "clapping FA/min": 60 * sum(r["clapping fp"] for r in music)
                        / max(sum(r["clapping seconds"] for r in music), 1e-9)}
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path,
                        default=train_detector.candidates_cache(),
                        help="the candidates `train_detector.py` cached (default: the shipped recipe's)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--train-cache", type=Path, default=None,
                        help="stage B learns this cache's candidates (as bench/stage_b_replay.py's --train-cache)")
    parser.add_argument("--train-lower", type=train_detector.lowerings_of, default=train_detector.TRAIN_LOWER,
                        metavar="LOGITS",
                        help="stage B learns the candidates of stage A this many logits lower, several side by "
                             "side (as bench/stage_b_replay.py's --train-lower)")
    parser.add_argument("--generated-negatives", type=float, default=train_detector.GENERATED_NEGATIVES,
                        metavar="TIMES", help="as bench/stage_b_replay.py's --generated-negatives")
    parser.add_argument("--family-balanced", action=argparse.BooleanOptionalAction,
                        default=train_detector.FAMILY_BALANCED, help="as bench/stage_b_replay.py's --family-balanced")
    args = parser.parse_args(argv)
    if not args.cache.exists():
        parser.error(f"{args.cache}: no cached candidates; run scripts/train_detector.py --folds first")
    started = time.monotonic()
    for way, figures in score(load_cache(args.cache), args.seed, load_cache(args.train_cache), args.train_lower,
                             args.generated_negatives, args.family_balanced).items():
        print(f"{way:>10}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
