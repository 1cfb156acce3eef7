""""Stop" said over the coach's own voice (coach/echo.py with coach/voice.py), in simulated rooms.

    .venv/bin/python scripts/bench_bargein.py [--minutes 4] [--seed 1] [--half test]

The coach's stream is every text the built-in routines speak, in a few espeak-ng voices at 150 words
a minute. It reaches the microphone through a room: a capture delay (0.03, 0.4 or 1.5 s), a
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
from coach.echo import EchoCanceller  # noqa: E402
from coach.microphone import WHILE_SOUNDING  # noqa: E402
from coach.sound import SAMPLE_RATE  # noqa: E402
from coach.voice import RATE, Listener, Recognizer  # noqa: E402

START = 1000.0  # monotonic time of the coach's first sample
BLOCK = 480  # 30 ms, as the microphone delivers
COACH_VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb-x-rp+m3"]
DELAYS: list[float | None] = [0.03, 0.4, 1.5, None]  # None: headphones, the microphone never hears the coach
BELOW_DB = [0.0, 6.0, 12.0]  # the person's word below the coach's echo at the microphone


def coach_stream(minutes: float, voice: str, pick: random.Random) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The coach's speech, and where each of its sentences is."""
    texts = coach_texts()
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


def through_room(coach: np.ndarray, delay: float, rng: np.random.Generator) -> np.ndarray:
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
    return np.concatenate([np.zeros(round(delay * RATE)), heard])[: len(coach)]


def loud_rms(samples: np.ndarray) -> float:
    """RMS of the samples that sound (above 5% of the peak): speech's level without its pauses."""
    loud = samples[np.abs(samples) > 0.05 * np.max(np.abs(samples))]
    return float(np.sqrt(np.mean(loud**2)))


def run(coach: np.ndarray, mic: np.ndarray, recognizer: Recognizer, rng: np.random.Generator
        ) -> tuple[list[tuple[float, float]], float, EchoCanceller]:
    """(stream seconds of each "stop" heard, stream position when it came back), and the CPU seconds."""
    sound = (np.interp(np.arange(0, len(coach) * SAMPLE_RATE / RATE) * RATE / SAMPLE_RATE,
                       np.arange(len(coach)), coach) / 32768).astype(np.float32)
    played = [PlayedSound(sound, START)]
    canceller = EchoCanceller(lambda since: played)
    listener = Listener(recognizer)
    pcm = np.clip(np.round(mic), -32768, 32767).astype("<i2")
    found: list[tuple[float, float]] = []
    cpu = 0.0
    for i in range(0, len(pcm) - BLOCK + 1, BLOCK):
        ended = START + (i + BLOCK) / RATE + rng.uniform(0.0, 0.005)
        before = time.process_time()
        data = canceller.cancel(pcm[i : i + BLOCK].tobytes(), ended, True)
        if not canceller.ready:
            listener.deafen(BLOCK / RATE)
            cpu += time.process_time() - before
            continue
        heard = listener.feed(data, over_sound=True)
        cpu += time.process_time() - before
        found += [(h.start, listener.position) for h in heard if h.command in WHILE_SOUNDING]
    return found, cpu, canceller


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=4.0, help="of coach speech per room")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--half", choices=["tune", "test"], default="test",
                        help="whose voices say the words: limits are chosen on tune, measured on test")
    args = parser.parse_args()
    began = time.perf_counter()
    pick = random.Random(args.seed)
    rng = np.random.default_rng(args.seed)
    recognizer = Recognizer()
    voices = make_corpus.voices(args.half)
    totals = {"words": 0, "heard": 0, "false": 0, "seconds": 0.0, "cpu": 0.0}
    latencies: list[float] = []
    by_level: dict[float, list[int]] = {b: [0, 0] for b in BELOW_DB}
    by_delay: dict[float | None, list[int]] = {d: [0, 0] for d in DELAYS}
    print("room                               words heard  false stops (coach alone)")
    for delay in DELAYS:
        for voice in COACH_VOICES:
            coach, said = coach_stream(args.minutes / len(COACH_VOICES), voice, pick)
            echo = through_room(coach, 0.03 if delay is None else delay, rng)
            noise = rng.normal(0, 1, len(coach)) * np.sqrt(np.mean(echo**2)) * 10 ** (-40 / 20)
            echo_level = loud_rms(echo)  # the person speaks at this level, or below, either way
            if delay is None:
                echo = np.zeros(len(coach))
            alone, cpu, _ = run(coach, echo + noise, recognizer, rng)
            totals["false"] += len(alone)
            for start, _ in alone:
                saying = [text for a, b, text in said if a - 0.5 <= start - (delay or 0.0) <= b]
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
            found, cpu_words, canceller = run(coach, mic, recognizer, rng)
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
            room = "headphones   " if delay is None else f"delay {delay:4.2f} s"
            print(f"  {room}, coach {voice:<14} {heard:>3}/{len(words):<3}  {len(alone)} in"
                  f" {len(coach) / RATE / 60:.1f} min (delay found: {found_delay})", flush=True)
    hours = totals["seconds"] / 2 / 3600
    print("\nheard by the person's level below the coach's echo: "
          + ", ".join(f"{b:g} dB {h}/{n}" for b, (h, n) in by_level.items()))
    print("heard by capture delay: " + ", ".join(("headphones" if d is None else f"{d:g} s") + f" {h}/{n}"
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


if __name__ == "__main__":
    main()
