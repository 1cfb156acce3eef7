"""Sounds as arrays: mono float32 samples in [-1, 1] at one sample rate, read from and written to WAV."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 22050  # espeak-ng's own rate: speech needs no resampling
Sound = npt.NDArray[np.float32]


def seconds(sound: Sound) -> float:
    return len(sound) / SAMPLE_RATE


def silence(duration: float) -> Sound:
    return np.zeros(round(duration * SAMPLE_RATE), dtype=np.float32)


def read_wav(path: Path) -> Sound:
    """A 16-bit PCM WAV of any rate and channel count, as mono at SAMPLE_RATE."""
    with wave.open(str(path), "rb") as handle:
        if handle.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM, got {8 * handle.getsampwidth()}-bit")
        rate, channels = handle.getframerate(), handle.getnchannels()
        raw = handle.readframes(handle.getnframes())
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.float32)
    return resample(samples, rate)


def resample(samples: Sound, rate: int) -> Sound:
    if rate == SAMPLE_RATE or len(samples) == 0:
        return samples
    count = round(len(samples) * SAMPLE_RATE / rate)
    positions = np.arange(count, dtype=np.float64) * (rate / SAMPLE_RATE)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def to_pcm16(sound: Sound) -> bytes:
    return (np.clip(sound, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def write_wav(path: Path, sound: Sound) -> None:
    """Mono 16-bit PCM at SAMPLE_RATE, written whole to a temporary name first so no reader sees half."""
    partial = path.with_name(path.name + ".partial")
    with wave.open(str(partial), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes(to_pcm16(sound))
    partial.replace(path)


def trim(sound: Sound, threshold: float = 0.01, keep: float = 0.01) -> Sound:
    """Without the silence an engine leaves at each end, so a sound starts when it is played."""
    loud = np.flatnonzero(np.abs(sound) > threshold)
    if len(loud) == 0:
        return sound[:0]
    pad = round(keep * SAMPLE_RATE)
    return sound[max(0, loud[0] - pad) : loud[-1] + pad + 1]
