"""Shipped lab files load idempotently and never overwrite an instructor's edit unless forced."""

from io import StringIO

import pytest
from django.core.management import call_command

from labs.content import load_labs, parse_lab_file
from labs.models import Check, Lab, Step
from learn.content_loader import ContentError

pytestmark = pytest.mark.django_db

GOOD = """
[lab]
slug = "tiny"
title = "Tiny"
topic = "use-cases"
intro = "A tiny lab."

[[steps]]
title = "Greet"
instructions = "Set greeting."
solution = ["SET greeting hello"]
[[steps.checks]]
type = "value"
key = "greeting"
value = "hello"
hint = "SET greeting hello."
"""


def write(tmp_path, name: str, text: str):
    folder = tmp_path / "labs"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loading_twice_creates_once_then_changes_nothing(shipped_labs):
    again = load_labs()

    assert Lab.objects.count() == 10 and Step.objects.filter(lab__slug="job-queue").count() == 4
    assert len(again["unchanged"]) == 10 and not again["updated"]
    assert not Lab.objects.get(slug="atomic-order").edited_since_load


def test_an_instructors_edit_is_kept_unless_forced(shipped_labs):
    Check.objects.filter(step__lab__slug="leaderboard").update(hint="My own hint.")

    kept = load_labs()
    forced = load_labs(force=True)

    assert kept["kept"] == ["leaderboard"]
    assert forced["updated"] == ["leaderboard"]
    assert not Check.objects.filter(hint="My own hint.").exists()


def test_load_content_loads_labs_and_says_so(db):
    out = StringIO()

    call_command("load_content", stdout=out)

    assert "Labs: 10 created, 0 updated, 0 unchanged, 0 kept." in out.getvalue()
    assert Lab.objects.published().count() == 10


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (GOOD.replace('slug = "tiny"', ""), "[lab] needs slug"),
        (GOOD.replace('type = "value"', 'type = "nonsense"'), "unknown check type 'nonsense'"),
        (GOOD.replace('solution = ["SET greeting hello"]', "solution = []"), "give a solution"),
        (GOOD + "[[steps]]\ntitle = 'No checks'\nsolution = ['PING']\n", "add at least one check"),
        ("[lab\n", "tiny.toml"),
    ],
)
def test_a_broken_file_names_itself_and_the_problem(tmp_path, text, error):
    path = write(tmp_path, "tiny.toml", text)

    with pytest.raises(ContentError) as caught:
        parse_lab_file(path)

    assert error in str(caught.value) and "tiny.toml" in str(caught.value)


def test_a_lab_on_an_unknown_topic_is_refused_and_nothing_is_written(tmp_path, db):
    write(tmp_path, "tiny.toml", GOOD)

    with pytest.raises(ContentError, match="no topic with slug 'use-cases'"):
        load_labs(content_dir=tmp_path)

    assert not Lab.objects.exists()
