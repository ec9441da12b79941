"""Authoring labs: every save runs the lab's solutions from a fresh namespace.

A published lab must pass: each step's solution passes every check of the
step, and the state before it fails at least one (no step passes by itself).
A draft may be saved while it is being built; the same run is shown as a
warning. Either way the instructor sees the run, step by step.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from config.redis_config import APP_REDIS_DOWN as DOWN
from labs.definition import LabDef, StepDef, lines
from labs.engine import validate
from labs.models import Check, Lab, LabProgress, Step
from learn.redis_clients import sandbox
from learn.sandbox.runner import SandboxUnavailable


def _live(formset) -> list:
    forms_ = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
    return sorted(forms_, key=lambda f: f.cleaned_data.get("order") or 0)


def _draft_step(data: dict, checks: list) -> StepDef:
    return StepDef(
        title=data.get("title", ""),
        instructions=data.get("instructions", ""),
        solution=lines(data.get("solution", "")),
        setup=lines(data.get("setup", "")),
        database=data.get("database") or {},
        checks=checks,
    )


def _lab_def(lab: Lab, steps: list[StepDef]) -> LabDef:
    return LabDef(
        slug=lab.slug,
        title=lab.title,
        topic=lab.topic.slug if lab.topic_id else "",
        intro=lab.intro,
        version=lab.version,
        order=lab.order,
        database=lab.database or {},
        steps=steps,
    )


class ValidatedFormSet(forms.BaseInlineFormSet):
    """Runs the whole lab, as it would be after this save, before anything is saved."""

    def lab(self) -> tuple[Lab, LabDef]:
        raise NotImplementedError

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        lab, definition = self.lab()
        try:
            result = validate(definition, sandbox())
        except (SandboxUnavailable, *DOWN) as exc:
            raise ValidationError(
                f"The sandbox server is unavailable, so the lab cannot be checked: {exc}"
            ) from exc
        self.validation = result
        if result.errors and lab.published:
            raise ValidationError(
                [*result.errors, f"What the checker saw:\n{result.report or '(nothing ran)'}"]
            )


class StepFormSet(ValidatedFormSet):
    def lab(self) -> tuple[Lab, LabDef]:
        steps = [
            _draft_step(
                f.cleaned_data,
                [c.definition() for c in f.instance.checks.all()] if f.instance.pk else [],
            )
            for f in _live(self)
        ]
        return self.instance, _lab_def(self.instance, steps)


class CheckFormSet(ValidatedFormSet):
    def lab(self) -> tuple[Lab, LabDef]:
        step = self.instance
        checks = [
            Check(**{k: f.cleaned_data.get(k) for k in ("kind", "key", "fields", "hint")})
            for f in _live(self)
        ]
        edited = _draft_step(
            {n: getattr(step, n) for n in ("title", "instructions", "solution", "setup")}
            | {"database": step.database},
            [c.definition() for c in checks],
        )
        siblings = list(step.lab.steps.exclude(pk=step.pk)) if step.lab_id else []
        ordered = sorted([*siblings, step], key=lambda s: (s.order, s.pk or 0))
        steps = [edited if s is step else s.definition() for s in ordered]
        return step.lab, _lab_def(step.lab, steps)


def _report(request, formsets) -> None:
    for formset in formsets:
        result = getattr(formset, "validation", None)
        if result is None:
            continue
        if result.ok:
            messages.info(request, f"Lab check passed. {result.report}")
        else:
            messages.warning(
                request,
                "This draft does not pass yet (it cannot be published like this): "
                f"{' '.join(result.errors)}\n{result.report}",
            )


class StepInline(admin.StackedInline):
    model = Step
    formset = StepFormSet
    extra = 0
    show_change_link = True
    fields = ["order", "title", "instructions", "solution", "setup", "database"]


@admin.register(Lab)
class LabAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "topic", "published", "version", "edited", "updated_at"]
    list_editable = ["published"]
    list_filter = ["published", "topic"]
    list_select_related = ["topic"]
    search_fields = ["title", "slug", "intro"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [StepInline]
    fieldsets = [
        (None, {"fields": ["title", "slug", "topic", "order", "intro", "published"]}),
        (
            "Environment",
            {
                "fields": ["environment", "database", "version"],
                "description": "On save the lab's solutions run from a fresh sandbox namespace: "
                "each step must pass after its solution and fail before it. Edit a step's "
                "checks on the step's own page (the Change link beside it).",
            },
        ),
    ]

    @admin.display(boolean=True, description="Edited here")
    def edited(self, lab: Lab) -> bool:
        return lab.edited_since_load

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        _report(request, formsets)


class CheckInline(admin.StackedInline):
    model = Check
    formset = CheckFormSet
    extra = 1
    fields = [("order", "kind", "key"), "fields", "hint"]


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ["title", "lab", "order"]
    list_filter = ["lab"]
    list_select_related = ["lab"]
    search_fields = ["title", "instructions", "lab__title"]
    inlines = [CheckInline]
    fields = ["lab", "order", "title", "instructions", "solution", "setup", "database"]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        _report(request, formsets)


@admin.register(LabProgress)
class LabProgressAdmin(admin.ModelAdmin):
    list_display = ["learner", "lab", "current_step", "completed_at", "started_at"]
    list_filter = ["lab", ("completed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["learner", "lab"]
    readonly_fields = [f.name for f in LabProgress._meta.fields]
