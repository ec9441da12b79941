from django.urls import path

from quizzes.review import views

app_name = "review"

urlpatterns = [
    path("", views.page, name="page"),
    path("<int:item_id>/answer", views.answer, name="answer"),
]
