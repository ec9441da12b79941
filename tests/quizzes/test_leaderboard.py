"""The leaderboard: points from quizzes in Redis sorted sets, the database as the truth."""

from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from learn.models import Learner
from quizzes import leaderboard, taking
from quizzes.models import Attempt
from tests.factories import (
    LearnerFactory,
    QuestionFactory,
    QuizFactory,
    answered_attempt,
    learner_session,
)

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

PAGE = reverse("leaderboard:page")
JOIN = reverse("leaderboard:join")
RENAME = reverse("leaderboard:rename")
LEAVE = reverse("leaderboard:leave")


@pytest.fixture
def quiz():
    quiz = QuizFactory()
    for order in range(3):
        QuestionFactory(quiz=quiz, order=order)
    return quiz


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the code defers to after the commit (tests run inside a transaction)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def take(committed):
    def take(learner: Learner, quiz, right: int, finished_at=None) -> Attempt:
        """Finish an attempt with `right` correct answers, through the real taking."""
        with committed():
            attempt = answered_attempt(learner.pk, quiz, right)
            return taking.finish_attempt(attempt, now=finished_at)

    return take


@pytest.fixture
def player(committed):
    def player(nickname: str) -> Learner:
        learner = LearnerFactory()
        with committed():
            leaderboard.join(learner.pk, nickname)
        learner.refresh_from_db()
        return learner

    return player


def scores(app_redis, board: str) -> list[tuple[bytes, float]]:
    return app_redis.zrange(leaderboard.board_key(board), 0, -1, withscores=True)


def score(app_redis, board: str, learner: Learner) -> float | None:
    return app_redis.zscore(leaderboard.board_key(board), str(learner.pk))


def me(client) -> Learner:
    learner_session(client)
    learner, _ = Learner.objects.get_or_create(id=client.session["learner_id"])
    return learner


# Awarding points


def test_finishing_a_quiz_adds_its_right_answers_to_both_boards(app_redis, quiz, take, player):
    ada = player("Ada")

    take(ada, quiz, right=2)

    assert score(app_redis, "all", ada) == 2
    assert score(app_redis, "week", ada) == 2


def test_a_retake_scores_only_by_beating_the_best(app_redis, quiz, take, player):
    ada = player("Ada")
    take(ada, quiz, right=2)

    take(ada, quiz, right=1)
    after_worse = (score(app_redis, "all", ada), score(app_redis, "week", ada))
    take(ada, quiz, right=3)

    assert after_worse == (2, 2)
    assert (score(app_redis, "all", ada), score(app_redis, "week", ada)) == (3, 3)


def test_learners_without_a_nickname_are_not_on_the_boards(app_redis, quiz, take):
    take(LearnerFactory(), quiz, right=3)

    assert scores(app_redis, "all") == [] and scores(app_redis, "week") == []


def test_the_weekly_board_expires_a_day_after_the_week_ends(app_redis, quiz, take, player):
    take(player("Ada"), quiz, right=1)

    _, week_end = leaderboard.week_bounds(timezone.now())
    expected = (week_end + timedelta(days=1) - timezone.now()).total_seconds()
    assert abs(app_redis.ttl(leaderboard.board_key("week")) - expected) <= 2
    assert app_redis.ttl(leaderboard.ALL_KEY) == -1


def test_the_weekly_key_is_named_after_the_iso_week():
    moment = datetime(2026, 11, 26, 12, tzinfo=UTC)

    assert leaderboard.board_key("week", moment) == "cachelab:board:{week:2026-W48}"


def test_points_from_an_attempt_finished_last_week_count_all_time_only(
    app_redis, quiz, take, player
):
    ada = player("Ada")

    take(ada, quiz, right=2, finished_at=timezone.now() - timedelta(days=8))

    assert score(app_redis, "all", ada) == 2
    assert score(app_redis, "week", ada) is None


def test_joining_brings_points_earned_before(app_redis, quiz, take, committed):
    learner = LearnerFactory()
    take(learner, quiz, right=3)

    with committed():
        leaderboard.join(learner.pk, "Grace")

    assert score(app_redis, "all", learner) == 3 and score(app_redis, "week", learner) == 3


def test_a_finish_while_redis_is_away_is_restored_by_a_rebuild(own_app_redis, quiz, take, player):
    ada = player("Ada")
    own_app_redis.stop()

    attempt = take(ada, quiz, right=2)
    own_app_redis.restart()
    call_command("rebuild_leaderboard")

    assert attempt.is_finished
    assert score(redis.Redis.from_url(own_app_redis.url), "all", ada) == 2


# Reading the boards


def test_top_and_rank_read_the_board_with_nicknames(quiz, take, player):
    ada, bob = player("Ada"), player("Bob")
    take(ada, quiz, right=1)
    take(bob, quiz, right=3)

    top = leaderboard.top("all")

    assert [(e.rank, e.nickname, e.points) for e in top] == [(1, "Bob", 3), (2, "Ada", 1)]
    assert leaderboard.rank("week", ada.pk) == leaderboard.Standing(rank=2, points=1)


def test_the_page_shows_your_rank_even_outside_the_top_ten(client, committed):
    quiz = QuizFactory()
    for order in range(12):
        QuestionFactory(quiz=quiz, order=order)
    mine = me(client)
    with committed():
        leaderboard.join(mine.pk, "Me")
    learners = [LearnerFactory(nickname=f"Player {n}") for n in range(11)]
    for right, learner in enumerate([mine, *learners], start=1):
        attempt = answered_attempt(learner.pk, quiz, right)
        with committed():
            taking.finish_attempt(attempt)

    response = client.get(PAGE)

    boards = {board["name"]: board for board in response.context["boards"]}
    assert len(boards["all"]["entries"]) == 10
    assert boards["all"]["extra"] == leaderboard.Standing(rank=12, points=1)
    assert boards["week"]["extra"] == leaderboard.Standing(rank=12, points=1)
    assert response.content.decode().count('<tr class="is-me"><td>12</td>') == 2


def test_nicknames_are_shown_as_plain_text(client, quiz, take, player):
    take(player("Ada"), quiz, right=1)

    html = client.get(PAGE).content.decode()

    assert "<td>1</td><td>Ada</td><td>1</td>" in html


# Joining, renaming, leaving


def test_joining_saves_the_trimmed_nickname_and_adds_you(client, app_redis, committed):
    learner = me(client)

    with committed():
        response = client.post(JOIN, {"nickname": "  Ada   Lovelace "})

    learner.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == PAGE
    assert learner.nickname == "Ada Lovelace"
    assert score(app_redis, "all", learner) == 0


@pytest.mark.parametrize(
    ("nickname", "message"),
    [
        ("", "Choose a nickname first."),
        ("   ", "Choose a nickname first."),
        ("Al", "at least 3 characters"),
        ("x" * 25, "at most 24 characters"),
        ("<b>Ada</b>", "Use only the letters A–Z"),
        ("Zoë", "Use only the letters A–Z"),
        ("Ada\tL", "Use only the letters A–Z"),
        ("Ada\x00", "Null characters are not allowed"),
        ("admin", "reserved"),
        ("Ad_Min", "reserved"),
        ("CacheLab", "reserved"),
    ],
)
def test_a_bad_nickname_is_refused_with_a_message_and_changes_nothing(
    client, app_redis, committed, nickname, message
):
    learner = me(client)

    with committed():
        response = client.post(JOIN, {"nickname": nickname})

    learner.refresh_from_db()
    assert response.status_code == 422
    assert message in response.content.decode()
    assert learner.nickname is None
    assert scores(app_redis, "all") == []


def test_a_nickname_taken_in_another_case_is_refused(client, app_redis, player, committed):
    player("Ada")
    learner = me(client)

    with committed():
        response = client.post(JOIN, {"nickname": "ADA"})

    learner.refresh_from_db()
    assert response.status_code == 422
    assert "Someone already uses that nickname" in response.content.decode()
    assert learner.nickname is None and len(scores(app_redis, "all")) == 1


def test_renaming_keeps_your_points_and_place(client, app_redis, quiz, take, committed):
    learner = me(client)
    with committed():
        client.post(JOIN, {"nickname": "Ada"})
    take(learner, quiz, right=2)

    with committed():
        response = client.post(RENAME, {"nickname": "Countess"})

    learner.refresh_from_db()
    assert response.status_code == 302 and learner.nickname == "Countess"
    assert score(app_redis, "all", learner) == 2


def test_you_may_change_the_case_of_your_own_nickname(client, committed):
    learner = me(client)
    with committed():
        client.post(JOIN, {"nickname": "ada"})

    response = client.post(RENAME, {"nickname": "Ada"})

    learner.refresh_from_db()
    assert response.status_code == 302 and learner.nickname == "Ada"


def test_renaming_before_joining_is_refused(client):
    learner = me(client)

    response = client.post(RENAME, {"nickname": "Ada"})

    learner.refresh_from_db()
    assert response.status_code == 409
    assert "join it first" in response.content.decode()
    assert learner.nickname is None


def test_leaving_takes_you_off_both_boards(client, app_redis, quiz, take, committed):
    learner = me(client)
    with committed():
        client.post(JOIN, {"nickname": "Ada"})
    take(learner, quiz, right=2)

    with committed():
        response = client.post(LEAVE)

    learner.refresh_from_db()
    assert response.status_code == 302 and learner.nickname is None
    assert score(app_redis, "all", learner) is None and score(app_redis, "week", learner) is None


def test_the_page_offers_joining_until_you_join(client, committed):
    before = client.get(PAGE).content.decode()
    with committed():
        client.post(JOIN, {"nickname": "Ada"})

    after = client.get(PAGE).content.decode()

    assert "Join the leaderboard" in before and "Leave the leaderboard" not in before
    assert "Other learners see you as <strong>Ada</strong>" in after
    assert "Change nickname" in after and "Leave the leaderboard" in after


def test_refresh_learner_follows_attempts_moved_to_another_learner(app_redis, quiz, take, player):
    source, target = player("Source"), player("Target")
    take(source, quiz, right=3)
    take(target, quiz, right=1)

    source_id = str(source.pk)
    Attempt.objects.filter(learner=source).update(learner=target)
    source.delete()
    leaderboard.refresh_learner(source_id)
    leaderboard.refresh_learner(str(target.pk))

    assert app_redis.zscore(leaderboard.ALL_KEY, source_id) is None
    assert score(app_redis, "all", target) == 3 and score(app_redis, "week", target) == 3


# The database is the truth


def test_a_flush_and_a_rebuild_give_identical_boards(app_redis, quiz, take, player, capsys):
    other_quiz = QuizFactory()
    QuestionFactory(quiz=other_quiz)
    ada, bob, cy = player("Ada"), player("Bob"), player("Cy")
    take(ada, quiz, right=1, finished_at=timezone.now() - timedelta(days=8))
    take(ada, quiz, right=3)
    take(ada, quiz, right=2)
    take(ada, other_quiz, right=1)
    take(bob, quiz, right=2, finished_at=timezone.now() - timedelta(days=9))
    take(bob, quiz, right=1)
    take(cy, quiz, right=1)
    take(LearnerFactory(), quiz, right=3)  # not on the board
    before = {board: scores(app_redis, board) for board in leaderboard.BOARDS}

    app_redis.flushdb()
    call_command("rebuild_leaderboard")

    assert {board: scores(app_redis, board) for board in leaderboard.BOARDS} == before
    assert before["all"] == [(str(cy.pk).encode(), 1.0), (str(bob.pk).encode(), 2.0),
                             (str(ada.pk).encode(), 4.0)]  # fmt: skip
    assert "all-time board (3 learners)" in capsys.readouterr().out


def test_the_page_rebuilds_boards_lost_in_a_flush(client, app_redis, quiz, take, player):
    take(player("Ada"), quiz, right=2)
    app_redis.flushdb()

    response = client.get(PAGE)

    assert [(e.nickname, e.points) for e in response.context["standings"].top["all"]] == [
        ("Ada", 2)
    ]
    assert app_redis.exists(leaderboard.BUILT_KEY)


def test_a_rebuild_swaps_in_whole_boards_and_leaves_no_temporary_key(app_redis, player):
    player("Ada")
    app_redis.zadd(leaderboard.ALL_KEY, {"someone-who-left": 5})

    leaderboard.rebuild()

    assert [m for m, _ in scores(app_redis, "all")] != [b"someone-who-left"]
    assert len(scores(app_redis, "all")) == 1
    assert not list(app_redis.scan_iter(match="cachelab:board:*tmp*"))


def test_a_learner_who_joined_unseen_by_redis_is_added_when_they_look(client, app_redis):
    learner = me(client)  # the visit builds the (empty) boards
    Learner.objects.filter(pk=learner.pk).update(nickname="Ada")  # as if Redis missed it

    response = client.get(PAGE)

    assert response.context["boards"][1]["mine"] == leaderboard.Standing(rank=1, points=0)
    assert score(app_redis, "all", learner) == 0


def test_a_learner_who_left_unseen_by_redis_is_dropped_from_the_board(client, app_redis, player):
    ada = player("Ada")
    leaderboard.rebuild()
    Learner.objects.filter(pk=ada.pk).update(nickname=None)  # as if Redis missed it

    response = client.get(PAGE)

    assert response.context["standings"].top["all"] == []
    assert score(app_redis, "all", ada) is None


# Redis away


def test_the_page_says_the_board_is_rebuilding_while_redis_is_away(client, own_app_redis):
    client.get(PAGE)
    own_app_redis.stop()

    response = client.get(PAGE)

    assert response.status_code == 200
    assert "The leaderboard is rebuilding" in response.content.decode()


def test_joining_while_redis_is_away_still_saves_the_nickname(client, own_app_redis, committed):
    learner = me(client)
    own_app_redis.stop()

    with committed():
        response = client.post(JOIN, {"nickname": "Ada"})

    learner.refresh_from_db()
    assert response.status_code == 302 and learner.nickname == "Ada"


def test_the_rebuild_command_says_when_redis_is_away(own_app_redis):
    own_app_redis.stop()

    with pytest.raises(CommandError, match="app Redis is unavailable"):
        call_command("rebuild_leaderboard")


# htmx, methods, CSRF


def test_htmx_refresh_returns_only_the_boards(client, player):
    response = client.get(PAGE, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="boards"') and "<html" not in html
    assert response["Vary"].count("HX-Request") == 1


def test_htmx_join_returns_the_panel_with_you_on_the_board(client, committed):
    me(client)

    with committed():
        response = client.post(JOIN, {"nickname": "Ada"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="leaderboard-panel"') and "<html" not in html
    assert "You are on the leaderboard as Ada." in html and "<td>Ada" in html


def test_htmx_refusal_returns_the_panel_with_the_message(client):
    response = client.post(JOIN, {"nickname": "no"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.content.decode()


@pytest.mark.parametrize(("method", "url"), [("post", PAGE), ("get", JOIN), ("get", RENAME),
                                             ("get", LEAVE), ("put", JOIN)])  # fmt: skip
def test_wrong_methods_are_refused(client, method, url):
    assert getattr(client, method)(url).status_code == 405


def test_posts_need_the_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    browser.get(PAGE)

    response = browser.post(JOIN, {"nickname": "Ada"})

    assert response.status_code == 403
    assert not Learner.objects.filter(nickname="Ada").exists()


def test_a_regrade_moves_the_boards_with_the_new_grades(app_redis, quiz, take, player, committed):
    from quizzes.statistics import regrade

    ada = player("Ada")
    take(ada, quiz, right=1)
    assert score(app_redis, "all", ada) == 1
    # The instructor finds the key was wrong: the second question's first choice
    # (the one Ada picked) is right, not the choice marked.
    second = quiz.questions.order_by("order")[1]
    picked = second.choices.filter(correct=False).first()
    second.choices.update(correct=False)
    second.choices.filter(pk=picked.pk).update(correct=True)

    with committed():
        regrade(quiz, apply=True)

    assert score(app_redis, "all", ada) == 2
    assert score(app_redis, "week", ada) == 2


def test_staff_can_take_an_offensive_nickname_off_the_boards(
    client, app_redis, quiz, take, player, committed
):
    from tests.factories import UserFactory

    rude = player("Rude Name")
    take(rude, quiz, right=2)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    with committed():
        response = client.post(
            "/admin/learn/learner/",
            {"action": "take_off_leaderboard", "_selected_action": [str(rude.pk)]},
        )

    assert response.status_code == 302
    rude.refresh_from_db()
    assert rude.nickname is None
    assert score(app_redis, "all", rude) is None and score(app_redis, "week", rude) is None
    assert Attempt.objects.filter(learner=rude).count() == 1  # their history stays
