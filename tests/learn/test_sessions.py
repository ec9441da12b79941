"""Learner sessions live in the app Redis, with the database as the durable copy."""

import pytest
from django.conf import settings
from django.urls import reverse

from learn.models import TopicProgress

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def session_keys(app_redis) -> list[bytes]:
    return list(app_redis.scan_iter(match="cachelab:session:*"))


def test_the_first_visit_sets_a_session_cookie_and_a_redis_key_with_a_ttl(client, app_redis):
    response = client.get(reverse("learn:home"))

    cookie = response.cookies[settings.SESSION_COOKIE_NAME].value
    keys = session_keys(app_redis)
    assert len(keys) == 1 and keys[0].decode().endswith(cookie)
    assert 0 < app_redis.ttl(keys[0]) <= settings.SESSION_COOKIE_AGE


def test_the_session_survives_a_redis_flush(client, app_redis, topic):
    client.post(reverse("learn:mark_read", args=[topic.slug]))
    learner_id = client.session["learner_id"]

    app_redis.flushdb()
    response = client.get(reverse("learn:home"))

    assert response.context["read_count"] == 1
    assert client.session["learner_id"] == learner_id
    assert TopicProgress.objects.filter(learner_id=learner_id).count() == 1


def test_a_returning_learner_keeps_their_id(client):
    client.get(reverse("learn:home"))
    first = client.session["learner_id"]

    client.get(reverse("learn:home"))

    assert client.session["learner_id"] == first


def test_two_visitors_get_different_learners(client):
    from django.test import Client

    client.get(reverse("learn:home"))
    other = Client()
    other.get(reverse("learn:home"))

    assert client.session["learner_id"] != other.session["learner_id"]
