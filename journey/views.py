"""The learner's own view across the course: progress, where to go next, the
personal parts of pages that are cached for everyone (a topic's mastery, the
navigation's due count), which need every app's records."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from journey.progress import WEIGHTS, learner_progress, next_step, score_chart
from learn.examples import topic_slug
from learn.http import HtmxHttpRequest
from learn.sandbox_views import panel_context
from quizzes.review import due_count


@require_GET
def topic_panel(request: HtmxHttpRequest) -> HttpResponse:
    """The sandbox panel for a topic page, which loads it after itself.

    A topic page is cached for everyone, so this one request also brings the
    learner's own parts of it, out of band: their mastery of the topic and the
    navigation's due count.
    """
    context = panel_context(request)
    slug = topic_slug(request.GET.get("next", ""))
    if slug:
        context["topic_mastery"] = learner_progress(request.learner_id).for_topic(slug)
        context["due"] = due_count(request.learner_id)
    return render(request, "journey/topic_panel.html", context)


@require_GET
def progress_page(request: HtmxHttpRequest) -> HttpResponse:
    progress = learner_progress(request.learner_id, with_scores=True)
    due = due_count(request.learner_id)
    context = {
        "progress": progress,
        "next_step": next_step(request.learner_id, progress, due),
        "due": due,
        "chart": score_chart(progress.scores),
        "weights": WEIGHTS,
    }
    return render(request, "journey/progress.html", context)


@require_GET
def progress_summary(request: HtmxHttpRequest) -> HttpResponse:
    """The home page's personal corner: mastery and where to go next."""
    progress = learner_progress(request.learner_id)
    due = due_count(request.learner_id)
    context = {
        "progress": progress,
        "next_step": next_step(request.learner_id, progress, due),
        "due": due,
        "fragment": True,  # also brings the navigation's due count (the page is shared)
    }
    return render(request, "journey/progress.html#summary", context)


@require_GET
def topic_mastery(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    mastery = learner_progress(request.learner_id).for_topic(slug)
    if mastery is None:
        raise Http404("No such topic")
    return render(request, "journey/progress.html#topic-mastery", {"mastery": mastery})


@require_GET
def learner_nav(request: HtmxHttpRequest) -> HttpResponse:
    """How many reviews are due, for the navigation of pages cached for everyone."""
    return render(request, "base.html#due-count", {"due": due_count(request.learner_id)})
