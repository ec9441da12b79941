"""The Learner admin, with what the leaderboard adds: nickname moderation.

The nickname lives on learn's Learner, but the boards it appears on are the
leaderboard's; so the leaderboard extends learn's admin rather than learn
reaching up into quizzes.
"""

from django.contrib import admin
from django.db import transaction

from learn.admin import LearnerAdmin
from learn.models import Learner
from quizzes import leaderboard


class LeaderboardLearnerAdmin(LearnerAdmin):
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
    def refresh() -> None:
        for learner_id in learner_ids:
            leaderboard.refresh_learner(str(learner_id))

    transaction.on_commit(refresh)


admin.site.unregister(Learner)
admin.site.register(Learner, LeaderboardLearnerAdmin)
