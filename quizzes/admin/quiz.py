"""The quiz admin: rules, publishing, duplicating, statistics, regrading, GIFT."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Avg, Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import slugify

from quizzes.admin import gift_import
from quizzes.admin.questions import QuestionInline
from quizzes.gift_io import export_quizzes
from quizzes.models import Quiz
from quizzes.statistics import quiz_statistics, regrade


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "topic",
        "status",
        "questions_count",
        "attempts_count",
        "mean",
        "pass_rate",
        "links",
    ]
    list_filter = ["status", "topic", "feedback"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    list_select_related = ["topic"]
    inlines = [QuestionInline]
    actions = ["publish", "unpublish", "duplicate", "export_gift", "regrade_attempts"]
    readonly_fields = ["preview"]
    fieldsets = [
        (None, {"fields": ["topic", "title", "slug", "description", "status", "preview"]}),
        (
            "Rules",
            {
                "fields": [
                    "pass_mark",
                    "feedback",
                    "shuffle_questions",
                    "shuffle_choices",
                    "draw_count",
                    "time_limit_minutes",
                    "max_extensions",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_questions=Count("questions", distinct=True),
                n_attempts=Count(
                    "attempts", filter=Q(attempts__finished_at__isnull=False), distinct=True
                ),
                mean_score=Avg("attempts__score", filter=Q(attempts__finished_at__isnull=False)),
            )
        )

    @admin.display(description="Questions", ordering="n_questions")
    def questions_count(self, quiz: Quiz) -> int:
        return quiz.n_questions

    @admin.display(description="Attempts", ordering="n_attempts")
    def attempts_count(self, quiz: Quiz) -> int:
        return quiz.n_attempts

    @admin.display(description="Mean score")
    def mean(self, quiz: Quiz) -> str:
        return f"{quiz.mean_score:.0f}%" if quiz.mean_score is not None else "–"

    @admin.display(description="Pass rate")
    def pass_rate(self, quiz: Quiz) -> str:
        stats = quiz.attempts.finished().aggregate(
            n=Count("id"), p=Count("id", filter=Q(passed=True))
        )
        return f"{100 * stats['p'] / stats['n']:.0f}%" if stats["n"] else "–"

    @admin.display(description="")
    def links(self, quiz: Quiz) -> str:
        return format_html(
            '<a href="{}">Statistics</a> · <a href="{}">Import GIFT</a>',
            reverse("admin:quizzes_quiz_statistics", args=[quiz.pk]),
            reverse("admin:quizzes_quiz_import_gift", args=[quiz.pk]),
        )

    @admin.display(description="Preview")
    def preview(self, quiz: Quiz) -> str:
        if not quiz.pk:
            return "Save the quiz first."
        return format_html(
            '<a href="{}?quiz={}">Add a question</a> · '
            '<a href="{}" target="_blank">Preview as learner</a> '
            "(drafts are visible to staff only) · "
            '<a href="{}">Statistics</a>',
            reverse("admin:quizzes_question_add"),
            quiz.pk,
            quiz.get_absolute_url(),
            reverse("admin:quizzes_quiz_statistics", args=[quiz.pk]),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        extra = [
            path(
                "<int:pk>/statistics/", view(self.statistics_view), name="quizzes_quiz_statistics"
            ),
            path(
                "<int:pk>/import-gift/",
                view(self.import_gift_view),
                name="quizzes_quiz_import_gift",
            ),
        ]
        return extra + super().get_urls()

    def statistics_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        quiz = get_object_or_404(Quiz, pk=pk)
        if not self.has_view_permission(request, quiz):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "quiz": quiz,
            "stats": quiz_statistics(quiz),
            "title": f"Statistics: {quiz.title}",
        }
        return TemplateResponse(request, "admin/quizzes/statistics.html", context)

    def import_gift_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        quiz = get_object_or_404(Quiz, pk=pk)
        if not self.has_change_permission(request, quiz):
            raise PermissionDenied
        return gift_import.import_view(self, request, quiz)

    @admin.action(description="Publish selected quizzes", permissions=["change"])
    def publish(self, request, queryset) -> None:
        self.message_user(
            request, f"Published {queryset.update(status=Quiz.Status.PUBLISHED)} quiz(zes)."
        )

    @admin.action(description="Move selected quizzes back to draft", permissions=["change"])
    def unpublish(self, request, queryset) -> None:
        self.message_user(
            request, f"{queryset.update(status=Quiz.Status.DRAFT)} quiz(zes) are drafts again."
        )

    @admin.action(description="Duplicate selected quizzes (as drafts)", permissions=["add"])
    def duplicate(self, request, queryset) -> None:
        for quiz in queryset:
            copy = duplicate_quiz(quiz)
            self.message_user(
                request,
                format_html(
                    'Created <a href="{}">{}</a>.',
                    reverse("admin:quizzes_quiz_change", args=[copy.pk]),
                    copy.title,
                ),
            )

    @admin.action(description="Export selected quizzes as GIFT")
    def export_gift(self, request, queryset):
        text, skipped = export_quizzes(queryset.order_by("slug"))
        if skipped:
            self.message_user(
                request,
                f"Left out {skipped} Redis command question(s): GIFT has no such type.",
                messages.WARNING,
            )
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="quizzes.gift"'
        return response

    @admin.action(description="Regrade attempts (shows a dry run first)", permissions=["change"])
    def regrade_attempts(self, request, queryset):
        quizzes = list(queryset)
        if request.POST.get("confirm") == "yes":
            total = sum(len(regrade(quiz, apply=True)) for quiz in quizzes)
            self.message_user(
                request, f"Regraded: {total} attempt score(s) changed.", messages.SUCCESS
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Regrade attempts: dry run",
            "plans": [(quiz, regrade(quiz, apply=False)) for quiz in quizzes],
            "queryset": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/quizzes/regrade.html", context)


@transaction.atomic
def duplicate_quiz(quiz: Quiz) -> Quiz:
    """A draft copy with every question, choice, check and tag."""
    base = slugify(f"{quiz.slug}-copy")[:45]
    slug, n = base, 2
    while Quiz.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    questions = list(quiz.questions.prefetch_related("choices", "checks", "tags"))
    copy = Quiz.objects.get(pk=quiz.pk)
    copy.pk, copy.slug, copy.title = None, slug, f"{quiz.title} (copy)"
    copy.status, copy.source_hash, copy.loaded_fingerprint = Quiz.Status.DRAFT, "", ""
    copy.save()
    for question in questions:
        choices, checks, tags = (
            list(question.choices.all()),
            list(question.checks.all()),
            list(question.tags.all()),
        )
        question.pk, question.quiz = None, copy
        question.save()
        question.tags.set(tags)
        for item in (*choices, *checks):
            item.pk, item.question = None, question
            item.save()
    return copy
