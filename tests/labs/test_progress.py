"""Completed labs count in mastery and show on /progress/."""

import pytest
from django.urls import reverse

from journey.progress import TopicMastery, learner_progress
from tests.labs.test_flow import OTHER_ROUTES

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"read": True}, 25),
        ({"labs_done": 1}, 10),
        ({"labs_done": 2, "read": True, "examples_run": 2, "best_score": 100}, 100),
        ({"labs_done": 2, "best_score": 50}, 40),
    ],
)
def test_labs_weigh_a_fifth_of_a_topic_with_labs(fields, expected):
    mastery = TopicMastery(topic=None, examples_total=2, has_quiz=True, labs_total=2, **fields)

    assert mastery.mastery == expected


def test_a_completed_lab_counts_in_its_topics_mastery(learner, client):
    learner("session-store").run_all(*OTHER_ROUTES["session-store"])
    learner("leaderboard").run_all("ZADD board 120 ada 95 bob 140 cy")
    learner_id = client.session["learner_id"]

    row = learner_progress(learner_id).for_topic("use-cases")

    assert (row.labs_done, row.labs_total) == (1, 6)
    assert row.mastery == round(100 * 20 * (1 / 6) / (25 + 20))  # no examples, no quiz here


def test_the_progress_page_lists_the_labs_and_their_status(learner, client):
    learner("session-store").run_all(*OTHER_ROUTES["session-store"])
    learner("leaderboard").run_all("ZADD board 120 ada 95 bob 140 cy")

    page = client.get(reverse("journey:progress")).content.decode()

    assert "1 of 10 labs completed." in page
    assert "Keep web sessions in Redis</a></th>" in page and "✓ Completed" in page
    assert "At step 2" in page and "not started" in page
    assert "completing its labs (20%)" in page


def test_the_progress_page_still_costs_a_handful_of_queries(
    learner, client, django_assert_max_num_queries
):
    learner("session-store").run("PING")
    client.get(reverse("journey:progress"))

    with django_assert_max_num_queries(9):
        client.get(reverse("journey:progress"))
