from django.urls import path

from quizzes import views

app_name = "quizzes"

attempt = "<slug:slug>/attempts/<int:attempt_id>/"
urlpatterns = [
    path("", views.quiz_list, name="list"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/start", views.start, name="start"),
    path(attempt + "<int:position>/", views.question, name="question"),
    path(attempt + "<int:position>/answer", views.answer, name="answer"),
    path(attempt + "finish", views.finish, name="finish"),
    path(attempt + "extend", views.extend, name="extend"),
    path(attempt + "results", views.results, name="results"),
]
