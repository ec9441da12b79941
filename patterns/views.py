"""The bench pages and their JSON: pick a pattern, run it for real, compare."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from labs.models import Lab
from learn.http import HtmxHttpRequest
from learn.sandbox_views import client_origin
from patterns import report, runs
from patterns.forms import form_for, prefilled
from patterns.models import Run

COMPARED = 4  # runs side by side by default


def _wants_json(request: HtmxHttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def lab_of(request: HtmxHttpRequest, slug: object) -> Lab | None:
    """The lab a learner came from, if `slug` (from a link or a form) names one
    they may see; anything else is ignored, never echoed."""
    if not isinstance(slug, str) or not slug:
        return None
    return Lab.objects.visible_to(request.user).filter(slug=slug).first()


def _page_context(request: HtmxHttpRequest, **forms) -> dict:
    mine = list(Run.objects.of(request.learner_id)[: settings.PATTERNS_KEEP_RUNS])
    picked = set(request.GET.getlist("compare"))
    chosen = [r for r in mine if str(r.pk) in picked] or [
        r for r in mine if r.result is not None and r.kind == Run.Kind.PATTERN
    ][:COMPARED]
    # A lab's link fills in its workload: ?kind=pattern&keys=200&...&lab=<slug>.
    linked = request.GET.get("kind")
    return {
        "pattern_form": forms.get("pattern")
        or (prefilled("pattern", request.GET) if linked == "pattern" else None)
        or form_for("pattern", None),
        "stampede_form": forms.get("stampede")
        or (prefilled("stampede", request.GET) if linked == "stampede" else None)
        or form_for("stampede", None),
        "from_lab": lab_of(request, request.GET.get("lab") or request.POST.get("lab")),
        "runs": mine,
        "comparison": report.comparison(chosen),
        "refusal": forms.get("refusal", ""),
        "limits": {"seconds": settings.PATTERNS_MAX_SECONDS, "keys": settings.PATTERNS_MAX_KEYS},
    }


@require_GET
def page(request: HtmxHttpRequest) -> HttpResponse:
    template = "patterns/page.html#comparison" if request.htmx else "patterns/page.html"
    return render(request, template, _page_context(request))


def _posted(request: HtmxHttpRequest) -> dict | None:
    """The parameters, from a form post or a JSON body; None if the body is not JSON."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        # RecursionError: a few thousand nested brackets fit in any body cap.
        except (ValueError, RecursionError):
            return None
        return data if isinstance(data, dict) else None
    return request.POST.dict()


def _refuse(request: HtmxHttpRequest, message: str, status: int, **forms) -> HttpResponse:
    if _wants_json(request) or request.content_type == "application/json":
        return JsonResponse({"error": message, **forms.pop("errors", {})}, status=status)
    context = _page_context(request, refusal=message, **forms)
    template = "patterns/page.html#forms" if request.htmx else "patterns/page.html"
    return render(request, template, context, status=status)


@require_POST
def start_run(request: HtmxHttpRequest) -> HttpResponse:
    data = _posted(request)
    if data is None:
        return _refuse(request, "Send the parameters as a JSON object or a form.", 400)
    kind = str(data.get("kind", Run.Kind.PATTERN))
    if kind not in Run.Kind.values:
        return _refuse(request, "The kind of run must be “pattern” or “stampede”.", 400)
    form = form_for(kind, data)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        errors = {"errors": {name: list(errs) for name, errs in form.errors.items()}}
        return _refuse(request, first, 422, **{kind: form}, **errors)
    params = form.demo() if kind == Run.Kind.STAMPEDE else form.workload()
    lab = lab_of(request, data.get("lab"))
    try:
        run = runs.start(
            request.learner_id,
            kind,
            params.as_dict(),
            lab=lab.slug if lab else "",
            origin=client_origin(request),
        )
    except runs.Refused as refused:
        return _refuse(request, refused.message, refused.status)
    if _wants_json(request):
        return JsonResponse({"id": str(run.pk)}, status=202)
    if request.htmx:
        response = render(request, "patterns/run.html#status", _run_context(request, run))
        response["HX-Push-Url"] = run.get_absolute_url()
        return response
    response = redirect(run)
    response.status_code = 303  # see the run, by GET
    return response


def _run_context(request: HtmxHttpRequest, run: Run) -> dict:
    done = run.status == Run.Status.DONE
    return {
        "run": run,
        "from_lab": lab_of(request, run.lab),
        "rows": report.metric_rows(run) if done else [],
        "charts": report.run_charts(run) if done else {},
    }


@require_GET
def run_detail(request: HtmxHttpRequest, run_id) -> HttpResponse:
    # Another learner's run is not there for you: 404, not 403.
    run = runs.refresh(get_object_or_404(Run.objects.of(request.learner_id), pk=run_id))
    if _wants_json(request):
        body = {"status": run.status, "result": report.public_result(run)}
        if run.error:
            body["error"] = run.error
        return JsonResponse(body)
    template = "patterns/run.html#status" if request.htmx else "patterns/run.html"
    return render(request, template, _run_context(request, run))
