"""scripts/make_corpus.py's voices: the benchmark's figures are only as good as what it says."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import make_corpus

from coach.voice import RATE


def pitch(samples: np.ndarray) -> float:
    """Median pitch in Hz of the loud 30 ms frames, by autocorrelation over 60-400 Hz."""
    size = int(0.03 * RATE)
    lags = range(RATE // 400, RATE // 60)
    found = []
    loudest = float(np.max(np.abs(samples)))
    for start in range(0, len(samples) - size, size):
        frame = samples[start:start + size] - np.mean(samples[start:start + size])
        if np.max(np.abs(frame)) < 0.3 * loudest:
            continue
        scores = [float(np.dot(frame[:-lag], frame[lag:])) for lag in lags]
        found.append(RATE / lags[int(np.argmax(scores))])
    return float(np.median(found))


def test_the_neural_voice_is_never_in_the_half_that_is_trained_and_tuned_on() -> None:
    assert make_corpus.voices("tune", "neural") == []
    assert make_corpus.voices("test", "neural") == ["piper:joe"]
    assert "piper:joe" not in make_corpus.voices("tune", "espeak") + make_corpus.voices("tune", "other")


def test_the_neural_voice_speaks_at_the_rate_and_size_asked() -> None:
    # piper draws its own variation afresh each time: each figure is a median of five renders
    pick = random.Random(1)

    def said(rate: int, size: int) -> list[np.ndarray]:
        return [make_corpus.speak("we can continue now", "piper:joe", rate, size, pick) for _ in range(5)]

    def length(renders: list[np.ndarray]) -> float:
        return float(np.median([len(r) for r in renders])) / RATE

    def pitches(renders: list[np.ndarray]) -> float:
        return float(np.median([pitch(r) for r in renders]))

    assert 1.4 < length(said(110, 50)) / length(said(230, 50)) < 2.6  # 230/110 = 2.1 (1.7-1.8: pauses keep theirs)
    small, large = said(170, 85), said(170, 15)
    # 1.15 / 0.85: a smaller speaker's voice is higher, at about the same length
    assert 1.2 < pitches(small) / pitches(large) < 1.5
    assert 0.75 < length(small) / length(large) < 1.25
    assert 0.7 < length(said(170, 50)) < 2.0
