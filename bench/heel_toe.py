"""Heel/toe after `calibrate`: stage B's word fine-tuned on a player's first few heels and toes.

On each clip of the corpus, a family scored with the stage B trained without it (the folds of
`scripts/train_detector.py --folds`): the clip's first N confirmed heels and N confirmed toes
play the calibration's taps (`listen.calibration.fine_tune_heel`, as `calibrate` does: on the
word beside the feet where the fold carries one, then read beside the clip's recent feet), and
heel/toe is scored on the clip's other confirmed taps, beside the untuned word of the same
model on the same taps and the live word without calibration: stage B's read beside the clip's
recent feet (`listen.foot_kind`, where the fold carries it) and split where they put it
(`listen.kinds`). A clip is one board and one pair of shoes; clips with fewer than N + 2
of either are left out.

    .venv/bin/python scripts/train_detector.py --folds     # once: the folds and the candidates' cache
    .venv/bin/python bench/heel_toe.py [--taps 6]

Target (issue 13): heel/toe right on >= 0.92 of the taps.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "bench")]

import train_detector as training  # noqa: E402
from dessins_de_planche.listen import confirm  # noqa: E402
from dessins_de_planche.listen.calibration import fine_tune_heel  # noqa: E402
from dessins_de_planche.listen.foot_kind import FootKind  # noqa: E402
from stage_b_replay import live_heels  # noqa: E402

TARGET = 0.92


def logits(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--taps", type=int, default=6, help="heels and toes each in the calibration (default 6)")
    parser.add_argument("--cache", type=Path, default=training.candidates_cache())
    parser.add_argument("--folds", type=Path, default=ROOT / "out" / "detector" / "folds")
    args = parser.parse_args()
    if not args.cache.exists():
        print(f"{args.cache}: no candidates; run scripts/train_detector.py --folds first", file=sys.stderr)
        return 2
    with np.load(args.cache, allow_pickle=False) as cached:
        data = {key: cached[key] for key in cached.files}
    families = [str(f) for f in data["families"]]
    n = args.taps
    total = np.zeros(4)
    print(f"heel/toe right, the clip's first {n} heels and {n} toes as the calibration, its other taps scored")
    for family in families:
        weights = confirm.load_weights(args.folds / f"{family}.npz")
        if family.startswith("music-") or family == "generated" or weights is None:
            continue
        fold = training.for_model(data, family)
        mine = (data["family"] == families.index(family))[fold["clip"]]
        foot, heel = training.predict(training.params_of(weights), training.inputs_for(weights, fold)[mine])
        kind, clip, time = fold["label"][mine], fold["clip"][mine], data[f"time.{family}"][mine]
        x = fold["x"][mine]
        head = FootKind.of(weights)  # heel or toe beside the channel's recent feet, where the fold has it
        confirmed = foot >= float(weights["threshold"])
        # the live word without calibration: every confirmed candidate in time order, music too
        followed, beside = live_heels(x, heel, time, clip, confirmed, head)
        counts = np.zeros(4)
        for c in np.unique(clip):
            heels = np.flatnonzero((clip == c) & confirmed & (kind == 1))
            toes = np.flatnonzero((clip == c) & confirmed & (kind == 2))
            if len(heels) < n + 2 or len(toes) < n + 2:
                continue
            rest = np.concatenate([heels[n:], toes[n:]])
            is_heel = kind[rest] == 1
            word = logits(heel[rest])
            # calibrate's tune: each calibration tap's word beside the other calibration taps
            # (`calibration._beside_own_feet`); live, each tap beside the clip's recent feet
            taken = np.concatenate([heels[:n], toes[:n]])
            tuned = heel[taken]
            if head is not None:
                among = head.means_without_each(x[taken])
                tuned = np.array([head.heel(float(heel[i]), x[i], m) for i, m in zip(taken, among)])
            shift, _ = fine_tune_heel(list(tuned[:n]), list(tuned[n:]))
            counts += [len(rest), ((word >= 0) == is_heel).sum(), (followed[rest] == is_heel).sum(),
                       ((logits(beside[rest]) + shift >= 0) == is_heel).sum()]
        total += counts
        if counts[0]:
            print(f"  {family:<16} {int(counts[0]):>6} taps   untuned {counts[1] / counts[0]:.3f}   "
                  f"following the feet {counts[2] / counts[0]:.3f}   tuned {counts[3] / counts[0]:.3f}")
    if not total[0]:
        print("no clip had enough confirmed heels and toes", file=sys.stderr)
        return 1
    untuned, followed, tuned = total[1] / total[0], total[2] / total[0], total[3] / total[0]
    print(f"  {'all':<16} {int(total[0]):>6} taps   untuned {untuned:.3f}   following the feet {followed:.3f}   "
          f"tuned {tuned:.3f}   (target >= {TARGET}: {'ok' if tuned >= TARGET else 'MISSED'}; "
          f"following/untuned {followed / untuned:.3f}, tuned/untuned {tuned / untuned:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
