"""Item statistics an instructor reads to see what the class misunderstands.

Which attempts count: each learner's *first finished* attempt at the quiz, and
no other. A first attempt shows what the learner knew before the quiz's own
feedback taught them; retakes would let one learner count many times, and one
session taking a quiz hundreds of times (junk answers, at once) would drag every
figure towards its own. Open attempts never count. The admin's statistics page
says so, with how many finished attempts that leaves out.

Facility is the share of answers that were right. Discrimination is the
upper-minus-lower index: rank the counted attempts by score, take the top and
bottom 27%, and subtract the bottom group's facility from the top group's;
near 0 (or negative) means the question does not separate those who know the
topic from those who don't.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Avg, Count, OuterRef, Q, QuerySet, Subquery

from quizzes import leaderboard
from quizzes.grading import attempt_score, choices_right, grade_question_command
from quizzes.models import Attempt, Question, Quiz, Response

GROUP_SHARE = 0.27


@dataclass
class ItemStats:
    question: Question
    answers: int = 0
    facility: float | None = None  # percent right
    discrimination: float | None = None  # -1 .. 1
    picks: list[tuple[str, bool, int]] = field(default_factory=list)  # (choice, correct, count)


@dataclass
class QuizStats:
    attempts: int  # counted: each learner's first finished attempt
    mean: Decimal | None
    pass_rate: float | None
    items: list[ItemStats]
    finished: int = 0  # every finished attempt, counted or not


def counted_attempts(quiz: Quiz) -> QuerySet[Attempt]:
    """The attempts statistics are based on: each learner's first finished one."""
    finished = quiz.attempts.finished()
    first = finished.filter(learner=OuterRef("learner")).order_by("finished_at", "pk")
    return finished.filter(pk=Subquery(first.values("pk")[:1]))


def quiz_statistics(quiz: Quiz) -> QuizStats:
    finished = counted_attempts(quiz)
    summary = finished.aggregate(
        n=Count("id"), mean=Avg("score"), passed=Count("id", filter=Q(passed=True))
    )
    attempts = summary["n"]
    ranked = list(finished.order_by("-score", "finished_at").values_list("id", flat=True))
    size = max(1, round(len(ranked) * GROUP_SHARE)) if len(ranked) >= 2 else 0
    upper, lower = set(ranked[:size]), set(ranked[-size:]) if size else set()

    counted = finished.values("pk")
    responses = Response.objects.filter(slot__attempt__in=counted).values_list(
        "slot__question_id", "slot__attempt_id", "correct"
    )
    by_question: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for question_id, attempt_id, correct in responses:
        by_question[question_id].append((attempt_id, correct))
    picks = Counter(
        Response.choices.through.objects.filter(response__slot__attempt__in=counted).values_list(
            "choice_id", flat=True
        )
    )

    items = []
    for question in quiz.questions.prefetch_related("choices"):
        answers = by_question.get(question.pk, [])
        item = ItemStats(question=question, answers=len(answers))
        if answers:
            item.facility = 100 * sum(c for _, c in answers) / len(answers)
            item.discrimination = _discrimination(answers, upper, lower)
        item.picks = [(c.text, c.correct, picks.get(c.pk, 0)) for c in question.choices.all()]
        items.append(item)
    return QuizStats(
        attempts=attempts,
        mean=summary["mean"],
        pass_rate=100 * summary["passed"] / attempts if attempts else None,
        items=items,
        finished=quiz.attempts.finished().count(),
    )


def _discrimination(
    answers: list[tuple[int, bool]], upper: set[int], lower: set[int]
) -> float | None:
    top = [c for a, c in answers if a in upper]
    bottom = [c for a, c in answers if a in lower]
    if not top or not bottom:
        return None
    return sum(top) / len(top) - sum(bottom) / len(bottom)


@dataclass
class ScoreChange:
    attempt: Attempt
    old: Decimal
    new: Decimal
    old_passed: bool
    new_passed: bool


def regrade(quiz: Quiz, *, apply: bool) -> list[ScoreChange]:
    """Grade every answer again against the current key; list the score changes.

    Choice answers are compared with the current key; command answers are run
    again against the current setup and checks. With apply=False (the dry
    run) nothing is written.
    """
    changes = []
    with transaction.atomic():
        for attempt in quiz.attempts.finished().select_for_update():
            changed_rows = []
            for slot in attempt.slots.select_related("question", "response"):
                response = getattr(slot, "response", None)
                if response is None:
                    continue
                question = slot.question
                if question.is_command:
                    correct = grade_question_command(question, response.command).correct
                else:
                    correct = choices_right(question, (c.pk for c in response.choices.all()))
                if correct != response.correct:
                    response.correct = correct
                    changed_rows.append(response)
            if not changed_rows:
                continue
            if apply:
                Response.objects.bulk_update(changed_rows, ["correct"])
            overrides = {} if apply else {r.pk: r.correct for r in changed_rows}
            new = attempt_score(attempt, overrides)
            change = ScoreChange(
                attempt, attempt.score, new, bool(attempt.passed), new >= quiz.pass_mark
            )
            if change.old != change.new or change.old_passed != change.new_passed:
                changes.append(change)
            if apply:
                attempt.score, attempt.passed = new, new >= quiz.pass_mark
                attempt.save(update_fields=["score", "passed"])
        if apply and changes:
            # Points come from right answers: the boards follow the new grades.
            learners = {str(change.attempt.learner_id) for change in changes}
            transaction.on_commit(lambda: [leaderboard.refresh_learner(i) for i in learners])
    return changes
