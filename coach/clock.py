"""The one clock sessions run on."""

from __future__ import annotations

import collections
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a clock that never jumps (monotonic)."""
        ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()


STALL = 0.25  # seconds a device's clock may jump ahead at once before its past is forgotten


class DeviceClock:
    """Where a sound device's sample count sits on the monotonic clock. Its callbacks run late, never
    early, so the least (stamp - samples / rate) over a sliding window is the device's clock without
    their jitter, and a device clock that runs slightly fast or slow is followed, not drifted from.
    A device that stalls (a sound server's first request can wait over a second) restarts its clock
    later: past STALL, the stamps from before are dropped at once rather than after the window."""

    def __init__(self, rate: int, window: float) -> None:
        self._rate = rate
        self._window = round(window * rate)
        self._offsets: collections.deque[tuple[int, float]] = collections.deque()

    def offset(self, samples: int, stamp: float) -> float:
        """The monotonic time of sample 0, given that sample `samples` came at `stamp` or before."""
        offset = stamp - samples / self._rate
        if self._offsets and offset - min(o for _, o in self._offsets) > STALL:
            self._offsets.clear()
        self._offsets.append((samples, offset))
        while self._offsets[0][0] < samples - self._window:
            self._offsets.popleft()
        return min(o for _, o in self._offsets)
