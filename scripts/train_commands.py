"""Trains the command classifier (coach/classifier.py) and writes coach/data/commands.npz.

    .venv/bin/python scripts/train_commands.py [--per-word 120] [--not-commands 12] [--common-words 1000]
        [--phrases 400] [--commas 40] [--over-coach 120] [--coach-alone 240] [--seeds 1 2] [--cache DIR]
        [--out FILE]

Only the "tune" half of scripts/make_corpus.py's voices is used (espeak-ng's, flite's awb, festival's
ked and three of Kokoro's neural voices), so scripts/bench_commands.py, which uses the "test" half,
measures it on voices it never heard. Each clip: a random tune voice (espeak-ng's 45%, flite's and
festival's 30%, Kokoro's 25%), rate 110-230 wpm, pitch 15-85, also 10% slower and 10%
faster (speed perturbation: lower and higher voices than the synthesisers make), after 1-1.6 s of
white, pink, brown or babble noise at 30, 20, 10 or 5 dB, fed to a Listener. What the classifier
learns from is what decide() is handed in the app: each utterance the noise suppressor and the
endpointer make of the clip, a long one on its loud core, and nothing the Listener rejects before.
The classes are the six commands and "none": the non-commands of make_corpus.py, short everyday
words below, the commonest English words, the words one sound from a command word and short runs of
common words (COMMON_WORDS, PHRASES), each command word with a comma and more words after it
(TAILS, COMMAS), utterances of noise alone, and noise alone as the suppressor leaves it. A
non-command holding a command word that the Listener cuts in two at a pause is left out, as its
first part may be the command word alone. Then, with --over-coach, command words said over the coach's
own voice in simulated rooms, as the echo canceller and the Listener leave them, and what they leave of
the coach's voice as "none" (COACH_VOICES, COACH_LIKE: none of bench_bargein's voices or sentences),
and with --coach-alone, what they leave of the coach with nothing said over it, as "none".

scikit-learn fits a logistic regression on the standardised embeddings; the app needs only numpy.
The shipped weights were made before words were cut out of talk that never stops, before the
neural voices, the common words, the comma texts and the coach's voice: retrained with the comma
texts they hear more commands in neural voices, make fewer false accepts and obey no comma sentence,
but hear a "stop" over the coach half as often; with the coach's voice too (these defaults) they hear
15% more "stop"s over it than the shipped weights, obey no comma sentence and make no more false
stops, but get 4 commands in 1,296 fewer right and make 2 false accepts more in 4 h 40 min, so the
rule set before measuring kept the shipped weights (README, Benchmarks).
Prints what it trained on and its accuracy on its own data; the real figures are bench_commands.py's.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402

from coach.classifier import NONE, WEIGHTS, Embedder  # noqa: E402
from coach.voice import (  # noqa: E402
    DEFAULT_WORDS,
    MAX_SECONDS,
    MIN_SECONDS,
    NOISE_SUPPRESSION,
    RATE,
    Cleaner,
    Listener,
    Verdict,
    command_words,
    judged_part,
)

COMMAND_WORDS = tuple(w for w, _ in command_words())

# Short words and phrases that are not commands, near-misses of the command words among them. None
# is a text of the built-in routines or of make_corpus.NOT_COMMANDS: the benchmark's stream of
# non-commands is made of those.
EVERYDAY = [
    "hello", "thanks", "sorry", "what", "why", "maybe", "later", "water", "coffee", "phone", "door",
    "window", "music", "louder", "quieter", "hurts", "sore", "tired", "sleep", "morning", "evening",
    "kitchen", "okay then", "hold on", "not now", "go on", "come here", "look", "listen", "seven",
    "twelve", "hundred", "blue", "green", "paper", "table", "chair", "pillow", "blanket", "knock",
    "sister", "doctor", "really", "never", "always", "cough", "sneeze", "ahh", "mm hmm", "oh no",
    "stuck", "step", "pack", "pours", "quick", "ripe", "news", "continent", "prevent", "repeal",
]
# Everyday speech is mostly words the lists above never name: the commonest English words (wordfreq's
# list, from subtitles, books and the web), the dictionary's words one sound away from a command word
# ("neck", "pose", "top"), and short runs of common words, each read once a seed for "not a command".
COMMON_WORDS = 1000
PHRASES = 400
# A command word, a comma's pause, and more ("wait, hang on"): no command, as a whole. The obeyed
# case was a short pause shorter than the endpoint window, where only the classifier can tell.
# The tails are none of test_voice's comma sentences; a seed reads each text once.
TAILS = [
    "hang on", "just a moment", "give me a second", "I'm not ready", "my leg is cramping", "hold that one",
    "one more time", "that hurts", "let me breathe", "too fast", "slower please", "I can't", "the phone is ringing",
    "someone's at the door", "is that right", "like this", "okay", "please", "I think", "not that one",
    "my hip is sore", "is it done", "what was that", "where are we", "just breathe",
]
COMMAS = len(TAILS) + 15  # texts a command word: the tails, then runs of common words
# The coach's own voice as the echo canceller leaves it, with a person saying a command word over it
# (bench_bargein's rooms, drawn afresh): over the coach the classifier must tell a command word from
# what is left of the coach's sentences. The coach voices and sentences are none of bench_bargein's,
# whose figures decide whether weights ship; the sentences are none of the built-in routines' texts
# (test_corpus checks), and some hold a command word inside them, as the coach's own may.
COACH_VOICES = ["en-gb-scotland", "en-us+m2", "en-gb+f2", "en-029"]
COACH_LIKE = [
    "Let your heels rest heavy on the floor.", "Feel the breath arrive low in your belly.",
    "Let the air leave you slowly, like a long sigh.", "Nothing to do now but lie here and breathe.",
    "Picture the tight spot as a tangle of string, loosening one loop at a time.",
    "Bring your right knee slowly toward your chest, as far as it goes without pain.",
    "Rest both hands on your shin and let the knee be held.", "Now lower the leg and let it lengthen.",
    "Roll both knees gently to the left, keeping your shoulders on the floor.",
    "Come back through the middle and let the knees fall the other way.",
    "Find the sore spot with two fingertips and press only as firmly as is comfortable.",
    "Keep the pressure steady while you breathe out.", "Ease your fingers off and notice the warmth there.",
    "If anything is sharp or shooting, stop and rest instead.", "Wait for the next breath to come by itself.",
    "There is no need to hurry, the count will wait for you.", "Don't stop breathing while you hold the stretch.",
    "When you are ready, we will move on to the next stretch.", "Go back to a slow count of five on the way in.",
    "Once again, let the breath fill you from the bottom up.", "Pause for a moment at the top of the breath.",
    "We will continue with the other side in a little while.", "You can repeat this part as often as you like.",
    "Let the jaw soften and the tongue rest.", "Your shoulders can sink a little further toward the floor.",
    "Notice where the floor supports you: the head, the shoulder blades, the hips.",
    "Breathe in through the nose for five, two, three, four, five.", "And out through the mouth, slowly, all the way.",
    "Imagine the knot as warm wax, softening and spreading.", "Keep the movement small and easy.",
    "Some days the back is stiffer than others, and that is fine.", "Let the lower back settle into the floor.",
    "Draw the belly in a little as you breathe out.", "Rest here for three more breaths.",
    "If you would rather quit for today, that is a good choice too.", "Gently stretch your arms above your head.",
    "Let both legs lie long and loose.", "This is the last stretch of the session.",
    "Well done, take your time before you get up.", "Roll onto your side before you sit up.",
]
OVER_COACH_MINUTES = 120.0  # of the coach's speech a seed, in two-minute rooms
COACH_ALONE_MINUTES = 240.0  # and of the coach alone, no word said over it
# An utterance round a word said over the coach, longer than the word by more than this, holds some of
# the coach's voice too: left out, for "stop, then more" must not be a command.
OVER_WORD = 0.3
SNRS = (30.0, 20.0, 10.0, 5.0)
SPEEDS = (1.0, 0.9, 1.1)
C = 0.01  # inverse regularisation: chosen on held-out tune voices (grouped by voice), not on the test half


def jobs(per_word: int, not_commands: int, common: int = 0, phrases: int = 0,
         commas: int = 0) -> list[tuple[str, str]]:
    out = [(w, c) for w, c in command_words() for _ in range(per_word)]
    out += [(t, NONE) for t in make_corpus.NOT_COMMANDS + EVERYDAY for _ in range(not_commands)]
    if common:
        words = common_words(common)
        pick = random.Random(0)  # the same texts for every seed: a seed draws the voices
        out += [(w, NONE) for w in words + near_misses()[:common]]
        out += [(" ".join(pick.sample(words, min(len(words), pick.randint(2, 4)))), NONE) for _ in range(phrases)]
    out += [(text, NONE) for text in comma_texts(commas, common)]
    return out


def comma_texts(count: int, common: int) -> list[str]:
    """Each command word, a comma, then `count` tails: TAILS, then runs of 1-3 common words."""
    words = common_words(max(common, 100))
    pick = random.Random(1)
    runs = max(0, count - len(TAILS))
    tails = [[*TAILS, *(" ".join(pick.sample(words, pick.randint(1, 3))) for _ in range(runs))] for _ in COMMAND_WORDS]
    return [f"{word}, {tail}" for word, ends in zip(COMMAND_WORDS, tails, strict=True) for tail in ends[:count]]


def holds_a_command_word(text: str) -> bool:
    return any(w in COMMAND_WORDS for w in re.findall(r"[a-z]+", text.lower()))


@functools.cache
def pronunciations() -> dict[str, frozenset[tuple[str, ...]]]:
    """The recognizer's dictionary: each word's ways of being said, as phone sequences."""
    from coach.voice import _model

    found: dict[str, set[tuple[str, ...]]] = {}
    with open(Path(_model()[1]) / "cmudict-en-us.dict", encoding="utf-8") as handle:
        for line in handle:
            word, _, phones = line.strip().partition(" ")
            found.setdefault(word.split("(")[0], set()).add(tuple(phones.split()))
    return {word: frozenset(ways) for word, ways in found.items()}


def _taught_words(count: int) -> list[str]:
    """wordfreq's `count` commonest English words, less those a person may mean as a command: a
    command word, one said just as one ("weight" is "wait"), one with a command word in it ("stopped")."""
    import wordfreq

    said = pronunciations()
    spoken = _command_sounds()
    return [w for w in wordfreq.top_n_list("en", count)
            if w.isalpha() and w in said and not said[w] & spoken and not any(c in w for c in COMMAND_WORDS)]


@functools.cache
def _command_sounds() -> frozenset[tuple[str, ...]]:
    """Every way the dictionary says a command word."""
    said = pronunciations()
    return frozenset(p for w in COMMAND_WORDS for p in said[w])


def common_words(count: int) -> list[str]:
    """The `count` commonest English words that are not command words."""
    return _taught_words(4 * count)[:count]


def near_misses() -> list[str]:
    """Common words (wordfreq's first 20,000) one phone from a command word: substituted, added or left out."""
    said = pronunciations()
    return [w for w in _taught_words(20000) if any(_one_apart(p, c) for p in said[w] for c in _command_sounds())]


def _one_apart(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two phone sequences differ by exactly one substitution, insertion or deletion."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


class Keeper:
    """Stands in for the recognizer behind a Listener: keeps each utterance as decide() would judge it
    (the noise suppressor's output, cut by the endpointer, a long one on its loud core), and answers
    with a command, so the Listener says where each utterance was."""

    def __init__(self) -> None:
        self.kept: list[bytes] = []
        self.cut: list[bool] = []  # judged on its loud core, not whole

    def decide(self, pcm: bytes, background: float | None = None) -> Verdict:
        judged = judged_part(pcm, background)
        self.cut.append(len(judged) < len(pcm))
        self.kept.append(judged)
        return Verdict("stop", "stop", len(judged) / 2 / RATE, 0.0, 0.0, "kept")


def heard(text: str, voice: str, speed: float, pick: random.Random, rng: np.random.Generator,
          babble: list[np.ndarray]) -> list[tuple[np.ndarray, bool, bool]]:
    """Each utterance a Listener cuts from the text said in noise: (samples, whether it holds the speech,
    whether it was cut down to its loud core)."""
    speech = make_corpus.speak(text, voice, pick.randint(110, 230), pick.randint(15, 85))
    if speed != 1.0:
        speech = soxr.resample(speech, RATE, RATE / speed).astype(np.float32)
    lead = pick.uniform(1.0, 1.6)  # long enough for the Listener to know how loud the room is
    padded = np.concatenate([np.zeros(int(lead * RATE)), speech, np.zeros(int(0.8 * RATE))])
    mixed = make_corpus.mix(padded, pick.choice(make_corpus.NOISES), pick.choice(SNRS), rng, babble)
    keeper = Keeper()
    listener = Listener(keeper, ahead=False)  # type: ignore[arg-type]
    pcm = np.clip(np.round(mixed), -32768, 32767).astype("<i2").tobytes()
    spans = listener.feed(pcm) + listener.flush()
    end = lead + len(speech) / RATE
    return [(np.frombuffer(kept, "<i2").astype(np.float32), span.start < end and span.end > lead, cut)
            for kept, span, cut in zip(keeper.kept, spans, keeper.cut, strict=True)
            if MIN_SECONDS <= len(kept) / 2 / RATE <= MAX_SECONDS]


def quiet(pick: random.Random, rng: np.random.Generator, babble: list[np.ndarray]) -> np.ndarray:
    """Noise alone, as loud as under speech, as the noise suppressor leaves it."""
    noise = make_corpus.noise(pick.choice(make_corpus.NOISES), 2 * RATE, rng, babble)
    noise *= 10 ** (pick.uniform(35, 70) / 20) / max(1e-9, float(np.sqrt(np.mean(noise**2))))
    pcm = np.clip(np.round(noise), -32768, 32767).astype("<i2").tobytes()
    cleaned = np.frombuffer(Cleaner(NOISE_SUPPRESSION).clean(pcm), "<i2").astype(np.float32)
    return cleaned[-int(pick.uniform(0.2, 1.0) * RATE) :]


def over_coach(minutes: float, seed: int, cache: Path | None, speaking: bool = True) -> Examples:
    """One seed's utterances over the coach's voice, from the cache when it has them; `speaking`:
    a person says command words over it."""
    voices = [make_corpus.voices("tune", family) for family in make_corpus.FAMILIES]
    key = hashlib.sha256(json.dumps(["over the coach" if speaking else "the coach alone", float(minutes), seed,
                                     COACH_VOICES, COACH_LIKE, SPEEDS, voices]
                                    + ([OVER_WORD] if speaking else [])).encode()).hexdigest()[:12]
    return cached(cache / f"over-coach-{key}.npz" if cache else None, lambda: _over_coach(minutes, seed, speaking))


def _over_coach(minutes: float, seed: int, speaking: bool = True) -> Examples:
    """Rooms as bench_bargein's, drawn afresh: a capture delay of 0.02-1.6 s (a fifth of the rooms with
    one that jumps by 0.1-0.4 s, a fifth through headphones), a reverberant tail, faint noise. Every
    3.5-6 s a tune voice says a command word ("stop" or "quit" half the time), from 3 dB above the
    coach's echo to 12 dB below. Each utterance the canceller and the Listener make of it: one round a
    word is that command, one clear of every word is "none" (what is left of the coach's voice)."""
    from bench_bargein import BLOCK, START, coach_stream, loud_rms, played_sound, through_room

    from coach.echo import EchoCanceller
    from coach.microphone import Hearing

    draws = (1000 if speaking else 2000) + seed  # not the draws of the clips' seed
    pick = random.Random(draws)
    rng = np.random.default_rng(draws)
    espeak, other = make_corpus.voices("tune", "espeak"), make_corpus.voices("tune", "other")
    neural = make_corpus.voices("tune", "neural")
    stops = list(DEFAULT_WORDS["stop"])
    command_of = dict(command_words())
    embedder = Embedder()
    x: list[np.ndarray] = []
    y: list[str] = []
    source: list[tuple[str, str, bool]] = []
    placed = spoken = 0
    began = time.monotonic()
    for room in range(max(1, round(minutes / 2))):
        coach, _ = coach_stream(2.0, pick.choice(COACH_VOICES), pick, COACH_LIKE)
        kind = pick.random()
        lag = pick.uniform(0.02, 1.6)
        delay: float | tuple[float, float] | None = None if kind < 0.2 else \
            (lag, lag + pick.uniform(0.1, 0.4)) if kind < 0.4 else lag
        echo = through_room(coach, 0.03 if delay is None else delay, rng)
        noise = rng.normal(0, 1, len(coach)) * np.sqrt(np.mean(echo**2)) * 10 ** (-40 / 20)
        level = loud_rms(echo)
        mic = (np.zeros(len(coach)) if delay is None else echo) + noise
        words: list[tuple[float, float, str, str]] = []
        at = 3.0
        while speaking and at + 2.0 < len(coach) / RATE:
            word = pick.choice(stops if pick.random() < 0.5 else COMMAND_WORDS)
            voice = tune_voice(pick, espeak, other, neural)
            said = make_corpus.speak(word, voice, pick.randint(110, 230), pick.randint(15, 85)).astype(np.float64)
            speed = pick.choice(SPEEDS)
            if speed != 1.0:
                said = soxr.resample(said, RATE, RATE / speed)
            sounding = np.flatnonzero(np.abs(said) > 0.01 * np.max(np.abs(said)))
            said = said[sounding[0] : sounding[-1] + 1]
            said *= level * 10 ** (-pick.uniform(-3.0, 12.0) / 20) / loud_rms(said)
            start = int(at * RATE)
            mic[start : start + len(said)] += said[: len(mic) - start]
            words.append((at, at + len(said) / RATE, word, voice))
            at += len(said) / RATE + pick.uniform(3.5, 6.0)
        played = [played_sound(coach)]
        keeper = Keeper()
        listener = Listener(keeper, ahead=False)  # type: ignore[arg-type]
        # deaf until the canceller is trusted, as the app is; no check for the coach's own voice: that
        # is what the classifier learns here
        hearing = Hearing(listener, EchoCanceller(lambda since, played=played: played), own_voice=2.0)  # type: ignore[misc]
        pcm = np.clip(np.round(mic), -32768, 32767).astype("<i2")
        spans = []
        for i in range(0, len(pcm) - BLOCK + 1, BLOCK):
            ended = START + (i + BLOCK) / RATE + rng.uniform(0, 0.005)
            spans += hearing.block(pcm[i : i + BLOCK].tobytes(), ended, True)
        spans += listener.flush()
        placed += len(words)
        for kept, span, cut in zip(keeper.kept, spans, keeper.cut, strict=True):
            if not MIN_SECONDS <= len(kept) / 2 / RATE <= MAX_SECONDS:
                continue
            near = [w for w in words if span.start < w[1] + 0.2 and span.end > w[0] - 0.2]
            if near and span.end - span.start > near[0][1] - near[0][0] + OVER_WORD:
                continue
            spoken += bool(near)
            x.append(embedder.features(np.frombuffer(kept, "<i2").astype(np.float32)))
            y.append(command_of[near[0][2]] if near else NONE)
            source.append((near[0][3] if near else "", near[0][2] if near else "", cut))
        if room % 5 == 0:
            print(f"over the coach: room {room + 1}, {time.monotonic() - began:.0f} s", flush=True)
    print(f"over the coach: {placed} command words said, {spoken} heard as an utterance,"
          f" {len(y) - spoken} of the coach's voice", flush=True)
    voices, texts, cuts = zip(*source, strict=True)
    return Examples(np.array(x, dtype=np.float32), np.array(y), np.array(voices), np.array(texts), np.array(cuts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-word", type=int, default=120, help="clips of each command word")
    parser.add_argument("--not-commands", type=int, default=12, help="clips of each non-command")
    parser.add_argument("--common-words", type=int, default=COMMON_WORDS,
                        help="commonest English words read for \"not a command\", with the near-misses (0: neither)")
    parser.add_argument("--phrases", type=int, default=PHRASES, help="runs of 2-4 common words read likewise")
    parser.add_argument("--commas", type=int, default=COMMAS,
                        help="texts a command word begins, then a comma: TAILS, then runs of common words (0: none)")
    parser.add_argument("--over-coach", type=float, default=OVER_COACH_MINUTES, metavar="MINUTES",
                        help="of the coach's voice a seed, with command words said over it (0: none)")
    parser.add_argument("--coach-alone", type=float, default=COACH_ALONE_MINUTES, metavar="MINUTES",
                        help="of the coach's voice a seed with nothing said over it, all it leaves \"none\"")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="one set of clips per seed")
    parser.add_argument("--cache", type=Path, help="keep the embeddings here, to train again without synthesis")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    todo = jobs(args.per_word, args.not_commands, args.common_words, args.phrases, args.commas)
    sets = [examples(todo, seed, args.cache) for seed in args.seeds]
    if args.over_coach:
        sets += [over_coach(args.over_coach, seed, args.cache) for seed in args.seeds]
    if args.coach_alone:
        sets += [over_coach(args.coach_alone, seed, args.cache, speaking=False) for seed in args.seeds]
    x = np.concatenate([s.x for s in sets])
    y = np.concatenate([s.y for s in sets])
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=C, max_iter=5000).fit(scaler.transform(x), y)
    right = float(np.mean(model.predict(scaler.transform(x)) == y))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, mean=scaler.mean_.astype(np.float32), scale=scaler.scale_.astype(np.float32),
             coef=model.coef_.astype(np.float32), intercept=model.intercept_.astype(np.float32),
             classes=np.array(model.classes_))
    counts = {str(c): int(np.sum(y == c)) for c in model.classes_}
    print(f"trained on {len(y)} examples {counts}; {100 * right:.1f}% right on them; wrote {args.out}")


@dataclass
class Examples:
    """Embeddings and labels, with where each came from: the voice, the text, and whether the
    utterance was judged on its loud core (for study; training reads x and y)."""

    x: np.ndarray
    y: np.ndarray
    voice: np.ndarray
    text: np.ndarray
    cut: np.ndarray


def examples(todo: list[tuple[str, str]], seed: int, cache: Path | None) -> Examples:
    """The embeddings and labels of one seed's clips, from the cache when it has them."""
    # "heard": what a Listener hands decide(), not the old cut round the labelled speech
    voices = [make_corpus.voices("tune", family) for family in make_corpus.FAMILIES]
    key = hashlib.sha256(json.dumps(["heard, unsplit", todo, seed, SPEEDS, SNRS, voices]).encode()).hexdigest()[:12]
    return cached(cache / f"embeddings-{key}.npz" if cache else None, lambda: synthesise(todo, seed))


def cached(path: Path | None, make: Callable[[], Examples]) -> Examples:
    """The examples kept at `path`, or those `make` gives, then kept there."""
    if path and path.exists():
        with np.load(path) as saved:
            print(f"{len(saved['y'])} examples from {path}")
            return Examples(*(saved[f.name] for f in fields(Examples)))
    found = make()
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **{f.name: getattr(found, f.name) for f in fields(Examples)})
    return found


def tune_voice(pick: random.Random, espeak: list[str], other: list[str], neural: list[str]) -> str:
    """A neural voice a quarter of the time, flite's or festival's 30%, else espeak-ng's (where installed)."""
    draw = pick.random()
    return pick.choice(neural if neural and draw < 0.25 else other if other and draw < 0.55 else espeak)


def synthesise(todo: list[tuple[str, str]], seed: int) -> Examples:
    pick = random.Random(seed)
    rng = np.random.default_rng(seed)
    # Nearer people than espeak: 30% of the clips in flite's and festival's tune voices (two speakers),
    # 25% in the neural tune voices (three of Kokoro's).
    espeak, other = make_corpus.voices("tune", "espeak"), make_corpus.voices("tune", "other")
    neural = make_corpus.voices("tune", "neural")
    if not other or not neural:
        print("train_commands: flite's, festival's or the neural voices are not installed (scripts/setup installs"
              " them): training on the others")
    babble = [make_corpus.speak(t, pick.choice(espeak), 170, 50) for t in make_corpus.NOT_COMMANDS[24:]]
    embedder = Embedder()
    x: list[np.ndarray] = []
    y: list[str] = []
    source: list[tuple[str, str, bool]] = []
    dropped = 0
    began = time.monotonic()
    for n, (text, label) in enumerate(todo):
        voice = tune_voice(pick, espeak, other, neural)
        for speed in SPEEDS:
            parts = heard(text, voice, speed, pick, rng, babble)
            # cut in two at a pause, a non-command's first part may be a command word alone
            split = label == NONE and sum(speaking for _, speaking, _ in parts) > 1 and holds_a_command_word(text)
            for samples, speaking, cut in parts:
                if split and speaking:
                    dropped += 1
                    continue
                x.append(embedder.features(samples))
                y.append(label if speaking else NONE)
                source.append((voice, text if speaking else "", cut))
        if n % 4 == 0:
            x.append(embedder.features(quiet(pick, rng, babble)))
            y.append(NONE)
            source.append(("", "", False))
        if n % 200 == 0:
            print(f"{n}/{len(todo)} clips, {time.monotonic() - began:.0f} s", flush=True)
    print(f"left out {dropped} parts of non-commands with a command word, cut at a pause", flush=True)
    voices, texts, cuts = zip(*source, strict=True)
    return Examples(np.array(x, dtype=np.float32), np.array(y), np.array(voices), np.array(texts), np.array(cuts))


if __name__ == "__main__":
    main()
