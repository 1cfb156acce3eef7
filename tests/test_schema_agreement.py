"""The JSON Schema that editors use and the loader agree on what a routine is.

The schema is read the way an editor reads it: the YAML parsed with yaml.safe_load, then validated
as Draft 2020-12. Where the loader knows more than a schema can say, the row is listed in
BEYOND_SCHEMA with the reason, and the test checks that the schema really does accept it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from _pytest.mark import ParameterSet

import coach
from coach.library import content_dir
from coach.routines import RoutineError, iter_routine_files, load_file, load_text, schema
from tests.bad_routines import BAD, CONTRACT_EXAMPLE, HEAD, ROWS_BY_ID, TEN_SIDES, Row, deep_repeat, load_row

SCHEMA_PATH = Path(coach.__file__).parent / "schema" / "routine-1.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

# Bad rows that yaml.safe_load itself refuses: there is no value for the schema to judge.
NOT_YAML = {
    "yaml-syntax",
    "second-document",
    "python-tag",
    "local-tag",
    "alias-without-anchor",
    "not-utf8",
}

# Bad rows that a JSON Schema cannot refuse; the loader must, and the schema must accept them.
BEYOND_SCHEMA = {
    "id-from-file-name",  # the file name is not part of the value the schema sees
    "duration-0s",  # a duration written as text is matched by a pattern; a pattern cannot compare its number to 0
    "breath-inhale-0s",  # the same: '0s' is text, and its value is only known once it is parsed
    "duration-over-4h-text",  # the same: a pattern cannot compare '5h' to 4 hours
    "duration-nan",  # JSON has no NaN, and every comparison with NaN is false, so minimum/maximum pass it
    "side-without-sides",  # a placeholder is text inside a string; whether it is allowed depends on a sibling key
    "side-format-spec",  # a placeholder's format spec only fails when Python formats the text
    "side-in-say",  # placeholders are inside strings: a pattern could ban braces, but not tell {{ from {side}
    "reminder-unknown-placeholder",  # the same: which {...} are allowed is the loader's reading of the text
    "reminder-nested-field",  # the same, for a field nested in a format spec
    "lone-brace",  # the same: telling a lone brace from {{ and }} is parsing, not matching
    "repeat-5-deep",  # the schema's steps are recursive through $ref, which counts no depth
    "too-many-steps",  # the count is a product of times and sides across levels; a schema does no arithmetic
    "too-long-total",  # the total is a sum of durations (some written as text) over the expanded plan
    "too-many-cues",  # cues only exist in the compiled plan
    "name-twice",  # a rule across two levels (the step's name vs its body's); this schema keeps no if/then rules
    "duplicate-key",  # yaml.safe_load keeps the last value: the schema never sees the first
    "file-over-256k",  # the size is the text's, not the value's (the padding is a comment)
}

# Strict xfails here: rows where the schema and the loader disagree although a schema could agree,
# and rows whose loader bug (see their `bug` in the table) makes the loader's verdict wrong.
DISAGREE: dict[str, str] = {}
WRONG_VERDICT: set[str] = set()


def rows(
    wanted: set[str] | None = None, exclude: set[str] | None = None, verdicts: bool = True
) -> list[ParameterSet]:
    out = []
    for row in BAD:
        if (wanted is not None and row.id not in wanted) or (exclude and row.id in exclude):
            continue
        reason = DISAGREE.get(row.id) or (row.bug if row.id in WRONG_VERDICT else None)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason and verdicts else []
        out.append(pytest.param(row, id=row.id, marks=marks))
    return out


def loader_accepts(row: Row, folder: Path) -> bool:
    try:
        load_row(row, folder)
    except RoutineError:
        return False
    return True


def safe_parse(row: Row) -> Any:
    return yaml.safe_load(row.text)


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_loader_uses_the_same_schema() -> None:
    assert schema() == SCHEMA


def test_listed_rows_exist() -> None:
    listed = NOT_YAML | BEYOND_SCHEMA | set(DISAGREE)
    assert listed | WRONG_VERDICT <= set(ROWS_BY_ID), listed - set(ROWS_BY_ID)
    assert all(ROWS_BY_ID[name].bug for name in WRONG_VERDICT)
    assert not NOT_YAML & BEYOND_SCHEMA


@pytest.mark.parametrize("row", rows(verdicts=False))
def test_not_yaml_list_is_exact(row: Row) -> None:
    """yaml.safe_load refuses exactly the NOT_YAML rows, so that set cannot go stale either."""
    try:
        safe_parse(row)
    except yaml.YAMLError:
        assert row.id in NOT_YAML
    else:
        assert row.id not in NOT_YAML


@pytest.mark.parametrize("row", rows(exclude=NOT_YAML | BEYOND_SCHEMA))
def test_schema_and_loader_agree(row: Row, tmp_path: Path) -> None:
    data = safe_parse(row)
    assert VALIDATOR.is_valid(data) == loader_accepts(row, tmp_path)


@pytest.mark.parametrize("row", rows(wanted=BEYOND_SCHEMA))
def test_beyond_schema_is_accepted_by_schema_and_refused_by_loader(row: Row, tmp_path: Path) -> None:
    data = safe_parse(row)
    errors = [e.message for e in VALIDATOR.iter_errors(data)]
    assert errors == [], "the schema refuses this row: take it out of BEYOND_SCHEMA"
    assert not loader_accepts(row, tmp_path)


# -- good files ---------------------------------------------------------------------------------------

BUILT_IN = sorted(iter_routine_files(content_dir() / "routines"))


def test_there_are_built_in_routines() -> None:
    assert len(BUILT_IN) >= 5


@pytest.mark.parametrize("path", BUILT_IN, ids=lambda p: p.name)
def test_built_in_routine_loads_and_validates(path: Path) -> None:
    routine = load_file(path)
    assert routine.id == path.stem  # an id: key, if any, agrees with the file name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(data)]
    assert errors == []


GOOD = {
    "contract-example": CONTRACT_EXAMPLE,
    "minimal": HEAD + "  - say: Hello.\n",
    "every-kind": "format: 1\nid: every-kind\ntitle: Every kind\nsummary: All of them.\ntags: [a, b]\n"
    "position: seated\nsafety: Stop if it hurts.\nbreath: {inhale: 4, hold: 0, exhale: 6, rest: 0}\nsteps:\n"
    "  - say: 'Braces: {{ and }}.'\n"
    "  - pause: 1m 30s\n"
    "  - chime: bell\n"
    "  - breathe: {cycles: 2, inhale: 3s, count: true, cues: {inhale: In, hold: '', exhale: Out}, say: Go.}\n"
    "  - hold: {breaths: 3, say: Hold., remind_every: 10s, end: Done.}\n"
    "  - stretch: {sides: [right, left], say: 'To the {side}.', hold: {seconds: 20}, release: 'Back {side}.',"
    " rest: 5s}\n"
    "  - imagery: {lines: [One., Two.], breaths_per_line: 2, breath: {inhale: 5, exhale: 5}}\n"
    "  - timer: {duration: 10m, remind_every: 2m, reminder: '{remaining} to go.', end: Off.}\n"
    "  - wait: Say next.\n"
    "  - name: Twice\n    repeat: {times: 2, steps: [say: Again.]}\n",
    "repeat-4-deep": deep_repeat(4),
    "text-1000": HEAD + "  - say: " + "a" * 1000 + "\n",
    "cycles-200-times-100": HEAD + "  - repeat: {times: 100, steps: [pause: 1]}\n  - breathe: {cycles: 200}\n",
    # 100 rounds of 2 stretches of 10 sides: exactly 2,000 steps
    "steps-2000": HEAD + "  - repeat:\n      times: 100\n      steps:\n"
    + f"        - stretch: {{sides: {TEN_SIDES}, hold: {{seconds: 1}}}}\n" * 2,
    "total-4h": HEAD + "  - repeat: {times: 4, steps: [timer: {duration: 1h}]}\n",
    "duration-4h-number": HEAD + "  - pause: 14400\n",
}


@pytest.mark.parametrize("text", GOOD.values(), ids=GOOD.keys())
def test_good_variant_is_valid_for_both(text: str) -> None:
    load_text(text, "good.yaml", default_id="good")
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(yaml.safe_load(text))]
    assert errors == []
