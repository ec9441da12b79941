"""The shipped question bank: enough questions, valid keys, explanations, GIFT round trip."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from quizzes.models import Question, Quiz
from quizzes.validation import DraftChoice, choice_errors, command_errors
from tests.course import MIN_QUESTIONS, NEW_TOPICS, SLUGS

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(db):
    call_command("load_content", stdout=StringIO())


def test_every_topic_has_a_published_quiz_and_the_course_has_enough_questions(course):
    counts = {q.topic.slug: q.questions.count() for q in Quiz.objects.published()}

    assert set(counts) == set(SLUGS)
    assert all(counts[slug] >= (15 if slug in NEW_TOPICS else 14) for slug in SLUGS), counts
    assert sum(counts.values()) >= MIN_QUESTIONS


def test_every_quiz_mixes_at_least_three_kinds(course):
    for quiz in Quiz.objects.all():
        assert len(set(quiz.questions.values_list("kind", flat=True))) >= 3, quiz.slug


def test_hands_on_topics_have_command_questions(course):
    kinds = Counter(
        Question.objects.filter(kind="command").values_list("quiz__topic__slug", flat=True)
    )

    assert kinds["caching-patterns"] >= 1 and kinds["use-cases"] >= 1


def test_every_question_has_an_explanation_and_a_valid_key(course):
    for question in Question.objects.prefetch_related("choices"):
        assert question.explanation.strip(), question.prompt
        drafts = [DraftChoice(c.text, c.correct) for c in question.choices.all()]
        assert choice_errors(question.kind, drafts) == [], question.prompt


def test_every_section_link_points_at_a_heading_of_its_topic(course):
    for question in Question.objects.select_related("quiz__topic"):
        if question.section:
            anchors = {entry["id"] for entry in _all_entries(question.quiz.topic.rendered().toc)}
            assert question.section in anchors, (question.quiz.slug, question.section)


def _all_entries(toc):
    for entry in toc:
        yield entry
        yield from _all_entries(entry["children"])


@pytest.mark.redis
def test_every_command_question_passes_on_its_example_and_fails_on_nothing(course):
    for question in Question.objects.filter(kind="command").prefetch_related("checks"):
        errors, report = command_errors(
            question.setup.splitlines(), list(question.checks.all()), question.example_answer
        )
        assert errors == [], f"{question.prompt}\n{report}"


@pytest.mark.parametrize("slug", SLUGS)
def test_each_topic_exports_to_gift_and_round_trips(course, slug, tmp_path, quiz_factory):
    first = StringIO()
    call_command("export_gift", "--topic", slug, stdout=first, stderr=StringIO())
    path = tmp_path / f"{slug}.gift"
    path.write_text(first.getvalue())
    copy = quiz_factory(slug=f"{slug}-copy", topic=Quiz.objects.get(topic__slug=slug).topic)

    call_command("import_gift", str(path), "--quiz", copy.slug, stdout=StringIO())
    second = StringIO()
    call_command("export_gift", "--quiz", copy.slug, stdout=second, stderr=StringIO())

    assert first.getvalue() == second.getvalue()
    assert copy.questions.count() >= 10
