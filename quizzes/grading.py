"""Grading, only ever on the server: the one home of "is this answer right?".

Every kind is graded here, for every caller (a quiz answer in `taking`, a
review answer in `review`, a regrade and the item statistics in `statistics`):

- Choice questions (single, multiple, true/false): `chosen_choices` turns the
  submitted ids into one well-formed answer or refuses it, and `choices_right`
  compares it with the answer key.
- Redis command questions: `clean_command` refuses an empty or oversized line,
  and `grade_command_answer` runs it in a fresh scratch namespace of the sandbox
  (same parser, policy and isolation as the sandbox panel), after the
  question's setup, then tests the instructor's checks against the resulting
  state, so every correct form of an answer counts. `evaluate` is the one
  per-check function.
- `score_percent` is the one score formula (rounded half up to 0.01).
- `QuizError` is the one refusal: a message for the learner and an HTTP status.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from config.redis_config import APP_REDIS_DOWN as DOWN
from learn import checks
from learn.redis_clients import sandbox as default_sandbox
from learn.sandbox.namespace import Namespace
from learn.sandbox.runner import Outcome, Sandbox, SandboxUnavailable
from quizzes.models import Attempt, Choice, CommandCheck, Question, Response

# What a command answer column holds; a longer line is refused before grading.
COMMAND_MAX_LENGTH = Response._meta.get_field("command").max_length


class QuizError(Exception):
    """A request the rules refuse; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def score_percent(right: int, total: int) -> Decimal:
    """The score of `right` answers out of `total` questions: a percent, 0.01 half up."""
    if not total:
        return Decimal("0")
    return (Decimal(100) * right / total).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def chosen_choices(question: Question, raw_ids: Sequence[str]) -> list[Choice]:
    """The choices an answer picked, refusing (QuizError) anything that isn't one answer."""
    try:
        ids = {int(value) for value in raw_ids}
    except ValueError:
        raise QuizError("That answer is not one of the choices.") from None
    choices = [c for c in question.choices.all() if c.pk in ids]
    if len(choices) != len(ids):
        raise QuizError("That choice is not part of this question.")
    if not choices:
        raise QuizError("Choose an answer first.")
    if question.kind != Question.Kind.MULTIPLE and len(choices) > 1:
        raise QuizError("Choose one answer only.")
    return choices


def choices_right(question: Question, chosen_ids: Iterable[int]) -> bool:
    """Whether exactly the correct choices were picked."""
    return set(chosen_ids) == question.correct_choice_ids()


def clean_command(command: str) -> str:
    """The command answer to grade and store, or a refusal saying what is wrong with it."""
    line = command.strip()
    if not line:
        raise QuizError("Type a command first.")
    if len(line) > COMMAND_MAX_LENGTH:
        raise QuizError(
            f"A command answer can be at most {COMMAND_MAX_LENGTH:,} characters long "
            f"(this one has {len(line):,}). Nothing was recorded."
        )
    return line


@dataclass
class CheckResult:
    ok: bool
    description: str


@dataclass
class CommandResult:
    correct: bool
    reply: str = ""
    error: bool = False
    checks: list[CheckResult] = field(default_factory=list)
    setup_error: str = ""

    @property
    def report(self) -> str:
        lines = []
        if self.setup_error:
            lines.append(f"The question's setup failed: {self.setup_error}")
        if self.reply:
            lines.append(f"Your command replied: {self.reply}")
        lines += [("✓ " if c.ok else "✗ ") + c.description for c in self.checks]
        return "\n".join(lines)


def evaluate(
    check: CommandCheck, sandbox: Sandbox, ns: Namespace, outcome: Outcome | None
) -> CheckResult:
    """Test one check against the scratch namespace through the one checker
    (learn/checks.py, which lab steps use too); say what was found."""
    spec = checks.from_command_check(check)
    result = checks.evaluate(spec, sandbox, ns, checks.CheckContext(outcome=outcome))
    return CheckResult(result.passed, result.message)


def grade_command(
    setup: Iterable[str],
    checks: Iterable[CommandCheck],
    line: str | None,
    sandbox: Sandbox | None = None,
) -> CommandResult:
    """Run `line` (None: nothing) after `setup` in a scratch namespace and test `checks`."""
    sandbox = sandbox or default_sandbox()
    ns = Namespace("quiz" + uuid.uuid4().hex[:20])
    try:
        for setup_line in (s for s in setup if s.strip()):
            done = sandbox.run(ns, setup_line)
            if done.error:
                return CommandResult(False, setup_error=f"{setup_line} → {done.reply}")
        outcome = sandbox.run(ns, line) if line is not None else None
        results = [evaluate(check, sandbox, ns, outcome) for check in checks]
    finally:
        sandbox.discard(ns)
    correct = bool(results) and all(r.ok for r in results) and not (outcome and outcome.error)
    return CommandResult(
        correct=correct,
        reply=outcome.reply if outcome else "",
        error=bool(outcome and outcome.error),
        checks=results,
    )


def grade_question_command(question: Question, line: str | None) -> CommandResult:
    return grade_command(question.setup.splitlines(), list(question.checks.all()), line)


def grade_command_answer(question: Question, command: str) -> CommandResult:
    """Run a command answer in a scratch namespace and check it, or say the sandbox is away."""
    try:
        return grade_question_command(question, command)
    except (SandboxUnavailable, *DOWN):
        raise QuizError(
            "The sandbox server is temporarily unavailable, so your command can't be "
            "checked. Nothing was recorded: try again in a moment.",
            status=503,
        ) from None


def attempt_score(attempt: Attempt, overrides: dict[int, bool] | None = None) -> Decimal:
    """The attempt's score from its stored responses; `overrides` (response id → right)
    replaces some grades without writing them, for a regrade's dry run."""
    overrides = overrides or {}
    graded = Response.objects.filter(slot__attempt=attempt).values_list("pk", "correct")
    right = sum(overrides.get(pk, correct) for pk, correct in graded)
    return score_percent(right, attempt.slots.count())
