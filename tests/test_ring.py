"""The shared-memory ring: what the render process reads is exactly what the input process wrote.

Records carry a payload derived from their index, so every record read can be
checked against the one that was written. Both index disciplines run: plain
stores (x86-64) and `atomics` release/acquire (`ordered=True`, the ARM path).
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dessins_de_planche.events import TAP_DTYPE
from dessins_de_planche.ring import Ring

ORDERINGS = pytest.mark.parametrize("ordered", [False, True], ids=["plain", "ordered"])


def tap_fields(i: int) -> tuple:
    """The record written for index `i` (every field but `seq`): each field says which `i` it was."""
    return (i * 0.001, i * 0.001 + 0.0005, (i % 1000) / 1000, i, i % 65536, i % 2, i % 251, i % 3, (i // 7) % 2)


def assert_taps_are_written_ones(records: np.ndarray) -> np.ndarray:
    """Every record equals the one written for its index; returns the indices."""
    i = records["tap_id"].astype(np.int64)
    assert np.array_equal(records["time"], i * 0.001)
    assert np.array_equal(records["detected_at"], i * 0.001 + 0.0005)
    assert np.array_equal(records["velocity"], ((i % 1000) / 1000).astype(np.float32))
    assert np.array_equal(records["channel"], i % 65536)
    assert np.array_equal(records["source"], i % 2)
    assert np.array_equal(records["zone"], i % 251)
    assert np.array_equal(records["kind"], i % 3)
    assert np.array_equal(records["refine"], (i // 7) % 2)
    return i


@pytest.fixture
def make_ring():
    rings = []

    def make(capacity=8, ordered=False, dtype=TAP_DTYPE):
        ring = Ring.create(dtype, capacity, ordered=ordered)
        rings.append(ring)
        return ring

    yield make
    for ring in rings:
        ring.close()


# -- one process ---------------------------------------------------------------


@ORDERINGS
def test_records_come_out_whole_and_in_order(make_ring, ordered):
    ring = make_ring(16, ordered)
    for i in range(10):
        assert ring.push(*tap_fields(i))
    assert ring.available == 10
    out = ring.pop()
    assert out.dtype == TAP_DTYPE
    assert list(assert_taps_are_written_ones(out)) == list(range(10))
    assert list(out["seq"]) == list(range(1, 11))
    assert ring.available == 0 and len(ring.pop()) == 0
    assert ring.torn == 0


@ORDERINGS
def test_wraps_around_many_times(make_ring, ordered):
    ring = make_ring(8, ordered)
    written = read = 0
    for burst in [5, 7, 3, 8, 1, 6, 8, 2] * 4:  # pops straddle the end of the buffer
        for _ in range(burst):
            assert ring.push(*tap_fields(written))
            written += 1
        out = ring.pop(limit=6)
        out = np.concatenate([out, ring.pop()])
        assert list(assert_taps_are_written_ones(out)) == list(range(read, written))
        read = written
    assert written > 10 * ring.capacity
    assert ring.dropped == 0 and ring.torn == 0


@ORDERINGS
def test_full_ring_drops_and_counts_exactly(make_ring, ordered):
    ring = make_ring(8, ordered)
    accepted = [ring.push(*tap_fields(i)) for i in range(13)]
    assert accepted == [True] * 8 + [False] * 5
    assert ring.dropped == 5 and ring.pushed == 8
    assert list(assert_taps_are_written_ones(ring.pop(limit=3))) == [0, 1, 2]
    assert [ring.push(*tap_fields(i)) for i in range(100, 105)] == [True, True, True, False, False]
    assert ring.dropped == 7
    assert list(ring.pop()["tap_id"]) == [3, 4, 5, 6, 7, 100, 101, 102]


@pytest.mark.parametrize("capacity", [0, 1, 3, 12, 1000])
def test_capacity_must_be_a_power_of_two(capacity):
    with pytest.raises(ValueError, match="power of two"):
        Ring.create(TAP_DTYPE, capacity)


def test_records_must_end_with_a_stamp():
    with pytest.raises(ValueError, match="seq"):
        Ring.create(np.dtype([("time", "<f8"), ("value", "<f4")]), 8)


def test_records_must_be_packed():
    aligned = np.dtype([(name, TAP_DTYPE.fields[name][0]) for name in TAP_DTYPE.names], align=True)
    with pytest.raises(ValueError, match="packed"):
        Ring.create(aligned, 8)


def test_a_restarted_producer_carries_on_where_the_last_one_stopped(make_ring):
    consumer = make_ring(8)
    for indices in [range(0, 5), range(5, 12)]:
        producer = Ring.attach(consumer.name, TAP_DTYPE)  # a new input process after the old one died
        for i in indices:
            assert producer.push(*tap_fields(i))
        producer.close()
        out = consumer.pop()
        assert list(assert_taps_are_written_ones(out)) == list(indices)
    assert consumer.pushed == 12 and consumer.torn == 0


def test_attach_with_another_record_type_fails(make_ring):
    ring = make_ring(8)
    same_size = np.dtype([(name if name != "tap_id" else "other", TAP_DTYPE.fields[name][0]) for name in TAP_DTYPE.names])
    with pytest.raises(ValueError, match="another type"):
        Ring.attach(ring.name, same_size)
    with pytest.raises(ValueError, match="another type"):
        Ring.attach(ring.name, np.dtype([("time", "<f8"), ("seq", "<u8")]))


@ORDERINGS
def test_attached_side_sees_what_the_creator_pushed(make_ring, ordered):
    producer = make_ring(8, ordered)
    consumer = Ring.attach(producer.name, TAP_DTYPE, ordered=ordered)
    try:
        producer.push(*tap_fields(41))
        assert consumer.pushed == 1
        assert list(consumer.pop()["tap_id"]) == [41]
    finally:
        consumer.close()


def test_a_damaged_stamp_is_never_handed_on(make_ring):
    ring = make_ring(8)
    for i in range(4):
        ring.push(*tap_fields(i))
    slots = np.ndarray(8, TAP_DTYPE, buffer=ring._shm.buf, offset=256)  # the shared slots, as a writer sees them
    slots[2]["seq"] = 99
    del slots
    out = ring.pop()
    assert list(out["tap_id"]) == [0, 1]
    assert ring.torn == 2


def test_close_removes_the_segment_and_push_after_close_raises():
    ring = Ring.create(TAP_DTYPE, 8)
    name = ring.name
    ring.close()
    ring.close()
    with pytest.raises(ValueError):
        ring.push(*tap_fields(0))
    with pytest.raises(FileNotFoundError):
        Ring.attach(name, TAP_DTYPE)


# -- against a model -------------------------------------------------------------

operations = st.lists(
    st.one_of(st.tuples(st.just("push"), st.integers(1, 40)), st.tuples(st.just("pop"), st.none() | st.integers(0, 20))),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(operations, st.sampled_from([2, 4, 8, 16]), st.booleans())
def test_push_pop_sequences_behave_like_a_bounded_queue_that_drops(ops, capacity, ordered):
    model: deque[int] = deque()
    model_dropped = written = 0
    ring = Ring.create(TAP_DTYPE, capacity, ordered=ordered)
    try:
        for op, arg in ops:
            if op == "push":
                for _ in range(arg):
                    fits = len(model) < capacity
                    assert ring.push(*tap_fields(written)) == fits
                    if fits:
                        model.append(written)
                    else:
                        model_dropped += 1
                    written += 1
            else:
                count = len(model) if arg is None else min(arg, len(model))
                expected = [model.popleft() for _ in range(count)]
                out = ring.pop(limit=arg)
                assert list(assert_taps_are_written_ones(out)) == expected
            assert ring.available == len(model)
            assert ring.dropped == model_dropped
        assert ring.torn == 0
    finally:
        ring.close()


# -- across processes ------------------------------------------------------------

RATE = 24_000  # taps/s pushed by the producer: far above a real board, like a 4-channel feature stream
SECONDS = 2.5


def produce(name: str, ordered: bool, rate: int, seconds: float, report) -> None:
    """The input process: pushes `rate` records/s in 1 ms bursts, then reports what it attempted."""
    ring = Ring.attach(name, TAP_DTYPE, ordered=ordered)
    push = ring.push
    attempted = accepted = 0
    total = int(rate * seconds)
    start = time.perf_counter()
    while attempted < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        while attempted < due:
            accepted += push(*tap_fields(attempted))
            attempted += 1
        time.sleep(0.001)  # pacing: the next burst is a millisecond away
    report.put((attempted, accepted))
    ring.close()


def run_producer_against_60hz_consumer(capacity: int, ordered: bool):
    ring = Ring.create(TAP_DTYPE, capacity, ordered=ordered)
    spawn = multiprocessing.get_context("spawn")
    report = spawn.Queue()
    producer = spawn.Process(target=produce, args=(ring.name, ordered, RATE, SECONDS, report), daemon=True)
    batches = []
    try:
        producer.start()
        deadline = time.monotonic() + 10 * SECONDS + 20  # generous: spawn imports numpy
        frame = 1 / 60
        next_frame = time.monotonic()
        while time.monotonic() < deadline:
            batches.append(ring.pop())
            if not producer.is_alive() and ring.available == 0:
                break
            next_frame += frame
            time.sleep(max(0.0, next_frame - time.monotonic()))  # pacing: the render loop's 60 Hz
        producer.join(timeout=5)
        assert producer.exitcode == 0, "producer process failed"
        attempted, accepted = report.get(timeout=5)
        return np.concatenate(batches), attempted, accepted, ring.pushed, ring.dropped, ring.torn
    finally:
        if producer.is_alive():
            producer.kill()
        ring.close()


@pytest.mark.slow
@ORDERINGS
def test_across_processes_nothing_is_lost_when_capacity_suffices(ordered):
    records, attempted, accepted, pushed, dropped, torn = run_producer_against_60hz_consumer(32768, ordered)
    assert attempted == int(RATE * SECONDS)
    assert dropped == 0 and accepted == pushed == attempted
    assert list(assert_taps_are_written_ones(records)) == list(range(attempted))
    assert torn == 0


@pytest.mark.slow
@ORDERINGS
def test_across_processes_drops_are_counted_exactly_when_capacity_is_short(ordered):
    # 256 slots hold ~11 ms of records; the consumer comes every ~17 ms.
    records, attempted, accepted, pushed, dropped, torn = run_producer_against_60hz_consumer(256, ordered)
    assert dropped > 0
    assert pushed + dropped == attempted and accepted == pushed
    assert len(records) == pushed
    indices = assert_taps_are_written_ones(records)
    assert np.all(np.diff(indices) > 0), "records read out of order"
    assert list(records["seq"]) == list(range(1, pushed + 1))
    assert torn == 0
