"""Attacks on the free sandbox's bounds replayed: each failed before its fix."""

import dataclasses

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from learn.models import Learner
from tests.labs.conftest import shipped_labs  # noqa: F401 (a fixture)

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


@pytest.mark.parametrize(
    ("url", "learners"), [(reverse("learn:sandbox_run"), 0), ("/labs/atomic-order/run", 2)]
)
def test_a_newcomer_refused_a_new_sandbox_gets_no_session_and_leaves_nothing(
    url,
    learners,
    shipped_labs,  # noqa: F811
    sandbox,
    app_redis,
):
    # Past the address's bound each cookieless POST was still a 200: a
    # session row and a 30-day session key, and a transcript in the app
    # Redis, per request (200 requests: +200 sessions).
    sandbox.limits = dataclasses.replace(sandbox.limits, new_per_origin=2)
    responses = [
        Client().post(url, {"command": "SET stock:apple 5"}, headers=JSON) for _ in range(6)
    ]

    assert [r.status_code for r in responses] == [200, 200, 429, 429, 429, 429]
    assert all("new sandboxes this hour" in r.json()["reply"] for r in responses[2:])
    assert all("sessionid" not in r.cookies for r in responses[2:])
    assert Session.objects.count() == 2
    assert Learner.objects.count() == learners  # a lab's progress needs one; PING none
    logs = list(app_redis.scan_iter(match="cachelab:sbx:*log*", count=1000))
    assert len(logs) == 2
