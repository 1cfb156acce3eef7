"""What a voice print (coach/enrol.py, `unknot enrol`) does for voices the classifier never heard.

    .venv/bin/python scripts/bench_enrol.py [--half test] [--families espeak other neural]
        [--espeak-voices 12] [--seed 1] [--limits WEIGHT:FLOOR ...]

Each voice of the half, one at a time, is a speaker with a pitch of their own. They enrol as a person
would with `unknot enrol`: each command word twice, at 140-200 words a minute over a quiet room
(30 dB SNR), each recording fed to a Listener whose recognizer is an Enrolment, as the command does.
Then the same speaker says each command word twice at each of 30, 20 and 10 dB SNR (72 clips, 110-230
words a minute, pitch within 5 of their own, white, pink, brown or babble noise), and every one of
make_corpus.NOT_COMMANDS once at one of those SNRs (46 clips). Each clip is heard by one Recognizer
without the print, and with it at each of `--limits` (coach/enrol.py's LIKENESS_WEIGHT and
LIKENESS_FLOOR unless given; a third number refuses a command less like the speaker's own recordings
of it than that). A command clip is right when exactly its command is heard; a
non-command clip is accepted when any command is heard.

`--half tune` is for choosing those limits: its Kokoro voices are the ones there that the shipped
classifier never heard. The README's figures are from the test half, on which nothing was chosen.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402

from coach import enrol  # noqa: E402
from coach.voice import RATE, Heard, Listener, Recognizer, command_words  # noqa: E402

SNRS = (30.0, 20.0, 10.0)


def clip(text: str, voice: str, rate: int, pitch: int, snr: float, kind: str, pick: random.Random,
         rng: np.random.Generator, babble: list[np.ndarray]) -> bytes:
    speech = make_corpus.speak(text, voice, rate, pitch, pick)
    padded = np.concatenate([np.zeros(int(pick.uniform(0.9, 1.3) * RATE)), speech,
                             np.zeros(int(pick.uniform(0.6, 1.0) * RATE))])
    mixed = make_corpus.mix(padded, kind, snr, rng, babble)
    return np.clip(np.round(mixed), -32768, 32767).astype("<i2").tobytes()


def hear(listener: Listener, pcm: bytes) -> list[Heard]:
    listener.reset()
    heard: list[Heard] = []
    step = int(0.1 * RATE) * 2
    for offset in range(0, len(pcm), step):
        heard += listener.feed(pcm[offset : offset + step])
    return heard + listener.flush()


def speaker(voice: str, recognizer: Recognizer, limits: list[tuple[float, float, float | None]], pick: random.Random,
            rng: np.random.Generator, babble: list[np.ndarray]) -> tuple[dict[str, Counter[str]], int, int]:
    """Outcomes by condition, and the command words heard right before the print, of how many."""
    pitch = pick.randint(20, 80)
    enrolment = enrol.Enrolment(recognizer)
    taker = Listener(enrolment, answers=True)
    tries = 0
    while (prompt := enrolment.prompt) is not None and tries < 3 * len(enrolment.prompts):
        tries += 1  # a recording too short or too long is asked for again, as the command does
        hear(taker, clip(prompt.text, voice, pick.randint(140, 200), pitch, 30.0, "pink", pick, rng, babble))
    if enrolment.prompt is not None:
        raise SystemExit(f"bench_enrol: {voice} could not enrol: {enrolment.problem}")
    voice_print = enrolment.voice_print()
    classifier = recognizer.classifier
    assert classifier is not None
    likeness: dict[str, enrol.Likeness | None] = {"without": None}
    for weight, floor, veto in limits:
        likeness[label(weight, floor, veto)] = enrol.Likeness(voice_print, classifier, weight, floor, veto)
    # One listener a condition: each one's noise suppressor then hears the same clips in the same order.
    listeners = {name: Listener(recognizer) for name in likeness}
    words = command_words()
    jobs: list[tuple[str, str | None, float]] = [(w, c, snr) for snr in SNRS for w, c in words for _ in range(2)]
    jobs += [(t, None, pick.choice(SNRS)) for t in make_corpus.NOT_COMMANDS]
    outcomes = {name: Counter[str]() for name in likeness}
    for text, command, snr in jobs:
        pcm = clip(text, voice, pick.randint(110, 230), max(0, min(99, pitch + pick.randint(-5, 5))), snr,
                   pick.choice(make_corpus.NOISES), pick, rng, babble)
        for name in likeness:
            recognizer.likeness = likeness[name]
            heard = hear(listeners[name], pcm)
            if command is None:
                outcomes[name]["accepted" if heard else "refused"] += 1
            else:
                outcomes[name]["right" if len(heard) == 1 and heard[0].command == command else "missed"] += 1
    recognizer.likeness = None
    return outcomes, enrolment.heard_right, len(enrolment.taken)


def label(weight: float, floor: float, veto: float | None) -> str:
    return f"{weight:g}:{floor:g}" + (f":{veto:g}" if veto is not None else "")


def percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--half", choices=["tune", "test"], default="test")
    parser.add_argument("--families", nargs="+", choices=make_corpus.FAMILIES, default=list(make_corpus.FAMILIES))
    parser.add_argument("--espeak-voices", type=int, default=12, help="espeak-ng's voices drawn from the half")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limits", nargs="+", metavar="WEIGHT:FLOOR[:VETO]",
                        default=[f"{enrol.LIKENESS_WEIGHT:g}:{enrol.LIKENESS_FLOOR:g}"])
    args = parser.parse_args()
    try:
        limits = [(float(parts[0]), float(parts[1]), float(parts[2]) if len(parts) > 2 else None)
                  for parts in (item.split(":") for item in args.limits)]
    except (ValueError, IndexError):
        raise SystemExit("bench_enrol: --limits takes WEIGHT:FLOOR or WEIGHT:FLOOR:VETO, such as 40:0.55") from None
    conditions = ["without"] + [label(*limit) for limit in limits]
    pick = random.Random(args.seed)
    rng = np.random.default_rng(args.seed)
    recognizer = Recognizer()
    if recognizer.classifier is None:
        raise SystemExit("bench_enrol: the command classifier is not installed")
    started = time.monotonic()
    print(f"half {args.half}, seed {args.seed}; a voice print's likeness weight:floor {', '.join(conditions[1:])}")
    for family in args.families:
        chosen = make_corpus.voices(args.half, family)
        if family == "espeak":
            chosen = pick.sample(chosen, min(args.espeak_voices, len(chosen)))
        if not chosen:
            print(f"\n{family}: no voices installed in the {args.half} half")
            continue
        babble = [make_corpus.speak(t, pick.choice(chosen), 170, 50) for t in make_corpus.NOT_COMMANDS[24:]]
        total = {name: Counter[str]() for name in conditions}
        before = taken = 0
        print(f"\n{family}: right of {12 * 2 * len(SNRS)} commands, non-commands accepted of"
              f" {len(make_corpus.NOT_COMMANDS)}  ({' / '.join(conditions)})")
        for voice in chosen:
            outcomes, right, words = speaker(voice, recognizer, limits, pick, rng, babble)
            before, taken = before + right, taken + words
            for name in conditions:
                total[name] += outcomes[name]
            print(f"  {voice:<28}" + "   ".join(f"{outcomes[n]['right']:>2} {outcomes[n]['accepted']:>2}"
                                                for n in conditions) + f"   (enrolment words heard {right}/{words})",
                  flush=True)
        for name in conditions:
            counts = total[name]
            n_commands = counts["right"] + counts["missed"]
            n_other = counts["accepted"] + counts["refused"]
            print(f"  {name:<15} right {percent(counts['right'], n_commands):5.1f}% ({counts['right']}/{n_commands})"
                  f"   non-commands accepted {percent(counts['accepted'], n_other):5.1f}%"
                  f" ({counts['accepted']}/{n_other})")
        print(f"  the enrolment's own words heard right before the print: {before}/{taken}")
    print(f"\n{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
