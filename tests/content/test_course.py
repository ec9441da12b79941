"""The shipped course: seven accurate topics whose examples really run."""

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from django.conf import settings

from learn.content_loader import topic_files
from learn.markdown import DIAGRAM_LINE, REDIS_BLOCK
from learn.sandbox.namespace import Namespace
from tests.course import SLUGS

TOPICS = {item.slug: item for item in topic_files()}
SVG = "{http://www.w3.org/2000/svg}"


def prose_words(body: str) -> int:
    body = body.split("\n## Sources", 1)[0]
    body = re.sub(r"^```.*?^```", " ", body, flags=re.MULTILINE | re.DOTALL)
    body = DIAGRAM_LINE.sub(" ", body)
    body = re.sub(r"<[^>]+>", " ", body)
    return len(re.findall(r"[A-Za-z0-9][\w'’.-]*", body))


def test_the_seven_topics_ship_in_order():
    assert [item.slug for item in sorted(TOPICS.values(), key=lambda t: t.order)] == SLUGS


@pytest.mark.parametrize("slug", SLUGS)
def test_each_topic_has_at_least_800_words_of_prose(slug):
    assert prose_words(TOPICS[slug].body) >= 800


@pytest.mark.parametrize("slug", SLUGS)
def test_each_topic_cites_aws_sources(slug):
    sources = TOPICS[slug].body.split("\n## Sources", 1)
    assert len(sources) == 2
    assert "https://docs.aws.amazon.com/" in sources[1] or "https://aws.amazon.com/" in sources[1]


@pytest.mark.parametrize("slug", SLUGS)
def test_each_topic_has_an_accessible_diagram(slug):
    names = DIAGRAM_LINE.findall(TOPICS[slug].body)
    assert names
    for name in names:
        path = settings.CONTENT_DIR / "diagrams" / f"{name}.svg"
        root = ET.parse(path).getroot()
        assert root.find(f"{SVG}title").text.strip()
        assert root.find(f"{SVG}desc").text.strip()
        assert root.get("role") == "img"
        assert "style=" not in path.read_text() and "<script" not in path.read_text()


def test_every_misconception_is_corrected_exactly_once():
    found = [
        int(n)
        for item in TOPICS.values()
        for n in re.findall(r'id="misconception-(\d+)"', item.body)
    ]
    assert sorted(found) == list(range(1, 17))


EXAMPLES = [
    pytest.param(slug, index, block, id=f"{slug}-{index}")
    for slug in SLUGS
    for index, block in enumerate(REDIS_BLOCK.findall(TOPICS[slug].body))
]


def test_every_topic_has_runnable_examples():
    assert {slug for slug, _, _ in (p.values for p in EXAMPLES)} == set(SLUGS)


@pytest.mark.redis
@pytest.mark.django_db
@pytest.mark.parametrize(("slug", "index", "block"), EXAMPLES)
def test_every_example_runs_without_an_error_reply(sandbox, slug, index, block):
    sandbox.limits = replace(sandbox.limits, burst=10_000, rate=10_000)
    fresh = Namespace(uuid.uuid4().hex[:24])
    for line in filter(str.strip, block.splitlines()):
        outcome = sandbox.run(fresh, line)
        assert not outcome.error, f"{line!r} answered {outcome.reply!r}"
