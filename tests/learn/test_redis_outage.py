"""Acceptance 4: the app Redis going away degrades the site, loses nothing, recovers."""

import pytest
from django.urls import reverse

from learn.models import TopicProgress

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def test_pages_degrade_and_recover_without_losing_progress(client, own_app_redis, topic):
    client.post(reverse("learn:mark_read", args=[topic.slug]))
    learner_id = client.session["learner_id"]

    own_app_redis.stop()
    down_page = client.get(topic.get_absolute_url())
    down_health = client.get(reverse("learn:healthz"))

    own_app_redis.restart()
    up_health = client.get(reverse("learn:healthz"))
    home = client.get(reverse("learn:home"))

    assert down_page.status_code == 200
    assert down_health.status_code == 503 and down_health.json()["down"] == ["redis"]
    assert up_health.status_code == 200
    assert home.context["read_count"] == 1
    assert client.session["learner_id"] == learner_id
    assert TopicProgress.objects.filter(learner_id=learner_id, read_at__isnull=False).exists()


def test_a_learner_can_still_record_progress_while_redis_is_down(client, own_app_redis, topic):
    client.get(reverse("learn:home"))
    own_app_redis.stop()

    response = client.post(reverse("learn:mark_read", args=[topic.slug]))

    assert response.status_code == 302
    assert TopicProgress.objects.filter(topic=topic, read_at__isnull=False).count() == 1


@pytest.mark.parametrize(
    ("url", "data", "status"),
    [
        # A transaction's state lives in the app Redis: without it, say so.
        ("learn:sandbox_run", {"command": "MULTI"}, 503),
        ("learn:sandbox_run", {"command": "WATCH k"}, 503),
        # The limits live there too: a learner's command waits rather than run unbounded.
        ("learn:sandbox_run", {"command": "SET k v"}, 503),
        # Deleting needs no limits: the keys go, the bookkeeping catches up later.
        ("learn:sandbox_reset", {}, 200),
        ("learn:sandbox_clear", {}, 204),
    ],
)
def test_the_sandbox_degrades_without_a_500_while_the_app_redis_is_down(
    client, own_app_redis, url, data, status
):
    client.get(reverse("learn:sandbox"))
    own_app_redis.stop()

    response = client.post(reverse(url), data, HTTP_ACCEPT="application/json")

    assert response.status_code == status
    if status == 503:
        body = response.json()
        assert "temporarily unavailable" in (body.get("reply") or body.get("message"))


def test_the_progress_pages_work_while_the_app_redis_is_down(client, own_app_redis, topic):
    client.post(reverse("learn:mark_read", args=[topic.slug]))
    own_app_redis.stop()

    for name in (
        "journey:progress",
        "journey:progress_summary",
        "journey:learner_nav",
        "review:page",
    ):
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("leaderboard:page")).status_code == 200


def test_command_questions_are_still_graded_while_the_app_redis_is_down(
    client, own_app_redis, question_factory, check_factory
):
    """Grading runs one answer in a scratch namespace, deleted at once: no quota to keep."""
    from quizzes.models import Attempt, Response

    question = question_factory(kind="command", example_answer="SET greeting hello")
    check_factory(question=question, kind="value", key="greeting", value="hello")
    client.post(reverse("quizzes:start", args=[question.quiz.slug]))
    attempt = Attempt.objects.get()
    own_app_redis.stop()

    response = client.post(
        reverse("quizzes:answer", args=[question.quiz.slug, attempt.pk, 1]),
        {"command": "SET greeting hello"},
    )

    assert response.status_code == 302
    assert Response.objects.get().correct is True
