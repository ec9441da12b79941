import pytest
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def test_it_reports_every_dependency_up(client):
    response = client.get(reverse("learn:healthz"))

    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "redis": "ok",
        "sandbox_redis": "ok",
    }


def test_it_names_what_is_down(client, settings):
    settings.SANDBOX_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get(reverse("learn:healthz"))

    assert response.status_code == 503
    assert response.json()["down"] == ["sandbox_redis"]


def test_it_creates_no_session(client, app_redis):
    client.get(reverse("learn:healthz"))

    assert not list(app_redis.scan_iter(match="cachelab:session:*"))


def test_it_rejects_post(client):
    assert client.post(reverse("learn:healthz")).status_code == 405
