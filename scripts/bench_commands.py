"""The offline voice-command recognizer (coach/voice.py), measured on voices it was not tuned on.

    .venv/bin/python scripts/bench_commands.py [--per-word 6] [--snr 30 20 10 5] [--stream-minutes 20]
        [--neural-stream-minutes 20] [--stream-snr 30] [--room-seconds 60] [--room-dbfs -55]
        [--seed 1] [--out DIR] [--half test] [--voice-print FILE] [--weights shipped FILE ...]
        [--carried-floor P ...]

Everything is synthesised at run time with scripts/make_corpus.py, from the "test" half of its
voices only (the decision limits in coach/voice.py were chosen on the "tune" half, and the command
classifier trained on it; `--half tune` measures there, for choosing limits). Accuracy is
measured three times: in espeak-ng's voices, in flite's and festival's, and in neural voices (piper's
joe, never trained or tuned on, and two of Kokoro's), where they are installed.

1. Accuracy: every command word said `--per-word` times at each SNR, each clip decoded with
   listen_file(). A clip is right when exactly one command is heard and it is the labelled one.
2. False accepts: one long stream of speech that is not a command (every text the built-in routines
   speak, and make_corpus.NOT_COMMANDS), each sentence in a random test voice, rate and pitch, with
   0.3-2 s gaps, under low pink noise. Fed to one Listener in 100 ms chunks; every Heard is false.
   Then a second, shorter stream of the same texts in the neural test voices, where installed.
3. Latency: each command clip fed in 20 ms chunks as if in real time (a chunk is taken when it has
   arrived and the listener is done with the ones before it: a decode that outlasts the audio delays
   what follows); from the labelled end of speech to the end of the feed() call that returns the
   right command.
4. CPU: process CPU time inside feed()/flush() over the speech stream and over a quiet room (pink
   noise alone), as a share of one core at real time.

Prints figures and a summary against the targets; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402

from coach.enrol import VoicePrint  # noqa: E402
from coach.library import BUILT_IN, load_library  # noqa: E402
from coach.plan import SilentDurations, compile_plan  # noqa: E402
from coach.voice import (  # noqa: E402
    CARRIED_FLOOR,
    COMMANDS,
    DEFAULT_WORDS,
    RATE,
    Heard,
    Listener,
    Recognizer,
    listen_file,
    read_wav,
)

TARGET_ACCURACY = 97.0  # % right at 10 dB SNR and above
TARGET_FALSE_PER_HOUR = 0.5
TARGET_LATENCY_MS = 300.0  # median
TARGET_CPU = 10.0  # % of one core
FAMILY_NAMES = {"other": "flite's and festival's voices", "neural": "neural voices"}


@dataclass
class Clip:
    file: Path
    text: str
    command: str
    snr: float
    speech_end: float
    voice: str


@dataclass
class Spoken:
    start: float
    end: float
    text: str


def percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else float("nan")


def clock(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{seconds % 60:04.1f}"


def snr_label(snr: float) -> str:
    return f"{snr:g} dB"


def start_corpus(out: Path, per_word: int, snrs: list[float], seed: int, family: str = "espeak",
                 half: str = "test") -> subprocess.Popen[str]:
    command = [sys.executable, str(ROOT / "scripts" / "make_corpus.py"), str(out), "--half", half,
               "--per-word", str(per_word), "--not-commands", "0", "--seed", str(seed),
               "--family", family, "--snr", *(f"{s:g}" for s in snrs)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_clips(out: Path) -> list[Clip]:
    labels = json.loads((out / "labels.json").read_text())
    return [Clip(Path(x["file"]), x["text"], x["command"], float(x["snr"]), float(x["speech_end"]), x["voice"])
            for x in labels if x["command"] is not None]


def coach_texts() -> list[str]:
    texts: list[str] = []
    for entry in load_library(include_user=False).valid:
        if entry.source == BUILT_IN and entry.routine is not None:
            texts.extend(compile_plan(entry.routine, SilentDurations()).texts())
    return list(dict.fromkeys(texts))


def build_stream(minutes: float, snr: float, seed: int, half: str = "test", family: str = "espeak"
                 ) -> tuple[bytes, list[Spoken], tuple[int, int]]:
    """Sentences that are not commands, end to end with short gaps, under pink noise throughout."""
    coach = coach_texts()
    pool = coach + list(make_corpus.NOT_COMMANDS)
    chosen = make_corpus.voices(half, family)
    pick = random.Random(seed)
    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = [np.zeros(RATE, dtype=np.float32)]
    spoken: list[Spoken] = []
    at = 1.0
    order: list[str] = []
    while at < minutes * 60:
        if not order:
            order = pool[:]
            pick.shuffle(order)
        text = order.pop()
        speech = make_corpus.speak(text, pick.choice(chosen), pick.randint(110, 230), pick.randint(15, 85), pick)
        gap = np.zeros(int(pick.uniform(0.3, 2.0) * RATE), dtype=np.float32)
        pieces += [speech, gap]
        spoken.append(Spoken(at, at + len(speech) / RATE, text))
        at += (len(speech) + len(gap)) / RATE
    mixed = make_corpus.mix(np.concatenate(pieces), "pink", snr, rng, [])
    pcm = np.clip(np.round(mixed), -32768, 32767).astype("<i2").tobytes()
    return pcm, spoken, (len(coach), len(make_corpus.NOT_COMMANDS))


def room_noise(seconds: float, dbfs: float, seed: int) -> bytes:
    rng = np.random.default_rng(seed + 1)
    length = int(seconds * RATE)
    hiss = make_corpus.noise("pink", length, rng, [])
    hiss *= 32768 * 10 ** (dbfs / 20) / float(np.sqrt(np.mean(hiss**2)))
    return np.clip(np.round(hiss), -32768, 32767).astype("<i2").tobytes()


def stream_through(listener: Listener, pcm: bytes, chunk: float) -> tuple[list[Heard], float]:
    """Every Heard, and the process CPU seconds spent inside feed()/flush()."""
    listener.reset()
    step = int(chunk * RATE) * 2
    heard: list[Heard] = []
    cpu = 0.0
    for offset in range(0, len(pcm), step):
        block = pcm[offset : offset + step]
        before = time.process_time()
        heard += listener.feed(block)
        cpu += time.process_time() - before
    before = time.process_time()
    last = listener.flush()
    cpu += time.process_time() - before
    return heard + last, cpu


def accuracy(recognizer: Recognizer, clips: list[Clip], snrs: list[float]) -> float:
    listener = Listener(recognizer)
    outcome: dict[tuple[str, float], Counter[str]] = {}
    by_word: dict[tuple[str, float], Counter[str]] = {}
    confusions: Counter[str] = Counter()
    by_voice: dict[str, Counter[str]] = {}
    reasons: dict[float, Counter[str]] = {s: Counter() for s in snrs}
    for clip in clips:
        seen = listener.decided
        heard = listen_file(listener, clip.file)
        if len(heard) == 1 and heard[0].command == clip.command:
            result = "right"
        elif not heard:
            result = "nothing"
            # Why: the verdicts on what the endpointer cut from this clip.
            for verdict in listener.since(seen):
                reasons[clip.snr][verdict.reason] += 1
            if listener.decided == seen:
                reasons[clip.snr]["no utterance"] += 1
        elif len(heard) == 1:
            result = "wrong"
            confusions[f"{clip.text} → {heard[0].command}"] += 1
        else:
            result = "several"
        outcome.setdefault((clip.command, clip.snr), Counter())[result] += 1
        if clip.snr >= 10:
            by_voice.setdefault(clip.voice, Counter())[result] += 1
        by_word.setdefault((clip.text, clip.snr), Counter())[result] += 1

    def cell(counts: Counter[str] | None) -> str:
        if not counts:
            return f"{'-':>9}"
        total = sum(counts.values())
        return f"{counts['right']:>3}/{total:<3}{percent(counts['right'], total):>3.0f}%"

    def merged(table: dict[tuple[str, float], Counter[str]], key: str, chosen: list[float]) -> Counter[str]:
        total: Counter[str] = Counter()
        for snr in chosen:
            total += table.get((key, snr), Counter())
        return total

    high = [s for s in snrs if s >= 10]
    print("\naccuracy: right / clips, a clip is right when exactly the labelled command is heard")
    print(f"{'command':<8} {'word':<9}" + "".join(f"{snr_label(s):>12}" for s in snrs) + f"{'≥10 dB':>12}")
    for command in COMMANDS:
        rows = [(command, "(all)", outcome)] + [("", w, by_word) for w in DEFAULT_WORDS[command]]
        for name, word, table in rows:
            key = command if word == "(all)" else word
            line = f"{name:<8} {word:<9}" + "".join(f"{cell(table.get((key, s))):>12}" for s in snrs)
            print(line + f"{cell(merged(table, key, high)):>12}")

    print("\noutcomes by SNR: right, wrong command, several heard, nothing heard")
    totals: dict[float, Counter[str]] = {}
    for snr in snrs:
        counts: Counter[str] = Counter()
        for command in COMMANDS:
            counts += outcome.get((command, snr), Counter())
        totals[snr] = counts
        n = sum(counts.values())
        print(f"  {snr_label(snr):>6}: {n} clips  right {counts['right']} ({percent(counts['right'], n):.1f}%)"
              f"  wrong {counts['wrong']}  several {counts['several']}  nothing {counts['nothing']}")
    print("why nothing was heard (verdicts on those clips' utterances):")
    for snr in snrs:
        listed = ", ".join(f"{reason} {n}" for reason, n in reasons[snr].most_common()) or "-"
        print(f"  {snr_label(snr):>6}: {listed}")
    if len(by_voice) <= 8:  # the families with few voices: is one of them the weak one?
        print("by voice, 10 dB and above: " + ", ".join(
            f"{voice} {counts['right']}/{sum(counts.values())}" for voice, counts in sorted(by_voice.items())))
    if confusions:
        print("wrong commands: " + ", ".join(f"{k} ×{n}" for k, n in confusions.most_common()))

    high_total: Counter[str] = Counter()
    for snr in high:
        high_total += totals[snr]
    n_high = sum(high_total.values())
    overall = percent(high_total["right"], n_high)
    print(f"at 10 dB and above: {high_total['right']}/{n_high} right = {overall:.1f}%")
    return overall


def false_accepts(recognizer: Recognizer, pcm: bytes, spoken: list[Spoken], counts: tuple[int, int],
                  voices: str = "a new voice") -> tuple[float, float]:
    """False accepts per hour, and CPU as % of one core."""
    seconds = len(pcm) / 2 / RATE
    listener = Listener(recognizer)
    heard, cpu = stream_through(listener, pcm, 0.1)
    hours = seconds / 3600
    per_hour = len(heard) / hours
    print(f"\nfalse accepts: a {seconds / 60:.1f}-minute stream of {len(spoken)} sentences that are not commands"
          f" (drawn from {counts[0]} coach texts and {counts[1]} make_corpus.NOT_COMMANDS, each time in {voices})")
    print(f"  {listener.decided} utterances decided: "
          + ", ".join(f"{r} {n}" for r, n in listener.reasons.most_common()))
    print(f"  {len(heard)} false accepts = {per_hour:.1f} per hour (one false accept here = {1 / hours:.1f} per hour)")
    if heard:
        print("  by word: " + ", ".join(f"{w} {n}" for w, n in Counter(h.word for h in heard).most_common()))
    for h in heard[:15]:
        print(f"  {clock(h.start)}  {h.command:<7} {h.word!r:<11} during {saying(spoken, h)}")
    if len(heard) > 15:
        print(f"  ... and {len(heard) - 15} more")
    return per_hour, percent(cpu, seconds)


def saying(spoken: list[Spoken], heard: Heard) -> str:
    """The sentence being spoken over the heard utterance, or the one before the gap it fell in."""
    best = max(spoken, key=lambda s: min(s.end, heard.end) - max(s.start, heard.start))
    if min(best.end, heard.end) > max(best.start, heard.start):
        return repr(best.text)
    before = [s for s in spoken if s.end <= heard.start]
    return "a gap" + (f", after {before[-1].text!r}" if before else "")


def latency(recognizer: Recognizer, clips: list[Clip], snrs: list[float]) -> tuple[float, float]:
    """Median and p95 ms from the end of speech to the feed() call returning the right command."""
    listener = Listener(recognizer)
    step = int(0.02 * RATE) * 2
    found: dict[float, list[float]] = {s: [] for s in snrs}
    at_flush = 0
    for clip in clips:
        pcm = read_wav(clip.file)
        listener.reset()
        done = False
        busy_until = 0.0  # stream seconds when the listener is free again, as if fed in real time
        for offset in range(0, len(pcm), step):
            arrived = (offset + step) / 2 / RATE
            before = time.perf_counter()
            heard = listener.feed(pcm[offset : offset + step])
            busy_until = max(busy_until, arrived) + time.perf_counter() - before
            if any(h.command == clip.command for h in heard):
                found[clip.snr].append(busy_until - clip.speech_end)
                done = True
                break
        if not done:
            last = listener.flush()
            at_flush += int(any(h.command == clip.command for h in last))
    every = [x for s in snrs for x in found[s]]
    print(f"\nlatency: end of speech to the command, clips fed in 20 ms chunks ({len(every)} of {len(clips)} clips"
          f" gave the right command from feed(); {at_flush} more only at flush())")
    for snr in snrs:
        if found[snr]:
            ms = np.array(found[snr]) * 1000
            print(f"  {snr_label(snr):>6}: {len(ms):>3} clips  median {np.median(ms):4.0f} ms"
                  f"  p95 {np.percentile(ms, 95):4.0f} ms  min {ms.min():4.0f}  max {ms.max():4.0f}")
    if not every:
        return float("nan"), float("nan")
    ms = np.array(every) * 1000
    print(f"     all: {len(ms):>3} clips  median {np.median(ms):4.0f} ms  p95 {np.percentile(ms, 95):4.0f} ms")
    return float(np.median(ms)), float(np.percentile(ms, 95))


def quiet_room(recognizer: Recognizer, seconds: float, dbfs: float, seed: int) -> float:
    listener = Listener(recognizer)
    heard, cpu = stream_through(listener, room_noise(seconds, dbfs, seed), 0.1)
    print(f"\nquiet room: {seconds:g} s of pink noise at {dbfs:g} dBFS: {listener.decided} utterances,"
          f" {len(heard)} heard, CPU {percent(cpu, seconds):.2f}% of one core")
    return percent(cpu, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-word", type=int, default=6, help="clips of each command word per SNR")
    parser.add_argument("--snr", type=float, nargs="+", default=[30.0, 20.0, 10.0, 5.0], help="dB")
    parser.add_argument("--stream-minutes", type=float, default=20.0, help="length of the non-command stream")
    parser.add_argument("--neural-stream-minutes", type=float, default=20.0,
                        help="length of a second such stream in the neural test voices (0: none)")
    parser.add_argument("--stream-snr", type=float, default=30.0, help="dB of pink noise under the stream")
    parser.add_argument("--room-seconds", type=float, default=60.0, help="length of the quiet-room stream")
    parser.add_argument("--room-dbfs", type=float, default=-55.0, help="level of the quiet room's noise")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="keep the corpus here (default: a temporary folder)")
    parser.add_argument("--half", choices=["test", "tune"], default="test",
                        help="tune: the voices limits are chosen on (and the classifier trained on); "
                             "the figures that count are the test half's")
    parser.add_argument("--voice-print", type=Path, metavar="FILE",
                        help="hear with this voice print (unknot enrol's file): what one person's print does to"
                             " the streams of other voices, such as a television's")
    parser.add_argument("--weights", nargs="+", default=["shipped"], metavar="FILE",
                        help="the command classifier's weights (scripts/train_commands.py --out; shipped: the"
                             " app's own); with several, each is measured on the same clips and streams")
    parser.add_argument("--carried-floor", nargs="+", type=float, default=[CARRIED_FLOOR], metavar="P",
                        help="the least the classifier must give a command only the other votes carry"
                             " (coach/voice.py CARRIED_FLOOR); with several, each weights is measured at each")
    args = parser.parse_args()
    voice_print = VoicePrint.load(args.voice_print) if args.voice_print else None
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="unknot-bench-commands-") as temp:
        out = args.out or Path(temp) / "corpus"
        # The corpora are made in other processes while this one speaks the stream: the other
        # families' voices (flite and festival, and the neural voices, where installed: nearer a
        # person than espeak) are synthesised meanwhile.
        maker = start_corpus(out, args.per_word, args.snr, args.seed, half=args.half)
        others = {family: out.parent / f"{out.name}-{family}" for family in ("other", "neural")}
        makers = {family: start_corpus(folder, args.per_word, args.snr, args.seed, family, args.half)
                  for family, folder in others.items()}
        try:
            stream = build_stream(args.stream_minutes, args.stream_snr, args.seed, args.half)
            neural_stream = None
            if args.neural_stream_minutes > 0 and make_corpus.voices(args.half, "neural"):
                neural_stream = build_stream(args.neural_stream_minutes, args.stream_snr, args.seed, args.half,
                                             "neural")
        except BaseException:
            for process in [maker, *makers.values()]:
                process.kill()
            raise
        stdout, stderr = maker.communicate()
        if maker.returncode != 0:
            for process in makers.values():
                process.kill()
            sys.exit(f"make_corpus.py failed:\n{stderr}")
        print(f"corpus: {stdout.strip()}")
        clips = read_clips(out)
        family_clips: dict[str, list[Clip]] = {}
        for family, process in makers.items():
            stdout, stderr = process.communicate()
            if process.returncode == 0:
                print(f"{FAMILY_NAMES[family]}: {stdout.strip()}")
                family_clips[family] = read_clips(others[family])
            else:
                print(f"{FAMILY_NAMES[family]}: none ({stderr.strip()})")
        print(f"the corpora and the streams ready after {time.perf_counter() - began:.0f} s")
        for weights in args.weights:
            chosen = None if weights == "shipped" else Path(weights)
            for floor in args.carried_floor:
                name = f"{weights}, carried floor {floor:g}"
                print(f"\n==== the classifier's weights: {name} ====")
                measure(args, Recognizer(voice_print=voice_print, weights=chosen, carried_floor=floor), clips,
                        family_clips, stream, neural_stream, name, began)


def measure(args: argparse.Namespace, recognizer: Recognizer, clips: list[Clip], family_clips: dict[str, list[Clip]],
            stream: tuple[bytes, list[Spoken], tuple[int, int]],
            neural_stream: tuple[bytes, list[Spoken], tuple[int, int]] | None, weights: str, began: float) -> None:
    if args.voice_print is not None and recognizer.likeness is not None:
        print(f"with the voice print {args.voice_print}")
    right = accuracy(recognizer, clips, args.snr)
    median, p95 = latency(recognizer, clips, args.snr)
    right_family: dict[str, float] = {}
    for family, found in family_clips.items():
        print(f"\n{FAMILY_NAMES[family]}:")
        right_family[family] = accuracy(recognizer, found, args.snr)
    per_hour, cpu_speech = false_accepts(recognizer, *stream)
    per_hour_neural = None
    if neural_stream is not None:
        per_hour_neural, _ = false_accepts(recognizer, *neural_stream,
                                           voices=f"a neural {args.half} voice, at a new speed and size")
    cpu_room = quiet_room(recognizer, args.room_seconds, args.room_dbfs, args.seed)

    def row(name: str, value: str, target: str, met: bool | None) -> None:
        verdict = "" if met is None else ("met" if met else "MISSED")
        print(f"  {name:<52} {value:>9}   {target:<9} {verdict}".rstrip())

    print(f"\nsummary ({args.half}-half voices, weights {weights}; {time.perf_counter() - began:.0f} s so far)")
    row("accuracy at 10 dB SNR and above", f"{right:.1f}%", f"≥ {TARGET_ACCURACY:g}%", right >= TARGET_ACCURACY)
    for family, value in right_family.items():
        row(f"  the same in {FAMILY_NAMES[family]}", f"{value:.1f}%", f"≥ {TARGET_ACCURACY:g}%",
            value >= TARGET_ACCURACY)
    row("false accepts per hour of speech", f"{per_hour:.1f}", f"≤ {TARGET_FALSE_PER_HOUR:g}",
        per_hour <= TARGET_FALSE_PER_HOUR)
    if per_hour_neural is not None:
        row("  the same in the neural voices", f"{per_hour_neural:.1f}", f"≤ {TARGET_FALSE_PER_HOUR:g}",
            per_hour_neural <= TARGET_FALSE_PER_HOUR)
    row("latency, median", f"{median:.0f} ms", f"≤ {TARGET_LATENCY_MS:g} ms", median <= TARGET_LATENCY_MS)
    row("latency, p95", f"{p95:.0f} ms", "-", None)
    row("CPU listening to speech (1 core, real time)", f"{cpu_speech:.1f}%", f"≤ {TARGET_CPU:g}%",
        cpu_speech <= TARGET_CPU)
    row("CPU in a quiet room (1 core, real time)", f"{cpu_room:.1f}%", f"≤ {TARGET_CPU:g}%", cpu_room <= TARGET_CPU)


if __name__ == "__main__":
    main()
