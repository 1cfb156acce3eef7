"""A voice print: the speaker's own command words, so that the command classifier hears their voice.

The classifier (coach.classifier) learned its words from synthetic voices, and hears mainly those;
a person is further from them than any voice it was measured on. `unknot enrol` asks for each
command word twice, and keeps what the classifier reads of each recording. From then on every
utterance gains, for each command, a bonus to its log-odds that grows with its likeness (the cosine
of the classifier's scaled features) to the nearest of the speaker's own recordings of that
command: LIKENESS_WEIGHT times how far that likeness is above LIKENESS_FLOOR. Both limits were chosen
on the tune half of scripts/make_corpus.py's voices by scripts/bench_enrol.py, which measures the
test half. (Two sentences read for "not a command", in the same way, changed no decision there.)
"""

from __future__ import annotations

import datetime
import os
import queue
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from coach.voice import (
    DEFAULT_WORDS,
    MAX_SECONDS,
    MIN_PITCHED,
    MIN_SECONDS,
    RATE,
    Listener,
    Verdict,
    VoiceError,
    command_words,
    judged_part,
    pitched_frames,
)

if TYPE_CHECKING:
    from coach.audio import SoundOutput
    from coach.classifier import CommandClassifier
    from coach.speech import Speech, SpeechSettings
    from coach.voice import Recognizer

# Chosen on the tune half as the most commands right less twice the non-commands accepted: 40 and
# 0.55 came first, and every weight from 20 to 60 with a floor from 0.5 to 0.65 was within 7 clips of it.
LIKENESS_WEIGHT = 40.0
LIKENESS_FLOOR = 0.55
TIMES = 2  # recordings of each command word


@dataclass(frozen=True)
class Prompt:
    text: str  # what the speaker is asked to say
    label: str  # the command it is


def prompts(words: Mapping[str, tuple[str, ...]] = DEFAULT_WORDS) -> list[Prompt]:
    """Each word TIMES times, the words in turn so that no two in a row are the same."""
    return [Prompt(word, command) for word, command in command_words(words)] * TIMES


def voice_print_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("unknot") / "voice-print.npz"


def saved() -> VoicePrint | None:
    """The saved voice print, or None when there is none. Raises VoiceError when it cannot be read."""
    path = voice_print_path()
    return VoicePrint.load(path) if path.exists() else None


def saved_print(words: Mapping[str, tuple[str, ...]]) -> tuple[VoicePrint | None, str | None]:
    """The saved voice print to listen with, when there is one, it can be read and the words are the
    default ones (it is of those); and why it is not used when it is there but cannot be."""
    if not voice_print_path().exists():
        return None, None
    if dict(words) != DEFAULT_WORDS:
        return None, "your voice print is of the default command words, and these are others: not used"
    try:
        return saved(), None
    except VoiceError as error:
        return None, f"{error}; listening without it"


@dataclass(frozen=True)
class VoicePrint:
    """The classifier's features (before its scaling) of each recording, and what each one was."""

    labels: tuple[str, ...]
    features: np.ndarray  # (recordings, features)
    made: str  # ISO date

    def save(self, path: Path) -> None:
        """Written whole or not at all: a half-written print is never read."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".voice-print-", suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, labels=np.array(self.labels), features=self.features, made=np.array(self.made))
            os.replace(temp, path)
        finally:
            Path(temp).unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path) -> VoicePrint:
        try:
            with np.load(path, allow_pickle=False) as saved:
                labels = tuple(str(label) for label in saved["labels"])
                features = np.asarray(saved["features"], np.float32)
                made = str(saved["made"])
        except OSError as error:
            raise VoiceError(f"{path}: {error.strerror or error}") from None
        except (KeyError, ValueError, EOFError):  # numpy's message for a damaged file talks of pickles
            raise VoiceError(f"{path}: not a voice print, or a damaged one; `unknot enrol` makes a new one") from None
        if features.ndim != 2 or len(features) != len(labels) or not labels:
            raise VoiceError(f"{path}: not a voice print (its recordings do not match their labels);"
                             " `unknot enrol` makes a new one")
        return cls(labels, features, made)


class Likeness:
    """A voice print as the classifier scales its features: the bonus each class gets."""

    def __init__(self, voice_print: VoicePrint, classifier: CommandClassifier, weight: float = LIKENESS_WEIGHT,
                 floor: float = LIKENESS_FLOOR, veto: float | None = None) -> None:
        """`veto`: a command less like the speaker's own recordings of it than this is refused."""
        self.weight, self.floor, self.veto = weight, floor, veto
        if voice_print.features.shape[1] != classifier.mean.shape[0]:
            raise VoiceError("the voice print was made for another classifier; `unknot enrol` makes a new one")
        self.made = voice_print.made
        self.labels = np.array(voice_print.labels)
        self.classes = sorted(set(voice_print.labels))
        self._units = _unit(np.stack([classifier.scaled(f) for f in voice_print.features]))

    def nearest(self, x: np.ndarray) -> dict[str, float]:
        """For each class, the likeness of scaled features `x` to the nearest of its recordings."""
        cosines = self._units @ _unit(x[None, :])[0]
        return {label: float(cosines[self.labels == label].max()) for label in self.classes}

    def bonus(self, x: np.ndarray) -> dict[str, float]:
        """Log-odds to add to each class for an utterance of scaled features `x`."""
        return self.bonus_for(self.nearest(x))

    def bonus_for(self, nearest: dict[str, float]) -> dict[str, float]:
        return {label: self.weight * max(0.0, near - self.floor) for label, near in nearest.items()}

    def refuses(self, command: str, nearest: dict[str, float]) -> bool:
        return self.veto is not None and nearest.get(command, 1.0) < self.veto


def _unit(rows: np.ndarray) -> np.ndarray:
    result: np.ndarray = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
    return result


class Enrolment:
    """Takes one recording for each prompt in turn. It stands in for the recognizer of a Listener, so
    each recording is cut from the stream exactly as a command would be, and judged on the same part.

    Live, a recording that cannot be used leaves its prompt to be asked again. From files (`in_order`),
    every utterance is the answer to the next prompt, so one that cannot be used passes its prompt by
    (in `passed`), and the answers after it keep their words."""

    def __init__(self, recognizer: Recognizer, in_order: bool = False) -> None:
        if recognizer.classifier is None:
            raise VoiceError("a voice print needs the command classifier, which hears only the default words")
        self.recognizer = recognizer
        self.classifier = recognizer.classifier
        self.command_of = recognizer.command_of
        self.prompts = prompts(recognizer.words)
        self.in_order = in_order
        self.taken: list[tuple[str, np.ndarray]] = []
        self.passed: list[tuple[Prompt, str]] = []  # with in_order: prompts whose answer could not be used
        self.problem: str | None = None  # why the last recording was not taken: the speaker says it again
        self.heard_right = 0  # command words the recognizer got right before this print
        self.left_out = 0  # utterances after the last prompt

    @property
    def prompt(self) -> Prompt | None:
        """What the speaker is to say now; None when every prompt has had its answer."""
        index = len(self.taken) + len(self.passed)
        return self.prompts[index] if index < len(self.prompts) else None

    def decide(self, pcm: bytes, background: float | None = None) -> Verdict:
        """Takes `pcm` for the current prompt, or sets `problem`. Never a command: nothing is obeyed."""
        prompt = self.prompt
        part = judged_part(pcm, background)
        seconds = len(part) / 2 / RATE
        if prompt is None:  # more than was asked for
            self.left_out += 1
            return Verdict(None, None, seconds, 0.0, 0.0, "after the last prompt")
        if len(pcm) / 2 / RATE > MAX_SECONDS:
            return self._unusable(prompt, f'that was longer than one word: say just "{prompt.text}"', seconds)
        if seconds < MIN_SECONDS:
            return self._unusable(prompt, f'that was too short to be "{prompt.text}": say it again', seconds)
        if pitched_frames(part) < MIN_PITCHED:
            return self._unusable(prompt, f'no voice was heard in that: say "{prompt.text}" again', seconds)
        features = self.classifier.features(part)
        if self.recognizer.decide_part(part, features).command == prompt.label:
            self.heard_right += 1
        self.problem = None
        self.taken.append((prompt.label, features))
        return Verdict(None, None, seconds, 0.0, 0.0, "enrolled")

    def _unusable(self, prompt: Prompt, problem: str, seconds: float) -> Verdict:
        self.problem = problem
        if self.in_order:
            self.passed.append((prompt, problem))
        return Verdict(None, None, seconds, 0.0, 0.0, "not used")

    def voice_print(self) -> VoicePrint:
        if self.prompt is not None:
            raise VoiceError(f"the voice print is not finished: {len(self.taken)} of {len(self.prompts)} recordings")
        missing = sorted(set(p.label for p in self.prompts) - {label for label, _ in self.taken})
        if missing:
            raise VoiceError(f"no recording of {', '.join(missing)} could be used")
        labels = tuple(label for label, _ in self.taken)
        return VoicePrint(labels, np.stack([f for _, f in self.taken]).astype(np.float32),
                          datetime.date.today().isoformat())

    def check(self) -> None:
        """Ready as soon as it is made."""

    def close(self) -> None:
        self.recognizer.close()


def prompt_speech(settings: SpeechSettings, words: Mapping[str, tuple[str, ...]] = DEFAULT_WORDS,
                  progress: Callable[[int, int], None] | None = None) -> tuple[Speech, str | None]:
    """The coach's voice with every prompt rendered; the silent engine, and why, when it cannot speak."""
    from coach.speech import Speech, SpeechError, SpeechSettings

    speech = Speech(settings)
    try:
        speech.prepare(every_asking(words), progress)
    except SpeechError as error:
        speech.close()
        return Speech(SpeechSettings(engine="silent")), f"no speech: {error}"
    return speech, None


def speaker(speech: Speech, output: SoundOutput) -> Callable[[str], float]:
    """take_recordings' `say`: plays a prompt at once, and gives the monotonic time its sound ends."""

    def say(text: str) -> float:
        sound = speech.sound(text)
        now = time.monotonic()
        if sound is None or not len(sound):
            return now
        at = output.first_slot(now)
        output.play(sound, at)
        return max(output.sounding_until(), at)

    return say


PATIENCE = 8.0  # seconds of listening after a prompt before it is asked again
TRIES = 3  # prompts for one recording before enrolment gives up


class Blocks(Protocol):
    def read_block(self, timeout: float | None = None) -> tuple[bytes, float] | None: ...


def asking(prompt: Prompt, again: bool = False) -> str:
    """What the coach says for a prompt."""
    return f"{'Once more' if again else 'Say'}: {prompt.text}."


def every_asking(words: Mapping[str, tuple[str, ...]] = DEFAULT_WORDS) -> list[str]:
    """Every text enrolment may speak, to be rendered before it starts."""
    return list(dict.fromkeys(asking(p, again) for p in prompts(words) for again in (False, True)))


def take_recordings(enrolment: Enrolment, blocks: Blocks, say: Callable[[str], float],
                    show: Callable[[str], None], deaf_tail: float = 0.35) -> None:
    """Asks for each prompt in turn and takes what the microphone hears after it. `say(text)` speaks
    and returns the monotonic time its sound ends: what is heard before that, and `deaf_tail` after,
    is the coach's own voice and is dropped. Raises VoiceError when a prompt gets no recording in TRIES."""
    listener = Listener(enrolment, answers=True)
    while (prompt := enrolment.prompt) is not None:
        for attempt in range(TRIES):
            text = asking(prompt, again=attempt > 0)
            show(text if attempt == 0 or enrolment.problem is None else f"{enrolment.problem}. {text}")
            enrolment.problem = None
            deaf_until = say(text) + deaf_tail
            if _hear_one(listener, enrolment, blocks, deaf_until):
                break
        else:
            raise VoiceError(f'no recording of "{prompt.text}" after {TRIES} tries'
                             f" ({enrolment.problem or 'nothing was heard'})")


def _hear_one(listener: Listener, enrolment: Enrolment, blocks: Blocks, deaf_until: float) -> bool:
    """Feeds the microphone until the current prompt has its recording: True; or until a problem, or
    PATIENCE seconds without one: False."""
    taken = len(enrolment.taken)
    listener.deafen()
    while True:
        try:
            block = blocks.read_block(timeout=PATIENCE + max(0.0, deaf_until - time.monotonic()))
        except queue.Empty:
            raise VoiceError(f"the microphone sent nothing for {PATIENCE:g} seconds") from None
        if block is None:
            raise VoiceError("the microphone closed")
        pcm, at = block
        if at < deaf_until:
            listener.deafen(len(pcm) / 2 / RATE)  # the coach's own voice: time passes, nothing is heard
            continue
        listener.feed(pcm)
        if len(enrolment.taken) > taken:
            return True
        if enrolment.problem is not None or at - deaf_until > PATIENCE:
            return False
