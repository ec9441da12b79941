from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("quizzes/", include("quizzes.urls")),
    path("labs/", include("labs.urls")),
    path("review/", include("quizzes.review.urls")),
    path("leaderboard/", include("quizzes.leaderboard.urls")),
    path("patterns/", include("patterns.urls")),
    path("memcached/", include("memcache.urls")),
    path("", include("journey.urls")),
    path("", include("learn.urls")),
]

handler404 = "learn.views.not_found"
