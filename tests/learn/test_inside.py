"""/inside/: a live, read-only view of how the site uses its own Redis."""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from learn import inside, topic_cache
from learn.content_loader import topic_files
from learn.markdown import render_markdown
from quizzes import leaderboard
from tests.factories import LearnerFactory, UserFactory, learner_session

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

INSIDE = reverse("learn:inside")


@pytest.fixture(autouse=True)
def _no_counts_from_earlier_tests():
    """Page-cache counts wait in memory until a view writes them: start from none."""
    topic_cache.take_counts()


def calls(client, command: str) -> int:
    """How many times the server has run `command` (INFO commandstats)."""
    stats = client.info("commandstats")
    nodes = [stats] if f"cmdstat_{command}" in stats or "cmdstat_info" in stats else stats.values()
    return sum(node.get(f"cmdstat_{command}", {}).get("calls", 0) for node in nodes)


def commands_processed(client) -> int:
    stats = client.info("stats")
    if "total_commands_processed" in stats:
        return stats["total_commands_processed"]
    return sum(node["total_commands_processed"] for node in stats.values())  # a cluster


def snapshot_of(response) -> inside.Snapshot:
    assert response.status_code == 200
    return response.context["snapshot"]


def test_it_counts_sessions_without_reading_them(topic):
    visitors = [Client() for _ in range(3)]
    for visitor in visitors:
        visitor.post(reverse("learn:mark_read", args=[topic.slug]))

    response = Client().get(INSIDE)

    sessions = snapshot_of(response).sessions
    assert sessions.count == 3 and not sessions.capped
    # Thirty-day sessions: all three have more than a week left.
    assert dict(sessions.ttls)["over a week"] == 3
    assert visitors[0].session["learner_id"] not in response.content.decode()


def test_it_counts_each_learner_once_per_topic_and_day(app_redis, topic_factory):
    first, second = topic_factory(title="First"), topic_factory(title="Second")
    ann, bob = Client(), Client()
    learner_session(ann), learner_session(bob)
    ann.get(first.get_absolute_url())
    ann.get(first.get_absolute_url())
    bob.get(first.get_absolute_url())
    bob.get(second.get_absolute_url())

    response = Client().get(INSIDE)

    counts = {row.slug: row.count for row in snapshot_of(response).visitors}
    assert counts == {first.slug: 2, second.slug: 1}
    assert 0 < app_redis.ttl(inside.visitors_key(first.slug)) <= 2 * 24 * 60 * 60


def test_a_reader_without_a_session_counts_once_per_address(topic):
    for _ in range(3):
        Client().get(topic.get_absolute_url())
    Client(REMOTE_ADDR="192.0.2.7").get(topic.get_absolute_url())

    response = Client().get(INSIDE)

    assert {row.slug: row.count for row in snapshot_of(response).visitors} == {topic.slug: 2}


def test_a_missing_topic_counts_no_visitor(client, app_redis):
    client.get(reverse("learn:topic", args=["no-such-topic"]))

    assert not list(app_redis.scan_iter(match="cachelab:visitors:*"))


def test_it_shows_the_page_cache_hits_and_misses_of_the_day(client, topic):
    client.get(topic.get_absolute_url())  # misses: the topic's data and its page
    client.get(topic.get_absolute_url())  # hits: both

    response = Client().get(INSIDE)

    snapshot = snapshot_of(response)
    assert (snapshot.hits, snapshot.misses, snapshot.hit_percent) == (2, 2, 50)
    assert re.search(r"Hit ratio</dt><dd>50%", response.content.decode())


def test_counting_adds_no_round_trip_and_no_query_to_a_repeat_topic_view(
    client, topic, app_redis, django_assert_max_num_queries, monkeypatch
):
    # The content version's memo lasts a second; a slow machine must not see it lapse.
    monkeypatch.setattr(topic_cache, "VERSION_MEMO_SECONDS", 60.0)
    client.get(topic.get_absolute_url())
    inside.flush()
    before = commands_processed(app_redis)
    asking = commands_processed(app_redis) - before  # INFO counts itself

    with django_assert_max_num_queries(0):
        client.get(topic.get_absolute_url())

    # The page comes from this process's memo; the counts wait in memory.
    assert commands_processed(app_redis) - before - 2 * asking == 0
    assert app_redis.hget(topic_cache.stats_key(), "miss") == b"2"  # the first view's two


def test_many_views_send_their_counts_in_one_pipeline_once_a_second(topic, app_redis, monkeypatch):
    readers = [Client(REMOTE_ADDR=f"192.0.2.{n}") for n in range(1, 6)]
    for reader in readers[:-1]:
        reader.get(topic.get_absolute_url())
    assert not app_redis.exists(inside.visitors_key(topic.slug))  # still in memory
    pfadds, hincrbys = calls(app_redis, "pfadd"), calls(app_redis, "hincrby")
    monkeypatch.setattr(inside, "FLUSH_SECONDS", 0.0)

    readers[-1].get(topic.get_absolute_url())

    # One batch: one PFADD of all five visitors, one HINCRBY each for hits and
    # misses (not one per view). Other reads, such as the content version whose
    # memo lasts a second, may come and go, so only the writes are counted.
    assert calls(app_redis, "pfadd") - pfadds == 1
    assert calls(app_redis, "hincrby") - hincrbys == 2
    assert app_redis.hgetall(topic_cache.stats_key()) == {b"hit": b"8", b"miss": b"2"}
    assert app_redis.pfcount(inside.visitors_key(topic.slug)) == 5
    assert not inside._pending.visitors


def test_pending_counts_are_bounded_in_memory(topic, app_redis, monkeypatch):
    monkeypatch.setattr(inside, "FLUSH_MEMBERS", 3)
    for n in range(3):
        Client(REMOTE_ADDR=f"192.0.2.{n + 1}").get(topic.get_absolute_url())

    assert app_redis.pfcount(inside.visitors_key(topic.slug)) == 3
    assert inside._pending.members == 0


def test_it_lists_the_leaderboard_keys_with_sizes_and_ttls(client, app_redis):
    LearnerFactory(nickname="Ada")
    LearnerFactory(nickname="Bob")
    leaderboard.rebuild()

    response = client.get(INSIDE)

    boards = {board.name: board for board in snapshot_of(response).boards}
    assert boards[leaderboard.ALL_KEY].members == 2
    assert boards[leaderboard.ALL_KEY].expires_in == "no expiry"


def test_it_counts_rate_limit_buckets_and_login_throttles(client, settings, user):
    settings.SANDBOX_RATE = 0.1  # a bucket then lives for minutes, not seconds
    client.post(reverse("learn:sandbox_run"), {"command": "SET greeting hello"})
    Client().login(username=user.username, password="wrong")
    Client().login(username=UserFactory().username, password="wrong")

    snapshot = snapshot_of(client.get(INSIDE))

    assert snapshot.rate_limits.count == 1 and snapshot.rate_limits.longest_ttl > 60
    assert snapshot.login_throttles == 2


def test_it_shows_log_in_throttles_as_a_count_only(client, user):
    for _ in range(3):
        Client().login(username=user.username, password="wrong")

    body = client.get(INSIDE).content.decode()

    assert "Names with failed log-ins" in body
    assert "longest has" not in body and "min left" not in body


def test_it_says_at_least_when_there_are_more_keys_than_it_reads(monkeypatch, topic):
    for _ in range(3):
        Client().post(reverse("learn:mark_read", args=[topic.slug]))
    monkeypatch.setattr(inside, "SCAN_CAP", 2)

    response = Client().get(INSIDE)

    sessions = snapshot_of(response).sessions
    assert sessions.capped and sessions.count <= 2
    assert f"<strong>{sessions.count}+</strong> session" in response.content.decode()


def test_the_reads_are_cached_for_a_few_seconds(client, app_redis):
    client.get(INSIDE)

    key = cache.make_key(inside.SNAPSHOT_KEY)
    assert 0 < app_redis.ttl(key) <= inside.SNAPSHOT_SECONDS


def test_each_panel_links_to_the_section_that_teaches_it(client):
    shipped = {item.slug: render_markdown(item.body).html for item in topic_files()}

    html = client.get(INSIDE).content.decode()

    for lesson in inside.LESSONS.values():
        assert f'id="{lesson.anchor}"' in shipped[lesson.slug], lesson
        url = reverse("learn:topic", args=[lesson.slug])
        assert f'href="{url}#{lesson.anchor}"' in html


def test_htmx_refresh_returns_only_the_panels(client):
    response = client.get(INSIDE, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="inside-panels"') and "<html" not in html


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_is_read_only(client, method):
    assert getattr(client, method)(INSIDE).status_code == 405


def test_it_says_so_when_redis_is_away(client, own_app_redis, topic):
    client.get(INSIDE)
    own_app_redis.stop()

    response = client.get(INSIDE)
    topic_view = client.get(topic.get_absolute_url())

    assert response.status_code == 200
    assert "Redis is unavailable right now" in response.content.decode()
    assert topic_view.status_code == 200
