"""Routine format 1: read a YAML file, check it against the contract, build a Routine.

Structure is checked by the JSON Schema shipped in coach/schema (the same file editors use), so the
loader and editors cannot disagree on it; what a schema cannot say (durations written as text,
placeholders, expanded size, total length) is checked here. Every problem names FILE:LINE:COL and
the path to the bad value.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

import platformdirs

from coach import model as m
from coach.yamlsrc import Mark, Node, YamlError, parse

SCHEMA_FILE = "routine-1.schema.json"
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")  # used with fullmatch
DEFAULT_IN = "Breathe in"
STEP_KINDS = ("say", "pause", "chime", "breathe", "hold", "stretch", "imagery", "timer", "wait", "repeat")

PathParts = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class RoutineError(Exception):
    """A routine file that cannot be used; `problems` says every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@cache
def schema() -> dict[str, Any]:
    text = resources.files("coach").joinpath("schema").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # a tenth of a second to import: only when a file is new or has changed

    return jsonschema.Draft202012Validator(schema())


LOADER_VERSION = 1  # bump when the checks change, so files checked before are checked again


@cache
def _schema_digest() -> str:
    return hashlib.sha256(json.dumps(schema(), sort_keys=True).encode()).hexdigest()


def _checked_marker(text: str, default_id: str | None) -> Path:
    """A file named by everything a check depends on: its existence means this text passed."""
    key = json.dumps([LOADER_VERSION, _schema_digest(), default_id, text])
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return platformdirs.user_cache_path("unknot") / "checked" / digest


@cache
def _duration_re() -> re.Pattern[str]:
    # One pattern for both: the loader parses durations with the schema's own pattern.
    pattern: str = schema()["$defs"]["duration"]["anyOf"][1]["pattern"]
    return re.compile(pattern)


def parse_duration(value: object) -> float | None:
    """Seconds from a number or text like 45s, 2m, 1m30s, 1h; None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    found = _duration_re().match(value)
    if not found:
        return None
    hours, minutes, seconds = (float(g) if g else 0.0 for g in found.groups())
    return hours * 3600 + minutes * 60 + seconds


def format_path(parts: PathParts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def show(value: object) -> str:
    """A value as the user wrote it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, date):
        return value.isoformat()
    return type(value).__name__


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


class _Checker:
    """Collects problems for one file."""

    def __init__(self, file: str, root: Node) -> None:
        self.file = file
        self.root = root
        self.problems: list[Problem] = []

    def add(self, parts: PathParts, message: str, mark: Mark | None = None) -> None:
        if mark is None:
            node = self.root.at(parts)
            mark = node.mark if node is not None else self.root.mark
        self.problems.append(Problem(self.file, mark.line, mark.col, format_path(parts), message))

    def add_key(self, parts: PathParts, key: str, message: str) -> None:
        node = self.root.at(parts)
        mark = node.key_mark(key) if node is not None else self.root.mark
        self.add((*parts, key), message, mark)

    # -- structure, from the schema ---------------------------------------------------------------

    def check_schema(self, data: object) -> None:
        errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
        suggested: set[tuple[PathParts, str]] = set()
        unknown_at: set[PathParts] = set()
        for error in errors:
            if error.validator == "additionalProperties":
                parts = tuple(error.absolute_path)
                unknown_at.add(parts)
                known = list(error.schema.get("properties", {}))
                for key in error.instance:
                    what = error.schema.get("x-what", "key")
                    if key in known:
                        continue
                    guess = _did_you_mean(str(key), known)
                    what = "key" if guess == "name" else what
                    if guess:
                        suggested.add((parts, guess))
                        self.add_key(parts, key, f"unknown {what} '{key}' (did you mean '{guess}'?)")
                    else:
                        self.add_key(parts, key, f"unknown {what} '{key}'; expected one of: {', '.join(known)}")
        wrong_type = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
        for error in errors:
            parts = tuple(error.absolute_path)
            if error.validator == "additionalProperties":
                continue
            if error.validator == "required":
                for key in error.validator_value:
                    if key not in error.instance and (parts, key) not in suggested:
                        self.add(parts, f"missing the required key '{key}'")
                continue
            if error.validator == "oneOf" and (parts in unknown_at or parts in wrong_type):
                continue  # the unknown key or the wrong type already explains it
            self.add(parts, self._message(error))

    @staticmethod
    def _message(error: jsonschema.ValidationError) -> str:
        custom = error.schema.get("x-messages", {}) if isinstance(error.schema, dict) else {}
        message = custom.get(error.validator)
        if error.validator == "enum":
            choices = [str(c) for c in error.validator_value]  # type: ignore[union-attr]
            text = f"expected one of {', '.join(choices)}, got {show(error.instance)}"
            guess = _did_you_mean(str(error.instance), choices)
            return f"{text} (did you mean '{guess}'?)" if guess else text
        if message is None:
            message = error.message
        if error.validator in ("type", "anyOf", "const", "pattern", "minimum", "maximum", "exclusiveMinimum"):
            message += f", got {show(error.instance)}"
        elif error.validator == "maxLength" and isinstance(error.instance, str):
            message += f" (this one has {len(error.instance):,})"
        return message

    # -- meaning, which the schema cannot say -----------------------------------------------------

    def duration(self, parts: PathParts, value: object, zero_ok: bool = False) -> float:
        seconds = parse_duration(value)
        if seconds is None:  # the schema has already said so
            return 0.0
        if not math.isfinite(seconds):
            self.add(parts, f"expected seconds {'>=' if zero_ok else '>'} 0, got {show(value)}")
        elif seconds > m.MAX_SECONDS:
            self.add(parts, f"{show(value)} is longer than the 4-hour limit")
        elif seconds < 0 or (seconds == 0 and not zero_ok):
            self.add(parts, f"expected seconds {'>=' if zero_ok else '>'} 0, got {show(value)}")
        return seconds

    def text(
        self, parts: PathParts, value: str | None, allowed: tuple[str, ...] = (), in_stretch: bool = False
    ) -> str | None:
        """Checks placeholders. Texts inside a stretch and texts that allow placeholders stay templates
        (the plan fills them in); any other text comes back with {{ and }} made literal."""
        if value is None:
            return None
        try:
            fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(value) if f is not None]
        except ValueError:
            self.add(parts, "a lone '{' or '}': write {{ or }} for a literal brace")
            return value
        for name, spec, conv in fields:
            if spec or conv:
                self.add(parts, f"a placeholder takes no format: write {{{name}}} (or {{{{ for a literal brace)")
                return value
            if name == "side" and in_stretch and not allowed:
                self.add(parts, "{side} needs a list of sides, like sides: [right, left]")
                return value
            if name not in allowed:
                where = (
                    f"only {', '.join('{' + a + '}' for a in allowed)} may be used here"
                    if allowed
                    else "no placeholders may be used here"
                )
                self.add(parts, f"unknown placeholder {{{name}}}: {where} (write {{{{ for a literal brace)")
                return value
        return value if allowed or in_stretch else value.format()

    def breath(self, parts: PathParts, data: dict[str, Any] | None, base: m.Breath) -> m.Breath:
        if not data:
            return base
        return m.Breath(
            inhale=self.duration((*parts, "inhale"), data["inhale"]) if "inhale" in data else base.inhale,
            hold=self.duration((*parts, "hold"), data["hold"], zero_ok=True) if "hold" in data else base.hold,
            exhale=self.duration((*parts, "exhale"), data["exhale"]) if "exhale" in data else base.exhale,
            rest=self.duration((*parts, "rest"), data["rest"], zero_ok=True) if "rest" in data else base.rest,
        )

    def steps(self, parts: PathParts, items: list[Any], breath: m.Breath, depth: int) -> tuple[m.Step, ...]:
        return tuple(self.step((*parts, i), item, breath, depth) for i, item in enumerate(items))

    def step(self, parts: PathParts, data: dict[str, Any], breath: m.Breath, depth: int) -> m.Step:
        kind = next(k for k in STEP_KINDS if k in data)
        body = data[kind]
        here = (*parts, kind)
        name = data.get("name")
        if isinstance(body, dict) and "name" in body:
            if name is not None:
                self.add_key(here, "name", "the step has a name already; give it once")
            name = body["name"]
        node = self.root.at(parts)
        mark = node.mark if node else self.root.mark
        common: dict[str, Any] = {
            "name": self.text((*parts, "name"), name),
            "where": m.Where(format_path(parts), mark.line, mark.col),
        }
        if kind == "say":
            return m.Say(text=self.text(here, body) or "", **common)
        if kind == "wait":
            return m.Wait(text=self.text(here, body) or "", **common)
        if kind == "pause":
            return m.Pause(seconds=self.duration(here, body), **common)
        if kind == "chime":
            return m.Chime(sound=body, **common)
        if kind == "breathe":
            cues = body.get("cues", {})
            return m.Breathe(
                cycles=int(body["cycles"]),
                breath=self.breath(here, body, breath),
                count=bool(body.get("count", False)),
                cues=(
                    # Counted, the in-breath starts "In, two, three": short enough to fit its second.
                    self.text((*here, "cues", "inhale"), cues.get("inhale", "In" if body.get("count") else DEFAULT_IN))
                    or "",
                    self.text((*here, "cues", "hold"), cues.get("hold", "Hold")) or "",
                    self.text((*here, "cues", "exhale"), cues.get("exhale", "Breathe out")) or "",
                ),
                say=self.text((*here, "say"), body.get("say")),
                **common,
            )
        if kind == "hold":
            return self.hold(here, body, breath, common)
        if kind == "stretch":
            sides = tuple(body.get("sides", ()))
            side = ("side",) if sides else ()
            return m.Stretch(
                say=self.text((*here, "say"), body.get("say"), side, in_stretch=True),
                sides=sides,
                hold=self.hold((*here, "hold"), body["hold"], breath, {}, side, in_stretch=True),
                release=self.text((*here, "release"), body.get("release"), side, in_stretch=True),
                rest=self.duration((*here, "rest"), body["rest"], zero_ok=True) if "rest" in body else 0.0,
                **common,
            )
        if kind == "imagery":
            return m.Imagery(
                lines=tuple(self.text((*here, "lines", i), line) or "" for i, line in enumerate(body["lines"])),
                breath=self.breath((*here, "breath"), body.get("breath"), breath),
                breaths_per_line=int(body.get("breaths_per_line", 1)),
                **common,
            )
        if kind == "timer":
            reminder = self.text((*here, "reminder"), body.get("reminder"), ("remaining",))
            return m.Timer(
                seconds=self.duration((*here, "duration"), body["duration"]),
                say=self.text((*here, "say"), body.get("say")),
                remind_every=self._optional_duration(here, body, "remind_every"),
                reminder=reminder if reminder is not None else "{remaining} left.",
                end=self.text((*here, "end"), body.get("end")),
                **common,
            )
        assert kind == "repeat"
        if depth >= m.MAX_REPEAT_DEPTH:
            self.add(here, f"repeat is nested more than {m.MAX_REPEAT_DEPTH} deep")
            return m.Repeat(times=1, steps=(), **common)
        return m.Repeat(
            times=int(body["times"]), steps=self.steps((*here, "steps"), body["steps"], breath, depth + 1), **common
        )

    def _optional_duration(self, parts: PathParts, body: dict[str, Any], key: str) -> float | None:
        return self.duration((*parts, key), body[key]) if key in body else None

    def hold(
        self,
        parts: PathParts,
        body: dict[str, Any],
        breath: m.Breath,
        common: dict[str, Any],
        side: tuple[str, ...] = (),
        in_stretch: bool = False,
    ) -> m.Hold:
        if not common and "name" in body:
            common = {"name": self.text((*parts, "name"), body["name"])}
        return m.Hold(
            seconds=self._optional_duration(parts, body, "seconds"),
            breaths=int(body["breaths"]) if "breaths" in body else None,
            breath=breath,
            say=self.text((*parts, "say"), body.get("say"), side, in_stretch),
            remind_every=self._optional_duration(parts, body, "remind_every"),
            end=self.text((*parts, "end"), body.get("end"), side, in_stretch),
            **common,
        )

    def count_steps(self, steps: tuple[m.Step, ...]) -> None:
        """The contract's 2,000-step limit, counted without expanding anything."""
        total = 0
        for step in steps:
            total += _expanded(step)
            if total > m.MAX_STEPS:
                self.problems.append(
                    Problem(
                        self.file, step.where.line, step.where.col, step.where.path,
                        f"with this step the routine has more than {m.MAX_STEPS:,} steps once every "
                        "repeat and side is counted",
                    )
                )
                return


def _expanded(step: m.Step) -> int:
    if isinstance(step, m.Repeat):
        return step.times * sum(_expanded(s) for s in step.steps)
    if isinstance(step, m.Stretch):
        return max(1, len(step.sides))
    return 1


def load_text(text: str, file: str, default_id: str | None = None) -> m.Routine:
    """Build a routine from YAML text; `file` names it in messages. Raises RoutineError."""
    if len(text.encode("utf-8", "surrogatepass")) > m.MAX_FILE_BYTES:
        raise RoutineError([Problem(file, 1, 1, "", f"the file is larger than {m.MAX_FILE_BYTES // 1024} KiB")])
    try:
        root = parse(text)
    except YamlError as error:
        problem = Problem(file, error.mark.line, error.mark.col, format_path(error.path), error.message)
        raise RoutineError([problem]) from None
    data = root.plain()
    check = _Checker(file, root)
    if data is None:
        check.add((), "the file is empty: a routine needs at least a title and steps")
        raise RoutineError(check.problems)
    marker = _checked_marker(text, default_id)
    known_good = marker.exists()
    if not known_good:
        check.check_schema(data)
        if check.problems:
            raise RoutineError(_sorted(check.problems))

    routine_id = data.get("id", default_id)
    if "id" not in data and (routine_id is None or not ID_PATTERN.fullmatch(routine_id) or len(routine_id) > 64):
        given = f"the file name gives the id {show(routine_id)}, which is not" if routine_id else "there is no id:"
        check.add((), f"{given} lowercase letters, digits and dashes: add an id: key or rename the file")
    breath = check.breath(("breath",), data.get("breath"), m.Breath())
    steps = check.steps(("steps",), data["steps"], breath, 0)
    check.count_steps(steps)
    routine = m.Routine(
        id=routine_id or "",
        title=check.text(("title",), data["title"]) or "",
        summary=check.text(("summary",), data.get("summary")) or "",
        tags=tuple(data.get("tags", ())),
        position=data.get("position", "any"),
        safety=check.text(("safety",), data.get("safety")),
        breath=breath,
        steps=steps,
    )
    if not check.problems:
        from coach.plan import PlanLimitError, SilentDurations, compile_plan

        try:
            compile_plan(routine, SilentDurations())
        except PlanLimitError as error:
            where = error.where
            check.problems.append(Problem(file, where.line, where.col, where.path, error.message))
    if check.problems:
        raise RoutineError(_sorted(check.problems))
    if not known_good:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # only a cache: the next load checks the file again
    return routine


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.col))


def load_file(path: Path) -> m.Routine:
    """Load one routine file. Raises RoutineError, never anything else for a bad file."""
    name = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(m.MAX_FILE_BYTES + 1)
    except OSError as error:
        raise RoutineError([Problem(name, 1, 1, "", f"cannot read the file: {error.strerror}")]) from None
    if len(raw) > m.MAX_FILE_BYTES:
        raise RoutineError([Problem(name, 1, 1, "", f"the file is larger than {m.MAX_FILE_BYTES // 1024} KiB")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, error.start) + 1
        col = len(raw[line_start : error.start].decode("utf-8", "replace")) + 1
        raise RoutineError([Problem(name, line, col, "", "the file is not UTF-8 text")]) from None
    return dataclasses.replace(load_text(text, name, default_id=path.stem), path=path)


def validate_text(text: str, file: str, default_id: str | None = None) -> list[Problem]:
    try:
        load_text(text, file, default_id)
    except RoutineError as error:
        return error.problems
    return []


# Content files beside the routines that are not routines themselves.
NOT_ROUTINES = frozenset({"red-flags.yaml"})


def iter_routine_files(folder: Path) -> Iterator[Path]:
    """Routine files in a folder and below it, in a stable order."""
    for path in sorted(folder.rglob("*")):
        if (
            path.suffix in (".yaml", ".yml")
            and path.name not in NOT_ROUTINES
            and not path.name.startswith(".")
            and path.is_file()
        ):
            yield path
