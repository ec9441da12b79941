"""Acceptance 4: the app Redis going away degrades the site, loses nothing, recovers."""

import pytest
from django.urls import reverse

from config.embedded import start_server
from learn.models import TopicProgress
from learn.redis_clients import reset_clients

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def own_app_redis(settings):
    """A server of this test's own, so stopping it cannot disturb other tests."""
    server = start_server()
    settings.REDIS_URL = server.url
    settings.CACHES = {
        alias: {**config, "LOCATION": server.url} for alias, config in settings.CACHES.items()
    }
    reset_clients()
    yield server
    server.stop()


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
