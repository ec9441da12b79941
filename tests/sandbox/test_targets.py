"""A second target shape through the same pipeline: a learner's own server.

Labs will give a learner a private server: nothing mapped, no ACL confinement
to check, a policy of its own. This builds one from the engine's parts, as
the labs will, and checks the shared sandbox is untouched by it.
"""

import dataclasses
from collections.abc import Sequence

import pytest
import redis
from django.conf import settings

from config.embedded import start_server
from config.redis_config import APP_REDIS_DOWN
from learn.sandbox import policy
from learn.sandbox.commands import CommandInfo
from learn.sandbox.connection import Connection
from learn.sandbox.ledger import Ledger, book_key
from learn.sandbox.namespace import Unmapped
from learn.sandbox.runner import Engine, Target

pytestmark = pytest.mark.redis


@dataclasses.dataclass(frozen=True)
class OwnServerPolicy:
    """The server is the learner's alone: administering it is the lesson."""

    limits: policy.Limits = dataclasses.field(default_factory=policy.Limits)

    def check_line(self, line: bytes) -> policy.Refusal | None:
        return policy.check_size(line, self.limits)

    def check_command(self, info: CommandInfo | None, args: Sequence[bytes]):
        if info is not None and info.name in {"shutdown", "debug", "module"}:
            return policy.Refusal("Not even on your own server.")
        return None

    def check_arguments(self, info, args, positions):
        return policy.check_offsets(info.name, args, self.limits)

    def check_queue(self, queued, args):
        return policy.check_queue(queued, args, self.limits)


@pytest.fixture
def own_server():
    server = start_server()
    yield server
    server.stop()


def test_a_private_target_runs_unmapped_with_its_own_policy(
    own_server, app_redis, sandbox, alice, sandbox_redis
):
    sandbox.run(alice, "SET shared 1")
    target = Target(
        Connection(own_server.url, confine=False),
        OwnServerPolicy(),
        mapping=lambda namespace: Unmapped(namespace.name),
        emulated=frozenset(),
        quota=False,
    )
    engine = Engine(target, Ledger(redis.Redis.from_url(settings.REDIS_URL), APP_REDIS_DOWN))

    replies = [
        engine.run(alice, line).reply
        for line in ("SET k v", "DBSIZE", "CONFIG GET maxmemory-policy", "FLUSHDB", "SHUTDOWN")
    ]

    assert replies[:2] == ["OK", "(integer) 1"]
    assert replies[2].startswith('1) "maxmemory-policy"')  # refused on the shared server
    assert replies[3] == "OK"
    assert "Not even on your own server" in replies[4]
    assert redis.Redis.from_url(own_server.url).dbsize() == 0
    # The same bookkeeping (the learner's rate bucket), and the shared server untouched.
    assert app_redis.exists(book_key(alice, "rate"))
    assert sandbox_redis.get(alice.key(b"shared")) == b"1"
