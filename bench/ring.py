"""What one event costs to hand from a producer to a consumer: the ring against the queues.

Target (ring issue): push + pop per event >= 5x cheaper than `queue.Queue`
(put_nowait + get_nowait), measured in this run. Also against the real
alternative across processes, `multiprocessing.Queue`.

In one process: one push per event, a pop every 64 events (as the issue measured).
Across processes: a spawned producer sends N tap records as fast as it can, the
consumer drains; the figure is the CPU time of both processes per event (the
producer's includes `multiprocessing.Queue`'s feeder thread, which pickles and
writes the pipe), plus wall time per event.

    .venv/bin/python bench/ring.py [--events 200000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import time

from dessins_de_planche.events import TAP_DTYPE
from dessins_de_planche.ring import Ring

TARGET = 5.0
BATCH = 64
FIELDS = (1.25, 1.2505, 0.5, 7, 1, 0, 2, 1, 0)  # a tap record, every field but `seq`


def ring_in_process(events: int, ordered: bool) -> float:
    ring = Ring.create(TAP_DTYPE, 1024, ordered=ordered)
    push, pop = ring.push, ring.pop
    f0, f1, f2, f3, f4, f5, f6, f7, f8 = FIELDS
    start = time.perf_counter()
    for _ in range(events // BATCH):
        for _ in range(BATCH):
            push(f0, f1, f2, f3, f4, f5, f6, f7, f8)
        pop()
    elapsed = time.perf_counter() - start
    assert ring.dropped == 0 and ring.torn == 0
    ring.close()
    return elapsed / events


def queue_in_process(events: int) -> float:
    q = queue.Queue()
    put, get = q.put_nowait, q.get_nowait
    f0, f1, f2, f3, f4, f5, f6, f7, f8 = FIELDS
    start = time.perf_counter()
    for _ in range(events // BATCH):
        for _ in range(BATCH):
            put((f0, f1, f2, f3, f4, f5, f6, f7, f8))
        for _ in range(BATCH):
            get()
    return (time.perf_counter() - start) / events


# -- across processes ---------------------------------------------------------------


def ring_producer(name: str, ordered: bool, events: int, go, report) -> None:
    ring = Ring.attach(name, TAP_DTYPE, ordered=ordered)
    push = ring.push
    f0, f1, f2, f3, f4, f5, f6, f7, f8 = FIELDS
    go.wait()
    cpu = time.process_time()
    for _ in range(events):
        push(f0, f1, f2, f3, f4, f5, f6, f7, f8)
    report.put(time.process_time() - cpu)
    ring.close()


def mp_queue_producer(q, events: int, go, report) -> None:
    put = q.put
    f0, f1, f2, f3, f4, f5, f6, f7, f8 = FIELDS
    go.wait()
    cpu = time.process_time()
    for _ in range(events):
        put((f0, f1, f2, f3, f4, f5, f6, f7, f8))
    q.close()
    q.join_thread()  # the feeder thread has pickled and written everything: count its CPU too
    report.put(time.process_time() - cpu)


def across_processes(kind: str, events: int) -> tuple[float, float]:
    """(CPU seconds of both processes per event, wall seconds per event)."""
    spawn = multiprocessing.get_context("spawn")
    go, report = spawn.Event(), spawn.Queue()
    if kind == "mp.Queue":
        q = spawn.Queue()
        child = spawn.Process(target=mp_queue_producer, args=(q, events, go, report))
    else:
        ordered = kind == "ring ordered"
        capacity = 1 << (events - 1).bit_length()  # never full: this measures cost, not drops
        ring = Ring.create(TAP_DTYPE, capacity, ordered=ordered)
        child = spawn.Process(target=ring_producer, args=(ring.name, ordered, events, go, report))
    child.start()
    time.sleep(1.0)  # let the child import and attach before the clock starts
    received = 0
    cpu, wall = time.process_time(), time.perf_counter()
    go.set()
    if kind == "mp.Queue":
        get = q.get
        for _ in range(events):
            get()
        received = events
    else:
        pop = ring.pop
        while received < events:
            batch = pop()
            received += len(batch)
            if not len(batch):
                time.sleep(0.0005)
    consumer_cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    producer_cpu = report.get(timeout=60)
    child.join(timeout=10)
    if kind != "mp.Queue":
        assert ring.torn == 0 and ring.dropped == 0
        ring.close()
    return (producer_cpu + consumer_cpu) / events, wall / events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5, help="best of this many, interleaved")
    args = parser.parse_args()
    events = args.events // BATCH * BATCH

    best: dict[str, float] = {}
    for _ in range(args.rounds):  # interleaved, so another process's load hits every method alike
        for name, run in [("ring", lambda: ring_in_process(events, False)),
                          ("ring ordered", lambda: ring_in_process(events, True)),
                          ("queue.Queue", lambda: queue_in_process(events))]:
            best[name] = min(best.get(name, float("inf")), run())

    print(f"In one process, one push per event, a pop every {BATCH} ({events} events, best of {args.rounds}):")
    print(f"{'design':<16}{'us/event':>10}{'queue.Queue / this':>22}")
    for name, cost in best.items():
        print(f"{name:<16}{cost * 1e6:>10.3f}{best['queue.Queue'] / cost:>21.1f}x")
    ratio = best["queue.Queue"] / best["ring"]
    print(f"target: ring >= {TARGET:.0f}x cheaper than queue.Queue -> {ratio:.1f}x "
          f"({'met' if ratio >= TARGET else 'NOT met'})")
    print(f"        ordered ring (ARM path, forced here) -> {best['queue.Queue'] / best['ring ordered']:.1f}x")

    cross_events = min(events, 200_000)
    print(f"\nAcross processes (spawned producer, {cross_events} events, CPU of both processes; best of 2):")
    print(f"{'design':<16}{'CPU us/event':>14}{'wall us/event':>15}{'mp.Queue / this (CPU)':>24}")
    rows = {}
    for name in ("ring", "ring ordered", "mp.Queue"):
        runs = [across_processes(name, cross_events) for _ in range(2)]
        rows[name] = min(r[0] for r in runs), min(r[1] for r in runs)
    for name, (cpu, wall) in rows.items():
        print(f"{name:<16}{cpu * 1e6:>14.3f}{wall * 1e6:>15.3f}{rows['mp.Queue'][0] / cpu:>23.1f}x")


if __name__ == "__main__":
    main()
