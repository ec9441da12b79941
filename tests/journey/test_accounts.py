"""Accounts are optional, and signing up or logging in keeps what was done anonymously."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from learn.models import Learner, Throttle, TopicProgress
from patterns.models import Run
from quizzes import taking
from quizzes.models import Attempt, ReviewItem
from tests.factories import (
    LabProgressFactory,
    QuestionFactory,
    QuizFactory,
    TopicFactory,
    UserFactory,
    learner_session,
)

pytestmark = [pytest.mark.django_db, pytest.mark.redis]
PASSWORD = "correct horse battery staple"
User = get_user_model()


def session_cookie(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def anonymous_learner(client) -> Learner:
    learner_session(client)
    learner, _ = Learner.objects.get_or_create(id=client.session["learner_id"])
    return learner


def miss_question(learner: Learner, quiz) -> Attempt:
    """Start the quiz and answer its first question wrong."""
    attempt = taking.start_attempt(str(learner.pk), quiz)
    slot = attempt.slots.select_related("question").first()
    wrong = slot.question.choices.filter(correct=False).first()
    taking.submit_answer(attempt, slot.position, [str(wrong.pk)], "")
    return attempt


@pytest.fixture
def course():
    first, second = TopicFactory(slug="first", order=1), TopicFactory(slug="second", order=2)
    quiz = QuizFactory(topic=first, slug="first-quiz")
    questions = [QuestionFactory(quiz=quiz, order=i) for i in range(3)]
    return {"topics": [first, second], "quiz": quiz, "questions": questions}


def signup_data(username: str = "ada") -> dict:
    return {"username": username, "email": "", "password1": PASSWORD, "password2": PASSWORD}


# Sign up


def test_the_signup_page_offers_a_form(client):
    response = client.get(reverse("journey:signup"))

    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password1"' in response.content


def test_signing_up_keeps_the_anonymous_learner_and_rotates_the_session(client, course):
    learner = anonymous_learner(client)
    client.post(reverse("learn:mark_read", args=["first"]))
    before = session_cookie(client)

    response = client.post(reverse("journey:signup"), signup_data())

    assert response.status_code == 302 and response.url == reverse("journey:progress")
    user = User.objects.get(username="ada")
    learner.refresh_from_db()
    assert learner.user == user
    assert Learner.objects.count() == 1
    assert session_cookie(client) != before
    assert client.session["learner_id"] == str(learner.pk)
    assert client.session["read_topics"] == [course["topics"][0].pk]
    assert int(client.session["_auth_user_id"]) == user.pk


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password2": "something else entirely"}, b"didn\xe2\x80\x99t match"),
        ({"username": ""}, b"This field is required"),
        ({"password1": "short", "password2": "short"}, b"too short"),
        ({"username": "bad name!"}, b"Enter a valid username"),
    ],
)
def test_a_bad_signup_says_why_and_creates_nothing(client, change, message):
    anonymous_learner(client)

    response = client.post(reverse("journey:signup"), {**signup_data(), **change})

    assert response.status_code == 400
    assert message in response.content
    assert not User.objects.exists()
    assert "_auth_user_id" not in client.session


def test_a_taken_username_is_refused(client):
    UserFactory(username="ada")

    response = client.post(reverse("journey:signup"), signup_data("ada"))

    assert response.status_code == 400
    assert b"already exists" in response.content
    assert User.objects.count() == 1


def test_signup_refuses_other_methods(client):
    assert client.put(reverse("journey:signup")).status_code == 405


def test_a_signed_in_user_is_sent_on_from_signup(client):
    client.force_login(UserFactory())

    response = client.get(reverse("journey:signup"))

    assert response.status_code == 302


def test_signup_needs_the_csrf_token(course):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("journey:signup"), signup_data())

    assert response.status_code == 403
    assert not User.objects.exists()


# Log in, log out


def test_logging_in_merges_anonymous_work_into_an_account_that_has_some(client, course):
    first, second = course["topics"]
    quiz = course["quiz"]
    user = UserFactory(username="grace", password=PASSWORD)
    account = Learner.objects.create(user=user)
    early = timezone.now() - timedelta(days=3)
    TopicProgress.objects.create(
        learner=account, topic=first, read_at=early, examples_run=["GET a"]
    )
    account_attempt = miss_question(account, quiz)

    learner = anonymous_learner(client)
    client.post(reverse("learn:mark_read", args=["first"]))
    client.post(reverse("learn:mark_read", args=["second"]))
    TopicProgress.objects.filter(learner=learner, topic=first).update(examples_run=["SET a 1"])
    anonymous_attempt = miss_question(learner, quiz)
    before = session_cookie(client)

    response = client.post(
        reverse("journey:login"), {"username": "grace", "password": PASSWORD, "next": "/progress/"}
    )

    assert response.status_code == 302 and response.url == "/progress/"
    assert session_cookie(client) != before
    assert client.session["learner_id"] == str(account.pk)
    assert not Learner.objects.filter(pk=learner.pk).exists()
    rows = {p.topic_id: p for p in TopicProgress.objects.filter(learner=account)}
    assert set(rows) == {first.pk, second.pk}
    assert rows[first.pk].read_at == early
    assert rows[first.pk].examples_run == ["GET a", "SET a 1"]
    assert TopicProgress.objects.count() == 2
    # Both attempts kept; only one of them can stay open.
    attempts = Attempt.objects.filter(learner=account)
    assert {a.pk for a in attempts} == {account_attempt.pk, anonymous_attempt.pk}
    assert attempts.filter(finished_at__isnull=True).count() == 1
    # The same question missed twice is one review item, not two.
    assert ReviewItem.objects.filter(learner=account).count() == 1
    assert ReviewItem.objects.count() == 1
    assert sorted(client.session["read_topics"]) == sorted([first.pk, second.pk])


def test_review_items_of_different_questions_all_move(client, course):
    quiz = course["quiz"]
    user = UserFactory(username="grace", password=PASSWORD)
    account = Learner.objects.create(user=user)
    learner = anonymous_learner(client)
    from quizzes.review import record_miss

    record_miss(str(account.pk), course["questions"][0])
    record_miss(str(learner.pk), course["questions"][1])
    record_miss(str(learner.pk), course["questions"][2])

    client.post(reverse("journey:login"), {"username": "grace", "password": PASSWORD})

    questions = set(ReviewItem.objects.filter(learner=account).values_list("question", flat=True))
    assert questions == {q.pk for q in course["questions"]}
    assert quiz.questions.count() == 3


def test_the_account_takes_the_anonymous_nickname_when_it_has_none(client):
    user = UserFactory(username="grace", password=PASSWORD)
    account = Learner.objects.create(user=user)
    learner = anonymous_learner(client)
    learner.nickname = "Cachey"
    learner.save()

    client.post(reverse("journey:login"), {"username": "grace", "password": PASSWORD})

    account.refresh_from_db()
    assert account.nickname == "Cachey"


def test_first_login_of_an_account_without_a_learner_adopts_the_browser_learner(client):
    UserFactory(username="grace", password=PASSWORD)
    learner = anonymous_learner(client)

    client.post(reverse("journey:login"), {"username": "grace", "password": PASSWORD})

    learner.refresh_from_db()
    assert learner.user.username == "grace"
    assert client.session["learner_id"] == str(learner.pk)


def test_a_wrong_password_says_so_and_merges_nothing(client, course):
    user = UserFactory(username="grace", password=PASSWORD)
    account = Learner.objects.create(user=user)
    learner = anonymous_learner(client)
    client.post(reverse("learn:mark_read", args=["first"]))

    response = client.post(reverse("journey:login"), {"username": "grace", "password": "nope"})

    assert response.status_code == 400
    assert b"correct username and password" in response.content
    assert client.session["learner_id"] == str(learner.pk)
    assert TopicProgress.objects.filter(learner=account).count() == 0
    assert TopicProgress.objects.filter(learner=learner).count() == 1


def test_repeated_failures_are_throttled_with_a_clear_message(client, app_redis):
    UserFactory(username="grace", password=PASSWORD)
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post(reverse("journey:login"), {"username": "grace", "password": "nope"})

    response = client.post(reverse("journey:login"), {"username": "grace", "password": PASSWORD})

    assert response.status_code == 400
    assert b"Too many failed log-ins" in response.content
    assert "_auth_user_id" not in client.session
    assert Throttle.objects.filter(count=settings.LOGIN_FAILURE_LIMIT).exists()


def test_logging_out_forgets_the_session_and_starts_a_new_learner(client):
    user = UserFactory(username="grace", password=PASSWORD)
    client.post(reverse("journey:login"), {"username": "grace", "password": PASSWORD})
    account_learner = client.session["learner_id"]

    response = client.post(reverse("journey:logout"))
    client.get(reverse("learn:home"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.session.get("learner_id") != account_learner
    assert Learner.objects.get(pk=account_learner).user == user


def test_logout_is_post_only(client):
    client.force_login(UserFactory())

    assert client.get(reverse("journey:logout")).status_code == 405
    assert "_auth_user_id" in client.session


def test_the_header_shows_who_is_signed_in(client):
    client.force_login(UserFactory(username="grace"))

    response = client.get(reverse("learn:home"))

    assert b"grace" in response.content and b"Log out" in response.content
    assert b"Sign up" not in response.content


def test_anonymous_visitors_are_offered_log_in_and_sign_up(client):
    response = client.get(reverse("learn:home"))

    assert b"Log in" in response.content and b"Sign up" in response.content


# Change password


def test_changing_the_password_needs_an_account(client):
    response = client.get(reverse("journey:password_change"))

    assert response.status_code == 302 and reverse("journey:login") in response.url


def test_changing_the_password_keeps_the_user_signed_in(client):
    user = UserFactory(username="grace", password=PASSWORD)
    client.force_login(user)
    new = "another long passphrase 42"

    response = client.post(
        reverse("journey:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    assert client.get(reverse("journey:progress")).wsgi_request.user == user


def test_a_wrong_old_password_changes_nothing(client):
    user = UserFactory(username="grace", password=PASSWORD)
    client.force_login(user)

    response = client.post(
        reverse("journey:password_change"),
        {"old_password": "wrong", "new_password1": "x" * 20, "new_password2": "x" * 20},
    )

    assert response.status_code == 400
    assert b"old password was entered incorrectly" in response.content
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_signed_in_page_never_reaches_the_shared_cache(client, course):
    from django.test import Client

    client.force_login(UserFactory(username="grace"))
    assert b"grace" in client.get(reverse("learn:topic", args=["first"])).content
    assert b"grace" in client.get(reverse("learn:home")).content

    stranger = Client()
    topic = stranger.get(reverse("learn:topic", args=["first"])).content
    home = stranger.get(reverse("learn:home")).content

    assert b"grace" not in topic and b"grace" not in home
    assert b"Log in" in topic and b"Log in" in home


def sandbox_keys(client) -> dict[str, str]:
    rows = client.get(reverse("learn:sandbox_keys"), HTTP_ACCEPT="application/json").json()
    return {row["name"]: row["type"] for row in rows["keys"]}


def run(client, command: str):
    return client.post(
        reverse("learn:sandbox_run"), {"command": command}, HTTP_ACCEPT="application/json"
    ).json()["reply"]


def test_sandbox_keys_follow_the_learner_into_the_account(
    client, django_capture_on_commit_callbacks
):
    from django.test import Client

    UserFactory(username="grace", password=PASSWORD)
    elsewhere = Client()  # the account's earlier device
    elsewhere.post(reverse("journey:login"), {"username": "grace", "password": PASSWORD})
    run(elsewhere, "SET shared mine")
    run(elsewhere, "SET kept 1")
    elsewhere.post(reverse("journey:logout"))

    anonymous_learner(client)
    run(client, "SET shared theirs")
    run(client, "LPUSH jobs a")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("journey:login"), {"username": "grace", "password": PASSWORD})

    assert sandbox_keys(client) == {"shared": "string", "kept": "string", "jobs": "list"}
    assert run(client, "GET shared") == '"mine"'  # the account's own value wins
    assert run(client, "LRANGE jobs 0 -1") == '1) "a"'


def test_labs_and_bench_runs_follow_the_learner_into_the_account(client):
    user = UserFactory(username="grace", password=PASSWORD)
    account = Learner.objects.create(user=user)
    learner = anonymous_learner(client)
    progress = LabProgressFactory(learner=learner, current_step=2)
    run = Run.objects.create(
        learner=learner,
        kind=Run.Kind.PATTERN,
        params={},
        status=Run.Status.DONE,
        deadline=timezone.now(),
    )

    client.post(reverse("journey:login"), {"username": "grace", "password": PASSWORD})

    progress.refresh_from_db()
    run.refresh_from_db()
    assert progress.learner_id == account.pk and progress.current_step == 2
    assert run.learner_id == account.pk
    assert not Learner.objects.filter(pk=learner.pk).exists()
