"""Trains the command classifier (coach/classifier.py) and writes coach/data/commands.npz.

    .venv/bin/python scripts/train_commands.py [--per-word 120] [--not-commands 12] [--common-words 1000]
        [--phrases 400] [--commas 40] [--seeds 1 2] [--cache DIR] [--out FILE]

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
first part may be the command word alone.

scikit-learn fits a logistic regression on the standardised embeddings; the app needs only numpy.
The shipped weights were made before words were cut out of talk that never stops, before the
neural voices, the common words and the comma texts: retrained with all of them they hear more
commands in neural voices, make fewer false accepts and obey no comma sentence, but hear a "stop"
over the coach half as often (README, Benchmarks).
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
    judged_part,
)

COMMAND_WORDS = tuple(w for ws in DEFAULT_WORDS.values() for w in ws)

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
SNRS = (30.0, 20.0, 10.0, 5.0)
SPEEDS = (1.0, 0.9, 1.1)
C = 0.01  # inverse regularisation: chosen on held-out tune voices (grouped by voice), not on the test half


def jobs(per_word: int, not_commands: int, common: int = 0, phrases: int = 0,
         commas: int = 0) -> list[tuple[str, str]]:
    out = [(w, c) for c, ws in DEFAULT_WORDS.items() for w in ws for _ in range(per_word)]
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
        return Verdict("next", "next", len(judged) / 2 / RATE, 0.0, 0.0, "kept")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-word", type=int, default=120, help="clips of each command word")
    parser.add_argument("--not-commands", type=int, default=12, help="clips of each non-command")
    parser.add_argument("--common-words", type=int, default=COMMON_WORDS,
                        help="commonest English words read for \"not a command\", with the near-misses (0: neither)")
    parser.add_argument("--phrases", type=int, default=PHRASES, help="runs of 2-4 common words read likewise")
    parser.add_argument("--commas", type=int, default=COMMAS,
                        help="texts a command word begins, then a comma: TAILS, then runs of common words (0: none)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="one set of clips per seed")
    parser.add_argument("--cache", type=Path, help="keep the embeddings here, to train again without synthesis")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    todo = jobs(args.per_word, args.not_commands, args.common_words, args.phrases, args.commas)
    sets = [examples(todo, seed, args.cache) for seed in args.seeds]
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
    cached = cache / f"embeddings-{key}.npz" if cache else None
    if cached and cached.exists():
        with np.load(cached) as saved:
            print(f"{len(saved['y'])} examples from {cached}")
            return Examples(*(saved[f.name] for f in fields(Examples)))
    found = synthesise(todo, seed)
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cached, **{f.name: getattr(found, f.name) for f in fields(Examples)})
    return found


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
        draw = pick.random()
        voice = pick.choice(neural if neural and draw < 0.25 else other if other and draw < 0.55 else espeak)
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
