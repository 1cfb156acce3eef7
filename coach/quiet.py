"""Keep native library noise ("ALSA lib ...", "Expression '...' failed") off the user's terminal.

Audio libraries write straight to file descriptor 2 from C, so redirecting sys.stderr is not enough.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

NOISE = ("ALSA lib ", "Expression '", "Cannot connect to server", "jack server", "JackShmReadWritePtr")

_lock = threading.Lock()
_filter: tuple[int, threading.Thread] | None = None


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Drop everything written to fd 2 while the block runs."""
    with _lock:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    try:
        yield
    finally:
        with _lock:
            os.dup2(saved, 2)
            os.close(saved)


def filter_stderr() -> None:
    """For the rest of the process, pass fd 2 through a filter that drops library noise lines."""
    global _filter
    if _filter is not None:
        return
    sys.stderr.flush()
    terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        with os.fdopen(read_end, "rb", closefd=True) as source, os.fdopen(terminal, "wb", buffering=0) as sink:
            for line in source:
                if not line.decode("utf-8", "replace").startswith(NOISE):
                    sink.write(line)

    thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
    thread.start()
    _filter = (terminal, thread)
    atexit.register(_drain)


def _drain() -> None:
    """At exit, close our end of the pipe so the filter passes on the last lines before we go."""
    if _filter is None:
        return
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    _filter[1].join(timeout=1.0)


def notice(text: str) -> None:
    """A line for the user on stderr, in order with stdout: straight to the terminal, past the filter."""
    line = (text + "\n").encode("utf-8", "replace")
    sys.stdout.flush()
    if _filter is not None:
        os.write(_filter[0], line)
    else:
        sys.stderr.buffer.write(line)
        sys.stderr.flush()


def private_stdout() -> TextIO:
    """The real stdout as a private reply channel; fd 1 and sys.stdout then go to /dev/null.

    Done at the fd level so prints from a library and from native code can never reach the protocol.
    """
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)  # os.dup: not inherited by children
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    return replies
