from django.urls import path

from learn import views

app_name = "learn"

urlpatterns = [
    path("", views.home, name="home"),
    path("topics/<slug:slug>/", views.topic_detail, name="topic"),
    path("topics/<slug:slug>/read", views.mark_read, name="mark_read"),
    path("healthz", views.healthz, name="healthz"),
]
