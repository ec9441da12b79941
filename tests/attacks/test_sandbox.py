"""Attacks on the free sandbox's bounds replayed: each failed before its fix."""

import dataclasses

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

JSON = {"Accept": "application/json"}


def ping(client: Client) -> str:
    response = client.post(reverse("learn:sandbox_run"), {"command": "PING"}, headers=JSON)
    return response.json()["reply"]


def test_behind_a_proxy_new_sandboxes_are_counted_per_client_not_per_proxy(
    settings, sandbox, app_redis
):
    # Every request reaches the site from the load balancer (127.0.0.1 here):
    # counting REMOTE_ADDR made the whole site one "address" with 3 (50 in
    # production) new sandboxes an hour, then refused every newcomer.
    settings.BEHIND_PROXY = True
    sandbox.limits = dataclasses.replace(sandbox.limits, new_per_origin=3)
    crowd = [Client(headers={"X-Forwarded-For": "203.0.113.9"}) for _ in range(4)]
    newcomer = Client(headers={"X-Forwarded-For": "198.51.100.7"})

    crowded = [ping(client) for client in crowd]
    fresh = ping(newcomer)

    assert crowded[:3] == ["PONG"] * 3
    assert "new sandboxes this hour" in crowded[3]  # the one address is still bounded
    assert fresh == "PONG"
    assert app_redis.zcard("cachelab:sbx:active") == 4
