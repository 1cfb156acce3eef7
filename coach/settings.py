"""The user's settings, kept as JSON in the user config folder.

Loading never fails: a bad file or a bad value gives the default for that value only, and a problem
line `FILE:LINE:COL: what is wrong` that an editor can jump to. Saving loses nothing the user had: a
file that could not be read is kept as settings.json.bad, and settings this Unknot does not know are
written back unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from coach.engines import ENGINES
from coach.voice import COMMANDS

RATE_RANGE = (80, 300)  # words per minute
VOLUME_RANGE = (0.0, 1.0)
PACE_RANGE = (0.5, 1.5)  # multiplier on every breath timing


def settings_path() -> Path:
    return platformdirs.user_config_path("unknot") / "settings.json"


class SettingsError(Exception):
    """Settings that could not be used as written; each problem is `FILE:LINE:COL: what is wrong`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    engine: str = "pyttsx3"
    voice: str | None = None  # None: the engine's default voice
    rate: int = 150
    volume: float = 1.0
    breath_pace: float = 1.0
    chimes: bool = True
    voice_commands: bool = False
    stop_over_speech: bool = False  # obey "stop" while the coach speaks, through the echo canceller
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)  # command -> words, replacing its defaults
    microphone: str | None = None  # None: the system's default input

    def __post_init__(self) -> None:
        wrong = []
        for item in dataclasses.fields(self):
            try:
                # Frozen, so normalise in place the only way allowed (lists to tuples, 1 to 1.0).
                object.__setattr__(self, item.name, CHECKS[item.name](getattr(self, item.name)))
            except ValueError as exc:
                wrong.append(f"{item.name} {exc}")
        if wrong:
            raise ValueError("; ".join(wrong))

    def with_(self, **changes: Any) -> Settings:
        """A copy with `changes`; ValueError if a change is out of range or of the wrong type."""
        return dataclasses.replace(self, **changes)


# -- checks: each returns the value to keep, or raises ValueError saying what it must be -------------


def _engine(value: object) -> str:
    if value not in ENGINES:
        raise ValueError(f"must be one of {', '.join(ENGINES)}")
    assert isinstance(value, str)
    return value


def _name(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    raise ValueError("must be a name or null")


def _rate(value: object) -> int:
    low, high = RATE_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"must be a whole number from {low} to {high}")
    return value


def _number(low: float, high: float) -> Callable[[object], float]:
    def check(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError(f"must be a number from {low:g} to {high:g}")
        return float(value)

    return check


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _command_words(value: object) -> tuple[str, ...]:
    if (
        not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(word, str) and word.strip() for word in value)
    ):
        raise ValueError("must be a list of one or more words")
    return tuple(value)


def _words(value: object) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise ValueError("must be an object of command: [words]")
    unknown = [key for key in value if key not in COMMANDS]
    if unknown:
        raise ValueError(f"has unknown command {unknown[0]!r} (commands: {', '.join(COMMANDS)})")
    return {command: _command_words(words) for command, words in value.items()}


CHECKS: dict[str, Callable[[object], Any]] = {
    "engine": _engine,
    "voice": _name,
    "rate": _rate,
    "volume": _number(*VOLUME_RANGE),
    "breath_pace": _number(*PACE_RANGE),
    "chimes": _flag,
    "voice_commands": _flag,
    "stop_over_speech": _flag,
    "words": _words,
    "microphone": _name,
}
DEFAULTS = Settings()


# -- loading ------------------------------------------------------------------------------------------


def load_settings(path: Path | None = None, strict: bool = False) -> tuple[Settings, list[str]]:
    """The settings and the problems found; the defaults stand in for anything missing or bad.

    With `strict`, any problem raises SettingsError instead (for a check command).
    """
    path = path if path is not None else settings_path()
    problems: list[str] = []
    settings = _load(path, problems)
    if strict and problems:
        raise SettingsError(problems)
    return settings, problems


def _load(path: Path, problems: list[str]) -> Settings:
    def problem(line: int, col: int, what: str) -> None:
        problems.append(f"{path}:{line}:{col}: {what}")

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return DEFAULTS
    except UnicodeDecodeError as exc:
        problem(1, 1, f"is not UTF-8 text ({exc.reason}); using the default settings")
        return DEFAULTS
    except OSError as exc:
        problem(1, 1, f"cannot be read ({exc.strerror or exc}); using the default settings")
        return DEFAULTS
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problem(exc.lineno, exc.colno, f"is not valid JSON ({exc.msg}); using the default settings")
        return DEFAULTS
    if not isinstance(data, dict):
        problem(1, 1, "must be a JSON object of settings; using the default settings")
        return DEFAULTS

    good: dict[str, Any] = {}
    for key, value in data.items():
        line, col = _where(text, key)
        if key not in CHECKS:
            problem(line, col, f"unknown setting {key!r} (kept, but not used)")
        elif key == "words" and isinstance(value, dict):
            good[key] = _load_words(text, value, problem)
        else:
            try:
                good[key] = CHECKS[key](value)
            except ValueError as exc:
                default = getattr(DEFAULTS, key)
                problem(line, col, f"{key} {exc}, not {json.dumps(value)}; using {json.dumps(default)}")
    return Settings(**good)


def _load_words(text: str, words: dict[str, Any], problem: Callable[[int, int, str], None]) -> dict[str, Any]:
    """The good commands of "words"; each bad one is reported and left to its default words."""
    start = _offset(text, "words")
    good = {}
    for command, value in words.items():
        line, col = _where(text, command, start)
        if command not in COMMANDS:
            problem(line, col, f"words has unknown command {command!r} (commands: {', '.join(COMMANDS)}); ignored")
            continue
        try:
            good[command] = _command_words(value)
        except ValueError as exc:
            problem(line, col, f"words.{command} {exc}, not {json.dumps(value)}; using its default words")
    return good


def _offset(text: str, key: str, start: int | None = None) -> int | None:
    """Where `"key":` is written, or None (written with escapes, say).

    At the top level JSON keeps a repeated key's last value, so the last is the one; inside an object
    that starts at `start`, the first after it.
    """
    found = None
    for match in re.compile(rf'"{re.escape(key)}"\s*:').finditer(text, start or 0):
        found = match.start()
        if start is not None:
            break
    return found


def _where(text: str, key: str, start: int | None = None) -> tuple[int, int]:
    """The line and column (from 1) of `"key":` in text, or 1:1 when it cannot be found."""
    offset = _offset(text, key, start)
    if offset is None:
        return 1, 1
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


# -- saving -------------------------------------------------------------------------------------------


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write the settings atomically, keeping unknown settings and any unreadable file (as .bad)."""
    path = path if path is not None else settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {}
    try:
        old = path.read_bytes()
    except FileNotFoundError:
        old = None
    if old is not None:
        try:
            parsed = json.loads(old.decode("utf-8"))
        except ValueError:  # bad JSON or not UTF-8
            parsed = None
        if isinstance(parsed, dict):
            data = {key: value for key, value in parsed.items() if key not in CHECKS}
        else:
            shutil.copyfile(path, path.with_name(path.name + ".bad"))
    data.update(dataclasses.asdict(settings))
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"

    # Same folder, so os.replace is a rename: a crash leaves the old file or the new one, never half.
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
