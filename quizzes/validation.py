"""The rules a question must keep before it is saved, wherever it comes from
(the admin, the shipped content files, a GIFT import)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from quizzes.grading import grade_command
from quizzes.models import Question


@dataclass
class DraftChoice:
    text: str
    correct: bool


def choice_errors(kind: str, choices: Sequence[DraftChoice]) -> list[str]:
    """What is wrong with this answer key (empty when nothing is)."""
    if kind == Question.Kind.COMMAND:
        return ["A Redis command question has no choices."] if choices else []
    right = sum(1 for c in choices if c.correct)
    errors = []
    if kind == Question.Kind.TRUE_FALSE:
        if len(choices) != 2 or right != 1:
            errors.append("A true/false question needs exactly two choices, one of them correct.")
        return errors
    if len(choices) < 2:
        errors.append("Give at least two choices.")
    if kind == Question.Kind.SINGLE and right != 1:
        errors.append(
            f"A single-choice question needs exactly one correct choice (it has {right})."
        )
    if kind == Question.Kind.MULTIPLE and right < 1:
        errors.append("A multiple-select question needs at least one correct choice.")
    texts = [c.text.strip().lower() for c in choices]
    if len(set(texts)) != len(texts):
        errors.append("Two choices have the same text.")
    return errors


def command_errors(setup: Sequence[str], checks: Sequence, example: str) -> tuple[list[str], str]:
    """Run the checks on the example answer and on an empty sandbox.

    Returns (errors, report): the report shows both runs so an instructor
    sees what the grader saw.
    """
    if not checks:
        return ["Add at least one check: it is what grades the answer."], ""
    if not example.strip():
        return ["Give an example answer: the checks must pass on it."], ""
    with_example = grade_command(setup, checks, example)
    without = grade_command(setup, checks, None)
    report = (
        f"With the example answer ({example}):\n{with_example.report}\n\n"
        f"With no answer at all:\n{without.report or '(nothing to report)'}"
    )
    errors = []
    if with_example.setup_error:
        errors.append(f"The setup fails: {with_example.setup_error}")
    elif not with_example.correct:
        errors.append("The checks fail on the example answer.")
    if without.correct:
        errors.append("The checks already pass before any answer: they would accept anything.")
    return errors, report
