"""Issue 16's attacks on the engine, replayed: each checks the state after.

Oversized lines and the rate limit (finding 1), blocking commands holding
workers (3), one learner's data evicting another's (6), unbounded MULTI
queues (9), and reset / grading scanning the whole server.
"""

import dataclasses
import json
import threading
import time

import pytest
import redis

from config.embedded import SANDBOX_SERVER_ARGS, start_server
from learn.redis_clients import reset_clients
from learn.redis_clients import sandbox as build_sandbox
from learn.sandbox.ledger import ACTIVE, BLOCKING, ENTRY_BYTES, book_key
from learn.sandbox.namespace import Namespace
from quizzes.grading import grade_command

pytestmark = pytest.mark.redis


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)  # a poll interval, not a wait for the outcome


def learners(n: int, tag: str) -> list[Namespace]:
    return [Namespace(f"{tag}{i:04d}".ljust(24, "0")) for i in range(n)]


# -- 1: oversized lines pay the rate limit, and are stored cut -------------------
def test_an_oversized_line_still_takes_a_rate_token(sandbox, alice, app_redis):
    sandbox.limits = dataclasses.replace(sandbox.limits, burst=3, rate=0.01)
    huge = "SET k " + "v" * (1024 * 1024)

    replies = [sandbox.run(alice, huge, record=True).reply for _ in range(5)]

    assert all("65,536" in r for r in replies[:3])
    assert all("slow down" in r for r in replies[3:])
    assert float(app_redis.hget(book_key(alice, "rate"), "tokens")) < 1


def test_what_an_oversized_line_leaves_in_the_app_redis_is_small(sandbox, alice, app_redis):
    huge = "SET k " + "é" * (512 * 1024)  # a megabyte of UTF-8

    for _ in range(10):
        sandbox.run(alice, huge, record=True)

    log = app_redis.lrange(sandbox.log_key(alice), 0, -1)
    assert len(log) == 10
    entry = json.loads(log[-1])
    assert len(entry["command"].encode()) < ENTRY_BYTES + 100
    assert "bytes in all" in entry["command"]
    # Not kept for Up/Down at all: recalling a cut line would run another command.
    assert app_redis.llen(sandbox.history_key(alice)) == 0
    stored = sum(app_redis.memory_usage(k) or 0 for k in app_redis.scan_iter(count=1000))
    assert stored < 64 * 1024


def test_the_transcript_and_history_stay_capped(sandbox, alice, app_redis):
    sandbox.limits = dataclasses.replace(sandbox.limits, burst=1000, rate=1000.0)

    for n in range(150):
        sandbox.run(alice, f"ECHO {n}", record=True)

    assert app_redis.llen(sandbox.log_key(alice)) == 30
    assert app_redis.llen(sandbox.history_key(alice)) == 100


# -- 9: MULTI queues are bounded -------------------------------------------------
def test_a_transaction_queues_at_most_fifty_commands(sandbox, alice, app_redis, sandbox_redis):
    sandbox.limits = dataclasses.replace(sandbox.limits, burst=1000, rate=1000.0)
    sandbox.run(alice, "MULTI")

    replies = [sandbox.run(alice, f"SET k{n} v").reply for n in range(60)]
    stored = app_redis.strlen(book_key(alice, "tx"))
    done = sandbox.run(alice, "EXEC")

    assert replies[:50] == ["QUEUED"] * 50
    assert all("at most 50 commands" in r for r in replies[50:])
    assert stored < 50 * 40  # the queue in the app Redis did not grow past the cap
    assert done.reply.startswith("(error) EXECABORT")
    assert not list(sandbox_redis.scan_iter(match=alice.pattern()))  # nothing ran


def test_a_transaction_queues_at_most_so_many_bytes(sandbox, alice, app_redis):
    sandbox.run(alice, "MULTI")
    chunk = "x" * 15_000  # under the argument limit; the queue limit is 128 KiB

    replies = [sandbox.run(alice, f"APPEND big {chunk}").reply for _ in range(12)]

    assert replies[:8] == ["QUEUED"] * 8
    assert all("at most 128 KiB" in r for r in replies[8:])
    assert app_redis.strlen(book_key(alice, "tx")) < 2 * 128 * 1024


# -- 3: blocking commands hold workers: a budget per learner, a cap site-wide ------
def test_a_learner_has_a_budget_of_blocking_seconds(sandbox, alice, bob, app_redis):
    sandbox.limits = dataclasses.replace(sandbox.limits, block_seconds=0.2, block_budget=0.5)

    outcomes = [sandbox.run(alice, "BLPOP nothing 0") for _ in range(4)]
    other = sandbox.run(bob, "BLPOP nothing 0")

    assert [o.reply for o in outcomes[:2]] == ["(nil)", "(nil)"]
    assert all("used that up" in o.reply for o in outcomes[2:])
    assert other.reply == "(nil)"  # bob has a budget of his own
    assert float(app_redis.hget(book_key(alice, "block"), "tokens")) < 0.2
    assert app_redis.zcard(BLOCKING) == 0  # every lease given back


def test_a_command_that_returns_at_once_gives_its_blocking_seconds_back(sandbox, alice):
    sandbox.limits = dataclasses.replace(sandbox.limits, block_seconds=0.5, block_budget=0.6)
    sandbox.run(alice, "RPUSH q " + " ".join(str(n) for n in range(5)))

    replies = [sandbox.run(alice, "BLPOP q 0").reply for _ in range(5)]

    assert replies == [f'1) "q"\n2) "{n}"' for n in range(5)]


def test_the_site_runs_only_so_many_blocking_commands_at_once(sandbox, alice, bob, app_redis):
    sandbox.limits = dataclasses.replace(sandbox.limits, block_seconds=1.5, blocking_at_once=1)
    first: list = []
    waiting = threading.Thread(target=lambda: first.append(sandbox.run(alice, "BLPOP a 0")))
    waiting.start()
    wait_until(lambda: app_redis.zcard(BLOCKING) == 1)

    refused = sandbox.run(bob, "BRPOP b 0")
    not_blocking = sandbox.run(bob, "LPOP b")
    waiting.join(timeout=5)
    afterwards = sandbox.run(bob, "BLPOP b 0.1")

    assert refused.error and "as many waiting" in refused.reply
    assert not_blocking.reply == "(nil)"
    assert first[0].reply == "(nil)"
    assert afterwards.reply == "(nil)" and not afterwards.error
    assert app_redis.zcard(BLOCKING) == 0


# -- 6: nobody's keys are evicted; a full sandbox says so ------------------------
@pytest.fixture
def small_sandbox(settings):
    """A sandbox server of its own, launched as the site launches one, with little memory."""
    server = start_server(SANDBOX_SERVER_ARGS)
    admin = redis.Redis.from_url(server.url)
    admin.config_set("maxmemory", admin.info("memory")["used_memory"] + 1024 * 1024)
    settings.SANDBOX_REDIS_URL = server.url
    reset_clients()
    engine = build_sandbox()
    engine.limits = dataclasses.replace(engine.limits, keys=10)
    yield engine, admin
    admin.close()
    server.stop()
    reset_clients()


def test_the_sandbox_server_never_evicts():
    assert SANDBOX_SERVER_ARGS[SANDBOX_SERVER_ARGS.index("--maxmemory-policy") + 1] == "noeviction"


def test_a_hundred_learners_filling_their_quota_evict_nobody(small_sandbox):
    engine, admin = small_sandbox
    value = "v" * 2000
    written: dict[bytes, bytes] = {}
    full = []

    for learner in learners(100, "fill"):
        line = "MSET " + " ".join(f"k{n} {value}" for n in range(10))
        outcome = engine.run(learner, line, record=True)
        if outcome.reply == "OK":
            written.update({learner.key(f"k{n}".encode()): value.encode() for n in range(10)})
        else:
            full.append(outcome.reply)

    assert written and full  # some fitted, then the sandbox was full
    assert all("the sandbox is full" in reply for reply in full)
    assert admin.info("stats")["evicted_keys"] == 0
    assert admin.mget(list(written)) == list(written.values())  # every key, every value


def test_a_full_sandbox_still_reads_and_deletes(small_sandbox):
    engine, admin = small_sandbox
    mine = Namespace("mine00000000000000000000")
    engine.run(mine, "SET keep 1")
    for learner in learners(100, "fill"):
        engine.run(learner, "MSET " + " ".join(f"k{n} {'v' * 2000}" for n in range(10)))

    refused = engine.run(mine, "SET more 1")
    read = engine.run(mine, "GET keep")
    deleted = engine.run(mine, "DEL keep")

    assert "the sandbox is full" in refused.reply
    assert read.reply == '"1"'
    assert deleted.reply == "(integer) 1" and not admin.exists(mine.key(b"keep"))


def test_a_full_sandbox_sweeps_idle_namespaces_before_refusing(small_sandbox, app_redis):
    engine, admin = small_sandbox
    idle, active = Namespace("idle0000000000000000000b"), Namespace("active00000000000000000b")
    engine.limits = dataclasses.replace(engine.limits, keys=100)
    for chunk in range(10):
        pairs = " ".join(f"k{chunk}-{n} {'v' * 8000}" for n in range(5))
        assert engine.run(idle, f"MSET {pairs}").reply == "OK"
    app_redis.zadd(ACTIVE, {idle.name: time.time() - 2 * 3600})
    used = admin.info("memory")["used_memory"]
    admin.config_set("maxmemory", int(used / 0.95))  # past the refusal threshold
    engine.target.server.memory(fresh=True)

    outcome = engine.run(active, "SET k v")

    assert outcome.reply == "OK"
    assert not list(admin.scan_iter(match=idle.pattern()))  # the idle learner went first
    assert admin.exists(active.key(b"k"))


# -- reset and grading delete through the key index, never SCAN the server ---------
def scans(sandbox_redis) -> int:
    return sandbox_redis.info("commandstats").get("cmdstat_scan", {}).get("calls", 0)


def test_reset_deletes_through_the_key_index(sandbox, alice, bob, sandbox_redis):
    sandbox.run(alice, "MSET a 1 b 2 c 3")
    sandbox.run(bob, "SET a 1")
    sandbox_redis.config_resetstat()

    deleted = sandbox.reset(alice)

    assert deleted == 3
    assert scans(sandbox_redis) == 0
    assert not list(sandbox_redis.scan_iter(match=alice.pattern()))
    assert sandbox_redis.exists(bob.key(b"a"))


def test_grading_a_command_scans_nothing(sandbox, sandbox_redis):
    sandbox_redis.config_resetstat()

    result = grade_command(["RPUSH q a"], [], "RPUSH q b")

    assert result.reply == "(integer) 2"
    assert scans(sandbox_redis) == 0
    assert not [k for k in sandbox_redis.scan_iter(count=1000) if k.startswith(b"sbx:quiz")]


def test_reset_falls_back_to_a_bounded_scan_while_the_app_redis_is_away(
    own_app_redis, sandbox_redis
):
    engine, learner = build_sandbox(), Namespace("away0000000000000000000a")
    engine.run(learner, "MSET a 1 b 2")
    own_app_redis.stop()

    deleted = engine.reset(learner)

    assert deleted == 2
    assert not list(sandbox_redis.scan_iter(match=learner.pattern()))
