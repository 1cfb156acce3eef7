"""Property tests: whatever text the loader is given, it answers with a Routine or a RoutineError.

A RoutineError is the only way a bad file may fail (the TUI and the library list rely on it), and
each of its problems must say where: a line and column from 1, and a message.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coach import model as m
from coach.routines import STEP_KINDS, RoutineError, load_text, schema

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _schema_keys(node: Any) -> set[str]:
    """Every property name anywhere in the schema: top-level keys, step kinds, body keys."""
    keys: set[str] = set()
    if isinstance(node, dict):
        keys.update(node.get("properties", {}))
        for value in node.values():
            keys |= _schema_keys(value)
    elif isinstance(node, list):
        for value in node:
            keys |= _schema_keys(value)
    return keys


SCHEMA_KEYS = sorted(_schema_keys(schema()))
KEYS = st.sampled_from([*SCHEMA_KEYS, "titel", "sya", "secnds", "colour", "<<", ""])

GOOD_DURATIONS = st.sampled_from([20, 1.5, "45s", "2m", "1m30s", "1m 30s", "1h", "2 minutes", "0.5s"])
BAD_DURATIONS = st.sampled_from(
    [0, -5, "0s", "5h", 14401, "1h 1s", "five", "", "1e5", "-3s", "h", "30 s s", 10**30, float("inf"), True]
)
DURATIONS = GOOD_DURATIONS | BAD_DURATIONS
GOOD_TEXTS = st.sampled_from(["Hello.", "Breathe out slowly.", "{{literal}} braces", "right", "left", "  "])
BAD_TEXTS = st.sampled_from(["Turn to the {side}.", "{remaining} left.", "}", "{", "{left}", "{}", ""]) | st.integers(
    1000, 1002
).map(lambda n: "a" * n)
TEXTS = GOOD_TEXTS | BAD_TEXTS


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Good values nine times in ten, so that shaped routines often get past the schema."""
    return st.sampled_from([good] * 9 + [bad]).flatmap(lambda chosen: chosen)  # one_of would merge the nine


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | DURATIONS
    | TEXTS
    | st.text(max_size=12)
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5)


DOCUMENTS = st.recursive(SCALARS, _containers, max_leaves=30)

# Routine-shaped documents get past the schema often enough to reach the meaning checks and the plan.
BODIES = st.recursive(SCALARS, _containers, max_leaves=12)
STEP = st.builds(
    lambda kind, body, extra: {kind: body, **extra},
    st.sampled_from(STEP_KINDS),
    BODIES,
    st.dictionaries(KEYS, SCALARS, max_size=1),
)
MD = mostly(GOOD_DURATIONS, BAD_DURATIONS)
MT = mostly(GOOD_TEXTS, BAD_TEXTS)
SIDES = mostly(st.sampled_from(["right", "left", "front"]), st.sampled_from(["", "x" * 41]))
SIDE_TEXTS = mostly(st.sampled_from(["Reach to the {side}.", "Relax.", "{{side}} is literal"]), BAD_TEXTS)
HOLD = st.one_of(
    [st.fixed_dictionaries({"seconds": MD}, optional={"remind_every": MD, "say": MT, "end": MT})] * 4
    + [st.fixed_dictionaries({"breaths": mostly(st.integers(1, 10), st.just(0))}, optional={"remind_every": MD})] * 4
    + [st.fixed_dictionaries({}, optional={"seconds": MD, "breaths": st.integers(0, 3), "secnds": MD})]
)
STEP_BODIES = {
    "say": MT,
    "wait": MT,
    "pause": MD,
    "chime": mostly(st.sampled_from(["bell", "soft", "rise", "fall"]), st.just("ding")),
    "breathe": st.fixed_dictionaries(
        {"cycles": mostly(st.integers(1, 8), st.sampled_from([0, 201, 2.5]))},
        optional={"inhale": MD, "hold": MD, "count": st.booleans(), "say": MT},
    ),
    "hold": HOLD,
    "stretch": st.fixed_dictionaries(
        {"hold": HOLD},
        optional={"sides": st.lists(SIDES, min_size=1, max_size=3), "say": SIDE_TEXTS, "release": SIDE_TEXTS,
                  "rest": MD},
    ),
    "imagery": st.fixed_dictionaries(
        {"lines": mostly(st.lists(MT, min_size=1, max_size=3), st.just([]))},
        optional={"breaths_per_line": mostly(st.integers(1, 3), st.just(0))},
    ),
    "timer": st.fixed_dictionaries(
        {"duration": MD},
        optional={"remind_every": MD, "reminder": mostly(st.just("{remaining} to go."), BAD_TEXTS), "end": MT},
    ),
}
SHAPED_STEP = st.one_of(
    [st.builds(lambda k, b: {k: b}, st.just(kind), body) for kind, body in STEP_BODIES.items()]
)


def _repeat(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(
        lambda times, steps: {"repeat": {"times": times, "steps": steps}},
        mostly(st.integers(1, 4), st.sampled_from([0, 101, 100])),
        st.lists(children, min_size=1, max_size=3),
    )


STEP_LISTS = st.lists(st.recursive(mostly(SHAPED_STEP, STEP), _repeat, max_leaves=6), min_size=1, max_size=4)
ROUTINES = st.fixed_dictionaries(
    {
        "title": MT,
        "steps": mostly(STEP_LISTS, st.just([])),
    },
    optional={
        "id": mostly(st.just("ok-id"), st.sampled_from(["Bad_Id", ""])),
        "format": mostly(st.just(1), st.sampled_from([2, "1"])),
        "position": mostly(st.sampled_from(["lying", "seated"]), st.just("lyng")),
        "tags": st.lists(mostly(st.sampled_from(["lower back", "lying"]), BAD_TEXTS), max_size=2),
        "breath": st.dictionaries(mostly(st.sampled_from(["inhale", "hold", "exhale", "rest"]), st.just("exhal")),
                                  MD),
        "safety": MT,
    },
)

VALIDATOR = jsonschema.Draft202012Validator(schema())


def check(text: str) -> m.Routine | None:
    """Load; a RoutineError is fine as long as every problem says where and what."""
    try:
        return load_text(text, "prop.yaml", default_id="prop")
    except RoutineError as error:
        assert error.problems
        last_line = text.count("\n") + 2  # a problem at the end of the text may be one line past it
        for problem in error.problems:
            assert problem.file == "prop.yaml"
            assert problem.line >= 1 and problem.col >= 1, str(problem)
            assert problem.line <= last_line, str(problem)
            assert problem.message.strip(), str(problem)
            assert str(problem).startswith(f"prop.yaml:{problem.line}:{problem.col}: ")
        return None


@SETTINGS
@given(st.text())
def test_any_text(text: str) -> None:
    check(text)


@pytest.mark.parametrize(("text", "where"), [
    ("0:\x850", "prop.yaml:1:5:"),  # found by test_any_text: YAML breaks the line at U+0085
    ("title: T\u2028steps: [\n", "prop.yaml:2:1:"),
    ("title: T\nsteps:\n  - say: a\u2029\n    say: b\n", "prop.yaml:4:5:"),
])
def test_positions_count_only_newlines_as_line_breaks(text: str, where: str) -> None:
    # Editors show U+0085, U+2028 and U+2029 within a line; YAML's own line numbers count them.
    with pytest.raises(RoutineError) as raised:
        load_text(text, "prop.yaml", default_id="prop")
    assert str(raised.value.problems[0]).startswith(where), str(raised.value.problems[0])


YAML_CHARS = st.sampled_from(list(":-[]{}&*!|>'\"#%@`,?<= \n\t~.0123456789aehmsy"))


@SETTINGS
@given(st.text(alphabet=YAML_CHARS, max_size=80))
def test_any_yaml_punctuation(text: str) -> None:
    check(text)


@SETTINGS
@given(st.one_of(st.text(max_size=40), TEXTS).map(lambda t: "title: T\nsteps:\n  - say: " + json.dumps(t) + "\n"))
def test_any_say_text(text: str) -> None:
    check(text)


def _both_verdicts(data: Any) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    routine = check(text)
    if routine is not None:
        # The loader checks structure with the schema first, so it never accepts what the schema refuses.
        # (The other way round is expected: see BEYOND_SCHEMA in test_schema_agreement.py.)
        assert VALIDATOR.is_valid(yaml.safe_load(text)), text


@SETTINGS
@given(DOCUMENTS)
def test_any_document(data: Any) -> None:
    _both_verdicts(data)


@SETTINGS
@given(ROUTINES)
def test_any_routine_shaped_document(data: dict[str, Any]) -> None:
    _both_verdicts(data)
