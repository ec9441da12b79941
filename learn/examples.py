"""Examples run: a topic's ```redis blocks, counted when the learner runs them from its page."""

from __future__ import annotations

from django.db import transaction

from learn.models import Learner, TopicProgress
from learn.topic_cache import normalise_line, published_topics, topic_examples


def topic_slug(page_path: str) -> str | None:
    """The slug of the topic page at `page_path` (a site path), if it is one."""
    prefix = "/topics/"
    if not page_path.startswith(prefix):
        return None
    return page_path[len(prefix) :].strip("/") or None


def record_example_run(learner_id: str, page_path: str, line: str) -> bool:
    """Count a sandbox command towards a topic when it is one of that topic's examples.

    `page_path` is the page the panel sits on; only topic pages count. Returns
    whether the learner's progress changed.
    """
    slug = topic_slug(page_path)
    blocks = topic_examples().get(slug, []) if slug else []
    wanted = normalise_line(line)
    if not any(wanted in block for block in blocks):
        return False
    topic_id = next((t.pk for t in published_topics() if t.slug == slug), None)
    if topic_id is None:
        return False
    with transaction.atomic():
        learner, _ = Learner.objects.get_or_create(id=learner_id)
        row, _ = TopicProgress.objects.select_for_update().get_or_create(
            learner=learner, topic_id=topic_id
        )
        if wanted in row.examples_run:
            return False
        row.examples_run = sorted({*row.examples_run, wanted})
        row.save(update_fields=["examples_run"])
    return True
