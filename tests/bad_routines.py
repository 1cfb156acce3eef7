"""Malformed routine files, one per failure mode of the format contract (/work/shared/routine-format.md).

Shared by test_loader_table.py (the loader's messages) and test_schema_agreement.py (the JSON Schema's
verdicts). Every expected line, column and path was worked out from the YAML text by hand: columns
are 1-based and count characters; a problem about a value points at the value's first character (for
a block mapping, that is its first key), a problem about an unknown or repeated key points at the
key, and a problem about the whole file points at 1:1 with an empty path.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from coach import model as m
from coach.routines import load_file, load_text


class Row(NamedTuple):
    id: str
    text: str | bytes  # bytes: written to a file and read with load_file
    line: int
    col: int
    path: str
    message: str  # a substring of the problem's message
    file: str = "routine.yaml"  # the id defaults to its stem
    bug: str | None = None  # set: the row is a strict xfail, for this reason


# A head and tail that are valid on their own, so each row has exactly one mistake.
TITLE = "title: Test\n"
STEPS = "steps:\n  - say: Hello.\n"
HEAD = "title: Test\nsteps:\n"  # the first step is on line 3: '-' at col 3, its key at col 5


def deep_repeat(levels: int) -> str:
    """`levels` repeats, each the only step of the one above; block style, 6 more spaces a level."""
    out = HEAD
    for level in range(levels):
        pad = " " * (2 + 6 * level)
        out += f"{pad}- repeat:\n{pad}    times: 2\n{pad}    steps:\n"
    return out + " " * (2 + 6 * levels) + "- say: Too deep.\n"


TEN_SIDES = "[a, b, c, d, e, f, g, h, i, j]"

BAD: list[Row] = [
    # -- top level ---------------------------------------------------------------------------------
    Row("format-2", "format: 2\n" + TITLE + STEPS, 1, 9, "format", "reads format 1"),
    Row("format-string-1", 'format: "1"\n' + TITLE + STEPS, 1, 9, "format", "reads format 1"),
    Row("id-bad-pattern", "id: Knee_Stretch\n" + TITLE + STEPS, 1, 5, "id", "lowercase letters, digits and dashes"),
    Row("id-too-long", "id: " + "a" * 65 + "\n" + TITLE + STEPS, 1, 5, "id", "at most 64"),
    Row(
        "id-trailing-newline",
        'id: "knee\\n"\n' + TITLE + STEPS, 1, 5, "id", "lowercase letters, digits and dashes",
    ),
    Row("id-from-file-name", TITLE + STEPS, 1, 1, "", "rename the file", file="Knee Stretch.yaml"),
    Row("title-missing", STEPS, 1, 1, "", "missing the required key 'title'"),
    Row("title-empty", "title: ''\n" + STEPS, 1, 8, "title", "the title is empty"),
    Row("steps-missing", TITLE, 1, 1, "", "missing the required key 'steps'"),
    Row("steps-empty", TITLE + "steps: []\n", 2, 8, "steps", "at least one step"),
    Row("steps-not-a-list", TITLE + "steps: say hello\n", 2, 8, "steps", "expected a list of steps"),
    Row("unknown-key-near", TITLE + "sumary: Short.\n" + STEPS, 2, 1, "sumary", "did you mean 'summary'?"),
    Row("unknown-key-far", TITLE + "colour: blue\n" + STEPS, 2, 1, "colour", "expected one of: format, id"),
    Row("position-near", TITLE + "position: lyng\n" + STEPS, 2, 11, "position", "did you mean 'lying'?"),
    Row("tags-not-a-list", TITLE + "tags: lower back\n" + STEPS, 2, 7, "tags", "expected a list of tags"),
    # 'breath: {inhale: 4, ' is 20 characters
    Row("breath-unknown-key", TITLE + "breath: {inhale: 4, exhal: 4}\n" + STEPS, 2, 21, "breath.exhal",
        "did you mean 'exhale'?"),
    # 'breath: {inhale: ' is 17 characters
    Row("breath-inhale-0s", TITLE + "breath: {inhale: 0s}\n" + STEPS, 2, 18, "breath.inhale",
        "expected seconds > 0"),
    # -- steps ---------------------------------------------------------------------------------------
    Row("kind-unknown-near", HEAD + "  - sya: Hello.\n", 3, 5, "steps[0].sya", "did you mean 'say'?"),
    Row("kind-two", HEAD + "  - say: Hello.\n    pause: 3\n", 3, 5, "steps[0]", "exactly one kind"),
    Row("kind-only-name", HEAD + "  - name: Rest\n", 3, 5, "steps[0]", "exactly one kind"),
    Row("kind-plain-string", HEAD + "  - say hello\n", 3, 5, "steps[0]", "expected a step"),
    Row("chime-unknown", HEAD + "  - chime: ding\n", 3, 12, "steps[0].chime", "expected one of bell, soft"),
    # -- durations ('  - pause: ' is 11 characters) ---------------------------------------------------
    Row("duration-words", HEAD + "  - pause: five\n", 3, 12, "steps[0].pause", "expected seconds > 0"),
    Row("duration-0", HEAD + "  - pause: 0\n", 3, 12, "steps[0].pause", "expected seconds > 0"),
    Row("duration-0s", HEAD + "  - pause: 0s\n", 3, 12, "steps[0].pause", "expected seconds > 0"),
    Row("duration-negative", HEAD + "  - pause: -5\n", 3, 12, "steps[0].pause", "expected seconds > 0"),
    Row("duration-over-4h-number", HEAD + "  - pause: 14401\n", 3, 12, "steps[0].pause", "at most 4h"),
    Row("duration-over-4h-text", HEAD + "  - pause: 5h\n", 3, 12, "steps[0].pause", "longer than the 4-hour limit"),
    Row(
        "duration-nan", HEAD + "  - pause: .nan\n", 3, 12, "steps[0].pause", "expected seconds > 0",
    ),
    # -- breathe ('  - breathe: ' is 13 characters, '  - breathe: {cycles: ' is 22) --------------------
    Row("breathe-no-cycles", HEAD + "  - breathe: {inhale: 4}\n", 3, 14, "steps[0].breathe",
        "missing the required key 'cycles'"),
    Row("cycles-0", HEAD + "  - breathe: {cycles: 0}\n", 3, 23, "steps[0].breathe.cycles", "from 1 to 200"),
    Row("cycles-201", HEAD + "  - breathe: {cycles: 201}\n", 3, 23, "steps[0].breathe.cycles", "from 1 to 200"),
    Row("cycles-2.5", HEAD + "  - breathe: {cycles: 2.5}\n", 3, 23, "steps[0].breathe.cycles",
        "whole number of cycles"),
    # '  - breathe: {cycles: 3, count: ' and '  - breathe: {cycles: 3, cues: {' are 32 characters
    Row("count-not-bool", HEAD + "  - breathe: {cycles: 3, count: 3}\n", 3, 33, "steps[0].breathe.count",
        "expected true or false"),
    Row("cues-unknown-key", HEAD + "  - breathe: {cycles: 3, cues: {inhal: In}}\n", 3, 33,
        "steps[0].breathe.cues.inhal", "did you mean 'inhale'?"),
    # -- hold ('  - hold: ' is 10 characters) ----------------------------------------------------------
    Row("hold-both", HEAD + "  - hold: {seconds: 20, breaths: 3}\n", 3, 11, "steps[0].hold",
        "exactly one of seconds or breaths"),
    Row("hold-neither", HEAD + "  - hold: {say: Hold it.}\n", 3, 11, "steps[0].hold",
        "exactly one of seconds or breaths"),
    Row("hold-misspelt", HEAD + "  - hold: {secnds: 20}\n", 3, 12, "steps[0].hold.secnds",
        "did you mean 'seconds'?"),
    # -- stretch ---------------------------------------------------------------------------------------
    Row("stretch-no-hold", HEAD + "  - stretch: {say: Reach up.}\n", 3, 14, "steps[0].stretch",
        "missing the required key 'hold'"),
    # '      say: ' is 11 characters
    Row("side-without-sides", HEAD + "  - stretch:\n      say: Turn to the {side}.\n      hold: {seconds: 10}\n",
        4, 12, "steps[0].stretch.say", "needs a list of sides"),
    Row(
        "side-format-spec",
        HEAD + "  - stretch:\n      sides: [right, left]\n      say: Turn to the {side:d}.\n"
        "      hold: {seconds: 10}\n",
        5, 12, "steps[0].stretch.say", "side",
    ),
    # -- texts and placeholders ('  - say: ' is 9 characters) ------------------------------------------
    Row("side-in-say", HEAD + "  - say: Turn to the {side}.\n", 3, 10, "steps[0].say", "unknown placeholder {side}"),
    # '      reminder: ' is 16 characters
    Row("reminder-unknown-placeholder",
        HEAD + "  - timer:\n      duration: 10m\n      remind_every: 2m\n      reminder: '{left} to go'\n",
        6, 17, "steps[0].timer.reminder", "unknown placeholder {left}"),
    Row(
        "reminder-nested-field",
        HEAD + "  - timer:\n      duration: 10m\n      remind_every: 2m\n      reminder: '{remaining:{x}} left'\n",
        6, 17, "steps[0].timer.reminder", "remaining",
    ),
    Row("lone-brace", HEAD + "  - say: 'A curly { brace.'\n", 3, 10, "steps[0].say", "a lone '{'"),
    Row("text-too-long", HEAD + "  - say: " + "a" * 1001 + "\n", 3, 10, "steps[0].say", "1,000 characters"),
    # '  - imagery: {lines: ' is 21 characters
    Row("imagery-no-lines", HEAD + "  - imagery: {lines: []}\n", 3, 22, "steps[0].imagery.lines",
        "at least one line"),
    # -- repeat and limits ('  - repeat: {times: ' is 20 characters) -----------------------------------
    Row("repeat-0", HEAD + "  - repeat: {times: 0, steps: [say: Hi.]}\n", 3, 21, "steps[0].repeat.times",
        "from 1 to 100"),
    Row("repeat-101", HEAD + "  - repeat: {times: 101, steps: [say: Hi.]}\n", 3, 21, "steps[0].repeat.times",
        "from 1 to 100"),
    # the fifth repeat is on line 15; its body's first key, times, is on line 16 at col 2 + 4*6 + 5
    Row("repeat-5-deep", deep_repeat(5), 16, 31, "steps[0]" + ".repeat.steps[0]" * 4 + ".repeat",
        "nested more than 4 deep"),
    # 100 rounds of 3 stretches of 10 sides: 3,000 steps; the repeat is the second step
    Row(
        "too-many-steps",
        HEAD + "  - say: Hello.\n  - repeat:\n      times: 100\n      steps:\n"
        + f"        - stretch: {{sides: {TEN_SIDES}, hold: {{seconds: 1}}}}\n" * 3,
        4, 5, "steps[1]", "more than 2,000 steps",
    ),
    # the fifth round of the timer would end at 5 h: the timer step is on line 6, its key at col 11
    Row("too-long-total", HEAD + "  - repeat:\n      times: 5\n      steps:\n        - timer: {duration: 1h}\n",
        6, 11, "steps[0].repeat.steps[0]", "longer than the 4-hour limit"),
    Row("too-many-cues", HEAD + "  - timer: {duration: 3h, remind_every: 0.1}\n", 3, 5, "steps[0]",
        "more than 50,000 cues"),
    # '    breathe: {' is 14 characters
    Row("name-twice", HEAD + "  - name: Slow breaths\n    breathe: {name: Breaths, cycles: 3}\n", 4, 15,
        "steps[0].breathe.name", "has a name already"),
    # -- YAML ----------------------------------------------------------------------------------------
    Row("duplicate-key", HEAD + "  - breathe:\n      cycles: 3\n      cycles: 4\n", 5, 7,
        "steps[0].breathe.cycles", "appears twice"),
    # the second ':' on 'summary: a: b' is its 11th character
    Row("yaml-syntax", TITLE + "summary: a: b\n" + STEPS, 2, 11, "", "not valid YAML"),
    Row("second-document", TITLE + STEPS + "---\ntitle: Again\n", 4, 1, "", "one YAML document"),
    Row("python-tag", TITLE + "steps: !!python/object/apply:os.system [echo hi]\n", 2, 8, "steps",
        "!!python/object/apply:os.system is not allowed"),
    Row("local-tag", "title: !shout Hello\n" + STEPS, 1, 8, "title", "the tag !shout is not allowed"),
    Row("alias-without-anchor", "title: *name\n" + STEPS, 1, 8, "title", "no anchor &name"),
    Row("alias-recursive", TITLE + "steps: &s\n  - say: Hello.\n  - *s\n", 4, 5, "steps[1]", "contains it"),
    # the root mapping is level 1 and the n-th '[' level n + 1: the 64th '[' (col 8 + 63) is level 65
    Row("nesting-65", TITLE + "steps: " + "[" * 70 + "]" * 70 + "\n", 2, 71, "steps" + "[0]" * 63,
        "nested more than 64 deep"),
    # -- the file as a whole --------------------------------------------------------------------------
    Row("empty-file", "", 1, 1, "", "the file is empty"),
    Row("comment-only-file", "# nothing here yet\n", 1, 1, "", "the file is empty"),
    Row("list-not-mapping", "- say: Hello.\n", 1, 1, "", "expected a mapping"),
    Row("file-over-256k", TITLE + STEPS + "#" * (256 * 1024) + "\n", 1, 1, "", "larger than 256 KiB"),
    # 'title: caf' is 10 bytes; the Latin-1 e-acute is the 11th
    Row("not-utf8", b"title: caf\xe9\n" + STEPS.encode(), 1, 11, "", "not UTF-8"),
]

ROWS_BY_ID = {row.id: row for row in BAD}
assert len(ROWS_BY_ID) == len(BAD), "row ids must be unique"


def load_row(row: Row, folder: Path) -> m.Routine:
    """Load a row as the app would: text rows by load_text, byte rows from a file by load_file."""
    if isinstance(row.text, bytes):
        path = folder / row.file
        path.write_bytes(row.text)
        return load_file(path)
    return load_text(row.text, row.file, default_id=Path(row.file).stem)


def file_name(row: Row, folder: Path) -> str:
    return str(folder / row.file) if isinstance(row.text, bytes) else row.file


# The contract's own example, copied from routine-format.md.
CONTRACT_EXAMPLE = """\
title: Knee to chest and lying twist
summary: Two gentle lying stretches that ease the lower back.
tags: [lower back, lying, stretch]
position: lying
safety: Stop if the pain sharpens or spreads down a leg.
steps:
  - say: Lie on your back, knees bent, feet flat on the floor.
  - breathe: {cycles: 3, count: true}
  - stretch:
      name: Knee to chest
      sides: [right, left]
      say: Bring your {side} knee slowly toward your chest and hold it with both hands.
      hold: {breaths: 5}
      release: Lower your {side} foot back to the floor.
      rest: 5s
  - stretch:
      name: Lying twist
      sides: [left, right]
      say: Let both knees fall slowly to the {side}, only as far as is comfortable.
      hold: {breaths: 8}
      release: Bring your knees back to the middle.
  - imagery:
      lines:
        - Picture a tight knot in your lower back.
        - As you breathe out, the knot loosens.
        - Breathe out again, and it comes undone.
  - say: Well done. Rest here as long as you like.
"""
