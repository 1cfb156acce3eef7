"""Run by test_voice_live: a steady tone played while the decoder's worker decodes speech, in a process
of its own, as in the app. The test runner's own heap, grown over hundreds of tests, is not the app's:
its collector's pauses starved the output's callback there.

    python -m tests.play_while_decoding SECONDS
"""

from __future__ import annotations

import sys
import time

import numpy as np

from coach.audio import MiniaudioOutput
from coach.sound import SAMPLE_RATE
from coach.voice import RecognizerProcess
from tests.test_voice import room, say


def main(seconds: float) -> int:
    speech = room(0.1, say("pause it now", 150), 0.1).astype("<i2").tobytes()  # decoded by both searches
    recognizer = RecognizerProcess()
    output = MiniaudioOutput()
    try:
        if not output.wait_ready():
            print("no sound output", file=sys.stderr)
            return 1
        tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE)
        at = time.monotonic() + 0.3
        output.play(tone.astype(np.float32), at)
        while time.monotonic() < at + seconds - 0.5:
            recognizer.decide(speech)
            time.sleep(0.1)  # a decode after each utterance, not back to back: the machine is not saturated
        time.sleep(max(0.0, at + seconds + 0.3 - time.monotonic()))
    finally:
        output.close()
        recognizer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1])))
