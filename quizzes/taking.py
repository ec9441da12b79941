"""Taking a quiz: the one door to start, answer, finish, extend and expire attempts.

Every rule is enforced here, under a lock on the attempt's row, and the views
only call these functions. Closing an attempt (a learner's finish, time
running out, a start that finds the open attempt expired) goes through
`_close`, which writes the row and what must follow it:

- the review queue: a miss joins it when the learner may know it was a miss,
  at once in a quiz with immediate feedback (`_store`), at the finish in one
  with feedback at the end (`_queue_misses`, in the finish's transaction, so a
  finished attempt never lacks its misses);
- the leaderboard award, scheduled with `transaction.on_commit`, since it writes
  Redis: only a committed score is worth points. The award itself claims the
  attempt once (see `leaderboard.award`), so concurrent closes award it once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.timesince import timeuntil

from learn.models import Learner
from quizzes import leaderboard
from quizzes.grading import (
    QuizError,
    attempt_score,
    choices_right,
    chosen_choices,
    clean_command,
    grade_command_answer,
)
from quizzes.models import Attempt, AttemptQuestion, Choice, Quiz, Response
from quizzes.review import record_miss

# A learner may start a quiz this many times per window (resuming the open
# attempt is free). Retakes are welcome; hundreds of junk attempts a minute
# only pad the history and the instructor's item statistics.
ATTEMPTS_PER_WINDOW = 10
ATTEMPT_WINDOW = timedelta(hours=1)


def start_attempt(learner_id: str, quiz: Quiz) -> Attempt:
    """Resume the learner's open attempt, or draw a new one.

    An open attempt whose time ran out is closed first (at its deadline). A
    refusal (no questions, too many starts) is raised after that close commits.
    """
    now = timezone.now()
    with transaction.atomic():
        learner, _ = Learner.objects.get_or_create(id=learner_id)
        # Locked: two simultaneous starts must not both close an expired attempt.
        open_attempt = (
            quiz.attempts.in_progress().filter(learner=learner).select_for_update().first()
        )
        if open_attempt and not open_attempt.time_is_up(now):
            return open_attempt
        if open_attempt:
            open_attempt.quiz = quiz
            _close(open_attempt, open_attempt.deadline)
        refusal = _start_refusal(learner, quiz, now)
        if refusal is None:
            return _draw(learner, quiz, now)
    raise refusal


def _start_refusal(learner: Learner, quiz: Quiz, now: datetime) -> QuizError | None:
    if not quiz.questions.exists():
        return QuizError("This quiz has no questions yet.", status=409)
    recent = list(
        quiz.attempts.filter(learner=learner, started_at__gt=now - ATTEMPT_WINDOW)
        .order_by("-started_at")
        .values_list("started_at", flat=True)[:ATTEMPTS_PER_WINDOW]
    )
    if len(recent) < ATTEMPTS_PER_WINDOW:
        return None
    # The oldest of the last few leaves the window first.
    wait = timeuntil(recent[-1] + ATTEMPT_WINDOW, now, depth=1)
    return QuizError(
        f"You have started this quiz {ATTEMPTS_PER_WINDOW} times in the last hour. "
        f"Take a break: you can start it again in {wait}.",
        status=429,
    )


def _draw(learner: Learner, quiz: Quiz, now: datetime) -> Attempt:
    questions = list(quiz.questions.all())
    if quiz.shuffle_questions or quiz.draw_count:
        random.shuffle(questions)
    if quiz.draw_count:
        questions = questions[: quiz.draw_count]
        if not quiz.shuffle_questions:
            questions.sort(key=lambda q: (q.order, q.pk))
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


# -- the lock and closing ----------------------------------------------------
def _lock(attempt: Attempt) -> None:
    """Lock the attempt's row and reload what may have changed since it was read."""
    attempt.refresh_from_db(
        fields=["finished_at", "deadline", "extensions", "score", "passed"],
        from_queryset=Attempt.objects.select_for_update(),
    )


def _close(attempt: Attempt, at: datetime | None) -> None:
    """Finish the locked, unfinished attempt at `at` and schedule what follows.

    Runs inside the caller's transaction, holding the attempt's lock.
    """
    attempt.finish(attempt_score(attempt), now=at)
    if attempt.quiz.feedback == Quiz.Feedback.END:
        _queue_misses(attempt)
    # robust: a failed award is logged, never the learner's problem (a rebuild
    # restores it from the database).
    transaction.on_commit(partial(leaderboard.award, attempt), robust=True)


def _queue_misses(attempt: Attempt) -> None:
    missed = attempt.slots.filter(response__correct=False).select_related("question")
    for slot in missed:
        record_miss(attempt.learner_id, slot.question, now=attempt.finished_at)


class _Expired(Exception):
    """Time ran out: the attempt gets closed and the request refused."""


def _expire(attempt: Attempt, message: str) -> QuizError:
    """Close the attempt at its deadline (unless another request did) and refuse."""
    with transaction.atomic():
        _lock(attempt)
        if not attempt.is_finished:
            _close(attempt, attempt.deadline)
    return QuizError(message, status=409)


TIME_UP = "Time is up: this attempt has been finished and scored."


def expire_if_due(attempt: Attempt) -> bool:
    """Close an attempt whose time ran out; True when the attempt is finished now."""
    if attempt.is_finished:
        return True
    if not attempt.time_is_up():
        return False
    _expire(attempt, TIME_UP)
    return True


def _finish_time(attempt: Attempt, now: datetime | None) -> datetime:
    now = now or timezone.now()
    return min(now, attempt.deadline) if attempt.deadline else now


def finish_attempt(attempt: Attempt, now: datetime | None = None) -> Attempt:
    """The learner's finish: at `now` (default: now), or at the deadline if that passed."""
    with transaction.atomic():
        _lock(attempt)
        if attempt.is_finished:
            raise QuizError("This attempt is already finished.", status=409)
        _close(attempt, _finish_time(attempt, now))
    return attempt


def close_attempt(attempt: Attempt, now: datetime | None = None) -> Attempt:
    """Finish an attempt on the learner's behalf (merging two learners' open
    attempts at one quiz), unless it is finished already."""
    with transaction.atomic():
        _lock(attempt)
        if not attempt.is_finished:
            _close(attempt, _finish_time(attempt, now))
    return attempt


def extend_attempt(attempt: Attempt, minutes: int) -> Attempt:
    """Add `minutes` to a timed attempt's deadline: before it passes, at most
    `quiz.max_extensions` times. After the deadline the attempt is closed instead."""
    try:
        with transaction.atomic():
            _lock(attempt)
            if attempt.is_finished or attempt.deadline is None:
                raise QuizError("This attempt has no time limit to extend.", status=409)
            if attempt.time_is_up():
                raise _Expired
            allowed = attempt.quiz.max_extensions
            if attempt.extensions >= allowed:
                raise QuizError(_no_more_time(allowed), status=409)
            attempt.extend(minutes)
    except _Expired:
        raise _expire(
            attempt, f"{TIME_UP} Extra time can only be given before the time runs out."
        ) from None
    return attempt


def _no_more_time(allowed: int) -> str:
    if not allowed:
        return "This quiz gives no extra time."
    times = "once" if allowed == 1 else f"{allowed} times"
    return f"This quiz gives extra time at most {times} per attempt, and you have had it all."


def extensions_left(attempt: Attempt) -> int:
    return max(0, attempt.quiz.max_extensions - attempt.extensions)


# -- answering ---------------------------------------------------------------
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
        raise _expire(attempt, TIME_UP) from None
    except IntegrityError:
        raise QuizError("You have already answered this question.", status=409) from None


def _store(
    attempt: Attempt,
    slot: AttemptQuestion,
    correct: bool,
    chosen: list[Choice],
    command: str = "",
    report: str = "",
) -> Response:
    response = Response.objects.create(slot=slot, command=command, report=report, correct=correct)
    Response.choices.through.objects.bulk_create(
        Response.choices.through(response=response, choice=choice) for choice in chosen
    )
    # With feedback at the end, queueing now would tell the learner (on /review/)
    # mid-quiz that this answer was wrong: _close queues those misses.
    if not correct and attempt.quiz.feedback == Quiz.Feedback.IMMEDIATE:
        record_miss(attempt.learner_id, slot.question)
    return response


def submit_answer(
    attempt: Attempt, position: int, choice_ids: Sequence[str], command: str
) -> Response:
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
            correct = choices_right(question, (c.pk for c in chosen))
            return _store(attempt, slot, correct, chosen)
    with _answering(attempt, slot):
        line = clean_command(command)
    # A command runs on the sandbox server: grade it outside the lock, then store
    # it if the attempt is still open and the question still unanswered.
    result = grade_command_answer(question, line)
    with _answering(attempt, slot):
        return _store(attempt, slot, result.correct, [], line, result.report)
