import copy

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from config import memcached
from config.redis_config import APP_REDIS_DOWN as DOWN
from learn import inside
from learn.http import HtmxHttpRequest
from learn.middleware import READ_TOPICS
from learn.models import Topic, TopicProgress
from learn.redis_clients import app_redis, sandbox_admin_redis
from learn.topic_cache import CSRF_PLACEHOLDER, published_topics, shared_html, topic_page


def read_topic_ids(request: HtmxHttpRequest) -> set[int]:
    """Topics this learner finished, kept in the session beside the database copy."""
    return set(request.session.get(READ_TOPICS, []))


@require_GET
@inside.counts_page_cache
def home(request: HtmxHttpRequest) -> HttpResponse:
    staff = request.user.is_staff
    topics = (
        list(Topic.objects.visible_to(request.user).defer("body")) if staff else published_topics()
    )
    read = read_topic_ids(request)
    # Copies: the cached topics are shared with other requests.
    topics = [copy.copy(topic) for topic in topics]
    for topic in topics:
        topic.is_read = topic.pk in read
    context = {"topics": topics, "read_count": sum(t.is_read for t in topics)}
    if personal(request):
        return render(request, "learn/home.html", context)
    # One shared copy per combination of topics read: at most 2^10, in practice the
    # few orders learners read the course in.
    variant = "-".join(str(t.pk) for t in topics if t.is_read) or "none"
    html = shared_html(
        f"home:{variant}", lambda: _render_shared(request, "learn/home.html", context)
    )
    return HttpResponse(html.replace(CSRF_PLACEHOLDER, get_token(request)))


def _visible_topic(request: HtmxHttpRequest, slug: str) -> Topic:
    return get_object_or_404(Topic.objects.visible_to(request.user), slug=slug)


@require_GET
@inside.counts_visitors
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
        context = {**page, "is_read": topic.pk in read_topic_ids(request)}
        return render(request, "learn/topic.html", context)
    page = topic_page(slug)
    if page is None:
        raise Http404("No such topic")
    is_read = page["topic"].pk in read_topic_ids(request)
    if personal(request):
        return render(request, "learn/topic.html", {**page, "is_read": is_read})
    context = {**page, "is_read": is_read}
    html = shared_html(
        f"topic:{slug}:{int(is_read)}",
        lambda: _render_shared(request, "learn/topic.html", context),
    )
    # The cached page is everyone's: only the CSRF token is this learner's own.
    return HttpResponse(html.replace(CSRF_PLACEHOLDER, get_token(request)))


def _render_shared(request: HtmxHttpRequest, template: str, context: dict) -> str:
    """Render a page that every learner in the same state may be served."""
    shared = {**context, "csrf_token": CSRF_PLACEHOLDER, "messages": []}
    return render_to_string(template, shared, request=request)


def personal(request: HttpRequest) -> bool:
    """Whether this page shows something of this visitor's own and can't be shared.

    Signed-in visitors see their name in the header; flash messages (cookie or
    session storage) are one visitor's too. Anonymous visitors without messages
    share one cached copy per reading state.
    """
    return (
        request.user.is_authenticated
        or "messages" in request.COOKIES
        or "_messages" in request.session
    )


@require_POST
def mark_read(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    topic = _visible_topic(request, slug)
    TopicProgress.mark_read(request.learner_id, topic)
    request.session[READ_TOPICS] = sorted(read_topic_ids(request) | {topic.pk})
    if request.htmx:
        response = render(
            request, "learn/topic.html#read-status", {"topic": topic, "is_read": True}
        )
        return trigger_client_event(response, "progress-changed")
    return redirect(topic)


@vary_on_headers("HX-Request")
@require_GET
def inside_page(request: HtmxHttpRequest) -> HttpResponse:
    """Inside CacheLab: a live, read-only look at how the site uses its own Redis."""
    try:
        snapshot = inside.snapshot()
    except DOWN:
        snapshot = None  # the page says Redis is unavailable
    template = "learn/inside.html#panels" if request.htmx else "learn/inside.html"
    return render(request, template, {"snapshot": snapshot, "lessons": inside.LESSONS})


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
    # Optional: reported ("ok", "absent" or "down"), never failing the site.
    optional = {"memcached": memcached.state(settings.MEMCACHED_URL, settings.MEMCACHED_TIMEOUT)}
    body = {"status": "ok" if not down else "down", "checks": checks, "down": down}
    body["optional"] = optional
    return JsonResponse(body, status=503 if down else 200)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def bench_floor(request: HttpRequest) -> HttpResponse:
    """The floor `make bench` compares against: Django answering, nothing more."""
    if not settings.BENCH_FLOOR:
        raise Http404("benchmarks only")
    return HttpResponse(b"ok", content_type="text/plain")
