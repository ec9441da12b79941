"""Acceptance 2: the fence. Every refused command, key-prefix tricks, noreply
floods and multi-key gets across prefixes; after each, the other learner's
items are unchanged (value and cas unique, read on a raw socket) and no reply
shows them."""

from __future__ import annotations

import pytest

from memcache.console.console import Quota
from tests.memcache.conftest import make_console, raw_exchange

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

VICTIM = {"victim": b"secret-1", "counter": b"41"}


@pytest.fixture
def victim(server, other):
    """The other learner's items, stored on a raw socket; their bytes as gets sees them."""
    for name, value in VICTIM.items():
        raw_exchange(
            server, b"set %s 0 0 %d\r\n%s\r\n" % (other.key(name.encode()), len(value), value)
        )
    return lambda: raw_exchange(
        server, b"gets " + b" ".join(other.key(n.encode()) for n in VICTIM) + b"\r\n"
    )


def assert_untouched(before: bytes, after: bytes, replies: list[str], other) -> None:
    assert after == before and b"secret-1" in after
    for reply in replies:
        assert "secret-1" not in reply
        assert other.name not in reply


REFUSED = [
    "flush_all", "flush_all 0", "flush_all noreply", "stats items", "stats slabs",
    "stats cachedump 1 100", "stats sizes", "stats conns", "stats detail dump", "stats reset",
    "stats settings", "lru_crawler metadump all", "lru_crawler crawl all", "watch",
    "watch mutations", "verbosity 1", "shutdown", "shutdown graceful", "cache_memlimit 1",
    "slabs reassign 1 2", "slabs automove 1", "lru mode flat", "misbehave", "debugtime 100",
    "quit", "me victim", "extstore free_memchunks 0 0", "FLUSH_ALL", "SET victim 0 0 1\nx",
    "keys *", "auth user pass", "\x80", "GET victim",
]  # fmt: skip


@pytest.mark.parametrize("command", REFUSED)
def test_it_refuses_what_sees_or_changes_the_whole_server(console, learner, other, victim, command):
    before = victim()

    outcome = console.run(learner, command)

    assert outcome.error and outcome.reply.startswith("(console) ")
    assert len(outcome.reply) > 30  # a reason, not a bare refusal
    assert_untouched(before, victim(), [outcome.reply], other)


def test_plain_stats_shows_only_the_learners_own_keys(console, learner, other, victim):
    console.run(learner, "set mine 0 0 3\nabc")

    outcome = console.run(learner, "stats")

    assert outcome.reply == (
        "STAT curr_items 1\r\nSTAT bytes 3\r\nSTAT limit_items 50\r\n"
        "STAT limit_maxbytes 262144\r\nEND\r\n"
    )
    assert "every learner" in outcome.note


def test_a_key_spelling_another_learners_prefix_stays_in_ones_own(
    console, learner, other, victim, server
):
    before = victim()
    spelled = other.key(b"victim").decode()

    read = console.run(learner, f"get {spelled}")
    wrote = console.run(learner, f"set {spelled} 0 0 3\nbad")
    deleted = console.run(learner, f"delete {spelled}")
    meta = console.run(learner, f"md {spelled}")

    assert read.reply == "END\r\n"
    assert wrote.reply == "STORED\r\n" and deleted.reply == "DELETED\r\n"
    assert meta.reply == "NF\r\n"
    assert_untouched(before, victim(), [read.reply], other)
    # It landed under the learner's own prefix, spelled out in full.
    assert b"VALUE" not in raw_exchange(server, b"get " + learner.key(spelled.encode()) + b"\r\n")


def test_a_multi_key_get_across_prefixes_sees_only_ones_own(console, learner, other, victim):
    console.run(learner, "set victim 0 0 4\nmine")

    outcome = console.run(learner, f"get victim {other.key(b'victim').decode()} counter")

    assert outcome.reply == "VALUE victim 0 4\r\nmine\r\nEND\r\n"
    assert_untouched(victim(), victim(), [outcome.reply], other)


CONTROL = ["get a\x00b", "get a\tb", "get a\x7f", "get a\u0085b", "set a\x01 0 0 1\nx",
           "delete a\x1b[2J", "mg a\x0b v", "get a\rb"]  # fmt: skip


@pytest.mark.parametrize("command", CONTROL)
def test_it_refuses_control_characters_in_a_command_line(console, learner, other, victim, command):
    before = victim()

    outcome = console.run(learner, command)

    assert outcome.error and "control characters" in outcome.reply
    assert_untouched(before, victim(), [outcome.reply], other)


def canary(other) -> str:
    """A data line that, read as a command, would delete the other learner's item."""
    return f"delete {other.key(b'victim').decode()}"


def malformed(other) -> list[str]:
    data = canary(other)
    n = len(data.encode())
    return [
        f"set k 0 0 -1\n{data}",
        f"set k abc 0 {n}\n{data}",
        f"set k 0 0 {n} foo\n{data}",
        f"set k 0 0 {n - 1}\n{data}",
        f"set k 0 0 {n + 1}\n{data}",
        f"set k 0 0\n{data}",
        f"cas k 0 0 {n}\n{data}",
        f"ms k abc\n{data}",
        f"ms k {n} b\n{data}",
        f"ms k {n - 3}\n{data}",
        f"get k\n{data}",
        f"mn\n{data}",
        f"set k 0 0 1 noreply\nx\r\n{data}",
        f"get k\r\n{data}\r\n",
    ]


def test_no_data_line_is_ever_read_as_a_command(console, learner, other, victim):
    before, replies = victim(), []

    for command in malformed(other):
        outcome = console.run(learner, command)
        replies.append(outcome.reply)
        assert outcome.error, command

    assert_untouched(before, victim(), replies, other)


@pytest.mark.parametrize("name", ["set", "add", "ms"])
def test_an_over_long_key_gets_the_servers_error_and_its_data_is_withheld(
    console, learner, other, victim, name
):
    before, data = victim(), canary(other)
    key = "k" * learner.room + "x"  # one byte over, with the prefix
    line = f"{name} {key} 0 0 {len(data)}" if name != "ms" else f"ms {key} {len(data)}"

    outcome = console.run(learner, f"{line}\n{data}")

    assert outcome.reply == "CLIENT_ERROR bad command line format\r\n"
    assert "did not send your data line" in outcome.note and "250" in outcome.note
    assert_untouched(before, victim(), [outcome.reply], other)


def test_a_key_of_exactly_the_room_left_is_stored(console, learner):
    key = "k" * learner.room

    outcome = console.run(learner, f"set {key} 0 0 2\nok")

    assert outcome.reply == "STORED\r\n"
    assert console.run(learner, f"get {key}").reply == f"VALUE {key} 0 2\r\nok\r\nEND\r\n"


def test_a_base64_key_is_refused(console, learner, other, victim):
    import base64

    encoded = base64.b64encode(other.key(b"victim")).decode()
    before = victim()

    replies = [console.run(learner, f"mg {encoded} b v").reply,
               console.run(learner, f"md {encoded} b").reply]  # fmt: skip

    assert all("base64" in reply for reply in replies)
    assert_untouched(before, victim(), replies, other)


def test_a_noreply_flood_leaves_nothing_behind_for_the_next_reply(console, learner, other, victim):
    before = victim()
    data = "x\r\nmn\r\nEND"  # a value that looks like fences and ends

    for i in range(60):
        outcome = console.run(learner, f"set flood{i % 5} 0 0 {len(data)} noreply\n{data}")
        assert outcome.reply == "" and not outcome.error
        assert "noreply" in outcome.note
    console.run(learner, "delete flood0 noreply")
    after = console.run(learner, "get flood0 flood1")

    assert after.reply == f"VALUE flood1 0 {len(data)}\r\n{data}\r\nEND\r\n"
    assert_untouched(before, victim(), [after.reply], other)


def test_a_flood_past_the_rate_is_refused(server, app_redis, learner, other, victim):
    console = make_console(server, app_redis, burst=5, rate=0.01)
    before = victim()

    replies = [console.run(learner, "set k 0 0 1 noreply\nx").reply for _ in range(8)]

    assert replies[:5] == [""] * 5
    assert all("faster than the console allows" in r for r in replies[5:])
    assert_untouched(before, victim(), replies, other)


def test_the_key_quota_is_kept_and_deleted_keys_make_room(server, app_redis, learner):
    console = make_console(server, app_redis, quota=Quota(keys=3, bytes=1000))
    for i in range(3):
        assert console.run(learner, f"set q{i} 0 0 1\nx").reply == "STORED\r\n"

    full = console.run(learner, "set q3 0 0 1\nx")
    console.run(learner, "delete q0")
    again = console.run(learner, "set q3 0 0 1\nx")

    assert full.error and "at most 3 keys" in full.reply
    assert again.reply == "STORED\r\n"
    assert console.run(learner, "set q1 0 0 2\nyy").reply == "STORED\r\n"  # an old key: room


def test_the_byte_quota_counts_what_the_server_holds(server, app_redis, learner):
    console = make_console(server, app_redis, quota=Quota(keys=10, bytes=100))
    console.run(learner, "set a 0 0 60\n" + "a" * 60)

    over = console.run(learner, "set b 0 0 50\n" + "b" * 50)
    grown = console.run(learner, "append a 0 0 50\n" + "a" * 50)
    replaced = console.run(learner, "set a 0 0 90\n" + "a" * 90)

    assert over.error and "100 bytes of values" in over.reply
    assert grown.error
    assert replaced.reply == "STORED\r\n"  # the old value's bytes are given back


def test_reset_deletes_only_the_learners_own_keys(console, learner, other, victim, server):
    console.run(learner, "set a 0 0 1\nx")
    console.run(learner, "ms b 1\ny")
    before = victim()

    deleted = console.reset(learner)

    assert deleted == 2
    assert console.run(learner, "get a b").reply == "END\r\n"
    assert victim() == before
