"""The registry in the app Redis: admission under the cap, one per learner, a fair queue."""

from __future__ import annotations

import threading

import pytest
from redis.crc import key_slot

from labs.environments.registry import (
    ACTIVE,
    QUEUE,
    SEEN,
    Admitted,
    Existing,
    Queued,
    Registry,
    env_key,
    owner_key,
)

pytestmark = pytest.mark.redis
CAP = 3


@pytest.fixture
def registry(app_redis) -> Registry:
    return Registry(app_redis)


def ask(registry: Registry, owner: str, now: float = 1000.0, env_id: str | None = None):
    return registry.admit(
        owner=owner,
        kind="cluster",
        env_id=env_id or f"{abs(hash(owner)) % 16**12:012x}",
        now=now,
        cap=CAP,
        queue_ttl=60,
        host="test:1:1",
    )


def test_it_admits_up_to_the_cap_and_queues_the_rest_in_order(registry, app_redis):
    outcomes = [ask(registry, f"learner-{i}", now=1000 + i) for i in range(5)]
    assert [type(o) for o in outcomes] == [Admitted] * 3 + [Queued] * 2
    assert (outcomes[3].place, outcomes[4].place) == (1, 2)
    assert app_redis.zcard(ACTIVE) == CAP
    assert app_redis.zrange(QUEUE, 0, -1) == [b"learner-3", b"learner-4"]


def test_a_learner_asking_again_gets_the_environment_they_have(registry, app_redis):
    first = ask(registry, "learner-a", env_id="aaaaaaaaaaaa")
    again = ask(registry, "learner-a", env_id="bbbbbbbbbbbb")
    assert isinstance(first, Admitted) and again == Existing("aaaaaaaaaaaa")
    assert app_redis.zcard(ACTIVE) == 1 and not app_redis.exists(env_key("bbbbbbbbbbbb"))


def test_a_freed_place_goes_to_the_first_in_the_queue_not_a_newcomer(registry):
    for i in range(CAP):
        ask(registry, f"learner-{i}", env_id=f"{i:012x}")
    assert isinstance(ask(registry, "waiting", now=1001), Queued)
    registry.release(f"{0:012x}", "learner-0")
    assert isinstance(ask(registry, "newcomer", now=1002), Queued)
    assert isinstance(ask(registry, "waiting", now=1003), Admitted)


def test_a_learner_who_stops_asking_leaves_the_queue(registry, app_redis):
    for i in range(CAP):
        ask(registry, f"learner-{i}")
    ask(registry, "gone", now=1000)
    ask(registry, "staying", now=1030)
    later = ask(registry, "staying", now=1090)  # "gone" last asked 90 s ago: past the TTL
    assert later == Queued(place=1, waiting=1)
    assert app_redis.zrange(SEEN, 0, -1) == [b"staying"]


def test_as_many_learners_as_three_caps_asking_at_once_get_exactly_cap_places(registry):
    outcomes, barrier = {}, threading.Barrier(3 * CAP)

    def request(owner: str) -> None:
        barrier.wait()
        outcomes[owner] = ask(registry, owner)

    threads = [threading.Thread(target=request, args=(f"l{i}",)) for i in range(3 * CAP)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    admitted = [o for o in outcomes.values() if isinstance(o, Admitted)]
    queued = sorted(o.place for o in outcomes.values() if isinstance(o, Queued))
    assert len(admitted) == CAP and queued == list(range(1, 2 * CAP + 1))


def test_release_frees_the_place_and_forgets_the_owner(registry, app_redis):
    ask(registry, "learner-a", env_id="aaaaaaaaaaaa")
    registry.release("aaaaaaaaaaaa", "learner-a")
    assert app_redis.zcard(ACTIVE) == 0
    assert not app_redis.exists(env_key("aaaaaaaaaaaa"), owner_key("learner-a"))
    assert registry.of_owner("learner-a") is None


def test_an_owner_key_without_its_entry_does_not_block_a_new_environment(registry, app_redis):
    app_redis.set(owner_key("learner-a"), "deadbeef0000")
    assert isinstance(ask(registry, "learner-a", env_id="aaaaaaaaaaaa"), Admitted)


def test_an_update_after_a_stop_does_not_bring_the_entry_back(registry, app_redis):
    ask(registry, "learner-a", env_id="aaaaaaaaaaaa")
    registry.release("aaaaaaaaaaaa", "learner-a")
    assert registry.set("aaaaaaaaaaaa", state="ready") is False
    assert not app_redis.exists(env_key("aaaaaaaaaaaa"))


def test_every_registry_key_shares_one_cluster_slot():
    keys = [ACTIVE, QUEUE, SEEN, env_key("aaaaaaaaaaaa"), owner_key("learner:1")]
    assert len({key_slot(k.encode()) for k in keys}) == 1
