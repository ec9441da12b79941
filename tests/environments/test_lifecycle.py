"""Lifecycle with real processes: the cap under contention, two site processes, expiry."""

from __future__ import annotations

import threading

import pytest

from labs.environments.lifecycle import Lifecycle
from labs.environments.local import LocalProvider
from labs.environments.provider import StartFailed, UnknownKind
from labs.environments.registry import ACTIVE, Registry
from labs.environments.settings import LabSettings
from tests.environments.conftest import leftovers

pytestmark = pytest.mark.redis


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def site(tmp_path, app_redis):
    """A lifecycle as one site process builds it; every environment stopped afterwards."""
    settings = LabSettings(runtime_dir=str(tmp_path), max_environments=2, idle_timeout=600)
    clock = Clock()
    lifecycle = Lifecycle(LocalProvider(settings), Registry(app_redis), settings, clock)
    yield lifecycle
    for entry in lifecycle.registry.active():
        lifecycle.stop(entry.owner)
    assert leftovers(tmp_path) == []


def test_three_times_the_cap_asking_at_once_start_exactly_the_cap(site, tmp_path, app_redis):
    learners = [f"learner-{i}" for i in range(3 * site.settings.max_environments)]
    outcomes, barrier = {}, threading.Barrier(len(learners))

    def request(owner: str) -> None:
        barrier.wait()
        outcomes[owner] = site.open(owner, "cluster")

    threads = [threading.Thread(target=request, args=(owner,)) for owner in learners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = [o for o in outcomes.values() if o.status == "started"]
    queued = [o for o in outcomes.values() if o.status == "queued"]
    assert len(started) == 2 and len(queued) == 4
    assert sorted(o.place for o in queued) == [1, 2, 3, 4]
    assert all("All 2 lab environments are in use" in o.message for o in queued)
    assert all(o.estimate_seconds is not None and o.estimate_seconds > 0 for o in queued)
    assert len(leftovers(tmp_path)) == 12  # 2 clusters of 6 nodes, nothing more
    for owner, outcome in outcomes.items():
        if outcome.status == "started":
            assert site.stop(owner)
    assert leftovers(tmp_path) == [] and app_redis.zcard(ACTIVE) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_two_site_processes_serve_the_same_learners_environment(site, tmp_path, app_redis):
    opened = site.open("learner-a", "cluster")
    # Another site process on this host: its own provider, the same app Redis.
    other = Lifecycle(LocalProvider(site.settings), Registry(app_redis), site.settings)
    again = other.open("learner-a", "cluster")
    assert again.status == "existing" and again.env.id == opened.env.id
    assert [n.port for n in again.env.nodes] == [n.port for n in opened.env.nodes]
    assert other.provider.status(again.env).state == "ready"
    assert other.stop("learner-a")
    assert leftovers(tmp_path) == [] and site.registry.of_owner("learner-a") is None


def test_a_second_environment_for_the_same_learner_is_refused_with_a_message(site, tmp_path):
    site.open("learner-a", "cluster")
    second = site.open("learner-a", "replication-group")
    assert second.status == "existing" and second.env.kind == "cluster"
    assert "Stop it first to start a replication-group" in second.message
    assert len(leftovers(tmp_path)) == 6


def test_an_idle_environment_is_stopped_by_the_sweep(site, tmp_path, app_redis):
    site.open("learner-a", "cluster")
    site.clock.now += 60
    assert site.sweep() == []
    site.clock.now += site.settings.idle_timeout
    swept = site.sweep()
    assert len(swept) == 1 and leftovers(tmp_path) == [] and app_redis.zcard(ACTIVE) == 0


def test_an_unknown_kind_is_refused_and_nothing_is_admitted(site, app_redis):
    with pytest.raises(UnknownKind, match="no environment kind 'memcached'"):
        site.open("learner-a", "memcached")
    assert app_redis.zcard(ACTIVE) == 0


def test_a_start_that_fails_leaves_no_process_folder_or_place(tmp_path, app_redis):
    settings = LabSettings(runtime_dir=str(tmp_path), start_timeout=0.001)
    lifecycle = Lifecycle(LocalProvider(settings), Registry(app_redis), settings)
    with pytest.raises(StartFailed, match=r"did not start.*Nothing was left running"):
        lifecycle.open("learner-a", "cluster")
    assert leftovers(tmp_path) == [] and list(tmp_path.iterdir()) == []
    assert app_redis.zcard(ACTIVE) == 0
