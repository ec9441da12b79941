"""Taking a quiz: start (or resume), answer, finish. Every rule enforced here."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from learn.models import Learner
from quizzes.grading import grade_question_command
from quizzes.models import Attempt, AttemptQuestion, Choice, Question, Quiz, Response


class QuizError(Exception):
    """A request the rules refuse; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@transaction.atomic
def start_attempt(learner_id: str, quiz: Quiz) -> Attempt:
    """Resume the learner's open attempt, or draw a new one."""
    learner, _ = Learner.objects.get_or_create(id=learner_id)
    open_attempt = quiz.attempts.in_progress().filter(learner=learner).first()
    if open_attempt and not open_attempt.time_is_up():
        return open_attempt
    if open_attempt:
        open_attempt.finish(now=open_attempt.deadline)
    questions = list(quiz.questions.all())
    if not questions:
        raise QuizError("This quiz has no questions yet.", status=409)
    if quiz.shuffle_questions or quiz.draw_count:
        random.shuffle(questions)
    if quiz.draw_count:
        questions = questions[: quiz.draw_count]
        if not quiz.shuffle_questions:
            questions.sort(key=lambda q: (q.order, q.pk))
    now = timezone.now()
    deadline = now + timedelta(minutes=quiz.time_limit_minutes) if quiz.time_limit_minutes else None
    try:
        with transaction.atomic():
            attempt = Attempt.objects.create(
                learner=learner, quiz=quiz, started_at=now, deadline=deadline
            )
    except IntegrityError:
        # Another tab started one a moment ago: resume that.
        return quiz.attempts.in_progress().get(learner=learner)
    AttemptQuestion.objects.bulk_create(
        AttemptQuestion(attempt=attempt, question=q, position=i)
        for i, q in enumerate(questions, start=1)
    )
    return attempt


def owned_attempt(learner_id: str, quiz: Quiz, attempt_id: int) -> Attempt:
    attempt = Attempt.objects.filter(pk=attempt_id, quiz=quiz).select_related("quiz").first()
    if attempt is None:
        raise QuizError("There is no such attempt.", status=404)
    if str(attempt.learner_id) != str(learner_id):
        raise QuizError("This attempt belongs to someone else.", status=403)
    return attempt


def slot_at(attempt: Attempt, position: int) -> AttemptQuestion:
    slot = (
        attempt.slots.filter(position=position)
        .select_related("question__quiz__topic")
        .prefetch_related("question__choices")
        .first()
    )
    if slot is None:
        raise QuizError("That question is not part of this attempt.", status=404)
    return slot


def _chosen(question: Question, raw_ids: list[str]) -> list[Choice]:
    try:
        ids = {int(value) for value in raw_ids}
    except ValueError:
        raise QuizError("That answer is not one of the choices.") from None
    choices = [c for c in question.choices.all() if c.pk in ids]
    if len(choices) != len(ids):
        raise QuizError("That choice is not part of this question.")
    if not choices:
        raise QuizError("Choose an answer first.")
    if question.kind != Question.Kind.MULTIPLE and len(choices) > 1:
        raise QuizError("Choose one answer only.")
    return choices


def _open_slot(attempt: Attempt, position: int) -> tuple[Attempt, AttemptQuestion]:
    """Lock the attempt and check it may take an answer at this position.

    Runs inside the caller's transaction; an attempt whose time ran out raises
    _Expired, and the caller closes it (see _expire).
    """
    # The lock serialises two tabs answering at once.
    attempt = Attempt.objects.select_for_update().select_related("quiz").get(pk=attempt.pk)
    if attempt.is_finished:
        raise QuizError("This attempt is finished; start a new one to try again.", status=409)
    if attempt.time_is_up():
        raise _Expired
    slot = slot_at(attempt, position)
    if Response.objects.filter(slot=slot).exists():
        raise QuizError("You have already answered this question.", status=409)
    return attempt, slot


class _Expired(Exception):
    """Time ran out: the attempt gets closed and the answer refused."""


def _expire(attempt: Attempt) -> QuizError:
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().select_related("quiz").get(pk=attempt.pk)
        if not attempt.is_finished:
            attempt.finish(now=attempt.deadline)
    return QuizError("Time is up: this attempt has been finished and scored.", status=409)


def _store(
    slot: AttemptQuestion, correct: bool, chosen: list[Choice], command: str, report: str
) -> Response:
    response = Response.objects.create(slot=slot, command=command, report=report, correct=correct)
    Response.choices.through.objects.bulk_create(
        Response.choices.through(response=response, choice=choice) for choice in chosen
    )
    return response


def submit_answer(attempt: Attempt, position: int, choice_ids: list[str], command: str) -> Response:
    """Grade and store one answer; refuse anything the rules forbid, changing nothing."""
    try:
        with transaction.atomic():
            attempt, slot = _open_slot(attempt, position)
            question = slot.question
            if not question.is_command:
                # Choice answers grade in microseconds: check, grade and store at once.
                chosen = _chosen(question, choice_ids)
                correct = {c.pk for c in chosen} == question.correct_choice_ids()
                return _store(slot, correct, chosen, "", "")
            if not command.strip():
                raise QuizError("Type a command first.")
    except _Expired:
        raise _expire(attempt) from None
    except IntegrityError:
        raise QuizError("You have already answered this question.", status=409) from None
    # A command runs on the sandbox server: grade it outside the lock, then store
    # it if the attempt is still open and the question still unanswered.
    result = grade_question_command(question, command)
    try:
        with transaction.atomic():
            attempt, slot = _open_slot(attempt, position)
            return _store(slot, result.correct, [], command.strip(), result.report)
    except _Expired:
        raise _expire(attempt) from None
    except IntegrityError:
        raise QuizError("You have already answered this question.", status=409) from None


def finish_attempt(attempt: Attempt) -> Attempt:
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().select_related("quiz").get(pk=attempt.pk)
        if attempt.is_finished:
            raise QuizError("This attempt is already finished.", status=409)
        attempt.finish(now=min(timezone.now(), attempt.deadline) if attempt.deadline else None)
    return attempt
