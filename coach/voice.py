"""Hands-free commands: a 16 kHz stream cut into utterances, each one decoded offline, whole.

One pocketsphinx decoder lives for the whole session with a grammar of the command words, and with
the default words a classifier over a speech embedding (coach.classifier) gives a second opinion:
the command is the one their scores agree on best, and none when the classifier's "not a command"
outweighs them. With words of the user's own, which the classifier never heard, a free phone loop
judges instead: an utterance is a command only when the grammar's word covers it and fits it nearly
as well as the best phone sequence does; speech that merely contains a command word ("don't stop
breathing") fits the one-word grammar far worse than the phone loop, and is dropped.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import os
import select
import struct
import subprocess
import sys
import wave
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from coach.enrol import Likeness, VoicePrint

RATE = 16000  # what the acoustic model was trained on
COMMANDS = ("next", "back", "pause", "resume", "stop", "repeat")
DEFAULT_WORDS: dict[str, tuple[str, ...]] = {
    "next": ("next", "skip"),
    "back": ("back", "previous"),
    "pause": ("pause", "wait"),
    "resume": ("resume", "continue"),
    "stop": ("stop", "quit"),
    "repeat": ("repeat", "again"),
}


def command_words(words: Mapping[str, tuple[str, ...]] = DEFAULT_WORDS) -> list[tuple[str, str]]:
    """(word, command) for every word of every command, in order."""
    return [(word, command) for command, chosen in words.items() for word in chosen]


FRAME = 0.03  # seconds in one voice-activity frame
START_WINDOW = 0.15  # an utterance starts once START_RATIO of this is voiced: short words start one too
START_RATIO = 0.8
PREROLL = 0.1  # seconds kept from before the start, where a word's first consonant is
ENDPOINT_WINDOW = 0.4  # seconds of quiet that end an utterance: a spoken comma is shorter
ENDPOINT_RATIO = 0.9  # share of that window that must be unvoiced
TAIL = 0.1  # seconds kept after the last voiced frame, where a word's last consonant is
# Seconds of quiet after which the utterance so far is decided ahead: if the quiet lasts the window
# out, that verdict is the answer, and the decode's time is not added to the wait for it.
AHEAD = 0.15
NOISE_SUPPRESSION = 2  # WebRTC's level, 0-4: 2 helped most at 10 dB on the tune half; 3-4 blur "stop"

# Decision limits, chosen on the "tune" half of the voices of scripts/make_corpus.py and measured on
# the other half by scripts/bench_commands.py (figures in the README).
MIN_SECONDS = 0.15  # shorter is a click or a cough
MIN_VOICED = 0.2  # seconds from the first voiced frame to the last: a short knock is less, a word more
MAX_SECONDS = 1.3  # longer is a sentence: every command word is said in well under this
MIN_COVER = 0.6  # share of the utterance the command word must fill
MIN_FIT = -6.0  # grammar against phone loop, log-likelihood per 10 ms frame: only the worst fits go
DECODER_VOTE = 1.5  # log-odds the grammar's word adds to the classifier's score for that command
# The least the classifier must give a command that only the other votes make the winner. 0 (none)
# with the shipped weights: a floor cost more commands than false accepts it saved (README, Benchmarks).
CARRIED_FLOOR = 0.0
# With the classifier, an utterance too long to be a command is judged on its loud core: a word said
# over other talkers or a television is cut out with them, and is far louder than they are.
CORE_DB = 12.0  # frames this far below the loudest are not its core: 8 took "back" out of a sentence, 16 kept noise
# An utterance's loudest frame less than this above the room: a word said over noise or talk. Three
# talkers 10 dB below the word leave dips that put the room 27-37 dB below it; the sentences of the
# benchmark's stream, in a quiet room, are further (at 24 a word was never cut out of such talk).
NOISY_DB = 34.0
CORE_TOP = 4.0  # dB below the loudest frame: the highest the line of a core over talk rises
CORE_GAP = 0.15  # seconds of a word that may dip below its core: the closure before a "t" or "p"
BACKGROUND_SECONDS = 5.0  # of the stream, whose quieter frames tell how loud the room is
KEPT_VERDICTS = 200  # a Listener's memory of its last verdicts
MIN_GAP = 0.8  # seconds of quiet a command needs before it, or it is the end of a sentence
# Over the coach, what is left of its own voice after the echo canceller is heard too: a command
# there needs the classifier this sure (bench_bargein.py: 3 false stops in 12.7 min below it, none at 0.6).
MIN_OVER_SOUND = 0.6
# Every command word has a vowel: some frames repeat themselves at a voice's pitch. A knock, a rustle
# or a burst of hiss has no such frame (their best periodicity measured 0.21); the fastest espeak
# "stop" has 2, and no clip of the tune half had fewer than 3.
MIN_PERIODICITY = 0.5  # normalised autocorrelation at the best lag in the pitch range
MIN_PITCHED = 2  # frames of FRAME seconds
PITCH_RANGE = (60, 400)  # Hz


class VoiceError(Exception):
    """Voice commands cannot run: a bad word list, a missing recognizer, an unreadable file."""


class NotInstalled(VoiceError):
    """The recognizer or the noise suppressor is missing: no fault of the user's, so keys carry on."""


def word_overrides(specs: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """`COMMAND=WORD[,WORD...]` settings as {command: words}, for the commands they name."""
    overrides: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        command, sep, listed = spec.partition("=")
        command = command.strip().lower()
        if not sep or command not in COMMANDS:
            raise VoiceError(f"--words {spec!r}: expected COMMAND=WORD[,WORD...] with COMMAND one of "
                             f"{', '.join(COMMANDS)}")
        chosen = tuple(w.strip().lower() for w in listed.split(",") if w.strip())
        if not chosen:
            raise VoiceError(f"--words {spec!r}: no words for {command}")
        overrides[command] = chosen
    return overrides


def merge_words(overrides: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Every command's words: the defaults, with `overrides` in their place; no word may serve two."""
    words = {**DEFAULT_WORDS, **overrides}
    owners: dict[str, str] = {}
    for command, chosen in words.items():
        for word in chosen:
            if owners.setdefault(word, command) != command:
                raise VoiceError(f"the word {word!r} is given to both {owners[word]} and {command}")
    return words


def parse_words(specs: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """`COMMAND=WORD[,WORD...]` settings over the defaults."""
    return merge_words(word_overrides(specs))


def unknown_words(words: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The words the recognizer's dictionary lacks, read from the dictionary file (no decoder needed)."""
    wanted = {w for w, _ in command_words(words)}
    path = os.path.join(_model()[1], "cmudict-en-us.dict")
    with open(path, encoding="utf-8") as handle:
        known = {line.split(" ", 1)[0].split("(", 1)[0] for line in handle}
    return sorted(wanted - known)


def check_words(words: Mapping[str, tuple[str, ...]]) -> None:
    unknown = unknown_words(words)
    if unknown:
        raise _not_known(unknown)


def _not_known(unknown: Iterable[str]) -> VoiceError:
    return VoiceError("the recognizer does not know " + ", ".join(repr(w) for w in unknown)
                      + ": choose words from its English dictionary")


@dataclass(frozen=True)
class Heard:
    command: str
    word: str
    start: float  # stream seconds where the utterance began
    end: float  # stream seconds where it ended
    over_sound: bool = False  # some of it was fed as said over the coach's own sound


@dataclass(frozen=True)
class Verdict:
    """What the recognizer made of one utterance, accepted or not: benchmarks read the numbers."""

    command: str | None
    word: str | None
    seconds: float
    cover: float
    fit: float
    reason: str
    confidence: float = 0.0  # the classifier's probability of its answer (0 without the classifier)


def _model() -> tuple[Any, str]:
    try:
        import pocketsphinx
    except ImportError as error:
        raise NotInstalled(f"the speech recognizer is not installed ({error})") from None
    return pocketsphinx, os.path.join(pocketsphinx.get_model_path(), "en-us")


class Recognizer:
    """One long-lived decoder for the command words; decides whole utterances."""

    def __init__(self, words: Mapping[str, tuple[str, ...]] = DEFAULT_WORDS,
                 voice_print: VoicePrint | None = None, weights: Path | None = None,
                 carried_floor: float = CARRIED_FLOOR) -> None:
        """`voice_print`: the speaker's own recordings (coach.enrol), heard with the classifier only.
        `weights`: the classifier's, where not the shipped ones (scripts/train_commands.py --out).
        `carried_floor`: CARRIED_FLOOR, where another is measured (scripts/bench_commands.py)."""
        self.carried_floor = carried_floor
        ps, model = _model()
        config = ps.Config(
            hmm=os.path.join(model, "en-us"),
            dict=os.path.join(model, "cmudict-en-us.dict"),
            lm=None,
            loglevel="FATAL",
            dither=True,  # digital silence has no log energy; real microphones never give it
        )
        self.decoder = ps.Decoder(config)
        unknown = [w for w, _ in command_words(words) if self.decoder.lookup_word(w) is None]
        if unknown:
            raise _not_known(unknown)
        self.command_of = dict(command_words(words))
        rule = " | ".join(sorted(self.command_of))
        self.decoder.add_jsgf_string("commands", f"#JSGF V1.0;\ngrammar commands;\npublic <command> = {rule} ;\n")
        self.words = {command: tuple(chosen) for command, chosen in words.items()}
        self.classifier = None
        if self.words == DEFAULT_WORDS:
            from coach.classifier import CommandClassifier

            with contextlib.suppress(NotInstalled):  # then the phone loop judges, as for words of one's own
                self.classifier = CommandClassifier(weights)
        if self.classifier is None:
            self.decoder.add_allphone_file("phones", os.path.join(model, "en-us-phone.lm.bin"))
        self.likeness: Likeness | None = None
        if voice_print is not None and self.classifier is not None:
            from coach.enrol import Likeness

            self.likeness = Likeness(voice_print, self.classifier)

    def _decode(self, search: str, pcm: bytes) -> tuple[float, list[Any]]:
        self.decoder.activate_search(search)
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        segments = list(self.decoder.seg() or [])
        # The bindings hand scores back as probabilities; their logs are what add up.
        return sum(math.log(max(s.ascore, 1e-300)) for s in segments), segments

    def decide(self, pcm: bytes, background: float | None = None) -> Verdict:
        """`background`: the room's level (dB, as frame_levels) round the utterance, when known."""
        return self.decide_part(judged_part(pcm, background) if self.classifier is not None else pcm)

    def decide_part(self, pcm: bytes, features: np.ndarray | None = None) -> Verdict:
        """Decides the part of an utterance that is judged; `features`: the classifier's of it, where
        the caller has them already (coach.enrol keeps them)."""
        seconds = len(pcm) / 2 / RATE
        if seconds < MIN_SECONDS:
            return Verdict(None, None, seconds, 0.0, 0.0, "too short")
        if seconds > MAX_SECONDS:
            return Verdict(None, None, seconds, 0.0, 0.0, "too long")
        grammar, segments = self._decode("commands", pcm)
        spoken = [s for s in segments if s.word.split("(")[0] in self.command_of]
        if self.classifier is not None:
            return self._second_opinion(pcm, seconds, spoken, features)
        if not spoken:
            return Verdict(None, None, seconds, 0.0, 0.0, "no command word")
        phones, _ = self._decode("phones", pcm)
        frames = max(1, self.decoder.n_frames())
        word = spoken[0].word.split("(")[0]
        cover = sum(s.end_frame - s.start_frame + 1 for s in spoken) / frames
        fit = (grammar - phones) / frames
        if cover < MIN_COVER:
            return Verdict(None, word, seconds, cover, fit, "more than the word")
        if fit < MIN_FIT:
            return Verdict(None, word, seconds, cover, fit, "not like the word")
        return Verdict(self.command_of[word], word, seconds, cover, fit, "command")

    def _second_opinion(self, pcm: bytes, seconds: float, spoken: list[Any], features: np.ndarray | None) -> Verdict:
        from coach.classifier import NONE

        assert self.classifier is not None
        frames = max(1, self.decoder.n_frames())
        word = spoken[0].word.split("(")[0] if spoken else None
        cover = sum(s.end_frame - s.start_frame + 1 for s in spoken) / frames
        decoded = self.command_of[word] if word else None
        x = self.classifier.scaled(self.classifier.features(pcm) if features is None else features)
        chances = self.classifier.chances(x)
        nearest = self.likeness.nearest(x) if self.likeness is not None else {}
        bonus = self.likeness.bonus_for(nearest) if self.likeness is not None else {}
        scores = {c: math.log(max(p, 1e-9)) + (DECODER_VOTE if c == decoded else 0.0) + bonus.get(c, 0.0)
                  for c, p in chances.items()}
        best = max(scores, key=scores.__getitem__)
        if best == NONE:
            return Verdict(None, word, seconds, cover, 0.0, "not a command", chances[NONE])
        if chances[best] < self.carried_floor and max(chances, key=chances.__getitem__) != best:
            return Verdict(None, word, seconds, cover, 0.0, "carried by the other votes", chances[best])
        if self.likeness is not None and self.likeness.refuses(best, nearest):
            return Verdict(None, word, seconds, cover, 0.0, "not like the speaker's own", chances[best])
        if best != decoded:
            word = self.words[best][0]
        return Verdict(best, word, seconds, cover, 0.0, "command", chances[best])

    def check(self) -> None:
        """Ready as soon as it is made."""

    def close(self) -> None:
        """Nothing to end: the decoder lives in this process."""


class RecognizerProcess:
    """A Recognizer in a worker process (coach.decode_worker), for a process that also plays sound:
    pocketsphinx holds Python's lock while it decodes, and the sound output's callback must not wait."""

    def __init__(self, words: Mapping[str, tuple[str, ...]] = DEFAULT_WORDS, timeout: float = 30.0,
                 lazy: bool = False, voice_print: Path | None = None) -> None:
        """`voice_print`: the file of the speaker's voice print (coach.enrol), read by the worker."""
        from coach.speech import end_worker

        self._timeout = timeout
        extra = [str(voice_print)] if voice_print is not None else []
        self._proc = subprocess.Popen([sys.executable, "-m", "coach.decode_worker", json.dumps(words), *extra],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._finalizer = weakref.finalize(self, end_worker, self._proc)
        self._command_of: dict[str, str] | None = None
        if not lazy:
            self.check()

    def check(self) -> None:
        """Waits for the worker's greeting: NotInstalled or VoiceError (a word it cannot know) if it
        cannot decode. With `lazy`, the worker starts while the caller does other work meanwhile."""
        if self._command_of is not None:
            return
        greeting = self._reply()
        if not greeting.get("ok"):
            self.close()
            error = str(greeting.get("error"))
            raise NotInstalled(error) if greeting.get("kind") == "missing" else VoiceError(error)
        self._command_of = dict(greeting["command_of"])

    @property
    def command_of(self) -> dict[str, str]:
        self.check()
        assert self._command_of is not None
        return self._command_of

    def _reply(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], self._timeout)
        line = self._proc.stdout.readline() if ready else b""
        try:
            answer = json.loads(line) if line else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise VoiceError("the speech recognizer stopped" if ready else "the speech recognizer does not answer")
        return answer

    def decide(self, pcm: bytes, background: float | None = None) -> Verdict:
        self.check()
        assert self._proc.stdin is not None
        try:
            level = math.nan if background is None else background
            self._proc.stdin.write(struct.pack("<If", len(pcm), level) + pcm)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise VoiceError("the speech recognizer stopped") from None
        return Verdict(**self._reply())

    def close(self) -> None:
        self._finalizer()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


def judged_part(pcm: bytes, background: float | None = None) -> bytes:
    """What the classifier judges of an utterance: all of it, or the loud core of a long one.
    scripts/train_commands.py trains on exactly this."""
    return loud_core(pcm, background) if len(pcm) / 2 / RATE > MAX_SECONDS else pcm


def frame_levels(pcm: bytes) -> np.ndarray:
    """The level (dB of mean square) of each whole FRAME of 16-bit PCM."""
    import numpy as np

    size = round(FRAME * RATE)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    count = len(samples) // size
    level: np.ndarray = 10 * np.log10(np.mean(samples[: count * size].reshape(count, size) ** 2, axis=1) + 1.0)
    return level


def loud_core(pcm: bytes, background: float | None = None) -> bytes:
    """From PREROLL before the first FRAME within CORE_DB of the loudest to TAIL after the last. Over
    noise or talk (the loudest frame within NOISY_DB of `background`), those frames are everywhere:
    then the core is the stretch round the loudest frame that stays above halfway to the room."""
    import numpy as np

    level = frame_levels(pcm)
    if len(level) == 0:
        return pcm
    peak = float(level.max())
    if background is None or peak - background >= NOISY_DB:
        loud = np.flatnonzero(level >= peak - CORE_DB)
        first, last = int(loud[0]), int(loud[-1])
    else:
        # Where the talk round the word is as loud as halfway, the stretch outgrows any command: the
        # line then rises, up to CORE_TOP below the peak, until the stretch is short enough to judge.
        longest = round((MAX_SECONDS - PREROLL - TAIL) / FRAME)
        loudest = int(level.argmax())
        depth = min(CORE_DB, (peak - background) / 2)
        while True:
            first, last = _stretch(level >= peak - depth, loudest)
            if last - first + 1 <= longest or depth <= CORE_TOP:
                break
            depth = max(CORE_TOP, depth - 1.0)
    size = round(FRAME * RATE)
    start = max(0, first * size - round(PREROLL * RATE))
    end = min(len(pcm) // 2, (last + 1) * size + round(TAIL * RATE))
    return pcm[2 * start : 2 * end]


def _stretch(above: np.ndarray, middle: int) -> tuple[int, int]:
    """The first and last frame of the run of `above` frames round `middle`, across gaps of CORE_GAP."""
    import numpy as np

    gap = round(CORE_GAP / FRAME)
    first = last = middle
    while (ahead := np.flatnonzero(above[last + 1 : last + 2 + gap])).size:
        last += 1 + int(ahead[0])
    while (behind := np.flatnonzero(above[max(0, first - 1 - gap) : first])).size:
        first = max(0, first - 1 - gap) + int(behind[-1])
    return first, last


def pitched_frames(pcm: bytes) -> int:
    """How many FRAME-long frames of 16-bit PCM repeat themselves at some pitch in PITCH_RANGE."""
    import numpy as np

    size = round(FRAME * RATE)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    count = len(samples) // size
    if count == 0:
        return 0
    frames = samples[: count * size].reshape(count, size)
    frames -= frames.mean(axis=1, keepdims=True)
    lags = np.arange(RATE // PITCH_RANGE[1], RATE // PITCH_RANGE[0])
    spectrum = np.fft.rfft(frames, 2 * size, axis=1)
    products = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, lags]
    energy = np.cumsum(frames**2, axis=1)
    head = energy[:, size - 1 - lags]  # the first size - lag samples
    tail = energy[:, -1:] - energy[:, lags - 1]  # the last size - lag samples
    periodicity = products / (np.sqrt(head * tail) + 1e-9)
    return int(np.sum(periodicity.max(axis=1) >= MIN_PERIODICITY))


class Endpointer:
    """Cuts utterances out of 30 ms frames that WebRTC's voice-activity detector judges.

    It starts quickly, so a word shorter than the end window still makes an utterance (pocketsphinx's
    own Endpointer needs a whole window voiced to start, and missed a short "back" or "skip"), and ends
    only after most of ENDPOINT_WINDOW was quiet. Times are seconds from this endpointer's first frame."""

    def __init__(self, window: float = ENDPOINT_WINDOW) -> None:
        vad = _model()[0].Vad(3, RATE, FRAME)  # the most aggressive mode: the others take steady noise for speech
        self._vad = vad
        self.frame_bytes: int = vad.frame_bytes
        self._frame: float = vad.frame_length
        self._start_frames = round(START_WINDOW / self._frame)
        self._start_voiced = round(START_RATIO * self._start_frames)
        self._end_frames = round(window / self._frame)
        self._end_quiet = round(ENDPOINT_RATIO * self._end_frames)
        self._tail = round(TAIL / self._frame)
        self._limit = round(2 * MAX_SECONDS / self._frame)  # frames kept: a longer utterance is never a command
        self._before: collections.deque[bytes] = collections.deque(maxlen=round(PREROLL / self._frame)
                                                                   + self._start_frames)
        self._recent: collections.deque[bool] = collections.deque(maxlen=max(self._start_frames, self._end_frames))
        self._frames: list[bytes] = []
        self._count = 0  # frames of the utterance, kept or not
        self._first_voiced = 0  # frames before the first voiced one
        self._last_voiced = 0  # frames up to the last voiced one
        self.clock = 0.0
        self.in_speech = False
        self.start = 0.0
        self.end = 0.0
        self.voiced = 0.0  # seconds from the first voiced frame to the last
        self.cut_short = False  # the utterance outran the frames kept, and only its start was returned

    def process(self, frame: bytes) -> bytes | None:
        """The whole utterance when this frame ends one, else None."""
        voiced = bool(self._vad.is_speech(frame))
        self.clock += self._frame
        self._recent.append(voiced)
        if not self.in_speech:
            self._before.append(frame)
            if sum(list(self._recent)[-self._start_frames :]) >= self._start_voiced:
                self.in_speech = True
                self._frames = list(self._before)
                self._before.clear()
                self._count = self._last_voiced = len(self._frames)
                window = list(self._recent)[-self._start_frames :]
                self._first_voiced = max(0, self._count - len(window) + window.index(True))
                self.start = self.clock - self._count * self._frame
            return None
        self._count += 1
        if len(self._frames) < self._limit:
            self._frames.append(frame)
        if voiced:
            self._last_voiced = self._count
        quiet = list(self._recent)[-self._end_frames :].count(False)
        if len(self._recent) >= self._end_frames and quiet >= self._end_quiet:
            return self._utterance()
        return None

    def end_stream(self) -> bytes | None:
        """What was being said when the stream ended, if anything."""
        return self._utterance() if self.in_speech else None

    @property
    def quiet_frames(self) -> int:
        """Frames since the utterance's last voiced one (0 outside an utterance)."""
        return self._count - self._last_voiced if self.in_speech else 0

    def so_far(self) -> tuple[bytes, float] | None:
        """What the utterance would be, and its voiced seconds, if it ended now; None when it has
        outrun the frames kept."""
        kept = min(self._count, self._last_voiced + self._tail)
        if kept > len(self._frames):
            return None
        return b"".join(self._frames[:kept]), (self._last_voiced - self._first_voiced) * self._frame

    def _utterance(self) -> bytes:
        self.in_speech = False
        self._recent.clear()
        kept = min(self._count, self._last_voiced + self._tail)
        self.end = self.start + kept * self._frame
        self.voiced = (self._last_voiced - self._first_voiced) * self._frame
        self.cut_short = kept > len(self._frames)
        return b"".join(self._frames[:kept])


class Decider(Protocol):
    """What a Listener hands its utterances to: a Recognizer, a RecognizerProcess, or coach.enrol's Enrolment.
    decide() may be asked about an utterance that then goes on (see Listener's `ahead`)."""

    @property
    def command_of(self) -> Mapping[str, str]: ...

    def decide(self, pcm: bytes, background: float | None = None) -> Verdict: ...

    def check(self) -> None: ...

    def close(self) -> None: ...


class Listener:
    """Cuts a stream into utterances with a voice-activity endpointer and decides each one.

    Feed it 16-bit mono PCM at RATE in any sizes. `deafen()` drops what is in progress: the caller
    uses it while the coach itself is sounding, so its own voice is never an utterance."""

    def __init__(self, recognizer: Decider, window: float = ENDPOINT_WINDOW,
                 suppression: int = NOISE_SUPPRESSION, answers: bool = False, ahead: bool = True) -> None:
        """`answers`: every utterance answers a prompt (coach.enrol), and is decided however long or
        short it is and however soon it follows another: the decider judges it. `ahead`: an utterance
        may be decided AHEAD seconds into the quiet after it, before it has ended (never with
        `answers`); a decider that keeps what it is given must be run without."""
        self.recognizer = recognizer
        self._answers = answers
        self._ahead_frames = max(1, round(AHEAD / FRAME)) if ahead and not answers else 0
        self._ahead: tuple[bytes, Verdict] | None = None  # an utterance decided before it ended
        self._window = window
        self._endpointer = Endpointer(window)
        self._base = 0.0  # stream seconds where this endpointer's clock starts
        self._frame_bytes = self._endpointer.frame_bytes
        self._cleaner = Cleaner(suppression) if suppression else None
        self._pending = b""
        self.position = 0.0  # stream seconds fed so far
        self._last_end = -MIN_GAP  # where the previous utterance ended
        self._sounded: list[tuple[float, float]] = []  # stream seconds fed as over the coach's sound
        self._last_frames: collections.deque[bytes] = collections.deque(maxlen=round(BACKGROUND_SECONDS / FRAME))
        # The last verdicts, for the debug log and tests, and a tally of all: a session runs for hours.
        self.verdicts: collections.deque[Verdict] = collections.deque(maxlen=KEPT_VERDICTS)
        self.decided = 0  # verdicts ever given
        self.reasons: collections.Counter[str] = collections.Counter()

    def reset(self) -> None:
        """A new stream: its time starts at 0, and nothing came before it."""
        self.position = 0.0
        self._last_end = -MIN_GAP
        self._sounded = []
        self._last_frames.clear()
        self.deafen()

    def deafen(self, seconds: float = 0.0) -> None:
        """Forget the utterance in progress; `seconds` of stream pass unheard."""
        self._pending = b""
        self.position += seconds
        self._restart()

    def _restart(self) -> None:
        self._endpointer = Endpointer(self._window)
        self._ahead = None
        self._base = self.position

    def feed(self, pcm: bytes, over_sound: bool = False) -> list[Heard]:
        """`over_sound`: this was heard while the coach itself sounded (with its echo taken out)."""
        if over_sound:
            start, end = self.position, self.position + len(pcm) / 2 / RATE
            if self._sounded and start - self._sounded[-1][1] < 1e-6:
                start = self._sounded.pop()[0]
            self._sounded = [span for span in self._sounded if span[1] > end - 10.0] + [(start, end)]
        heard: list[Heard] = []
        if self._cleaner is not None:
            pcm = self._cleaner.clean(pcm)
        data = self._pending + pcm
        size = self._frame_bytes
        whole = len(data) - len(data) % size
        self._pending = data[whole:]
        for offset in range(0, whole, size):
            self.position += size / 2 / RATE
            frame = data[offset : offset + size]
            self._last_frames.append(frame)
            utterance = self._endpointer.process(frame)
            if utterance is not None:
                heard.extend(self._finish(utterance))
            elif self._ahead_frames and self._endpointer.quiet_frames == self._ahead_frames:
                self._decide_ahead()
        return heard

    def _decide_ahead(self) -> None:
        """Decides the utterance so far, as _finish would, when it could be a command."""
        found = self._endpointer.so_far()
        if found is None:
            return
        pcm, voiced = found
        if len(pcm) / 2 / RATE > MAX_SECONDS or self._refusal(pcm, voiced, self._base + self._endpointer.start):
            return  # _finish will not ask, or (over MAX_SECONDS) the room's level then may change the answer
        self._ahead = (pcm, self.recognizer.decide(pcm, self.background()))

    def _refusal(self, pcm: bytes, voiced: float, start: float) -> str | None:
        """Why an utterance is no command whatever it says, or None."""
        if self._answers:
            return None
        if voiced < MIN_VOICED or pitched_frames(pcm) < MIN_PITCHED:
            # A knock, a rustle, a burst of hiss: no command, nor a sentence a command could end.
            return "no voice in it"
        if start - self._last_end < MIN_GAP:
            return "follows other speech"
        return None

    def flush(self) -> list[Heard]:
        """The end of the stream: decide what was still being said."""
        if self._cleaner is not None:
            self._pending += self._cleaner.flush()
        # A last part-frame is too short to judge; it only counts in the stream's length.
        self.position += len(self._pending) / 2 / RATE
        self._pending = b""
        utterance = self._endpointer.end_stream()
        heard = self._finish(utterance) if utterance is not None else []
        self._restart()
        return heard

    def background(self) -> float | None:
        """How loud the room is: the 10th percentile of the last BACKGROUND_SECONDS' frame levels
        (quiet between words and sentences, or the dips of noise and talk that never stop)."""
        import numpy as np

        if len(self._last_frames) < round(1.0 / FRAME):  # under a second heard: not known
            return None
        return float(np.percentile(frame_levels(b"".join(self._last_frames)), 10))

    def _finish(self, pcm: bytes) -> list[Heard]:
        start = self._base + self._endpointer.start
        end = self._base + self._endpointer.end
        refusal = self._refusal(pcm, self._endpointer.voiced, start)
        if refusal == "no voice in it":
            self._record(Verdict(None, None, end - start, 0.0, 0.0, refusal))
            return []
        over_sound = any(a < end and start < b for a, b in self._sounded)
        if not over_sound:  # what is left of the coach's own voice is no sentence for a command to end
            self._last_end = end
        if refusal is not None:
            verdict = Verdict(None, None, end - start, 0.0, 0.0, refusal)
        elif self._endpointer.cut_short and not self._answers:  # far too long for a command, even its loud core
            verdict = Verdict(None, None, end - start, 0.0, 0.0, "too long")
        elif self._ahead is not None and self._ahead[0] == pcm:
            verdict = self._ahead[1]
        else:
            verdict = self.recognizer.decide(pcm, self.background())
        self._ahead = None
        if over_sound and verdict.command is not None and 0.0 < verdict.confidence < MIN_OVER_SOUND:
            # (0.0 is no probability at all: the phone loop judged, without the classifier)
            verdict = replace(verdict, command=None, reason="unsure over the coach")
        self._record(verdict)
        if verdict.command is None or verdict.word is None:
            return []
        return [Heard(verdict.command, verdict.word, start, end, over_sound)]


    def _record(self, verdict: Verdict) -> None:
        self.verdicts.append(verdict)
        self.decided += 1
        self.reasons[verdict.reason] += 1

    def since(self, decided: int) -> list[Verdict]:
        """The verdicts given after the `decided`-th (those still kept)."""
        count = min(self.decided - decided, len(self.verdicts))
        return list(self.verdicts)[len(self.verdicts) - count:] if count > 0 else []


class Cleaner:
    """WebRTC noise suppression over a 16 kHz stream, in its 10 ms frames: steady noise (a fan, traffic,
    hiss) is taken out before the endpointer and the decoder hear it. The recognizer's own noise
    removal starts afresh with each utterance and has too little of it to learn from."""

    FRAME = RATE // 100 * 2  # bytes in 10 ms

    def __init__(self, level: int) -> None:
        try:
            from webrtc_noise_gain import AudioProcessor
        except ImportError as error:
            raise NotInstalled(f"the noise suppressor is not installed ({error})") from None
        self._processor = AudioProcessor(0, level)
        self._pending = b""

    def clean(self, pcm: bytes) -> bytes:
        data = self._pending + pcm
        whole = len(data) - len(data) % self.FRAME
        self._pending = data[whole:]
        return b"".join(self._processor.Process10ms(data[i : i + self.FRAME]).audio
                        for i in range(0, whole, self.FRAME))

    def flush(self) -> bytes:
        """What is left of the stream, less than 10 ms, as it came."""
        rest, self._pending = self._pending, b""
        return rest


def to_pcm16k(raw: bytes, rate: int, channels: int) -> bytes:
    """16-bit PCM of any rate and channel count as mono at RATE."""
    import numpy as np

    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32)
    if channels > 1:
        samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels).mean(axis=1)
    if rate != RATE:
        import soxr  # a real anti-aliasing resampler: aliased hiss confuses the recognizer

        samples = soxr.resample(samples, rate, RATE)
    return bytes(np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes())


def read_wav(path: Path) -> bytes:
    """A 16-bit PCM WAV as mono PCM at RATE; VoiceError says what is wrong with any other file."""
    try:
        with wave.open(str(path), "rb") as handle:
            if handle.getsampwidth() != 2:
                raise VoiceError(f"{path}: {8 * handle.getsampwidth()}-bit samples; expected 16-bit PCM")
            rate, channels = handle.getframerate(), handle.getnchannels()
            raw = handle.readframes(handle.getnframes())
    except FileNotFoundError:
        raise VoiceError(f"{path}: no such file") from None
    except (wave.Error, EOFError) as error:
        raise VoiceError(f"{path}: not a 16-bit PCM WAV file ({error})") from None
    except OSError as error:
        raise VoiceError(f"{path}: {error.strerror or error}") from None
    return to_pcm16k(raw, rate, channels)


def listen_file(listener: Listener, path: Path, chunk: float = 0.1) -> list[Heard]:
    """Every command in a file, fed as a live stream would be."""
    pcm = read_wav(path)
    listener.reset()
    heard: list[Heard] = []
    step = int(chunk * RATE) * 2
    for offset in range(0, len(pcm), step):
        heard.extend(listener.feed(pcm[offset : offset + step]))
    heard.extend(listener.flush())
    return heard
