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


class DeviceClock:
    """Where a sound device's sample count sits on the monotonic clock. Its callbacks run late, never
    early, so the least (stamp - samples / rate) over a sliding window is the device's clock without
    their jitter, and a device clock that runs slightly fast or slow is followed, not drifted from."""

    def __init__(self, rate: int, window: float) -> None:
        self._rate = rate
        self._window = round(window * rate)
        self._offsets: collections.deque[tuple[int, float]] = collections.deque()

    def offset(self, samples: int, stamp: float) -> float:
        """The monotonic time of sample 0, given that sample `samples` came at `stamp` or before."""
        self._offsets.append((samples, stamp - samples / self._rate))
        while self._offsets[0][0] < samples - self._window:
            self._offsets.popleft()
        return min(o for _, o in self._offsets)
