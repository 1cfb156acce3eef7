"""`unknot doctor`: what works on this machine for speech, sound, listening, the history and the settings,
and how to fix the rest.

Each probe runs in a child process with a time limit: audio libraries can hang, crash or print
"ALSA lib ..." noise, and none of that may reach the user's terminal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

PROBE_SECONDS = 15.0

_SPEECH = """
import contextlib, io, json, pyttsx3
with contextlib.redirect_stdout(io.StringIO()):
    engine = pyttsx3.init()
    voices = engine.getProperty("voices")
print(json.dumps({"voices": len(voices), "version": getattr(pyttsx3, "__version__", "")}))
"""

_DEVICES = """
import json, miniaudio
devices = miniaudio.Devices()
def real(found):
    # ALSA's null device is always listed; it is not a device anyone can hear or speak into.
    return [d["name"] for d in found if not d["name"].startswith("Discard all samples")]
print(json.dumps({"backend": devices.backend, "playback": real(devices.get_playbacks()),
                  "capture": real(devices.get_captures())}))
"""

_RECOGNIZER = """
import json, os, pocketsphinx, speech_recognition
model = pocketsphinx.get_model_path()
print(json.dumps({"model": model, "ok": os.path.isdir(os.path.join(model, "en-us", "en-us"))}))
"""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _probe(code: str) -> tuple[dict[str, object] | None, str]:
    """Run `code` in a child Python; returns its JSON answer, or None and why not."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=PROBE_SECONDS,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None, f"no answer within {PROBE_SECONDS:g} s"
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("ALSA lib")]
        return None, lines[-1] if lines else f"exit code {done.returncode}"
    try:
        answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, "an answer that could not be read"
    return answer, ""


def _apt(package: str) -> str:
    prefix = "" if os.geteuid() == 0 else "sudo "
    return f"{prefix}apt-get install {package}"


def check_speech() -> Check:
    answer, why = _probe(_SPEECH)
    if answer is None:
        return Check("speech engine", False, f"pyttsx3 cannot start: {why}", _apt("espeak-ng"))
    detail = f"pyttsx3 {answer['version']} with {answer['voices']} voices".replace("  ", " ")
    return Check("speech engine", True, detail)


def check_espeak() -> Check:
    path = shutil.which("espeak-ng")
    if path is None:
        return Check("espeak-ng command", False, "not found (the fallback speech engine)", _apt("espeak-ng"))
    return Check("espeak-ng command", True, path)


def check_devices() -> list[Check]:
    answer, why = _probe(_DEVICES)
    pulse_fix = f"{_apt('pulseaudio')}, then: pulseaudio --start"
    if answer is None:
        return [
            Check("sound output", False, f"cannot list devices: {why}", pulse_fix),
            Check("microphone", False, f"cannot list devices: {why}", pulse_fix),
        ]
    backend = answer.get("backend", "?")
    playback = answer.get("playback") or []
    capture = answer.get("capture") or []
    assert isinstance(playback, list) and isinstance(capture, list)
    out = Check("sound output", True, f"{len(playback)} device(s) through {backend}: {', '.join(playback[:3])}")
    if not playback:
        out = Check("sound output", False, f"no playback device ({backend})", pulse_fix)
    mic = Check("microphone", True, f"{len(capture)} device(s) through {backend}: {', '.join(capture[:3])}")
    if not capture:
        mic = Check(
            "microphone", False, f"no capture device ({backend})", "plug in a microphone, then: pactl info"
        )
    return [out, mic]


def check_recognizer() -> Check:
    answer, why = _probe(_RECOGNIZER)
    fix = f"{sys.executable} -m pip install SpeechRecognition pocketsphinx  (pocketsphinx needs Python 3.11 or 3.13)"
    if answer is None:
        return Check("recognizer", False, f"pocketsphinx cannot start: {why}", fix)
    if not answer.get("ok"):
        return Check("recognizer", False, f"no English model under {answer.get('model')}", fix)
    return Check("recognizer", True, f"pocketsphinx with its English model ({answer.get('model')})")


def check_echo() -> Check:
    """The echo canceller behind `--stop-over-speech`."""
    import contextlib
    import io

    from coach.echo import EchoCanceller
    from coach.voice import NotInstalled

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # pyaec prints its own loading failure
            EchoCanceller(lambda since: [])
    except (NotInstalled, RuntimeError) as error:
        return Check("echo canceller", False, f"{error} (only for --stop-over-speech)",
                     f"{sys.executable} -m pip install pyaec")
    return Check("echo canceller", True, "pyaec (Speex), for --stop-over-speech")


def check_classifier() -> Check:
    """The second opinion on the default command words (coach.classifier)."""
    from coach.classifier import CommandClassifier
    from coach.voice import NotInstalled

    try:
        classifier = CommandClassifier()
    except NotInstalled as error:
        return Check("command classifier", False, f"{error}; the phone loop alone judges commands",
                     f"{sys.executable} -m pip install onnxruntime openwakeword==0.4.0")
    return Check("command classifier", True,
                 f"speech embedding and a classifier of {len(classifier.classes) - 1} commands")


def check_voice_print() -> Check:
    from coach.enrol import saved, voice_print_path
    from coach.voice import VoiceError

    try:
        voice_print = saved()
    except VoiceError as error:
        return Check("voice print", False, f"{error}; commands are heard without it",
                     "`unknot enrol` makes a new one, or `unknot enrol --forget` deletes it")
    if voice_print is None:
        return Check("voice print", True, "none: `unknot enrol` teaches the voice commands your voice")
    return Check("voice print", True, f"made {voice_print.made} ({voice_print_path()})")


def check_history() -> Check:
    from coach.history import History, HistoryError, history_path

    path = history_path()
    if not path.exists():
        return Check("history", True, f"no sessions yet ({path})")
    try:
        with History(path) as history:
            count = history.count()
    except HistoryError as error:
        return Check("history", False, str(error),
                     f"move {path} aside (keep it: it may be mended); Unknot starts a new history")
    return Check("history", True, f"{count} session(s) in {path}")


def check_settings() -> Check:
    from coach.settings import load_settings, settings_path

    path = settings_path()
    _, problems = load_settings(path)
    if problems:
        return Check("settings", False, "; ".join(problems), f"edit {path}, or change them in the app (s)")
    return Check("settings", True, str(path) if path.exists() else "the defaults (nothing saved yet)")


def run_checks() -> list[Check]:
    return [check_speech(), check_espeak(), *check_devices(), check_recognizer(), check_classifier(), check_echo(),
            check_voice_print(), check_history(), check_settings()]


def report(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for check in checks:
        lines.append(f"{'ok  ' if check.ok else 'FAIL'}  {check.name:<{width}}  {check.detail}")
        if check.fix:
            lines.append(f"      {'':<{width}}  fix: {check.fix}")
    return "\n".join(lines)
