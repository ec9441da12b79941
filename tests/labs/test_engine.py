"""The lab namespace and the engine's edges: ids that cannot collide, outages."""

import re

import pytest
from django.urls import reverse

from labs.engine import lab_namespace, scratch_namespace
from labs.models import LabProgress
from learn.sandbox.namespace import namespace_for
from tests.labs.conftest import JSON

SECRET = "s" * 50


def test_a_lab_namespace_is_per_learner_and_lab_and_never_a_free_sandboxs():
    ada = lab_namespace(SECRET, "ada", "leaderboard").name
    names = {
        ada,
        lab_namespace(SECRET, "bob", "leaderboard").name,
        lab_namespace(SECRET, "ada", "job-queue").name,
    }

    assert len(names) == 3 and ada == lab_namespace(SECRET, "ada", "leaderboard").name
    assert all(re.fullmatch(r"lab[0-9a-f]{24}", n) for n in names)
    # Free sandboxes are 24 hex digits; quiz scratch ones start "quiz": no overlap, no ":".
    assert re.fullmatch(r"[0-9a-f]{24}", namespace_for(SECRET, "ada"))
    assert re.fullmatch(r"labtest[0-9a-f]{20}", scratch_namespace().name)


@pytest.mark.django_db
@pytest.mark.redis
def test_lab_commands_wait_while_the_app_redis_is_down_and_nothing_changes(
    learner, client, own_app_redis
):
    lab = learner("session-store")
    lab.run("HSET session:ada user ada")
    own_app_redis.stop()

    response = client.post(
        reverse("labs:run", args=["session-store"]),
        {"command": "HSET session:ada cart 3"},
        headers=JSON,
    )
    page = client.get(reverse("labs:detail", args=["session-store"]))

    assert response.status_code == 503
    assert "temporarily unavailable" in response.json()["reply"]
    assert response.json()["lab"]["current_step"] == 1
    assert page.status_code == 200
    assert LabProgress.objects.get().current_step == 1
