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

from quizzes.gift.dump import dump_gift
from quizzes.gift.parse import parse_gift
from quizzes.gift.types import GiftChoice, GiftError, GiftQuestion

__all__ = ["GiftChoice", "GiftError", "GiftQuestion", "dump_gift", "parse_gift"]
