"""Lab pages: the steps beside a REPL on the learner's lab namespace.

Every view works without JavaScript (forms post, the page is drawn again),
answers htmx with the page's own partials, and JSON clients (Accept:
application/json) with the contract in issue #12. Only POSTs write.
"""

from __future__ import annotations

import json
from functools import lru_cache

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from config.redis_config import APP_REDIS_DOWN as DOWN
from labs import engine, services
from labs.models import Lab, LabProgress
from labs.services import LabState, StepNotOpen, StepOutOfRange, TooManyNew
from learn.http import HtmxHttpRequest
from learn.markdown import render_markdown
from learn.redis_clients import app_redis, sandbox
from learn.sandbox.runner import Outcome, SandboxUnavailable
from learn.sandbox_views import UNAVAILABLE, CommandForm, client_origin

UNAVAILABLE_ERRORS = (SandboxUnavailable, *DOWN)


@lru_cache(maxsize=256)
def markdown_html(source: str) -> SafeString:
    """Instructors' Markdown, sanitised by the site's renderer (same text, same HTML)."""
    return mark_safe(render_markdown(source).html)  # nh3-sanitised by the renderer


def _wants_json(request: HtmxHttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _lab(request: HtmxHttpRequest, slug: str) -> Lab:
    lab = Lab.objects.visible_to(request.user).select_related("topic").filter(slug=slug).first()
    if lab is None:
        raise Http404(f"There is no lab called “{slug}”.")
    return lab


def _not_found(request: HtmxHttpRequest, message: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": message}, status=404)
    raise Http404(message)


def _workspace(request: HtmxHttpRequest, state: LabState, **extra) -> dict:
    """What the page's workspace shows: steps, database, transcript, keys."""
    ns = services.namespace(request.learner_id, state.lab)
    engine_ = sandbox()
    entries = engine.shown(engine.transcript(engine_, ns))
    try:
        history = [
            h.decode("utf-8", "replace") for h in app_redis().lrange(engine_.history_key(ns), 0, -1)
        ]
    except DOWN:
        history = []
    try:
        keys, available = engine_.keys(ns), True
    except UNAVAILABLE_ERRORS:
        keys, available = [], False
    rows = [
        {"name": name, "fields": fields, "json": json.dumps(fields)}
        for name, fields in state.progress.database.items()
    ]
    steps = [(step, markdown_html(step.instructions)) for step in state.steps]
    return {
        "lab": state.lab,
        "state": state,
        "steps": steps,
        "rows": rows,
        "transcript": entries,
        "history_json": json.dumps(history),
        "lab_keys": keys,
        "sandbox_available": available,
        **extra,
    }


def _announcement(passed: list[int], state: LabState) -> str:
    if not passed:
        return ""
    done = " ".join(f"Step {n} passed: {state.steps[n - 1].title}." for n in passed)
    if state.completed:
        return f"{done} Lab complete: every step passed."
    return f"{done} Step {state.current.n} is open: {state.current.title}."


@require_GET
def lab_list(request: HtmxHttpRequest) -> HttpResponse:
    labs = list(Lab.objects.visible_to(request.user).select_related("topic"))
    mine = {
        p.lab_id: p for p in LabProgress.objects.filter(learner_id=request.learner_id, lab__in=labs)
    }
    rows = [(lab, mine.get(lab.pk)) for lab in labs]
    return render(request, "labs/list.html", {"rows": rows})


@require_GET
def lab_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    lab = _lab(request, slug)
    state = services.state(request.learner_id, lab)
    context = _workspace(request, state, intro_html=markdown_html(lab.intro))
    return render(request, "labs/detail.html", context)


@require_GET
def lab_state(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    try:
        lab = _lab(request, slug)
    except Http404 as exc:
        return _not_found(request, str(exc))
    state = services.state(request.learner_id, lab)
    if _wants_json(request):
        return JsonResponse(state.as_json())
    if request.htmx:
        return render(request, "labs/detail.html#steps", _workspace(request, state))
    return redirect(lab)


@require_POST
def lab_run(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    try:
        lab = _lab(request, slug)
    except Http404 as exc:
        return _not_found(request, str(exc))
    form = CommandForm(request.POST)
    ran = None
    if not form.is_valid():
        outcome, status = Outcome(reply="Type a command.", error=True), 400
    else:
        try:
            origin = client_origin(request)
            ran = services.run(request.learner_id, lab, form.cleaned_data["command"], origin=origin)
            # A refused newcomer gets no session: status 400+ (learn.middleware).
            outcome, status = ran.outcome, 429 if ran.outcome.refused_new else 200
        except UNAVAILABLE_ERRORS:
            outcome, status = Outcome(reply=UNAVAILABLE, error=True), 503
    if ran:
        state = services.state(
            request.learner_id, lab, ran.progress, definition=ran.definition, live=ran.live
        )
    else:
        state = services.state(request.learner_id, lab)
    passed = ran.passed if ran else []
    announce = _announcement(passed, state)
    if _wants_json(request):
        body = {"reply": outcome.reply, "error": outcome.error, "lab": state.as_json()}
        return JsonResponse(body, status=status)
    if request.htmx:
        entry = {"command": form.data.get("command", ""), "reply": outcome.reply,
                 "error": outcome.error, "note": outcome.note}  # fmt: skip
        context = _workspace(request, state, entry=entry, announce=announce, oob=True)
        response = render(request, "labs/detail.html#run-response", context, status=status)
        return trigger_client_event(response, "progress-changed") if passed else response
    if announce:
        messages.success(request, announce)
    if status != 200:
        messages.error(request, outcome.reply)
    return redirect(lab)


def _checked(ran: services.Ran | None, state: LabState) -> str:
    """What "Check my step" says: what passed, or why nothing did."""
    if ran is None:
        return UNAVAILABLE
    if ran.passed:
        return _announcement(ran.passed, state)
    if state.completed:
        return "Lab complete: every step passed."
    return f"Step {state.current.n} does not pass yet: see its checks."


@require_POST
def lab_check(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Check the open step again: for checks on what another page measured."""
    try:
        lab = _lab(request, slug)
    except Http404 as exc:
        return _not_found(request, str(exc))
    try:
        ran, status = services.check(request.learner_id, lab), 200
        state = services.state(
            request.learner_id, lab, ran.progress, definition=ran.definition, live=ran.live
        )
    except UNAVAILABLE_ERRORS:
        ran, status = None, 503
        state = services.state(request.learner_id, lab)
    announce, passed = _checked(ran, state), bool(ran and ran.passed)
    if _wants_json(request):
        return JsonResponse({"message": announce, "lab": state.as_json()}, status=status)
    if request.htmx:
        context = _workspace(request, state, announce=announce)
        response = render(request, "labs/detail.html#workspace", context, status=status)
        return trigger_client_event(response, "progress-changed") if passed else response
    (messages.success if passed else messages.info)(request, announce)
    return redirect(lab)


def _step_action(request: HtmxHttpRequest, slug: str, action, done: str) -> HttpResponse:
    """Show a solution / reset a step: the same answers for every kind of client."""
    try:
        lab = _lab(request, slug)
    except Http404 as exc:
        return _not_found(request, str(exc))
    try:
        progress, status, message = action(lab), 200, done
    except StepOutOfRange as exc:
        progress, status, message = None, 404, str(exc)
    except StepNotOpen as exc:
        progress, status, message = None, 400, str(exc)
    except TooManyNew as exc:
        progress, status, message = None, 429, str(exc)
    except UNAVAILABLE_ERRORS:
        progress, status, message = None, 503, UNAVAILABLE
    state = services.state(request.learner_id, lab, progress)
    if _wants_json(request):
        key = "message" if status == 200 else "error"
        return JsonResponse({key: message, "lab": state.as_json()}, status=status)
    if request.htmx:
        context = _workspace(request, state, announce=message)
        return render(request, "labs/detail.html#workspace", context, status=status)
    (messages.success if status == 200 else messages.error)(request, message)
    return redirect(lab)


@require_POST
def step_solution(request: HtmxHttpRequest, slug: str, number: int) -> HttpResponse:
    return _step_action(
        request,
        slug,
        lambda lab: services.reveal_solution(
            request.learner_id, lab, number, origin=client_origin(request)
        ),
        f"The solution of step {number} is shown below its checks.",
    )


@require_POST
def step_reset(request: HtmxHttpRequest, slug: str, number: int) -> HttpResponse:
    return _step_action(
        request,
        slug,
        lambda lab: services.reset_step(
            request.learner_id, lab, number, origin=client_origin(request)
        ),
        f"Step {number} is back to where it started; the earlier steps' keys are as their "
        "solutions leave them.",
    )


@require_POST
def lab_reset(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    return _step_action(
        request,
        slug,
        lambda lab: services.restart(request.learner_id, lab, origin=client_origin(request)),
        "The lab starts again from step 1: its keys are gone.",
    )
