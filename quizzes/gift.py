"""Moodle's GIFT quiz format: import (`parse_gift`) and export (`dump_gift`).

Pure Python on purpose (no Django): instructors paste GIFT from Moodle banks,
and the parser must be testable and reusable without a database.

Supported: single choice, multiple select (weighted ``~`` answers) and
true/false questions, with titles, format markers, per-answer feedback,
general feedback, comments, ``$CATEGORY:`` lines and Moodle's escapes.

Choices made where GIFT (or Moodle's own parser) is loose:

* Questions are separated by blank (whitespace-only) lines, as in Moodle, so a
  blank line inside an answer block ends the question ("unclosed '{'").
  ``//`` comment lines and ``$CATEGORY:`` lines are dropped wherever they
  appear (only when they start the line, after optional whitespace).
* Every text (title, prompt, answer, feedback) is stripped of surrounding
  whitespace; lines keep their inner newlines (multi-line prompts).
* Escapes: ``\\~ \\= \\# \\{ \\} \\: \\\\`` and ``\\n`` (newline), plus ``\\%``, which
  Moodle lacks: it is the only way to start a ``~`` answer with a literal
  ``%``, so the exporter writes it there.  Any other backslash is kept as is.
* Format markers ``[markdown] [html] [plain] [moodle]`` (any case) are read
  after the title; only ``[markdown]`` is recorded (``markdown=True``).
* Text after the closing brace is accepted like Moodle's "missing word"
  question: the prompt becomes ``before + "_____" + after``.  A second answer
  block in the same question is an error (usually a missing blank line).
* Kinds: true/false when the block is ``T``/``TRUE``/``F``/``FALSE`` (any case)
  with up to two ``#`` feedbacks (wrong, then right).  Otherwise a block whose
  ``~`` answers carry any ``%weight%`` is ``multiple`` (correct = weight > 0; an
  unweighted ``~`` answer weighs 0); a block with exactly one ``=`` answer and
  unweighted ``~`` answers is ``single``.  ``~%100%A ~B`` is therefore
  ``multiple`` with one correct answer.  Weights are only allowed on ``~``.
* A lone ``{=a}`` is reported as a single choice with fewer than two answers
  (the author most likely forgot the wrong answers); ``{=a =b}`` is Moodle's
  short answer and unsupported; a block of only ``=`` answers with ``->`` is
  matching.  ``->`` inside a single/multiple answer is plain text here, though
  Moodle would read a block with ``=`` and ``->`` as matching.
* Error lines: "no answer block" points at the question's first line; errors
  about the whole block at the line of its ``{``; errors about one answer at
  the line of that answer's ``=``/``~``.

Export writes one canonical form, so export -> import -> export is
byte-identical, and importing an export gives back equal questions (ignoring
``line``) as long as their texts have no surrounding whitespace (true of
anything `parse_gift` returns).  `dump_gift` raises ValueError for a question
GIFT cannot carry (e.g. a single choice with two correct answers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["GiftChoice", "GiftError", "GiftQuestion", "dump_gift", "parse_gift"]

KINDS = ("single", "multiple", "truefalse")


@dataclass
class GiftChoice:
    text: str  # Markdown/plain text, unescaped
    correct: bool
    feedback: str = ""  # per-answer feedback (after '#')


@dataclass
class GiftQuestion:
    kind: str  # "single" | "multiple" | "truefalse"
    prompt: str  # unescaped
    title: str = ""  # from ::title::
    choices: list[GiftChoice] = field(default_factory=list)  # empty for truefalse
    answer: bool | None = None  # truefalse only
    feedback_wrong: str = ""  # truefalse: feedback for the wrong answer ({T#wrong#right})
    feedback_right: str = ""  # truefalse: feedback for the right answer
    explanation: str = ""  # GIFT general feedback (####...)
    markdown: bool = False  # the prompt was marked [markdown]
    line: int = 0  # 1-based line where the question starts (import only)


class GiftError(ValueError):
    """Every problem found in a GIFT text: ``errors`` is a list of (line, message).

    str() lists them one per line as ``line N: message``.
    """

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(f"line {line}: {message}" for line, message in self.errors))


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------

# A scanned character: (char, escaped, line).  Escaped characters are never
# structural, which is why escapes are resolved before any parsing.
_Tok = tuple[str, bool, int]

_ESCAPABLE = "~=#{}:%\\"
_FORMAT_RE = re.compile(r"\[(markdown|html|plain|moodle)\]", re.IGNORECASE)
_WEIGHT_RE = re.compile(r"-?\d+(?:\.\d+)?")
_TRUE_FALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}
_MISSING_WORD = "_____"


@dataclass
class _Answer:
    marker: str  # "=" or "~"
    text: str
    feedback: str
    weight: float | None
    line: int


def parse_gift(text: str) -> list[GiftQuestion]:
    """Parse GIFT text into questions; raise GiftError listing every problem found."""
    # Files saved on Windows or by editors that add a BOM must read the same.
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    questions: list[GiftQuestion] = []
    errors: list[tuple[int, str]] = []
    for chunk in _split_questions(text):
        question, problems = _parse_question(chunk)
        errors.extend(problems)
        if question is not None:
            questions.append(question)
    if errors:
        # Sorted so the report reads top to bottom, whatever order checks ran in.
        raise GiftError(sorted(errors, key=lambda error: error[0]))
    return questions


def _split_questions(text: str) -> list[list[tuple[int, str]]]:
    """Cut the text into questions: runs of non-blank lines, comments dropped."""
    chunks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            if current:
                chunks.append(current)
                current = []
        elif stripped.startswith("//") or stripped.startswith("$CATEGORY:"):
            # Moodle skips these without ending the question, so do we.
            continue
        else:
            current.append((number, line.rstrip()))
    if current:
        chunks.append(current)
    return chunks


def _scan(lines: list[tuple[int, str]]) -> list[_Tok]:
    """Resolve escapes, remembering which characters were escaped and their line."""
    toks: list[_Tok] = []
    for index, (number, line) in enumerate(lines):
        if index:
            toks.append(("\n", False, number))
        i = 0
        while i < len(line):
            char = line[i]
            if char == "\\" and i + 1 < len(line):
                following = line[i + 1]
                if following in _ESCAPABLE:
                    toks.append((following, True, number))
                    i += 2
                    continue
                if following == "n":
                    toks.append(("\n", True, number))
                    i += 2
                    continue
            toks.append((char, False, number))
            i += 1
    return toks


def _find(toks: list[_Tok], pattern: str, start: int = 0, end: int | None = None) -> int:
    """Index of the first unescaped occurrence of pattern in toks[start:end], or -1."""
    stop = (len(toks) if end is None else min(end, len(toks))) - len(pattern) + 1
    for i in range(start, stop):
        if all(not toks[i + k][1] and toks[i + k][0] == char for k, char in enumerate(pattern)):
            return i
    return -1


def _find_all(toks: list[_Tok], char: str) -> list[int]:
    return [i for i, (c, escaped, _) in enumerate(toks) if c == char and not escaped]


def _raw(toks: list[_Tok]) -> str:
    return "".join(tok[0] for tok in toks)


def _text(toks: list[_Tok]) -> str:
    return _raw(toks).strip()


def _skip_space(toks: list[_Tok], start: int) -> int:
    while start < len(toks) and toks[start][0].isspace() and not toks[start][1]:
        start += 1
    return start


def _parse_question(
    lines: list[tuple[int, str]],
) -> tuple[GiftQuestion | None, list[tuple[int, str]]]:
    start_line = lines[0][0]
    toks = _scan(lines)
    errors: list[tuple[int, str]] = []

    pos = _skip_space(toks, 0)
    title = ""
    if _find(toks, "::", pos, pos + 2) == pos:
        end = _find(toks, "::", pos + 2)
        if end < 0:
            return None, [(toks[pos][2], "unclosed '::' title")]
        title = _text(toks[pos + 2 : end])
        pos = end + 2

    open_at = _find(toks, "{", pos)
    if open_at < 0:
        return None, [(start_line, "question has no answer block {...}")]
    brace_line = toks[open_at][2]
    close_at = _find(toks, "}", open_at + 1)
    # No nesting in GIFT: another '{' before the '}' means this one was never closed.
    if close_at < 0 or _find(toks, "{", open_at + 1, close_at) >= 0:
        return None, [(brace_line, "unclosed '{'")]

    after = toks[close_at + 1 :]
    second = _find(after, "{")
    if second >= 0:
        errors.append(
            (
                after[second][2],
                "a second answer block in one question (is a blank line missing?)",
            )
        )

    before = _raw(toks[pos:open_at]).lstrip()
    markdown = False
    marker = _FORMAT_RE.match(before)
    if marker:
        markdown = marker.group(1).lower() == "markdown"
        before = before[marker.end() :]
    trailing = _raw(after)
    # Moodle's "missing word": the blank goes where the block stood.
    prompt = (before + _MISSING_WORD + trailing if trailing.strip() else before).strip()
    if not prompt:
        errors.append((start_line, "question has no text"))

    question = GiftQuestion(kind="", prompt=prompt, title=title, markdown=markdown, line=start_line)
    _parse_block(toks[open_at + 1 : close_at], brace_line, question, errors)
    if errors:
        return None, errors
    return question, []


def _parse_block(
    block: list[_Tok], brace_line: int, question: GiftQuestion, errors: list[tuple[int, str]]
) -> None:
    """Fill question's kind, answers and feedback from the block between the braces."""
    # General feedback first, as Moodle does, so "{####...}" is an (empty) essay.
    general = _find(block, "####")
    if general >= 0:
        question.explanation = _text(block[general + 4 :])
        block = block[:general]

    first = _skip_space(block, 0)
    if first == len(block):
        errors.append((brace_line, "unsupported question type: essay ({})"))
        return
    if block[first][0] == "#" and not block[first][1]:
        errors.append((brace_line, "unsupported question type: numerical ({#...})"))
        return

    hashes = _find_all(block, "#")
    head = _text(block[: hashes[0]] if hashes else block)
    if head.upper() in _TRUE_FALSE:
        _parse_true_false(block, hashes, head, brace_line, question, errors)
        return

    answers = _split_answers(block, brace_line, errors)
    if answers is not None:
        _classify(answers, brace_line, question, errors)


def _parse_true_false(
    block: list[_Tok],
    hashes: list[int],
    head: str,
    brace_line: int,
    question: GiftQuestion,
    errors: list[tuple[int, str]],
) -> None:
    question.kind = "truefalse"
    question.answer = _TRUE_FALSE[head.upper()]
    bounds = [*hashes, len(block)]
    feedbacks = [_text(block[bounds[i] + 1 : bounds[i + 1]]) for i in range(len(hashes))]
    if len(feedbacks) > 2:
        errors.append((brace_line, "true/false takes at most two feedbacks: {T#wrong#right}"))
        return
    feedbacks += ["", ""]
    question.feedback_wrong, question.feedback_right = feedbacks[0], feedbacks[1]


def _split_answers(
    block: list[_Tok], brace_line: int, errors: list[tuple[int, str]]
) -> list[_Answer] | None:
    starts = [i for i, (c, escaped, _) in enumerate(block) if c in "=~" and not escaped]
    if not starts:
        errors.append(
            (
                brace_line,
                "cannot read the answer block: expected '=' / '~' answers or T/F, "
                f"got {_text(block)!r}",
            )
        )
        return None
    lead = _text(block[: starts[0]])
    if lead:
        lead_line = block[_skip_space(block, 0)][2]
        errors.append((lead_line, f"unexpected text before the first answer: {lead!r}"))

    answers: list[_Answer] = []
    for index, start in enumerate(starts):
        marker, _, line = block[start]
        end = starts[index + 1] if index + 1 < len(starts) else len(block)
        segment = block[start + 1 : end]
        # The first '#' starts the feedback; Moodle keeps later ones in it.
        hash_at = _find(segment, "#")
        body = segment if hash_at < 0 else segment[:hash_at]
        feedback = "" if hash_at < 0 else _text(segment[hash_at + 1 :])

        weight: float | None = None
        pos = _skip_space(body, 0)
        if pos < len(body) and body[pos][0] == "%" and not body[pos][1]:
            close = _find(body, "%", pos + 1)
            if close < 0:
                errors.append((line, "unclosed weight: expected '%number%'"))
                weight = float("nan")
            else:
                weight = _parse_weight(_raw(body[pos + 1 : close]), line, errors)
                body = body[close + 1 :]
            if marker == "=":
                errors.append((line, "a weight is only allowed on '~' answers"))

        text = _text(body)
        if not text:
            errors.append((line, f"empty answer after '{marker}'"))
        answers.append(_Answer(marker, text, feedback, weight, line))
    return answers


def _parse_weight(raw: str, line: int, errors: list[tuple[int, str]]) -> float:
    """The weight as a number; NaN (already reported) when it cannot be used."""
    if not _WEIGHT_RE.fullmatch(raw.strip()):
        errors.append((line, f"unknown weight '%{raw}%': expected a number from -100 to 100"))
        return float("nan")
    value = float(raw)
    if not -100 <= value <= 100:
        errors.append((line, f"weight '%{raw}%' is out of range (-100 to 100)"))
        return float("nan")
    return value


def _classify(
    answers: list[_Answer], brace_line: int, question: GiftQuestion, errors: list[tuple[int, str]]
) -> None:
    right = [a for a in answers if a.marker == "="]
    wrong = [a for a in answers if a.marker == "~"]

    if not wrong and len(right) > 1:
        if any("->" in a.text for a in right):
            errors.append((brace_line, "unsupported question type: matching (=a -> b)"))
        else:
            errors.append((brace_line, "unsupported question type: short answer ({=a =b})"))
        return

    if any(a.weight is not None for a in wrong):
        question.kind = "multiple"
        if right:
            errors.append((brace_line, "multiple select cannot mix '=' with weighted '~' answers"))
        # NaN marks a weight already reported as unreadable; summing it is pointless.
        if not any(a.weight is not None and math.isnan(a.weight) for a in wrong):
            positive = sum(a.weight for a in wrong if a.weight and a.weight > 0)
            if positive == 0:
                errors.append(
                    (brace_line, "multiple select needs an answer with a positive weight")
                )
            elif abs(positive - 100) > 0.01:
                errors.append(
                    (
                        brace_line,
                        f"multiple select positive weights add up to {positive:g}, not 100",
                    )
                )
        correct = [a.weight is not None and a.weight > 0 for a in answers]
    else:
        question.kind = "single"
        if not right:
            errors.append((brace_line, "single choice has no '=' (right) answer"))
        elif len(right) > 1:
            errors.append(
                (brace_line, f"single choice has {len(right)} '=' answers; exactly one is allowed")
            )
        correct = [a.marker == "=" for a in answers]

    if len(answers) < 2:
        name = "single choice" if question.kind == "single" else "multiple select"
        errors.append((brace_line, f"{name} needs at least two answers, found {len(answers)}"))
    question.choices = [
        GiftChoice(a.text, is_correct, a.feedback)
        for a, is_correct in zip(answers, correct, strict=True)
    ]


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------

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
    return bool(_FORMAT_RE.match(prompt)) or prompt.startswith(("//", "\ufeff"))


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
