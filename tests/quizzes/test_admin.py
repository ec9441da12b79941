"""Instructor authoring in the admin."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from quizzes.models import Attempt, Choice, Question, Quiz
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def question_form(quiz, kind="single", choices=(("A", True), ("B", False)), checks=(), **extra):
    data = {
        "quiz": quiz.pk, "kind": kind, "title": "", "prompt": "Which?", "explanation": "Why.",
        "order": 1, "difficulty": 2, "section": "", "setup": "", "example_answer": "",
        "choices-TOTAL_FORMS": len(choices), "choices-INITIAL_FORMS": 0,
        "checks-TOTAL_FORMS": len(checks), "checks-INITIAL_FORMS": 0,
    }  # fmt: skip
    for i, (text, correct) in enumerate(choices):
        data |= {f"choices-{i}-text": text, f"choices-{i}-order": i, f"choices-{i}-feedback": ""}
        if correct:
            data[f"choices-{i}-correct"] = "on"
    for i, check in enumerate(checks):
        data |= {f"checks-{i}-{k}": v for k, v in {"order": i, **check}.items()}
    return data | extra


def test_instructors_can_author_but_not_manage_users(instructor_client):
    assert instructor_client.get(reverse("admin:quizzes_quiz_add")).status_code == 200
    assert instructor_client.get(reverse("admin:learn_topic_add")).status_code == 200
    assert instructor_client.get(reverse("admin:auth_user_changelist")).status_code == 403


def test_learners_cannot_reach_the_admin(client):
    response = client.get(reverse("admin:quizzes_quiz_changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_create_instructor_makes_a_staff_user_in_the_group():
    from io import StringIO

    out = StringIO()
    call_command("create_instructor", "carla", "--email", "c@example.com", stdout=out)
    call_command("create_instructor", "carla", stdout=StringIO())  # idempotent

    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="carla")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Instructors"]
    assert "Password: " in out.getvalue()


@pytest.mark.parametrize(
    ("kind", "choices", "message"),
    [
        ("single", [("A", True), ("B", True)], "exactly one correct choice"),
        ("single", [("A", False), ("B", False)], "exactly one correct choice"),
        ("single", [("A", True)], "at least two choices"),
        ("multiple", [("A", False), ("B", False)], "at least one correct choice"),
        (
            "truefalse",
            [("True", True), ("False", True)],
            "exactly two choices, one of them correct",
        ),
        ("single", [("Same", True), ("same", False)], "same text"),
    ],
)
def test_an_invalid_answer_key_is_not_saved(
    instructor_client, quiz_factory, kind, choices, message
):
    quiz = quiz_factory()

    response = instructor_client.post(
        reverse("admin:quizzes_question_add"), question_form(quiz, kind, choices)
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Question.objects.exists()


def test_a_valid_question_is_saved_with_its_choices(instructor_client, quiz_factory):
    quiz = quiz_factory()

    response = instructor_client.post(reverse("admin:quizzes_question_add"), question_form(quiz))

    assert response.status_code == 302
    assert Choice.objects.filter(question__quiz=quiz).count() == 2


@pytest.mark.redis
def test_a_command_question_must_pass_on_its_example(instructor_client, quiz_factory):
    quiz = quiz_factory()
    data = question_form(
        quiz, "command", choices=(),
        checks=[{"kind": "ttl", "key": "k", "minimum": 50, "maximum": 60}],
        example_answer="SET k v",
    )  # fmt: skip

    response = instructor_client.post(reverse("admin:quizzes_question_add"), data)

    html = response.content.decode()
    assert "The checks fail on the example answer." in html
    assert "What the grader saw" in html and "no expiry" in html
    assert not Question.objects.exists()


@pytest.mark.redis
def test_a_command_question_must_fail_on_an_empty_sandbox(instructor_client, quiz_factory):
    quiz = quiz_factory()
    data = question_form(
        quiz, "command", choices=(), setup="SET k v",
        checks=[{"kind": "exists", "key": "k", "key_type": "string"}],
        example_answer="SET k v",
    )  # fmt: skip

    response = instructor_client.post(reverse("admin:quizzes_question_add"), data)

    assert "already pass before any answer" in response.content.decode()
    assert not Question.objects.exists()


@pytest.mark.redis
def test_a_good_command_question_is_saved_and_shows_the_run(instructor_client, quiz_factory):
    quiz = quiz_factory()
    data = question_form(
        quiz, "command", choices=(),
        checks=[{"kind": "ttl", "key": "k", "minimum": 50, "maximum": 60}],
        example_answer="SET k v EX 60",
    )  # fmt: skip

    response = instructor_client.post(reverse("admin:quizzes_question_add"), data, follow=True)

    assert Question.objects.get().kind == "command"
    assert "Grader check passed" in response.content.decode()


def test_duplicate_copies_a_quiz_as_a_draft(instructor_client, quiz_factory, question_factory):
    quiz = quiz_factory(title="Scaling")
    question_factory(quiz=quiz)

    instructor_client.post(
        reverse("admin:quizzes_quiz_changelist"),
        {"action": "duplicate", "_selected_action": [quiz.pk]},
    )

    copy = Quiz.objects.exclude(pk=quiz.pk).get()
    assert (copy.title, copy.status) == ("Scaling (copy)", "draft")
    assert copy.questions.get().choices.count() == 3


def test_publish_action(instructor_client, quiz_factory):
    quiz = quiz_factory(status="draft")

    instructor_client.post(
        reverse("admin:quizzes_quiz_changelist"),
        {"action": "publish", "_selected_action": [quiz.pk]},
    )

    quiz.refresh_from_db()
    assert quiz.status == "published"


def finished_attempt(quiz, right: bool):
    from quizzes import taking

    learner = __import__("uuid").uuid4()
    attempt = taking.start_attempt(str(learner), quiz)
    question = attempt.slots.get().question
    choice = (
        question.choices.get(correct=right)
        if right
        else question.choices.filter(correct=False).first()
    )
    taking.submit_answer(attempt, 1, [str(choice.pk)], "")
    return taking.finish_attempt(attempt)


def test_statistics_show_attempts_facility_and_picks(
    instructor_client, quiz_factory, question_factory
):
    quiz = quiz_factory()
    question_factory(quiz=quiz)
    for right in (True, True, False):
        finished_attempt(quiz, right)

    response = instructor_client.get(reverse("admin:quizzes_quiz_statistics", args=[quiz.pk]))

    stats = response.context["stats"]
    assert stats.attempts == 3
    assert round(stats.items[0].facility) == 67
    assert stats.items[0].discrimination == 1.0
    assert [count for _, _, count in stats.items[0].picks] == [2, 1, 0]


def test_regrade_dry_run_changes_nothing_then_apply_does(
    instructor_client, quiz_factory, question_factory
):
    quiz = quiz_factory(pass_mark=50)
    question = question_factory(quiz=quiz)
    attempt = finished_attempt(quiz, right=False)
    # The instructor discovers "Wrong" was in fact right.
    question.choices.update(correct=False)
    question.choices.filter(text="Wrong").update(correct=True)
    url = reverse("admin:quizzes_quiz_changelist")

    dry = instructor_client.post(url, {"action": "regrade_attempts", "_selected_action": [quiz.pk]})
    attempt.refresh_from_db()
    assert attempt.score == 0
    assert [(c.old, c.new) for _, changes in dry.context["plans"] for c in changes] == [(0, 100)]

    instructor_client.post(
        url, {"action": "regrade_attempts", "_selected_action": [quiz.pk], "confirm": "yes"}
    )
    attempt.refresh_from_db()
    assert (attempt.score, attempt.passed) == (100, True)


def test_gift_import_previews_then_imports(instructor_client, quiz_factory):
    from django.core.files.uploadedfile import SimpleUploadedFile

    quiz = quiz_factory()
    url = reverse("admin:quizzes_quiz_import_gift", args=[quiz.pk])
    upload = SimpleUploadedFile(
        "q.gift", b"::Engines::Which is multithreaded? {=Memcached ~Valkey}\n"
    )

    preview = instructor_client.post(url, {"file": upload})
    assert "Preview: 1 question" in preview.content.decode()
    assert not quiz.questions.exists()

    instructor_client.post(url, {"confirm": "1", "token": preview.context["token"]})
    assert quiz.questions.get().choices.get(correct=True).text == "Memcached"


def test_a_broken_gift_file_names_the_line_and_imports_nothing(instructor_client, quiz_factory):
    from django.core.files.uploadedfile import SimpleUploadedFile

    quiz = quiz_factory()
    upload = SimpleUploadedFile("q.gift", b"Fine? {=a ~b}\n\nBroken? {=a =b ~c\n")

    response = instructor_client.post(
        reverse("admin:quizzes_quiz_import_gift", args=[quiz.pk]), {"file": upload}
    )

    assert response.status_code == 400
    assert "Line 3" in response.content.decode()
    assert not quiz.questions.exists()


def test_attempts_are_read_only_in_the_admin(quiz_factory, question_factory):
    admin = Client()
    admin.force_login(StaffFactory(is_superuser=True))
    quiz = quiz_factory()
    question_factory(quiz=quiz)
    attempt = finished_attempt(quiz, right=True)

    assert admin.get(reverse("admin:quizzes_attempt_add")).status_code == 403
    assert admin.get(reverse("admin:quizzes_attempt_change", args=[attempt.pk])).status_code == 200
    assert Attempt.objects.count() == 1
