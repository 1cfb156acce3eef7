"""The pocketsphinx decoder in its own process, run as `python -m coach.decode_worker` by
coach.voice.RecognizerProcess.

pocketsphinx's bindings hold Python's lock while they decode (50-65 ms for an utterance), and in
the app's process that starves the sound output's callback: the coach's voice drops out for as
long, and the echo canceller's picture of what was played slips. Here it holds nobody's lock.

The command words come as JSON in argv[1], and the file of a voice print (coach.enrol) in argv[2]
when there is one. The first line out is a greeting, {"ok": true,
"command_of": {...}} or {"ok": false, "kind": "missing" | "words", "error": "..."}. Then each request
in is a 4-byte little-endian length, the room's level as a 4-byte float (NaN when not known) and
that many bytes of 16 kHz 16-bit PCM, and each reply out one
JSON line: the Verdict's fields. The worker ends when its stdin closes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import signal
import struct
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coach.enrol import VoicePrint


def main() -> int:
    from coach.quiet import private_stdout
    from coach.voice import NotInstalled, Recognizer, VoiceError

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the session's; the worker ends when its stdin closes
    replies = private_stdout()
    words = {command: tuple(chosen) for command, chosen in json.loads(sys.argv[1]).items()}
    try:
        recognizer = Recognizer(words, _voice_print(sys.argv[2:]))
    except NotInstalled as error:
        print(json.dumps({"ok": False, "kind": "missing", "error": str(error)}), file=replies, flush=True)
        return 1
    except VoiceError as error:
        print(json.dumps({"ok": False, "kind": "words", "error": str(error)}), file=replies, flush=True)
        return 1
    print(json.dumps({"ok": True, "command_of": recognizer.command_of}), file=replies, flush=True)
    requests = sys.stdin.buffer
    while len(head := requests.read(8)) == 8:
        size, level = struct.unpack("<If", head)
        verdict = recognizer.decide(requests.read(size), None if math.isnan(level) else level)
        print(json.dumps(dataclasses.asdict(verdict)), file=replies, flush=True)
    return 0


def _voice_print(args: list[str]) -> VoicePrint | None:
    """The voice print named in argv[2], if one is and it can still be read (the caller checked it)."""
    from pathlib import Path

    from coach.enrol import VoicePrint
    from coach.voice import VoiceError

    if not args:
        return None
    try:
        return VoicePrint.load(Path(args[0]))
    except VoiceError:
        return None


if __name__ == "__main__":
    sys.exit(main())
