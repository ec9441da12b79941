"""Start real Redis servers (and memcached, when installed) for the test run unless
the environment names some.

Loaded with `-p` (see pyproject.toml) so it runs before pytest-django sets up
Django: settings then read REDIS_URL / SANDBOX_REDIS_URL from the environment
like they do in production.
"""

import os

import pytest

from config.embedded import (
    EmbeddedMemcached,
    EmbeddedServer,
    start_missing_memcached,
    start_missing_servers,
    stop_all,
)

_started: list[EmbeddedServer] = []
_memcached: list[EmbeddedMemcached] = []


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args) -> None:
    # Settings default to DEBUG off (production-safe); the suite runs as a
    # developer's machine does, like `make run`.
    os.environ.setdefault("DEBUG", "1")
    _started.extend(start_missing_servers())
    # Optional like on a developer's machine: without the binary the Memcached
    # tests skip (and fail in CI, which installs it).
    memcached = start_missing_memcached()
    if memcached:
        _memcached.append(memcached)


def pytest_report_header(config) -> list[str]:
    lines = []
    for name in ("REDIS_URL", "SANDBOX_REDIS_URL"):
        owner = next((s for s in _started if s.url == os.environ.get(name)), None)
        origin = f"embedded {os.path.basename(owner.binary)}" if owner else "from the environment"
        lines.append(f"{name}: {os.environ.get(name)} ({origin})")
    memcached = os.environ.get("MEMCACHED_URL") or "absent (sudo apt-get install memcached)"
    origin = " (embedded)" if _memcached else ""
    lines.append(f"MEMCACHED_URL: {memcached}{origin}")
    return lines


def embedded_servers() -> dict[str, EmbeddedServer]:
    """The servers this run started, by the variable they serve."""
    return {
        name: server
        for server in _started
        for name in ("REDIS_URL", "SANDBOX_REDIS_URL")
        if os.environ.get(name) == server.url
    }


def pytest_unconfigure(config) -> None:
    stop_all(_started)
    for server in _memcached:
        server.stop()
