"""Repeat views of the hot paths cost no (or few) database queries."""

import pytest
from django.urls import reverse

from learn import topic_cache
from quizzes.models import Attempt

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def test_a_repeat_home_view_makes_no_query(client, topic, django_assert_max_num_queries):
    client.get(reverse("learn:home"))

    with django_assert_max_num_queries(0):
        assert client.get(reverse("learn:home")).status_code == 200


def test_a_repeat_topic_view_makes_no_query(client, topic, django_assert_max_num_queries):
    client.get(topic.get_absolute_url())

    with django_assert_max_num_queries(0):
        assert client.get(topic.get_absolute_url()).status_code == 200


def test_a_sandbox_command_makes_no_query(client, django_assert_max_num_queries):
    client.post(reverse("learn:sandbox_run"), {"command": "PING"})  # the learner's first

    with django_assert_max_num_queries(0):
        client.post(reverse("learn:sandbox_run"), {"command": "INCR n"})


def test_a_quiz_question_page_makes_few_queries(
    client, quiz_factory, question_factory, django_assert_max_num_queries
):
    quiz = quiz_factory()
    question_factory(quiz=quiz)
    client.post(reverse("quizzes:start", args=[quiz.slug]))
    attempt = Attempt.objects.get()
    url = reverse("quizzes:question", args=[quiz.slug, attempt.pk, 1])

    with django_assert_max_num_queries(8):
        assert client.get(url).status_code == 200


def test_editing_a_topic_shows_at_once(client, topic):
    client.get(topic.get_absolute_url())
    topic.body = "## Fresh\n\nJust edited."
    topic.save()

    html = client.get(topic.get_absolute_url()).content.decode()

    assert "Just edited." in html


def test_topic_pages_work_from_the_database_when_redis_is_away(client, topic, settings):
    settings.CACHES = {
        alias: {**config, "LOCATION": "redis://127.0.0.1:1/0"}
        for alias, config in settings.CACHES.items()
    }

    response = client.get(topic.get_absolute_url())

    assert response.status_code == 200
    assert topic.title in response.content.decode()


def test_shared_pages_carry_each_learners_own_csrf_token(topic):
    from django.test import Client

    tokens = []
    for _ in range(2):
        learner = Client(enforce_csrf_checks=True)
        html = learner.get(topic.get_absolute_url()).content.decode()
        token = html.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        response = learner.post(
            reverse("learn:mark_read", args=[topic.slug]), {"csrfmiddlewaretoken": token}
        )
        assert response.status_code == 302
        tokens.append(learner.cookies["csrftoken"].value)

    assert tokens[0] != tokens[1]


def test_the_shared_home_page_shows_each_learners_own_progress(client, topic_factory):
    from django.test import Client

    first = topic_factory(title="First")
    topic_factory(title="Second")
    client.post(reverse("learn:mark_read", args=[first.slug]))
    other = Client()

    mine = client.get(reverse("learn:home")).content.decode()
    theirs = other.get(reverse("learn:home")).content.decode()

    assert "You have read <strong>1</strong>" in mine
    assert "You have read <strong>0</strong>" in theirs


def app_commands(app_redis) -> int:
    # INFO counts itself once per call: the caller subtracts the two it makes.
    return app_redis.info("stats")["total_commands_processed"]


@pytest.mark.parametrize("page", ["home", "topic"])
def test_a_returning_learners_repeat_view_reads_only_their_session_from_redis(
    client, topic, app_redis, page, monkeypatch
):
    monkeypatch.setattr(topic_cache, "VERSION_MEMO_SECONDS", 60.0)  # a slow machine's second
    client.post(reverse("learn:mark_read", args=[topic.slug]))  # now a learner with a session
    url = reverse("learn:home") if page == "home" else topic.get_absolute_url()
    client.get(url)
    before = app_commands(app_redis)

    assert client.get(url).status_code == 200

    # The session's GET; the page from this process's memo, the counts in memory.
    assert app_commands(app_redis) - before - 1 <= 1


def test_a_first_visit_to_a_cached_page_makes_no_redis_round_trip(
    client, topic, app_redis, monkeypatch
):
    from django.test import Client

    monkeypatch.setattr(topic_cache, "VERSION_MEMO_SECONDS", 60.0)
    Client().get(topic.get_absolute_url())
    before = app_commands(app_redis)

    assert client.get(topic.get_absolute_url()).status_code == 200

    assert app_commands(app_redis) - before - 1 == 0
    assert not list(app_redis.scan_iter(match="cachelab:session:*"))
