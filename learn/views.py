from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from learn.http import HtmxHttpRequest
from learn.models import Topic, TopicProgress
from learn.redis_clients import app_redis, sandbox_admin_redis
from learn.sandbox_views import panel_context


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    topics = list(Topic.objects.visible_to(request.user))
    read = set(
        TopicProgress.objects.for_learner(request.learner_id)
        .filter(read_at__isnull=False)
        .values_list("topic_id", flat=True)
    )
    for topic in topics:
        topic.is_read = topic.pk in read
    context = {"topics": topics, "read_count": len(read & {t.pk for t in topics})}
    return render(request, "learn/home.html", context)


def _visible_topic(request: HtmxHttpRequest, slug: str) -> Topic:
    return get_object_or_404(Topic.objects.visible_to(request.user), slug=slug)


@require_GET
def topic_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    topic = _visible_topic(request, slug)
    previous, following = topic.neighbours()
    progress = TopicProgress.objects.for_learner(request.learner_id).filter(topic=topic).first()
    context = {
        **panel_context(request),
        "topic": topic,
        "rendered": topic.rendered(),
        "previous": previous,
        "next": following,
        "is_read": bool(progress and progress.read_at),
    }
    return render(request, "learn/topic.html", context)


@require_POST
def mark_read(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    topic = _visible_topic(request, slug)
    TopicProgress.mark_read(request.learner_id, topic)
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
