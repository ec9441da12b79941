"""One score formula and one answer check for every caller (issue #11)."""

from decimal import Decimal

import pytest

from quizzes import taking
from quizzes.grading import QuizError, clean_command, score_percent
from quizzes.statistics import regrade
from tests.factories import LearnerFactory, QuestionFactory, QuizFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("right", "total", "score"),
    [(0, 0, "0"), (2, 3, "66.67"), (1, 32, "3.13"), (3, 32, "9.38"), (32, 32, "100.00")],
)
def test_scores_are_percents_rounded_half_up_to_a_hundredth(right, total, score):
    assert score_percent(right, total) == Decimal(score)


def test_a_regrade_dry_run_scores_as_a_finish_does():
    quiz = QuizFactory(pass_mark=1)
    for order in range(32):
        QuestionFactory(quiz=quiz, order=order)
    attempt = taking.start_attempt(str(LearnerFactory().pk), quiz)
    for slot in attempt.slots.select_related("question"):
        wrong = slot.question.choices.filter(correct=False).first()
        taking.submit_answer(attempt, slot.position, [str(wrong.pk)], "")
    taking.finish_attempt(attempt)
    # The key changes so that one of the learner's answers becomes right: 1/32.
    first = attempt.slots.get(position=1).question
    chosen = attempt.slots.get(position=1).response.choices.get()
    first.choices.update(correct=False)
    chosen.correct = True
    chosen.save()

    dry = regrade(quiz, apply=False)
    regrade(quiz, apply=True)

    attempt.refresh_from_db()
    assert [(c.old, c.new) for c in dry] == [(Decimal("0"), Decimal("3.13"))]
    assert attempt.score == Decimal("3.13")


def test_a_command_answer_is_trimmed_and_bounded():
    assert clean_command("  GET a  ") == "GET a"
    with pytest.raises(QuizError, match="Type a command first"):
        clean_command("   ")
    with pytest.raises(QuizError, match="at most 2,000 characters"):
        clean_command("x" * 2001)
