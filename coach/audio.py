"""Sound output: one device for the whole session, sounds placed on the monotonic clock.

The device asks for samples on its own thread. Each request tells us when its first sample will be
heard (the callback's monotonic time plus the output latency). We keep the smallest seen offset
between the device's sample count and the monotonic clock over a sliding window: callbacks can be
late but never early, so the minimum tracks the device clock without its jitter, and a device clock
that runs slightly fast or slow is followed instead of drifting away from the plan.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Generator
from typing import Protocol

import numpy as np

from coach.clock import DeviceClock
from coach.quiet import quiet_stderr
from coach.sound import SAMPLE_RATE, Sound

SLOT_MARGIN = 0.004  # a request due sooner than this may be mixed before a sound handed over now arrives
BUFFER_MSEC = 20  # the device's buffer: also how long a stop() takes at most, before the server's share
WINDOW_SECONDS = 2.0  # how far back the clock estimate looks
LATE_SKIP = 0.05  # a sound started later than this skips what should already have been heard
HISTORY_SECONDS = 8.0  # how long what was played is remembered, for the echo canceller


class SoundOutput(Protocol):
    def play(self, sound: Sound, at: float) -> None:
        """Play `sound` so that its first sample is heard at monotonic time `at`."""
        ...

    def stop(self) -> None:
        """Silence at once: what plays and what is scheduled."""
        ...

    def sounding_until(self) -> float:
        """Monotonic time when the last scheduled sound ends (0 when none)."""
        ...

    def first_slot(self, now: float) -> float:
        """The soonest monotonic time from `now` at which a sound handed over now starts on its sample."""
        ...

    def close(self) -> None: ...


class NoSoundDevice(Exception):
    pass


class NullOutput:
    """No device: sessions run on time, in silence."""

    def __init__(self) -> None:
        self.until = 0.0

    def play(self, sound: Sound, at: float) -> None:
        self.until = max(self.until, at + len(sound) / SAMPLE_RATE)

    def stop(self) -> None:
        self.until = 0.0

    def sounding_until(self) -> float:
        return self.until

    def first_slot(self, now: float) -> float:
        return now

    def close(self) -> None:
        pass


class _Scheduled:
    __slots__ = ("at", "position", "sound", "started")

    def __init__(self, sound: Sound, at: float) -> None:
        self.sound = sound
        self.at = at
        self.position = -1  # next sample to play; -1 until it has started
        self.started = 0.0  # when its first sample is heard (or would have been, had it been late)


class PlayedSound:
    """A sound as it was heard: `sound[0]` at monotonic `start`, cut off at `end` if it was stopped."""

    __slots__ = ("end", "sound", "start")

    def __init__(self, sound: Sound, start: float) -> None:
        self.sound = sound
        self.start = start
        self.end = start + len(sound) / SAMPLE_RATE


class MiniaudioOutput:
    """Plays through PulseAudio or ALSA with miniaudio; needs no system library."""

    def __init__(self, latency: float | None = None) -> None:
        import miniaudio

        self._lock = threading.Lock()
        self._scheduled: list[_Scheduled] = []
        self._frames = 0  # samples handed to the device so far
        self._clock = DeviceClock(SAMPLE_RATE, WINDOW_SECONDS)
        self._callbacks = 0
        self._last = (0.0, 0.0, 0)  # the latest request: (monotonic time, when it is heard, frames)
        self._ready = threading.Event()
        self._history: collections.deque[PlayedSound] = collections.deque()
        self.latency = BUFFER_MSEC / 1000 if latency is None else latency
        self.error: str | None = None
        with quiet_stderr():
            try:
                devices = miniaudio.Devices()
                real = [d for d in devices.get_playbacks() if not d["name"].startswith("Discard all samples")]
                if not real:
                    raise NoSoundDevice(f"no sound output device was found ({devices.backend})")
                self.backend = devices.backend
                self._device = miniaudio.PlaybackDevice(
                    output_format=miniaudio.SampleFormat.SIGNED16,
                    nchannels=1,
                    sample_rate=SAMPLE_RATE,
                    buffersize_msec=BUFFER_MSEC,
                    app_name="Unknot",
                )
                generator = self._generate()
                next(generator)
                self._device.start(generator)
            except miniaudio.MiniaudioError as error:
                raise NoSoundDevice(f"the sound output cannot be opened ({error})") from None

    def wait_ready(self, timeout: float = 3.0) -> bool:
        """Wait until the device asks for sound steadily; its first request can stall for a second."""
        return self._ready.wait(timeout)

    def _generate(self) -> Generator[bytes, int, None]:
        frames = yield b""
        while True:
            now = time.monotonic()
            out = np.zeros(frames, dtype=np.float32)
            with self._lock:
                first_heard = self._first_heard(now)
                self._last = (now, first_heard, frames)
                keep = []
                for item in self._scheduled:
                    fresh = item.position < 0
                    if self._mix(item, out, first_heard):
                        keep.append(item)
                    if fresh and item.position >= 0:
                        self._history.append(PlayedSound(item.sound, item.started))
                while self._history and self._history[0].end < now - HISTORY_SECONDS:
                    self._history.popleft()
                self._scheduled = keep
                self._frames += frames
            self._callbacks += 1
            if self._callbacks > 1:  # the first request is a prefill; the second shows it flows
                self._ready.set()
            frames = yield (np.clip(out, -1.0, 1.0) * 32767).astype("<i2").tobytes()

    def _first_heard(self, now: float) -> float:
        """When the first sample of this request will be heard, by the smoothed device clock."""
        return self._clock.offset(self._frames, now) + self._frames / SAMPLE_RATE + self.latency

    @staticmethod
    def _mix(item: _Scheduled, out: np.ndarray, first_heard: float) -> bool:
        """Adds the part of `item` that falls in this request; False once it has finished."""
        frames = len(out)
        if item.position < 0:
            start = round((item.at - first_heard) * SAMPLE_RATE)
            if start >= frames:
                return True  # not yet
            if start >= 0:
                item.position = 0
                dest = start
            else:
                late = -start / SAMPLE_RATE
                item.position = -start if late > LATE_SKIP else 0
                dest = 0
            item.started = first_heard + (dest - item.position) / SAMPLE_RATE
        else:
            dest = 0
        chunk = item.sound[item.position : item.position + frames - dest]
        out[dest : dest + len(chunk)] += chunk
        item.position += len(chunk)
        return item.position < len(item.sound)

    def play(self, sound: Sound, at: float) -> None:
        with self._lock:
            self._scheduled.append(_Scheduled(sound, at))

    def stop(self) -> None:
        with self._lock:
            self._scheduled = []
            cut = time.monotonic() + self.latency
            for played in self._history:
                played.end = min(played.end, cut)

    def played_since(self, since: float) -> list[PlayedSound]:
        """The sounds heard, or being heard, since monotonic `since`: what the echo canceller takes out."""
        with self._lock:
            return [p for p in self._history if p.end > since]

    def sounding_until(self) -> float:
        with self._lock:
            ends = [
                s.at + len(s.sound) / SAMPLE_RATE if s.position < 0 else time.monotonic()
                + (len(s.sound) - s.position) / SAMPLE_RATE + self.latency
                for s in self._scheduled
            ]
        return max(ends, default=0.0)

    def first_slot(self, now: float) -> float:
        """The first sample of the next request not due within SLOT_MARGIN: starting a session
        there, rather than a whole request's worth later, takes ~10 ms off the first sound."""
        with self._lock:
            asked, heard, frames = self._last
        if not frames:
            return now + self.latency + BUFFER_MSEC / 1000
        return next_request(now, asked, heard, frames / SAMPLE_RATE)

    def close(self) -> None:
        with quiet_stderr():
            self._device.close()


def next_request(now: float, asked: float, heard: float, period: float, margin: float = SLOT_MARGIN) -> float:
    """When the first sample of the first request due more than `margin` after `now` is heard, given
    the latest request (asked at `asked`, heard from `heard`) and requests `period` seconds apart."""
    ahead = max(1, int((now + margin - asked) // period) + 1)
    return heard + ahead * period


def open_output() -> tuple[SoundOutput, str | None]:
    """The sound device, or a silent stand-in and the one-line reason why there is no sound."""
    try:
        output = MiniaudioOutput()
    except NoSoundDevice as error:
        return NullOutput(), f"no sound: {error}; carrying on in text, on time"
    except (ImportError, OSError) as error:
        return NullOutput(), f"no sound: {error}; carrying on in text, on time"
    output.wait_ready()
    return output, None
