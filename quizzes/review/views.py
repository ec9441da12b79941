"""The review page: due questions one at a time, graded on the server, with feedback."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from learn.http import HtmxHttpRequest
from quizzes.grading import QuizError
from quizzes.models import ReviewItem
from quizzes.review import queue as review

PAGE = "quizzes/review.html"
CARD = "quizzes/review.html#review-card"
# The navigation's due count (templates/base.html) fetches itself again on this event.
CHANGED_EVENT = "review-changed"


def _card(item: ReviewItem) -> dict:
    choices = review.choices_for(item)
    right = [c for c in choices if c.correct]
    return {"item": item, "question": item.question, "choices": choices, "right_choices": right}


def _queue(learner_id: str) -> dict:
    """What surrounds the card: how many are due, or else when the next one is."""
    count = review.due_count(learner_id)
    upcoming = None if count else review.next_due(learner_id)
    return {
        "due_count": count,
        "next_due": upcoming,
        "next_due_words": review.due_in_words(upcoming) if upcoming else "",
    }


def _render(request: HtmxHttpRequest, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, CARD if request.htmx else PAGE, context, status=status)
    if request.htmx and "graded" in context:
        response["HX-Trigger"] = CHANGED_EVENT
    return response


@require_GET
def page(request: HtmxHttpRequest) -> HttpResponse:
    item = review.due_items(request.learner_id).first()
    return _render(request, {**_queue(request.learner_id), **(_card(item) if item else {})})


@require_POST
def answer(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    card: dict = {}
    try:
        item = review.owned_item(request.learner_id, item_id)
        # Choices in the order the question was shown, before the review reshuffles them.
        card = _card(item)
        graded = review.grade(item, request.POST.getlist("choice"), request.POST.get("command", ""))
        now = timezone.now()
        review.review(item, graded.correct, now)
    except QuizError as error:
        # Bad input (or a sandbox outage) keeps the question on screen to answer
        # again; a refusal (someone else's item, not due yet) points back to the queue.
        shown = card if error.status in (400, 503) else {}
        context = {**_queue(request.learner_id), **shown, "error": error.message}
        return _render(request, context, status=error.status)
    feedback = {"graded": graded, "comes_back": review.due_in_words(item.due, now)}
    return _render(request, {**_queue(request.learner_id), **card, **feedback})
