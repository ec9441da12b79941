"""The review queue: questions a learner got wrong, brought back by spaced repetition.

Scheduling is FSRS (the `fsrs` package) rather than Leitner boxes: FSRS models
how well each question is remembered (stability, difficulty) and picks the next
review for a 90% chance of recall, where boxes double a fixed interval whatever
the history. A right answer is rated Good and a wrong one Again; nothing here
asks learners to grade themselves.

A question missed in a quiz enters the queue due at once, as a new FSRS card,
so the learner can drill it straight after the quiz. It enters when the learner
is told it was missed: at the answer with immediate feedback, at the finish
with feedback at the end (quizzes.taking decides). Missing it again in a later
quiz counts as an Again review.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.timesince import timeuntil
from fsrs import Card, Rating, Scheduler, State

from quizzes.grading import (
    QuizError,
    choices_right,
    chosen_choices,
    clean_command,
    grade_command_answer,
)
from quizzes.models import Choice, Question, ReviewItem, in_open_attempt

# Fuzzing spreads cards reviewed together over neighbouring days so a deck of
# thousands does not clump; a learner's queue holds a few dozen questions, and a
# predictable "again in 3 days" is worth more here than the spread.
SCHEDULER = Scheduler(enable_fuzzing=False)


@dataclass
class Graded:
    """One graded review answer, for the feedback screen."""

    correct: bool
    chosen: set[int]
    command: str = ""
    report: str = ""


def _utc(moment: datetime) -> datetime:
    # fsrs insists on datetime.UTC itself; database drivers may hand back an equal zone.
    return moment.astimezone(UTC)


def _card(item: ReviewItem) -> Card:
    return Card(
        card_id=item.pk or 0,  # an explicit id: fsrs sleeps 1 ms to invent one otherwise
        state=State(item.state),
        step=item.step,
        stability=item.stability,
        difficulty=item.difficulty,
        due=_utc(item.due),
        last_review=_utc(item.last_reviewed_at) if item.last_reviewed_at else None,
    )


def _apply(item: ReviewItem, correct: bool, now: datetime) -> None:
    """Rate the item's card at `now` and copy the new schedule onto the row (unsaved)."""
    rating = Rating.Good if correct else Rating.Again
    card, _log = SCHEDULER.review_card(_card(item), rating, review_datetime=_utc(now))
    item.state = card.state.value
    item.step = card.step
    item.stability = card.stability
    item.difficulty = card.difficulty
    item.due = card.due
    item.last_reviewed_at = card.last_review
    item.last_correct = correct
    if not correct:
        item.lapses += 1


@transaction.atomic(savepoint=False)
def record_miss(learner_id: str, question: Question, now: datetime | None = None) -> ReviewItem:
    """Put a question the learner just got wrong in a quiz into their queue.

    Meant to run inside the quiz answer's transaction (no savepoint of its own).
    A new item is due at once; one already queued takes the miss as an Again.
    """
    now = now or timezone.now()
    item = (
        ReviewItem.objects.select_for_update()
        .filter(learner_id=learner_id, question_id=question.pk)
        .first()
    )
    if item is None:
        # No savepoint against a racing insert: a question belongs to one quiz, and
        # the answer holds the lock on the learner's one open attempt at it.
        return ReviewItem.objects.create(
            learner_id=learner_id, question_id=question.pk, due=now, created_at=now
        )
    _apply(item, correct=False, now=now)
    item.save()
    return item


def due_items(learner_id: str, now: datetime | None = None) -> QuerySet[ReviewItem]:
    """The learner's items due at `now`, soonest first, with what a review screen shows."""
    return (
        ReviewItem.objects.due(learner_id, now)
        .select_related("question__quiz__topic")
        .prefetch_related("question__choices")
    )


def due_count(learner_id: str | None) -> int:
    """How many of the learner's reviews are due now: one COUNT query."""
    if not learner_id:
        return 0
    return ReviewItem.objects.due(learner_id).count()


def next_due(learner_id: str) -> datetime | None:
    """When the learner's next review falls due (None: their queue is empty)."""
    return (
        ReviewItem.objects.live()
        .filter(learner_id=learner_id)
        .order_by("due")
        .values_list("due", flat=True)
        .first()
    )


def owned_item(learner_id: str, item_id: int) -> ReviewItem:
    """The learner's own item (404 for anyone else's, or a question no longer published)."""
    item = (
        ReviewItem.objects.live()
        .filter(pk=item_id, learner_id=learner_id)
        .select_related("question__quiz__topic")
        .prefetch_related("question__choices", "question__checks")
        .first()
    )
    if item is None:
        raise QuizError("There is no such question in your review queue.", status=404)
    return item


def _not_due(item: ReviewItem, now: datetime) -> QuizError:
    return QuizError(
        f"This question is not due for review yet: it comes back in {due_in_words(item.due, now)}.",
        status=409,
    )


def choices_for(item: ReviewItem) -> list[Choice]:
    """The choices in the order this review shows them.

    A quiz that shuffles its choices shuffles them here too, in a new order at
    each review (seeded, so a reload keeps it) so position can't be memorised.
    """
    question = item.question
    choices = list(question.choices.all())
    if question.quiz.shuffle_choices and question.kind != Question.Kind.TRUE_FALSE:
        random.Random(f"review:{item.pk}:{item.reviews}").shuffle(choices)
    return choices


def grade(item: ReviewItem, choice_ids: Sequence[str], command: str) -> Graded:
    """Grade a review answer as a quiz grades it, without storing anything.

    Refuses (QuizError) an item that is not due, or an answer that is not one:
    no choice, a choice from elsewhere, two choices for one answer, no command.
    """
    now = timezone.now()
    if not item.is_due(now):
        raise _not_due(item, now)
    question = item.question
    if in_open_attempt(item.learner_id, question).exists():
        raise QuizError(
            "A quiz you have not finished asks this question: finish the quiz first.", status=409
        )
    # The same rules, words and grading as a quiz answer.
    if not question.is_command:
        chosen = {c.pk for c in chosen_choices(question, choice_ids)}
        return Graded(choices_right(question, chosen), chosen)
    line = clean_command(command)
    result = grade_command_answer(question, line)
    return Graded(result.correct, set(), line, result.report)


def review(item: ReviewItem, correct: bool, now: datetime | None = None) -> ReviewItem:
    """Reschedule `item` by the answer (right: Good, wrong: Again) and save it.

    Refuses (QuizError 409) an item not due at `now`, so a second tab or a
    resubmitted form can't review the same question twice in a row.
    """
    now = now or timezone.now()
    question = item.question
    with transaction.atomic():
        try:
            item.refresh_from_db(from_queryset=ReviewItem.objects.select_for_update())
        except ReviewItem.DoesNotExist:
            raise QuizError("This question has left your review queue.", 404) from None
        # Refreshing drops the loaded question; the feedback screen still needs it.
        item.question = question
        if not item.is_due(now):
            raise _not_due(item, now)
        _apply(item, correct, now)
        item.reviews += 1
        item.save()
    return item


def due_in_words(due: datetime, now: datetime | None = None) -> str:
    """How long from `now` until `due`, in the largest unit: "10 minutes", "3 days"."""
    now = now or timezone.now()
    if due - now < timedelta(minutes=1):
        return "less than a minute"  # timeuntil would say "0 minutes"
    return timeuntil(due, now, depth=1)
