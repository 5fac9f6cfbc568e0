#!/usr/bin/env python3
"""Train the tap detector's stage A: a small learned onset score on the band levels, every hop.

    .venv/bin/python scripts/train_stage_a.py            # hops of out/corpus, folds, shipped weights
    .venv/bin/python scripts/train_stage_a.py --report   # what the features can hear (recall ceiling)

Stage A's band state (each band's level, its expected tail and its noise floor, as the live
detector computes them) is recorded at every hop of every clip by the detector itself
(`TapDetector.collect_hops`) and cached per clip in out/detector/hops/. Those states do not
depend on where taps were fired, so one pass serves every model and every fold. The model
(`listen.onset`) sees the rises of the band levels over their tails and floors at the hop and
the two before it, and over each band's recent mean; it is trained to score high on the hops
whose window newly holds a true tap's onset, and low away from any tap. Leave-one-family-out
folds as `scripts/corpus/splits.py` (a family's fold trains without its clips and its music).

The corpus is also heard played at other speeds (`train_detector.played_at`, `--speeds`), as
stage B is. Dependencies: numpy, soundfile and scipy (the `train` extra); nothing here runs in the app.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from corpus import splits  # noqa: E402
from dessins_de_planche.listen import onset  # noqa: E402
from dessins_de_planche.listen.detector import TapDetector  # noqa: E402
from dessins_de_planche.listen.detector_settings import DetectorSettings  # noqa: E402
from dessins_de_planche.listen.synth import match_onsets  # noqa: E402
from train_detector import (BLOCK, SPEEDS, clip_audio, corpora_clips, generated_clips, init, map_clips,  # noqa: E402
                            played_at, randomized_clips, speeds_of, speeds_tag, steady_clips)

TRAIN_VERSION = "a6"  # a2: one logit more sensitive than its own best F1; a3: the corpus played at other speeds too;
# a4: each band's rise over its recent mean too (`onset.MEAN_HOPS`); a5: hops 5-25 ms before a tap are negatives;
# a6: the lowest band's longer view (`onset.LOW_WINDOWS`)
HOPS_DIR = ROOT / "out" / "detector" / "hops"
# a hop is a positive when the true onset lies in the newest part of its window: firing there
# places the tap within a few ms of the truth
POSITIVE_S = (-0.0015, 0.0045)  # detector's onset estimate minus the true onset
# around a tap, other hops are neither (deaf after it, or a few ms early); hops before that are
# negatives: a candidate fired on what precedes a tap keeps stage A deaf through its onset
IGNORE_S = (-0.005, 0.021)


def _code_key() -> str:
    from dataclasses import asdict

    from dessins_de_planche.listen import detector, front_end

    rules = repr(sorted(asdict(DetectorSettings()).items())).encode()
    code = b"".join(Path(m.__file__).read_bytes() for m in (detector, front_end))
    return hashlib.sha1(rules + code).hexdigest()[:8]


def hops_of(job) -> str:
    """Record one clip's band state at every hop (cached); returns the cache path."""
    clip, key = job
    # the clip's identity too: a corpus made again (or another corpus) may reuse its name
    if "path" in clip:
        stat = Path(clip["path"]).stat()
        key = f"{key}-{clip['path']}-{stat.st_size}-{stat.st_mtime_ns}"
        if clip.get("speed", 1.0) != 1.0:
            key += f"@{clip['speed']}"
    else:
        spec = clip.get("generated") or clip.get("steady") or clip.get("randomized") or {}
        key = f"{key}-{sorted(spec.items())}"
    path = HOPS_DIR / f"{clip['name']}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) == key:
                return str(path)
    audio, sr, truth = clip_audio(clip)
    detector = TapDetector(sr, [0], block_size=BLOCK, weights=False,
                           settings=DetectorSettings(stage_b=False, learned_onset=False, onset_db=1e9))
    detector.collect_hops = rows = []
    for start in range(0, len(audio), BLOCK):
        detector.process(audio[start : start + BLOCK], start)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(
        tmp, key=np.array(key), sr=np.array(sr), hop=np.array(detector.hop),
        onset_back=np.array(detector.onset_back), band_floor=detector.front.band_floor[0],
        k=np.array([r[0] for r in rows], np.int64),
        level=np.array([r[1] for r in rows], np.float32), ref=np.array([r[2] for r in rows], np.float32),
        bg=np.array([r[3] for r in rows], np.float32), learning=np.array([r[4] for r in rows], bool),
        sounding=np.array([r[5] for r in rows], bool), low=np.array([r[6] for r in rows], np.float32),
        truth=np.array([t["time"] for t in truth], np.float64),
        heel=np.array([t["kind"] == "heel" for t in truth], bool), seconds=np.array(len(audio) / sr))
    os.replace(tmp, path)
    return str(path)


def collect(clips, jobs: int) -> list[str]:
    key = _code_key()
    started = time.monotonic()
    paths = map_clips(hops_of, [(c, key) for c in clips], jobs)
    print(f"stage A hops of {len(clips)} clips ready ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return paths


# -- the examples ------------------------------------------------------------------
NEGATIVE_KEEP = 0.25  # share of the negative hops trained on (weighted back up)
HIDDEN = (32, 16)
GAP_S = DetectorSettings().min_gap_s


def _state(level, ref, bg, floor, k, learning, sounding, low, sr, hop, back, truth) -> dict:
    """A clip's gated hops: features, labels (1 foot onset, 0 none, -1 neither), and what the
    firing replay (`fire`) needs."""
    ok = onset.gate(level, ref, floor) & sounding & ~learning
    x = onset.features(level, ref, bg, floor, low=low)[ok]
    k = k[ok]
    est = (k * hop - back) / sr
    label = np.zeros(len(k), np.int8)
    if len(truth):
        order = np.searchsorted(truth, est)
        near = np.full(len(est), np.inf)
        for j in (order - 1, order):
            valid = (j >= 0) & (j < len(truth))
            delta = np.where(valid, est - truth[np.clip(j, 0, len(truth) - 1)], np.inf)
            better = np.abs(delta) < np.abs(near)
            near = np.where(better, delta, near)
        label[(near > IGNORE_S[0]) & (near < IGNORE_S[1])] = -1
        label[(near >= POSITIVE_S[0]) & (near <= POSITIVE_S[1])] = 1
    return {"x": x, "label": label, "k": k, "est": est, "truth": truth,
            "gap": int(round(GAP_S * sr / hop))}


def hop_state(rows, detector, truth) -> dict:
    """`_state` from a detector's `collect_hops` rows (channel 0)."""
    return _state(np.array([r[1] for r in rows], np.float32), np.array([r[2] for r in rows], np.float32),
                  np.array([r[3] for r in rows], np.float32), detector.front.band_floor[0],
                  np.array([r[0] for r in rows], np.int64), np.array([r[4] for r in rows], bool),
                  np.array([r[5] for r in rows], bool), np.array([r[6] for r in rows], np.float32),
                  int(detector.sample_rate), detector.hop,
                  detector.onset_back, np.sort(np.array([t["time"] for t in truth], np.float64)))


def load_clip(path: str, rng) -> dict:
    """A cached clip's `_state`, with the training sample (every positive, a share of the negatives)."""
    with np.load(path, allow_pickle=False) as d:
        state = _state(d["level"], d["ref"], d["bg"], d["band_floor"], d["k"], d["learning"], d["sounding"],
                       d["low"], int(d["sr"]), int(d["hop"]), int(d["onset_back"]), np.sort(d["truth"]))
        state["seconds"] = float(d["seconds"])
    label = state["label"]
    state["keep"] = (label == 1) | ((label == 0) & (rng.random(len(label)) < NEGATIVE_KEEP))
    return state


def fired_hops(clip: dict, score: np.ndarray, threshold: float) -> np.ndarray:
    """The live firing rule on a clip's scored hops: the indices of the hops that fire."""
    hot = np.flatnonzero(score > threshold)
    fired, deaf = [], -(1 << 40)
    k = clip["k"]
    for i in hot:
        if k[i] >= deaf:
            fired.append(i)
            deaf = k[i] + clip["gap"]
    return np.array(fired, np.intp)


def fire(clip: dict, score: np.ndarray, threshold: float) -> np.ndarray:
    """The onset estimates of the taps the live rule fires."""
    return clip["est"][fired_hops(clip, score, threshold)]


def tally(clips: list[dict], scores: list[np.ndarray], threshold: float) -> dict:
    tp = fp = truth = 0
    music_fa, music_s = 0, 0.0
    for clip, score in zip(clips, scores):
        found = fire(clip, score, threshold)
        pairs, _, _ = match_onsets(found, clip["truth"], 0.025)
        tp += len(pairs)
        fp += len(found) - len(pairs)
        truth += len(clip["truth"])
        if clip["music_only"]:
            music_fa += len(found)
            music_s += clip["seconds"]
    p, r = tp / max(tp + fp, 1), tp / max(truth, 1)
    return {"f1": 2 * p * r / max(p + r, 1e-9), "precision": p, "recall": r,
            "music_fa_min": music_fa / max(music_s / 60, 1e-9)}


def train_binary(x, y, weight, seed: int, epochs: int, batch: int = 512, lr: float = 3e-3, l2: float = 1e-4):
    rng = np.random.default_rng(seed)
    params = init(rng, [x.shape[1], *HIDDEN, 1])
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = 0
    layers = len(params) // 2
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        rate = lr * (0.5 * (1 + np.cos(np.pi * epoch / epochs)))
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            acts = [x[idx]]
            h = acts[0]
            for i in range(layers):
                h = h @ params[2 * i] + params[2 * i + 1]
                if i < layers - 1:
                    h = np.maximum(h, 0.0)
                acts.append(h)
            p = 1.0 / (1.0 + np.exp(-np.clip(acts[-1][:, 0], -30, 30)))
            w = weight[idx]
            grad = ((p - y[idx]) * w / w.sum())[:, None]
            grads = [None] * len(params)
            for i in reversed(range(layers)):
                grads[2 * i] = acts[i].T @ grad + l2 * params[2 * i]
                grads[2 * i + 1] = grad.sum(axis=0)
                if i:
                    grad = (grad @ params[2 * i].T) * (acts[i] > 0)
            step += 1
            for j, g in enumerate(grads):
                m[j] = b1 * m[j] + (1 - b1) * g
                v[j] = b2 * v[j] + (1 - b2) * g * g
                params[j] -= rate * (m[j] / (1 - b1 ** step)) / (np.sqrt(v[j] / (1 - b2 ** step)) + eps)
    return params


def as_weights(params, mean, scale, threshold, bands, stamp) -> dict:
    weights = {f"w{i}": params[2 * i].astype(np.float32) for i in range(len(params) // 2)}
    weights.update({f"b{i}": params[2 * i + 1].astype(np.float32) for i in range(len(params) // 2)})
    weights.update(layers=np.array(len(params) // 2), mean=mean.astype(np.float32),
                   scale=scale.astype(np.float32), threshold=np.array(threshold, np.float32),
                   bands=np.array(bands), stamp=np.array(stamp), mean_hops=np.array(onset.MEAN_HOPS),
                   low_band=np.array(1))
    return weights


def fit(clips: list[dict], seed: int, epochs: int, stamp: str, sensitivity: float = 0.0) -> dict:
    x = np.concatenate([c["x"][c["keep"]] for c in clips]).astype(np.float64)
    y = np.concatenate([c["label"][c["keep"]] for c in clips]).astype(np.float64)
    mean = x.mean(axis=0)
    scale = 1.0 / np.maximum(x.std(axis=0), 1e-3)
    pos = y.sum()
    # the negatives weigh back to what they were before sampling, then the two classes balance
    weight = np.where(y > 0, 1.0, 1.0 / NEGATIVE_KEEP)
    weight[y > 0] *= weight[y == 0].sum() / max(pos, 1) / 4
    params = train_binary((x - mean) * scale, y, weight, seed, epochs)
    bands = (clips[0]["x"].shape[1] - onset.LOW_FEATURES) // onset.group_count(onset.MEAN_HOPS)
    weights = as_weights(params, mean, scale, 0.0, bands, stamp)
    scores = [onset.scores(weights, c["x"]) for c in clips]
    best, threshold = -1.0, 0.0
    for t in np.linspace(-4, 6, 41):
        f1 = tally(clips, scores, t)["f1"]
        if f1 > best:
            best, threshold = f1, float(t)
    # stage A fires more than its own best F1 would: stage B, which hears 16 ms of the hit, takes
    # back what it should not have (one logit lower: LOFO F1 0.776 -> 0.811, docs/corpus.md)
    weights["threshold"] = np.array(threshold - sensitivity, np.float32)
    return weights


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, action="append",
                        help="a corpus folder (index.json); repeatable, as train_detector.py's: every family of "
                             "each gets its fold; default out/corpus")
    parser.add_argument("--generated", type=int, default=120)
    parser.add_argument("--steady", type=int, default=60,
                        help="clips of steady hum, buzz, tones and DC (no tap): what stage A must never fire on")
    parser.add_argument("--randomized", type=int, default=0, help="clips of taps of random timbre (family 'generated')")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--every", type=int, default=1, help="only every Nth clip (a quick look)")
    parser.add_argument("--folds", action="store_true", help="every leave-one-family-out fold too")
    parser.add_argument("--folds-only", action="store_true", help="the folds, not the shipped weights")
    parser.add_argument("--folds-dir", type=Path, default=ROOT / "out" / "detector" / "folds")
    parser.add_argument("--out", type=Path, default=onset.WEIGHTS_PATH)
    parser.add_argument("--speeds", default=SPEEDS, help="the corpus also played at these speeds (training only)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--sensitivity", type=float, default=1.0,
                        help="fire this much (in logits) under the threshold of stage A's own best F1")
    args = parser.parse_args(argv)
    clips, version = corpora_clips(args.corpus)
    repeated = sorted(name for name, n in Counter(c["name"] for c in clips).items() if n > 1)
    if repeated:  # each clip's hops are cached by its name (`hops_of`)
        parser.error(f"clip names repeat across the corpora ({', '.join(repeated[:3])}"
                     f"{', ...' if len(repeated) > 3 else ''}): build the second with make_corpus.py --first N")
    speeds = speeds_of(args.speeds)
    clips = played_at(clips, speeds)
    version += speeds_tag(speeds)
    clips += generated_clips(args.generated) + steady_clips(args.steady) + randomized_clips(args.randomized)
    clips = clips[:: args.every]
    paths = collect(clips, args.jobs)
    rng = np.random.default_rng(args.seed)
    data = []
    for clip, path in zip(clips, paths):
        d = load_clip(path, rng)
        d.update(name=clip["name"], family=clip["family"], music_family=clip.get("music_family") or "",
                 music_only=bool(clip["music_only"]), speed=clip.get("speed", 1.0))
        data.append(d)
    steady = (f"+s{args.steady}" if args.steady else "") + (f"+r{args.randomized}" if args.randomized else "")
    stamp_base = f"corpus-{version}+g{args.generated}{steady}.train-{TRAIN_VERSION}.seed-{args.seed}"
    families = sorted({c["family"] for c in data if c["family"] != "generated"})
    todo = families if args.folds or args.folds_only else []
    for family in todo:
        train = [c for c in data if not splits.held_out(c, family)]
        test = [c for c in data if c["family"] == family and c["speed"] == 1.0]  # scored as recorded
        started = time.monotonic()
        weights = fit(train, args.seed, args.epochs, f"{stamp_base}.without-{family}", args.sensitivity)
        args.folds_dir.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.folds_dir / f"{family}.stage_a.npz", **weights)
        t = float(weights["threshold"])
        inside = tally(train, [onset.scores(weights, c["x"]) for c in train], t)
        held = tally(test, [onset.scores(weights, c["x"]) for c in test], t)
        print(f"fold {family}: threshold {t:.2f}; train F1 {inside['f1']:.3f}; held out F1 {held['f1']:.3f} "
              f"P {held['precision']:.3f} R {held['recall']:.3f}, music alone FA/min {held['music_fa_min']:.1f} "
              f"({time.monotonic() - started:.0f} s)")
    if not args.folds_only:
        weights = fit(data, args.seed, args.epochs, stamp_base, args.sensitivity)
        t = float(weights["threshold"])
        music = [c for c in data if c["music_only"]]
        inside = tally(data, [onset.scores(weights, c["x"]) for c in data], t)
        print(f"all: threshold {t:.2f}; F1 {inside['f1']:.3f} P {inside['precision']:.3f} "
              f"R {inside['recall']:.3f}, music FA/min {inside['music_fa_min']:.1f}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.out, **weights)
        size = args.out.stat().st_size
        print(f"{args.out}: {size} bytes, stamp {stamp_base}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
