from django.db.models import Count, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from learn.http import HtmxHttpRequest
from quizzes import services
from quizzes.models import Attempt, Quiz
from quizzes.services import QuizError

EXTEND_MINUTES = 5


def _quiz(request: HtmxHttpRequest, slug: str) -> Quiz:
    return get_object_or_404(
        Quiz.objects.visible_to(request.user).select_related("topic"), slug=slug
    )


def refuse(request: HtmxHttpRequest, error: QuizError, quiz: Quiz | None = None) -> HttpResponse:
    context = {"message": error.message, "quiz": quiz}
    template = "quizzes/refused.html#refusal" if request.htmx else "quizzes/refused.html"
    return render(request, template, context, status=error.status)


@require_GET
def quiz_list(request: HtmxHttpRequest) -> HttpResponse:
    quizzes = (
        Quiz.objects.visible_to(request.user)
        .select_related("topic")
        .annotate(question_count=Count("questions"))
    )
    return render(request, "quizzes/list.html", {"quizzes": quizzes})


@require_GET
def detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    quiz = _quiz(request, slug)
    attempts = quiz.attempts.filter(learner_id=request.learner_id)
    context = {
        "quiz": quiz,
        "attempts": attempts,
        "open_attempt": next((a for a in attempts if not a.is_finished), None),
        "question_count": quiz.questions_per_attempt(),
    }
    return render(request, "quizzes/detail.html", context)


@require_POST
def start(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    quiz = _quiz(request, slug)
    try:
        attempt = services.start_attempt(request.learner_id, quiz)
    except QuizError as error:
        return refuse(request, error, quiz)
    answered = attempt.slots.filter(response__isnull=False).count()
    position = min(answered + 1, attempt.slots.count())
    return redirect("quizzes:question", slug=quiz.slug, attempt_id=attempt.pk, position=position)


def question_context(attempt: Attempt, position: int, slot=None) -> dict:
    """What a question screen shows; `slot`: already loaded (just answered)."""
    slot = slot or services.slot_at(attempt, position)
    total = attempt.slots.count()
    response = getattr(slot, "response", None)
    return {
        "quiz": attempt.quiz,
        "attempt": attempt,
        "slot": slot,
        "question": slot.question,
        "choices": attempt.choices_for(slot.question),
        "response": response,
        "chosen": {c.pk for c in response.choices.all()} if response else set(),
        "show_feedback": response is not None and attempt.quiz.feedback == Quiz.Feedback.IMMEDIATE,
        "total": total,
        "answered": attempt.slots.filter(response__isnull=False).count(),
        "next_position": position + 1 if position < total else None,
    }


@require_GET
def question(request: HtmxHttpRequest, slug: str, attempt_id: int, position: int) -> HttpResponse:
    quiz = _quiz(request, slug)
    try:
        attempt = services.owned_attempt(request.learner_id, quiz, attempt_id)
        if attempt.is_finished:
            return redirect("quizzes:results", slug=slug, attempt_id=attempt.pk)
        context = question_context(attempt, position)
    except QuizError as error:
        return refuse(request, error, quiz)
    template = "quizzes/question.html#question-card" if request.htmx else "quizzes/question.html"
    return render(request, template, context)


@require_POST
def answer(request: HtmxHttpRequest, slug: str, attempt_id: int, position: int) -> HttpResponse:
    quiz = _quiz(request, slug)
    try:
        attempt = services.owned_attempt(request.learner_id, quiz, attempt_id)
        response = services.submit_answer(
            attempt, position, request.POST.getlist("choice"), request.POST.get("command", "")
        )
        context = question_context(attempt, position, slot=response.slot)
    except QuizError as error:
        return refuse(request, error, quiz)
    if request.htmx:
        return render(request, "quizzes/question.html#question-card", context)
    return redirect("quizzes:question", slug=slug, attempt_id=attempt.pk, position=position)


@require_POST
def finish(request: HtmxHttpRequest, slug: str, attempt_id: int) -> HttpResponse:
    quiz = _quiz(request, slug)
    try:
        attempt = services.owned_attempt(request.learner_id, quiz, attempt_id)
        services.finish_attempt(attempt)
    except QuizError as error:
        return refuse(request, error, quiz)
    return redirect("quizzes:results", slug=slug, attempt_id=attempt.pk)


@require_POST
def extend(request: HtmxHttpRequest, slug: str, attempt_id: int) -> HttpResponse:
    quiz = _quiz(request, slug)
    try:
        attempt = services.owned_attempt(request.learner_id, quiz, attempt_id)
        if attempt.is_finished or attempt.deadline is None:
            raise QuizError("This attempt has no time limit to extend.", status=409)
        attempt.extend(EXTEND_MINUTES)
    except QuizError as error:
        return refuse(request, error, quiz)
    target = request.POST.get("position", "1")
    position = int(target) if target.isdigit() else 1
    return redirect("quizzes:question", slug=slug, attempt_id=attempt.pk, position=position)


@require_GET
def results(request: HtmxHttpRequest, slug: str, attempt_id: int) -> HttpResponse:
    quiz = _quiz(request, slug)
    try:
        attempt = services.owned_attempt(request.learner_id, quiz, attempt_id)
    except QuizError as error:
        return refuse(request, error, quiz)
    if not attempt.is_finished:
        if not attempt.time_is_up():
            return redirect(reverse("quizzes:detail", args=[slug]))
        attempt.finish(now=attempt.deadline)
    slots = attempt.slots.select_related("question__quiz__topic", "response").prefetch_related(
        "question__choices", Prefetch("response__choices")
    )
    context = {"quiz": quiz, "attempt": attempt, "slots": slots}
    return render(request, "quizzes/results.html", context)
