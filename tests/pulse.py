"""A private PulseAudio server with null sinks, and tools to record and measure what played."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach.sound import SAMPLE_RATE

WINDOW = 0.005  # seconds per envelope value
LOUD = 0.002  # envelope level that counts as sound (-54 dBFS): a null sink and a file are silent


@dataclass
class PulseServer:
    folder: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    def pactl(self, *args: str) -> str:
        done = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=20)
        if done.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def client_env(self) -> dict[str, str]:
        """The variables a client finds this server by (PULSE_*, and HOME for its cookie and state)."""
        return {k: v for k, v in self.env.items() if k.startswith("PULSE") or k == "HOME"}

    def null_sink(self, name: str, microphone: bool = False) -> None:
        """A null sink, made the default output; with `microphone`, its monitor is the default input too:
        the microphone then hears exactly what plays."""
        self.pactl("load-module", "module-null-sink", f"sink_name={name}", f"sink_properties=device.description={name}")
        self.pactl("set-default-sink", name)
        if microphone:
            self.pactl("set-default-source", f"{name}.monitor")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_pulse(folder: Path) -> PulseServer:
    """PulseAudio on its own socket, so it never meets a server the machine already runs."""
    if shutil.which("pulseaudio") is None or shutil.which("parec") is None:
        raise RuntimeError("pulseaudio and parec are needed: scripts/setup installs them (pulseaudio-utils)")
    folder.mkdir(parents=True, exist_ok=True)
    socket = folder / "native"
    env = dict(os.environ)
    env.update(
        PULSE_SERVER=f"unix:{socket}",
        PULSE_RUNTIME_PATH=str(folder / "runtime"),
        PULSE_STATE_PATH=str(folder / "state"),
        HOME=str(folder),
    )
    env.pop("PULSE_COOKIE", None)
    process = subprocess.Popen(
        [
            "pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n", "--use-pid-file=no",
            "--disallow-exit", f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1",
            "--log-target=stderr", "--log-level=error",
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    server = PulseServer(folder, process, env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pulseaudio exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            server.pactl("info")
            return server
        except (RuntimeError, subprocess.TimeoutExpired):
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("pulseaudio did not start within 20 s")


class Recorder:
    """Records a sink's monitor with parec, timestamping the stream against the monotonic clock."""

    def __init__(self, server: PulseServer, sink: str) -> None:
        self.process = subprocess.Popen(
            ["parec", "-d", f"{sink}.monitor", "--format=s16le", f"--rate={SAMPLE_RATE}", "--channels=1",
             "--latency-msec=5", "--raw"],
            env=server.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self.chunks: list[bytes] = []
        self.first_data: float | None = None
        self.marks: list[tuple[int, float]] = []  # (samples so far, monotonic time they arrived)
        self._samples = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while True:
            chunk = self.process.stdout.read1(4096)
            if not chunk:
                return
            now = time.monotonic()
            if self.first_data is None:
                self.first_data = now - len(chunk) / 2 / SAMPLE_RATE
            self.chunks.append(chunk)
            self._samples += len(chunk) // 2
            self.marks.append((self._samples, now))

    def clock(self) -> tuple[float, float]:
        """(a, b) such that sample k was recorded at monotonic time a + b * k. A sound server's sample
        clock is not the monotonic clock (a null sink here runs ~300 ppm fast), so long recordings
        must be read on the monotonic clock, by the rate at which samples actually arrived."""
        counts = np.array([k for k, _ in self.marks], dtype=np.float64)
        times = np.array([t for _, t in self.marks], dtype=np.float64)
        slope, intercept = np.polyfit(counts, times, 1)
        return float(intercept), float(slope)

    def wait_for_data(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.first_data is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.first_data is None:
            raise RuntimeError("parec recorded nothing")

    def stop(self) -> np.ndarray:
        self.process.terminate()
        self.process.wait(timeout=10)
        self._thread.join(timeout=5)
        raw = b"".join(self.chunks)
        return np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0


def envelope(samples: np.ndarray) -> np.ndarray:
    """RMS over WINDOW-long windows."""
    size = round(WINDOW * SAMPLE_RATE)
    count = len(samples) // size
    frames = samples[: count * size].reshape(count, size)
    return np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1))


def onset_after(env: np.ndarray, start: float, end: float) -> float | None:
    """The first time in [start, end) seconds at which the envelope is loud."""
    lo, hi = max(0, int(start / WINDOW)), min(len(env), int(end / WINDOW))
    loud = np.flatnonzero(env[lo:hi] > LOUD)
    return (lo + loud[0]) * WINDOW if len(loud) else None


def onset_near(env: np.ndarray, expected: float, window: float = 0.2) -> float | None:
    """The first sound starting within `window` of `expected`: loud, and well above the level just before,
    so the fading tail of the sound before it does not count as this one's start."""
    lo, hi = max(6, int((expected - window) / WINDOW)), min(len(env), int((expected + window) / WINDOW))
    for i in range(lo, hi):
        if env[i] > LOUD and env[i] > 4 * env[i - 6 : i].min():
            return i * WINDOW
    return None


def locate(samples: np.ndarray, sound: np.ndarray, expected: float, window: float = 0.2) -> float:
    """Where `sound` starts in `samples`, searched within `window` seconds of `expected`: the peak of the
    normalised cross-correlation with the sound's first quarter second. Exact to a sample, and not
    fooled by a soft first consonant the way a level threshold is."""
    probe = sound[: min(len(sound), round(0.25 * SAMPLE_RATE))].astype(np.float64)
    lo = max(0, round((expected - window) * SAMPLE_RATE))
    hi = min(len(samples), round((expected + window) * SAMPLE_RATE) + len(probe))
    segment = samples[lo:hi].astype(np.float64)
    if len(segment) < len(probe) or not probe.any():
        return float("nan")
    size = len(segment) + len(probe)
    spectrum = np.fft.rfft(segment, size) * np.conj(np.fft.rfft(probe, size))
    corr = np.fft.irfft(spectrum, size)[: len(segment) - len(probe) + 1]
    energy = np.sqrt(np.convolve(segment**2, np.ones(len(probe)), "valid"))
    score = corr / (energy * np.linalg.norm(probe) + 1e-12)
    return (lo + int(np.argmax(score))) / SAMPLE_RATE


def loudest(env: np.ndarray, start: float, end: float) -> float:
    lo, hi = max(0, int(start / WINDOW)), min(len(env), int(end / WINDOW))
    return float(env[lo:hi].max()) if hi > lo else 0.0
