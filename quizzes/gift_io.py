"""GIFT files ⇄ quiz questions in the database."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from quizzes.gift import GiftChoice, GiftError, GiftQuestion, dump_gift, parse_gift
from quizzes.models import Choice, Question, Quiz
from quizzes.validation import DraftChoice, choice_errors

GIFT_KINDS = {Question.Kind.SINGLE, Question.Kind.MULTIPLE, Question.Kind.TRUE_FALSE}


def to_gift(question: Question) -> GiftQuestion:
    choices = list(question.choices.all())
    gift = GiftQuestion(
        kind=question.kind,
        prompt=question.prompt,
        title=question.title,
        explanation=question.explanation,
        markdown=True,
    )
    if question.kind == Question.Kind.TRUE_FALSE:
        right = next(c for c in choices if c.correct)
        wrong = next((c for c in choices if not c.correct), None)
        gift.answer = right.text.strip().lower() == "true"
        gift.feedback_right = right.feedback
        gift.feedback_wrong = wrong.feedback if wrong else ""
    else:
        gift.choices = [GiftChoice(c.text, c.correct, c.feedback) for c in choices]
    return gift


def export_questions(questions: Iterable[Question]) -> tuple[str, int]:
    """The GIFT text for the questions GIFT can hold, and how many were skipped."""
    parts, skipped = [], 0
    for question in questions:
        try:
            if question.kind not in GIFT_KINDS:
                raise ValueError(question.kind)
            parts.append(dump_gift([to_gift(question)]))
        except (ValueError, StopIteration):
            # A Redis command question, or an answer key GIFT cannot express.
            skipped += 1
    return "\n".join(parts), skipped


def export_quizzes(quizzes: Iterable[Quiz]) -> tuple[str, int]:
    texts, skipped = [], 0
    for quiz in quizzes:
        text, missed = export_questions(quiz.questions.prefetch_related("choices"))
        texts.append(text)
        skipped += missed
    return "\n".join(t for t in texts if t), skipped


def draft_choices(gift: GiftQuestion) -> list[DraftChoice]:
    if gift.kind == Question.Kind.TRUE_FALSE:
        return [DraftChoice("True", bool(gift.answer)), DraftChoice("False", not gift.answer)]
    return [DraftChoice(c.text, c.correct) for c in gift.choices]


def check_gift(text: str) -> list[GiftQuestion]:
    """Parse and validate; raise GiftError naming every bad line."""
    questions = parse_gift(text)
    errors = [
        (q.line, message) for q in questions for message in choice_errors(q.kind, draft_choices(q))
    ]
    if errors:
        raise GiftError(errors)
    return questions


@transaction.atomic
def import_gift(text: str, quiz: Quiz) -> list[Question]:
    """Add the file's questions to the quiz: all of them, or none if any is wrong."""
    questions = check_gift(text)
    start = (quiz.questions.order_by("-order").values_list("order", flat=True).first() or 0) + 1
    created = []
    for offset, gift in enumerate(questions):
        question = Question.objects.create(
            quiz=quiz,
            kind=gift.kind,
            title=gift.title,
            prompt=gift.prompt,
            explanation=gift.explanation,
            order=start + offset,
        )
        if gift.kind == Question.Kind.TRUE_FALSE:
            feedback = {gift.answer: gift.feedback_right, not gift.answer: gift.feedback_wrong}
            rows = [
                Choice(question=question, text=str(value), correct=gift.answer is value,
                       feedback=feedback[value], order=i)
                for i, value in enumerate((True, False))
            ]  # fmt: skip
        else:
            rows = [
                Choice(
                    question=question, text=c.text, correct=c.correct, feedback=c.feedback, order=i
                )
                for i, c in enumerate(gift.choices)
            ]
        Choice.objects.bulk_create(rows)
        created.append(question)
    return created
