"""Generated chimes: quiet, warm tones for someone lying still with their eyes closed.

Each is exactly `CHIME_SECONDS[name]` long, starts with a short attack (audible at once, no click) and
fades to silence at its end, so a chime played whole or cut never clicks.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from coach.plan import CHIME_SECONDS
from coach.sound import SAMPLE_RATE, Sound

ATTACK = 0.008  # long enough not to click, short enough to be heard within 10 ms
Floats = npt.NDArray[np.float64]


def chime(name: str) -> Sound:
    """The chime called `name` (bell, soft, rise or fall), shared and read-only."""
    if name not in CHIME_SECONDS:
        raise ValueError(f"unknown chime {name!r}: expected one of {', '.join(CHIME_SECONDS)}")
    return _chime(name)


@functools.cache
def _chime(name: str) -> Sound:
    count = round(CHIME_SECONDS[name] * SAMPLE_RATE)
    t = np.arange(count, dtype=np.float64) / SAMPLE_RATE
    if name == "bell":
        samples, peak, release = _bell(t), 0.45, 0.3
    elif name == "soft":
        samples, peak, release = _soft(t), 0.4, 0.2
    else:
        samples, peak, release = _glide(t, rising=name == "rise"), 0.42, 0.25
    samples *= _edges(count, release)
    samples *= peak / np.max(np.abs(samples))
    sound = samples.astype(np.float32)
    sound.flags.writeable = False
    return sound


def _bell(t: Floats) -> Floats:
    # Inharmonic partials decaying at different rates; a slightly detuned twin gives a slow, soft beat.
    partials = ((520.0, 1.0, 1.0), (523.0, 0.3, 0.8), (702.0, 0.35, 0.5), (886.0, 0.2, 0.3))
    samples = np.zeros_like(t)
    for freq, amp, tau in partials:
        samples += amp * np.exp(-t / tau) * np.sin(2 * np.pi * freq * t)
    return samples


def _soft(t: Floats) -> Floats:
    # Mostly decayed by 1 s, the usual length of a hold, so cutting it there loses little.
    freq = 392.0
    harmonics = np.sin(2 * np.pi * freq * t) + 0.12 * np.sin(4 * np.pi * freq * t) + 0.04 * np.sin(6 * np.pi * freq * t)
    samples: Floats = harmonics * np.exp(-t / 0.35)
    return samples


def _glide(t: Floats, rising: bool) -> Floats:
    # A fifth up (an in-breath) or down (an out-breath), even in pitch: the frequency moves exponentially.
    low, high = 330.0, 495.0
    start, end = (low, high) if rising else (high, low)
    freq = start * (end / start) ** (t / t[-1])
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    body = 1.0 - 0.3 * t / t[-1]  # eases off, like a breath
    samples: Floats = body * (np.sin(phase) + 0.15 * np.sin(2 * phase))
    return samples


def _edges(count: int, release: float) -> Floats:
    """Raised-cosine attack and release, reaching exactly zero at the last sample."""
    shape = np.ones(count, dtype=np.float64)
    attack = min(count, round(ATTACK * SAMPLE_RATE))
    shape[:attack] = 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
    fade = min(count - attack, round(release * SAMPLE_RATE))
    if fade > 0:
        shape[count - fade :] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, fade + 1) / fade)
    return shape
