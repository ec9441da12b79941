from django.contrib.auth import views as auth_views
from django.urls import path

from learn import accounts, sandbox_views, views

app_name = "learn"

urlpatterns = [
    path("", views.home, name="home"),
    path("topics/<slug:slug>/", views.topic_detail, name="topic"),
    path("topics/<slug:slug>/read", views.mark_read, name="mark_read"),
    path("healthz", views.healthz, name="healthz"),
    path("bench/floor", views.bench_floor, name="bench_floor"),
    path("sandbox/", sandbox_views.sandbox_page, name="sandbox"),
    path("sandbox/panel", sandbox_views.sandbox_panel, name="sandbox_panel"),
    path("sandbox/run", sandbox_views.sandbox_run, name="sandbox_run"),
    path("sandbox/reset", sandbox_views.sandbox_reset, name="sandbox_reset"),
    path("sandbox/keys", sandbox_views.sandbox_keys, name="sandbox_keys"),
    path("sandbox/clear", sandbox_views.sandbox_clear, name="sandbox_clear"),
    path("progress/", views.progress_page, name="progress"),
    path("progress/summary", views.progress_summary, name="progress_summary"),
    path("progress/topics/<slug:slug>", views.topic_mastery, name="topic_mastery"),
    path("me/nav", views.learner_nav, name="learner_nav"),
    path("inside/", views.inside_page, name="inside"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", accounts.PasswordChangeView.as_view(), name="password_change"),
]
