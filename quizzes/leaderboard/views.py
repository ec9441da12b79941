"""/leaderboard/: the weekly and all-time boards, and joining or leaving them."""

import logging

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from config.redis_config import APP_REDIS_DOWN as DOWN
from learn.http import HtmxHttpRequest
from learn.models import Learner
from quizzes import leaderboard
from quizzes.leaderboard.forms import TAKEN, NicknameForm

logger = logging.getLogger(__name__)
TEMPLATE = "quizzes/leaderboard.html"


def _nickname(request: HtmxHttpRequest) -> str | None:
    rows = Learner.objects.filter(pk=request.learner_id).values_list("nickname", flat=True)
    return rows.first()


def _boards(standings: leaderboard.Standings | None, me: str) -> list[dict]:
    """Each board with its rows, and the learner's own row when below them."""
    if standings is None:
        return []
    titles = {
        "week": (f"This week ({standings.week})", "this week"),
        "all": ("All time", "all time"),
    }
    boards = []
    for name in leaderboard.BOARDS:
        entries, mine = standings.top[name], standings.mine[name]
        shown = any(entry.learner_id == me for entry in entries)
        extra = mine if mine and not shown else None
        boards.append(
            {
                "name": name,
                "title": titles[name][0],
                "short": titles[name][1],
                "entries": entries,
                "mine": mine,
                "extra": extra,
            }
        )
    return boards


def _context(
    request: HtmxHttpRequest, form: NicknameForm | None = None, notice: str = "", error: str = ""
) -> dict:
    nickname = _nickname(request)
    try:
        standings = leaderboard.standings(request.learner_id, on_board=nickname is not None)
    except DOWN as exc:
        logger.warning("leaderboard: app Redis unavailable: %s", exc)
        standings = None  # the page says the board is rebuilding
    form = form or NicknameForm(initial={"nickname": nickname}, learner_id=request.learner_id)
    return {
        "nickname": nickname,
        "standings": standings,
        "boards": _boards(standings, str(request.learner_id)),
        "me": str(request.learner_id),
        "form": form,
        "notice": notice,
        "error": error,
    }


@vary_on_headers("HX-Request")
@require_GET
def page(request: HtmxHttpRequest) -> HttpResponse:
    template = f"{TEMPLATE}#boards" if request.htmx else TEMPLATE
    return render(request, template, _context(request))


def _answer(request: HtmxHttpRequest, notice: str) -> HttpResponse:
    if request.htmx:
        return render(request, f"{TEMPLATE}#panel", _context(request, notice=notice))
    messages.success(request, notice)
    return redirect("leaderboard:page")


def _refuse(
    request: HtmxHttpRequest, status: int, form: NicknameForm | None = None, error: str = ""
) -> HttpResponse:
    template = f"{TEMPLATE}#panel" if request.htmx else TEMPLATE
    return render(request, template, _context(request, form=form, error=error), status=status)


def _save_nickname(request: HtmxHttpRequest, notice: str) -> HttpResponse:
    form = NicknameForm(request.POST, learner_id=request.learner_id)
    if form.is_valid():
        nickname = form.cleaned_data["nickname"]
        try:
            leaderboard.join(request.learner_id, nickname)
        except leaderboard.NicknameTaken:
            form.add_error("nickname", TAKEN)
        else:
            return _answer(request, notice.format(nickname=nickname))
    return _refuse(request, 422, form=form)


@require_POST
def join(request: HtmxHttpRequest) -> HttpResponse:
    return _save_nickname(request, "You are on the leaderboard as {nickname}.")


@require_POST
def rename(request: HtmxHttpRequest) -> HttpResponse:
    if _nickname(request) is None:
        return _refuse(request, 409, error="You are not on the leaderboard: join it first.")
    return _save_nickname(request, "Your nickname is now {nickname}.")


@require_POST
def leave(request: HtmxHttpRequest) -> HttpResponse:
    if leaderboard.leave(request.learner_id):
        return _answer(request, "You have left the leaderboard. Your quiz results stay yours.")
    return _answer(request, "You were not on the leaderboard.")
