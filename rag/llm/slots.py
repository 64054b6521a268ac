"""A first-come, first-served gate in front of llama.cpp's parallel slots.

llama.cpp serves ``n_parallel`` sequences at once and defers the rest in its own queue, where a
request can no longer be withdrawn before it starts. This gate lets at most ``slots`` requests
in, strictly in arrival order (a plain ``threading.Semaphore`` lets a newcomer overtake a
waiter), and a waiter whose user has gone leaves the line without ever reaching the model.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

# How often a waiter looks at its cancel flag; the hand-over itself wakes it at once.
_POLL_S = 0.05


class SlotGate:
    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a gate needs at least one slot")
        self.slots = slots
        self._busy = 0
        self._line: deque[threading.Event] = deque()
        self._lock = threading.Lock()

    @property
    def busy(self) -> int:
        """Slots in use now."""
        with self._lock:
            return self._busy

    @property
    def waiting(self) -> int:
        """Requests in line for a slot."""
        with self._lock:
            return len(self._line)

    def acquire(self, cancelled: threading.Event | None = None) -> bool:
        """Wait for a slot, in arrival order. False (and no slot held) if ``cancelled`` is set
        before one is free."""
        with self._lock:
            if self._busy < self.slots and not self._line:
                self._busy += 1
                return True
            turn = threading.Event()
            self._line.append(turn)
        while True:
            handed = turn.wait(_POLL_S)
            if cancelled is not None and cancelled.is_set():
                with self._lock:
                    if not turn.is_set():
                        self._line.remove(turn)
                        return False
                # The slot was handed over as the caller gave up: pass it on.
                self.release()
                return False
            if handed:
                return True

    def release(self) -> None:
        """Give the slot back: to the first in line, else to the pool."""
        with self._lock:
            if self._line:
                self._line.popleft().set()  # handed over: the count of busy slots stays
            else:
                self._busy -= 1

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()
