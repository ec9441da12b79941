"""Leaderboard points, from the database (the truth), and the boards' keys and weeks.

Points for a quiz are the learner's best number of right answers in it, so a
retake scores only by beating their best, and a long quiz is worth more than a
short one (a best *percent* would make a 3-question quiz worth as much as a
20-question one, and a lucky 1/1 as much as a hard-won 20/20). The all-time
board sums those bests; the weekly board sums the improvements made by attempts
finished in the current ISO week (UTC).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from django.db.models import Count, Q
from django.utils import timezone

from learn.models import Learner
from quizzes.models import Attempt

Board = Literal["week", "all"]
BOARDS: tuple[Board, ...] = ("week", "all")
# The hash tags ({all}, {week:...}) keep a board and its rebuild's temporary
# key in one cluster slot, which RENAME needs.
ALL_KEY = "cachelab:board:{all}"
# Last week's board stays readable for a day after the week ends.
WEEK_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class Points:
    all_time: int
    week: int


# -- keys and weeks ----------------------------------------------------------
def week_label(moment: datetime) -> str:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """The ISO week holding `moment`: Monday 00:00 UTC to the next Monday."""
    day = moment.astimezone(UTC).date()
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=day.weekday())
    return start, start + timedelta(days=7)


def board_key(board: Board, now: datetime | None = None) -> str:
    if board == "all":
        return ALL_KEY
    return f"cachelab:board:{{week:{week_label(now or timezone.now())}}}"


def week_expiry(now: datetime) -> datetime:
    return week_bounds(now)[1] + WEEK_GRACE


# -- points from the database ------------------------------------------------
def right_answers() -> Count:
    return Count("slots__response", filter=Q(slots__response__correct=True))


def points_from_db(
    learner_ids: Iterable[str | uuid.UUID] | None = None, now: datetime | None = None
) -> dict[str, Points]:
    """Points of opted-in learners (all of them, or those given), from the database.

    Attempts are replayed in the order they finished: each counts only by how
    much it beat the learner's earlier best in that quiz, and counts for the
    week when it finished in this week.
    """
    start, end = week_bounds(now or timezone.now())
    learners = Learner.objects.filter(nickname__isnull=False)
    attempts = Attempt.objects.finished().filter(learner__nickname__isnull=False)
    if learner_ids is not None:
        ids = [str(i) for i in learner_ids]
        learners, attempts = learners.filter(pk__in=ids), attempts.filter(learner_id__in=ids)
    totals = {str(pk): [0, 0] for pk in learners.values_list("pk", flat=True)}
    best: dict[tuple[str, int], int] = defaultdict(int)
    rows = (
        attempts.annotate(right=right_answers())
        .order_by("finished_at", "pk")
        .values_list("learner_id", "quiz_id", "right", "finished_at")
    )
    for learner_id, quiz_id, right, finished_at in rows:
        learner = str(learner_id)
        gain = right - best[learner, quiz_id]
        if gain <= 0 or learner not in totals:
            continue
        best[learner, quiz_id] = right
        totals[learner][0] += gain
        if start <= finished_at < end:
            totals[learner][1] += gain
    return {learner: Points(*values) for learner, values in totals.items()}
