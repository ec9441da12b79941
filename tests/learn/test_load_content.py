from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from learn.models import Topic
from tests.course import SLUGS

pytestmark = pytest.mark.django_db


def write_topic(
    folder: Path, slug: str = "demo", body: str = "## Hello\n\nBody.\n", order: int = 1
):
    (folder / "topics").mkdir(parents=True, exist_ok=True)
    (folder / "topics" / f"{order:02d}-{slug}.md").write_text(
        f"---\nslug: {slug}\ntitle: Demo topic\norder: {order}\nsummary: A demo.\n---\n\n{body}"
    )


@pytest.fixture
def content_dir(tmp_path, settings):
    settings.CONTENT_DIR = tmp_path
    return tmp_path


def run() -> str:
    from io import StringIO

    out = StringIO()
    call_command("load_content", stdout=out)
    return out.getvalue()


def test_it_loads_every_shipped_topic_in_order():
    run()

    assert list(Topic.objects.published().values_list("slug", flat=True)) == SLUGS


def test_it_creates_topics_published(content_dir):
    write_topic(content_dir)

    output = run()

    topic = Topic.objects.get(slug="demo")
    assert (topic.title, topic.published, topic.summary) == ("Demo topic", True, "A demo.")
    assert "1 created" in output


def test_running_twice_changes_nothing(content_dir):
    write_topic(content_dir)
    run()
    before = Topic.objects.get().updated_at

    output = run()

    assert Topic.objects.get().updated_at == before
    assert "1 unchanged" in output


def test_it_updates_a_topic_when_its_file_changes(content_dir):
    write_topic(content_dir)
    run()
    write_topic(content_dir, body="## Hello\n\nNew body.\n")

    run()

    assert "New body." in Topic.objects.get().body


def test_it_keeps_an_instructors_edit(content_dir):
    write_topic(content_dir)
    run()
    Topic.objects.filter(slug="demo").update(body="Edited by an instructor")
    write_topic(content_dir, body="## Hello\n\nShipped update.\n")

    output = run()

    assert Topic.objects.get().body == "Edited by an instructor"
    assert "kept as they are" in output


def test_force_overwrites_an_instructors_edit(content_dir):
    write_topic(content_dir)
    run()
    Topic.objects.filter(slug="demo").update(body="Edited by an instructor")

    call_command("load_content", "--force", stdout=None)

    assert "Body." in Topic.objects.get().body


def test_it_never_republishes_a_topic_an_instructor_unpublished(content_dir):
    write_topic(content_dir)
    run()
    Topic.objects.update(published=False)

    run()

    assert Topic.objects.get().published is False


def test_a_broken_file_is_reported_and_loads_nothing(content_dir):
    write_topic(content_dir, slug="good", order=1)
    (content_dir / "topics" / "02-bad.md").write_text("no front matter here")

    with pytest.raises(CommandError, match=r"02-bad\.md"):
        run()

    assert not Topic.objects.exists()
