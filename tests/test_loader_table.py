"""The routine loader against the format contract (/work/shared/routine-format.md).

The table of bad files is in bad_routines.py (shared with test_schema_agreement.py): each must be
refused with a problem at the expected line, column and path, whose message has the expected words.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.mark import ParameterSet

from coach import model as m
from coach.plan import SilentDurations, compile_plan
from coach.routines import Problem, RoutineError, load_file, load_text, parse_duration
from tests.bad_routines import BAD, CONTRACT_EXAMPLE, HEAD, STEPS, TITLE, Row, file_name, load_row


def row_param(row: Row) -> ParameterSet:
    marks = [pytest.mark.xfail(strict=True, reason=row.bug)] if row.bug else []
    return pytest.param(row, id=row.id, marks=marks)


def problems_of(row: Row, folder: Path) -> list[Problem]:
    with pytest.raises(RoutineError) as caught:
        load_row(row, folder)
    problems = caught.value.problems
    assert problems, "a RoutineError must carry at least one problem"
    return problems


def matches(problem: Problem, row: Row, check_path: bool = True) -> bool:
    return (
        (problem.line, problem.col) == (row.line, row.col)
        and (not check_path or problem.path == row.path)
        and row.message in problem.message
    )


def describe(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


def test_enough_rows() -> None:
    assert len(BAD) >= 35


@pytest.mark.parametrize("row", [row_param(row) for row in BAD])
def test_bad_routine(row: Row, tmp_path: Path) -> None:
    problems = problems_of(row, tmp_path)
    name = file_name(row, tmp_path)
    for problem in problems:
        assert problem.file == name
        assert str(problem).startswith(f"{name}:{problem.line}:{problem.col}: ")
        assert problem.message
    found = [p for p in problems if matches(p, row)]
    assert found, (
        f"expected {row.line}:{row.col} {row.path or '(no path)'}: ...{row.message}...; got:\n{describe(problems)}"
    )
    rest = f"{row.path}: " if row.path else ""
    assert str(found[0]) == f"{name}:{row.line}:{row.col}: {rest}{found[0].message}"


def test_non_utf8_after_a_wide_character(tmp_path: Path) -> None:
    """Without the xfail's column question: the line is right, and the column at least names the spot."""
    path = tmp_path / "wide.yaml"
    path.write_bytes(b"title: T\nsummary: caf\xc3\xa9 \xff\n" + STEPS.encode())
    with pytest.raises(RoutineError) as caught:
        load_file(path)
    [problem] = caught.value.problems
    assert problem.line == 2
    assert "not UTF-8" in problem.message


def test_non_utf8_column_counts_characters(tmp_path: Path) -> None:
    # 'summary: café ' is 14 characters (15 bytes): the bad byte is the 15th character
    path = tmp_path / "wide.yaml"
    path.write_bytes(b"title: T\nsummary: caf\xc3\xa9 \xff\n" + STEPS.encode())
    with pytest.raises(RoutineError) as caught:
        load_file(path)
    [problem] = caught.value.problems
    assert (problem.line, problem.col) == (2, 15)


def test_yaml_columns_count_characters() -> None:
    """The reference for the test above: a YAML problem after an e-acute is placed by characters."""
    with pytest.raises(RoutineError) as caught:
        load_text("title: T\nsummary: café: x\n" + STEPS, "wide.yaml", "wide")
    [problem] = caught.value.problems
    assert (problem.line, problem.col) == (2, 14)  # 'summary: café' is 13 characters


def test_surrogate_in_text_is_a_routine_error() -> None:
    with pytest.raises(RoutineError):
        load_text("title: \ud800\n" + STEPS, "routine.yaml", "routine")


# -- billion laughs -----------------------------------------------------------------------------------


def billion_laughs() -> str:
    """Nine levels of aliases, each a list of nine of the level below: 9**9 steps once expanded."""
    lines = ["title: Laughs", "steps:", "  - &l0 {say: lol}"]
    for level in range(1, 10):
        lines.append(f"  - &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused() -> None:
    text = billion_laughs()
    assert len(text) < 1000
    with pytest.raises(RoutineError) as caught:
        load_text(text, "laughs.yaml", "laughs")
    [problem] = caught.value.problems
    assert "expand" in problem.message
    assert 3 <= problem.line <= 12  # somewhere in the aliases, not a made-up place


# -- good files ---------------------------------------------------------------------------------------

def test_contract_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "knee-to-chest.yaml"
    path.write_text(CONTRACT_EXAMPLE, encoding="utf-8")
    routine = load_file(path)
    assert routine.id == "knee-to-chest"
    assert routine.title == "Knee to chest and lying twist"
    assert routine.tags == ("lower back", "lying", "stretch")
    assert routine.position == "lying"
    assert [s.kind for s in routine.steps] == ["say", "breathe", "stretch", "stretch", "imagery", "say"]
    knee = routine.steps[2]
    assert isinstance(knee, m.Stretch)
    assert knee.name == "Knee to chest"
    assert knee.sides == ("right", "left")
    assert knee.hold.breaths == 5
    assert knee.rest == 5.0
    breathe = routine.steps[1]
    assert isinstance(breathe, m.Breathe)
    assert breathe.count is True
    assert breathe.breath == m.Breath(5, 1, 4, 0)  # the contract's default breath


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("45s", 45), ("2m", 120), ("1m30s", 90), ("1h", 3600), (20, 20), (1.5, 1.5), ("1m 30s", 90)],
    ids=str,
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


def test_durations_as_text_reach_the_routine() -> None:
    routine = load_text(HEAD + "  - pause: 1m 30s\n  - timer: {duration: 2m, remind_every: 45s}\n", "d.yaml", "d")
    pause, timer = routine.steps
    assert isinstance(pause, m.Pause) and pause.seconds == 90
    assert isinstance(timer, m.Timer) and (timer.seconds, timer.remind_every) == (120, 45)


def speech(routine: m.Routine) -> list[str]:
    plan = compile_plan(routine, SilentDurations())
    return [cue.text for cue in plan.cues if cue.kind == "speech" and cue.text]


def test_doubled_braces_are_literal_braces() -> None:
    routine = load_text(HEAD + "  - say: 'Write {{side}} and }} here.'\n", "b.yaml", "b")
    [step] = routine.steps
    assert isinstance(step, m.Say)
    assert step.text == "Write {side} and } here."
    assert speech(routine) == ["Write {side} and } here."]


def test_side_is_filled_in_per_side() -> None:
    text = HEAD + (
        "  - stretch:\n"
        "      sides: [right, left]\n"
        "      say: Reach to the {side}.\n"
        "      hold: {seconds: 10}\n"
        "      release: Let the {side} arm go. {{done}}\n"
    )
    said = speech(load_text(text, "s.yaml", "s"))
    assert said == [
        "Reach to the right.", "Let the right arm go. {done}",
        "Reach to the left.", "Let the left arm go. {done}",
    ]


def test_remaining_is_filled_in_the_reminder() -> None:
    text = HEAD + "  - timer: {duration: 3m, remind_every: 1m, reminder: 'Still {remaining} to go.'}\n"
    said = speech(load_text(text, "t.yaml", "t"))
    assert said == ["Still 2 minutes to go.", "Still 1 minute to go."]


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = TITLE + "position: lyng\nsteps:\n  - pause: five\n  - chime: ding\n"
    with pytest.raises(RoutineError) as caught:
        load_text(text, "many.yaml", "many")
    assert [(p.line, p.path) for p in caught.value.problems] == [
        (2, "position"), (4, "steps[0].pause"), (5, "steps[1].chime"),
    ]
