"""Answering a question, the quiz's hot path: few queries, a short write lock, no lost answers."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from quizzes import taking
from quizzes.grading import QuizError
from quizzes.models import Attempt, Response

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def quiz(quiz_factory, question_factory):
    quiz = quiz_factory()
    question_factory(quiz=quiz, order=1, answers=[("Right", True), ("Wrong", False)])
    question_factory(quiz=quiz, order=2, answers=[("Right", True), ("Wrong", False)])
    return quiz


@pytest.fixture
def attempt(client, quiz) -> Attempt:
    client.post(reverse("quizzes:start", args=[quiz.slug]))
    return Attempt.objects.get()


def answer_url(quiz, attempt, position: int = 1) -> str:
    return reverse("quizzes:answer", args=[quiz.slug, attempt.pk, position])


def right(quiz, order: int = 1) -> int:
    return quiz.questions.get(order=order).choices.get(correct=True).pk


def test_an_htmx_answer_makes_few_queries(client, quiz, attempt, django_assert_max_num_queries):
    url, choice = answer_url(quiz, attempt), right(quiz)

    # The attempt (with quiz and topic), the slot, its choices; in the
    # transaction the attempt again, the response and its choice; the progress.
    with django_assert_max_num_queries(9):
        response = client.post(url, {"choice": choice}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "✓ Right." in response.content.decode()
    assert Response.objects.get().correct is True


def test_an_answer_without_javascript_skips_the_card(
    client, quiz, attempt, django_assert_max_num_queries
):
    url, choice = answer_url(quiz, attempt), right(quiz)

    with django_assert_max_num_queries(8):
        response = client.post(url, {"choice": choice})

    assert response.status_code == 302
    assert Response.objects.count() == 1


def test_the_write_lock_covers_only_the_writes(client, quiz, attempt):
    url, choice = answer_url(quiz, attempt), right(quiz)

    with CaptureQueriesContext(connection) as queries:
        client.post(url, {"choice": choice})

    sql = [q["sql"] for q in queries.captured_queries]
    # Tests run inside a transaction, so the answer's own shows as a savepoint.
    begin = next(i for i, s in enumerate(sql) if s.startswith("SAVEPOINT"))
    end = next(i for i, s in enumerate(sql) if s.startswith("RELEASE SAVEPOINT"))
    locked = sql[begin + 1 : end]
    assert len(locked) == 3
    assert locked[0].startswith('SELECT "quizzes_attempt"')
    assert all(s.startswith("INSERT") for s in locked[1:])


def test_the_next_question_page_makes_few_queries(
    client, quiz, attempt, django_assert_max_num_queries
):
    client.post(answer_url(quiz, attempt), {"choice": right(quiz)})
    url = reverse("quizzes:question", args=[quiz.slug, attempt.pk, 2])

    with django_assert_max_num_queries(4):
        response = client.get(url)

    assert response.status_code == 200
    assert "Question 2 of 2" in response.content.decode()


def test_an_answer_stored_while_another_was_checked_counts_once(client, quiz, attempt, monkeypatch):
    # Another tab's answer lands after this one read the question, before its lock.
    seen_unanswered = taking.slot_at(attempt, 1)
    client.post(answer_url(quiz, attempt), {"choice": right(quiz)})
    monkeypatch.setattr(taking, "slot_at", lambda attempt, position: seen_unanswered)

    with pytest.raises(QuizError) as refused:
        taking.submit_answer(attempt, 1, [str(right(quiz))], "")

    assert refused.value.status == 409
    assert Response.objects.count() == 1


def test_an_answer_refused_after_the_attempt_finished_elsewhere(client, quiz, attempt):
    # The view read the attempt open; the finish from another tab is seen under the lock.
    stale = Attempt.objects.select_related("quiz").get()
    client.post(reverse("quizzes:finish", args=[quiz.slug, attempt.pk]))

    with pytest.raises(QuizError) as refused:
        taking.submit_answer(stale, 1, [str(right(quiz))], "")

    assert "finished" in refused.value.message
    assert Response.objects.count() == 0
