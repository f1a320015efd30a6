"""Session affinity: keep each conversation on one engine slot, so its KV cache stays warm.

A llama.cpp server keeps one prompt per slot. When two conversations alternate on
whichever slot is free, each one can overwrite the other's cached prefix. :class:`SlotMap`
pins every session key to one slot (``id_slot`` in the request body) and balances new
keys over the slots.

It never makes a conversation wait for another one: llama.cpp defers a request whose
``id_slot`` is busy until that slot is free, so when a key's slot is busy with a
*different* key while some slot is idle, :meth:`SlotMap.acquire` answers ``None``
("let the engine choose") for that one call and keeps the pin.

Pure bookkeeping, no I/O and no global state; one map per backend instance.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

__all__ = ["SlotMap", "hold_slot"]


class SlotMap:
    """Maps session keys to slot ids in ``range(n_slots)`` and tracks calls in flight.

    Contract:

    - a new key is pinned to the slot with the fewest keys (ties: the lowest id);
      a known key keeps its slot;
    - :meth:`acquire` returns the slot for one call (and marks it in flight), or
      ``None`` when the engine should choose: no key, ``n_slots <= 1``, or the pinned
      slot is in flight for another key while some other slot is idle;
    - every :meth:`acquire` must be paired with one :meth:`release` with the same key
      and the value it returned (``None`` included), however the call ends;
    - at most ``max_keys`` keys are remembered (default ``64 * n_slots``); the least
      recently used one is forgotten first.

    Calls answered ``None`` are counted as "placed by the engine": they occupy some
    slot this map cannot name, so a slot counts as idle for the fallback only when
    more slots are free of pinned calls than such calls are in flight.
    Thread-safe (one lock); each call costs O(n_slots + calls in flight).
    """

    def __init__(self, n_slots: int, max_keys: int | None = None) -> None:
        if n_slots < 1:
            raise ValueError("n_slots must be >= 1")
        if max_keys is None:
            max_keys = 64 * n_slots
        if max_keys < 1:
            raise ValueError("max_keys must be >= 1")
        self.n_slots = n_slots
        self.max_keys = max_keys
        self._pins: OrderedDict[str, int] = OrderedDict()  # oldest use first
        self._keys_per_slot = [0] * n_slots
        self._in_flight: list[dict[str, int]] = [{} for _ in range(n_slots)]
        self._unplaced = 0  # calls in flight that the engine placed (acquire gave None)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        """Number of keys remembered."""
        return len(self._pins)

    def __contains__(self, key: object) -> bool:
        return key in self._pins

    def slot_of(self, key: str) -> int | None:
        """The slot ``key`` is pinned to, or ``None`` if unknown (does not touch LRU order)."""
        return self._pins.get(key)

    def keys_per_slot(self) -> list[int]:
        """How many remembered keys are pinned to each slot."""
        return list(self._keys_per_slot)

    def busy(self, slot: int) -> bool:
        """Whether a pinned call is in flight on ``slot``."""
        return bool(self._in_flight[slot])

    # ------------------------------------------------------------------ calls

    def acquire(self, key: str | None) -> int | None:
        """The slot to send this call of ``key`` to, or ``None`` to let the engine choose.

        Marks the call in flight; pair it with :meth:`release`.
        """
        with self._lock:
            if key is None or self.n_slots <= 1:
                self._unplaced += 1
                return None
            slot = self._pin(key)
            in_flight = self._in_flight[slot]
            others_here = any(k != key for k in in_flight)
            if others_here and self._idle_elsewhere(slot):
                self._unplaced += 1
                return None
            in_flight[key] = in_flight.get(key, 0) + 1
            return slot

    def release(self, key: str | None, slot: int | None) -> None:
        """End a call that :meth:`acquire` answered with ``slot``. Unknown pairs are ignored."""
        with self._lock:
            if slot is None:
                self._unplaced = max(0, self._unplaced - 1)
                return
            if key is None or not 0 <= slot < self.n_slots:
                return
            in_flight = self._in_flight[slot]
            n = in_flight.get(key, 0)
            if n <= 1:
                in_flight.pop(key, None)
            else:
                in_flight[key] = n - 1

    def forget(self, key: str) -> None:
        """Drop the pin of ``key`` (calls in flight still release normally)."""
        with self._lock:
            slot = self._pins.pop(key, None)
            if slot is not None:
                self._keys_per_slot[slot] -= 1

    # ------------------------------------------------------------------ internals

    def _pin(self, key: str) -> int:
        slot = self._pins.get(key)
        if slot is not None:
            self._pins.move_to_end(key)
            return slot
        while len(self._pins) >= self.max_keys:
            _, old = self._pins.popitem(last=False)
            self._keys_per_slot[old] -= 1
        counts = self._keys_per_slot
        slot = min(range(self.n_slots), key=lambda s: (counts[s], s))
        self._pins[key] = slot
        counts[slot] += 1
        return slot

    def _idle_elsewhere(self, slot: int) -> bool:
        free = sum(1 for s in range(self.n_slots) if s != slot and not self._in_flight[s])
        return free > self._unplaced


@contextlib.contextmanager
def hold_slot(
    slot_map: SlotMap | None, key: str | None, body: dict[str, Any]
) -> Iterator[int | None]:
    """Pin one request body to ``key``'s slot for the duration of the ``with`` block.

    Sets ``body["id_slot"]`` when the map names a slot, and releases it on leaving the
    block however it is left (end, error, cancellation, generator close). Does nothing
    (yields ``None``) without a map or when ``body`` already has an ``id_slot``: an
    explicit slot always wins. Calls without a key are still counted by the map.
    """
    if slot_map is None or "id_slot" in body:
        yield None
        return
    slot = slot_map.acquire(key)
    if slot is not None:
        body["id_slot"] = slot
    try:
        yield slot
    finally:
        slot_map.release(key, slot)
