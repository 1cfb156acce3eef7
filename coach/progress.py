"""What the history says: the streak, this week's minutes, each routine's effect on pain, and when to
suggest a doctor. Pure functions over `Record` lists, shared by `unknot history` and the app.

Days are the user's local days: every moment, `now` included, is turned into the system's local time
for its own instant (`datetime.astimezone()` with no zone), so a streak across a change to or from
summer time still counts each calendar day once. The doctor rule works on elapsed time, not days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from coach.history import Record

HIGH_PAIN = 8  # a rating this high or higher counts as severe
HIGH_SESSIONS = 3  # this many rated sessions in a row at HIGH_PAIN or more
LONG_DAYS = 14  # pain (any rating of 1 or more) for longer than this
LONG_RECENT_DAYS = 7  # ... and still there in a session this recent

HIGH_PAIN_MESSAGE = (
    "Your last three pain ratings were 8 or more out of 10. Pain that stays this severe is a good reason "
    "to see a doctor, and `unknot safety` lists the other signs to look out for."
)
LONG_PAIN_MESSAGE = (
    "You have noted back pain in your sessions for more than two weeks now. Pain that lasts longer than "
    "about two weeks is a good reason to have a doctor check your back; `unknot safety` lists the other "
    "signs to look out for."
)


@dataclass(frozen=True)
class RoutineChange:
    routine: str  # routine id
    title: str  # the title of its most recent session
    sessions: int
    rated: int  # sessions with both a pain rating before and one after
    average_change: float | None  # mean of (after - before) over the rated sessions; negative is better


@dataclass(frozen=True)
class Summary:
    sessions: int
    streak: int  # days in a row with a session, up to today (or yesterday, until today is over)
    minutes_this_week: float  # since Monday 00:00, local time
    per_routine: list[RoutineChange]  # most sessions first, then by title


@dataclass(frozen=True)
class DoctorReason:
    key: str  # "high-pain" or "long-pain": stable, for remembering that it was shown
    message: str  # one or two plain sentences


def summarize(records: Sequence[Record], now: datetime) -> Summary:
    monday = week_start(now)
    return Summary(
        sessions=len(records),
        streak=streak(records, now),
        minutes_this_week=sum(r.seconds for r in records if r.started >= monday) / 60,
        per_routine=per_routine(records),
    )


def streak(records: Sequence[Record], now: datetime) -> int:
    """Days in a row with at least one session, counting back from today, or from yesterday when there is
    no session yet today: a streak is not broken until a whole day has passed without one."""
    days = {_local_day(r.started) for r in records}
    day = _local_day(now)
    if day not in days:
        day -= timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def week_start(now: datetime) -> datetime:
    """Monday 00:00 of now's week, local time (aware)."""
    today = _local_day(now)
    return datetime.combine(today - timedelta(days=today.weekday()), time()).astimezone()


def per_routine(records: Sequence[Record]) -> list[RoutineChange]:
    groups: dict[str, list[Record]] = {}
    for record in _oldest_first(records):
        groups.setdefault(record.routine, []).append(record)
    changes = []
    for routine, group in groups.items():
        deltas = [r.pain_after - r.pain_before for r in group if r.pain_before is not None and r.pain_after is not None]
        changes.append(
            RoutineChange(
                routine=routine,
                title=group[-1].title,
                sessions=len(group),
                rated=len(deltas),
                average_change=sum(deltas) / len(deltas) if deltas else None,
            )
        )
    return sorted(changes, key=lambda c: (-c.sessions, c.title, c.routine))


def pain_points(records: Sequence[Record]) -> list[tuple[datetime, int | None, int | None]]:
    """(started, pain before, pain after) for every session with a rating, oldest first: for a chart."""
    return [
        (r.started, r.pain_before, r.pain_after)
        for r in _oldest_first(records)
        if r.pain_before is not None or r.pain_after is not None
    ]


def latest_pain(record: Record) -> int | None:
    """The last rating a session carries: after if given, else before."""
    return record.pain_after if record.pain_after is not None else record.pain_before


def doctor_reasons(records: Sequence[Record], now: datetime) -> list[DoctorReason]:
    """The reasons, if any, to suggest seeing a doctor, from the pain ratings:

    - "high-pain": the last HIGH_SESSIONS rated sessions each ended at HIGH_PAIN or more;
    - "long-pain": the ratings have stayed at 1 or more (no pain-free 0 in between) for more than
      LONG_DAYS days, from the earliest of that run to the most recent rated session, and the most recent
      one is no more than LONG_RECENT_DAYS days before `now`.
    """
    now = now.astimezone()  # a naive `now` is local time
    rated = [r for r in reversed(_oldest_first(records)) if latest_pain(r) is not None]  # newest first
    reasons = []
    last = rated[:HIGH_SESSIONS]
    if len(last) == HIGH_SESSIONS and all(_pain(r) >= HIGH_PAIN for r in last):
        reasons.append(DoctorReason("high-pain", HIGH_PAIN_MESSAGE))
    if rated and now - rated[0].started <= timedelta(days=LONG_RECENT_DAYS):
        run = []
        for record in rated:
            if _pain(record) < 1:
                break
            run.append(record)
        if run and run[0].started - run[-1].started > timedelta(days=LONG_DAYS):
            reasons.append(DoctorReason("long-pain", LONG_PAIN_MESSAGE))
    return reasons


def _pain(record: Record) -> int:
    pain = latest_pain(record)
    assert pain is not None
    return pain


def _local_day(moment: datetime) -> date:
    return moment.astimezone().date()


def _oldest_first(records: Sequence[Record]) -> list[Record]:
    return sorted(records, key=lambda r: (r.started, r.id))
