"""Generated chimes: exact lengths, gentle levels, clean starts and ends, glides that go the right way."""

from __future__ import annotations

import numpy as np
import pytest

from coach.chimes import chime
from coach.plan import CHIME_SECONDS
from coach.sound import SAMPLE_RATE, Sound

NAMES = sorted(CHIME_SECONDS)


def rms(samples: Sound) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def dominant_frequency(samples: Sound) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)[np.argmax(spectrum)])


@pytest.mark.parametrize("name", NAMES)
def test_length_is_exactly_the_plans_chime_length(name: str) -> None:
    sound = chime(name)
    assert sound.dtype == np.float32
    assert sound.ndim == 1
    assert len(sound) == round(CHIME_SECONDS[name] * SAMPLE_RATE)


@pytest.mark.parametrize("name", NAMES)
def test_peak_is_gentle(name: str) -> None:
    peak = float(np.max(np.abs(chime(name))))
    assert 0.35 <= peak <= 0.5


@pytest.mark.parametrize("name", NAMES)
def test_starts_softly_but_is_heard_within_ten_ms(name: str) -> None:
    sound = chime(name)
    assert abs(sound[0]) < 0.01  # no click
    assert rms(sound[: round(0.01 * SAMPLE_RATE)]) > 0.05


@pytest.mark.parametrize("name", NAMES)
def test_ends_in_silence(name: str) -> None:
    sound = chime(name)
    assert rms(sound[-round(0.01 * SAMPLE_RATE) :]) < 0.005
    assert abs(sound[-1]) < 1e-3


@pytest.mark.parametrize(("name", "rising"), [("rise", True), ("fall", False)])
def test_glides_go_the_right_way(name: str, rising: bool) -> None:
    sound = chime(name)
    third = len(sound) // 3
    first, last = dominant_frequency(sound[:third]), dominant_frequency(sound[-third:])
    assert 200 < first < 1000 and 200 < last < 1000
    assert (last > first * 1.15) if rising else (last < first / 1.15)


def test_bell_rings_in_its_range_and_decays() -> None:
    sound = chime("bell")
    second = SAMPLE_RATE // 2
    assert 450 < dominant_frequency(sound[:second]) < 950
    assert rms(sound[second : 2 * second]) > rms(sound[3 * second : 4 * second])


def test_unknown_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="gong"):
        chime("gong")


def test_memoised_and_read_only() -> None:
    assert chime("bell") is chime("bell")
    with pytest.raises(ValueError):
        chime("soft")[0] = 1.0
