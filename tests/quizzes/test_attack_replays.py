"""Issue #16's quiz findings, each replayed as the attack was made, with the state after.

Finding 5 (racing awards) is in test_races.py; 16 (the GIFT upload) in
test_gift_admin.py.
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from learn.models import Learner
from quizzes import leaderboard, taking
from quizzes.models import Attempt, Quiz, Response, ReviewItem
from quizzes.statistics import quiz_statistics
from tests.factories import (
    CommandCheckFactory,
    LearnerFactory,
    QuestionFactory,
    QuizFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


def started(client, quiz) -> Attempt:
    client.post(reverse("quizzes:start", args=[quiz.slug]))
    return Attempt.objects.filter(quiz=quiz).latest("started_at")


def url(name: str, attempt: Attempt, *rest) -> str:
    return reverse(f"quizzes:{name}", args=[attempt.quiz.slug, attempt.pk, *rest])


def answer(client, attempt: Attempt, position: int, right: bool, **headers):
    question = attempt.slots.get(position=position).question
    choice = question.choices.filter(correct=right).first()
    return client.post(url("answer", attempt, position), {"choice": choice.pk}, headers=headers)


# -- Finding 4: "5 more minutes" only before expiry, a bounded number of times


@pytest.fixture
def timed_quiz():
    quiz = QuizFactory(time_limit_minutes=1)
    QuestionFactory(quiz=quiz, order=1)
    QuestionFactory(quiz=quiz, order=2)
    return quiz


def test_extra_time_after_the_deadline_is_refused_and_the_attempt_stays_finished(
    client, timed_quiz
):
    attempt = started(client, timed_quiz)
    answer(client, attempt, 1, right=True)
    deadline = timezone.now() - timedelta(seconds=5)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=deadline)

    response = client.post(url("extend", attempt), {"position": "2"})

    attempt.refresh_from_db()
    assert response.status_code == 409
    assert "Extra time can only be given before the time runs out" in response.content.decode()
    assert (attempt.deadline, attempt.extensions) == (deadline, 0)
    assert attempt.finished_at == deadline and attempt.score == 50
    # It cannot be answered any more either.
    assert answer(client, attempt, 2, right=True).status_code == 409
    assert Response.objects.count() == 1


def test_extra_time_is_given_at_most_the_quizs_number_of_times(client, timed_quiz):
    attempt = started(client, timed_quiz)
    first_deadline = attempt.deadline

    statuses = [client.post(url("extend", attempt)).status_code for _ in range(5)]

    attempt.refresh_from_db()
    assert statuses == [302, 302, 409, 409, 409]
    assert attempt.extensions == 2
    added = (attempt.deadline - first_deadline).total_seconds()
    assert added == pytest.approx(10 * 60, abs=5)


def test_a_refusal_says_how_much_extra_time_the_quiz_gives(client, timed_quiz):
    timed_quiz.max_extensions = 1
    timed_quiz.save()
    attempt = started(client, timed_quiz)
    client.post(url("extend", attempt))

    refused = client.post(url("extend", attempt), headers={"HX-Request": "true"})

    assert refused.status_code == 409
    html = refused.content.decode()
    assert "at most once per attempt" in html
    assert "<html" not in html and 'role="alert"' in html  # the htmx fragment


def test_a_quiz_that_gives_no_extra_time_offers_no_button_and_refuses(client, timed_quiz):
    timed_quiz.max_extensions = 0
    timed_quiz.save()
    attempt = started(client, timed_quiz)

    page = client.get(url("question", attempt, 1)).content.decode()
    refused = client.post(url("extend", attempt))

    attempt.refresh_from_db()
    assert "5 more minutes" not in page
    assert refused.status_code == 409 and "gives no extra time" in refused.content.decode()
    assert attempt.extensions == 0


def test_the_question_page_says_how_many_extensions_are_left(client, timed_quiz):
    attempt = started(client, timed_quiz)
    client.post(url("extend", attempt))

    page = client.get(url("question", attempt, 1)).content.decode()

    assert "Give me 5 more minutes" in page and "1 extension left" in page


def test_extending_needs_a_post(client, timed_quiz):
    attempt = started(client, timed_quiz)

    response = client.get(url("extend", attempt))

    attempt.refresh_from_db()
    assert response.status_code == 405 and attempt.extensions == 0


def test_nobody_extends_another_learners_attempt(client, timed_quiz):
    attempt = started(client, timed_quiz)
    client.cookies.clear()

    response = client.post(url("extend", attempt))

    attempt.refresh_from_db()
    assert response.status_code == 403 and attempt.extensions == 0


def test_instructors_set_the_extra_time_allowed_in_the_admin(instructor_client, timed_quiz):
    change = reverse("admin:quizzes_quiz_change", args=[timed_quiz.pk])

    page = instructor_client.get(change).content.decode()

    assert 'name="max_extensions"' in page and "Extra time allowed" in page


# -- Finding 10: a quiz with feedback at the end queues its misses at the end


@pytest.fixture
def end_quiz():
    quiz = QuizFactory(feedback=Quiz.Feedback.END)
    QuestionFactory(quiz=quiz, order=1)
    QuestionFactory(quiz=quiz, order=2)
    return quiz


def test_a_miss_in_an_end_feedback_quiz_is_not_queued_for_review_before_the_finish(
    client, end_quiz
):
    attempt = started(client, end_quiz)
    answer(client, attempt, 1, right=False)
    missed = attempt.slots.get(position=1).question

    review_page = client.get(reverse("review:page")).content.decode()

    assert ReviewItem.objects.count() == 0
    assert missed.prompt not in review_page and "less than a minute" not in review_page


def test_an_end_feedback_quiz_queues_its_misses_when_it_finishes(client, end_quiz):
    attempt = started(client, end_quiz)
    answer(client, attempt, 1, right=False)
    answer(client, attempt, 2, right=True)

    client.post(url("finish", attempt))

    missed = attempt.slots.get(position=1).question
    assert list(ReviewItem.objects.values_list("question_id", flat=True)) == [missed.pk]


def test_an_end_feedback_quiz_whose_time_ran_out_queues_its_misses(client, end_quiz):
    end_quiz.time_limit_minutes = 1
    end_quiz.save()
    attempt = started(client, end_quiz)
    answer(client, attempt, 1, right=False)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now())

    client.get(url("results", attempt))

    assert ReviewItem.objects.count() == 1


def test_an_immediate_feedback_quiz_still_queues_a_miss_at_once(client):
    quiz = QuizFactory(feedback=Quiz.Feedback.IMMEDIATE)
    QuestionFactory(quiz=quiz, order=1)
    QuestionFactory(quiz=quiz, order=2)
    attempt = started(client, quiz)

    answer(client, attempt, 1, right=False)

    assert ReviewItem.objects.count() == 1
    assert not Attempt.objects.get().is_finished


# -- Finding 11: a command answer longer than its column is refused, not a 500


@pytest.fixture
def command_quiz():
    quiz = QuizFactory()
    question = QuestionFactory(quiz=quiz, kind="command", example_answer="SET a 1")
    CommandCheckFactory(question=question, kind="value", key="a", value="1")
    return quiz


LONG = "SET a " + "x" * 2_000


def test_a_command_answer_over_2000_characters_is_refused_with_a_message(client, command_quiz):
    attempt = started(client, command_quiz)

    response = client.post(url("answer", attempt, 1), {"command": LONG})

    assert response.status_code == 400
    assert "at most 2,000 characters" in response.content.decode()
    assert Response.objects.count() == 0


def test_an_oversized_command_answer_over_htmx_gets_the_refusal_fragment(client, command_quiz):
    attempt = started(client, command_quiz)

    response = client.post(
        url("answer", attempt, 1), {"command": LONG}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 400
    assert "<html" not in response.content.decode()
    assert Response.objects.count() == 0


def test_an_oversized_command_in_review_is_refused_and_changes_nothing(client, command_quiz):
    attempt = started(client, command_quiz)
    Attempt.objects.filter(pk=attempt.pk).update(finished_at=timezone.now(), score=0)
    question = command_quiz.questions.get()
    learner_id = client.session["learner_id"]
    item = ReviewItem.objects.create(learner_id=learner_id, question=question)

    response = client.post(reverse("review:answer", args=[item.pk]), {"command": LONG})

    reviewed = ReviewItem.objects.get()
    assert response.status_code == 400
    assert "at most 2,000 characters" in response.content.decode()
    assert (reviewed.reviews, reviewed.due) == (0, item.due)


# -- Finding 13: nicknames that only look different


@pytest.mark.redis
@pytest.mark.parametrize("look_alike", ["Race Nick", "Race_Nick", "RACE-NICK", "race  nick"])
def test_a_nickname_that_only_looks_different_is_refused(
    client, django_capture_on_commit_callbacks, look_alike
):
    with django_capture_on_commit_callbacks(execute=True):
        leaderboard.join(LearnerFactory().pk, "racenick")

    response = client.post(reverse("leaderboard:join"), {"nickname": look_alike})

    assert response.status_code == 422
    assert "Someone already uses that nickname" in response.content.decode()
    assert Learner.objects.filter(nickname__isnull=False).count() == 1


def test_the_database_refuses_a_look_alike_nickname_too():
    LearnerFactory(nickname="racenick")

    with pytest.raises(IntegrityError), transaction.atomic():
        LearnerFactory(nickname="Race_Nick")

    assert Learner.objects.filter(nickname__isnull=False).count() == 1


def test_joining_with_a_look_alike_that_slipped_past_the_form_is_refused():
    LearnerFactory(nickname="racenick")
    other = LearnerFactory()

    with pytest.raises(leaderboard.NicknameTaken):
        leaderboard.join(other.pk, "Race-Nick")

    other.refresh_from_db()
    assert other.nickname is None


def test_nickname_keys_fold_case_width_and_separators():
    assert leaderboard.nickname_key("Race Nick") == "racenick"
    assert leaderboard.nickname_key("ＲＡＣＥ_nick") == "racenick"  # fullwidth letters (NFKC)
    assert leaderboard.nickname_key("Straße") == leaderboard.nickname_key("STRASSE")


# -- Finding 15: hundreds of junk attempts from one session


def test_starting_a_quiz_is_capped_per_learner_per_hour(client):
    quiz = QuizFactory()
    QuestionFactory(quiz=quiz)
    for _ in range(taking.ATTEMPTS_PER_WINDOW):
        attempt = started(client, quiz)
        client.post(url("finish", attempt))

    refused = client.post(reverse("quizzes:start", args=[quiz.slug]))

    assert refused.status_code == 429
    assert "started this quiz 10 times in the last hour" in refused.content.decode()
    assert Attempt.objects.count() == taking.ATTEMPTS_PER_WINDOW
    assert not Attempt.objects.in_progress().exists()


def test_an_open_attempt_is_resumed_whatever_the_cap(client):
    quiz = QuizFactory()
    QuestionFactory(quiz=quiz)
    attempt = started(client, quiz)

    for _ in range(taking.ATTEMPTS_PER_WINDOW + 2):
        client.post(reverse("quizzes:start", args=[quiz.slug]))

    assert list(Attempt.objects.values_list("pk", flat=True)) == [attempt.pk]


def test_starts_older_than_an_hour_do_not_count_towards_the_cap(client):
    quiz = QuizFactory()
    QuestionFactory(quiz=quiz)
    for _ in range(taking.ATTEMPTS_PER_WINDOW):
        client.post(url("finish", started(client, quiz)))
    Attempt.objects.update(started_at=timezone.now() - timedelta(hours=1, minutes=1))

    response = client.post(reverse("quizzes:start", args=[quiz.slug]))

    assert response.status_code == 302
    assert Attempt.objects.in_progress().count() == 1


def _finish(learner, quiz, right: bool) -> Attempt:
    attempt = taking.start_attempt(str(learner.pk), quiz)
    choice = attempt.slots.get().question.choices.filter(correct=right).first()
    taking.submit_answer(attempt, 1, [str(choice.pk)], "")
    return taking.finish_attempt(attempt)


def test_junk_retakes_from_one_learner_do_not_move_the_item_statistics():
    quiz = QuizFactory()
    QuestionFactory(quiz=quiz)
    for _ in range(2):
        _finish(LearnerFactory(), quiz, right=True)
    junk = LearnerFactory()
    _finish(junk, quiz, right=False)
    for _ in range(9):  # the cap stops the tenth start within the hour
        _finish(junk, quiz, right=False)
        Attempt.objects.filter(learner=junk).update(started_at=timezone.now() - timedelta(hours=2))

    stats = quiz_statistics(quiz)

    assert (stats.attempts, stats.finished) == (3, 12)
    assert stats.items[0].answers == 3
    assert round(stats.items[0].facility) == 67
    assert stats.pass_rate == pytest.approx(200 / 3)


def test_the_statistics_page_says_which_attempts_count(instructor_client):
    quiz = QuizFactory()
    QuestionFactory(quiz=quiz)
    learner = LearnerFactory()
    _finish(learner, quiz, right=False)
    _finish(learner, quiz, right=True)

    page = instructor_client.get(reverse("admin:quizzes_quiz_statistics", args=[quiz.pk]))

    html = page.content.decode()
    assert "each learner's first finished attempt" in html
    assert '<th scope="row">Finished attempts</th><td>2</td>' in html
    assert '<th scope="row">Attempts counted</th><td>1 ' in html
    assert page.context["stats"].attempts == 1


def test_a_staff_members_first_attempt_counts_like_any_learners():
    # Documented choice: a staff member's first attempt counts too; instructors
    # who preview a quiz before publishing are one learner among the class.
    quiz = QuizFactory()
    QuestionFactory(quiz=quiz)
    staff = LearnerFactory(user=StaffFactory())
    _finish(staff, quiz, right=True)

    assert quiz_statistics(quiz).attempts == 1
