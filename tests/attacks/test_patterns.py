"""Attacks on the bench (/patterns/…) replayed: each failed before its fix."""

import pytest
from django.test import Client
from django.urls import reverse

from learn.models import Learner
from patterns.models import Run

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

START = reverse("patterns:start")
JSON = {"Accept": "application/json"}


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000])
def test_deeply_nested_json_is_a_400_not_a_500(client, body):
    # 10 KB of brackets used to raise RecursionError inside json.loads.
    response = client.post(START, body, content_type="application/json", headers=JSON)

    assert response.status_code == 400
    assert response.json()["error"] == "Send the parameters as a JSON object or a form."
    assert Run.objects.count() == 0


def test_one_client_cannot_hold_every_bench_slot_by_changing_learners(client):
    # Dropping the cookie makes a new learner, and "one run per learner" was the
    # only bound: one client started a run per slot and everyone else got 429.
    # (Outside a transaction test the runs never leave on_commit: their slots stay held.)
    params = {"kind": "pattern", "seconds": 30, "db_latency_ms": 500}
    statuses = [
        Client().post(START, params, headers=JSON) for _ in range(3)
    ]  # one address, three "learners"
    other = Client(REMOTE_ADDR="192.0.2.7").post(START, params, headers=JSON)

    assert [r.status_code for r in statuses] == [202, 429, 429]
    assert all("your network already has a run going" in r.json()["error"] for r in statuses[1:])
    assert other.status_code == 202
    assert Run.objects.active().count() == 2
    assert Run.objects.active().values("origin").distinct().count() == 2


def test_refused_starts_leave_no_learner_rows(client, settings):
    # Each refused cookieless start still wrote a Learner row: 100 refusals, +100 rows.
    settings.PATTERNS_MAX_RUNS = 2
    params = {"kind": "pattern", "seconds": 30}
    assert Client().post(START, params, headers=JSON).status_code == 202
    assert Client(REMOTE_ADDR="192.0.2.7").post(START, params, headers=JSON).status_code == 202
    learners = Learner.objects.count()

    same_network = [Client().post(START, params, headers=JSON) for _ in range(3)]
    site_busy = [
        Client(REMOTE_ADDR=f"192.0.2.{n}").post(START, params, headers=JSON) for n in (8, 9)
    ]

    assert {r.status_code for r in same_network + site_busy} == {429}
    assert all("The bench is busy" in r.json()["error"] for r in site_busy)
    assert Learner.objects.count() == learners
