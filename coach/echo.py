"""The coach's own sound taken out of what the microphone hears, so that "stop" works while it speaks.

The output remembers what it played and when (`MiniaudioOutput.played_since`); this rebuilds that at
the microphone's rate as the reference for Speex's adaptive echo canceller (through pyaec), which
learns the path from the speaker to the microphone and subtracts its estimate of the echo.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from coach.audio import PlayedSound
from coach.clock import DeviceClock
from coach.sound import SAMPLE_RATE
from coach.voice import RATE, NotInstalled

FRAME = RATE // 100  # samples in the canceller's 10 ms step
FILTER = 4096  # samples of echo path it models (256 ms): most of a room's reverberation
# The microphone hears the coach later than the output's clock says the coach is heard: by the capture's
# buffering, which can be well over a second. That delay is found by matching the two, LISTEN seconds
# of microphone against the reference up to LONGEST earlier (or EARLIEST later): every CHECK seconds
# of the coach's sound until two matches in a row agree, then every AGAIN seconds (a sound server can
# change its buffering mid-stream). A match weaker than MATCH finds nothing.
LISTEN = 3.0
LONGEST = 2.0
EARLIEST = 0.05
CHECK = 1.0
AGAIN = 3.0
MATCH = 0.3
# Matches all below NO_ECHO, NO_ECHO_CHECKS times in a row over the coach's sound: the microphone does
# not hear the coach at all (headphones), and what it hears passes untouched, until a match (MATCH)
# says it does: a person's own words over the coach are a little like it, and must not end it.
NO_ECHO = 0.05
NO_ECHO_CHECKS = 4
# The reference runs this far ahead of the measured delay: the canceller's filter only reaches back in
# time, so this covers an echo that comes a little early.
AHEAD = 0.02
WINDOW = 2.0  # seconds of microphone time stamps that the stream's clock is estimated from
SETTLE = 0.5  # seconds of stamps before the stream's clock is fixed
SHIFT = 0.005  # how far an estimate may wander before it is taken: each move is a jump
# A 10 ms step the canceller took this much out of was the coach's echo, and what is left of it is
# residue that still sounds like speech: it is turned down by RESIDUE_DB. A person speaking over the
# coach loses little, unless the coach is this much louder than they are.
MOSTLY_ECHO_DB = 12.0
RESIDUE_DB = 30.0
LEARN = 2.0  # seconds of the coach's sound the canceller hears before what it leaves is trusted
# What the canceller left of an utterance this like the coach's sound (as the delay is matched) is the
# coach's own voice, not taken out: its filter lost track, as when the sound server falls behind.
OWN_VOICE = 0.4
NEAR = 0.3  # seconds: how far from the matched delay the coach's sound may have drifted


class EchoCanceller:
    def __init__(self, played_since: Callable[[float], list[PlayedSound]]) -> None:
        try:
            from pyaec import Aec
        except (ImportError, OSError, AttributeError) as error:  # AttributeError: its library failed to load
            raise NotInstalled(f"the echo canceller is not installed ({error})") from None
        self._make: Callable[[], Any] = lambda: Aec(FRAME, FILTER, RATE, True)
        self._aec = self._make()
        self._played_since = played_since
        self._resampled: dict[int, tuple[PlayedSound, np.ndarray]] = {}
        self._pending = np.zeros(0, dtype=np.int16)
        self._samples = 0  # microphone samples seen
        self._offset = 0.0  # monotonic time of the stream's sample 0
        self._clock = DeviceClock(RATE, WINDOW)
        self._heard = _Recent()  # the microphone
        self._left = _Recent()  # what came out
        self._sounded = 0  # samples heard while the coach sounded, since the delay was last matched
        self.delay: float | None = None  # seconds the microphone hears the coach after the output's clock
        self._candidate: float | None = None  # a match not yet confirmed by the next one
        self._unmatched = 0  # checks in a row that found no likeness at all
        self.echoless = False  # the microphone does not hear the coach
        self.debug: Callable[[str], None] | None = None  # where to say what it finds, if anywhere
        self._learned = 0  # samples of the coach's sound the canceller has heard since its delay was set

    @property
    def ready(self) -> bool:
        """Whether what comes out can be trusted: the microphone does not hear the coach, or the delay
        is known and the canceller has heard enough of the coach."""
        return self.echoless or (self.delay is not None and self._learned >= LEARN * RATE)

    def _at_rate(self, played: PlayedSound) -> np.ndarray:
        kept = self._resampled.get(id(played))
        if kept is None:
            import soxr

            kept = (played, soxr.resample(played.sound, SAMPLE_RATE, RATE) * 32767.0)
            self._resampled[id(played)] = kept
        return kept[1]

    def reference(self, start: float, count: int) -> np.ndarray:
        """What the coach sounded from monotonic `start` on: `count` samples at RATE, as 16-bit levels."""
        out = np.zeros(count, dtype=np.float64)
        sounds = self._played_since(start)
        for played in sounds:
            samples = self._at_rate(played)
            first = round((start - played.start) * RATE)  # the sample heard at `start`
            last = min(len(samples), round((played.end - played.start) * RATE))
            low, high = max(first, 0), min(first + count, last)
            if high > low:
                out[low - first : high - first] += samples[low:high]
        current = {id(p) for p in sounds}
        self._resampled = {k: v for k, v in self._resampled.items() if k in current}
        return out

    def _began(self, count: int, ended: float) -> float:
        """When the first of the next `count` samples was heard, by the microphone's clock: held still
        unless it wanders past SHIFT, because a jittery reference looks like a changing echo path."""
        self._samples += count
        least = self._clock.offset(self._samples, ended)
        if self._samples < SETTLE * RATE or abs(least - self._offset) > SHIFT:
            self._offset = least
        return self._offset + (self._samples - count) / RATE

    def match_delay(self) -> tuple[float | None, float]:
        """The delay at which the last LISTEN seconds of microphone best match the reference, if they
        do, and how alike they are there (normalised correlation, 0 to 1)."""
        return self._match(*self._heard.samples(), -EARLIEST, LONGEST)

    def like_coach(self, start: float, end: float) -> float:
        """How alike what came out for microphone times `start` to `end` is to the coach's sound, at
        the best delay within NEAR of the one matched (0 to 1). Well taken out, the coach's voice
        leaves little to be alike. Sought over every delay, a "stop" said just like one the coach had
        said a second before came out alike too."""
        if not self._left.count or self.delay is None:
            return 0.0
        left, left_from = self._left.samples()
        low = max(0, round((start - left_from) * RATE))
        high = min(len(left), round((end - left_from) * RATE))
        if high - low < FRAME:
            return 0.0
        return max(0.0, self._match(left[low:high], left_from + low / RATE, self.delay - NEAR, self.delay + NEAR)[1])

    def _match(self, heard: np.ndarray, heard_from: float, shortest: float, longest: float
               ) -> tuple[float | None, float]:
        """The best delay from `shortest` to `longest` for `heard` (from monotonic `heard_from`)."""
        reach = round((longest - shortest) * RATE)
        reference = self.reference(heard_from - longest, len(heard) + reach)
        size = 1 << (len(reference) + len(heard)).bit_length()
        products = np.fft.irfft(np.fft.rfft(reference, size) * np.conj(np.fft.rfft(heard, size)), size)[: reach + 1]
        energy = np.concatenate([[0.0], np.cumsum(reference**2)])
        windows = energy[len(heard) : len(heard) + reach + 1] - energy[: reach + 1]
        # Where the reference is all but silent, rounding in the transforms would look like likeness.
        windows = np.where(windows > 1e-3 * windows.max(initial=0.0), windows, np.inf)
        likeness = products / (np.sqrt(windows * float(heard @ heard)) + 1e-9)
        best = int(np.argmax(likeness))
        return (longest - best / RATE if likeness[best] >= MATCH else None), float(likeness[best])

    def _check_delay(self) -> None:
        """Takes a new delay once two matches in a row agree on it; each change starts learning afresh."""
        found, likeness = self.match_delay()
        if self.debug is not None:
            self.debug(f"echo: match {likeness:.2f} at {found if found is None else round(found, 4)} s"
                       f" (delay {self.delay}, candidate {self._candidate})")
        if likeness < NO_ECHO:
            self._unmatched += 1
        elif found is not None or not self.echoless:  # once echoless, only hearing the coach ends it
            self._unmatched = 0
        self.echoless = self._unmatched >= NO_ECHO_CHECKS
        if found is None or (self.delay is not None and abs(found - self.delay) <= SHIFT):
            self._candidate = None
        elif self._candidate is not None and abs(found - self._candidate) <= SHIFT:
            self._candidate = None
            self.delay, self._learned, self._aec = found, 0, self._make()
        else:
            self._candidate = found

    def cancel(self, pcm: bytes, ended: float, sounding: bool = True) -> bytes:
        """Microphone PCM at RATE whose last sample was stamped `ended`, less the coach's echo. Whole
        10 ms steps come back; a remainder waits for the next block. Not `sounding`, it comes back as
        it was: the canceller's own noise removal would change a person's words."""
        block = np.frombuffer(pcm, dtype="<i2")
        began = self._began(len(block), ended)
        self._heard.add(block, began)
        if sounding:
            self._sounded += len(block)
            settled = (self.delay is not None or self.echoless) and self._candidate is None
            if self._sounded >= (AGAIN if settled else CHECK) * RATE:
                self._sounded = 0
                self._check_delay()
        began -= len(self._pending) / RATE
        mic = np.concatenate([self._pending, block])
        if not sounding or self.delay is None or self.echoless:
            self._pending = mic[:0]
            return self._left.add(mic, began).astype("<i2").tobytes()
        whole = len(mic) - len(mic) % FRAME
        self._pending = mic[whole:]
        echo = self.reference(began - self.delay + AHEAD, whole)
        self._learned += int(np.count_nonzero(echo))
        echo = np.clip(np.round(echo), -32768, 32767).astype(np.int16)
        steps = []
        for i in range(0, whole, FRAME):
            heard = mic[i : i + FRAME]
            left = np.asarray(self._aec.cancel_echo(heard.tolist(), echo[i : i + FRAME].tolist()), dtype=np.float64)
            if _level(left) < _level(heard) - MOSTLY_ECHO_DB:
                left *= 10 ** (-RESIDUE_DB / 20)
            steps.append(left)
        if not steps:
            return b""
        out = np.clip(np.round(np.concatenate(steps)), -32768, 32767).astype("<i2")
        return self._left.add(out, began).tobytes()


class _Recent:
    """The last LISTEN seconds of a stream of blocks, and when its first sample was heard."""

    def __init__(self) -> None:
        self._blocks: collections.deque[np.ndarray] = collections.deque()
        self.count = 0  # samples kept
        self._first = 0.0

    def add(self, block: np.ndarray, began: float) -> np.ndarray:
        """Keeps `block`, heard from monotonic `began`, and hands it back."""
        self._blocks.append(block)
        self.count += len(block)
        while self.count - len(self._blocks[0]) >= LISTEN * RATE:
            self.count -= len(self._blocks.popleft())
        self._first = began + (len(block) - self.count) / RATE
        return block

    def samples(self) -> tuple[np.ndarray, float]:
        return np.concatenate(list(self._blocks)).astype(np.float64), self._first


def _level(samples: np.ndarray) -> float:
    """dB of mean square, in 16-bit units."""
    return 10 * math.log10(float(np.mean(np.square(samples, dtype=np.float64))) + 1.0)
