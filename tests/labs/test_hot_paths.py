"""What one lab command costs: database queries and sandbox-server commands."""

import pytest
from django.urls import reverse

from tests.labs.conftest import JSON

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def processed(sandbox_redis) -> int:
    return sandbox_redis.info("stats")["total_commands_processed"]


def test_a_lab_command_costs_a_handful_of_queries(learner, client, django_assert_max_num_queries):
    learner("leaderboard").run("ZADD board 120 ada")
    url = reverse("labs:run", args=["leaderboard"])

    with django_assert_max_num_queries(8):
        client.post(url, {"command": "ZADD board 95 bob"}, headers=JSON)


def test_a_lab_command_checks_the_step_once(learner, client, sandbox_redis):
    lab = learner("leaderboard")
    lab.run("ZADD board 120 ada")
    before = processed(sandbox_redis)

    lab.run("ZADD board 95 bob")

    # The command, the step's TYPE and ZRANGE, and this INFO: checked once, not twice.
    assert processed(sandbox_redis) - before <= 6
