"""SlotMap: pure session-to-slot bookkeeping (no engine)."""

from __future__ import annotations

import pytest

from livemind.backends.affinity import SlotMap


def call(m: SlotMap, key: str | None) -> int | None:
    """One complete call: acquire, then release."""
    slot = m.acquire(key)
    m.release(key, slot)
    return slot


def test_new_keys_are_balanced_lowest_id_first() -> None:
    m = SlotMap(3)
    assert [call(m, k) for k in "abcdef"] == [0, 1, 2, 0, 1, 2]
    assert m.keys_per_slot() == [2, 2, 2]
    m.forget("b")
    m.forget("e")  # slot 1 now has no keys: the next new key goes there
    assert call(m, "g") == 1
    assert call(m, "h") == 1  # still the fewest keys there
    assert call(m, "i") == 0  # a three-way tie: the lowest id
    assert m.keys_per_slot() == [3, 2, 2]


def test_known_keys_are_sticky() -> None:
    m = SlotMap(2)
    assert call(m, "a") == 0 and call(m, "b") == 1
    for _ in range(5):
        assert call(m, "b") == 1
        assert call(m, "a") == 0
    assert m.slot_of("a") == 0 and m.slot_of("zzz") is None
    assert len(m) == 2 and "a" in m


def test_no_key_or_single_slot_lets_the_engine_choose() -> None:
    assert SlotMap(4).acquire(None) is None
    one = SlotMap(1)
    assert one.acquire("a") is None
    one.release("a", None)
    with pytest.raises(ValueError):
        SlotMap(0)
    with pytest.raises(ValueError):
        SlotMap(2, max_keys=0)


def test_busy_slot_of_another_key_falls_back_without_moving_the_pin() -> None:
    m = SlotMap(2)
    assert call(m, "a") == 0 and call(m, "b") == 1 and call(m, "c") == 0
    held = m.acquire("a")  # a slow call of "a" on slot 0
    assert held == 0 and m.busy(0)
    # "c" is pinned to 0 too, slot 1 is idle: engine's choice, pin unchanged
    assert m.acquire("c") is None
    assert m.slot_of("c") == 0
    # that unplaced call is presumably on slot 1 now: no idle slot left for "c" again,
    # so a second concurrent call of "c" waits for its own slot
    assert m.acquire("c") == 0
    m.release("c", 0)
    m.release("c", None)
    m.release("a", held)
    assert not m.busy(0)
    assert call(m, "c") == 0


def test_busy_slot_without_an_idle_alternative_keeps_the_pin() -> None:
    m = SlotMap(2)
    assert call(m, "a") == 0 and call(m, "b") == 1 and call(m, "c") == 0
    a, b = m.acquire("a"), m.acquire("b")
    assert (a, b) == (0, 1)
    assert m.acquire("c") == 0  # every slot busy: queue on its own slot
    m.release("c", 0)
    m.release("b", b)
    assert m.acquire("c") is None  # slot 1 went idle: fall back
    m.release("c", None)
    m.release("a", a)


def test_same_key_in_flight_keeps_its_slot() -> None:
    m = SlotMap(2)
    first = m.acquire("a")
    assert m.acquire("a") == first == 0  # its own call: no fallback
    m.release("a", 0)
    assert m.busy(0)
    m.release("a", 0)
    assert not m.busy(0)


def test_release_tolerates_unknown_pairs() -> None:
    m = SlotMap(2)
    m.release("nobody", 1)
    m.release(None, None)
    m.release("a", 7)
    assert call(m, "a") == 0


def test_lru_eviction() -> None:
    m = SlotMap(2, max_keys=3)
    for k in "abc":
        call(m, k)  # a:0 b:1 c:0
    call(m, "a")  # a is now the most recently used; b is the oldest
    assert call(m, "d") == 1  # b evicted from slot 1, so slot 1 has the fewest keys
    assert "b" not in m and len(m) == 3
    assert m.keys_per_slot() == [2, 1]
    call(m, "e")  # evicts c (slot 0): 0 and 1 tie at one key -> e on 0
    assert "c" not in m and m.slot_of("e") == 0
    assert m.keys_per_slot() == [2, 1]
    assert SlotMap(3).max_keys == 192


def test_more_sessions_than_slots_stay_balanced_and_sticky() -> None:
    m = SlotMap(2)
    keys = [f"s{i}" for i in range(7)]
    first = {k: call(m, k) for k in keys}
    assert sorted(first.values()) == [0, 0, 0, 0, 1, 1, 1]
    for _ in range(3):
        for k in reversed(keys):
            assert call(m, k) == first[k]


def test_eviction_of_a_key_in_flight_still_releases() -> None:
    m = SlotMap(2, max_keys=1)
    held = m.acquire("a")
    # "a" was evicted: "b" is pinned to the emptied slot 0, where "a" still runs
    assert call(m, "b") is None
    assert "a" not in m and m.slot_of("b") == 0 and m.busy(0)
    m.release("a", held)
    assert not m.busy(0)
    assert call(m, "b") == 0
