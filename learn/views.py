from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from learn.http import HtmxHttpRequest
from learn.models import Topic, TopicProgress
from learn.redis_clients import app_redis, sandbox_admin_redis
from learn.topic_cache import published_topics, topic_page

READ_TOPICS = "read_topics"


def read_topic_ids(request: HtmxHttpRequest) -> set[int]:
    """Topics this learner finished, kept in the session beside the database copy."""
    return set(request.session.get(READ_TOPICS, []))


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    if request.user.is_staff:
        topics = list(Topic.objects.visible_to(request.user).defer("body"))
    else:
        topics = published_topics()
    read = read_topic_ids(request)
    for topic in topics:
        topic.is_read = topic.pk in read
    context = {"topics": topics, "read_count": sum(t.is_read for t in topics)}
    return render(request, "learn/home.html", context)


def _visible_topic(request: HtmxHttpRequest, slug: str) -> Topic:
    return get_object_or_404(Topic.objects.visible_to(request.user), slug=slug)


@require_GET
def topic_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    if request.user.is_staff:
        topic = _visible_topic(request, slug)
        previous, following = topic.neighbours()
        page = {
            "topic": topic,
            "rendered": topic.rendered(),
            "previous": previous,
            "next": following,
        }
    else:
        page = topic_page(slug)
        if page is None:
            raise Http404("No such topic")
    context = {
        **page,
        "is_read": page["topic"].pk in read_topic_ids(request),
    }
    return render(request, "learn/topic.html", context)


@require_POST
def mark_read(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    topic = _visible_topic(request, slug)
    TopicProgress.mark_read(request.learner_id, topic)
    request.session[READ_TOPICS] = sorted(read_topic_ids(request) | {topic.pk})
    if request.htmx:
        return render(request, "learn/topic.html#read-status", {"topic": topic, "is_read": True})
    return redirect(topic)


def _check(probe) -> str:
    try:
        probe()
    except Exception as exc:  # any failure means "down": say which
        return f"down: {exc.__class__.__name__}"
    return "ok"


def _ping_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _check(_ping_database),
        "redis": _check(lambda: app_redis().ping()),
        "sandbox_redis": _check(lambda: sandbox_admin_redis().ping()),
    }
    down = sorted(name for name, status in checks.items() if status != "ok")
    body = {"status": "ok" if not down else "down", "checks": checks, "down": down}
    return JsonResponse(body, status=503 if down else 200)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def bench_floor(request: HttpRequest) -> HttpResponse:
    """The floor `make bench` compares against: Django answering, nothing more."""
    if not settings.BENCH_FLOOR:
        raise Http404("benchmarks only")
    return HttpResponse(b"ok", content_type="text/plain")
