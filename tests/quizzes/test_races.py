"""Requests racing each other award an attempt's points once (issue #16, finding 5).

These run real requests in threads, each with its own database connection, on
whichever database the run uses (SQLite, or PostgreSQL through DATABASE_URL),
so the database's own locking decides, as it does under gunicorn.
"""

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from learn.models import Learner
from quizzes import leaderboard
from quizzes.models import Attempt
from tests.factories import QuestionFactory, QuizFactory, answered_attempt, learner_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

RACERS = 4


@pytest.fixture(autouse=True)
def locking_as_in_production(tmp_path):
    """On SQLite, race on a database file, as the site does; yields how a thread
    opens its own connection to it (None on PostgreSQL, which needs nothing).

    pytest-django's SQLite test database lives in memory, shared between
    connections through SQLite's shared cache, where a second writer fails at
    once ("database table is locked") instead of waiting for the lock as it
    does on a file. The tests copy it to a file and talk to that through new
    connections (same options: WAL, busy timeout, BEGIN IMMEDIATE), leaving the
    in-memory connection, which other threads (a live server) may share, as it was.
    """
    if connection.vendor != "sqlite":
        yield None
        return
    path = tmp_path / "race.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(path) as copy:
        connection.connection.backup(copy)
    copy.close()
    in_memory = connections[DEFAULT_DB_ALIAS]

    def open_file():
        return in_memory.__class__({**in_memory.settings_dict, "NAME": str(path)})

    connections[DEFAULT_DB_ALIAS] = open_file()
    try:
        yield open_file
    finally:
        connections[DEFAULT_DB_ALIAS].close()
        connections[DEFAULT_DB_ALIAS] = in_memory


@pytest.fixture
def quiz():
    quiz = QuizFactory(time_limit_minutes=10)
    for order in range(3):
        QuestionFactory(quiz=quiz, order=order)
    return quiz


@pytest.fixture
def learner_client() -> Client:
    """A browser session whose learner is on the leaderboard."""
    client = Client()
    leaderboard.join(learner_session(client), "Racer")
    return client


def expired_attempt(client: Client, quiz, right: int) -> Attempt:
    """An open attempt with `right` right answers whose time ran out a moment ago."""
    learner = Learner.objects.get(pk=client.session["learner_id"])
    attempt = answered_attempt(learner.pk, quiz, right)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    return attempt


def race(client: Client, method: str, url: str, open_connection) -> list[int]:
    """Send the same request from RACERS threads at once; their status codes."""
    barrier = threading.Barrier(RACERS)

    def one(_: int) -> int:
        if open_connection is not None:
            connections[DEFAULT_DB_ALIAS] = open_connection()
        racer = Client()
        racer.cookies = client.cookies
        try:
            barrier.wait(timeout=10)
            return getattr(racer, method)(url).status_code
        finally:
            connections.close_all()  # this thread's own connection

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def points(app_redis, client: Client) -> tuple[float | None, float | None]:
    member = client.session["learner_id"]
    return (
        app_redis.zscore(leaderboard.ALL_KEY, member),
        app_redis.zscore(leaderboard.board_key("week"), member),
    )


def test_simultaneous_results_after_the_deadline_award_the_attempt_once(
    app_redis, quiz, learner_client, locking_as_in_production
):
    attempt = expired_attempt(learner_client, quiz, right=2)
    url = reverse("quizzes:results", args=[quiz.slug, attempt.pk])

    statuses = race(learner_client, "get", url, locking_as_in_production)

    attempt.refresh_from_db()
    assert statuses == [200] * RACERS
    assert attempt.is_finished and attempt.awarded_at is not None
    assert attempt.finished_at == attempt.deadline
    assert points(app_redis, learner_client) == (2, 2)


def test_simultaneous_starts_over_an_expired_attempt_award_it_once(
    app_redis, quiz, learner_client, locking_as_in_production
):
    expired = expired_attempt(learner_client, quiz, right=3)

    start = reverse("quizzes:start", args=[quiz.slug])
    statuses = race(learner_client, "post", start, locking_as_in_production)

    expired.refresh_from_db()
    assert statuses == [302] * RACERS
    assert expired.is_finished and expired.awarded_at is not None
    # Every racer resumed the one new attempt.
    assert Attempt.objects.in_progress().count() == 1
    assert points(app_redis, learner_client) == (3, 3)


def test_an_attempt_awarded_twice_in_a_row_counts_once(app_redis, quiz, learner_client):
    attempt = expired_attempt(learner_client, quiz, right=2)
    learner_client.get(reverse("quizzes:results", args=[quiz.slug, attempt.pk]))
    attempt.refresh_from_db()

    again = leaderboard.award(attempt)

    assert again == 0
    assert points(app_redis, learner_client) == (2, 2)
