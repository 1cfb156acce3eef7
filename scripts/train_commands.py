"""Trains the command classifier (coach/classifier.py) and writes coach/data/commands.npz.

    .venv/bin/python scripts/train_commands.py [--per-word 120] [--not-commands 12] [--seeds 1 2 3] [--cache DIR]

Only the "tune" half of scripts/make_corpus.py's voices is used (espeak-ng's, and flite's awb and
festival's ked), so scripts/bench_commands.py, which uses the "test" half, measures it on voices it
never heard. Each clip: a random tune voice, rate 110-230 wpm, pitch 15-85, white, pink, brown or
babble noise at 30, 20, 10 or 5 dB, and the labelled speech cut out with 0.05-0.25 s either side, as
the endpointer cuts it. Each clip is also heard 10% slower and 10% faster (speed perturbation: lower
and higher voices than the synthesisers make). The classes are the six commands and "none": the
non-commands of make_corpus.py, short everyday words below, and noise alone.

scikit-learn fits a logistic regression on the standardised embeddings; the app needs only numpy.
Prints what it trained on and its accuracy on its own data; the real figures are bench_commands.py's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402

from coach.classifier import NONE, WEIGHTS, Embedder  # noqa: E402
from coach.voice import DEFAULT_WORDS, RATE  # noqa: E402

# Short words and phrases that are not commands, near-misses of the command words among them. None
# is a text of the built-in routines or of make_corpus.NOT_COMMANDS: the benchmark's stream of
# non-commands is made of those.
EVERYDAY = [
    "hello", "thanks", "sorry", "what", "why", "maybe", "later", "water", "coffee", "phone", "door",
    "window", "music", "louder", "quieter", "hurts", "sore", "tired", "sleep", "morning", "evening",
    "kitchen", "okay then", "hold on", "not now", "go on", "come here", "look", "listen", "seven",
    "twelve", "hundred", "blue", "green", "paper", "table", "chair", "pillow", "blanket", "knock",
    "sister", "doctor", "really", "never", "always", "cough", "sneeze", "ahh", "mm hmm", "oh no",
    "stuck", "step", "pack", "paws", "quick", "ripe", "news", "continent", "prevent", "repeal",
]
SNRS = (30.0, 20.0, 10.0, 5.0)
SPEEDS = (1.0, 0.9, 1.1)
C = 0.01  # inverse regularisation: chosen on held-out tune voices (grouped by voice), not on the test half


def jobs(per_word: int, not_commands: int) -> list[tuple[str, str]]:
    out = [(w, c) for c, ws in DEFAULT_WORDS.items() for w in ws for _ in range(per_word)]
    out += [(t, NONE) for t in make_corpus.NOT_COMMANDS + EVERYDAY for _ in range(not_commands)]
    return out


def clip(text: str, voice: str, pick: random.Random, rng: np.random.Generator,
         babble: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(the speech cut out as the endpointer would, a stretch of the same noise alone)."""
    speech = make_corpus.speak(text, voice, pick.randint(110, 230), pick.randint(15, 85))
    lead = int(pick.uniform(0.4, 0.8) * RATE)
    padded = np.concatenate([np.zeros(lead), speech, np.zeros(int(0.4 * RATE))])
    mixed = make_corpus.mix(padded, pick.choice(make_corpus.NOISES), pick.choice(SNRS), rng, babble)
    loud = np.flatnonzero(np.abs(padded) > 0.02 * np.max(np.abs(padded)))
    start = max(0, loud[0] - int(pick.uniform(0.05, 0.25) * RATE))
    end = loud[-1] + int(pick.uniform(0.05, 0.25) * RATE)
    return mixed[start:end].astype(np.float32), mixed[: max(1, loud[0] - int(0.05 * RATE))].astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-word", type=int, default=120, help="clips of each command word")
    parser.add_argument("--not-commands", type=int, default=12, help="clips of each non-command")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="one set of clips per seed")
    parser.add_argument("--cache", type=Path, help="keep the embeddings here, to train again without synthesis")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    todo = jobs(args.per_word, args.not_commands)
    sets = [examples(todo, seed, args.cache) for seed in args.seeds]
    x = np.concatenate([s[0] for s in sets])
    y = np.concatenate([s[1] for s in sets])
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=C, max_iter=5000).fit(scaler.transform(x), y)
    right = float(np.mean(model.predict(scaler.transform(x)) == y))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, mean=scaler.mean_.astype(np.float32), scale=scaler.scale_.astype(np.float32),
             coef=model.coef_.astype(np.float32), intercept=model.intercept_.astype(np.float32),
             classes=np.array(model.classes_))
    counts = {str(c): int(np.sum(y == c)) for c in model.classes_}
    print(f"trained on {len(y)} examples {counts}; {100 * right:.1f}% right on them; wrote {args.out}")


def examples(todo: list[tuple[str, str]], seed: int, cache: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """The embeddings and labels of one seed's clips, from the cache when it has them."""
    key = hashlib.sha256(json.dumps([todo, seed, SPEEDS, SNRS]).encode()).hexdigest()[:12]
    cached = cache / f"embeddings-{key}.npz" if cache else None
    if cached and cached.exists():
        with np.load(cached) as saved:
            print(f"{len(saved['y'])} examples from {cached}")
            return saved["x"], saved["y"]
    x, y = synthesise(todo, seed)
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cached, x=x, y=y)
    return x, y


def synthesise(todo: list[tuple[str, str]], seed: int) -> tuple[np.ndarray, np.ndarray]:
    pick = random.Random(seed)
    rng = np.random.default_rng(seed)
    # 40% of the clips in flite's and festival's tune voices: only two speakers, but closer to people.
    espeak, other = make_corpus.voices("tune", "espeak"), make_corpus.voices("tune", "other")
    if not other:
        print("train_commands: flite's and festival's voices are not installed (scripts/setup installs them):"
              " training on espeak-ng's alone")
    babble = [make_corpus.speak(t, pick.choice(espeak), 170, 50) for t in make_corpus.NOT_COMMANDS[24:]]
    embedder = Embedder()
    x: list[np.ndarray] = []
    y: list[str] = []
    began = time.monotonic()
    for n, (text, label) in enumerate(todo):
        voice = pick.choice(other if other and pick.random() < 0.4 else espeak)
        speech, quiet = clip(text, voice, pick, rng, babble)
        for speed in SPEEDS:
            heard = speech if speed == 1.0 else soxr.resample(speech, RATE, RATE / speed).astype(np.float32)
            x.append(embedder.features(heard))
            y.append(label)
        if n % 4 == 0 and len(quiet) > 0.2 * RATE:
            x.append(embedder.features(quiet[: int(pick.uniform(0.2, 1.0) * RATE)]))
            y.append(NONE)
        if n % 200 == 0:
            print(f"{n}/{len(todo)} clips, {time.monotonic() - began:.0f} s", flush=True)
    return np.array(x, dtype=np.float32), np.array(y)


if __name__ == "__main__":
    main()
