"""The microphone through miniaudio (PulseAudio or ALSA, no PortAudio), and voice control of a session.

`Microphone` is a SpeechRecognition `AudioSource`, so SpeechRecognition's recognizers can use it
too. `VoiceControl` listens on a thread. While the coach itself is sounding, and a short tail after,
it either drops what the microphone hears, or, with an echo canceller, takes the coach's sound out
and obeys only "stop": the coach never obeys its own voice.
"""

from __future__ import annotations

import collections
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any

import speech_recognition as sr

from coach.echo import OWN_VOICE, EchoCanceller
from coach.quiet import quiet_stderr
from coach.voice import RATE, Heard, Listener, NotInstalled, VoiceError

BLOCK_MSEC = 30
DEAF_TAIL = 0.35  # seconds after the coach's last sound still dropped: room echo and device latency
KEPT_LIKENESS = 1000  # commands over the coach whose likeness to its sound is kept
WHILE_SOUNDING = frozenset({"stop"})  # the only command obeyed over the coach's own sound


class _Stream:
    """Blocks as the device delivers them, each with the monotonic time its last sample was heard."""

    def __init__(self) -> None:
        self.blocks: queue.Queue[tuple[bytes, float] | None] = queue.Queue()
        self._rest = b""

    def read_block(self, timeout: float | None = None) -> tuple[bytes, float] | None:
        """The next block and when it ended; None once the microphone is closed."""
        return self.blocks.get(timeout=timeout)

    def read(self, size: int) -> bytes:
        """SpeechRecognition's interface: `size` frames of 16-bit audio (fewer once closed)."""
        want = size * 2
        while len(self._rest) < want:
            block = self.blocks.get()
            if block is None:
                self.blocks.put(None)
                break
            self._rest += block[0]
        data, self._rest = self._rest[:want], self._rest[want:]
        return data


class Microphone(sr.AudioSource):  # type: ignore[misc]
    """16 kHz mono 16-bit capture from the default (or a named) input device."""

    SAMPLE_RATE = RATE
    SAMPLE_WIDTH = 2
    CHUNK = RATE * BLOCK_MSEC // 1000

    def __init__(self, device: str | None = None) -> None:
        self.device_name = device
        self.stream: _Stream | None = None
        self._device: Any = None
        self.name = ""

    def __enter__(self) -> Microphone:
        import miniaudio

        stream = _Stream()
        with quiet_stderr():
            try:
                devices = miniaudio.Devices()
                captures = devices.get_captures()
                if not captures:
                    raise VoiceError(f"no microphone was found ({devices.backend})")
                device_id = None
                self.name = "default"
                if self.device_name:
                    named = [d for d in captures if self.device_name.lower() in d["name"].lower()]
                    if not named:
                        raise VoiceError(f"no microphone is called {self.device_name!r}; there are: "
                                         + ", ".join(d["name"] for d in captures))
                    device_id, self.name = named[0]["id"], named[0]["name"]
                self._device = miniaudio.CaptureDevice(
                    input_format=miniaudio.SampleFormat.SIGNED16,
                    nchannels=1,
                    sample_rate=RATE,
                    buffersize_msec=BLOCK_MSEC,
                    device_id=device_id,
                    app_name="Unknot",
                )
                collector = self._collect(stream)
                next(collector)
                self._device.start(collector)
            except miniaudio.MiniaudioError as error:
                raise VoiceError(f"the microphone cannot be opened ({error})") from None
        self.stream = stream
        return self

    @staticmethod
    def _collect(stream: _Stream) -> Generator[None, bytes, None]:
        while True:
            data = yield
            stream.blocks.put((bytes(data), time.monotonic()))

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._device is not None:
            with quiet_stderr():
                self._device.close()
            self._device = None
        if self.stream is not None:
            self.stream.blocks.put(None)
            self.stream = None


class VoiceControl:
    """Listens on a thread and calls `on_heard` for each command. While `sounding_until()` says the
    coach is sounding it is deaf, or, given an echo canceller, hears only WHILE_SOUNDING commands in
    what is left once the coach's sound is taken out. `state` is what a front end shows: listening,
    deaf, stop only, or off."""

    def __init__(self, listener: Listener, microphone: Microphone, on_heard: Callable[[Heard], None],
                 sounding_until: Callable[[], float] = lambda: 0.0, echo: EchoCanceller | None = None) -> None:
        self.listener = listener
        self.microphone = microphone
        self.on_heard = on_heard
        self.sounding_until = sounding_until
        # UNKNOT_DEBUG_VOICE=1: every utterance's verdict, and the echo canceller's matches, on stderr.
        debug = _to_stderr if os.environ.get("UNKNOT_DEBUG_VOICE") else None
        if echo is not None:
            echo.debug = debug
        self.hearing = Hearing(listener, echo, debug)
        self.state = "off"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="unknot-voice", daemon=True)

    def start(self) -> None:
        self.microphone.__enter__()
        self.state = "listening"
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.microphone.__exit__(None, None, None)
        self.listener.recognizer.close()
        self.state = "off"

    def _run(self) -> None:
        stream = self.microphone.stream
        assert stream is not None
        while not self._stop.is_set():
            try:
                block = stream.read_block(timeout=0.2)
            except queue.Empty:
                continue
            if block is None:
                return
            data, ended = block
            began = ended - len(data) / 2 / RATE
            try:
                found = self.hearing.block(data, ended, began < self.sounding_until() + DEAF_TAIL)
            except VoiceError:  # its decoder's worker has gone: the status line says "voice: off"
                self.state = "off"
                return
            self.state = self.hearing.state
            for heard in found:
                self.on_heard(heard)


class Hearing:
    """What the microphone's blocks come to, one at a time, with no thread: VoiceControl's loop, and the
    benchmarks'. `state` is deaf, stop only or listening."""

    def __init__(self, listener: Listener, echo: EchoCanceller | None = None,
                 debug: Callable[[str], None] | None = None, own_voice: float = OWN_VOICE) -> None:
        self.listener = listener
        self.echo = echo
        self.debug = debug
        self.own_voice = own_voice
        self.state = "listening"
        # how like the coach's sound each command heard over it was (the last ones: sessions are long)
        self.alike: collections.deque[float] = collections.deque(maxlen=KEPT_LIKENESS)

    def block(self, data: bytes, ended: float, sounding: bool) -> list[Heard]:
        """The commands to obey in `data` (16-bit PCM at RATE whose last sample was heard at monotonic
        `ended`); `sounding`: the coach was sounding while it was heard."""
        seconds = len(data) / 2 / RATE
        if self.echo is not None:
            data = self.echo.cancel(data, ended, sounding)
        if sounding and (self.echo is None or not self.echo.ready):
            self.state = "deaf"
            self.listener.deafen(seconds)
            return []
        self.state = "stop only" if sounding else "listening"
        seen = self.listener.decided
        found = self.listener.feed(data, over_sound=sounding)
        if self.debug is not None:
            for verdict in self.listener.since(seen):
                self.debug(f"voice: {verdict.reason} ({verdict.word}, {verdict.seconds:.2f} s, cover"
                           f" {verdict.cover:.2f}, fit {verdict.fit:.2f}, p {verdict.confidence:.2f}"
                           f"{', over the coach' if sounding else ''})")
        # The listener's stream seconds, as the microphone's clock: what it has not yet framed is
        # under 40 ms, well inside a word.
        late = ended - self.listener.position
        return [heard for heard in found if not heard.over_sound
                or (heard.command in WHILE_SOUNDING and not self._coach_own(heard, late))]

    def _coach_own(self, heard: Heard, late: float) -> bool:
        if self.echo is None or self.echo.echoless:
            return False
        likeness = self.echo.like_coach(heard.start + late, heard.end + late)
        self.alike.append(likeness)
        if self.debug is not None:
            self.debug(f"voice: {heard.word} over the coach, {likeness:.2f} like its sound")
        return likeness >= self.own_voice


def _to_stderr(line: str) -> None:
    print(f"{time.monotonic():.2f} {line}", file=sys.stderr, flush=True)


def echo_for(output: object) -> EchoCanceller | None:
    """An echo canceller for a sound output that remembers what it played; None without one."""
    played_since = getattr(output, "played_since", None)
    if played_since is None:
        return None
    try:
        return EchoCanceller(played_since)
    except NotInstalled:
        return None  # deaf while the coach sounds, as before
