"""The pyttsx3 worker, run as `python -m coach.speech_worker` by coach.speech: one pyttsx3 engine for its life.

pyttsx3 and espeak-ng print to stdout ("Audio saved to ...") and can crash or hang, so they live in
this process, away from the app. JSON lines: the first line out is a greeting, then one reply per
request line in:

    {"op": "render", "text", "path", "voice", "rate", "volume"}  ->  {"ok": true, "tries": 1}
    {"op": "voices"}                                             ->  {"ok": true, "voices": [...]}
    {"op": "voice", "voice"}                                     ->  {"ok": true} when pyttsx3 takes it

A failure is {"ok": false, "kind": "missing" | "start" | "voice" | "render" | "request", "error": "..."}.
The worker ends when its stdin closes.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import signal
import sys
import time
import wave
from typing import Any

from coach.quiet import private_stdout

# While pyttsx3 cancelled espeak before most utterances (see _Espeak), about one in a hundred came
# out with no samples at all; none has since (300 back to back), but an empty WAV is made again.
RENDER_TRIES = 4


def _frames(path: str) -> int:
    try:
        with wave.open(path, "rb") as handle:
            return handle.getnframes()
    except (OSError, EOFError, wave.Error):
        return 0


def _settled(path: str, timeout: float = 2.0) -> bool:
    """Whether `path` becomes a WAV with samples that stops growing. A fresh engine's first
    runAndWait() can return before espeak has written the file at all."""
    deadline = time.monotonic() + timeout
    last, still = -1, 0
    while time.monotonic() < deadline:
        size = os.path.getsize(path) if os.path.exists(path) else -1
        still = still + 1 if size == last and size > 0 else 0
        if still and _frames(path) > 0:
            return True
        if still >= 20:  # written, unchanged for 0.2 s and empty: render it again
            return False
        last = size
        time.sleep(0.01)
    return False


class _Espeak:
    """espeak-ng's command queue, under pyttsx3's espeak driver.

    The driver runs espeak asynchronously: a rate or volume goes onto espeak's queue, which espeak's
    own thread carries out. Before each utterance pyttsx3 calls espeak_Cancel() if that thread is
    busy, and Cancel sets every parameter back from this thread: when the queue's thread had not yet
    begun, Cancel and the queued rate were set at once, and a render came out at 200 words a minute
    instead of 170 (twice in about ten full CI runs; 121 of 300 renders back to back at changing
    rates). So a rate or volume is sent only when it changes, and then waited for."""

    def __init__(self, espeak: Any) -> None:
        self.espeak = espeak
        self.get = espeak.dll.espeak_GetParameter
        self.get.argtypes = [ctypes.c_int, ctypes.c_int]
        self.get.restype = ctypes.c_int

    def now(self) -> tuple[int, int]:
        """The rate and volume espeak now speaks with (1: current, not default)."""
        return int(self.get(self.espeak.RATE, 1)), int(self.get(self.espeak.VOLUME, 1))

    def settle(self, wanted: tuple[int, int] | None = None, timeout: float = 2.0) -> None:
        """Wait until espeak has the rate and volume wanted (so the queue has carried them out) and
        its thread is idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (
                (wanted is not None and self.now() != wanted) or self.espeak.IsPlaying()):
            time.sleep(0.001)


def _espeak() -> _Espeak | None:
    try:
        from pyttsx3.drivers import _espeak
    except (ImportError, OSError):
        return None
    return _Espeak(_espeak) if hasattr(getattr(_espeak, "dll", None), "espeak_GetParameter") else None


class _Engine:
    def __init__(self, pyttsx3: Any) -> None:
        self.engine = pyttsx3.init()
        self.espeak = _espeak()
        # pyttsx3 holds every setting back until the first runAndWait(), where the first render's
        # voice, rate and volume would reach espeak just before it cancels; an empty run ends that.
        # The driver's own start-up settings must be carried out first, or that run cancels them,
        # and the cancel is remembered and cuts the first render short.
        self._settle()
        self.engine.runAndWait()
        self.default_voice: str | None = self.engine.getProperty("voice")
        self.errors: list[str] = []
        # pyttsx3 swallows errors in setProperty (an unknown voice keeps the old one); this hears them.
        self.engine.connect("error", self._on_error)

    def _on_error(self, **kwargs: Any) -> None:
        self.errors.append(str(kwargs.get("exception") or "an error"))

    def _settle(self, wanted: tuple[int, int] | None = None) -> None:
        if self.espeak is not None:
            self.espeak.settle(wanted)

    def set_voice(self, voice: str | None) -> dict[str, Any] | None:
        self._settle()  # a voice is set at once, not queued: never while the queue runs
        self.errors.clear()
        self.engine.setProperty("voice", voice if voice is not None else self.default_voice)
        if self.errors:
            return {"ok": False, "kind": "voice", "error": self.errors[0]}
        return None

    def render(self, request: dict[str, Any]) -> dict[str, Any]:
        failed = self.set_voice(request.get("voice"))
        if failed:
            return failed
        rate, volume = int(request["rate"]), float(request["volume"])
        path = str(request["path"])
        for tries in range(1, RENDER_TRIES + 1):
            self.errors.clear()
            self.set_rate(rate, volume)
            # Never say(): the espeak driver would play through aplay and keep the last save target.
            self.engine.save_to_file(str(request["text"]), path)
            self._settle()  # runAndWait() cancels whatever espeak is still doing
            self.engine.runAndWait()
            if self.errors:
                return {"ok": False, "kind": "render", "error": self.errors[0]}
            if _settled(path):
                return {"ok": True, "tries": tries}
        return {"ok": False, "kind": "render", "error": f"pyttsx3 made no sound file {RENDER_TRIES} times"}

    def set_rate(self, rate: int, volume: float) -> None:
        wanted = (rate, int(round(volume * 100, 2)))  # the volume as the driver sends it
        if self.espeak is not None and self.espeak.now() == wanted:
            return
        self.engine.setProperty("rate", rate)
        self.engine.setProperty("volume", volume)
        self._settle(wanted)

    def voices(self) -> dict[str, Any]:
        found = []
        for voice in self.engine.getProperty("voices"):
            found.append({
                "id": str(voice.id),
                "name": str(voice.name or voice.id),
                "languages": [str(language) for language in (voice.languages or [])],
                "gender": str(voice.gender).lower() if voice.gender else None,
            })
        return {"ok": True, "voices": found}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "render":
            return self.render(request)
        if op == "voices":
            return self.voices()
        if op == "voice":
            return self.set_voice(request.get("voice")) or {"ok": True}
        return {"ok": False, "kind": "request", "error": f"unknown op {op!r}"}


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends the worker by closing its stdin
    replies = private_stdout()

    def reply(answer: dict[str, Any]) -> None:
        replies.write(json.dumps(answer) + "\n")
        replies.flush()

    try:
        import pyttsx3
    except ImportError as error:
        reply({"ok": False, "kind": "missing", "error": str(error)})
        return 1
    try:
        engine = _Engine(pyttsx3)
    except Exception as error:
        reply({"ok": False, "kind": "start", "error": f"{type(error).__name__}: {error}"})
        return 1
    reply({"ok": True, "ready": True, "default_voice": engine.default_voice})

    for line in io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8"):
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            answer = engine.handle(request) if isinstance(request, dict) else {
                "ok": False, "kind": "request", "error": "a request must be a JSON object"}
        except Exception as error:
            answer = {"ok": False, "kind": "render", "error": f"{type(error).__name__}: {error}"}
        reply(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
