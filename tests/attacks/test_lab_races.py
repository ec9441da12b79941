"""Lab requests racing each other and the database's locks (real threads, real locks)."""

import sqlite3
import threading
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.test import Client

from labs import services
from labs.models import Lab, LabProgress
from tests.attacks.test_labs import lab_run
from tests.labs.conftest import shipped_labs  # noqa: F401 (a fixture)

# Autouse: every test here races on a database file, as the site does.
from tests.quizzes.test_races import locking_as_in_production  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def lock_is_free(open_file, learner_id: str) -> bool:
    """Whether another client could write the learner's lab progress right now,
    without waiting (SQLite: the database's write lock; PostgreSQL: the row's)."""
    if open_file is not None:
        raw = sqlite3.connect(open_file().settings_dict["NAME"], timeout=0)
        try:
            raw.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            raw.close()
    try:
        with transaction.atomic():
            LabProgress.objects.select_for_update(nowait=True).filter(learner_id=learner_id).first()
        return True
    except DatabaseError:
        return False


def test_a_blocking_lab_command_holds_no_database_lock_while_it_waits(
    shipped_labs,  # noqa: F811
    sandbox_redis,
    locking_as_in_production,  # noqa: F811
):
    # BLPOP … 2 in a lab held the progress row's lock for its whole wait; on
    # SQLite that is the database's one write lock, so another learner marking
    # a topic read waited 1.94 s behind it.
    client = Client()
    lab_run(client, "SET stock:apple 5")
    learner_id = client.session["learner_id"]
    jobs = services.namespace(learner_id, Lab.objects.get(slug="atomic-order")).key(b"jobs")
    replies = []

    def blocked() -> None:
        if locking_as_in_production is not None:
            connections[DEFAULT_DB_ALIAS] = locking_as_in_production()
        try:
            replies.append(lab_run(client, "BLPOP jobs 2")["reply"])
        finally:
            connections.close_all()  # this thread's own connection

    waiter = threading.Thread(target=blocked)
    waiter.start()
    deadline = time.monotonic() + 5
    while not sandbox_redis.info("clients")["blocked_clients"] and time.monotonic() < deadline:
        time.sleep(0.01)  # a poll interval
    assert sandbox_redis.info("clients")["blocked_clients"] == 1, "the BLPOP never blocked"

    free = lock_is_free(locking_as_in_production, learner_id)
    sandbox_redis.lpush(jobs, "job-1")  # let the waiter go
    waiter.join(timeout=10)

    assert free
    assert replies and "job-1" in replies[0]
    assert sandbox_redis.llen(jobs) == 0
