from django.contrib import admin
from django.db import transaction

from learn.models import Learner, Topic, TopicProgress


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "order", "published", "edited", "updated_at"]
    list_editable = ["order", "published"]
    list_filter = ["published"]
    search_fields = ["title", "slug", "summary", "body"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["publish", "unpublish"]

    @admin.display(boolean=True, description="Edited here")
    def edited(self, topic: Topic) -> bool:
        return topic.edited_since_load

    @admin.action(description="Publish selected topics")
    def publish(self, request, queryset) -> None:
        self.message_user(request, f"Published {queryset.update(published=True)} topic(s).")

    @admin.action(description="Unpublish selected topics (learners stop seeing them)")
    def unpublish(self, request, queryset) -> None:
        self.message_user(request, f"Unpublished {queryset.update(published=False)} topic(s).")


@admin.register(Learner)
class LearnerAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "nickname", "created_at"]
    list_select_related = ["user"]
    list_filter = [("nickname", admin.EmptyFieldListFilter)]
    search_fields = ["id", "user__username", "nickname"]
    readonly_fields = ["id", "created_at"]
    actions = ["take_off_leaderboard"]

    def save_model(self, request, learner: Learner, form, change: bool) -> None:
        super().save_model(request, learner, form, change)
        if "nickname" in form.changed_data:
            _refresh_boards([learner.pk])

    @admin.action(description="Take off the leaderboard (clear the nickname)")
    def take_off_leaderboard(self, request, queryset) -> None:
        ids = list(queryset.exclude(nickname=None).values_list("pk", flat=True))
        Learner.objects.filter(pk__in=ids).update(nickname=None)
        _refresh_boards(ids)
        self.message_user(request, f"Took {len(ids)} learner(s) off the leaderboard.")


def _refresh_boards(learner_ids: list) -> None:
    # The boards in Redis follow the database once the change is committed.
    from quizzes import leaderboard

    def refresh() -> None:
        for learner_id in learner_ids:
            leaderboard.refresh_learner(str(learner_id))

    transaction.on_commit(refresh)


@admin.register(TopicProgress)
class TopicProgressAdmin(admin.ModelAdmin):
    list_display = ["learner", "topic", "read_at"]
    list_filter = ["topic"]
    list_select_related = ["learner", "topic"]
