"""A learner takes a quiz: start, one question per screen, feedback, results, retake."""

import pytest
from django.urls import reverse

from quizzes.models import Attempt, Response
from tests.factories import learner_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiz(quiz_factory, question_factory):
    quiz = quiz_factory(pass_mark=50)
    question_factory(quiz=quiz, prompt="Which engine is multithreaded?", order=1,
                     answers=[("Memcached", True), ("Valkey", False)])  # fmt: skip
    question_factory(
        quiz=quiz, kind="truefalse", prompt="Backups restore into a new cache.", order=2
    )
    return quiz


def start(client, quiz) -> Attempt:
    client.post(reverse("quizzes:start", args=[quiz.slug]))
    return Attempt.objects.get(quiz=quiz)


def question_url(quiz, attempt, position: int, action: str = "question") -> str:
    return reverse(f"quizzes:{action}", args=[quiz.slug, attempt.pk, position])


def choice(quiz, position: int, text: str):
    return quiz.questions.get(order=position).choices.get(text=text)


def test_the_quiz_page_describes_the_quiz(client, quiz):
    response = client.get(quiz.get_absolute_url())

    assert response.status_code == 200
    assert "2 questions" in response.content.decode()
    assert "Start the quiz" in response.content.decode()


def test_starting_redirects_to_the_first_question(client, quiz):
    response = client.post(reverse("quizzes:start", args=[quiz.slug]))

    attempt = Attempt.objects.get()
    assert response["Location"] == question_url(quiz, attempt, 1)
    assert attempt.slots.count() == 2


def test_the_question_page_does_not_reveal_the_answer(client, quiz):
    attempt = start(client, quiz)

    html = client.get(question_url(quiz, attempt, 1)).content.decode()

    assert "Memcached" in html and "Valkey" in html
    assert "is-correct" not in html
    assert "Because the fact sheet says so" not in html


def test_a_right_answer_gets_immediate_feedback(client, quiz):
    attempt = start(client, quiz)
    right = choice(quiz, 1, "Memcached")

    response = client.post(
        question_url(quiz, attempt, 1, "answer"), {"choice": right.pk}, follow=True
    )

    html = response.content.decode()
    assert "✓ Right." in html
    assert "Because the fact sheet says so" in html
    assert Response.objects.get().correct is True


def test_htmx_answer_returns_the_card_with_feedback_in_a_live_region(client, quiz):
    attempt = start(client, quiz)
    wrong = choice(quiz, 1, "Valkey")

    response = client.post(
        question_url(quiz, attempt, 1, "answer"),
        {"choice": wrong.pk},
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert html.strip().startswith('<div id="question-card"')
    assert 'aria-live="polite"' in html and "✗ Not quite." in html
    assert Response.objects.get().correct is False


def test_without_javascript_answering_redirects_back_to_the_question(client, quiz):
    attempt = start(client, quiz)

    response = client.post(
        question_url(quiz, attempt, 1, "answer"), {"choice": choice(quiz, 1, "Memcached").pk}
    )

    assert response.status_code == 302
    assert response["Location"] == question_url(quiz, attempt, 1)


def test_end_feedback_mode_hides_correctness_until_the_results(client, quiz):
    quiz.feedback = "end"
    quiz.save()
    attempt = start(client, quiz)

    html = client.post(
        question_url(quiz, attempt, 1, "answer"),
        {"choice": choice(quiz, 1, "Valkey").pk},
        follow=True,
    ).content.decode()

    assert "Answer saved" in html
    assert "Not quite" not in html


def test_finishing_scores_and_shows_the_review(client, quiz):
    attempt = start(client, quiz)
    client.post(
        question_url(quiz, attempt, 1, "answer"), {"choice": choice(quiz, 1, "Memcached").pk}
    )
    client.post(question_url(quiz, attempt, 2, "answer"), {"choice": choice(quiz, 2, "False").pk})

    response = client.post(reverse("quizzes:finish", args=[quiz.slug, attempt.pk]), follow=True)

    attempt.refresh_from_db()
    html = response.content.decode()
    assert (attempt.score, attempt.passed) == (50, True)
    assert "Your result: 50%" in html
    assert "Review this in the topic" in html


def test_a_retake_starts_a_new_attempt_and_history_lists_both(client, quiz):
    attempt = start(client, quiz)
    client.post(reverse("quizzes:finish", args=[quiz.slug, attempt.pk]))

    client.post(reverse("quizzes:start", args=[quiz.slug]))
    page = client.get(quiz.get_absolute_url())

    assert Attempt.objects.count() == 2
    assert len(page.context["attempts"]) == 2
    assert "Resume your attempt" in page.content.decode()


def test_draw_count_draws_part_of_the_pool(client, quiz, question_factory):
    question_factory(quiz=quiz, order=3)
    quiz.draw_count = 2
    quiz.save()

    attempt = start(client, quiz)

    assert attempt.slots.count() == 2


def test_shuffled_choices_keep_their_order_across_page_loads(client, quiz):
    quiz.shuffle_choices = True
    quiz.save()
    attempt = start(client, quiz)

    first = [c.pk for c in client.get(question_url(quiz, attempt, 1)).context["choices"]]
    again = [c.pk for c in client.get(question_url(quiz, attempt, 1)).context["choices"]]

    assert first == again


def test_a_draft_quiz_is_404_for_learners_and_previewable_by_staff(staff_client, quiz):
    from django.test import Client

    quiz.status = "draft"
    quiz.save()

    assert Client().get(quiz.get_absolute_url()).status_code == 404
    preview = staff_client.get(quiz.get_absolute_url())
    assert preview.status_code == 200 and "Draft preview" in preview.content.decode()


def test_an_attempt_at_a_quiz_unpublished_since_is_404_for_learners(client, quiz):
    attempt = start(client, quiz)
    quiz.status = "draft"
    quiz.save()

    page = client.get(question_url(quiz, attempt, 1))
    answer = client.post(
        question_url(quiz, attempt, 1, "answer"), {"choice": choice(quiz, 1, "Memcached").pk}
    )

    assert (page.status_code, answer.status_code) == (404, 404)
    assert not Response.objects.exists()


def test_staff_can_take_a_draft_quiz(staff_client, quiz):
    quiz.status = "draft"
    quiz.save()
    attempt = start(staff_client, quiz)

    response = staff_client.post(
        question_url(quiz, attempt, 1, "answer"), {"choice": choice(quiz, 1, "Memcached").pk}
    )

    assert response.status_code == 302
    assert Response.objects.get().correct is True


def test_the_quiz_list_shows_published_quizzes(client, quiz, quiz_factory):
    quiz_factory(title="Hidden draft", status="draft")

    html = client.get(reverse("quizzes:list")).content.decode()

    assert quiz.title in html and "Hidden draft" not in html


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("start", "get"),
        ("answer", "get"),
        ("finish", "get"),
        ("question", "post"),
        ("results", "post"),
    ],
)
def test_wrong_methods_are_405(client, quiz, name, method):
    attempt = start(client, quiz)
    args = {
        "start": [quiz.slug],
        "answer": [quiz.slug, attempt.pk, 1],
        "question": [quiz.slug, attempt.pk, 1],
        "finish": [quiz.slug, attempt.pk],
        "results": [quiz.slug, attempt.pk],
    }[name]

    response = getattr(client, method)(reverse(f"quizzes:{name}", args=args))

    assert response.status_code == 405


def test_a_timed_attempt_can_be_extended(client, quiz):
    quiz.time_limit_minutes = 10
    quiz.save()
    attempt = start(client, quiz)
    before = attempt.deadline

    client.post(reverse("quizzes:extend", args=[quiz.slug, attempt.pk]), {"position": "1"})

    attempt.refresh_from_db()
    assert (attempt.deadline - before).total_seconds() == pytest.approx(300, abs=5)
    assert attempt.extensions == 1


def test_the_quiz_page_lists_the_latest_attempts_and_says_how_many_there_are(client):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import AttemptFactory, QuestionFactory

    question = QuestionFactory()
    quiz = question.quiz
    learner_session(client)
    from learn.models import Learner

    learner, _ = Learner.objects.get_or_create(id=client.session["learner_id"])
    start = timezone.now() - timedelta(days=30)
    for day in range(12):
        AttemptFactory(
            learner=learner,
            quiz=quiz,
            started_at=start + timedelta(days=day),
            finished_at=start + timedelta(days=day, minutes=5),
            score=day * 5,
            passed=False,
        )

    response = client.get(reverse("quizzes:detail", args=[quiz.slug]))

    assert len(response.context["attempts"]) == 10
    assert response.context["attempt_total"] == 12
    assert b"Your 10 latest of 12 attempts" in response.content
    assert response.context["attempts"][0].score == 55
