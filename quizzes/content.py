"""Load the shipped quiz banks (learn/content/quizzes/<topic-slug>.toml)."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from django.conf import settings
from django.db import transaction

from learn.content_loader import ContentError
from learn.models import Topic
from quizzes.models import Choice, CommandCheck, Question, Quiz, Tag
from quizzes.validation import DraftChoice, choice_errors

KINDS = {k.value for k in Question.Kind}
CHECK_KINDS = {k.value for k in CommandCheck.Kind}


def quiz_files(content_dir: Path | None = None) -> list[Path]:
    return sorted(((content_dir or settings.CONTENT_DIR) / "quizzes").glob("*.toml"))


def _choices(number: int, item: dict) -> list[DraftChoice]:
    if item["kind"] == Question.Kind.TRUE_FALSE:
        if not isinstance(item.get("answer"), bool):
            raise ContentError(f"question {number}: true/false needs answer = true or false")
        return [DraftChoice("True", item["answer"]), DraftChoice("False", not item["answer"])]
    return [DraftChoice(c["text"], bool(c.get("correct"))) for c in item.get("choices", [])]


def _check(raw: dict) -> CommandCheck:
    kind = raw.get("type")
    if kind not in CHECK_KINDS:
        raise ContentError(f"unknown check type {kind!r}")
    values = raw.get("values")
    value = "\n".join(map(str, values)) if values is not None else raw.get("value", "")
    return CommandCheck(
        kind=kind,
        key=raw.get("key", ""),
        key_type=raw.get("key_type", ""),
        member=raw.get("member", ""),
        value=str(value) if not isinstance(value, bool) else str(value).lower(),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
    )


def parse_quiz_file(path: Path) -> dict:
    """Read and check one bank; raise ContentError naming the file and question."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(f"{path.name}: {exc}") from exc
    quiz, questions = data.get("quiz", {}), data.get("questions", [])
    for field in ("slug", "title"):
        if not quiz.get(field):
            raise ContentError(f"{path.name}: [quiz] needs {field}")
    for number, item in enumerate(questions, start=1):
        where = f"{path.name}: question {number}"
        if item.get("kind") not in KINDS:
            raise ContentError(f"{where}: kind must be one of {', '.join(sorted(KINDS))}")
        for field in ("prompt", "explanation"):
            if not str(item.get(field, "")).strip():
                raise ContentError(f"{where}: {field} is required")
        errors = choice_errors(item["kind"], _choices(number, item))
        if item["kind"] == Question.Kind.COMMAND and not item.get("checks"):
            errors.append("a command question needs checks")
        if errors:
            raise ContentError(f"{where}: {' '.join(errors)}")
        for check in item.get("checks", []):
            try:
                _check(check)
            except ContentError as exc:
                raise ContentError(f"{where}: {exc}") from None
    return data


def _write_questions(quiz: Quiz, questions: list[dict]) -> None:
    for order, item in enumerate(questions, start=1):
        question = Question.objects.create(
            quiz=quiz,
            kind=item["kind"],
            title=item.get("title", ""),
            prompt=item["prompt"],
            explanation=item["explanation"],
            difficulty=int(item.get("difficulty", 2)),
            section=item.get("section", ""),
            order=order,
            setup="\n".join(item.get("setup", [])),
            example_answer=item.get("example", ""),
        )
        question.tags.set(Tag.objects.get_or_create(name=name)[0] for name in item.get("tags", []))
        choices = _choices(order, item)
        feedback = [c.get("feedback", "") for c in item.get("choices", [])] or ["", ""]
        Choice.objects.bulk_create(
            Choice(question=question, text=c.text, correct=c.correct, feedback=fb, order=i)
            for i, (c, fb) in enumerate(zip(choices, feedback, strict=False))
        )
        checks = [_check(raw) for raw in item.get("checks", [])]
        for i, check in enumerate(checks):
            check.question, check.order = question, i
        CommandCheck.objects.bulk_create(checks)


@transaction.atomic
def load_quizzes(*, force: bool = False, content_dir: Path | None = None) -> dict[str, list[str]]:
    """Create or refresh quizzes from their files.

    A quiz edited in the admin is kept unless forced; so is one learners have
    attempts at whose file changed (replacing its questions would drop those
    learners' answers), unless forced.
    """
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "kept": []}
    for path in quiz_files(content_dir):
        source_hash = hashlib.sha256(path.read_bytes()).hexdigest()
        data = parse_quiz_file(path)
        meta = data["quiz"]
        topic = Topic.objects.filter(slug=path.stem).first()
        if topic is None:
            raise ContentError(f"{path.name}: no topic with slug {path.stem!r}")
        quiz = Quiz.objects.filter(slug=meta["slug"]).first()
        if quiz is not None and quiz.source_hash == source_hash and not force:
            outcome["unchanged"].append(quiz.slug)
            continue
        if quiz is not None and not force:
            edited = quiz.fingerprint() != quiz.loaded_fingerprint
            if edited or quiz.attempts.exists():
                outcome["kept"].append(quiz.slug)
                continue
        status = "created" if quiz is None else "updated"
        if quiz is None:
            quiz = Quiz(slug=meta["slug"], status=Quiz.Status.PUBLISHED)
        else:
            quiz.questions.all().delete()
        quiz.topic = topic
        quiz.title = meta["title"]
        quiz.description = meta.get("description", "")
        quiz.pass_mark = int(meta.get("pass_mark", 70))
        quiz.feedback = meta.get("feedback", Quiz.Feedback.IMMEDIATE)
        quiz.source_hash = source_hash
        quiz.save()
        _write_questions(quiz, data.get("questions", []))
        quiz.loaded_fingerprint = quiz.fingerprint()
        quiz.save(update_fields=["loaded_fingerprint"])
        outcome[status].append(quiz.slug)
    return outcome
