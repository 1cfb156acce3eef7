""""Stop" said over the coach's own voice (coach/echo.py with coach/voice.py), in simulated rooms.

    .venv/bin/python scripts/bench_bargein.py [--minutes 4] [--seed 1] [--half test] [--weights FILE]

The coach's stream is every text the built-in routines speak, in a few espeak-ng voices at 150 words
a minute. It reaches the microphone through a room: a capture delay (0.03, 0.4 or 1.5 s, or one
that jumps between 0.4 and 0.65 s every 30 s, as a sound server's buffering can when it falls behind), a
reverberant tail (RT60 0.2-0.6 s), a loudspeaker that saturates a little or not at all, and faint
noise; or not at all (headphones: the microphone hears only the faint noise). Over it, every 6-8 s,
a person says "stop" or "quit" in a voice of scripts/make_corpus.py's test half (its tune half, with
--half tune, is for choosing limits on), at the coach's level at the microphone, or 6 or 12 dB below.
Fed to the echo canceller and the listener in 30 ms blocks with jittery time stamps, as VoiceControl
does.

1. Heard: a word is heard when a "stop" comes back from 0.3 s before it to 1.5 s after it ends.
2. False stops: the same rooms with the coach alone; every "stop" is false (an hour of it is about
   700 of its sentences).
3. Latency: from the end of the word to the end of the block whose feed() returned it.
4. CPU of the canceller and the listener, as a share of one core at real time.
5. The coach's own words when the canceller fails: the coach alone, saying only the built-in
   sentences with "stop" or "quit" in them and a few with "Stop." or "Quit." said alone (a routine
   may say so), through the rooms with echo, and a canceller whose
   filter takes nothing out (as when it has lost track), and straight through with no reverberation
   (as the tests' null sink): twice --minutes each. Every "stop" is the coach obeying itself;
   they are counted with and without the check that what is left is not like the coach's sound
   (coach/echo.py, OWN_VOICE), and how alike each heard "stop" was is printed for both parts.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402
from bench_commands import coach_texts  # noqa: E402

from coach.audio import PlayedSound  # noqa: E402
from coach.echo import OWN_VOICE, EchoCanceller  # noqa: E402
from coach.microphone import Hearing  # noqa: E402
from coach.sound import SAMPLE_RATE  # noqa: E402
from coach.testing import losing_track  # noqa: E402
from coach.voice import RATE, Listener, Recognizer  # noqa: E402

START = 1000.0  # monotonic time of the coach's first sample
BLOCK = 480  # 30 ms, as the microphone delivers
COACH_VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb-x-rp+m3"]
JUMPS = (0.4, 0.65)  # a capture delay that jumps between these
JUMP_EVERY = 30.0  # seconds
DELAYS: list[float | tuple[float, float] | None] = [0.03, 0.4, 1.5, JUMPS, None]  # None: headphones
BELOW_DB = [0.0, 6.0, 12.0]  # the person's word below the coach's echo at the microphone


def coach_stream(minutes: float, voice: str, pick: random.Random, texts: list[str] | None = None
                 ) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The coach's speech, and where each of its sentences is."""
    texts = texts or coach_texts()
    pieces: list[np.ndarray] = []
    said: list[tuple[float, float, str]] = []
    length = 0
    while length < minutes * 60 * RATE:
        text = pick.choice(texts)
        speech = make_corpus.speak(text, voice, 150, 50)
        said.append((length / RATE, (length + len(speech)) / RATE, text))
        pieces += [speech, np.zeros(int(0.3 * RATE), np.float32)]
        length += len(speech) + int(0.3 * RATE)
    return np.concatenate(pieces).astype(np.float64), said


def through_room(coach: np.ndarray, delay: float | tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    rt60 = rng.uniform(0.2, 0.6)
    t = np.arange(int(0.3 * RATE)) / RATE
    response = rng.normal(0, 1, len(t)) * np.exp(-6.9 * t / rt60)
    response[0] = rng.uniform(3.0, 8.0)  # the direct sound
    response /= np.sqrt(np.sum(response**2))
    speaker = coach
    if rng.random() < 0.5:  # a small loudspeaker near its limit
        peak = np.max(np.abs(coach))
        speaker = np.tanh(coach / (0.7 * peak)) * 0.7 * peak
    heard = np.convolve(speaker, response)[: len(coach)]
    delays = delay if isinstance(delay, tuple) else (delay,)
    out = np.zeros(len(coach))
    every = round(JUMP_EVERY * RATE)
    for n, begin in enumerate(range(0, len(coach), every)):
        lag = round(delays[n % len(delays)] * RATE)
        end = min(begin + every, len(coach))
        if end > lag:
            low = max(begin, lag)
            out[low:end] = heard[low - lag : end - lag]
    return out


def name(delay: float | tuple[float, float]) -> str:
    return "/".join(f"{d:g}" for d in delay) if isinstance(delay, tuple) else f"{delay:g}"


def loud_rms(samples: np.ndarray) -> float:
    """RMS of the samples that sound (above 5% of the peak): speech's level without its pauses."""
    loud = samples[np.abs(samples) > 0.05 * np.max(np.abs(samples))]
    return float(np.sqrt(np.mean(loud**2)))


def played_sound(coach: np.ndarray) -> PlayedSound:
    """The coach's stream (at RATE, on the int16 scale) as the output remembers it: at SAMPLE_RATE, from START."""
    sound = np.interp(np.arange(0, len(coach) * SAMPLE_RATE / RATE) * RATE / SAMPLE_RATE, np.arange(len(coach)), coach)
    return PlayedSound((sound / 32768).astype(np.float32), START)


def run(coach: np.ndarray, mic: np.ndarray, recognizer: Recognizer, rng: np.random.Generator, own_voice: float,
        failing: bool = False) -> tuple[list[tuple[float, float]], float, EchoCanceller, list[float]]:
    """(stream seconds of each "stop" heard, stream position when it came back), the CPU seconds, the
    canceller, and how alike to the coach's sound each "stop" heard over it was (kept or not)."""
    played = [played_sound(coach)]
    canceller = EchoCanceller(lambda since: played)
    if failing:
        losing_track(canceller)
    hearing = Hearing(Listener(recognizer), canceller, own_voice=own_voice)
    pcm = np.clip(np.round(mic), -32768, 32767).astype("<i2")
    found: list[tuple[float, float]] = []
    cpu = 0.0
    for i in range(0, len(pcm) - BLOCK + 1, BLOCK):
        ended = START + (i + BLOCK) / RATE + rng.uniform(0.0, 0.005)
        before = time.process_time()
        heard = hearing.block(pcm[i : i + BLOCK].tobytes(), ended, True)
        cpu += time.process_time() - before
        found += [(h.start, hearing.listener.position) for h in heard]
    return found, cpu, canceller, hearing.alike


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=4.0, help="of coach speech per room")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--half", choices=["tune", "test"], default="test",
                        help="whose voices say the words: limits are chosen on tune, measured on test")
    parser.add_argument("--own-voice", type=float, default=OWN_VOICE,
                        help="likeness to the coach's sound from which a stop is its own (above 1: no check)")
    parser.add_argument("--weights", type=Path, metavar="FILE",
                        help="the classifier's weights, where not the shipped ones (train_commands.py --out)")
    args = parser.parse_args()
    began = time.perf_counter()
    pick = random.Random(args.seed)
    rng = np.random.default_rng(args.seed)
    recognizer = Recognizer(weights=args.weights)
    voices = make_corpus.voices(args.half)
    totals = {"words": 0, "heard": 0, "false": 0, "seconds": 0.0, "cpu": 0.0}
    heard_likeness: list[float] = []
    latencies: list[float] = []
    by_level: dict[float, list[int]] = {b: [0, 0] for b in BELOW_DB}
    by_delay: dict[float | tuple[float, float] | None, list[int]] = {d: [0, 0] for d in DELAYS}
    print("room                               words heard  false stops (coach alone)")
    for delay in DELAYS:
        for voice in COACH_VOICES:
            coach, said = coach_stream(args.minutes / len(COACH_VOICES), voice, pick)
            echo = through_room(coach, 0.03 if delay is None else delay, rng)
            noise = rng.normal(0, 1, len(coach)) * np.sqrt(np.mean(echo**2)) * 10 ** (-40 / 20)
            echo_level = loud_rms(echo)  # the person speaks at this level, or below, either way
            if delay is None:
                echo = np.zeros(len(coach))
            alone, cpu, _, _ = run(coach, echo + noise, recognizer, rng, args.own_voice)
            totals["false"] += len(alone)
            for start, _ in alone:
                lag = delay[0] if isinstance(delay, tuple) else delay or 0.0
                saying = [text for a, b, text in said if a - 0.5 <= start - lag <= b]
                print(f"    false stop at {start:.1f} s, the coach saying {saying}")
            # The same room with a person saying "stop" or "quit" every 6-8 s, after the first 6 s.
            mic = echo + noise
            words: list[tuple[float, float, float]] = []
            at = 6.0
            while at + 2.0 < len(coach) / RATE:
                below = pick.choice(BELOW_DB)
                word = make_corpus.speak(pick.choice(["stop", "quit"]), pick.choice(voices), pick.randint(110, 230),
                                         pick.randint(15, 85)).astype(np.float64)
                sounding = np.flatnonzero(np.abs(word) > 0.01 * np.max(np.abs(word)))
                word = word[sounding[0] : sounding[-1] + 1]  # so its end is where the word ends
                word *= echo_level * 10 ** (-below / 20) / loud_rms(word)
                start = int(at * RATE)
                mic[start : start + len(word)] += word[: len(mic) - start]
                words.append((at, at + len(word) / RATE, below))
                at += len(word) / RATE + pick.uniform(6.0, 8.0)
            found, cpu_words, canceller, alike = run(coach, mic, recognizer, rng, args.own_voice)
            heard_likeness += alike
            heard = 0
            for start, end, below in words:
                match = [(s, p) for s, p in found if start - 0.3 <= s <= end + 1.5]
                by_level[below][1] += 1
                by_delay[delay][1] += 1
                if match:
                    heard += 1
                    by_level[below][0] += 1
                    by_delay[delay][0] += 1
                    latencies.append(match[0][1] - end)
            totals["words"] += len(words)
            totals["heard"] += heard
            totals["seconds"] += 2 * len(coach) / RATE
            totals["cpu"] += cpu + cpu_words
            found_delay = ("none, no echo" if canceller.echoless else "none") if canceller.delay is None \
                else f"{canceller.delay:.3f} s"
            room = "headphones   " if delay is None else f"delay {name(delay):>4} s"
            print(f"  {room}, coach {voice:<14} {heard:>3}/{len(words):<3}  {len(alone)} in"
                  f" {len(coach) / RATE / 60:.1f} min (delay found: {found_delay})", flush=True)
    hours = totals["seconds"] / 2 / 3600
    print("\nheard by the person's level below the coach's echo: "
          + ", ".join(f"{b:g} dB {h}/{n}" for b, (h, n) in by_level.items()))
    print("heard by capture delay: " + ", ".join(("headphones" if d is None else f"{name(d)} s") + f" {h}/{n}"
                                                 for d, (h, n) in by_delay.items()))
    ms = np.array(latencies) * 1000
    print(f"\nsummary ({time.perf_counter() - began:.0f} s in all)")
    print(f"  'stop' over the coach heard        {totals['heard']}/{totals['words']}"
          f" = {100 * totals['heard'] / max(1, totals['words']):.1f}%")
    print(f"  false stops, coach alone           {totals['false']} in {hours * 60:.1f} min"
          f" = {totals['false'] / hours:.1f} an hour")
    if len(ms):
        print(f"  latency, end of word to stop       median {np.median(ms):.0f} ms, p95 {np.percentile(ms, 95):.0f} ms")
    print(f"  CPU, canceller and listener        {100 * totals['cpu'] / totals['seconds']:.1f}% of one core")
    print(f"  a person's stop, like the coach    {spread(heard_likeness)}")
    own_words(args, recognizer, pick, rng)


ALONE = ["Breathe in slowly through your nose. Stop. Quit. Now let the breath go.",
         "Hold the knee there. Stop. Let it come back down.", "Quit. Rest your arms by your sides.",
         "When it eases, stop.", "Stop. Lie still for a moment."]


def spread(values: list[float]) -> str:
    if not values:
        return "none heard"
    q = np.percentile(values, [0, 50, 90, 100])
    return f"{len(values)} heard over the coach: min {q[0]:.2f}, median {q[1]:.2f}, p90 {q[2]:.2f}, max {q[3]:.2f}"


def own_words(args: argparse.Namespace, recognizer: Recognizer, pick: random.Random, rng: np.random.Generator) -> None:
    texts = [t for t in coach_texts() if any(w in t.lower().replace(",", " ").replace(".", " ").split()
                                             for w in ("stop", "quit"))] + ALONE
    print(f"\nthe canceller taking nothing out, the coach saying {len(texts)} sentences with stop or quit in them")
    rooms = [d for d in DELAYS if d is not None]
    for kind, chosen in (("reverberant rooms", rooms), ("no reverberation (as the tests' null sink)", [None])):
        said = obeyed = 0
        likeness: list[float] = []
        seconds = 0.0
        for delay in chosen:
            for voice in COACH_VOICES:
                coach, sentences = coach_stream(2 * args.minutes / len(chosen) / len(COACH_VOICES), voice, pick, texts)
                if delay is None:  # straight through, a little early, as the null sink's monitor
                    echo = 0.5 * np.concatenate([coach[round(0.004 * RATE):], np.zeros(round(0.004 * RATE))])
                else:
                    echo = through_room(coach, delay, rng)
                noise = rng.normal(0, 1, len(coach)) * np.sqrt(np.mean(echo**2)) * 10 ** (-40 / 20)
                said += sum(t.lower().count("stop") + t.lower().count("quit") for _, _, t in sentences)
                found, _, _, alike = run(coach, echo + noise, recognizer, rng, args.own_voice, failing=True)
                obeyed += len(found)
                likeness += alike
                seconds += len(coach) / RATE
        print(f"  {kind}: {seconds / 60:.1f} min, {said} such words; stops heard over the coach {len(likeness)},"
              f" obeyed {obeyed} (OWN_VOICE {args.own_voice:g})")
        print(f"    how like the coach           {spread(likeness)}")


if __name__ == "__main__":
    main()
