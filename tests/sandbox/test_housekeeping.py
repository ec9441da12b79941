"""Idle namespaces expire without TTLs on learners' keys; a restarted server recovers."""

import time
from io import StringIO

import pytest
import redis
from django.core.management import call_command

from config.embedded import SANDBOX_SERVER_ARGS, start_server
from learn.redis_clients import reset_clients, sandbox
from learn.sandbox.ledger import BOOK
from learn.sandbox.namespace import Namespace

pytestmark = pytest.mark.redis


def test_idle_namespaces_are_swept_and_active_ones_kept(sandbox, app_redis, sandbox_redis):
    idle, active = Namespace("idle0000000000000000000a"), Namespace("active00000000000000000a")
    for namespace in (idle, active):
        sandbox.run(namespace, "SET k v")
    assert sandbox.run(idle, "TTL k").reply == "(integer) -1"  # no TTL shows through
    app_redis.zadd(BOOK + "active", {idle.name: time.time() - 2 * 86400})

    out = StringIO()
    call_command("sandbox_sweep", stdout=out)

    assert "Cleared 1 idle sandbox namespace" in out.getvalue()
    assert not sandbox_redis.exists(idle.key(b"k"))
    assert sandbox_redis.exists(active.key(b"k"))


def test_the_sandbox_recovers_when_its_server_comes_back(settings):
    server = start_server(SANDBOX_SERVER_ARGS)
    settings.SANDBOX_REDIS_URL = server.url
    reset_clients()
    learner = Namespace("learner00000000000000000")
    try:
        assert sandbox().run(learner, "SET k 1").reply == "OK"

        server.stop()
        from learn.sandbox.runner import SandboxUnavailable

        with pytest.raises(SandboxUnavailable):
            sandbox().run(learner, "GET k")

        server.restart()
        # The restarted server has forgotten the ACL user: the engine sets it up again.
        assert sandbox().run(learner, "SET k 2").reply == "OK"
        assert redis.Redis.from_url(server.url).get(learner.key(b"k")) == b"2"
    finally:
        server.stop()
        reset_clients()


def test_adopting_keys_keeps_the_quota_and_the_targets_own_values(sandbox, sandbox_redis):
    source, target = Namespace("source00000000000000000a"), Namespace("target00000000000000000a")
    most = sandbox.limits.keys
    pairs = " ".join(f"t{i} 1" for i in range(most - 1))
    assert sandbox.run(target, f"MSET {pairs} clash target").reply == "OK"
    for command in ("SET clash source", "SET extra1 1", "SET extra2 2"):
        sandbox.run(source, command)

    moved = sandbox.adopt(source, target)

    assert moved == 0  # the target is full: nothing moves, nothing is overwritten
    assert sandbox.run(target, "GET clash").reply == '"target"'
    sandbox.run(target, "DEL t0 t1")

    moved = sandbox.adopt(source, target)

    assert moved == 2
    assert sandbox.run(target, "DBSIZE").reply == f"(integer) {most}"
    assert sandbox.run(target, "GET clash").reply == '"target"'
    assert sandbox.run(source, "KEYS *").reply == '1) "clash"'  # left to be swept
