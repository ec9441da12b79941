"""Learner sessions live in the app Redis, with the database as the durable copy.

Reading pages makes none: a session (a row, a Redis key, a cookie) starts
with the first thing a learner does.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from learn import throttle
from learn.models import Throttle, TopicProgress

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def session_keys(app_redis) -> list[bytes]:
    return list(app_redis.scan_iter(match="cachelab:session:*"))


def test_a_thousand_cookieless_page_requests_create_no_session(app_redis, topic):
    pages = [
        reverse("learn:home"),
        topic.get_absolute_url(),
        reverse("journey:progress"),
        reverse("learn:sandbox"),
        reverse("learn:inside"),
        "/no-such-page/",
        reverse("learn:topic", args=["no-such-topic"]),
        reverse("journey:learner_nav"),
    ]
    statuses = set()
    for n in range(1000):
        response = Client().get(pages[n % len(pages)])
        statuses.add(response.status_code)
        assert settings.SESSION_COOKIE_NAME not in response.cookies

    assert statuses == {200, 404}
    assert Session.objects.count() == 0
    assert session_keys(app_redis) == []


def test_the_first_action_starts_a_session_with_a_redis_key_and_a_ttl(client, app_redis, topic):
    client.get(topic.get_absolute_url())
    assert Session.objects.count() == 0

    response = client.post(reverse("learn:mark_read", args=[topic.slug]))

    cookie = response.cookies[settings.SESSION_COOKIE_NAME].value
    keys = session_keys(app_redis)
    assert len(keys) == 1 and keys[0].decode().endswith(cookie)
    assert 0 < app_redis.ttl(keys[0]) <= settings.SESSION_COOKIE_AGE
    learner_id = client.session["learner_id"]
    assert TopicProgress.objects.filter(learner_id=learner_id, topic=topic).exists()


def test_a_refused_action_starts_no_session(client, app_redis):
    response = client.post(
        reverse("learn:sandbox_run"), {"command": ""}, headers={"accept": "application/json"}
    )

    assert response.status_code == 400
    assert Session.objects.count() == 0 and session_keys(app_redis) == []


def test_a_wrong_method_starts_no_session(client, app_redis):
    response = client.post(reverse("learn:home"))

    assert response.status_code == 405
    assert Session.objects.count() == 0 and session_keys(app_redis) == []


def test_the_session_survives_a_redis_flush(client, app_redis, topic):
    client.post(reverse("learn:mark_read", args=[topic.slug]))
    learner_id = client.session["learner_id"]

    app_redis.flushdb()
    response = client.get(reverse("learn:home"))

    assert response.context["read_count"] == 1
    assert client.session["learner_id"] == learner_id
    assert TopicProgress.objects.filter(learner_id=learner_id).count() == 1


def test_a_returning_learner_keeps_their_id(client, topic):
    client.post(reverse("learn:mark_read", args=[topic.slug]))
    first = client.session["learner_id"]

    client.get(reverse("learn:home"))
    client.post(reverse("learn:mark_read", args=[topic.slug]))

    assert client.session["learner_id"] == first
    assert Session.objects.count() == 1


def test_two_visitors_get_different_learners(client, topic):
    other = Client()
    client.post(reverse("learn:mark_read", args=[topic.slug]))
    other.post(reverse("learn:mark_read", args=[topic.slug]))

    assert client.session["learner_id"] != other.session["learner_id"]
    assert TopicProgress.objects.filter(topic=topic).count() == 2


def test_housekeeping_deletes_expired_sessions_and_throttles_only(client, topic):
    client.post(reverse("learn:mark_read", args=[topic.slug]))
    live = Session.objects.get()
    stale = Session.objects.create(
        session_key="x" * 32, session_data="", expire_date=timezone.now() - timedelta(days=1)
    )
    throttle.hit("login:live", 60)
    Throttle.objects.create(
        key="login:old", count=3, expires_at=timezone.now() - timedelta(seconds=1)
    )

    call_command("housekeeping")

    assert set(Session.objects.values_list("pk", flat=True)) == {live.pk}
    assert not Session.objects.filter(pk=stale.pk).exists()
    assert set(Throttle.objects.values_list("key", flat=True)) == {"login:live"}
