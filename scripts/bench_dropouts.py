"""Does deciding voice commands break the coach's sound? A steady tone through a private PulseAudio
null sink, recorded with parec, while the decoder works: in its worker process (as the app runs it),
in the playing process itself, or not at all, after each utterance (every 0.1 s) or back to back.

    .venv/bin/python scripts/bench_dropouts.py [--runs 5] [--seconds 5]

Each run is a fresh process playing the tone, as the app is. Counts the 5 ms windows inside the tone
that are silent. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.sound import SAMPLE_RATE  # noqa: E402
from tests.pulse import LOUD, Recorder, envelope, onset_after, start_pulse  # noqa: E402

DECODERS = ["none", "worker", "in process"]
PACES = {"every 0.1 s": 0.1, "back to back": 0.0}


def play(decoder: str, pace: float, seconds: float) -> int:
    """In the child: the tone, and the decoder deciding an utterance over and over."""
    from coach.audio import MiniaudioOutput
    from coach.voice import Recognizer, RecognizerProcess
    from tests.test_voice import room, say

    speech = room(0.1, say("pause it now", 150), 0.1).astype("<i2").tobytes()  # decoded by both searches
    recognizer = {"none": None, "worker": RecognizerProcess, "in process": Recognizer}[decoder]
    deciding = recognizer() if recognizer else None
    output = MiniaudioOutput()
    try:
        if not output.wait_ready():
            return 1
        tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE)
        at = time.monotonic() + 0.3
        output.play(tone.astype(np.float32), at)
        while time.monotonic() < at + seconds - 0.5:
            if deciding is not None:
                deciding.decide(speech)
            time.sleep(pace if deciding is not None else 0.1)
        time.sleep(max(0.0, at + seconds + 0.3 - time.monotonic()))
    finally:
        output.close()
        if deciding is not None:
            deciding.close()
    return 0


def silent_windows(samples: np.ndarray, seconds: float) -> int:
    loudness = envelope(samples)
    start = onset_after(loudness, 0, len(loudness) * 0.005)
    if start is None:
        return -1
    first = round(start / 0.005)
    inside = loudness[first + 2 : first + round(seconds / 0.005) - 2]
    return int(np.count_nonzero(inside < LOUD))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--child", nargs=2, metavar=("DECODER", "PACE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.exit(play(args.child[0], float(args.child[1]), args.seconds))
    with tempfile.TemporaryDirectory() as folder:
        server = start_pulse(Path(folder) / "pulse")
        try:
            server.null_sink("room")
            env = {**os.environ, **server.client_env()}
            print(f"silent 5 ms windows in a {args.seconds:g} s tone ({round(args.seconds / 0.005)} windows), per run")
            for pace_name, pace in PACES.items():
                for decoder in DECODERS:
                    if decoder == "none" and pace == 0.0:
                        continue
                    counts = []
                    for _ in range(args.runs):
                        recorder = Recorder(server, "room")
                        recorder.wait_for_data()
                        done = subprocess.run([sys.executable, __file__, "--child", decoder, str(pace),
                                               "--seconds", str(args.seconds)], env=env, cwd=ROOT, timeout=120)
                        samples = recorder.stop()
                        counts.append(silent_windows(samples, args.seconds) if done.returncode == 0 else -1)
                    label = "no decoding" if decoder == "none" else f"decoder {decoder}, {pace_name}"
                    clean = sum(1 for c in counts if c == 0)
                    print(f"  {label:<36} {counts}  whole in {clean} of {len(counts)}", flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
