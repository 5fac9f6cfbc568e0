"""Rooms and rigs: impulse responses the whole mix goes through.

- `room`: a shoebox room simulated by pyroomacoustics (image sources to order 3, then ray
  tracing; air absorption), RT60 0.2-1.2 s. The board (the tap source) sits on the floor and the
  microphone stands 0.5, 1.5 or 3 m from it; the band plays from elsewhere in the same room. The
  bank is computed once and cached (`out/corpus-cache/`). Each response is shifted so that its
  direct sound is at sample 0 and scaled to a direct sound of 1: a tap's truth time is where the
  direct sound of the dry hit starts (the propagation delay is left out).
- `contact`: a contact mic or piezo under the board: the board's own resonances (short modal
  ringing, little air), a piezo's high-pass; the music reaches it only through the board.
- `dry`: no room at all.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

BANK_VERSION = 3  # 3: the ray tracer seeded per room (2's rooms differed from one build to the next)
RT60S = (0.22, 0.3, 0.4, 0.48, 0.58, 0.7, 0.82, 0.98)  # Sabine targets: measured 0.2-1.2 s
DISTANCES = (0.5, 1.5, 3.0)
SPEED_OF_SOUND = 343.0


def _room_spec(i: int, rt60: float):
    rng = np.random.default_rng([404, i])
    scale = 0.7 + 1.6 * (rt60 - 0.2)  # longer reverberation in bigger rooms: a kitchen to a hall
    dims = np.array([rng.uniform(4.5, 6.5), rng.uniform(3.5, 5.0), rng.uniform(2.5, 3.0)]) * [scale, scale, 1]
    dims[2] = min(dims[2] * (1 + 0.4 * (scale - 1)), 7.0)
    dims[:2] = np.maximum(dims[:2], 4.0)
    board = np.array([rng.uniform(0.3, 0.45) * dims[0], rng.uniform(0.3, 0.6) * dims[1], 0.05])
    return rng, dims, board


def _aligned(ir: np.ndarray, distance: float, sample_rate: int) -> np.ndarray:
    """The response from its direct sound on, the direct sound scaled to 1."""
    expect = int((distance / SPEED_OF_SOUND + 0.004) * sample_rate) + 64
    head = np.abs(ir[:expect])
    first = int(np.argmax(head >= 0.5 * head.max()))
    peak = first + int(np.argmax(head[first : first + 8]))
    out = ir[peak:].astype(np.float64)
    out /= out[0] if abs(out[0]) > 1e-9 else np.abs(out).max()
    tail = np.nonzero(np.abs(out) > 1e-5)[0]
    return out[: tail[-1] + 1 if len(tail) else 1].astype(np.float32)


def _simulate(i: int, rt60: float, sample_rate: int):
    import pyroomacoustics as pra

    rng, dims, board = _room_spec(i, rt60)
    pra.random.seed(404_000 + i)  # the ray tracer draws its rays from its own generator: the same rooms every build
    absorption, _ = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=sample_rate, materials=pra.Material(float(absorption)), max_order=3,
                       ray_tracing=True, air_absorption=True)
    room.set_ray_tracing(receiver_radius=0.5, n_rays=3000, energy_thres=1e-5)
    mics = []
    for d in DISTANCES:
        angle = rng.uniform(0, 2 * np.pi)
        height = min(rng.uniform(0.9, 1.5), board[2] + 0.8 * d)  # a short stand for a close mic
        horizontal = np.sqrt(max(0.05, d ** 2 - (height - board[2]) ** 2))
        xy = board[:2] + horizontal * np.array([np.cos(angle), np.sin(angle)])
        xy = np.clip(xy, 0.3, dims[:2] - 0.3)
        mics.append([xy[0], xy[1], height])
    band = np.array([rng.uniform(0.6, 0.85) * dims[0], rng.uniform(0.3, 0.7) * dims[1], 1.2])
    room.add_source(board.tolist())
    room.add_source(band.tolist())
    room.add_microphone_array(np.array(mics).T)
    room.compute_rir()
    taps = {}
    for m, mic in enumerate(mics):
        dist = float(np.linalg.norm(np.array(mic) - board))
        taps[round(DISTANCES[m], 2)] = (_aligned(np.asarray(room.rir[m][0]), dist, sample_rate), dist)
    music_dist = float(np.linalg.norm(np.array(mics[1]) - band))
    music = _aligned(np.asarray(room.rir[1][1]), music_dist, sample_rate)
    measured = float(np.median(room.measure_rt60()))
    return {"rt60_target": rt60, "rt60": round(measured, 3), "dims": [round(float(x), 2) for x in dims],
            "music_distance": round(music_dist, 2), "taps": taps, "music": music}


def room_bank(cache: Path, sample_rate: int, rt60s=RT60S) -> list[dict]:
    """The simulated rooms, computed once and kept in `cache`."""
    key = hashlib.sha1(json.dumps([BANK_VERSION, sample_rate, list(rt60s), DISTANCES]).encode()).hexdigest()[:10]
    path = Path(cache) / f"rooms-{key}.npz"
    if path.exists():
        data = np.load(path, allow_pickle=False)
        rooms = []
        for i, m in enumerate(json.loads(str(data["meta"]))):
            dists = m.pop("dists")
            m["taps"] = {float(d): (data[f"r{i}_t{d}"], dist) for d, dist in dists.items()}
            m["music"] = data[f"r{i}_m"]
            rooms.append(m)
        return rooms
    rooms = [_simulate(i, rt60, sample_rate) for i, rt60 in enumerate(rt60s)]
    arrays, meta = {}, []
    for i, r in enumerate(rooms):
        for d, (ir, dist) in r["taps"].items():
            arrays[f"r{i}_t{d}"] = ir
        arrays[f"r{i}_m"] = r["music"]
        meta.append({k: r[k] for k in ("rt60_target", "rt60", "dims", "music_distance")}
                    | {"dists": {str(d): dist for d, (_, dist) in r["taps"].items()}})
    Path(cache).mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=json.dumps(meta), **arrays)
    tmp.replace(path)
    return rooms


def contact_ir(rng, sample_rate: int) -> np.ndarray:
    """A piezo under the board: the direct contact, the board's modes ringing a little, high-passed."""
    from scipy.signal import butter, sosfilt

    n = int(rng.uniform(0.08, 0.2) * sample_rate)
    t = np.arange(n) / sample_rate
    freqs = np.sort(rng.uniform(90, 2500, int(rng.integers(8, 20))))
    decays = 1.0 / (np.pi * freqs * rng.uniform(0.01, 0.04, freqs.size))
    amps = rng.uniform(0.2, 1.0, freqs.size) / np.sqrt(freqs / 90)
    ring = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t) * np.exp(-t / decays[:, None])).sum(0)
    ir = ring / np.abs(ring).max() * rng.uniform(0.2, 0.6)
    ir[0] += 1.0
    sos = butter(2, rng.uniform(40, 150), "highpass", fs=sample_rate, output="sos")
    ir = sosfilt(sos, ir)
    return (ir / ir[0]).astype(np.float32)


def contact_music_path(rng, sample_rate: int) -> np.ndarray:
    """What reaches a piezo of the music: the air shaking the board, low-passed, through its modes."""
    from scipy.signal import butter, sosfilt

    ir = contact_ir(rng, sample_rate).astype(np.float64)
    sos = butter(2, rng.uniform(600, 2000), "lowpass", fs=sample_rate, output="sos")
    return sosfilt(sos, ir).astype(np.float32)
