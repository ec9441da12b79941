import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.redis]
PASSWORD = "correct horse battery staple"


def log_in(client: Client, password: str):
    return client.post(reverse("admin:login"), {"username": "ada", "password": password})


def test_repeated_failures_pause_log_in_even_with_the_right_password(app_redis):
    StaffFactory(username="ada")
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        log_in(client, "wrong")

    response = log_in(client, PASSWORD)

    assert response.status_code == 200  # the form again, not a redirect into the admin
    assert "_auth_user_id" not in client.session
    keys = list(app_redis.scan_iter(match="cachelab:login-failures:*"))
    assert len(keys) == 1 and 0 < app_redis.ttl(keys[0]) <= settings.LOGIN_FAILURE_WINDOW


def test_a_success_clears_the_count(app_redis):
    StaffFactory(username="ada")
    client = Client()
    log_in(client, "wrong")

    response = log_in(client, PASSWORD)

    assert response.status_code == 302
    assert not list(app_redis.scan_iter(match="cachelab:login-failures:*"))


def test_the_admin_is_for_staff_only(client, user):
    client.force_login(user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
