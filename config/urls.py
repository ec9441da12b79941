from django.contrib import admin
from django.urls import include, path

from quizzes import leaderboard_views, review_views

review_urls = [
    path("", review_views.page, name="page"),
    path("<int:item_id>/answer", review_views.answer, name="answer"),
]
leaderboard_urls = [
    path("", leaderboard_views.page, name="page"),
    path("join", leaderboard_views.join, name="join"),
    path("rename", leaderboard_views.rename, name="rename"),
    path("leave", leaderboard_views.leave, name="leave"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("quizzes/", include("quizzes.urls")),
    path("review/", include((review_urls, "review"))),
    path("leaderboard/", include((leaderboard_urls, "leaderboard"))),
    path("patterns/", include("patterns.urls")),
    path("", include("learn.urls")),
]

handler404 = "learn.views.not_found"
