from django.urls import path

from patterns import views

app_name = "patterns"
urlpatterns = [
    path("", views.page, name="page"),
    path("runs", views.start_run, name="start"),
    path("runs/<uuid:run_id>", views.run_detail, name="run"),
]
