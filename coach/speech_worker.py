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
from collections.abc import Callable
from typing import Any

from coach.quiet import private_stdout

# pyttsx3's espeak driver calls espeak_Cancel() before every utterance (espeak_IsPlaying() is often
# true even though nothing plays), and about one utterance in a hundred then comes out with no
# samples at all. A WAV with no frames is always this (espeak ends every utterance with a pause).
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


def _espeak_now() -> Callable[[], tuple[int, int]] | None:
    """espeak-ng's current rate and volume, with pyttsx3's espeak driver; None with any other. (The
    driver's own GetParameter leaves out the argument that asks for the current value.)"""
    try:
        from pyttsx3.drivers import _espeak
    except (ImportError, OSError):
        return None
    function = getattr(getattr(_espeak, "dll", None), "espeak_GetParameter", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int]
    function.restype = ctypes.c_int
    return lambda: (int(function(_espeak.RATE, 1)), int(function(_espeak.VOLUME, 1)))  # 1: current


class _Engine:
    def __init__(self, pyttsx3: Any) -> None:
        self.engine = pyttsx3.init()
        self.espeak_now = _espeak_now()
        self.default_voice: str | None = self.engine.getProperty("voice")
        self.errors: list[str] = []
        # pyttsx3 swallows errors in setProperty (an unknown voice keeps the old one); this hears them.
        self.engine.connect("error", self._on_error)

    def _on_error(self, **kwargs: Any) -> None:
        self.errors.append(str(kwargs.get("exception") or "an error"))

    def set_voice(self, voice: str | None) -> dict[str, Any] | None:
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
        made = False
        for tries in range(1, RENDER_TRIES + 1):
            self.errors.clear()
            self.engine.setProperty("rate", rate)
            self.engine.setProperty("volume", volume)
            # Never say(): the espeak driver would play through aplay and keep the last save target.
            self.engine.save_to_file(str(request["text"]), path)
            self.engine.runAndWait()
            if self.errors:
                return {"ok": False, "kind": "render", "error": self.errors[0]}
            made = _settled(path)
            if made and self.spoke_at(rate, volume):
                return {"ok": True, "tries": tries}
        if made:  # espeak says otherwise every time: keep the sound rather than none
            return {"ok": True, "tries": RENDER_TRIES}
        return {"ok": False, "kind": "render", "error": f"pyttsx3 made no sound file {RENDER_TRIES} times"}

    def spoke_at(self, rate: int, volume: float) -> bool:
        """Whether espeak now has the rate and volume asked for. pyttsx3 hands them to espeak's command
        queue, and the espeak_Cancel() before an utterance can empty it first: a render came out at
        pyttsx3's default 200 words a minute instead of 170, once, in a full test run."""
        if self.espeak_now is None:
            return True
        return self.espeak_now() == (rate, int(round(volume * 100, 2)))  # the volume as the driver sends it

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
