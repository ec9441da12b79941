"""/progress/: what a learner has done per topic, the mastery made of it, and what next."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from journey.progress import TopicMastery, learner_progress, next_step
from learn.models import Learner, TopicProgress
from quizzes import taking
from quizzes.models import Attempt
from tests.factories import (
    QuestionFactory,
    QuizFactory,
    TopicFactory,
    answered_attempt,
    learner_session,
)

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

EXAMPLES = (
    "## Try it\n\n```redis\nSET greeting hello\n```\n\nText.\n\n"
    "```redis\nGET  greeting\nDEL greeting\n```\n"
)


@pytest.fixture
def course():
    first = TopicFactory(slug="first", order=1, title="First", body=EXAMPLES)
    second = TopicFactory(slug="second", order=2, title="Second")
    third = TopicFactory(slug="third", order=3, title="Third")
    quiz = QuizFactory(topic=first, slug="first-quiz", title="First quiz")
    questions = [QuestionFactory(quiz=quiz, order=i) for i in range(4)]
    return {"topics": [first, second, third], "quiz": quiz, "questions": questions}


def learner_of(client) -> Learner:
    learner_session(client)
    learner, _ = Learner.objects.get_or_create(id=client.session["learner_id"])
    return learner


def take_quiz(learner: Learner, quiz, right: int) -> Attempt:
    """Finish an attempt with `right` correct answers, the rest wrong."""
    return taking.finish_attempt(answered_attempt(learner.pk, quiz, right))


def run(client, command: str, page: str):
    return client.post(
        reverse("learn:sandbox_run"), {"command": command, "next": page}, HTTP_HX_REQUEST="true"
    )


# Mastery arithmetic


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, 0),
        ({"read": True}, 31),  # 25 of 80: no labs, so their 20 are shared out
        ({"read": True, "examples_run": 1}, 41),
        ({"read": True, "examples_run": 2, "best_score": Decimal(100)}, 100),
        ({"best_score": Decimal(50)}, 25),
    ],
)
def test_mastery_weighs_reading_examples_and_the_best_quiz(fields, expected):
    mastery = TopicMastery(topic=None, examples_total=2, has_quiz=True, **fields)

    assert mastery.mastery == expected


def test_a_topic_without_examples_or_quiz_is_mastered_by_reading_it():
    assert TopicMastery(topic=None, read=True).mastery == 100
    assert TopicMastery(topic=None, read=True, has_quiz=True).mastery == 38  # 25 of 65


# The page


def test_the_progress_page_shows_each_topic_and_the_course_mastery(client, course):
    learner = learner_of(client)
    client.post(reverse("learn:mark_read", args=["first"]))
    run(client, "SET greeting hello", "/topics/first/")
    take_quiz(learner, course["quiz"], right=2)

    response = client.get(reverse("journey:progress"))

    assert response.status_code == 200
    first = response.context["progress"].for_topic("first")
    assert (first.read, first.examples_run, first.examples_total) == (True, 1, 2)
    assert first.best_score == Decimal("50.00")
    assert first.mastery == round(100 * (25 + 7.5 + 20) / 80)  # 66
    assert response.context["progress"].mastery == round((66 + 0 + 0) / 3)
    body = response.content.decode()
    assert "1 of 2" in body and "50%" in body and "66%" in body


def test_the_score_chart_has_one_point_per_finished_attempt_and_a_table(client, course):
    learner = learner_of(client)
    take_quiz(learner, course["quiz"], right=1)
    take_quiz(learner, course["quiz"], right=3)

    response = client.get(reverse("journey:progress"))

    body = response.content.decode()
    assert body.count('class="chart-point"') == 2
    assert 'role="img"' in body and "Your quiz scores, oldest first" in body
    assert "25%" in body and "75%" in body
    assert [round(p.score) for p in response.context["progress"].scores] == [25, 75]


def test_without_attempts_the_page_invites_a_quiz(client, course):
    response = client.get(reverse("journey:progress"))

    assert b"No quiz finished yet" in response.content
    assert response.context["chart"] is None


def test_the_progress_page_refuses_post(client):
    assert client.post(reverse("journey:progress")).status_code == 405


def test_the_progress_page_costs_a_handful_of_queries(
    client, course, django_assert_max_num_queries
):
    learner = learner_of(client)
    take_quiz(learner, course["quiz"], right=2)
    client.get(reverse("journey:progress"))

    with django_assert_max_num_queries(8):
        client.get(reverse("journey:progress"))


def test_one_learners_progress_is_not_anothers(client, course):
    from django.test import Client

    client.post(reverse("learn:mark_read", args=["first"]))
    other = Client()

    response = other.get(reverse("journey:progress"))

    assert response.context["progress"].for_topic("first").read is False


# Fragments


def test_the_home_summary_fragment_shows_mastery_and_the_next_step(client, course):
    client.post(reverse("learn:mark_read", args=["first"]))

    response = client.get(reverse("journey:progress_summary"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert "course mastery" in body
    assert "Continue with “Second”" in body


def test_the_topic_fragment_shows_that_topics_mastery(client, course):
    client.post(reverse("learn:mark_read", args=["first"]))

    response = client.get(reverse("journey:topic_mastery", args=["first"]), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert b"Your mastery: 31%" in response.content
    assert b"Examples run: 0 of 2" in response.content


def test_the_topic_fragment_of_an_unknown_topic_is_404(client, course):
    response = client.get(reverse("journey:topic_mastery", args=["nope"]))

    assert response.status_code == 404


def test_home_and_topic_pages_load_the_personal_parts_separately(client, course):
    home = client.get(reverse("learn:home")).content.decode()
    topic = client.get(reverse("learn:topic", args=["first"])).content.decode()

    assert reverse("journey:progress_summary") in home
    assert reverse("journey:topic_mastery", args=["first"]) in topic


# Examples run in the sandbox


def test_running_a_topic_example_from_its_page_counts_once(client, course):
    learner = learner_of(client)

    first = run(client, "SET greeting hello", "/topics/first/")
    again = run(client, "SET   greeting hello", "/topics/first/")
    second = run(client, "GET greeting", "/topics/first/")

    assert "progress-changed" in first.headers["HX-Trigger"]
    assert "progress-changed" not in again.headers.get("HX-Trigger", "")
    assert "progress-changed" in second.headers["HX-Trigger"]
    row = TopicProgress.objects.get(learner=learner, topic=course["topics"][0])
    assert row.examples_run == ["GET greeting", "SET greeting hello"]


@pytest.mark.parametrize(
    ("command", "page"),
    [
        ("SET other thing", "/topics/first/"),  # not one of the examples
        ("SET greeting hello", "/sandbox/"),  # not on the topic's page
        ("SET greeting hello", "/topics/second/"),  # another topic's page
        ("SET greeting hello", "https://evil.example/topics/first/"),
    ],
)
def test_other_commands_do_not_count_as_examples(client, course, command, page):
    learner = learner_of(client)

    run(client, command, page)

    assert not TopicProgress.objects.filter(learner=learner).exclude(examples_run=[]).exists()


def test_a_refused_command_does_not_count(client, course):
    learner = learner_of(client)

    response = client.post(reverse("learn:sandbox_run"), {"command": "", "next": "/topics/first/"})

    assert response.status_code in (302, 400)
    assert not TopicProgress.objects.filter(learner=learner).exists()


# Where to continue


def test_next_step_resumes_an_open_quiz_first(client, course):
    learner = learner_of(client)
    taking.start_attempt(str(learner.pk), course["quiz"])

    step = next_step(str(learner.pk), learner_progress(str(learner.pk)))

    assert step.label == "Resume the quiz “First quiz”"
    assert step.url == course["quiz"].get_absolute_url()


def test_next_step_carries_on_after_the_last_topic_read(client, course):
    learner = learner_of(client)
    TopicProgress.objects.create(learner=learner, topic=course["topics"][1], read_at=timezone.now())

    step = next_step(str(learner.pk), learner_progress(str(learner.pk)))

    assert step.label == "Continue with “Third”"


def test_next_step_sends_a_reader_of_everything_to_review_or_a_quiz(client, course):
    learner = learner_of(client)
    for topic in course["topics"]:
        TopicProgress.objects.create(learner=learner, topic=topic, read_at=timezone.now())

    assert next_step(str(learner.pk), learner_progress(str(learner.pk)), 2).label == (
        "Review 2 questions"
    )
    step = next_step(str(learner.pk), learner_progress(str(learner.pk)), 0)
    assert step.label == "Test yourself on “First”"


# Review count in the navigation


def test_the_navigation_fragment_counts_due_reviews(client, course):
    learner = learner_of(client)
    take_quiz(learner, course["quiz"], right=1)

    response = client.get(reverse("journey:learner_nav"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert b"3<span" in response.content and b"due" in response.content


def test_the_navigation_fragment_is_empty_with_nothing_due(client, course):
    response = client.get(reverse("journey:learner_nav"))

    assert b"nav-count" not in response.content


def test_an_example_of_several_lines_counts_once_all_of_them_ran(client, course):
    learner_of(client)

    run(client, "GET greeting", "/topics/first/")
    halfway = learner_progress(client.session["learner_id"]).for_topic("first").examples_run
    run(client, "DEL greeting", "/topics/first/")
    done = learner_progress(client.session["learner_id"]).for_topic("first").examples_run

    assert (halfway, done) == (0, 1)


def test_a_topic_pages_panel_brings_mastery_and_due_count_in_one_request(client, course):
    learner = learner_of(client)
    take_quiz(learner, course["quiz"], right=2)

    response = client.get(
        reverse("journey:sandbox_panel") + "?next=/topics/first/", HTTP_HX_REQUEST="true"
    )

    body = response.content.decode()
    assert 'id="sandbox-output"' in body
    assert 'id="topic-mastery"' in body and "Your mastery: 25%" in body
    assert 'id="review-due"' in body and "2<span" in body
    assert body.count('hx-swap-oob="true"') == 2


def test_the_sandbox_panel_elsewhere_brings_nothing_extra(client, course):
    body = client.get(reverse("journey:sandbox_panel") + "?next=/sandbox/").content.decode()

    assert "hx-swap-oob" not in body


def test_the_home_summary_brings_the_due_count_out_of_band(client, course):
    learner = learner_of(client)
    take_quiz(learner, course["quiz"], right=3)

    body = client.get(reverse("journey:progress_summary")).content.decode()

    assert 'id="review-due" hx-get' in body and 'hx-swap-oob="true"' in body
    assert "1<span" in body


def test_only_pages_without_a_personal_fragment_fetch_the_due_count_themselves(client, course):
    def loads_due_count(url: str) -> bool:
        body = client.get(url).content.decode()
        return 'hx-trigger="load, review-changed from:body"' in body

    assert not loads_due_count(reverse("learn:home"))
    assert not loads_due_count(reverse("learn:topic", args=["first"]))
    assert loads_due_count(reverse("quizzes:list"))
    assert loads_due_count(reverse("journey:progress"))
