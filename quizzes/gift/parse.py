"""GIFT text → questions (`parse_gift`); the rules are in the package docstring."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from quizzes.gift.types import FORMAT_RE, GiftChoice, GiftError, GiftQuestion

# A scanned character: (char, escaped, line).  Escaped characters are never
# structural, which is why escapes are resolved before any parsing.
_Tok = tuple[str, bool, int]

_ESCAPABLE = "~=#{}:%\\"
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
    marker = FORMAT_RE.match(before)
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
