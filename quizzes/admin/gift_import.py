"""Importing a GIFT file into a quiz from the admin: upload, preview, confirm.

The upload is capped at MAX_BYTES (a form error says so). The text waiting
for the instructor's confirm is not kept in the session: it waits in the app
cache for PENDING_SECONDS, one pending import per instructor and quiz (a new
preview replaces the last, so one instructor holds at most one file per quiz),
with a random token that the confirm form sends back. Confirming deletes it
first, so a double-clicked confirm imports once.
"""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.utils.crypto import constant_time_compare

from quizzes.gift import GiftError
from quizzes.gift_io import check_gift, import_gift
from quizzes.models import Quiz

# A bank of a few hundred questions is well under 100 KB.
MAX_BYTES = 256 * 1024
PENDING_SECONDS = 30 * 60
TEMPLATE = "admin/quizzes/import_gift.html"
EXPIRED = (
    "This preview has expired or was replaced by a newer upload, so nothing was "
    "imported: upload the file again."
)


class GiftUploadForm(forms.Form):
    file = forms.FileField(
        help_text=f"A .gift or .txt file in Moodle's GIFT format (UTF-8), "
        f"at most {filesizeformat(MAX_BYTES)}."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise ValidationError(
                f"This file is {filesizeformat(upload.size)}; a GIFT import can be at most "
                f"{filesizeformat(MAX_BYTES)}. Split it into smaller files.",
                code="too_big",
            )
        return upload


def pending_key(request: HttpRequest, quiz: Quiz) -> str:
    return f"gift-import:{request.user.pk}:{quiz.pk}"


def import_view(model_admin: ModelAdmin, request: HttpRequest, quiz: Quiz) -> HttpResponse:
    """The upload form, its preview, and the confirm (permissions checked by the caller)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "quiz": quiz,
        "title": f"Import GIFT into {quiz.title}",
    }
    if request.method == "POST" and "confirm" in request.POST:
        return _confirm(model_admin, request, quiz, context)
    if request.method != "POST":
        return TemplateResponse(request, TEMPLATE, {**context, "form": GiftUploadForm()})
    form = GiftUploadForm(request.POST, request.FILES)
    context.update(form=form)
    if not form.is_valid():
        return TemplateResponse(request, TEMPLATE, context, status=400)
    try:
        text = form.cleaned_data["file"].read().decode("utf-8-sig")
        preview = check_gift(text)
    except UnicodeDecodeError:
        context.update(errors=[(0, "The file is not UTF-8 text.")])
        return TemplateResponse(request, TEMPLATE, context, status=400)
    except GiftError as exc:
        context.update(errors=exc.errors)
        return TemplateResponse(request, TEMPLATE, context, status=400)
    token = secrets.token_urlsafe(16)
    cache.set(pending_key(request, quiz), {"token": token, "text": text}, PENDING_SECONDS)
    context.update(preview=preview, token=token)
    return TemplateResponse(request, TEMPLATE, context)


def _confirm(
    model_admin: ModelAdmin, request: HttpRequest, quiz: Quiz, context: dict
) -> HttpResponse:
    key = pending_key(request, quiz)
    pending = cache.get(key)
    token = request.POST.get("token", "")
    # delete() is True for one caller only: a second confirm finds nothing.
    if not pending or not constant_time_compare(pending["token"], token) or not cache.delete(key):
        context.update(form=GiftUploadForm(), errors=[(0, EXPIRED)])
        return TemplateResponse(request, TEMPLATE, context, status=400)
    try:
        created = import_gift(pending["text"], quiz)
    except GiftError as exc:
        context.update(form=GiftUploadForm(), errors=exc.errors)
        return TemplateResponse(request, TEMPLATE, context, status=400)
    model_admin.message_user(request, f"Imported {len(created)} question(s).", messages.SUCCESS)
    return redirect("admin:quizzes_quiz_change", quiz.pk)
