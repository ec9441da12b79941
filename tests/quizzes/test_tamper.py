"""Forged submissions: each gets a clear 4xx, changes no score and stores nothing."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from quizzes.models import Attempt, Response

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiz(quiz_factory, question_factory):
    quiz = quiz_factory()
    question_factory(quiz=quiz, order=1)
    question_factory(quiz=quiz, order=2)
    question_factory(quiz=quiz, order=3, kind="multiple",
                     answers=[("A", True), ("B", True), ("C", False)])  # fmt: skip
    return quiz


@pytest.fixture
def attempt(client, quiz) -> Attempt:
    client.post(reverse("quizzes:start", args=[quiz.slug]))
    return Attempt.objects.get()


def answer(client, quiz, attempt, position, **data):
    url = reverse("quizzes:answer", args=[quiz.slug, attempt.pk, position])
    return client.post(url, data)


def right_choice(quiz, order):
    return quiz.questions.get(order=order).choices.get(correct=True, text="Right")


def assert_unchanged(attempt, responses: int = 0, score=None):
    attempt.refresh_from_db()
    assert Response.objects.count() == responses
    assert attempt.score == score


def test_a_choice_from_another_question_is_refused(client, quiz, attempt):
    response = answer(client, quiz, attempt, 1, choice=right_choice(quiz, 2).pk)

    assert response.status_code == 400
    assert "not part of this question" in response.content.decode()
    assert_unchanged(attempt)


def test_an_answer_to_a_question_not_in_the_attempt_is_refused(client, quiz, attempt):
    response = answer(client, quiz, attempt, 99, choice=right_choice(quiz, 1).pk)

    assert response.status_code == 404
    assert "not part of this attempt" in response.content.decode()
    assert_unchanged(attempt)


def test_a_second_answer_to_the_same_question_is_refused(client, quiz, attempt):
    answer(
        client, quiz, attempt, 1, choice=quiz.questions.get(order=1).choices.get(text="Wrong").pk
    )

    response = answer(client, quiz, attempt, 1, choice=right_choice(quiz, 1).pk)

    assert response.status_code == 409
    assert "already answered" in response.content.decode()
    assert Response.objects.get().correct is False


def test_a_double_submitted_form_counts_once(client, quiz, attempt):
    first = answer(client, quiz, attempt, 1, choice=right_choice(quiz, 1).pk)
    second = answer(client, quiz, attempt, 1, choice=right_choice(quiz, 1).pk)

    assert (first.status_code, second.status_code) == (302, 409)
    assert Response.objects.count() == 1


def test_an_answer_after_the_attempt_closed_is_refused(client, quiz, attempt):
    client.post(reverse("quizzes:finish", args=[quiz.slug, attempt.pk]))

    response = answer(client, quiz, attempt, 1, choice=right_choice(quiz, 1).pk)

    assert response.status_code == 409
    assert "finished" in response.content.decode()
    assert_unchanged(attempt, score=0)


def test_an_answer_after_the_time_ran_out_is_refused_and_the_attempt_closed(client, quiz, attempt):
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(seconds=1))

    response = answer(client, quiz, attempt, 1, choice=right_choice(quiz, 1).pk)

    assert response.status_code == 409
    assert "Time is up" in response.content.decode()
    assert_unchanged(attempt, score=0)


def test_another_learners_attempt_is_refused(quiz, attempt):
    stranger = Client()

    response = answer(stranger, quiz, attempt, 1, choice=right_choice(quiz, 1).pk)
    results = stranger.get(reverse("quizzes:results", args=[quiz.slug, attempt.pk]))
    finish = stranger.post(reverse("quizzes:finish", args=[quiz.slug, attempt.pk]))

    assert (response.status_code, results.status_code, finish.status_code) == (403, 403, 403)
    assert_unchanged(attempt)


def test_a_second_tab_resumes_the_open_attempt(client, quiz, attempt):
    client.post(reverse("quizzes:start", args=[quiz.slug]))

    assert Attempt.objects.count() == 1


def test_an_attempt_under_another_quiz_url_is_404(client, quiz, attempt, quiz_factory):
    other = quiz_factory()

    response = client.post(
        reverse("quizzes:answer", args=[other.slug, attempt.pk, 1]),
        {"choice": right_choice(quiz, 1).pk},
    )

    assert response.status_code == 404
    assert_unchanged(attempt)


def test_two_choices_on_a_single_choice_question_are_refused(client, quiz, attempt):
    question = quiz.questions.get(order=1)
    ids = list(question.choices.values_list("pk", flat=True))

    response = answer(client, quiz, attempt, 1, choice=ids[:2])

    assert response.status_code == 400
    assert "one answer only" in response.content.decode()
    assert_unchanged(attempt)


@pytest.mark.parametrize("value", ["abc", "", "1e9", "-1"])
def test_garbage_choice_values_are_refused(client, quiz, attempt, value):
    response = answer(client, quiz, attempt, 1, choice=value)

    assert response.status_code == 400
    assert_unchanged(attempt)


def test_no_choice_at_all_is_refused_with_a_message(client, quiz, attempt):
    response = answer(client, quiz, attempt, 1)

    assert response.status_code == 400
    assert "Choose an answer first" in response.content.decode()
    assert_unchanged(attempt)


def test_multiple_select_needs_the_exact_set(client, quiz, attempt):
    question = quiz.questions.get(order=3)
    only_a = question.choices.get(text="A").pk

    answer(client, quiz, attempt, 3, choice=[only_a])

    assert Response.objects.get().correct is False


def test_finishing_twice_is_refused(client, quiz, attempt):
    client.post(reverse("quizzes:finish", args=[quiz.slug, attempt.pk]))

    response = client.post(reverse("quizzes:finish", args=[quiz.slug, attempt.pk]))

    assert response.status_code == 409


def test_htmx_refusals_are_fragments_with_the_message(client, quiz, attempt):
    response = client.post(
        reverse("quizzes:answer", args=[quiz.slug, attempt.pk, 1]),
        {"choice": right_choice(quiz, 2).pk},
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert html.strip().startswith('<div class="refusal" role="alert">')


def test_answers_need_a_csrf_token(quiz, attempt):
    strict = Client(enforce_csrf_checks=True)

    response = answer(strict, quiz, attempt, 1, choice=right_choice(quiz, 1).pk)

    assert response.status_code == 403
    assert_unchanged(attempt)
