"""Attacks on the guided labs (/labs/…) replayed: each failed before its fix."""

import dataclasses

import pytest
from django.test import Client
from django.urls import reverse

from labs.models import LabProgress
from tests.labs.conftest import shipped_labs  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

JSON = {"Accept": "application/json"}


def lab_run(client: Client, command: str, slug: str = "atomic-order") -> dict:
    response = client.post(reverse("labs:run", args=[slug]), {"command": command}, headers=JSON)
    return response.json()


def test_one_address_starts_only_so_many_new_lab_namespaces_an_hour(
    shipped_labs,  # noqa: F811
    sandbox,
    sandbox_redis,
):
    # Each cookieless POST is a new learner with a new lab namespace (up to
    # 100 keys of 64 KiB each): 60 from one address were all served, where
    # the free sandbox stops at 50 an hour.
    sandbox.limits = dataclasses.replace(sandbox.limits, new_per_origin=3)
    strangers = [Client() for _ in range(5)]

    replies = [lab_run(stranger, "SET stock:apple 5")["reply"] for stranger in strangers]
    elsewhere = lab_run(Client(REMOTE_ADDR="192.0.2.7"), "SET stock:apple 5")["reply"]

    assert replies[:3] == ["OK"] * 3
    assert all("new sandboxes this hour" in r for r in replies[3:])
    assert elsewhere == "OK"
    written = [k for k in sandbox_redis.scan_iter(match="sbx:lab*:stock:apple", count=1000)]
    assert len(written) == 4  # the refused learners wrote nothing
    assert LabProgress.objects.count() == 4  # a refused learner starts no lab either


def test_one_learner_counts_once_however_many_labs_they_open(
    shipped_labs,  # noqa: F811
    sandbox,
):
    # Counting each lab namespace would stop a class behind one address after
    # a few learners had opened every lab.
    sandbox.limits = dataclasses.replace(sandbox.limits, new_per_origin=2)
    ada, bob, cy = Client(), Client(), Client()

    replies = [lab_run(ada, "SET stock:apple 5", slug) for slug in ("atomic-order", "leaderboard")]
    free = ada.post(reverse("learn:sandbox_run"), {"command": "PING"}, headers=JSON).json()
    second = lab_run(bob, "PING", "job-queue")
    third = lab_run(cy, "PING", "job-queue")

    assert [r["reply"] for r in replies] == ["OK", "OK"] and free["reply"] == "PONG"
    assert second["reply"] == "PONG"
    assert "new sandboxes this hour" in third["reply"]


def test_a_value_nested_too_deep_for_a_json_check_is_not_json_not_a_500(
    shipped_labs,  # noqa: F811
    client,
):
    # 5,000 nested brackets raised RecursionError inside the json check: a 500.
    deep = "[" * 5000 + "]" * 5000
    response = client.post(
        reverse("labs:run", args=["lazy-loading-by-hand"]),
        {"command": f"SET product:42 {deep}"},
        headers=JSON,
    )
    page = client.get(reverse("labs:detail", args=["lazy-loading-by-hand"]))

    assert response.status_code == 200
    body = response.json()
    assert body["reply"] == "OK"
    step = body["lab"]["steps"][0]
    assert not step["passed"]
    assert any("which is not JSON" in c["message"] for c in step["checks"])
    assert page.status_code == 200
