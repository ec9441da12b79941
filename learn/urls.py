from django.urls import path

from learn import sandbox_views, views

app_name = "learn"

urlpatterns = [
    path("", views.home, name="home"),
    path("topics/<slug:slug>/", views.topic_detail, name="topic"),
    path("topics/<slug:slug>/read", views.mark_read, name="mark_read"),
    path("healthz", views.healthz, name="healthz"),
    path("bench/floor", views.bench_floor, name="bench_floor"),
    path("sandbox/", sandbox_views.sandbox_page, name="sandbox"),
    path("sandbox/run", sandbox_views.sandbox_run, name="sandbox_run"),
    path("sandbox/reset", sandbox_views.sandbox_reset, name="sandbox_reset"),
    path("sandbox/keys", sandbox_views.sandbox_keys, name="sandbox_keys"),
    path("sandbox/clear", sandbox_views.sandbox_clear, name="sandbox_clear"),
    path("inside/", views.inside_page, name="inside"),
]
