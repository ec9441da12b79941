"""What learners leave behind, to look at: attempts, review queues, and tags."""

from django.contrib import admin
from django.db.models import Count

from quizzes.models import Attempt, ReviewItem, Tag


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
