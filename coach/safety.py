"""When to see a doctor: the red flags from content/red-flags.yaml, shown by the CLI and the TUI."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from coach.library import content_dir
from coach.yamlsrc import YamlError, parse

_SCHEMA = {
    "type": "object",
    "required": ["title", "intro", "signs", "closing"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string"},
        "intro": {"type": "string"},
        "closing": {"type": "string"},
        "signs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["text"],
                "additionalProperties": False,
                "properties": {"text": {"type": "string"}, "urgent": {"type": "boolean"}},
            },
        },
    },
}


@dataclass(frozen=True)
class Sign:
    text: str
    urgent: bool


@dataclass(frozen=True)
class RedFlags:
    title: str
    intro: str
    signs: tuple[Sign, ...]
    closing: str

    def as_text(self, width: int = 88) -> str:
        def wrap(text: str, indent: str = "") -> str:
            return textwrap.fill(text, width, initial_indent=indent, subsequent_indent=" " * len(indent))

        lines = [self.title, "=" * len(self.title), wrap(self.intro), ""]
        urgent = [s for s in self.signs if s.urgent]
        other = [s for s in self.signs if not s.urgent]
        if urgent:
            lines.append("Get help now:")
            lines += [wrap(s.text, "  ! ") for s in urgent]
            lines.append("")
        if other:
            lines.append("See a doctor soon if:")
            lines += [wrap(s.text, "  - ") for s in other]
            lines.append("")
        lines.append(wrap(self.closing))
        return "\n".join(lines)


def red_flags_path() -> Path:
    return content_dir() / "red-flags.yaml"


def load_red_flags(path: Path | None = None) -> RedFlags:
    """Raises ValueError with FILE:LINE:COL when the file is damaged."""
    path = path or red_flags_path()
    try:
        root = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the safety list: {error}") from None
    except YamlError as error:
        raise ValueError(f"{path}:{error.mark.line}:{error.mark.col}: {error.message}") from None
    data = root.plain()
    import jsonschema  # slow to import; only this command needs it

    problem = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(_SCHEMA).iter_errors(data))
    if problem is not None:
        node = root.at(tuple(problem.absolute_path)) or root
        raise ValueError(f"{path}:{node.mark.line}:{node.mark.col}: {problem.message}")
    signs = tuple(Sign(s["text"].strip(), bool(s.get("urgent", False))) for s in data["signs"])
    return RedFlags(data["title"].strip(), data["intro"].strip(), signs, data["closing"].strip())
