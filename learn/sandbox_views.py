"""The sandbox panel: a redis-cli prompt in the page, backed by learn.sandbox."""

import contextlib
import hashlib
import hmac
import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from config.redis_config import APP_REDIS_DOWN as DOWN
from learn.examples import record_example_run
from learn.http import HtmxHttpRequest, client_ip
from learn.redis_clients import app_redis, sandbox
from learn.sandbox.namespace import Namespace, namespace_for
from learn.sandbox.runner import Outcome, SandboxUnavailable

UNAVAILABLE = "The sandbox server is temporarily unavailable. Try again in a moment."


class CommandForm(forms.Form):
    command = forms.CharField(
        strip=False, required=True, error_messages={"required": "Type a command."}
    )


def namespace_of(learner_id: str) -> Namespace:
    return Namespace(namespace_for(settings.SECRET_KEY, str(learner_id)))


def learner_namespace(request: HtmxHttpRequest) -> Namespace:
    return namespace_of(request.learner_id)


def client_origin(request: HtmxHttpRequest) -> str:
    """Where the request comes from, as an opaque token (the engine bounds new
    namespaces per origin). The client's address, not the load balancer's:
    behind one, REMOTE_ADDR is the same for everyone. Keyed, so the app Redis
    holds no addresses."""
    address = client_ip(request)
    return hmac.new(
        settings.SECRET_KEY.encode(), f"origin:{address}".encode(), hashlib.sha256
    ).hexdigest()


def panel_context(request: HtmxHttpRequest) -> dict:
    """What every page with the sandbox panel needs to draw it (two round trips)."""
    namespace = learner_namespace(request)
    engine = sandbox()
    log, history = engine.log_key(namespace), engine.history_key(namespace)
    try:
        pipe = app_redis().pipeline(transaction=False)
        pipe.lrange(log, 0, -1).lrange(history, 0, -1).smembers(engine.index_key(namespace))
        entries, commands, names = pipe.execute()
    except DOWN:
        entries, commands, names = [], [], set()
    try:
        keys, available = engine.keys(namespace, names=names), True
    except (SandboxUnavailable, *DOWN):
        keys, available = [], False
    return {
        "transcript": [json.loads(e) for e in entries],
        "history_json": json.dumps([c.decode("utf-8", errors="replace") for c in commands]),
        "sandbox_keys": keys,
        "sandbox_available": available,
    }


@require_GET
def sandbox_page(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "learn/sandbox.html", panel_context(request))


def _wants_json(request: HtmxHttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request: HtmxHttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "learn:sandbox"
    return redirect(target)


@require_POST
def sandbox_run(request: HtmxHttpRequest) -> HttpResponse:
    form = CommandForm(request.POST)
    if not form.is_valid():
        outcome, status = Outcome(reply="Type a command.", error=True), 400
    else:
        line = form.cleaned_data["command"]
        try:
            engine, namespace = sandbox(), learner_namespace(request)
            outcome = engine.run(namespace, line, record=True, origin=client_origin(request))
            # A refused newcomer gets no session: status 400+ (learn.middleware).
            status = 429 if outcome.refused_new else 200
        # Without the app Redis there are no limits to enforce: refuse rather than run unbounded.
        except (SandboxUnavailable, *DOWN):
            outcome, status = Outcome(reply=UNAVAILABLE, error=True), 503
    progressed = status == 200 and record_example_run(
        request.learner_id, request.POST.get("next", ""), form.cleaned_data["command"]
    )
    command = form.data.get("command", "")
    if _wants_json(request):
        body = {"reply": outcome.reply, "error": outcome.error, "note": outcome.note}
        return JsonResponse({**body, "in_transaction": outcome.in_transaction}, status=status)
    if request.htmx:
        # htmx swaps only 2xx responses; the entry itself says what went wrong.
        entry = {
            "command": command,
            "reply": outcome.reply,
            "error": outcome.error,
            "note": outcome.note,
        }
        response = render(request, "learn/_sandbox_panel.html#entry", {"entry": entry})
        if progressed:
            trigger_client_event(response, "progress-changed")
        return trigger_client_event(response, "sandbox-changed") if outcome.changed else response
    return _back(request)


@require_POST
def sandbox_reset(request: HtmxHttpRequest) -> HttpResponse:
    try:
        deleted, status = sandbox().reset(learner_namespace(request)), 200
        message = (
            f"Your sandbox is empty again ({deleted} key{'s' if deleted != 1 else ''} deleted)."
        )
    except (SandboxUnavailable, *DOWN):
        deleted, status, message = 0, 503, UNAVAILABLE
    if _wants_json(request):
        return JsonResponse({"deleted": deleted, "message": message}, status=status)
    if request.htmx:
        context = {**panel_context(request), "keys_message": message}
        return render(request, "learn/_sandbox_panel.html#keys", context)
    (messages.success if status == 200 else messages.error)(request, message)
    return _back(request)


@require_GET
def sandbox_keys(request: HtmxHttpRequest) -> HttpResponse:
    context = panel_context(request)
    if _wants_json(request):
        rows = [vars(row) for row in context["sandbox_keys"]]
        return JsonResponse({"keys": rows, "available": context["sandbox_available"]})
    return render(request, "learn/_sandbox_panel.html#keys", context)


@require_POST
def sandbox_clear(request: HtmxHttpRequest) -> HttpResponse:
    with contextlib.suppress(*DOWN):
        app_redis().delete(sandbox().log_key(learner_namespace(request)))
    if request.htmx or _wants_json(request):
        return HttpResponse(status=204)
    return _back(request)
