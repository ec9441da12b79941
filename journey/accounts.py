"""Accounts are optional: a learner studies anonymously and may sign up later.

Whatever an anonymous learner did (topics read, examples run, quiz attempts,
review queue, leaderboard place) belongs to the account from the moment they
sign up or log in. Django's login() already rotates the session key (against
session fixation) and keeps the session's data, so the anonymous learner id is
still there when `user_logged_in` fires; the receiver below moves that
learner's records onto the account's learner.
"""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from journey.merge import merge_learners
from learn import throttle
from learn.auth import paused
from learn.http import HtmxHttpRequest, client_ip
from learn.middleware import LEARNER_SESSION_KEY, READ_TOPICS
from learn.models import Learner, TopicProgress

logger = logging.getLogger(__name__)


class SignUpForm(UserCreationForm):
    email = forms.EmailField(
        required=False, help_text="Optional. Only used to help you reset a forgotten password."
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class LoginForm(AuthenticationForm):
    def clean(self) -> dict:
        username = self.cleaned_data.get("username")
        if username and paused(self.request, username):
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW // 60)
            raise forms.ValidationError(
                f"Too many failed log-ins. Try again in {minutes} minutes.",
                code="throttled",
            )
        return super().clean()


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, f"Welcome back, {form.get_user().get_username()}.")
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("journey:progress")

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password has been changed.")
        return response

    def form_invalid(self, form) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


def safe_next(request: HttpRequest, default: str = "journey:progress") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def _signup_key(request: HttpRequest) -> str:
    return throttle.throttle_key("signup", client_ip(request))


def signups_paused(request: HttpRequest) -> bool:
    """Whether this address has made its SIGNUP_LIMIT accounts for the window."""
    key = _signup_key(request)
    return throttle.counts([key])[key] >= settings.SIGNUP_LIMIT


@require_http_methods(["GET", "POST"])
def signup(request: HtmxHttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("journey:progress")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and signups_paused(request):
        hours = max(1, settings.SIGNUP_WINDOW // 3600)
        form.add_error(
            None,
            "Too many accounts were made from your network just now. "
            f"Try again within {hours} hour{'s' if hours != 1 else ''}.",
        )
        context = {"form": form, "next": safe_next(request, "")}
        return render(request, "registration/signup.html", context, status=429)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            throttle.hit(_signup_key(request), settings.SIGNUP_WINDOW)
        # Logging in moves the anonymous learner's work onto the new account.
        login(request, user, backend="learn.auth.ThrottledModelBackend")
        messages.success(
            request, f"Welcome, {user.username}. Your progress is saved to your account."
        )
        return redirect(safe_next(request))
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "next": safe_next(request, "")}
    return render(request, "registration/signup.html", context, status=status)


@receiver(user_logged_in)
def adopt_anonymous_learner(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """Give the account the work done in this browser before logging in."""
    if request is None or not hasattr(request, "session"):
        return
    anonymous_id = request.session.get(LEARNER_SESSION_KEY)
    learner = adopt(anonymous_id, user)
    request.session[LEARNER_SESSION_KEY] = str(learner.pk)
    read = TopicProgress.objects.filter(learner=learner, read_at__isnull=False)
    request.session[READ_TOPICS] = sorted(read.values_list("topic_id", flat=True))
    request.learner_id = str(learner.pk)


def adopt(anonymous_id: str | None, user) -> Learner:
    """The account's learner after taking in the anonymous one (if any)."""
    with transaction.atomic():
        account = Learner.objects.select_for_update().filter(user=user).first()
        anonymous = (
            Learner.objects.select_for_update().filter(pk=anonymous_id, user=None).first()
            if anonymous_id
            else None
        )
        if account is None and anonymous is not None:
            # First log-in from this browser: the anonymous learner becomes the account's.
            anonymous.user = user
            anonymous.save(update_fields=["user"])
            return anonymous
        if account is None:
            return Learner.objects.create(user=user)
        if anonymous is not None:
            merge_learners(anonymous, account)
    return account
