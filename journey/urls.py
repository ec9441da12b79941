from django.contrib.auth import views as auth_views
from django.urls import path

from journey import accounts, views

app_name = "journey"

urlpatterns = [
    path("sandbox/panel", views.topic_panel, name="sandbox_panel"),
    path("progress/", views.progress_page, name="progress"),
    path("progress/summary", views.progress_summary, name="progress_summary"),
    path("progress/topics/<slug:slug>", views.topic_mastery, name="topic_mastery"),
    path("me/nav", views.learner_nav, name="learner_nav"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", accounts.PasswordChangeView.as_view(), name="password_change"),
]
