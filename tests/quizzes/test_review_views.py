"""/review/: missed quiz questions come back one at a time, graded, then rescheduled."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from learn.redis_clients import reset_clients
from quizzes import review
from quizzes.models import Attempt, ReviewItem
from tests.factories import learner_session

pytestmark = pytest.mark.django_db

PAGE = reverse("review:page")


def answer_url(item: ReviewItem) -> str:
    return reverse("review:answer", args=[item.pk])


def text(response) -> str:
    # Django keeps "10 minutes" together with a no-break space.
    return response.content.decode().replace("\xa0", " ")


@pytest.fixture
def quiz(quiz_factory, question_factory):
    quiz = quiz_factory()
    question_factory(quiz=quiz, prompt="Which engine is multithreaded?", order=1,
                     answers=[("Memcached", True), ("Valkey", False)])  # fmt: skip
    return quiz


@pytest.fixture
def question(quiz):
    return quiz.questions.get()


def answer_in_quiz(client, quiz, choice_text: str) -> None:
    client.post(reverse("quizzes:start", args=[quiz.slug]))
    attempt = Attempt.objects.get(quiz=quiz, finished_at__isnull=True)
    choice = quiz.questions.get().choices.get(text=choice_text)
    client.post(reverse("quizzes:answer", args=[quiz.slug, attempt.pk, 1]), {"choice": choice.pk})
    client.post(reverse("quizzes:finish", args=[quiz.slug, attempt.pk]))


@pytest.fixture
def item(client, quiz) -> ReviewItem:
    """The learner (this client's session) missed the quiz's question."""
    answer_in_quiz(client, quiz, "Valkey")
    return ReviewItem.objects.get()


def choice_id(question, choice_text: str) -> int:
    return question.choices.get(text=choice_text).pk


def snapshot(item: ReviewItem) -> tuple:
    item.refresh_from_db()
    return (item.due, item.reviews, item.lapses, item.state, item.last_reviewed_at)


def test_a_question_missed_in_a_quiz_is_due_for_review_at_once(client, item):
    response = client.get(PAGE)

    assert str(item.learner_id) == client.session["learner_id"]
    assert item.due <= timezone.now()
    html = text(response)
    assert "1 question due now" in html and "Which engine is multithreaded?" in html
    assert review.due_count(item.learner_id) == 1


def test_a_right_answer_in_a_quiz_does_not_enter_the_queue(client, quiz):
    answer_in_quiz(client, quiz, "Memcached")

    assert not ReviewItem.objects.exists()
    assert "Your review queue is empty" in text(client.get(PAGE))


def test_a_right_review_answer_sends_the_question_into_the_future(client, item, question):
    response = client.post(answer_url(item), {"choice": choice_id(question, "Memcached")})

    html = text(response)
    assert response.status_code == 200
    assert "✓ Right." in html and "again in 10 minutes" in html
    assert "Because the fact sheet says so" in html
    item.refresh_from_db()
    assert item.due > timezone.now() and (item.reviews, item.last_correct) == (1, True)
    assert review.due_count(item.learner_id) == 0


def test_after_the_last_due_review_the_page_says_when_the_next_comes_back(client, item, question):
    client.post(answer_url(item), {"choice": choice_id(question, "Memcached")})

    html = text(client.get(PAGE))

    assert "Nothing due right now" in html and "9 minutes</time>" in html
    assert "Which engine is multithreaded?" not in html


def test_a_wrong_review_answer_shows_the_right_one_and_comes_back_in_a_minute(
    client, item, question
):
    response = client.post(answer_url(item), {"choice": choice_id(question, "Valkey")})

    html = text(response)
    assert "✗ Not quite." in html and "comes back in 1 minute" in html
    assert "The right answer: <strong>Memcached</strong>" in html
    item.refresh_from_db()
    assert (item.reviews, item.lapses, item.last_correct) == (1, 1, False)


def test_htmx_answer_returns_only_the_card_with_feedback_to_focus(client, item, question):
    response = client.post(
        answer_url(item),
        {"choice": choice_id(question, "Memcached")},
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert html.strip().startswith('<div id="review-card"')
    assert 'role="status" aria-live="polite" autofocus' in html
    assert response["HX-Trigger"] == "review-changed"  # the navigation's count refreshes


def test_the_answer_form_posts_with_htmx_and_without(client, item):
    html = client.get(PAGE).content.decode()

    assert f'action="{answer_url(item)}"' in html and f'hx-post="{answer_url(item)}"' in html
    assert 'hx-target="#review-card"' in html


def test_without_javascript_the_answer_renders_the_whole_page(client, item, question):
    response = client.post(answer_url(item), {"choice": choice_id(question, "Memcached")})

    html = response.content.decode()
    assert "<html" in html and "✓ Right." in html
    assert f'href="{PAGE}"' in html  # the Next button


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_it_rejects_other_methods_on_answer(client, item, method):
    response = getattr(client, method)(answer_url(item))

    assert response.status_code == 405
    assert snapshot(item)[1] == 0


def test_it_rejects_post_on_the_page(client):
    assert client.post(PAGE).status_code == 405


def test_another_learners_item_is_not_found_and_left_alone(client, learner_factory, question):
    theirs = review.record_miss(learner_factory().pk, question)
    before = snapshot(theirs)

    response = client.post(answer_url(theirs), {"choice": choice_id(question, "Memcached")})

    assert response.status_code == 404
    assert "no such question in your review queue" in text(response)
    assert snapshot(theirs) == before


def test_an_item_not_due_yet_is_refused_and_left_alone(client, item, question):
    ReviewItem.objects.filter(pk=item.pk).update(due=timezone.now() + timedelta(days=2))
    before = snapshot(item)

    response = client.post(answer_url(item), {"choice": choice_id(question, "Memcached")})

    assert response.status_code == 409
    assert "not due for review yet: it comes back in 1 day" in text(response)
    assert snapshot(item) == before


def test_a_question_whose_quiz_was_unpublished_leaves_the_queue(client, item, quiz, question):
    quiz.status = "draft"
    quiz.save()

    response = client.post(answer_url(item), {"choice": choice_id(question, "Memcached")})

    assert response.status_code == 404
    assert "Your review queue is empty" in text(client.get(PAGE))


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ([], "Choose an answer first."),
        (["nine"], "That answer is not one of the choices."),
        (["other-question"], "That choice is not part of this question."),
        (["Memcached", "Valkey"], "Choose one answer only."),
    ],
)
def test_bad_input_is_refused_with_the_question_still_on_screen(
    client, item, question, question_factory, choices, message
):
    other = question_factory().choices.first().pk
    known = {c.text: c.pk for c in question.choices.all()} | {"other-question": other}
    before = snapshot(item)

    response = client.post(answer_url(item), {"choice": [known.get(c, c) for c in choices]})

    assert response.status_code == 400
    html = text(response)
    assert message in html and 'role="alert"' in html and "Check answer" in html
    assert snapshot(item) == before


@pytest.mark.redis
class TestCommandQuestions:
    @pytest.fixture
    def command_item(self, client, quiz_factory, question_factory, check_factory):
        quiz = quiz_factory()
        question = question_factory(
            quiz=quiz,
            kind="command",
            prompt="Store session:42 = alice for 30 minutes.",
            example_answer="SET session:42 alice EX 1800",
        )
        check_factory(question=question, kind="value", key="session:42", value="alice")
        check_factory(question=question, kind="ttl", key="session:42", minimum=1790, maximum=1800)
        client.post(reverse("quizzes:start", args=[quiz.slug]))
        attempt = Attempt.objects.get(quiz=quiz)
        client.post(
            reverse("quizzes:answer", args=[quiz.slug, attempt.pk, 1]),
            {"command": "SET session:42 alice"},
        )
        client.post(reverse("quizzes:finish", args=[quiz.slug, attempt.pk]))
        return ReviewItem.objects.get(question=question)

    def test_a_missed_command_question_is_graded_in_a_scratch_sandbox(
        self, client, command_item, sandbox_redis
    ):
        assert 'name="command"' in client.get(PAGE).content.decode()

        response = client.post(answer_url(command_item), {"command": "SETEX session:42 1800 alice"})

        html = text(response)
        assert "✓ Right." in html and "✓ session:42 holds &#x27;alice&#x27;" in html
        assert snapshot(command_item)[1] == 1
        assert sandbox_redis.keys("sbx:quiz*") == []  # the scratch namespace is gone

    def test_a_wrong_command_is_explained(self, client, command_item):
        response = client.post(answer_url(command_item), {"command": "SET session:42 bob"})

        html = text(response)
        assert "✗ Not quite." in html and "holds &#x27;bob&#x27;" in html
        assert "One correct answer: <code>SET session:42 alice EX 1800</code>" in html
        assert snapshot(command_item)[2] == 1

    def test_a_down_sandbox_says_so_and_changes_nothing(self, client, command_item, settings):
        settings.SANDBOX_REDIS_URL = "redis://127.0.0.1:1/0"
        reset_clients()
        before = snapshot(command_item)

        page = client.post(answer_url(command_item), {"command": "SETEX session:42 1800 alice"})
        card = client.post(
            answer_url(command_item), {"command": "PING"}, headers={"HX-Request": "true"}
        )

        assert page.status_code == 503 and "temporarily unavailable" in text(page)
        assert card.status_code == 503 and "temporarily unavailable" in text(card)
        assert snapshot(command_item) == before

    def test_an_empty_command_is_refused(self, client, command_item):
        before = snapshot(command_item)

        response = client.post(answer_url(command_item), {"command": "  "})

        assert response.status_code == 400 and "Type a command first." in text(response)
        assert snapshot(command_item) == before


def test_htmx_bad_input_swaps_in_the_card_with_the_message(client, item):
    response = client.post(answer_url(item), {}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 400 and html.strip().startswith('<div id="review-card"')
    assert "Choose an answer first." in html and "HX-Trigger" not in response.headers


def test_the_admin_lists_review_items_read_only(admin_client, item):
    changelist = admin_client.get(reverse("admin:quizzes_reviewitem_changelist"))

    assert changelist.status_code == 200 and "Which engine is multithreaded?" in text(changelist)
    assert admin_client.get(reverse("admin:quizzes_reviewitem_add")).status_code == 403


def test_a_question_a_running_quiz_asks_is_held_back_from_review(client):
    """Reviewing it would give away the answer to the quiz still in progress."""
    from quizzes import taking
    from quizzes.models import ReviewItem
    from tests.factories import QuestionFactory

    learner_id = learner_session(client)
    question = QuestionFactory()
    attempt = taking.start_attempt(learner_id, question.quiz)
    wrong = question.choices.filter(correct=False).first()
    taking.submit_answer(attempt, 1, [str(wrong.pk)], "")
    item = ReviewItem.objects.get(learner_id=learner_id)
    due_before = item.due

    page = client.get("/review/")
    answer = client.post(f"/review/{item.pk}/answer", {"choice": [str(wrong.pk)]})

    assert page.context["due_count"] == 0
    assert question.prompt.encode() not in page.content
    assert answer.status_code == 409
    assert b"finish the quiz first" in answer.content
    item.refresh_from_db()
    assert item.due == due_before and item.reviews == 0

    taking.finish_attempt(attempt)
    assert question.prompt.encode() in client.get("/review/").content
