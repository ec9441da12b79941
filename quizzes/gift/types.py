"""The GIFT question types the parser returns and the exporter writes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KINDS = ("single", "multiple", "truefalse")
# A format marker after the title: read on import, written when a prompt needs one.
FORMAT_RE = re.compile(r"\[(markdown|html|plain|moodle)\]", re.IGNORECASE)


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
