"""Questions → canonical GIFT text (`dump_gift`); see the package docstring."""

from __future__ import annotations

from collections.abc import Iterable

from quizzes.gift.types import FORMAT_RE, KINDS, GiftQuestion

_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "~": "\\~",
        "=": "\\=",
        "#": "\\#",
        "{": "\\{",
        "}": "\\}",
        ":": "\\:",
        "\n": "\\n",
    }
)


def dump_gift(questions: Iterable[GiftQuestion]) -> str:
    """Write questions as canonical GIFT; raise ValueError for one GIFT cannot carry."""
    parts = []
    for number, question in enumerate(questions, start=1):
        problem = _export_problem(question)
        if problem:
            raise ValueError(f"question {number} cannot be exported to GIFT: {problem}")
        parts.append(_dump_question(question))
    return "\n\n".join(parts) + "\n" if parts else ""


def _escape(text: str) -> str:
    # Stray carriage returns would become newlines on import; make that explicit now
    # so a second export matches the first byte for byte.
    text = text.strip().replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_ESCAPES)


def _escape_answer(text: str) -> str:
    escaped = _escape(text)
    # A leading '%' would be read as a weight.
    return "\\" + escaped if escaped.startswith("%") else escaped


def _export_problem(q: GiftQuestion) -> str:
    if q.kind not in KINDS:
        return f"unknown kind {q.kind!r}"
    if not q.prompt.strip():
        return "empty prompt"
    if q.kind == "truefalse":
        if not isinstance(q.answer, bool):
            return "a true/false question needs answer=True or False"
        if q.choices:
            return "a true/false question has no choices"
        return ""
    if q.answer is not None or q.feedback_wrong or q.feedback_right:
        return "answer/feedback_wrong/feedback_right are for true/false questions only"
    if len(q.choices) < 2:
        return "a choice question needs at least two choices"
    if any(not choice.text.strip() for choice in q.choices):
        return "empty choice text"
    correct = sum(choice.correct for choice in q.choices)
    if q.kind == "single" and correct != 1:
        return f"a single choice question needs exactly one correct choice, has {correct}"
    if q.kind == "multiple" and correct == 0:
        return "a multiple select question needs a correct choice"
    return ""


def _needs_format_marker(prompt: str) -> bool:
    """Would the escaped prompt line be misread on import?

    As a format marker or a comment, or, heading the file, lose a leading BOM.
    "$CATEGORY:" needs nothing: its ':' is escaped, so the line no longer matches.
    """
    return bool(FORMAT_RE.match(prompt)) or prompt.startswith(("//", "\ufeff"))


def _format_weight(value: float) -> str:
    # Moodle stores fractions with 7 digits, so it writes 33.33333, not 33.333333333.
    return f"{value:.5f}".rstrip("0").rstrip(".")


def _dump_question(q: GiftQuestion) -> str:
    head = f"::{_escape(q.title)}::" if q.title.strip() else ""
    prompt = _escape(q.prompt)
    if q.markdown:
        head += "[markdown]"
    elif _needs_format_marker(prompt):
        # GIFT cannot escape '[' or '/', but only one marker is read, so an explicit
        # default one keeps the text intact.
        head += "[moodle]"
    head += prompt

    if q.kind == "truefalse":
        block = "{" + ("TRUE" if q.answer else "FALSE")
        if q.feedback_wrong.strip() or q.feedback_right.strip():
            block += "#" + _escape(q.feedback_wrong)
            if q.feedback_right.strip():
                block += "#" + _escape(q.feedback_right)
        if q.explanation.strip():
            block += "####" + _escape(q.explanation)
        return f"{head}\n{block}}}"

    lines = [head, "{"]
    correct_count = sum(choice.correct for choice in q.choices)
    for choice in q.choices:
        if q.kind == "single":
            prefix = "=" if choice.correct else "~"
        else:
            weight = 100 / correct_count if choice.correct else -100
            prefix = f"~%{_format_weight(weight)}%"
        line = f"  {prefix}{_escape_answer(choice.text)}"
        if choice.feedback.strip():
            line += "#" + _escape(choice.feedback)
        lines.append(line)
    if q.explanation.strip():
        lines.append("  ####" + _escape(q.explanation))
    lines.append("}")
    return "\n".join(lines)
