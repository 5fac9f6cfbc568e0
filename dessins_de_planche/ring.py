"""Single-producer / single-consumer rings of numpy records in shared memory.

Why shared memory: the input callbacks live in their own process, away from the
render loop's GIL (see README, "Architecture"). Why this shape: the PortAudio /
JACK ring buffer discipline. Head and tail are monotonically increasing
integers (`slot = index & mask`); the producer fills the slot, stamps it with
its sequence number (the record's last field, `seq`), then publishes the head;
the consumer reads the head, copies the slots out, checks every stamp, then
releases them by storing the tail. When the ring is full the producer drops the
record and counts it: it never waits.

Ordering: x86-64 keeps stores in program order, so plain stores publish safely.
Elsewhere (ARM kiosks) the head and tail go through `atomics` with
release/acquire order.
"""

from __future__ import annotations

import platform
import struct
import uuid
from multiprocessing import shared_memory

import numpy as np

_HEAD, _TAIL, _DROPPED, _CAPACITY, _RECORD_SIZE = 0, 64, 128, 192, 200
_HEADER = 256
_U64 = struct.Struct("<Q")
_PLAIN_STORES_ARE_ORDERED = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")
_STRUCT_CODES = {("f", 8): "d", ("f", 4): "f", ("u", 8): "Q", ("u", 4): "I", ("u", 2): "H",
                 ("u", 1): "B", ("i", 8): "q", ("i", 4): "i", ("i", 2): "h", ("i", 1): "b"}


def _struct_format(dtype: np.dtype) -> str:
    if dtype.names[-1] != "seq":
        raise ValueError("ring records must end with a 'seq' field (the ring's stamp)")
    fields = (dtype.fields[name][0] for name in dtype.names)
    return "<" + "".join(_STRUCT_CODES[(f.kind, f.itemsize)] for f in fields)


def _attach_untracked(name: str) -> shared_memory.SharedMemory:
    """Open an existing segment without letting this process's tracker unlink it at exit."""
    try:
        return shared_memory.SharedMemory(name=name, create=False, track=False)
    except TypeError:  # Python < 3.13 registers every attach with the (shared) resource tracker
        from multiprocessing import resource_tracker

        register = resource_tracker.register
        resource_tracker.register = lambda *args, **kwargs: None
        try:
            return shared_memory.SharedMemory(name=name, create=False)
        finally:
            resource_tracker.register = register


class _OrderedIndex:
    """A u64 in the shared header, stored with release and loaded with acquire order."""

    def __init__(self, buf: memoryview, offset: int):
        import atomics

        self._ctx = atomics.atomicview(buffer=buf[offset : offset + 8], atype=atomics.UINT)
        view = self._ctx.__enter__()
        self.load, self.store = view.load, view.store

    def close(self) -> None:
        self.load = self.store = None
        self._ctx.__exit__(None, None, None)


class _PlainIndex:
    def __init__(self, buf: memoryview, offset: int):
        self._buf, self._offset = buf, offset

    def load(self) -> int:
        return _U64.unpack_from(self._buf, self._offset)[0]

    def store(self, value: int) -> None:
        _U64.pack_into(self._buf, self._offset, value)

    def close(self) -> None:
        self._buf = None


class Ring:
    """A ring of `dtype` records. `create` in one process, `attach` by name in the other."""

    def __init__(self, shm: shared_memory.SharedMemory, dtype, owner: bool, ordered: bool | None = None):
        self.dtype = np.dtype(dtype)
        self.owner = owner
        self._shm = shm
        buf = self._buf = shm.buf
        self.capacity = _U64.unpack_from(buf, _CAPACITY)[0]
        if _U64.unpack_from(buf, _RECORD_SIZE)[0] != self.dtype.itemsize:
            raise ValueError(f"ring {shm.name!r} holds records of another type")
        self._mask = self.capacity - 1
        self._size = self.dtype.itemsize
        self._pack = struct.Struct(_struct_format(self.dtype)).pack_into
        self._slots = np.ndarray(self.capacity, self.dtype, buffer=buf, offset=_HEADER)
        self.ordered = (not _PLAIN_STORES_ARE_ORDERED) if ordered is None else ordered
        index = _OrderedIndex if self.ordered else _PlainIndex
        self._head, self._tail = index(buf, _HEAD), index(buf, _TAIL)
        self._next = self._head.load()  # producer's next index
        self._tail_seen = self._tail.load()  # producer's last look at the consumer
        self._read = self._tail.load()  # consumer's next index
        self.torn = 0  # records whose stamp did not match: must stay 0

    @classmethod
    def create(cls, dtype, capacity: int, name: str | None = None, ordered: bool | None = None) -> "Ring":
        if capacity < 2 or capacity & (capacity - 1):
            raise ValueError("ring capacity must be a power of two")
        dtype = np.dtype(dtype)
        _struct_format(dtype)
        name = name or f"ddp-{uuid.uuid4().hex[:12]}"
        shm = shared_memory.SharedMemory(name=name, create=True, size=_HEADER + capacity * dtype.itemsize)
        shm.buf[:_HEADER] = bytes(_HEADER)
        _U64.pack_into(shm.buf, _CAPACITY, capacity)
        _U64.pack_into(shm.buf, _RECORD_SIZE, dtype.itemsize)
        return cls(shm, dtype, owner=True, ordered=ordered)

    @classmethod
    def attach(cls, name: str, dtype, ordered: bool | None = None) -> "Ring":
        return cls(_attach_untracked(name), dtype, owner=False, ordered=ordered)

    @property
    def name(self) -> str:
        return self._shm.name

    # -- producer side: no allocation beyond CPython's small objects, never waits --
    def push(self, *values) -> bool:
        """Write one record (every field but `seq`, in order). False when full: dropped, counted."""
        head = self._next
        if head - self._tail_seen >= self.capacity:
            self._tail_seen = self._tail.load()
            if head - self._tail_seen >= self.capacity:
                _U64.pack_into(self._buf, _DROPPED, _U64.unpack_from(self._buf, _DROPPED)[0] + 1)
                return False
        self._pack(self._buf, _HEADER + (head & self._mask) * self._size, *values, head + 1)
        self._next = head + 1
        self._head.store(head + 1)  # publish last
        return True

    # -- consumer side ------------------------------------------------------
    def pop(self, limit: int | None = None) -> np.ndarray:
        """Copy out the published records (up to `limit`), oldest first, and release them."""
        start = self._read
        count = self._head.load() - start
        if limit is not None:
            count = min(count, limit)
        if count <= 0:
            return self._slots[:0].copy()
        first = start & self._mask
        if first + count <= self.capacity:
            out = self._slots[first : first + count].copy()
        else:
            out = np.concatenate((self._slots[first:], self._slots[: first + count - self.capacity]))
        stamps_ok = out["seq"] == np.arange(start + 1, start + count + 1, dtype=np.uint64)
        if not stamps_ok.all():  # a torn or out-of-order record: never hand it on
            good = int(np.argmin(stamps_ok))
            self.torn += count - good
            out = out[:good]
        self._read = start + count
        self._tail.store(self._read)
        return out

    @property
    def available(self) -> int:
        return self._head.load() - self._read

    @property
    def dropped(self) -> int:
        return _U64.unpack_from(self._buf, _DROPPED)[0]

    @property
    def pushed(self) -> int:
        """Records published so far (readable from either side)."""
        return self._head.load()

    def close(self) -> None:
        self._slots = None
        self._head.close()
        self._tail.close()
        self._buf = None
        self._shm.close()
        if self.owner:
            try:
                self._shm.unlink()
            except FileNotFoundError:
                pass
