from django.contrib import admin

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


@admin.register(TopicProgress)
class TopicProgressAdmin(admin.ModelAdmin):
    list_display = ["learner", "topic", "read_at"]
    list_filter = ["topic"]
    list_select_related = ["learner", "topic"]
