"""Acceptance 4: without memcached the site starts and the console's page explains."""

from __future__ import annotations

import pytest
from django.urls import reverse

from config.embedded import start_missing_memcached

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def absent(settings):
    settings.MEMCACHED_URL = ""


def test_nothing_is_started_without_the_binary_and_nothing_fails():
    environ = {"PATH": "/nonexistent"}

    assert start_missing_memcached(environ) is None
    assert "MEMCACHED_URL" not in environ


def test_nothing_is_started_when_a_server_is_configured():
    environ = {"MEMCACHED_URL": "memcached://127.0.0.1:11211"}

    assert start_missing_memcached(environ) is None


def test_the_page_says_how_to_get_memcached(client, absent):
    response = client.get(reverse("memcache:console"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "sudo apt-get install memcached" in body
    assert 'aria-label="Memcached output"' not in body


def test_a_command_without_memcached_is_a_503_that_explains(client, absent):
    response = client.post(
        reverse("memcache:run"), {"command": "version"}, headers={"Accept": "application/json"}
    )

    assert response.status_code == 503
    assert "sudo apt-get install memcached" in response.json()["reply"]


def test_healthz_reports_memcached_absent_without_failing(client, absent):
    response = client.get(reverse("learn:healthz"))

    assert response.status_code == 200
    assert response.json()["optional"] == {"memcached": "absent"}


def test_healthz_reports_memcached_ok_when_it_answers(client, server):
    assert client.get(reverse("learn:healthz")).json()["optional"] == {"memcached": "ok"}


def test_the_nav_links_the_console(client, absent):
    body = client.get(reverse("learn:home")).content.decode()

    assert f'href="{reverse("memcache:console")}"' in body


def test_an_embedded_memcached_is_loopback_only_bounded_and_never_evicts(server):
    from config.embedded import find_memcached, start_memcached
    from memcache.console.connection import Server

    if not find_memcached():
        pytest.skip("needs the memcached binary")
    started = start_memcached()
    try:
        settings_lines = Server("127.0.0.1", started.port).exchange(b"stats settings\r\n")
        stats = dict(h.split(b" ")[1:3] for h, _ in settings_lines if h.startswith(b"STAT "))
        assert stats[b"inter"] == b"127.0.0.1" and stats[b"udpport"] == b"0"
        assert stats[b"maxbytes"] == str(32 * 1024 * 1024).encode()
        assert stats[b"evictions"] == b"off" and stats[b"flush_enabled"] == b"no"
        assert stats[b"dump_enabled"] == b"no"
        assert stats[b"item_size_max"] == b"65536"
    finally:
        started.stop()
