"""scripts/make_corpus.py's voices: the benchmark's figures are only as good as what it says."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import make_corpus
import train_commands

from coach.voice import RATE
from tests.test_voice import COMMA_SENTENCES


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


def test_no_non_command_is_said_just_as_a_command_word() -> None:
    # "weight" alone is "wait": counted as a false accept, or taught as "none", it asks the impossible
    said = train_commands.pronunciations()
    commands = {p for w in train_commands.COMMAND_WORDS for p in said[w]}
    taught = make_corpus.NOT_COMMANDS + train_commands.EVERYDAY
    taught += train_commands.common_words(train_commands.COMMON_WORDS) + train_commands.near_misses()
    alike = [text for text in taught if len(text.split()) == 1 and said.get(text, set()) & commands]
    assert alike == []


def test_the_trainer_s_near_misses_are_one_sound_from_a_command_word_and_hold_none() -> None:
    near = train_commands.near_misses()
    assert {"neck", "top", "pose", "text"} <= set(near)
    # a command word inside a word ("stopped", "await") is one a person may mean as the command
    assert not [w for w in near for c in train_commands.COMMAND_WORDS if c in w]
    assert train_commands._one_apart(("N", "EH", "K"), ("N", "EH", "K", "S", "T")) is False
    assert train_commands._one_apart(("P", "AO", "Z"), ("P", "OW", "Z"))


def test_the_trainer_s_comma_sentences_begin_with_each_command_word_and_are_none_of_the_tested_ones() -> None:
    texts = train_commands.comma_texts(train_commands.COMMAS, train_commands.COMMON_WORDS)
    words = train_commands.COMMAND_WORDS
    assert len(texts) == len(set(texts)) == train_commands.COMMAS * len(words)
    assert {t.split(",")[0] for t in texts} == set(words)
    tested = {t.split(", ", 1)[1] for t in COMMA_SENTENCES}
    assert not [t for t in texts if t.split(", ", 1)[1] in tested]
    assert train_commands.holds_a_command_word("Wait for me") and not train_commands.holds_a_command_word("waiting")


def test_the_trainer_s_coach_is_none_of_the_benchmark_s_voices_or_sentences() -> None:
    # bench_bargein's figures decide whether weights ship: the training's coach must not be its coach
    import bench_bargein
    from bench_commands import coach_texts

    assert not set(train_commands.COACH_VOICES) & set(bench_bargein.COACH_VOICES)
    spoken = set(train_commands.COACH_LIKE)
    assert len(spoken) == len(train_commands.COACH_LIKE)
    assert not spoken & set(coach_texts() + bench_bargein.ALONE)
    assert [v for v in train_commands.COACH_VOICES if v in make_corpus.voices("all")] == train_commands.COACH_VOICES


def test_the_halves_share_no_neural_voice_and_joe_is_never_trained_or_tuned_on() -> None:
    tune, test = make_corpus.voices("tune", "neural"), make_corpus.voices("test", "neural")
    assert len(tune) == 3 and len(test) == 3 and not set(tune) & set(test)
    assert "piper:joe" in test


def test_kokoro_says_english_from_espeak_s_phonemes_in_its_own_spelling() -> None:
    model = make_corpus._kokoro()
    said = model.phonemes("Breathe out. Don't stop, just a little.")
    assert said == "bɹˈið ˈWt. dˈOnt stˈɑp, ʤˈʌst ə lˈɪɾəl."
    assert all(c in model.vocab for c in said)
    for voice in make_corpus.voices("all", "neural"):
        if voice.startswith("kokoro:"):
            seconds = len(make_corpus.speak("continue", voice, 170, 50)) / RATE
            assert 0.4 < seconds < 1.5, voice


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
