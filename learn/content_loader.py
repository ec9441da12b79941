"""Read the shipped course content (learn/content/) into the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from learn.models import Topic


class ContentError(ValueError):
    pass


@dataclass
class TopicFile:
    path: Path
    slug: str
    title: str
    order: int
    summary: str
    body: str


def parse_topic_file(path: Path) -> TopicFile:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ContentError(f"{path.name}: must start with a '---' front-matter block")
    try:
        header, body = text[4:].split("\n---\n", 1)
    except ValueError:
        raise ContentError(f"{path.name}: front matter is not closed with '---'") from None
    meta = {}
    for number, line in enumerate(header.splitlines(), start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ContentError(f"{path.name}:{number}: expected 'key: value'")
        meta[key.strip()] = value.strip()
    missing = {"slug", "title", "order"} - meta.keys()
    if missing:
        raise ContentError(f"{path.name}: front matter lacks {', '.join(sorted(missing))}")
    try:
        order = int(meta["order"])
    except ValueError:
        raise ContentError(f"{path.name}: order must be a whole number") from None
    return TopicFile(
        path, meta["slug"], meta["title"], order, meta.get("summary", ""), body.lstrip("\n")
    )


def topic_files(content_dir: Path | None = None) -> list[TopicFile]:
    folder = (content_dir or settings.CONTENT_DIR) / "topics"
    return [parse_topic_file(path) for path in sorted(folder.glob("*.md"))]


@transaction.atomic
def load_topics(*, force: bool = False, content_dir: Path | None = None) -> dict[str, list[str]]:
    """Create or update topics from files; keep instructors' edits unless forced.

    Returns the slugs per outcome: created, updated, unchanged, kept (edited
    in the admin and left alone).
    """
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "kept": []}
    for item in topic_files(content_dir):
        topic = Topic.objects.filter(slug=item.slug).first()
        if topic is None:
            topic = Topic(slug=item.slug, published=True)
            status = "created"
        elif topic.edited_since_load and not force:
            outcome["kept"].append(item.slug)
            continue
        else:
            status = "updated"
        before = topic.fingerprint() if topic.pk else None
        topic.title, topic.order = item.title, item.order
        topic.summary, topic.body = item.summary, item.body
        if (
            status == "updated"
            and before == topic.fingerprint()
            and topic.loaded_fingerprint == before
        ):
            outcome["unchanged"].append(item.slug)
            continue
        topic.loaded_fingerprint = topic.fingerprint()
        topic.save()
        outcome[status].append(item.slug)
    return outcome
