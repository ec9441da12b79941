from collections.abc import Callable
from functools import wraps

from django.db.models import Count, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from learn.http import HtmxHttpRequest
from quizzes import taking
from quizzes.grading import QuizError
from quizzes.models import Attempt, AttemptQuestion, Quiz

EXTEND_MINUTES = 5


def _quiz(request: HtmxHttpRequest, slug: str) -> Quiz:
    return get_object_or_404(
        Quiz.objects.visible_to(request.user).select_related("topic"), slug=slug
    )


def refuse(request: HtmxHttpRequest, error: QuizError, quiz: Quiz | None = None) -> HttpResponse:
    context = {"message": error.message, "quiz": quiz}
    template = "quizzes/refused.html#refusal" if request.htmx else "quizzes/refused.html"
    return render(request, template, context, status=error.status)


def _visible(request: HtmxHttpRequest, quiz: Quiz) -> bool:
    # QuizQuerySet.visible_to's rule, for a quiz loaded with its topic; the user
    # is only loaded (a query for a logged-in learner) for an unpublished quiz.
    return (quiz.is_published and quiz.topic.published) or request.user.is_staff


AttemptView = Callable[..., HttpResponse]


def own_attempt(view: AttemptView) -> AttemptView:
    """Call `view(request, attempt, ...)` with the learner's own attempt at the quiz in the URL.

    Its quiz and topic come loaded. Another learner's attempt, or one that does
    not exist, is refused, and so is any QuizError the view raises.
    """

    @wraps(view)
    def wrapped(request: HtmxHttpRequest, slug: str, attempt_id: int, **kwargs) -> HttpResponse:
        try:
            attempt = taking.owned_attempt(request.learner_id, slug, attempt_id)
        except QuizError as error:
            return refuse(request, error, _quiz(request, slug))  # _quiz: 404 if not visible
        if not _visible(request, attempt.quiz):
            raise Http404
        try:
            return view(request, attempt, **kwargs)
        except QuizError as error:
            return refuse(request, error, attempt.quiz)

    return wrapped


@require_GET
def quiz_list(request: HtmxHttpRequest) -> HttpResponse:
    quizzes = (
        Quiz.objects.visible_to(request.user)
        .select_related("topic")
        .annotate(question_count=Count("questions"))
    )
    return render(request, "quizzes/list.html", {"quizzes": quizzes})


HISTORY_SHOWN = 10


@require_GET
def detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    quiz = _quiz(request, slug)
    history = quiz.attempts.filter(learner_id=request.learner_id)
    # The latest few: a learner who retakes a quiz daily still gets a short page.
    attempts = list(history[: HISTORY_SHOWN + 1])
    total = history.count() if len(attempts) > HISTORY_SHOWN else len(attempts)
    attempts = attempts[:HISTORY_SHOWN]
    context = {
        "quiz": quiz,
        "attempts": attempts,
        "attempt_total": total,
        # Only one attempt can be open, and it is the latest started.
        "open_attempt": next((a for a in attempts if not a.is_finished), None),
        "question_count": quiz.questions_per_attempt(),
    }
    return render(request, "quizzes/detail.html", context)


@require_POST
def start(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    quiz = _quiz(request, slug)
    try:
        attempt = taking.start_attempt(request.learner_id, quiz)
    except QuizError as error:
        return refuse(request, error, quiz)
    answered, total = taking.progress(attempt)
    position = min(answered + 1, total)
    return redirect("quizzes:question", slug=quiz.slug, attempt_id=attempt.pk, position=position)


def question_context(
    attempt: Attempt, slot: AttemptQuestion, chosen: set[int] | None = None
) -> dict:
    """What a question screen shows; `chosen`: the choice ids just answered, if known."""
    response = getattr(slot, "response", None)
    if chosen is None:
        chosen = {c.pk for c in response.choices.all()} if response else set()
    answered, total = taking.progress(attempt)
    return {
        "quiz": attempt.quiz,
        "attempt": attempt,
        "slot": slot,
        "question": slot.question,
        "choices": attempt.choices_for(slot.question),
        "response": response,
        "chosen": chosen,
        "show_feedback": response is not None and attempt.quiz.feedback == Quiz.Feedback.IMMEDIATE,
        "total": total,
        "answered": answered,
        "next_position": slot.position + 1 if slot.position < total else None,
        "extensions_left": taking.extensions_left(attempt),
    }


@require_GET
@own_attempt
def question(request: HtmxHttpRequest, attempt: Attempt, position: int) -> HttpResponse:
    if attempt.is_finished:
        return redirect("quizzes:results", slug=attempt.quiz.slug, attempt_id=attempt.pk)
    context = question_context(attempt, taking.slot_at(attempt, position))
    template = "quizzes/question.html#question-card" if request.htmx else "quizzes/question.html"
    return render(request, template, context)


@require_POST
@own_attempt
def answer(request: HtmxHttpRequest, attempt: Attempt, position: int) -> HttpResponse:
    choice_ids = request.POST.getlist("choice")
    response = taking.submit_answer(attempt, position, choice_ids, request.POST.get("command", ""))
    if not request.htmx:
        return redirect(
            "quizzes:question", slug=attempt.quiz.slug, attempt_id=attempt.pk, position=position
        )
    # Stored, so the ids were valid: no need to read them back.
    chosen = set() if response.slot.question.is_command else {int(c) for c in choice_ids}
    context = question_context(attempt, response.slot, chosen)
    return render(request, "quizzes/question.html#question-card", context)


@require_POST
@own_attempt
def finish(request: HtmxHttpRequest, attempt: Attempt) -> HttpResponse:
    taking.finish_attempt(attempt)
    return redirect("quizzes:results", slug=attempt.quiz.slug, attempt_id=attempt.pk)


@require_POST
@own_attempt
def extend(request: HtmxHttpRequest, attempt: Attempt) -> HttpResponse:
    taking.extend_attempt(attempt, EXTEND_MINUTES)
    target = request.POST.get("position", "1")
    position = int(target) if target.isdigit() else 1
    return redirect(
        "quizzes:question", slug=attempt.quiz.slug, attempt_id=attempt.pk, position=position
    )


@require_GET
@own_attempt
def results(request: HtmxHttpRequest, attempt: Attempt) -> HttpResponse:
    # An attempt whose time ran out is closed here, through the one door.
    if not taking.expire_if_due(attempt):
        return redirect(reverse("quizzes:detail", args=[attempt.quiz.slug]))
    slots = attempt.slots.select_related("question__quiz__topic", "response").prefetch_related(
        "question__choices", Prefetch("response__choices")
    )
    context = {"quiz": attempt.quiz, "attempt": attempt, "slots": slots}
    return render(request, "quizzes/results.html", context)
