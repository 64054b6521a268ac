"""The gate in front of llama.cpp's slots: at most N requests in, first come first served, and a
waiter whose user left gives up its place (plain threads, no model)."""

from __future__ import annotations

import threading
import time

import pytest

from rag.llm.slots import SlotGate


def _wait_until(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_at_most_n_requests_hold_a_slot() -> None:
    gate = SlotGate(2)
    assert gate.acquire() and gate.acquire()
    assert gate.busy == 2
    third = threading.Thread(target=gate.acquire)
    third.start()
    _wait_until(lambda: gate.waiting == 1)
    assert gate.busy == 2 and third.is_alive()  # the third waits
    gate.release()
    third.join(timeout=5)
    assert not third.is_alive() and gate.busy == 2 and gate.waiting == 0
    gate.release(), gate.release()
    assert gate.busy == 0


def test_waiters_get_the_slot_in_arrival_order() -> None:
    gate = SlotGate(1)
    gate.acquire()
    served: list[int] = []

    def ask(i: int) -> None:
        gate.acquire()
        served.append(i)
        gate.release()

    threads = []
    for i in range(8):
        t = threading.Thread(target=ask, args=(i,))
        t.start()
        threads.append(t)
        _wait_until(lambda i=i: gate.waiting == i + 1)  # each is in line before the next comes
    # A newcomer arriving just as the slot frees must not overtake the line.
    gate.release()
    late = threading.Thread(target=ask, args=(99,))
    late.start()
    for t in [*threads, late]:
        t.join(timeout=5)
    assert served == [*range(8), 99]
    assert gate.busy == 0 and gate.waiting == 0


def test_a_waiter_that_is_cancelled_leaves_the_line() -> None:
    gate = SlotGate(1)
    gate.acquire()
    cancelled = threading.Event()
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(gate.acquire(cancelled)))
    waiter.start()
    _wait_until(lambda: gate.waiting == 1)
    cancelled.set()
    waiter.join(timeout=5)
    assert result == [False] and gate.waiting == 0
    gate.release()
    assert gate.busy == 0  # the slot went back to the pool, not to the one who left


def test_a_slot_handed_to_a_waiter_who_just_gave_up_is_passed_on() -> None:
    gate = SlotGate(1)
    gate.acquire()
    cancelled = threading.Event()
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(gate.acquire(cancelled)))
    waiter.start()
    _wait_until(lambda: gate.waiting == 1)
    with gate._lock:  # the hand-over and the cancel land together
        cancelled.set()
        gate._line[0].set()
        gate._line.popleft()
    waiter.join(timeout=5)
    assert result == [False] and gate.busy == 0


def test_a_gate_needs_a_slot() -> None:
    with pytest.raises(ValueError):
        SlotGate(0)
