"""The weekly and all-time boards in Redis sorted sets: award, refresh, rebuild, read.

The database is the truth and Redis a cache of it: every number here can be
recomputed from finished attempts (`rebuild`, `refresh_learner`), so losing
the app Redis costs a rebuild, never a point. Members are learner ids (the
nicknames live in the database and may change); a learner is on the boards if
and only if they chose a nickname. The weekly key expires a day after its
week ends.

Every command names one key, or keys sharing a hash tag (a rebuild's RENAME),
and pipelines are not transactions, so all of it works on a cluster.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from config.redis_config import APP_REDIS_DOWN as DOWN
from learn.models import Learner
from learn.redis_clients import app_redis
from quizzes.leaderboard.points import (
    ALL_KEY,
    BOARDS,
    Board,
    Points,
    board_key,
    points_from_db,
    right_answers,
    week_expiry,
    week_label,
)
from quizzes.models import Attempt

logger = logging.getLogger(__name__)

# Set by a rebuild. Missing means the boards may be partial (a flush, a fresh
# server): the next reader rebuilds them from the database.
BUILT_KEY = "cachelab:board:built"
LOCK_KEY = "cachelab:board:rebuilding"
LOCK_SECONDS = 60
ZADD_CHUNK = 1000
# Attempts finished this long before a rebuild began are re-read after it, in
# case their award landed while the rebuild was writing.
RACE_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class Entry:
    rank: int  # 1-based
    learner_id: str
    nickname: str
    points: int


@dataclass(frozen=True)
class Standing:
    rank: int  # 1-based
    points: int


@dataclass(frozen=True)
class Standings:
    """What /leaderboard/ shows: the top of each board and one learner's places."""

    week: str
    top: dict[Board, list[Entry]]
    mine: dict[Board, Standing | None]


@dataclass(frozen=True)
class Rebuilt:
    week: str
    all_time_members: int
    week_members: int


# -- writing -----------------------------------------------------------------
def award(attempt: Attempt) -> int:
    """Add what a just-finished attempt improved on the learner's best; return it.

    Runs after the attempt's transaction commits (quizzes.taking schedules it).
    Each attempt is awarded at most once, whoever calls and however many at
    once: the conditional UPDATE below claims it, and only the caller whose
    UPDATE changed the row goes on (the database serialises the UPDATEs; on
    PostgreSQL a second one waits for the first and then finds the row
    claimed). Never raises for Redis: when it is away the award is skipped,
    and a rebuild restores it.
    """
    now = timezone.now()
    claimed = Attempt.objects.filter(
        pk=attempt.pk, finished_at__isnull=False, awarded_at__isnull=True
    ).update(awarded_at=now)
    if not claimed:
        return 0
    rows = (
        Attempt.objects.finished()
        .filter(
            learner_id=attempt.learner_id, quiz_id=attempt.quiz_id, learner__nickname__isnull=False
        )
        .annotate(right=right_answers())
        .values_list("pk", "right", "finished_at")
    )
    rights = {pk: (right, finished_at) for pk, right, finished_at in rows}
    if attempt.pk not in rights:
        return 0  # not on the leaderboard
    right, finished_at = rights[attempt.pk]
    earlier = [r for pk, (r, _) in rights.items() if pk != attempt.pk]
    gain = right - max(earlier, default=0)
    if gain <= 0:
        return 0
    member = str(attempt.learner_id)
    try:
        pipe = app_redis().pipeline(transaction=False)
        # XX: only a member already on the board is incremented; one missing
        # (a flush, or an opt-in made while Redis was away) would otherwise
        # start from this gain alone. It is re-read from the database instead.
        pipe.zadd(ALL_KEY, {member: gain}, xx=True, incr=True)
        if week_label(finished_at) == week_label(now):
            pipe.zincrby(board_key("week", now), gain, member)
            pipe.expireat(board_key("week", now), week_expiry(now))
        on_board = pipe.execute()[0] is not None
        if not on_board:
            refresh_learner(member, now)
    except DOWN as exc:
        logger.warning("leaderboard: award of %s points skipped: %s", gain, exc)
        return 0
    return gain


def _write(pipe, learner_id: str, points: Points | None, now: datetime) -> None:
    week = board_key("week", now)
    if points is None:
        pipe.zrem(ALL_KEY, learner_id).zrem(week, learner_id)
        return
    pipe.zadd(ALL_KEY, {learner_id: points.all_time})
    if points.week > 0:
        pipe.zadd(week, {learner_id: points.week}).expireat(week, week_expiry(now))
    else:
        pipe.zrem(week, learner_id)


def refresh_learner(learner_id: str | uuid.UUID, now: datetime | None = None) -> bool:
    """Recompute one learner's points from the database and write them to both boards.

    Adds them (ZADD) if they have a nickname, removes them (ZREM) if not, or if
    the learner no longer exists. Call it after the transaction that changed
    their attempts or nickname commits (transaction.on_commit). Returns False,
    with a logged warning, when Redis is away.
    """
    now = now or timezone.now()
    learner = str(learner_id)
    points = points_from_db([learner], now).get(learner)
    try:
        pipe = app_redis().pipeline(transaction=False)
        _write(pipe, learner, points, now)
        pipe.execute()
    except DOWN as exc:
        logger.warning("leaderboard: refresh of learner %s skipped: %s", learner, exc)
        return False
    return True


def _build(pipe, key: str, scores: dict[str, int], expire_at: datetime | None) -> str | None:
    """Queue building a board's new copy in a temporary key; return that key.

    Renamed into place afterwards (`_swap`), readers see the old board until
    then, and the new one after: never a half-built board. None: the new board
    is empty.
    """
    if not scores:
        return None
    temporary = f"{key}:tmp:{secrets.token_hex(4)}"
    items = list(scores.items())
    for i in range(0, len(items), ZADD_CHUNK):
        pipe.zadd(temporary, dict(items[i : i + ZADD_CHUNK]))
    # RENAME keeps the source's TTL: the week's own expiry, or a short one so
    # that a crash before the swap leaves no temporary key behind for long.
    if expire_at is None:
        pipe.expire(temporary, LOCK_SECONDS)
    else:
        pipe.expireat(temporary, expire_at)
    return temporary


def _swap(client, temporary: str | None, key: str, keeps_ttl: bool) -> None:
    # Outside the pipeline: redis-py's cluster pipelines refuse RENAME (the
    # hash tag makes it legal here, but the client cannot tell).
    if temporary is None:
        client.delete(key)
        return
    client.rename(temporary, key)
    if not keeps_ttl:
        client.persist(key)


def rebuild(now: datetime | None = None) -> Rebuilt:
    """Recompute both boards from the database and swap them in. Raises if Redis is away."""
    began = timezone.now()
    now = now or began
    points = points_from_db(now=now)
    all_time = {learner: p.all_time for learner, p in points.items()}
    week = {learner: p.week for learner, p in points.items() if p.week > 0}
    client, week_key = app_redis(), board_key("week", now)
    pipe = client.pipeline(transaction=False)
    built = [
        (_build(pipe, ALL_KEY, all_time, None), ALL_KEY, False),
        (_build(pipe, week_key, week, week_expiry(now)), week_key, True),
    ]
    pipe.execute()
    for temporary, key, keeps_ttl in built:
        _swap(client, temporary, key, keeps_ttl)
    client.set(BUILT_KEY, began.isoformat())
    # An award committed just before the database was read but written to
    # Redis after the swap would count twice; one written before the swap was
    # overwritten. Re-reading whoever finished lately settles both.
    recent = (
        Attempt.objects.filter(
            finished_at__gte=began - RACE_MARGIN, learner__nickname__isnull=False
        )
        .values_list("learner_id", flat=True)
        .distinct()
    )
    recent = [str(learner) for learner in recent]
    if recent:
        pipe = app_redis().pipeline(transaction=False)
        for learner, learner_points in points_from_db(recent, now).items():
            _write(pipe, learner, learner_points, now)
        pipe.execute()
    return Rebuilt(week_label(now), len(all_time), len(week))


def rebuild_if_missing(now: datetime | None = None) -> bool:
    """Rebuild unless a rebuild has run since the boards were last lost.

    Returns False while another process holds the rebuild lock: the caller
    should say the board is rebuilding.
    """
    client = app_redis()
    if client.exists(BUILT_KEY):
        return True
    token = secrets.token_hex(8)
    if not client.set(LOCK_KEY, token, nx=True, ex=LOCK_SECONDS):
        return False
    try:
        rebuild(now)
    finally:
        if client.get(LOCK_KEY) == token.encode():
            client.delete(LOCK_KEY)
    return True


# -- reading -----------------------------------------------------------------
def _standing(rank: int | None, score: float | None) -> Standing | None:
    return None if rank is None or score is None else Standing(rank + 1, int(score))


def _nicknames(ids: Iterable[str]) -> dict[str, str]:
    rows = Learner.objects.filter(pk__in=list(ids), nickname__isnull=False)
    return {str(pk): nickname for pk, nickname in rows.values_list("pk", "nickname")}


def _entries(client, rows: list[tuple[bytes, float]], key: str, names: dict[str, str]):
    entries, stale = [], []
    for position, (member, score) in enumerate(rows, start=1):
        learner = member.decode()
        if learner in names:
            entries.append(Entry(position, learner, names[learner], int(score)))
        else:
            stale.append(learner)  # left the board (or gone) while Redis was away
    if stale:
        client.zrem(key, *stale)
    return entries


def top(board: Board, n: int = 10, now: datetime | None = None) -> list[Entry]:
    """The board's first `n` learners with their nicknames (one query). Raises if Redis is away."""
    client = app_redis()
    key = board_key(board, now)
    rows = client.zrevrange(key, 0, n - 1, withscores=True)
    return _entries(client, rows, key, _nicknames(m.decode() for m, _ in rows))


def rank(board: Board, learner_id: str | uuid.UUID, now: datetime | None = None) -> Standing | None:
    """The learner's 1-based place (ZREVRANK) and points, or None when not on the board."""
    pipe = app_redis().pipeline(transaction=False)
    key, member = board_key(board, now), str(learner_id)
    place, score = pipe.zrevrank(key, member).zscore(key, member).execute()
    return _standing(place, score)


def standings(
    learner_id: str | uuid.UUID, on_board: bool, n: int = 10, now: datetime | None = None
) -> Standings | None:
    """Both boards' top `n` and the learner's places: one Redis round trip, one query.

    None while another process is rebuilding the boards. Raises if Redis is away.
    """
    now = now or timezone.now()
    if not rebuild_if_missing(now):
        return None
    client, member = app_redis(), str(learner_id)
    pipe = client.pipeline(transaction=False)
    for board in BOARDS:
        key = board_key(board, now)
        pipe.zrevrange(key, 0, n - 1, withscores=True).zrevrank(key, member).zscore(key, member)
    replies = pipe.execute()
    rows = {board: replies[3 * i] for i, board in enumerate(BOARDS)}
    mine = {board: _standing(*replies[3 * i + 1 : 3 * i + 3]) for i, board in enumerate(BOARDS)}
    if on_board and mine["all"] is None and refresh_learner(member, now):
        # Opted in while Redis was away: put them on now, from the database.
        mine = {board: rank(board, member, now) for board in BOARDS}
    if not on_board:
        if mine["all"] is not None:
            refresh_learner(member, now)  # left while Redis was away: take them off
        mine = {board: None for board in BOARDS}
    names = _nicknames({m.decode() for board_rows in rows.values() for m, _ in board_rows})
    top_entries = {
        board: _entries(client, rows[board], board_key(board, now), names) for board in BOARDS
    }
    return Standings(week_label(now), top_entries, mine)
