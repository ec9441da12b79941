"""The question admin: an answer key and command checks that make sense before saving."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from quizzes.models import Choice, CommandCheck, Question
from quizzes.validation import DraftChoice, choice_errors, command_errors


def _live_forms(formset) -> list:
    return [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE", False)]


class ChoiceFormSet(forms.BaseInlineFormSet):
    """The answer key must make sense before anything is saved."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        drafts = [
            DraftChoice(f.cleaned_data["text"], f.cleaned_data.get("correct", False))
            for f in _live_forms(self)
        ]
        errors = choice_errors(self.instance.kind, drafts)
        if errors:
            raise ValidationError(errors)


class CommandCheckFormSet(forms.BaseInlineFormSet):
    """A command question's checks must pass on its example and fail on nothing."""

    def clean(self) -> None:
        super().clean()
        question = self.instance
        live = _live_forms(self)
        if any(self.errors) or question.kind != Question.Kind.COMMAND:
            if live and question.kind != Question.Kind.COMMAND:
                raise ValidationError("Only Redis command questions have checks.")
            return
        checks = [
            CommandCheck(**{k: v for k, v in f.cleaned_data.items() if k in CHECK_FIELDS})
            for f in live
        ]
        errors, report = command_errors(
            question.setup.splitlines(), checks, question.example_answer
        )
        self.grading_report = report
        if errors:
            raise ValidationError([*errors, f"What the grader saw:\n{report}"])


CHECK_FIELDS = {"kind", "key", "key_type", "member", "value", "minimum", "maximum", "order"}


class ChoiceInline(admin.StackedInline):
    model = Choice
    formset = ChoiceFormSet
    extra = 2
    fields = [("text", "correct"), "feedback", "order"]


class CommandCheckInline(admin.StackedInline):
    model = CommandCheck
    formset = CommandCheckFormSet
    extra = 1
    fields = [("kind", "key", "key_type"), ("member", "value"), ("minimum", "maximum"), "order"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["short_prompt", "quiz", "kind", "difficulty", "order"]
    list_filter = ["kind", "difficulty", "quiz__topic", "quiz", "tags"]
    list_select_related = ["quiz"]
    search_fields = ["prompt", "explanation", "title", "quiz__title"]
    filter_horizontal = ["tags"]
    inlines = [ChoiceInline, CommandCheckInline]
    fieldsets = [
        (None, {"fields": ["quiz", "kind", "title", "prompt", "explanation", "order"]}),
        ("Classification", {"fields": ["difficulty", "tags", "section"]}),
        (
            "Redis command questions",
            {
                "fields": ["setup", "example_answer"],
                "description": "Graded by running the learner's command after the setup in "
                "a fresh sandbox namespace, then testing the checks below. On save, the "
                "checks must pass on the example answer and fail with no answer.",
            },
        ),
    ]

    @admin.display(description="Prompt")
    def short_prompt(self, question: Question) -> str:
        return question.title or question.prompt[:90]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        for formset in formsets:
            report = getattr(formset, "grading_report", "")
            if report:
                messages.info(request, f"Grader check passed. {report}")
        finished = form.instance.quiz.attempts.finished().count()
        if change and finished and any(fs.has_changed() for fs in formsets):
            messages.warning(
                request,
                format_html(
                    "This quiz has {} finished attempt(s) graded with the old answer key. "
                    'Select it in the <a href="{}">quiz list</a> and run “Regrade attempts” '
                    "to see which scores would change before applying.",
                    finished,
                    reverse("admin:quizzes_quiz_changelist"),
                ),
            )


class QuestionInline(admin.TabularInline):
    """The quiz's questions at a glance; each is edited on its own page (with its
    choices and checks), which the "Add a question" link opens."""

    model = Question
    extra = 0
    fields = ["order", "kind", "prompt", "difficulty"]
    readonly_fields = ["kind", "prompt", "difficulty"]
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False
