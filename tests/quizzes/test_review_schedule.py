"""The review queue's schedule: due dates move as FSRS says for right and wrong answers."""

from datetime import UTC, datetime, timedelta

import fsrs
import pytest

from quizzes import review
from quizzes.grading import QuizError
from quizzes.models import ReviewItem

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# What the site's scheduler is: FSRS with its default parameters, no fuzz.
FSRS = fsrs.Scheduler(enable_fuzzing=False)


@pytest.fixture
def learner(learner_factory):
    return learner_factory()


@pytest.fixture
def question(question_factory):
    return question_factory()


def plain(text: str) -> str:
    # Django keeps a number and its unit together with a no-break space.
    return text.replace("\xa0", " ")


def fresh_card() -> fsrs.Card:
    return fsrs.Card(card_id=1, due=T0)


def answer_at_due(item: ReviewItem, correct: bool) -> timedelta:
    """Review the item the moment it falls due; the interval until it is due again."""
    when = item.due
    review.review(item, correct, now=when)
    item.refresh_from_db()
    return item.due - when


def test_a_new_miss_is_due_at_once(learner, question):
    item = review.record_miss(learner.pk, question, now=T0)

    item.refresh_from_db()
    assert item.due == T0
    assert list(review.due_items(learner.pk, now=T0)) == [item]
    assert (item.reviews, item.lapses, item.state) == (0, 0, ReviewItem.State.LEARNING)


def test_a_right_answer_moves_due_where_fsrs_puts_it(learner, question):
    item = review.record_miss(learner.pk, question, now=T0)

    review.review(item, correct=True, now=T0)

    expected, _ = FSRS.review_card(fresh_card(), fsrs.Rating.Good, review_datetime=T0)
    item.refresh_from_db()
    assert item.due == expected.due == T0 + timedelta(minutes=10)
    assert (item.state, item.stability) == (expected.state.value, expected.stability)
    assert (item.reviews, item.last_correct, item.last_reviewed_at) == (1, True, T0)


def test_each_right_answer_pushes_the_next_review_further_out(learner, question):
    item = review.record_miss(learner.pk, question, now=T0)

    intervals = [answer_at_due(item, correct=True) for _ in range(5)]

    assert intervals == sorted(intervals) and len(set(intervals)) == 5
    assert intervals[1] >= timedelta(days=1)
    assert item.state == ReviewItem.State.REVIEW


def test_the_schedule_follows_fsrs_step_by_step(learner, question):
    item = review.record_miss(learner.pk, question, now=T0)
    card = fresh_card()

    for correct in [True, True, False, True, True]:
        rating = fsrs.Rating.Good if correct else fsrs.Rating.Again
        card, _ = FSRS.review_card(card, rating, review_datetime=card.due)
        answer_at_due(item, correct)
        assert (item.due, item.state, item.step) == (card.due, card.state.value, card.step)
        assert item.stability == pytest.approx(card.stability)


def test_a_wrong_answer_brings_a_learned_question_back_within_minutes(learner, question):
    item = review.record_miss(learner.pk, question, now=T0)
    for _ in range(3):
        answer_at_due(item, correct=True)
    assert item.due - item.last_reviewed_at > timedelta(days=3)

    interval = answer_at_due(item, correct=False)

    assert interval == timedelta(minutes=10)
    assert (item.state, item.lapses, item.last_correct) == (
        ReviewItem.State.RELEARNING,
        1,
        False,
    )


def test_lapses_count_every_wrong_answer(learner, question):
    item = review.record_miss(learner.pk, question, now=T0)

    for correct in [False, True, False, False]:
        answer_at_due(item, correct)

    assert (item.lapses, item.reviews) == (3, 4)


def test_missing_a_queued_question_again_in_a_quiz_counts_as_again(learner, question):
    first = review.record_miss(learner.pk, question, now=T0)
    review.review(first, correct=True, now=T0)
    later = T0 + timedelta(minutes=5)

    again = review.record_miss(learner.pk, question, now=later)

    assert ReviewItem.objects.get() == again == first
    again.refresh_from_db()
    assert again.due == later + timedelta(minutes=1)  # FSRS's first learning step
    assert (again.lapses, again.reviews, again.last_correct) == (1, 1, False)


def test_reviewing_before_the_due_date_is_refused_and_changes_nothing(learner, question):
    item = review.record_miss(learner.pk, question, now=T0)
    review.review(item, correct=True, now=T0)

    with pytest.raises(QuizError) as refused:
        review.review(item, correct=True, now=T0 + timedelta(minutes=1))

    assert refused.value.status == 409
    assert "comes back in 9 minutes" in plain(refused.value.message)
    item.refresh_from_db()
    assert (item.due, item.reviews) == (T0 + timedelta(minutes=10), 1)


def test_due_count_is_one_query_counting_only_this_learners_due_live_items(
    learner, learner_factory, question_factory, quiz_factory, django_assert_num_queries
):
    review.record_miss(learner.pk, question_factory())
    not_yet = review.record_miss(learner.pk, question_factory())
    ReviewItem.objects.filter(pk=not_yet.pk).update(due=not_yet.due + timedelta(days=1))
    review.record_miss(learner.pk, question_factory(quiz=quiz_factory(status="draft")))
    review.record_miss(learner_factory().pk, question_factory())

    with django_assert_num_queries(1):
        assert review.due_count(learner.pk) == 1


def test_due_count_of_nobody_is_zero_without_a_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert review.due_count(None) == 0


def test_the_models_states_are_fsrs_states():
    assert {s.value: s.name for s in fsrs.State} == {s.value: s.label for s in ReviewItem.State}


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=30), "less than a minute"),
        (timedelta(minutes=10), "10 minutes"),
        (timedelta(days=3, hours=5), "3 days"),
    ],
)
def test_due_dates_read_in_words(delta, words):
    assert plain(review.due_in_words(T0 + delta, now=T0)) == words
