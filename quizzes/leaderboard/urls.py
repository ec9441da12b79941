from django.urls import path

from quizzes.leaderboard import views

app_name = "leaderboard"

urlpatterns = [
    path("", views.page, name="page"),
    path("join", views.join, name="join"),
    path("rename", views.rename, name="rename"),
    path("leave", views.leave, name="leave"),
]
