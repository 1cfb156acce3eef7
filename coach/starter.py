"""The commented starter routine that `unknot new ID` writes."""

from __future__ import annotations

from pathlib import Path

TEMPLATE = """\
# yaml-language-server: $schema=__SCHEMA__
# An Unknot routine, format 1. Every key is explained in docs/routines.md.
# Check it with:  unknot validate __PATH__
# Try it with:    unknot show __ID__
format: 1
id: __ID__
title: __TITLE__
summary: One or two sentences shown in the picker.
tags: [relaxation]
position: lying            # lying, seated, standing or any
safety: Stop if the pain sharpens or spreads down a leg.
breath: {inhale: 5, hold: 1, exhale: 4, rest: 0}   # the routine's default breath, in seconds

steps:
  - say: Lie on your back with your knees bent and your feet flat on the floor.

  - name: Settle the breath
    breathe:
      cycles: 4            # 4 cycles of 5 + 1 + 4 seconds: 40 seconds
      count: true          # counts the in-breath aloud: in, two, three, four, five

  - name: Knee to chest
    stretch:
      sides: [right, left]
      say: Bring your {side} knee slowly toward your chest.
      hold: {breaths: 5}   # or {seconds: 30}
      release: Lower your {side} foot to the floor.
      rest: 5s             # durations: 20, 45s, 2m, 1m30s

  - imagery:
      lines:
        - Picture the tight muscle as a knot.
        - With each breath out, the knot loosens a little.

  - chime: bell            # bell, soft, rise or fall
  - say: Well done. Rest here as long as you like.
"""


def starter(routine_id: str, path: str, schema_uri: str) -> str:
    title = routine_id.replace("-", " ").capitalize()
    return (
        TEMPLATE.replace("__ID__", routine_id)
        .replace("__TITLE__", title)
        .replace("__PATH__", path)
        .replace("__SCHEMA__", schema_uri)
    )


def write_starter(routine_id: str, folder: Path) -> Path:
    """Writes FOLDER/ID.yaml from the starter, never over a file (FileExistsError); returns its path."""
    path = folder / f"{routine_id}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    schema_uri = (Path(__file__).resolve().parent / "schema" / "routine-1.schema.json").as_uri()
    with path.open("x", encoding="utf-8") as handle:
        handle.write(starter(routine_id, str(path), schema_uri))
    return path
