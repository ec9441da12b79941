"""The Memcached console's pages and JSON, backed by memcache.console."""

from __future__ import annotations

import contextlib

from django import forms
from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from config.redis_config import APP_REDIS_DOWN
from learn.http import HtmxHttpRequest
from memcache import clients
from memcache.console.connection import MemcachedUnavailable, item_size_max
from memcache.console.console import Outcome

ABSENT = (
    "Memcached is not installed on this machine, so the console has no server to talk to. "
    f"Install it with `{clients.INSTALL}` and start `make run` again."
)
DOWN = "The Memcached server is not answering right now. Try again in a moment."
LIMITS_AWAY = (
    "The console's limits live in the site's Redis, which is away: it will not run "
    "commands without them. Try again in a moment."
)


class CommandForm(forms.Form):
    command = forms.CharField(
        strip=False, max_length=120_000, error_messages={"required": "Type a command."}
    )


def _wants_json(request: HtmxHttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _keys_context(request: HtmxHttpRequest) -> dict:
    if not clients.configured():
        return {"memcached_keys": [], "keys_available": False}
    try:
        rows = clients.console().keys(clients.prefix_for(request.learner_id))
        return {"memcached_keys": rows, "keys_available": True}
    except (MemcachedUnavailable, *APP_REDIS_DOWN):
        return {"memcached_keys": [], "keys_available": False}


def _page_context(request: HtmxHttpRequest) -> dict:
    prefix = clients.prefix_for(request.learner_id)
    context = {"configured": clients.configured(), "install": clients.INSTALL, "absent": ABSENT}
    context.update(available=False, transcript=[], room=prefix.room, item_limit=None)
    context["prefix_bytes"] = len(prefix.raw)
    if not context["configured"]:
        return context
    console = clients.console()
    try:
        context["version"] = console.server.version()
        context["item_limit"] = item_size_max(console.server)
        context["available"] = True
    except MemcachedUnavailable:
        pass
    with contextlib.suppress(*APP_REDIS_DOWN):
        context["transcript"] = console.ledger.transcript(prefix)
    return {**context, **_keys_context(request), "quota": console.quota}


@require_GET
def console_page(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "memcache/console.html", _page_context(request))


def _answer(request: HtmxHttpRequest, command: str, outcome: Outcome, status: int):
    if _wants_json(request):
        return JsonResponse({"reply": outcome.reply, "error": outcome.error}, status=status)
    if request.htmx:
        entry = {"command": command, **vars(outcome)}
        response = render(request, "memcache/console.html#entry", {"entry": entry})
        return trigger_client_event(response, "memcached-changed") if outcome.changed else response
    if status != 200:
        messages.error(request, outcome.reply)
    return redirect("memcache:console")


@require_POST
def run(request: HtmxHttpRequest) -> HttpResponse:
    form = CommandForm(request.POST)
    command = form.data.get("command", "")
    if not form.is_valid():
        message = next(iter(form.errors.values()))[0]
        return _answer(request, command, Outcome(reply=message, error=True), 400)
    if not clients.configured():
        return _answer(request, command, Outcome(reply=ABSENT, error=True), 503)
    prefix = clients.prefix_for(request.learner_id)
    try:
        outcome = clients.console().run(prefix, form.cleaned_data["command"], record=True)
        status = 200
    except MemcachedUnavailable:
        outcome, status = Outcome(reply=DOWN, error=True), 503
    except APP_REDIS_DOWN:
        outcome, status = Outcome(reply=LIMITS_AWAY, error=True), 503
    return _answer(request, command, outcome, status)


@require_POST
def reset(request: HtmxHttpRequest) -> HttpResponse:
    status, deleted = 200, 0
    if not clients.configured():
        status, message = 503, ABSENT
    else:
        try:
            deleted = clients.console().reset(clients.prefix_for(request.learner_id))
            message = f"Your Memcached keys are gone ({deleted} deleted)."
        except (MemcachedUnavailable, *APP_REDIS_DOWN):
            status, message = 503, DOWN
    if _wants_json(request):
        return JsonResponse({"deleted": deleted, "message": message}, status=status)
    if request.htmx:
        context = {**_keys_context(request), "keys_message": message}
        return render(request, "memcache/console.html#keys", context, status=status)
    (messages.success if status == 200 else messages.error)(request, message)
    return redirect("memcache:console")


@require_GET
def keys(request: HtmxHttpRequest) -> HttpResponse:
    context = _keys_context(request)
    if _wants_json(request):
        rows = [{"key": name, "bytes": size} for name, size in context["memcached_keys"]]
        return JsonResponse({"keys": rows, "available": context["keys_available"]})
    return render(request, "memcache/console.html#keys", context)
