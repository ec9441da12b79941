"""Taking a quiz: start (or resume), answer, finish. Every rule enforced here."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from config.redis_config import APP_REDIS_DOWN as DOWN
from learn.models import Learner
from learn.sandbox.runner import SandboxUnavailable
from quizzes.grading import CommandResult, grade_question_command
from quizzes.models import Attempt, AttemptQuestion, Choice, Question, Quiz, Response
from quizzes.review import record_miss


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


def owned_attempt(learner_id: str, quiz_slug: str, attempt_id: int) -> Attempt:
    """The learner's attempt at the quiz `quiz_slug`, its quiz and topic loaded: one query.

    Whether the learner may see the quiz at all is the view's question.
    """
    try:
        attempt = Attempt.objects.select_related("quiz__topic").get(
            pk=attempt_id, quiz__slug=quiz_slug
        )
    except Attempt.DoesNotExist:
        raise QuizError("There is no such attempt.", status=404) from None
    if str(attempt.learner_id) != str(learner_id):
        raise QuizError("This attempt belongs to someone else.", status=403)
    return attempt


def slot_at(attempt: Attempt, position: int) -> AttemptQuestion:
    """The question drawn at `position`, with its choices and any response."""
    try:
        slot = (
            attempt.slots.select_related("question", "response")
            .prefetch_related("question__choices")
            .get(position=position)
        )
    except AttemptQuestion.DoesNotExist:
        raise QuizError("That question is not part of this attempt.", status=404) from None
    if slot.question.quiz_id == attempt.quiz_id:
        slot.question.quiz = attempt.quiz  # already loaded, with its topic
    return slot


def progress(attempt: Attempt) -> tuple[int, int]:
    """(questions answered, questions drawn) in the attempt: one query."""
    counts = attempt.slots.aggregate(answered=Count("response"), drawn=Count("pk"))
    return counts["answered"], counts["drawn"]


def chosen_choices(question: Question, raw_ids: list[str]) -> list[Choice]:
    """The choices an answer picked, refusing (QuizError) anything that isn't one answer."""
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


def _lock(attempt: Attempt) -> None:
    """Lock the attempt's row and reload what may have changed since it was read."""
    attempt.refresh_from_db(
        fields=["finished_at", "deadline"], from_queryset=Attempt.objects.select_for_update()
    )


def _open_slot(attempt: Attempt, slot: AttemptQuestion) -> None:
    """Lock the attempt and check it may take an answer in this slot.

    Runs inside the caller's transaction; an attempt whose time ran out raises
    _Expired, and the caller closes it (see _expire).
    """
    # The lock serialises two tabs answering at once.
    _lock(attempt)
    if attempt.is_finished:
        raise QuizError("This attempt is finished; start a new one to try again.", status=409)
    if attempt.time_is_up():
        raise _Expired
    # As read before the lock; one stored since is caught by the unique slot.
    if hasattr(slot, "response"):
        raise QuizError("You have already answered this question.", status=409)


@contextmanager
def _answering(attempt: Attempt, slot: AttemptQuestion) -> Iterator[None]:
    """A transaction, entered only while the slot may take an answer.

    Everything inside is undone if it raises: time running out closes the
    attempt (in a transaction of its own) and refuses the answer; a response
    stored meanwhile by another request refuses this one.
    """
    try:
        with transaction.atomic():
            _open_slot(attempt, slot)
            yield
    except _Expired:
        raise _expire(attempt) from None
    except IntegrityError:
        raise QuizError("You have already answered this question.", status=409) from None


class _Expired(Exception):
    """Time ran out: the attempt gets closed and the answer refused."""


def _expire(attempt: Attempt) -> QuizError:
    with transaction.atomic():
        _lock(attempt)
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
    if not correct:
        record_miss(slot.attempt.learner_id, slot.question)
    return response


def submit_answer(attempt: Attempt, position: int, choice_ids: list[str], command: str) -> Response:
    """Grade and store one answer; refuse anything the rules forbid, changing nothing.

    The question and its choices are read before taking the lock (a drawn
    question does not change), so the lock is held for a re-read of the
    attempt and the writes only.
    """
    slot = slot_at(attempt, position)
    question = slot.question
    if not question.is_command:
        with _answering(attempt, slot):
            # Choice answers grade in microseconds: check, grade and store at once.
            chosen = chosen_choices(question, choice_ids)
            correct = {c.pk for c in chosen} == question.correct_choice_ids()
            return _store(slot, correct, chosen, "", "")
    with _answering(attempt, slot):
        if not command.strip():
            raise QuizError("Type a command first.")
    # A command runs on the sandbox server: grade it outside the lock, then store
    # it if the attempt is still open and the question still unanswered.
    result = grade_command_answer(question, command)
    with _answering(attempt, slot):
        return _store(slot, result.correct, [], command.strip(), result.report)


def grade_command_answer(question: Question, command: str) -> CommandResult:
    """Run a command answer in a scratch namespace and check it, or say the sandbox is away."""
    try:
        return grade_question_command(question, command)
    except (SandboxUnavailable, *DOWN):
        raise QuizError(
            "The sandbox server is temporarily unavailable, so your command can't be "
            "checked. Nothing was recorded: try again in a moment.",
            status=503,
        ) from None


def finish_attempt(attempt: Attempt) -> Attempt:
    with transaction.atomic():
        _lock(attempt)
        if attempt.is_finished:
            raise QuizError("This attempt is already finished.", status=409)
        attempt.finish(now=min(timezone.now(), attempt.deadline) if attempt.deadline else None)
    return attempt
