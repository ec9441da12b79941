"""Redis command questions: every correct form counts, wrong ones are explained."""

import pytest
from django.urls import reverse

from learn.sandbox.namespace import Namespace
from quizzes.grading import grade_question_command
from quizzes.models import Attempt, Response

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def session_question(question_factory, check_factory):
    """Store session:42 = alice for 30 minutes."""
    question = question_factory(kind="command", example_answer="SET session:42 alice EX 1800")
    check_factory(question=question, kind="value", key="session:42", value="alice")
    check_factory(question=question, kind="ttl", key="session:42", minimum=1790, maximum=1800)
    return question


@pytest.fixture
def leaderboard_question(question_factory, check_factory):
    """Give ann 15 points in total on the board (she has 10)."""
    question = question_factory(kind="command", setup="ZADD board 10 ann 20 bob")
    check_factory(question=question, kind="zscore", key="board", member="ann", value="15")
    check_factory(question=question, kind="exists", key="board", key_type="zset")
    return question


@pytest.fixture
def queue_question(question_factory, check_factory):
    """Put job:1 on the jobs queue (a list)."""
    question = question_factory(kind="command")
    check_factory(question=question, kind="exists", key="jobs", key_type="list")
    check_factory(question=question, kind="members", key="jobs", value="job:1")
    return question


SESSION_RIGHT = [
    "SET session:42 alice EX 1800",
    "SETEX session:42 1800 alice",
    "SET session:42 alice PX 1800000",
    "set session:42 alice ex 1800",
    'SET session:42 "alice" EX 1800 NX',
    "PSETEX session:42 1800000 alice",
    "SET 'session:42' alice EX 1799",
]
SESSION_WRONG = [
    ("SET session:42 alice", "no expiry"),
    ("SET session:42 bob EX 1800", "holds 'bob'"),
    ("SET session:42 alice EX 60", "a TTL of"),
    ("SETEX session:42 alice 1800", "does not exist"),
    ("FLUSHALL", "does not exist"),
]
BOARD_RIGHT = [
    "ZINCRBY board 5 ann",
    "ZADD board 15 ann",
    "ZADD board INCR 5 ann",
    "ZADD board XX 15 ann",
    "zincrby board 5.0 ann",
]
BOARD_WRONG = [("ZADD board 5 ann", "scores 5"), ("ZINCRBY board 5 bob", "scores 10")]
QUEUE_RIGHT = [
    "LPUSH jobs job:1",
    "RPUSH jobs job:1",
    "LPUSH jobs job:0 job:1",
    "RPUSH jobs job:1 job:2",
    "RPUSH jobs job:0 job:1 job:9",
]
QUEUE_WRONG = [("SADD jobs job:1", "is a set"), ("SET jobs job:1", "is a string")]


@pytest.mark.parametrize("line", SESSION_RIGHT)
def test_every_correct_form_of_the_session_answer_counts(session_question, line):
    assert grade_question_command(session_question, line).correct


@pytest.mark.parametrize(("line", "why"), SESSION_WRONG)
def test_wrong_session_answers_are_explained(session_question, line, why):
    result = grade_question_command(session_question, line)

    assert not result.correct
    assert why in result.report


@pytest.mark.parametrize("line", BOARD_RIGHT)
def test_every_correct_form_of_the_leaderboard_answer_counts(leaderboard_question, line):
    assert grade_question_command(leaderboard_question, line).correct


@pytest.mark.parametrize(("line", "why"), BOARD_WRONG)
def test_wrong_leaderboard_answers_are_explained(leaderboard_question, line, why):
    result = grade_question_command(leaderboard_question, line)

    assert not result.correct
    assert why in result.report


@pytest.mark.parametrize("line", QUEUE_RIGHT)
def test_every_correct_form_of_the_queue_answer_counts(queue_question, line):
    assert grade_question_command(queue_question, line).correct


@pytest.mark.parametrize(("line", "why"), QUEUE_WRONG)
def test_wrong_queue_answers_are_explained(queue_question, line, why):
    result = grade_question_command(queue_question, line)

    assert not result.correct
    assert why in result.report


def test_a_refused_command_is_wrong_and_says_why(queue_question):
    result = grade_question_command(queue_question, "EVAL \"redis.call('rpush','jobs','job:1')\" 0")

    assert not result.correct
    assert "Scripts are switched off" in result.report


def test_grading_leaves_nothing_behind_and_touches_nothing_else(
    session_question, sandbox, sandbox_redis
):
    alice = Namespace("alice0000000000000000000")
    sandbox.run(alice, "SET session:42 mine")
    sandbox_redis.set("cachelab:outside", "x")
    before = sorted(sandbox_redis.scan_iter())

    grade_question_command(session_question, "SET session:42 alice EX 1800")

    assert sorted(sandbox_redis.scan_iter()) == before
    assert sandbox.run(alice, "GET session:42").reply == '"mine"'


def test_the_sandbox_adversarial_cases_stay_inside_the_scratch_namespace(
    queue_question, sandbox_redis
):
    sandbox_redis.set("cachelab:outside", "x")
    attacks = [
        "RENAME jobs sbx:other:jobs",
        "SORT jobs BY nosort GET *",
        "SELECT 1",
        "MIGRATE 127.0.0.1 6379 jobs 0 1000",
        "CONFIG SET maxmemory 1",
        "KEYS *",
        "FLUSHALL",
    ]

    for line in attacks:
        assert not grade_question_command(queue_question, line).correct

    assert sorted(sandbox_redis.scan_iter()) == [b"cachelab:outside"]


def test_a_learner_answers_a_command_question_through_the_page(client, session_question):
    quiz = session_question.quiz
    client.post(reverse("quizzes:start", args=[quiz.slug]))
    attempt = Attempt.objects.get()

    response = client.post(
        reverse("quizzes:answer", args=[quiz.slug, attempt.pk, 1]),
        {"command": "SETEX session:42 1800 alice"},
        follow=True,
    )

    assert Response.objects.get().correct is True
    assert "✓ session:42 holds &#x27;alice&#x27;" in response.content.decode()


def test_an_empty_command_is_refused(client, session_question):
    quiz = session_question.quiz
    client.post(reverse("quizzes:start", args=[quiz.slug]))
    attempt = Attempt.objects.get()

    response = client.post(
        reverse("quizzes:answer", args=[quiz.slug, attempt.pk, 1]), {"command": "  "}
    )

    assert response.status_code == 400
    assert not Response.objects.exists()


@pytest.mark.parametrize("htmx", [False, True])
def test_a_command_answer_while_the_sandbox_is_down_is_not_lost_or_marked(
    client, session_question, settings, htmx
):
    from learn.redis_clients import reset_clients

    quiz = session_question.quiz
    client.post(reverse("quizzes:start", args=[quiz.slug]))
    attempt = Attempt.objects.get()
    settings.SANDBOX_REDIS_URL = "redis://127.0.0.1:1/0"
    reset_clients()

    response = client.post(
        reverse("quizzes:answer", args=[quiz.slug, attempt.pk, 1]),
        {"command": "SETEX session:42 1800 alice"},
        headers={"HX-Request": "true"} if htmx else {},
    )

    assert response.status_code == 503
    assert "temporarily unavailable" in response.content.decode()
    assert not Response.objects.exists()
    assert not attempt.slots.get().question.review_items.exists()
