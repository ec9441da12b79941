"""GIFT import/export: every supported feature, every error with its line, round trips."""

import dataclasses

import pytest

from quizzes.gift import GiftChoice, GiftError, GiftQuestion, dump_gift, parse_gift

# One file using every supported feature; EVERYTHING is what it must parse to.
EVERYTHING = r"""// A GIFT bank for the eviction chapter.
$CATEGORY: $course$/ElastiCache/Eviction

::Eviction policy::[markdown]Which policy evicts the **least recently used** keys?
{
  =allkeys-lru#Right: LRU over all keys.
  ~noeviction#That one refuses writes instead.
  // a comment inside a block is ignored too
  ~volatile-ttl
  ####See `maxmemory-policy`.
}

   // an indented comment
::TF short::Redis runs commands on one thread.{T}

Valkey is a fork of Redis.{TRUE#No, it is a fork.#Yes: forked from Redis 7.2.}

ElastiCache Serverless needs you to pick a node type.{f}

A replica can accept writes by default.{False####Replicas are read-only by default.}

::Pick two::[html]Which commands are O(1)?{
  ~%50%GET#Yes.
  ~%50%SET
  ~%-100%KEYS *#Scans everything.
####Mind the big-O.}

[plain]Escapes\: \~ \= \# \{ \} \\ and a\nnew line{
  =a\=b \{c\}#it is \#1
  ~x\~y
}

[moodle]A prompt
on two lines {
  ~%100%only this
  ~not this
}

Cluster mode shards by {=hash slot ~key prefix ~client} over 16384 slots.
"""

EXPECTED = [
    GiftQuestion(
        kind="single",
        prompt="Which policy evicts the **least recently used** keys?",
        title="Eviction policy",
        choices=[
            GiftChoice("allkeys-lru", True, "Right: LRU over all keys."),
            GiftChoice("noeviction", False, "That one refuses writes instead."),
            GiftChoice("volatile-ttl", False),
        ],
        explanation="See `maxmemory-policy`.",
        markdown=True,
        line=4,
    ),
    GiftQuestion(
        kind="truefalse",
        prompt="Redis runs commands on one thread.",
        title="TF short",
        answer=True,
        line=14,
    ),
    GiftQuestion(
        kind="truefalse",
        prompt="Valkey is a fork of Redis.",
        answer=True,
        feedback_wrong="No, it is a fork.",
        feedback_right="Yes: forked from Redis 7.2.",
        line=16,
    ),
    GiftQuestion(
        kind="truefalse",
        prompt="ElastiCache Serverless needs you to pick a node type.",
        answer=False,
        line=18,
    ),
    GiftQuestion(
        kind="truefalse",
        prompt="A replica can accept writes by default.",
        answer=False,
        explanation="Replicas are read-only by default.",
        line=20,
    ),
    GiftQuestion(
        kind="multiple",
        prompt="Which commands are O(1)?",
        title="Pick two",
        choices=[
            GiftChoice("GET", True, "Yes."),
            GiftChoice("SET", True),
            GiftChoice("KEYS *", False, "Scans everything."),
        ],
        explanation="Mind the big-O.",
        line=22,
    ),
    GiftQuestion(
        kind="single",
        prompt="Escapes: ~ = # { } \\ and a\nnew line",
        choices=[GiftChoice("a=b {c}", True, "it is #1"), GiftChoice("x~y", False)],
        line=28,
    ),
    GiftQuestion(
        kind="multiple",
        prompt="A prompt\non two lines",
        choices=[GiftChoice("only this", True), GiftChoice("not this", False)],
        line=33,
    ),
    GiftQuestion(
        kind="single",
        prompt="Cluster mode shards by _____ over 16384 slots.",
        choices=[
            GiftChoice("hash slot", True),
            GiftChoice("key prefix", False),
            GiftChoice("client", False),
        ],
        line=39,
    ),
]


def without_line(questions: list[GiftQuestion]) -> list[GiftQuestion]:
    return [dataclasses.replace(q, line=0) for q in questions]


def error_lines(text: str) -> list[tuple[int, str]]:
    with pytest.raises(GiftError) as caught:
        parse_gift(text)
    return caught.value.errors


def test_it_parses_every_supported_feature():
    assert parse_gift(EVERYTHING) == EXPECTED


def test_it_exports_every_supported_feature_canonically():
    assert dump_gift(EXPECTED) == (
        "::Eviction policy::[markdown]Which policy evicts the **least recently used** keys?\n"
        "{\n"
        "  =allkeys-lru#Right\\: LRU over all keys.\n"
        "  ~noeviction#That one refuses writes instead.\n"
        "  ~volatile-ttl\n"
        "  ####See `maxmemory-policy`.\n"
        "}\n"
        "\n"
        "::TF short::Redis runs commands on one thread.\n"
        "{TRUE}\n"
        "\n"
        "Valkey is a fork of Redis.\n"
        "{TRUE#No, it is a fork.#Yes\\: forked from Redis 7.2.}\n"
        "\n"
        "ElastiCache Serverless needs you to pick a node type.\n"
        "{FALSE}\n"
        "\n"
        "A replica can accept writes by default.\n"
        "{FALSE####Replicas are read-only by default.}\n"
        "\n"
        "::Pick two::Which commands are O(1)?\n"
        "{\n"
        "  ~%50%GET#Yes.\n"
        "  ~%50%SET\n"
        "  ~%-100%KEYS *#Scans everything.\n"
        "  ####Mind the big-O.\n"
        "}\n"
        "\n"
        "Escapes\\: \\~ \\= \\# \\{ \\} \\\\ and a\\nnew line\n"
        "{\n"
        "  =a\\=b \\{c\\}#it is \\#1\n"
        "  ~x\\~y\n"
        "}\n"
        "\n"
        "A prompt\\non two lines\n"
        "{\n"
        "  ~%100%only this\n"
        "  ~%-100%not this\n"
        "}\n"
        "\n"
        "Cluster mode shards by _____ over 16384 slots.\n"
        "{\n"
        "  =hash slot\n"
        "  ~key prefix\n"
        "  ~client\n"
        "}\n"
    )


BROKEN = """\
// three good questions hide among the broken ones
Good one {=a ~b}

Unclosed {=a ~b

No block at all

Fine {T}

Weights wrong {
  ~%50%a
  ~%40%b
  ~%abc%c
}

Numeric {#3:0.5}

Two rights {=a =b ~c}
Then {=x ~y}

Last good {F}
"""


def test_it_reports_every_error_of_a_broken_file_with_its_line():
    with pytest.raises(GiftError) as caught:
        parse_gift(BROKEN)
    assert caught.value.errors == [
        (4, "unclosed '{'"),
        (6, "question has no answer block {...}"),
        (13, "unknown weight '%abc%': expected a number from -100 to 100"),
        (16, "unsupported question type: numerical ({#...})"),
        (18, "single choice has 2 '=' answers; exactly one is allowed"),
        (19, "a second answer block in one question (is a blank line missing?)"),
    ]
    assert str(caught.value) == (
        "line 4: unclosed '{'\n"
        "line 6: question has no answer block {...}\n"
        "line 13: unknown weight '%abc%': expected a number from -100 to 100\n"
        "line 16: unsupported question type: numerical ({#...})\n"
        "line 18: single choice has 2 '=' answers; exactly one is allowed\n"
        "line 19: a second answer block in one question (is a blank line missing?)"
    )
    assert isinstance(caught.value, ValueError)


# Each error alone.  Every case starts with a good question and a comment so the
# reported line is not trivially 1.
PREFIX = "Good {=a ~b}\n\n// next one is wrong\n"  # the case's own text starts on line 4

ERROR_CASES = [
    ("unclosed-brace", "Q {=a ~b", [(4, "unclosed '{'")]),
    ("unclosed-brace-multiline", "Q\n{\n=a\n~b", [(5, "unclosed '{'")]),
    ("brace-opened-twice", "Q {=a {~b}", [(4, "unclosed '{'")]),
    (
        "no-answer-block",
        "Just a statement.\nOn two lines.",
        [(4, "question has no answer block {...}")],
    ),
    ("unclosed-title", "::Title Q {=a ~b}", [(4, "unclosed '::' title")]),
    ("no-text", "::Title::{=a ~b}", [(4, "question has no text")]),
    ("single-no-right", "Q {~a ~b}", [(4, "single choice has no '=' (right) answer")]),
    (
        "single-two-rights",
        "Q\n{=a ~b =c}",
        [(5, "single choice has 2 '=' answers; exactly one is allowed")],
    ),
    (
        "single-one-answer",
        "Q {=a}",
        [(4, "single choice needs at least two answers, found 1")],
    ),
    (
        "single-lone-wrong",
        "Q {~a}",
        [
            (4, "single choice has no '=' (right) answer"),
            (4, "single choice needs at least two answers, found 1"),
        ],
    ),
    (
        "multiple-one-answer",
        "Q {~%100%a}",
        [(4, "multiple select needs at least two answers, found 1")],
    ),
    (
        "multiple-sum-below-100",
        "Q {~%50%a ~%40%b ~%-100%c}",
        [(4, "multiple select positive weights add up to 90, not 100")],
    ),
    (
        "multiple-sum-above-100",
        "Q {~%50%a ~%50.02%b}",
        [(4, "multiple select positive weights add up to 100.02, not 100")],
    ),
    (
        "multiple-no-positive",
        "Q {~%-50%a ~%0%b}",
        [(4, "multiple select needs an answer with a positive weight")],
    ),
    (
        "multiple-mixed-with-right",
        "Q {=a ~%100%b}",
        [(4, "multiple select cannot mix '=' with weighted '~' answers")],
    ),
    (
        "unknown-weight",
        "Q {\n~%50%a\n~%abc%b\n~%50%c}",
        [(6, "unknown weight '%abc%': expected a number from -100 to 100")],
    ),
    (
        "weight-out-of-range",
        "Q {~%150%a ~%-100%b}",
        [(4, "weight '%150%' is out of range (-100 to 100)")],
    ),
    ("unclosed-weight", "Q {~%50 a ~%50%b}", [(4, "unclosed weight: expected '%number%'")]),
    (
        "weight-on-right-answer",
        "Q {=%100%a ~b}",
        [(4, "a weight is only allowed on '~' answers")],
    ),
    ("empty-answer", "Q {=a ~ #why}", [(4, "empty answer after '~'")]),
    (
        "text-before-answers",
        "Q {\nmaybe\n=a ~b}",
        [(5, "unexpected text before the first answer: 'maybe'")],
    ),
    (
        "unreadable-block",
        "Q {perhaps}",
        [
            (
                4,
                "cannot read the answer block: expected '=' / '~' answers or T/F, got 'perhaps'",
            )
        ],
    ),
    (
        "true-false-three-feedbacks",
        "Q {T#a#b#c}",
        [(4, "true/false takes at most two feedbacks: {T#wrong#right}")],
    ),
    ("numerical", "Q {#2:0.5}", [(4, "unsupported question type: numerical ({#...})")]),
    ("numerical-range", "Q { #1..5}", [(4, "unsupported question type: numerical ({#...})")]),
    (
        "matching",
        "Q {\n=a -> 1\n=b -> 2\n}",
        [(4, "unsupported question type: matching (=a -> b)")],
    ),
    ("short-answer", "Q {=ttl =TTL}", [(4, "unsupported question type: short answer ({=a =b})")]),
    ("essay", "Q {}", [(4, "unsupported question type: essay ({})")]),
    ("essay-with-feedback", "Q {####Any answer.}", [(4, "unsupported question type: essay ({})")]),
    (
        "second-block",
        "Q {=a ~b}\nQ2 {T}",
        [(5, "a second answer block in one question (is a blank line missing?)")],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [case[1:] for case in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_it_reports_each_error_with_its_line(text, expected):
    assert error_lines(PREFIX + text + "\n\nAfter {T}\n") == expected


TRUE_FALSE_SPELLINGS = [
    ("{T}", True),
    ("{TRUE}", True),
    ("{t}", True),
    ("{True}", True),
    ("{ TRUE }", True),
    ("{F}", False),
    ("{FALSE}", False),
    ("{f}", False),
    ("{false}", False),
]


@pytest.mark.parametrize(("block", "answer"), TRUE_FALSE_SPELLINGS)
def test_it_parses_true_false_in_any_spelling(block, answer):
    assert parse_gift(f"Statement {block}") == [
        GiftQuestion(kind="truefalse", prompt="Statement", answer=answer, line=1)
    ]


@pytest.mark.parametrize(
    ("block", "wrong", "right"),
    [
        ("{T#wrong}", "wrong", ""),
        ("{T#wrong#right}", "wrong", "right"),
        ("{T##right}", "", "right"),
        ("{F#w \\# 1#r\\: ok####general}", "w # 1", "r: ok"),
    ],
)
def test_it_parses_true_false_feedback(block, wrong, right):
    [question] = parse_gift(f"S {block}")
    assert (question.feedback_wrong, question.feedback_right) == (wrong, right)


@pytest.mark.parametrize(
    ("block", "correct"),
    [
        # Any '%weight%' on a '~' answer makes the block a multiple select.
        ("{~%100%a ~b ~c}", [True, False, False]),
        ("{~%50%a ~%50%b ~%-100%c}", [True, True, False]),
        ("{~%33.33333%a ~%33.33333%b ~%33.33333%c ~%0%d}", [True, True, True, False]),
        ("{~%25%a ~%75%b}", [True, True]),
        ("{~%50%a ~%50%b ~c}", [True, True, False]),
    ],
)
def test_it_parses_multiple_select_from_weights(block, correct):
    [question] = parse_gift(f"Q {block}")
    assert question.kind == "multiple"
    assert [c.correct for c in question.choices] == correct


@pytest.mark.parametrize(
    ("text", "prompt", "title", "markdown"),
    [
        ("[markdown]**bold** {T}", "**bold**", "", True),
        ("[MARKDOWN] x {T}", "x", "", True),
        ("[html]<b>x</b> {T}", "<b>x</b>", "", False),
        ("[plain]x {T}", "x", "", False),
        ("[moodle]x {T}", "x", "", False),
        ("::t::  [markdown]  x {T}", "x", "t", True),
        ("::t::\nx {T}", "x", "t", False),
        ("  ::  spaced title  ::x{T}", "x", "spaced title", False),
        ("[unknown]x {T}", "[unknown]x", "", False),
        ("[markdown][plain]x {T}", "[plain]x", "", True),
    ],
)
def test_it_parses_titles_and_format_markers(text, prompt, title, markdown):
    [question] = parse_gift(text)
    assert (question.prompt, question.title, question.markdown) == (prompt, title, markdown)


@pytest.mark.parametrize(
    ("text", "prompt"),
    [
        (r"Escaped \{braces\} {T}", "Escaped {braces}"),
        (r"\{ at start {T}", "{ at start"),
        (r"C\:\\temp {T}", "C:\\temp"),
        (r"tilde \~ equals \= hash \# {T}", "tilde ~ equals = hash #"),
        (r"one\ntwo {T}", "one\ntwo"),
        (r"percent \% stays {T}", "percent % stays"),
        (r"other \t \x backslashes stay {T}", "other \\t \\x backslashes stay"),
        ("a // not a comment mid-line {T}", "a // not a comment mid-line"),
        ("trailing backslash\\\n{T}", "trailing backslash\\"),
    ],
)
def test_it_parses_escapes_in_prompts(text, prompt):
    [question] = parse_gift(text)
    assert question.prompt == prompt


def test_it_parses_escapes_in_answers_and_feedback():
    [question] = parse_gift(r"Q {=\%x\=1#f\~b ~a\{\}#\#2\:3 ####g\#\n}")
    assert question.choices == [GiftChoice("%x=1", True, "f~b"), GiftChoice("a{}", False, "#2:3")]
    assert question.explanation == "g#"


def test_it_keeps_later_hashes_in_answer_feedback():
    [question] = parse_gift("Q {=a#one#two ~b}")
    assert question.choices[0].feedback == "one#two"


def test_it_reads_windows_line_endings():
    text = EVERYTHING.replace("\n", "\r\n")
    assert parse_gift(text) == EXPECTED


def test_it_reads_old_mac_line_endings():
    assert parse_gift("Q {T}\r\rR {F}") == [
        GiftQuestion(kind="truefalse", prompt="Q", answer=True, line=1),
        GiftQuestion(kind="truefalse", prompt="R", answer=False, line=3),
    ]


def test_it_ignores_a_byte_order_mark():
    assert parse_gift("\ufeff" + EVERYTHING) == EXPECTED
    assert parse_gift("\ufeff::t::Q{T}")[0].title == "t"


def test_it_ignores_trailing_whitespace():
    text = "\n".join(line + " \t " for line in EVERYTHING.split("\n"))
    assert parse_gift(text) == EXPECTED


def test_it_treats_whitespace_only_lines_as_separators():
    assert len(parse_gift("Q {T}\n   \t\nR {F}")) == 2


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "   \n\t\n", "\ufeff", "// only a comment\n", "$CATEGORY: $course$/x\n\n// c"],
)
def test_it_returns_nothing_for_empty_input(text):
    assert parse_gift(text) == []


def test_it_reports_the_first_real_line_of_a_question():
    [question] = parse_gift("\n\n// about the next one\n$CATEGORY: x\n  Q {T}")
    assert question.line == 5


def test_it_joins_the_text_after_the_block_like_moodle_missing_word():
    [question] = parse_gift("Keys expire after {=TTL ~LRU} seconds.")
    assert question.prompt == "Keys expire after _____ seconds."


def test_it_treats_arrows_as_text_in_choice_questions():
    [question] = parse_gift("Q {=a -> b ~c -> d}")
    assert [c.text for c in question.choices] == ["a -> b", "c -> d"]


def test_it_reads_an_answer_block_spanning_lines_with_feedback_on_each():
    [question] = parse_gift("Q\n{\n  =a\n  #feedback a\n  ~b\n  #feedback b\n}")
    assert question.choices == [
        GiftChoice("a", True, "feedback a"),
        GiftChoice("b", False, "feedback b"),
    ]


ROUND_TRIP = [
    GiftQuestion(
        kind="single",
        prompt="Ünïcode ✓ 日本語 and emoji 🚀 with escapes ~ = # { } : \\ % [x]",
        title="Title: with {specials} ~ = # \\",
        choices=[
            GiftChoice("%leading percent", True, "fb with # and ~ and = and :"),
            GiftChoice("multi\nline choice", False, "multi\nline feedback"),
            GiftChoice("-> arrow", False),
        ],
        explanation="general: {feedback} #1",
    ),
    GiftQuestion(
        kind="multiple",
        prompt="Three of seven",
        choices=[GiftChoice(f"c{i}", i < 3) for i in range(7)],
    ),
    GiftQuestion(
        kind="multiple",
        prompt="Seven of seven",
        choices=[GiftChoice(f"%{i}%", True, f"f{i}") for i in range(7)],
        explanation="all",
        markdown=True,
    ),
    GiftQuestion(kind="truefalse", prompt="T plain", answer=True),
    GiftQuestion(kind="truefalse", prompt="F plain", answer=False, markdown=True),
    GiftQuestion(kind="truefalse", prompt="only wrong", answer=False, feedback_wrong="w#"),
    GiftQuestion(kind="truefalse", prompt="only right", answer=True, feedback_right="r#"),
    GiftQuestion(
        kind="truefalse",
        prompt="both and general",
        title="tf",
        answer=True,
        feedback_wrong="w",
        feedback_right="r",
        explanation="####g",
    ),
    GiftQuestion(kind="truefalse", prompt="[plain] looks like a marker", answer=True),
    GiftQuestion(kind="truefalse", prompt="[markdown]marked twice", answer=True, markdown=True),
    GiftQuestion(kind="truefalse", prompt="// looks like a comment", answer=True),
    GiftQuestion(kind="truefalse", prompt="$CATEGORY: looks like a category", answer=True),
    GiftQuestion(kind="truefalse", prompt="::looks like a title::", answer=True),
    GiftQuestion(kind="truefalse", prompt="a _____ gap\n\nwith a blank line", answer=False),
    GiftQuestion(
        kind="single",
        prompt="**markdown**\n\n```\ncode {x}\n```",
        choices=[GiftChoice("T", True), GiftChoice("FALSE", False)],
        markdown=True,
    ),
]


def test_it_round_trips_every_kind_escapes_and_unicode():
    exported = dump_gift(ROUND_TRIP)
    imported = parse_gift(exported)
    assert without_line(imported) == ROUND_TRIP
    assert dump_gift(imported) == exported


def test_it_round_trips_the_feature_file():
    exported = dump_gift(parse_gift(EVERYTHING))
    assert dump_gift(parse_gift(exported)) == exported
    assert without_line(parse_gift(exported)) == without_line(EXPECTED)


def test_it_records_line_numbers_of_an_export():
    assert [q.line for q in parse_gift(dump_gift(ROUND_TRIP[:4]))] == [1, 9, 20, 32]


@pytest.mark.parametrize(
    ("correct_count", "weight"),
    [(1, "100"), (2, "50"), (3, "33.33333"), (4, "25"), (6, "16.66667"), (7, "14.28571")],
)
def test_it_exports_multiple_select_weights_like_moodle(correct_count, weight):
    question = GiftQuestion(
        kind="multiple",
        prompt="Q",
        choices=[GiftChoice(str(i), True) for i in range(correct_count)]
        + [GiftChoice("no", False)],
    )
    exported = dump_gift([question])
    assert exported.count(f"  ~%{weight}%") == correct_count
    assert "  ~%-100%no\n" in exported
    assert without_line(parse_gift(exported)) == [question]


def test_it_keeps_a_prompt_that_starts_with_a_byte_order_mark():
    question = GiftQuestion(kind="truefalse", prompt="\ufeffstarts with a BOM", answer=True)
    exported = dump_gift([question])
    assert exported == "[moodle]\ufeffstarts with a BOM\n{TRUE}\n"
    assert without_line(parse_gift(exported)) == [question]


@pytest.mark.parametrize("text", [":", "::", ":{", "[markdown]", "\\"])
def test_it_reports_tiny_fragments_without_crashing(text):
    assert error_lines(text) != []


def test_it_exports_nothing_for_no_questions():
    assert dump_gift([]) == ""
    assert dump_gift(iter(())) == ""


def test_it_exports_from_any_iterable():
    question = GiftQuestion(kind="truefalse", prompt="Q", answer=True)
    assert dump_gift(q for q in [question]) == "Q\n{TRUE}\n"


def test_it_exports_trimmed_text_and_newlines_for_carriage_returns():
    question = GiftQuestion(
        kind="single",
        prompt="  spaced\r\nprompt \r ",
        choices=[GiftChoice(" a ", True, " fb "), GiftChoice("b\r", False)],
        explanation="  ",
    )
    assert dump_gift([question]) == "spaced\\nprompt\n{\n  =a#fb\n  ~b\n}\n"


@pytest.mark.parametrize(
    ("question", "problem"),
    [
        (GiftQuestion(kind="essay", prompt="Q"), "unknown kind 'essay'"),
        (GiftQuestion(kind="truefalse", prompt="  ", answer=True), "empty prompt"),
        (GiftQuestion(kind="truefalse", prompt="Q"), "needs answer=True or False"),
        (
            GiftQuestion(
                kind="truefalse", prompt="Q", answer=True, choices=[GiftChoice("a", True)]
            ),
            "has no choices",
        ),
        (
            GiftQuestion(kind="single", prompt="Q", choices=[GiftChoice("a", True)]),
            "at least two choices",
        ),
        (
            GiftQuestion(
                kind="single", prompt="Q", choices=[GiftChoice("a", True), GiftChoice("b", True)]
            ),
            "exactly one correct choice, has 2",
        ),
        (
            GiftQuestion(
                kind="single", prompt="Q", choices=[GiftChoice("a", False), GiftChoice("b", False)]
            ),
            "exactly one correct choice, has 0",
        ),
        (
            GiftQuestion(
                kind="multiple",
                prompt="Q",
                choices=[GiftChoice("a", False), GiftChoice("b", False)],
            ),
            "needs a correct choice",
        ),
        (
            GiftQuestion(
                kind="single", prompt="Q", choices=[GiftChoice("a", True), GiftChoice(" ", False)]
            ),
            "empty choice text",
        ),
        (
            GiftQuestion(
                kind="single",
                prompt="Q",
                answer=True,
                choices=[GiftChoice("a", True), GiftChoice("b", False)],
            ),
            "for true/false questions only",
        ),
    ],
)
def test_it_refuses_to_export_what_gift_cannot_carry(question, problem):
    good = GiftQuestion(kind="truefalse", prompt="fine", answer=True)
    with pytest.raises(ValueError, match="question 2 cannot be exported") as caught:
        dump_gift([good, question])
    assert problem in str(caught.value)


def test_it_collects_errors_from_every_question_before_raising():
    text = "\n\n".join(["A {~a ~b}", "B {=a}", "C {#1}", "D {}", "E {=a =b}", "F {T}"])
    assert [line for line, _ in error_lines(text)] == [1, 3, 5, 7, 9]
