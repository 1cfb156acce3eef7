"""Speech: texts rendered to WAVs once, cached on disk, and read back as Sounds and durations.

Engines: pyttsx3 (in a worker process, coach.speech_worker), the espeak-ng command, piper (optional,
a neural voice file), and silent (no sound, lengths estimated from the words). A cached sound is
trimmed of the engine's silence at both ends, so it starts when played and its length is the true
length of the speech: plans are timed with `duration()`, players play `sound()`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import wave
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import platformdirs

from coach.engines import ENGINES
from coach.plan import SilentDurations
from coach.sound import SAMPLE_RATE, Sound, read_wav, trim, write_wav

CACHE_VERSION = 1  # bump when the way sounds are made or stored changes
WORKER_SECONDS = 30.0  # time limit for one request to an engine
MIN_RATE, MAX_RATE = 80, 450  # words per minute espeak-ng accepts
PIPER_WPM = 150  # roughly piper's natural pace, where its length scale is 1
ESPEAK_FIX = "sudo apt-get install espeak-ng"


@dataclass(frozen=True)
class SpeechSettings:
    engine: str = "pyttsx3"
    voice: str | None = None  # the engine's voice id or name; None: the engine's default
    rate: int = 150  # words per minute
    volume: float = 1.0  # 0 to 1
    piper_model: Path | None = None  # a .onnx voice file, for the piper engine


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    languages: tuple[str, ...] = ()
    gender: str | None = None


class SpeechError(Exception):
    """One clear sentence for the user, e.g. why an engine cannot run and the command that fixes it."""


def _short(text: str, width: int = 40) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= width else flat[: width - 1] + "…")


def _unknown_voice(engine: str, voice: str) -> SpeechError:
    return SpeechError(f"the {engine} engine has no voice {voice!r}; `unknot voices` lists the voices you can use")


def _gender(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return {"m": "male", "f": "female", "male": "male", "female": "female"}.get(value)


class _Backend:
    """One engine that writes a WAV for a text. `level` is how loud it is asked to speak (so silence
    can be told apart from speech at any volume); `gain` is applied to the trimmed sound afterwards."""

    name = ""

    def __init__(self, settings: SpeechSettings, timeout: float) -> None:
        self.settings = settings
        self.timeout = timeout
        # A muted voice is still rendered at full level, so its length (and the plan's timing) stays true.
        self.level = settings.volume if settings.volume > 0 else 1.0
        self.gain = 1.0 if settings.volume > 0 else 0.0
        self._voice: str | None = None

    def voice(self) -> str | None:
        """The id of the voice asked for, or None for the engine's default.

        Matched (ignoring case) against the engine's own list, never left to the engine: espeak-ng takes
        almost anything (it speaks "no-such-voice" as Norwegian, and an unknown "+variant" as the default),
        and a typo must not give someone lying on the floor a stranger's language.
        """
        wanted = self.settings.voice
        if wanted is None:
            return None
        if self._voice is None:
            key = wanted.strip().lower()
            match = next((v for v in self.voices() if key in (v.id.lower(), v.name.lower())), None)
            if match is None:
                raise _unknown_voice(self.name, wanted)
            self._voice = match.id
        return self._voice

    def key(self) -> dict[str, Any]:
        return {}

    def check(self) -> None:
        raise NotImplementedError

    def voices(self) -> list[Voice]:
        raise NotImplementedError

    def render(self, text: str, path: Path) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


# -- pyttsx3, through the worker process -------------------------------------------------------------


class _WorkerDied(Exception):
    pass


class _WorkerTimeout(Exception):
    pass


def end_worker(proc: subprocess.Popen[bytes]) -> None:
    """Close the worker's stdin (it exits on EOF), then kill it if it has not gone within 2 s."""
    if proc.stdin and not proc.stdin.closed:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    try:
        proc.wait(timeout=2.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coach.speech_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.replies: queue.Queue[bytes | None] = queue.Queue()
        self.stderr: deque[str] = deque(maxlen=40)
        self.threads = [
            threading.Thread(target=self._read_replies, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self.threads:
            thread.start()
        self._finalizer = weakref.finalize(self, end_worker, self.proc)

    def _read_replies(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.replies.put(line)
        self.replies.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line and not line.startswith("ALSA lib"):
                self.stderr.append(line)

    def ask(self, request: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
        """Send a request (None: only read the greeting) and wait for its one reply line."""
        if request is not None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps(request).encode() + b"\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                raise _WorkerDied from None
        try:
            line = self.replies.get(timeout=timeout)
        except queue.Empty:
            raise _WorkerTimeout from None
        if line is None:
            raise _WorkerDied
        try:
            answer = json.loads(line)
        except ValueError:
            raise _WorkerDied from None
        if not isinstance(answer, dict):
            raise _WorkerDied
        return answer

    def alive(self) -> bool:
        return self.proc.poll() is None

    def detail(self) -> str:
        """What the worker said on stderr before it failed: its last line, which names the error."""
        self.threads[1].join(timeout=1.0)
        return f": {self.stderr[-1]}" if self.stderr else ""

    def stop(self, kill: bool = False) -> None:
        if kill and self.alive():
            self.proc.kill()
        self._finalizer()
        for thread in self.threads:
            thread.join(timeout=1.0)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


class _Pyttsx3(_Backend):
    name = "pyttsx3"

    def __init__(self, settings: SpeechSettings, timeout: float) -> None:
        super().__init__(settings, timeout)
        self.worker: _Worker | None = None

    def _start(self) -> _Worker:
        if self.worker is not None and self.worker.alive():
            return self.worker
        self._stop()
        worker = _Worker()
        self.worker = worker
        try:
            hello = worker.ask(None, self.timeout)
        except _WorkerTimeout:
            self._stop(kill=True)
            raise SpeechError(f"pyttsx3 did not start within {self.timeout:g} s") from None
        except _WorkerDied:
            detail = worker.detail()
            self._stop()
            raise SpeechError(f"pyttsx3 cannot start{detail}") from None
        if not hello.get("ok"):
            self._stop()
            error = str(hello.get("error", ""))
            if hello.get("kind") == "missing":
                raise SpeechError(f"pyttsx3 is not installed; install it with: {sys.executable} -m pip install pyttsx3")
            if "espeak" in error.lower():
                raise SpeechError(
                    f"pyttsx3 cannot start: the espeak-ng library is missing; install it with: {ESPEAK_FIX}"
                )
            raise SpeechError(f"pyttsx3 cannot start: {error}")
        return worker

    def _stop(self, kill: bool = False) -> None:
        if self.worker is not None:
            self.worker.stop(kill=kill)
            self.worker = None

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        # A worker that died (killed, or crashed on a text) is started again once; a second death is an error.
        for attempt in range(2):
            worker = self._start()
            try:
                answer = worker.ask(request, self.timeout)
            except _WorkerTimeout:
                self._stop(kill=True)
                raise SpeechError(
                    f"pyttsx3 gave no answer within {self.timeout:g} s and was stopped; try the espeak engine"
                ) from None
            except _WorkerDied:
                detail = worker.detail()
                self._stop()
                if attempt == 0:
                    continue
                raise SpeechError(f"the pyttsx3 worker stopped unexpectedly{detail}") from None
            if answer.get("ok"):
                return answer
            if answer.get("kind") == "voice":
                raise _unknown_voice("pyttsx3", str(self.settings.voice))
            raise SpeechError(f"pyttsx3 failed: {answer.get('error')}")
        raise AssertionError("unreachable")

    def check(self) -> None:
        self._start()
        voice = self.voice()
        if voice is not None:
            self.ask({"op": "voice", "voice": voice})

    def voices(self) -> list[Voice]:
        answer = self.ask({"op": "voices"})
        return [
            Voice(str(v["id"]), str(v["name"]), tuple(map(str, v.get("languages") or ())), _gender(v.get("gender")))
            for v in answer.get("voices", [])
        ]

    def render(self, text: str, path: Path) -> None:
        self.ask({
            "op": "render",
            "text": text,
            "path": str(path),
            "voice": self.voice(),
            "rate": self.settings.rate,
            "volume": self.level,
        })

    def close(self) -> None:
        self._stop()


# -- the espeak-ng command ---------------------------------------------------------------------------

# "Pty Language Age/Gender VoiceName File Other Languages"; names have underscores for spaces.
_ESPEAK_VOICE = re.compile(r"^\s*\d+\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$")


def _run(command: list[str], text: str, timeout: float, what: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(command, input=text.encode("utf-8"), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SpeechError(f"{what} gave no answer within {timeout:g} s and was stopped") from None
    except OSError as error:
        raise SpeechError(f"{what} cannot run: {error.strerror or error}") from None


def _last_line(stream: bytes) -> str:
    lines = stream.decode("utf-8", "replace").splitlines()
    lines = [line for line in lines if line.strip() and not line.startswith("ALSA lib")]
    return lines[-1].strip() if lines else ""


class _Espeak(_Backend):
    name = "espeak"

    def command(self) -> str:
        path = shutil.which("espeak-ng")
        if path is None:
            raise SpeechError(f"the espeak engine needs the espeak-ng command; install it with: {ESPEAK_FIX}")
        return path

    def _speak(self, extra: list[str], text: str) -> None:
        command = [self.command(), "--stdin", "-b", "1", "-s", str(self.settings.rate), *extra]
        voice = self.voice()
        if voice is not None:
            command += ["-v", voice]
        done = _run(command, text, self.timeout, "espeak-ng")
        if done.returncode != 0:
            why = _last_line(done.stderr)
            if "voice does not exist" in why:
                raise _unknown_voice("espeak", str(self.settings.voice))
            raise SpeechError(f"espeak-ng failed: {why or f'exit code {done.returncode}'}")

    def check(self) -> None:
        self._speak(["-q"], "")  # -q: no sound; fails on an unknown voice

    def voices(self) -> list[Voice]:
        done = _run([self.command(), "--voices"], "", self.timeout, "espeak-ng")
        found = []
        for line in done.stdout.decode("utf-8", "replace").splitlines():
            match = _ESPEAK_VOICE.match(line)
            if match is None:
                continue
            language, age_gender, name, file, others = match.groups()
            extra = tuple(re.findall(r"\(([^\s()]+)\s+\d+\)", others))
            found.append(Voice(file, name.replace("_", " "), (language, *extra), _gender(age_gender.split("/")[-1])))
        return found

    def render(self, text: str, path: Path) -> None:
        self._speak(["-a", str(round(self.level * 100)), "-w", str(path)], text)


# -- piper ---------------------------------------------------------------------------------------------


class _Piper(_Backend):
    name = "piper"

    def __init__(self, settings: SpeechSettings, timeout: float) -> None:
        super().__init__(settings, timeout)
        # piper has no volume in older versions: render at full level, scale afterwards.
        self.level, self.gain = 1.0, settings.volume

    @staticmethod
    def command() -> list[str] | None:
        path = shutil.which("piper")
        if path is not None:
            return [path]
        if importlib.util.find_spec("piper") is not None:
            return [sys.executable, "-m", "piper"]
        return None

    def _config_path(self, model: Path) -> Path:
        return model.with_name(model.name + ".json")

    def _model_problem(self) -> str | None:
        model = self.settings.piper_model
        if model is None:
            return (
                "a voice (download one, e.g. with: python -m piper.download_voices en_US-lessac-medium, "
                "and pass the path of its .onnx file)"
            )
        if not model.is_file():
            return f"an existing voice file ({model} does not exist)"
        if not self._config_path(model).is_file():
            return f"the voice's {self._config_path(model).name} beside {model} (download both files of the voice)"
        return None

    def _fail(self, problems: list[str]) -> SpeechError:
        return SpeechError("the piper engine needs " + " and ".join(problems))

    def model(self) -> Path:
        """The voice file, or SpeechError saying what is missing."""
        problem = self._model_problem()
        if problem is not None:
            raise self._fail([problem])
        assert self.settings.piper_model is not None
        return self.settings.piper_model

    def config(self) -> dict[str, Any]:
        model = self.model()
        try:
            config = json.loads(self._config_path(model).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise SpeechError(f"the piper voice's config for {model} cannot be read: {error}") from None
        return config if isinstance(config, dict) else {}

    def speakers(self) -> dict[str, int]:
        speakers = self.config().get("speaker_id_map")
        if not isinstance(speakers, dict):
            return {}
        return {str(name): number for name, number in speakers.items() if isinstance(number, int)}

    def speaker(self) -> int | None:
        voice = self.settings.voice
        if voice is None:
            return None
        speakers = self.speakers()
        if voice in speakers:
            return speakers[voice]
        if voice.isdigit() and int(voice) in speakers.values():
            return int(voice)
        if not speakers and self.settings.piper_model and voice == self.settings.piper_model.stem:
            return None
        raise _unknown_voice("piper", voice)

    def key(self) -> dict[str, Any]:
        model = self.model()
        return {"model": str(model.resolve()), "mtime": model.stat().st_mtime_ns}

    def check(self) -> None:
        problems = [] if self.command() is not None else [
            f"piper-tts (install it with: {sys.executable} -m pip install piper-tts)"
        ]
        problem = self._model_problem()
        if problem is not None:
            problems.append(problem)
        if problems:
            raise self._fail(problems)
        self.speaker()

    def voices(self) -> list[Voice]:
        config = self.config()
        language = next(
            (str(part[field]) for part, field in ((config.get("language"), "code"), (config.get("espeak"), "voice"))
             if isinstance(part, dict) and part.get(field)),
            None,
        )
        languages = (language,) if language else ()
        speakers = self.speakers()
        if speakers:
            return [Voice(name, name, languages) for name in speakers]
        model = self.model()
        return [Voice(model.stem, str(config.get("dataset") or model.stem), languages)]

    def render(self, text: str, path: Path) -> None:
        self.check()
        command = self.command()
        assert command is not None
        command += ["--model", str(self.model()), "--output_file", str(path)]
        command += ["--length_scale", f"{PIPER_WPM / self.settings.rate:.3f}"]
        speaker = self.speaker()
        if speaker is not None:
            command += ["--speaker", str(speaker)]
        # piper speaks each input line on its own: one line keeps the text one utterance.
        done = _run(command, " ".join(text.split()) + "\n", self.timeout, "piper")
        if done.returncode != 0:
            raise SpeechError(f"piper failed: {_last_line(done.stderr) or f'exit code {done.returncode}'}")


_BACKENDS: dict[str, type[_Backend]] = {"pyttsx3": _Pyttsx3, "espeak": _Espeak, "piper": _Piper}


# -- the cache and the public face ---------------------------------------------------------------------


class Speech:
    """Renders texts to cached WAVs. A DurationProvider for plans and the source of Sounds for players."""

    def __init__(
        self, settings: SpeechSettings, cache_dir: Path | None = None, *, timeout: float = WORKER_SECONDS
    ) -> None:
        self.settings = settings
        self.cache_dir = cache_dir if cache_dir is not None else platformdirs.user_cache_path("unknot") / "speech"
        self.renders = 0  # texts rendered by the engine (not found in the cache) in this object's life
        self._lock = threading.RLock()
        self._durations: dict[str, float] = {}
        self._sounds: dict[str, Sound] = {}
        self._silent = SilentDurations(rate_wpm=settings.rate) if settings.rate > 0 else SilentDurations()
        self._backend: _Backend | None = None
        self._problem: SpeechError | None = None
        if settings.engine not in ENGINES:
            self._problem = SpeechError(
                f"unknown speech engine {settings.engine!r}: choose one of {', '.join(ENGINES)}"
            )
        elif not MIN_RATE <= settings.rate <= MAX_RATE:
            self._problem = SpeechError(
                f"speech rate {settings.rate} is out of range: use {MIN_RATE} to {MAX_RATE} words per minute"
            )
        elif not 0.0 <= settings.volume <= 1.0:
            self._problem = SpeechError(f"speech volume {settings.volume:g} is out of range: use 0 to 1")
        elif settings.engine in _BACKENDS:
            self._backend = _BACKENDS[settings.engine](settings, timeout)

    @property
    def worker_pid(self) -> int | None:
        """The pyttsx3 worker's process id while one runs."""
        backend = self._backend
        if isinstance(backend, _Pyttsx3) and backend.worker is not None and backend.worker.alive():
            return backend.worker.proc.pid
        return None

    def _engine(self) -> _Backend | None:
        """The backend, None for the silent engine; SpeechError for settings nothing can use."""
        if self._problem is not None:
            raise self._problem
        return self._backend

    def check(self) -> None:
        """Raises SpeechError if the engine cannot run here (or does not know the voice)."""
        with self._lock:
            backend = self._engine()
            if backend is not None:
                backend.check()

    def voices(self) -> list[Voice]:
        with self._lock:
            backend = self._engine()
            return [] if backend is None else backend.voices()

    # -- cache --

    def _key(self, backend: _Backend, text: str) -> str:
        parts = {
            "version": CACHE_VERSION,
            "engine": self.settings.engine,
            "voice": self.settings.voice,
            "rate": self.settings.rate,
            "volume": round(self.settings.volume, 3),
            "text": text,
            **backend.key(),
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.wav"

    def _cached_seconds(self, key: str) -> float | None:
        """The length of a cached sound, or None when there is none (or it cannot be read)."""
        if key in self._durations:
            return self._durations[key]
        path = self._path(key)
        try:
            with wave.open(str(path), "rb") as handle:
                seconds = handle.getnframes() / handle.getframerate()
        except (OSError, EOFError, wave.Error, ZeroDivisionError):
            return None
        self._durations[key] = seconds
        return seconds

    def _render(self, backend: _Backend, text: str, key: str) -> float:
        raw = self.cache_dir / f".{key}.{os.getpid()}.render.wav"
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            raw.unlink(missing_ok=True)
        except OSError as error:
            raise SpeechError(f"cannot use the speech cache {self.cache_dir}: {error.strerror or error}") from None
        try:
            backend.render(text, raw)
            try:
                sound = read_wav(raw)
            except (OSError, EOFError, ValueError, wave.Error) as error:
                raise SpeechError(f"{backend.name} wrote no usable sound for {_short(text)}: {error}") from None
        finally:
            raw.unlink(missing_ok=True)
        sound = trim(sound, threshold=0.01 * backend.level)
        if backend.gain != 1.0:
            sound = (sound * backend.gain).astype(np.float32)
        try:
            write_wav(self._path(key), sound)
        except OSError as error:
            raise SpeechError(f"cannot write to the speech cache {self.cache_dir}: {error.strerror or error}") from None
        self.renders += 1
        self._durations[key] = len(sound) / SAMPLE_RATE
        return self._durations[key]

    def _ensure(self, backend: _Backend, text: str) -> tuple[str, float]:
        key = self._key(backend, text)
        seconds = self._cached_seconds(key)
        if seconds is None:
            seconds = self._render(backend, text, key)
        return key, seconds

    # -- public --

    def prepare(self, texts: Iterable[str], progress: Callable[[int, int], None] | None = None) -> None:
        """Renders every text not yet cached; progress(done, total) after each (total: texts to render)."""
        with self._lock:
            backend = self._engine()
            if backend is None:
                return
            todo = [
                text
                for text in dict.fromkeys(texts)
                if text.strip() and self._cached_seconds(self._key(backend, text)) is None
            ]
            for done, text in enumerate(todo, start=1):
                self._ensure(backend, text)
                if progress is not None:
                    progress(done, len(todo))

    def duration(self, text: str) -> float:
        """Seconds of the cached, trimmed sound (rendered now if need be); estimated for the silent engine."""
        with self._lock:
            backend = self._engine()
            if backend is None:
                return self._silent.duration(text)
            if not text.strip():
                return 0.0
            return self._ensure(backend, text)[1]

    def sound(self, text: str) -> Sound | None:
        """The trimmed sound of a text (read-only, shared), or None for the silent engine."""
        with self._lock:
            backend = self._engine()
            if backend is None:
                return None
            if not text.strip():
                return np.zeros(0, dtype=np.float32)
            key, _ = self._ensure(backend, text)
            if key not in self._sounds:
                try:
                    sound = read_wav(self._path(key))
                except (OSError, EOFError, ValueError, wave.Error):
                    # Removed or damaged since it was measured: make it again.
                    self._durations.pop(key, None)
                    self._path(key).unlink(missing_ok=True)
                    key, _ = self._ensure(backend, text)
                    sound = read_wav(self._path(key))
                sound.flags.writeable = False
                self._sounds[key] = sound
            return self._sounds[key]

    def close(self) -> None:
        """Ends the worker process, if any."""
        with self._lock:
            if self._backend is not None:
                self._backend.close()

    def __enter__(self) -> Speech:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
