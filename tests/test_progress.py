"""Streaks, this week's minutes, each routine's effect on pain, chart points and the see-a-doctor rule,
on hand-made records with fixed times and a fixed local time zone."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from coach.history import Record
from coach.progress import (
    HIGH_PAIN_MESSAGE,
    LONG_PAIN_MESSAGE,
    DoctorReason,
    RoutineChange,
    Summary,
    doctor_reasons,
    pain_points,
    summarize,
)

WEDNESDAY = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)  # 2025-03-03 is a Monday


@pytest.fixture(autouse=True)
def zone() -> Iterator[Callable[[str], None]]:
    """The process's local time zone (POSIX TZ), UTC unless a test picks another; restored afterwards."""
    saved = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    use("UTC")
    yield use
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


_ids = iter(range(1, 1_000_000))


def rec(
    started: datetime,
    before: int | None = None,
    after: int | None = None,
    *,
    routine: str = "knee",
    title: str = "Knee to chest",
    seconds: float = 300.0,
) -> Record:
    return Record(
        id=next(_ids),
        routine=routine,
        title=title,
        started=started.astimezone(UTC),
        ended=None,
        outcome="finished",
        step=None,
        steps=None,
        seconds=seconds,
        pain_before=before,
        pain_after=after,
    )


def days_ago(days: float, now: datetime = WEDNESDAY) -> datetime:
    return now - timedelta(days=days)


# -- summary ------------------------------------------------------------------------------------------


def test_an_empty_history_sums_to_nothing() -> None:
    assert summarize([], WEDNESDAY) == Summary(sessions=0, streak=0, minutes_this_week=0.0, per_routine=[])


@pytest.mark.parametrize(
    ("offsets", "streak"),
    [
        ([0, 1, 2, 4], 3),  # today, yesterday, the day before; the gap ends it
        ([1, 2], 2),  # none yet today: the streak from yesterday still stands
        ([2, 3, 4], 0),  # a whole day without a session ends it
        ([0], 1),
        ([1], 1),
        ([0, 0.1, 0.2], 1),  # three sessions on one day are one day
        ([0, 2, 3], 1),
    ],
)
def test_the_streak_counts_days_in_a_row(offsets: list[float], streak: int) -> None:
    records = [rec(days_ago(d)) for d in offsets]
    assert summarize(records, WEDNESDAY).streak == streak


def test_a_streak_counts_from_the_start_of_today() -> None:
    now = datetime(2025, 3, 5, 0, 0, 1, tzinfo=UTC)  # one second into Wednesday
    records = [rec(datetime(2025, 3, 4, 23, 59, 59, tzinfo=UTC)), rec(datetime(2025, 3, 3, 0, 0, tzinfo=UTC))]
    assert summarize(records, now).streak == 2
    assert summarize(records[:1], now).streak == 1


@pytest.mark.parametrize(("tz", "streak"), [("UTC", 2), ("XST-10", 1)])
def test_days_are_local_days(zone: Callable[[str], None], tz: str, streak: int) -> None:
    # 23:00 and 01:00 UTC are two UTC days, but 09:00 and 11:00 of one day at UTC+10.
    zone(tz)
    records = [rec(datetime(2025, 3, 3, 23, 0, tzinfo=UTC)), rec(datetime(2025, 3, 4, 1, 0, tzinfo=UTC))]
    assert summarize(records, datetime(2025, 3, 4, 2, 0, tzinfo=UTC)).streak == streak


def test_a_streak_across_the_end_of_summer_time_counts_each_local_day(zone: Callable[[str], None]) -> None:
    # New York: summer time (UTC-4) ends at 02:00 on Sunday 2 November 2025; then UTC-5.
    zone("EST5EDT,M3.2.0,M11.1.0")
    half_past_midnight = [
        datetime(2025, 11, 1, 4, 30, tzinfo=UTC),  # 00:30 on 1 November, UTC-4
        datetime(2025, 11, 2, 4, 30, tzinfo=UTC),  # 00:30 on 2 November, still UTC-4
        datetime(2025, 11, 3, 5, 30, tzinfo=UTC),  # 00:30 on 3 November, UTC-5
    ]
    now = datetime(2025, 11, 3, 17, 0, tzinfo=UTC)  # noon on 3 November
    assert summarize([rec(t) for t in half_past_midnight], now).streak == 3


def test_minutes_this_week_start_at_monday_midnight() -> None:
    records = [
        rec(datetime(2025, 3, 3, 0, 0, tzinfo=UTC), seconds=300),  # Monday 00:00 exactly: counts
        rec(datetime(2025, 3, 2, 23, 59, 59, tzinfo=UTC), seconds=6000),  # Sunday before: does not
        rec(datetime(2025, 3, 4, 18, 0, tzinfo=UTC), seconds=630),
        rec(datetime(2025, 2, 25, 10, 0, tzinfo=UTC), seconds=900),  # last week
    ]
    summary = summarize(records, WEDNESDAY)
    assert summary.minutes_this_week == pytest.approx(15.5)
    assert summary.sessions == 4


def test_on_a_monday_the_week_began_this_morning() -> None:
    monday = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    records = [rec(datetime(2025, 3, 3, 7, 0, tzinfo=UTC), seconds=120), rec(days_ago(1, monday), seconds=600)]
    assert summarize(records, monday).minutes_this_week == pytest.approx(2.0)


@pytest.mark.parametrize(("tz", "minutes"), [("UTC", 5.0), ("XST-10", 15.0)])
def test_the_week_begins_at_local_midnight(zone: Callable[[str], None], tz: str, minutes: float) -> None:
    zone(tz)
    # Sunday 14:30 UTC is already Monday 00:30 at UTC+10.
    records = [rec(datetime(2025, 3, 2, 14, 30, tzinfo=UTC), seconds=600), rec(days_ago(0), seconds=300)]
    assert summarize(records, WEDNESDAY).minutes_this_week == pytest.approx(minutes)


def test_each_routine_gets_its_average_change_in_pain() -> None:
    records = [
        rec(days_ago(5), 6, 4),  # -2
        rec(days_ago(4), 5, 4),  # -1
        rec(days_ago(3), 7, None),  # not rated after: not counted in the average
        rec(days_ago(2), None, 2),  # nor rated before
        rec(days_ago(6), routine="spine-cat", title="Old cat title"),
        rec(days_ago(5), 3, 5, routine="spine-cat", title="Old cat title"),  # +2
        rec(days_ago(4), 4, 4, routine="spine-cat", title="Cat and cow"),  # 0
        rec(days_ago(1), 4, 4, routine="spine-cat", title="Cat and cow"),  # 0
        rec(days_ago(1), routine="neck", title="Neck release"),
        rec(days_ago(1), 2, 2, routine="z-back", title="Back rest"),
    ]
    assert summarize(records, WEDNESDAY).per_routine == [
        RoutineChange("spine-cat", "Cat and cow", sessions=4, rated=3, average_change=pytest.approx(2 / 3)),
        RoutineChange("knee", "Knee to chest", sessions=4, rated=2, average_change=-1.5),
        RoutineChange("z-back", "Back rest", sessions=1, rated=1, average_change=0.0),
        RoutineChange("neck", "Neck release", sessions=1, rated=0, average_change=None),
    ]


def test_pain_points_are_oldest_first_and_only_rated_sessions() -> None:
    newest_first = [
        rec(days_ago(0), None, 3),
        rec(days_ago(1)),
        rec(days_ago(2), 6, None),
        rec(days_ago(3), 7, 5),
        rec(days_ago(4)),
    ]
    assert pain_points(newest_first) == [(days_ago(3), 7, 5), (days_ago(2), 6, None), (days_ago(0), None, 3)]
    assert pain_points([]) == []


# -- the doctor rule ----------------------------------------------------------------------------------

HIGH = DoctorReason("high-pain", HIGH_PAIN_MESSAGE)
LONG = DoctorReason("long-pain", LONG_PAIN_MESSAGE)


def keys(records: list[Record], now: datetime = WEDNESDAY) -> list[str]:
    return [reason.key for reason in doctor_reasons(records, now)]


def test_no_sessions_or_no_ratings_give_no_reason() -> None:
    assert doctor_reasons([], WEDNESDAY) == []
    assert keys([rec(days_ago(d)) for d in range(30)]) == []


def test_three_severe_ratings_in_a_row_suggest_a_doctor() -> None:
    records = [rec(days_ago(3), 2, 3), rec(days_ago(2), 9, 8), rec(days_ago(1), 8, None), rec(days_ago(0), 3, 10)]
    assert doctor_reasons(records, WEDNESDAY) == [HIGH]


@pytest.mark.parametrize(
    ("ratings", "reason"),
    [
        ([(8, None), (8, None), (8, None)], True),  # 8 is severe
        ([(7, None), (8, None), (8, None)], False),  # the oldest of the three is 7
        ([(8, None), (8, None), (7, None)], False),  # the newest is 7
        ([(8, None), (8, None)], False),  # two sessions at 8 are not three
        ([(10, None), (10, None)], False),
        ([(9, 7), (9, 9), (9, 9)], False),  # the rating after counts over the one before
        ([(1, 8), (2, 9), (3, 10)], True),
        ([(None, 8), (8, None), (None, 9)], True),
    ],
)
def test_high_pain_boundaries(ratings: list[tuple[int | None, int | None]], reason: bool) -> None:
    records = [rec(days_ago(len(ratings) - i), b, a) for i, (b, a) in enumerate(ratings)]
    assert ("high-pain" in keys(records)) is reason


def test_sessions_without_a_rating_do_not_break_the_three() -> None:
    records = [rec(days_ago(5), 9), rec(days_ago(4)), rec(days_ago(3), 9), rec(days_ago(2)), rec(days_ago(1), 9)]
    assert keys(records) == ["high-pain"]
    records.append(rec(days_ago(0), 2))
    assert keys(records) == []


def test_high_pain_is_judged_in_time_order_whatever_the_list_order() -> None:
    records = [rec(days_ago(0), 2), rec(days_ago(3), 9), rec(days_ago(2), 9), rec(days_ago(1), 9)]
    assert keys(records) == []  # the newest, 2, is one of the last three
    assert keys(records[1:]) == ["high-pain"]


@pytest.mark.parametrize(
    ("span", "reason"),
    [
        (timedelta(days=14), False),  # exactly two weeks is not more than two weeks
        (timedelta(days=14, seconds=1), True),
        (timedelta(days=13, hours=23), False),
        (timedelta(days=30), True),
    ],
)
def test_long_pain_needs_more_than_14_days(span: timedelta, reason: bool) -> None:
    latest = days_ago(1)
    records = [rec(latest - span, 4), rec(latest - span / 2, 3), rec(latest, 2)]
    assert ("long-pain" in keys(records)) is reason


@pytest.mark.parametrize(
    ("since", "reason"),
    [
        (timedelta(days=7), True),  # the latest rated session 7 days ago still counts
        (timedelta(days=7, seconds=1), False),
        (timedelta(0), True),
    ],
)
def test_long_pain_needs_a_recent_session(since: timedelta, reason: bool) -> None:
    latest = WEDNESDAY - since
    records = [rec(latest - timedelta(days=20), 5), rec(latest, 5)]
    assert ("long-pain" in keys(records)) is reason


def test_a_pain_free_rating_ends_the_run() -> None:
    records = [rec(days_ago(20), 4), rec(days_ago(10), 0), rec(days_ago(1), 3)]
    assert keys(records) == []
    records[1] = rec(days_ago(10), 0, 1)  # 0 before, but 1 after: the pain was still there
    assert keys(records) == ["long-pain"]
    records[1] = rec(days_ago(10), 5, 0)  # pain-free after the session
    assert keys(records) == []


def test_a_pain_free_latest_session_gives_no_long_pain() -> None:
    assert keys([rec(days_ago(20), 4), rec(days_ago(10), 4), rec(days_ago(1), 0)]) == []


def test_unrated_sessions_neither_end_the_run_nor_count_as_the_latest() -> None:
    records = [rec(days_ago(20), 4), rec(days_ago(10)), rec(days_ago(8), 3), rec(days_ago(0))]
    assert keys(records) == []  # the latest rated session, 8 days ago, is not recent
    records.append(rec(days_ago(2), 1))
    assert keys(records) == ["long-pain"]


def test_both_reasons_can_hold_at_once() -> None:
    records = [rec(days_ago(d), 8, 9) for d in (20, 10, 3, 1)]
    assert doctor_reasons(records, WEDNESDAY) == [HIGH, LONG]


def test_the_messages_are_plain_and_point_to_the_safety_list() -> None:
    for message in (HIGH_PAIN_MESSAGE, LONG_PAIN_MESSAGE):
        assert "doctor" in message and "`unknot safety`" in message
        assert message.count(". ") + message.count("; ") <= 2 and message.endswith(".")
    assert "two weeks" in LONG_PAIN_MESSAGE
    assert "8 or more" in HIGH_PAIN_MESSAGE
