from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Avg, Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import slugify

from quizzes.gift import GiftError
from quizzes.gift_io import check_gift, export_quizzes, import_gift
from quizzes.models import Attempt, Choice, CommandCheck, Question, Quiz, ReviewItem, Tag
from quizzes.statistics import quiz_statistics, regrade
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


class GiftUploadForm(forms.Form):
    file = forms.FileField(help_text="A .gift or .txt file in Moodle's GIFT format (UTF-8).")


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
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "quiz": quiz,
            "title": f"Import GIFT into {quiz.title}",
        }
        if request.method == "POST" and "confirm" in request.POST:
            text = request.session.pop(f"gift-import-{quiz.pk}", "")
            try:
                created = import_gift(text, quiz)
            except GiftError as exc:
                context.update(form=GiftUploadForm(), errors=exc.errors)
                return TemplateResponse(
                    request, "admin/quizzes/import_gift.html", context, status=400
                )
            self.message_user(request, f"Imported {len(created)} question(s).", messages.SUCCESS)
            return redirect("admin:quizzes_quiz_change", quiz.pk)
        form = GiftUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            raw = form.cleaned_data["file"].read()
            try:
                text = raw.decode("utf-8-sig")
                preview = check_gift(text)
            except UnicodeDecodeError:
                context.update(form=form, errors=[(0, "The file is not UTF-8 text.")])
                return TemplateResponse(
                    request, "admin/quizzes/import_gift.html", context, status=400
                )
            except GiftError as exc:
                context.update(form=form, errors=exc.errors)
                return TemplateResponse(
                    request, "admin/quizzes/import_gift.html", context, status=400
                )
            request.session[f"gift-import-{quiz.pk}"] = text
            context.update(preview=preview)
            return TemplateResponse(request, "admin/quizzes/import_gift.html", context)
        context.update(form=form)
        return TemplateResponse(request, "admin/quizzes/import_gift.html", context)

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


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ["quiz", "learner", "started_at", "finished_at", "score", "passed"]
    list_filter = ["quiz", "passed"]
    list_select_related = ["quiz", "learner", "learner__user"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in Attempt._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    list_display = ["name", "question_count"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("questions"))

    @admin.display(description="Questions", ordering="n")
    def question_count(self, tag: Tag) -> int:
        return tag.n


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    """Learners' review queues, to look at: the scheduler alone writes them."""

    list_display = ["question", "learner", "due", "state", "reviews", "lapses", "last_correct"]
    list_filter = ["state", "last_correct", "question__quiz"]
    list_select_related = ["question", "learner", "learner__user"]
    date_hierarchy = "due"
    readonly_fields = [f.name for f in ReviewItem._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
