"""Real lab environments for tests: started once per module where it is safe to share,
always stopped by finalizers, and checked for leftover processes at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from labs.environments.local import LocalProvider
from labs.environments.nodes import kill, processes_under, start_ticks
from labs.environments.provider import Environment
from labs.environments.settings import LabSettings


def poll(predicate: Callable[[], object], timeout: float, what: str) -> float:
    """Wait for predicate with a deadline; the seconds it took."""
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > timeout:
            pytest.fail(f"{what} within {timeout}s")
        time.sleep(0.02)
    return time.monotonic() - began


def leftovers(runtime: str | Path) -> list[int]:
    return processes_under(runtime) if Path(runtime).exists() else []


@pytest.fixture(scope="module")
def lab_settings(tmp_path_factory) -> LabSettings:
    return LabSettings(runtime_dir=str(tmp_path_factory.mktemp("labs")))


@pytest.fixture(scope="module")
def provider(lab_settings):
    provider = LocalProvider(lab_settings)
    yield provider
    # Whatever a failed test left running goes here, so no test leaks a process.
    stray = leftovers(lab_settings.runtime_dir)
    kill((pid, start_ticks(pid)) for pid in stray)
    assert not stray, f"processes left running after the module: {stray}"


def as_control(provider: LocalProvider, env: Environment, name: str) -> redis.Redis:
    return provider.client(env, env.node(name), timeout=2.0)


def as_learner(env: Environment, name: str) -> redis.Redis:
    return redis.Redis(
        port=env.node(name).port,
        password=env.learner_password,
        socket_timeout=2.0,
        decode_responses=True,
    )
