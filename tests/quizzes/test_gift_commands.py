from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from quizzes.models import Question, Quiz

pytestmark = pytest.mark.django_db

FULL = """// A hand-written file using every supported feature.
$CATEGORY: elasticache/engines

::Engines::[markdown]Which engine runs **multithreaded**? {
  =Memcached#Right: it uses many worker threads.
  ~Valkey#Commands run on one main thread.
  ####Memcached is multithreaded; Valkey and Redis OSS run commands on one thread.
}

::Replicas::Which give read scaling? {
  ~%50%Read replicas
  ~%50%Cluster mode enabled shards
  ~%-100%A bigger TTL
}

Backups restore into a new cache. {T#No: it makes a new cache.#Yes.####Never overwritten.}

Escapes work\\: a \\{brace\\}, an \\= sign and a \\# hash. {F}
"""


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_full_file_imports_the_right_questions_and_keys(tmp_path, quiz_factory):
    quiz = quiz_factory(slug="engines")
    path = tmp_path / "engines.gift"
    path.write_text(FULL)

    output = run("import_gift", str(path), "--quiz", "engines")

    questions = list(quiz.questions.order_by("order"))
    assert "Imported 4 question(s)" in output
    assert [q.kind for q in questions] == ["single", "multiple", "truefalse", "truefalse"]
    assert questions[0].title == "Engines" and "**multithreaded**" in questions[0].prompt
    assert questions[0].explanation.startswith("Memcached is multithreaded")
    assert sorted(c.text for c in questions[1].choices.filter(correct=True)) == [
        "Cluster mode enabled shards",
        "Read replicas",
    ]
    assert questions[2].choices.get(correct=True).text == "True"
    assert questions[3].prompt == "Escapes work: a {brace}, an = sign and a # hash."


def test_a_broken_file_imports_nothing_and_names_the_line(tmp_path, quiz_factory):
    quiz = quiz_factory(slug="engines")
    path = tmp_path / "broken.gift"
    path.write_text("Good? {=a ~b}\n\nBad? {=a =b}\n")

    with pytest.raises(CommandError, match="line 3"):
        run("import_gift", str(path), "--quiz", "engines")

    assert not quiz.questions.exists()


def test_create_makes_a_new_draft_quiz(tmp_path, topic):
    path = tmp_path / "q.gift"
    path.write_text("Pick one {=a ~b}\n")

    run(
        "import_gift",
        str(path),
        "--quiz",
        "new-quiz",
        "--create",
        "--topic",
        topic.slug,
        "--title",
        "New",
    )

    quiz = Quiz.objects.get(slug="new-quiz")
    assert (quiz.title, quiz.status, quiz.topic) == ("New", "draft", topic)
    assert quiz.questions.count() == 1


def test_create_with_a_broken_file_creates_no_quiz(tmp_path, topic):
    path = tmp_path / "q.gift"
    path.write_text("Pick one {=a\n")

    with pytest.raises(CommandError):
        run(
            "import_gift",
            str(path),
            "--quiz",
            "new-quiz",
            "--create",
            "--topic",
            topic.slug,
            "--title",
            "New",
        )

    assert not Quiz.objects.filter(slug="new-quiz").exists()


def test_an_unknown_quiz_is_a_clear_error(tmp_path):
    path = tmp_path / "q.gift"
    path.write_text("Pick one {=a ~b}\n")

    with pytest.raises(CommandError, match="no quiz with slug"):
        run("import_gift", str(path), "--quiz", "nope")


def test_export_then_import_then_export_is_identical(tmp_path, quiz_factory, topic):
    source = quiz_factory(slug="source", topic=topic)
    path = tmp_path / "full.gift"
    path.write_text(FULL)
    run("import_gift", str(path), "--quiz", "source")

    first = run("export_gift", "--quiz", "source")
    (tmp_path / "first.gift").write_text(first)
    quiz_factory(slug="copy", topic=topic)
    run("import_gift", str(tmp_path / "first.gift"), "--quiz", "copy")
    second = run("export_gift", "--quiz", "copy")

    assert first == second
    assert source.questions.count() == Quiz.objects.get(slug="copy").questions.count() == 4


def test_export_by_topic_covers_every_quiz_and_skips_command_questions(
    quiz_factory, question_factory, topic
):
    for slug in ("a", "b"):
        question_factory(quiz=quiz_factory(slug=slug, topic=topic), prompt=f"In {slug}?")
    question_factory(quiz=Quiz.objects.get(slug="a"), kind="command")
    err = StringIO()

    out = StringIO()
    call_command("export_gift", "--topic", topic.slug, stdout=out, stderr=err)

    assert "In a?" in out.getvalue() and "In b?" in out.getvalue()
    assert "Left out 1 Redis command question" in err.getvalue()
    assert Question.objects.count() == 3
