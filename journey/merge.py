"""Merging an anonymous learner into an account: everything they did moves.

Where both sides hold a record of the same thing, the one that says more is
kept. This spans every app (topics, quizzes, review, leaderboard, labs, the
bench, the sandbox keys), which is why it lives in the journey layer.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Count

from config.redis_config import APP_REDIS_DOWN as DOWN
from labs import services as labs
from learn.models import Learner, TopicProgress
from learn.redis_clients import sandbox
from learn.sandbox.runner import SandboxUnavailable
from learn.sandbox_views import namespace_of
from patterns.models import Run
from quizzes import leaderboard, taking
from quizzes.models import Attempt, ReviewItem

logger = logging.getLogger(__name__)


def merge_learners(source: Learner, target: Learner) -> None:
    """Move everything of `source` onto `target`, then delete `source`.

    Where both hold a record of the same thing, the one that says more is
    kept (earliest read, every example either ran, the review card with more
    history); attempts are all kept, since each is a piece of history.
    """
    _merge_topic_progress(source, target)
    _merge_attempts(source, target)
    _merge_review_items(source, target)
    labs.merge_progress(str(source.pk), str(target.pk))
    _merge_bench_runs(source, target)
    if source.nickname and not target.nickname:
        nickname, source.nickname = source.nickname, None
        source.save(update_fields=["nickname"])
        target.nickname = nickname
        target.save(update_fields=["nickname"])
    source_id, target_id = str(source.pk), str(target.pk)
    source.delete()
    # Redis mirrors the database: refresh it once the move is committed.
    transaction.on_commit(lambda: leaderboard.refresh_learner(source_id))
    transaction.on_commit(lambda: leaderboard.refresh_learner(target_id))
    transaction.on_commit(lambda: _move_sandbox(source_id, target_id))


def _move_sandbox(source_id: str, target_id: str) -> None:
    """The sandbox keys follow the learner into the account (best effort)."""
    try:
        sandbox().adopt(namespace_of(source_id), namespace_of(target_id))
    except (SandboxUnavailable, *DOWN) as exc:
        # Left behind, they are swept with the idle namespace; nothing else is lost.
        logger.warning("sandbox keys not moved to the account: %s", exc)


def _merge_topic_progress(source: Learner, target: Learner) -> None:
    kept = {row.topic_id: row for row in TopicProgress.objects.filter(learner=target)}
    for row in TopicProgress.objects.filter(learner=source):
        mine = kept.get(row.topic_id)
        if mine is None:
            row.learner = target
            row.save(update_fields=["learner"])
            continue
        reads = [t for t in (mine.read_at, row.read_at) if t]
        mine.read_at = min(reads) if reads else None
        mine.examples_run = sorted({*mine.examples_run, *row.examples_run})
        mine.save(update_fields=["read_at", "examples_run"])
        row.delete()


def _merge_attempts(source: Learner, target: Learner) -> None:
    # One open attempt per quiz and learner: where both have one, the one
    # with fewer answers is finished (and scored) so both stay in the history.
    theirs = {
        a.quiz_id: a
        for a in Attempt.objects.in_progress()
        .filter(learner=target)
        .annotate(answered=Count("slots__response"))
    }
    for attempt in (
        Attempt.objects.in_progress()
        .filter(learner=source, quiz_id__in=theirs)
        .annotate(answered=Count("slots__response"))
        .select_related("quiz")
    ):
        other = theirs[attempt.quiz_id]
        loser = attempt if attempt.answered <= other.answered else other
        loser.quiz = attempt.quiz
        taking.close_attempt(loser)
    Attempt.objects.filter(learner=source).update(learner=target)


def _merge_review_items(source: Learner, target: Learner) -> None:
    kept = {item.question_id: item for item in ReviewItem.objects.filter(learner=target)}
    for item in ReviewItem.objects.filter(learner=source):
        mine = kept.get(item.question_id)
        if mine is None:
            continue
        # Keep the card with the longer history; the other is the same question.
        if item.reviews > mine.reviews:
            mine.delete()
        else:
            item.delete()
    ReviewItem.objects.filter(learner=source).update(learner=target)


def _merge_bench_runs(source: Learner, target: Learner) -> None:
    # One live bench run per learner: a run still going on the anonymous side
    # moves only when the account has none of its own (else it ends with it).
    runs = Run.objects.filter(learner=source)
    if Run.objects.filter(learner=target, slot__isnull=False).exists():
        runs = runs.filter(slot__isnull=True)
    runs.update(learner=target)
