"""The echo canceller and "stop" over the coach's own voice, offline: real espeak-ng speech, a simulated
room between the speaker and the microphone, Speex's canceller and the real recognizer. The live test
with a PulseAudio null sink is in tests/test_voice_live.py."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import numpy as np
import pytest
import soxr

from coach import echo
from coach.audio import PlayedSound
from coach.microphone import VoiceControl
from coach.sound import SAMPLE_RATE
from coach.testing import losing_track
from coach.voice import RATE, Heard, Listener, Recognizer
from tests.test_voice import room, say

COACH = ("Lie on your back and let the floor take your weight. Breathe in slowly through your nose. "
         "Stop. Now breathe out through your mouth, and let your shoulders soften a little more.")
START = 1000.0  # monotonic time when the coach's first sample is heard


def played(samples16k: np.ndarray) -> PlayedSound:
    sound = (soxr.resample(samples16k, RATE, SAMPLE_RATE) / 32768).astype(np.float32)
    return PlayedSound(sound, START)


def through_room(samples: np.ndarray, delay: float, seed: int = 0) -> np.ndarray:
    """What a microphone hears of `samples`: `delay` late, through a small room's reverberation."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.15 * RATE)) / RATE
    response = rng.normal(0, 1, len(t)) * np.exp(-6.9 * t / 0.3)
    response[0] = 6.0
    response /= np.sqrt(np.sum(response**2))
    heard = np.convolve(samples, response)[: len(samples)]
    return np.concatenate([np.zeros(round(delay * RATE)), heard])[: len(samples)]


def level(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1.0))


def blocks(samples: np.ndarray, size: int = 480) -> Iterator[tuple[bytes, float]]:
    """30 ms blocks, each stamped a little late, as the capture callback stamps them."""
    pcm = np.clip(np.round(samples), -32768, 32767).astype("<i2")
    jitter = np.random.default_rng(9)
    for i in range(0, len(pcm) - size + 1, size):
        yield pcm[i : i + size].tobytes(), START + (i + size) / RATE + jitter.uniform(0.0, 0.004)


@pytest.fixture(scope="module")
def coach() -> np.ndarray:
    return say(COACH, 150, "en-us")


@pytest.mark.parametrize("delay", [0.03, 0.4, 1.5])
def test_it_finds_the_delay_and_takes_the_echo_out(coach: np.ndarray, delay: float) -> None:
    canceller = echo.EchoCanceller(lambda since: [played(coach)])
    mic = through_room(coach, delay) + np.random.default_rng(1).normal(0, 20, len(coach))
    out = b"".join(canceller.cancel(pcm, ended) for pcm, ended in blocks(mic))
    assert canceller.delay is not None and abs(canceller.delay - delay) < 0.005
    assert canceller.ready
    cleaned = np.frombuffer(out, dtype="<i2")
    late = slice(len(cleaned) - 3 * RATE, len(cleaned))  # once it has learned the room
    assert level(cleaned[late]) < level(mic[late]) - 25


def test_when_the_microphone_never_hears_the_coach_it_passes_what_it_hears(coach: np.ndarray) -> None:
    # Headphones: the coach plays, the microphone hears only the room.
    canceller = echo.EchoCanceller(lambda since: [played(coach)])
    mic = np.random.default_rng(3).normal(0, 30, len(coach))
    feed = list(blocks(mic))
    outs = [canceller.cancel(pcm, ended) for pcm, ended in feed]
    assert canceller.echoless and canceller.ready and canceller.delay is None
    assert outs[-1] == feed[-1][0]


def test_words_said_into_headphones_do_not_end_them_and_the_coach_heard_does(coach: np.ndarray) -> None:
    # A person's own words are a little like the coach's (likeness over NO_ECHO, under MATCH): they
    # once ended "no echo", and the canceller was deaf for the next four checks, just as "stop" came.
    twice = np.concatenate([coach, coach])
    canceller = echo.EchoCanceller(lambda since: [played(twice)])
    half = len(coach) / RATE
    words = say("I think I would like to stop now, my back is tired and sore today", 150, "en-gb-x-rp")
    mic = np.random.default_rng(5).normal(0, 30, len(twice))
    mic[5 * RATE : 5 * RATE + len(words)] += words[: len(coach) - 5 * RATE]
    mic[len(coach) :] += through_room(coach, 0.4)  # then the headphones come off
    checks: list[tuple[float, float, bool]] = []  # seconds in, likeness, no echo
    check = canceller._check_delay
    now = 0.0

    def checked() -> None:
        check()
        checks.append((now, canceller.match_delay()[1], canceller.echoless))

    canceller._check_delay = checked  # type: ignore[method-assign]
    for pcm, ended in blocks(mic):
        now = ended - START
        canceller.cancel(pcm, ended)
    with_words = [c for c in checks if 5.0 < c[0] < half]
    assert with_words and all(quiet for _, _, quiet in with_words), checks
    assert max(like for _, like, _ in with_words) > echo.NO_ECHO, checks  # a little like the coach
    assert not canceller.echoless and canceller.delay is not None and abs(canceller.delay - 0.4) < 0.005


def test_a_coach_that_falls_silent_within_the_window_is_no_match(coach: np.ndarray) -> None:
    # The reference is silent for the last of the window: rounding in the transforms there once came
    # out as likeness in the thousands, and a delay was taken from it.
    short = coach[: round(0.3 * RATE)]
    canceller = echo.EchoCanceller(lambda since: [played(short)])
    mic = np.random.default_rng(4).normal(0, 30, 4 * RATE)
    for pcm, ended in blocks(mic):
        canceller.cancel(pcm, ended)
    found, likeness = canceller.match_delay()
    assert 0.0 <= likeness <= 1.0 and found is None


def test_with_the_coach_silent_what_it_hears_comes_back_untouched(coach: np.ndarray) -> None:
    canceller = echo.EchoCanceller(lambda since: [])
    words = room(0.5, say("please find a comfortable position"), 0.5)
    pcm = np.clip(words, -32768, 32767).astype("<i2").tobytes()
    assert canceller.cancel(pcm, START, sounding=False) == pcm
    assert canceller.delay is None and not canceller.ready


class FakeMicrophone:
    """Hands VoiceControl prepared blocks, as a capture device would, then closes."""

    def __init__(self, feed: list[tuple[bytes, float]]) -> None:
        self.stream = self
        self._blocks: queue.Queue[tuple[bytes, float] | None] = queue.Queue()
        for block in feed:
            self._blocks.put(block)
        self._blocks.put(None)

    def read_block(self, timeout: float | None = None) -> tuple[bytes, float] | None:
        return self._blocks.get(timeout=timeout)

    def __enter__(self) -> FakeMicrophone:
        return self

    def __exit__(self, *args: object) -> None:
        pass


def heard_over_the_coach(coach: np.ndarray, word: str | None, headphones: bool = False, lost: bool = False,
                         own_voice: float = echo.OWN_VOICE) -> list[str]:
    """Commands VoiceControl passes on while the coach speaks, with `word` said over its last part.
    `lost`: the microphone hears the coach straight (as a null sink's monitor does) and the canceller's
    filter takes nothing out."""
    mic = 0.5 * coach if lost else 0 if headphones else through_room(coach, 0.4)
    mic = mic + np.random.default_rng(2).normal(0, 20, len(coach))
    if word is not None:
        spoken = say(word, 150, "en-gb")
        at = len(coach) - 2 * RATE
        mic[at : at + len(spoken)] += spoken
    found: list[Heard] = []
    canceller = echo.EchoCanceller(lambda since: [played(coach)])
    if lost:
        losing_track(canceller)
    control = VoiceControl(Listener(Recognizer()), FakeMicrophone(list(blocks(mic))),  # type: ignore[arg-type]
                           found.append, lambda: START + len(coach) / RATE, canceller)
    control.hearing.own_voice = own_voice
    control._run()  # on this thread: it returns when the fake microphone closes
    return [h.command for h in found]


def test_stop_said_over_the_coach_is_heard_and_its_own_stop_is_not(coach: np.ndarray) -> None:
    assert heard_over_the_coach(coach, None) == []  # its own "Stop." among the rest
    assert heard_over_the_coach(coach, "stop") == ["stop"]


def test_when_the_canceller_loses_track_the_coach_still_does_not_obey_its_own_stop(coach: np.ndarray) -> None:
    # CI: the coach's own "Stop." was obeyed, its echo not taken out. What is left is then the coach's
    # sound itself, and that is what the check hears.
    assert heard_over_the_coach(coach, None, lost=True, own_voice=2.0) == ["stop"]  # no check: it obeys itself
    assert heard_over_the_coach(coach, None, lost=True) == []


def test_over_the_coach_only_stop_is_obeyed(coach: np.ndarray) -> None:
    assert heard_over_the_coach(coach, "pause") == []


def test_with_headphones_stop_over_the_coach_is_heard_too(coach: np.ndarray) -> None:
    assert heard_over_the_coach(coach, "stop", headphones=True) == ["stop"]
    assert heard_over_the_coach(coach, "pause", headphones=True) == []
