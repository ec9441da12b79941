"""The console's page, its JSON and fragments, on the real memcached."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from config.embedded import free_port
from memcache import clients
from tests.memcache.conftest import raw_exchange

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

PAGE, RUN = reverse("memcache:console"), reverse("memcache:run")
RESET, KEYS = reverse("memcache:reset"), reverse("memcache:keys")
JSON = {"Accept": "application/json"}
HTMX = {"HX-Request": "true"}


def run_json(client: Client, command: str) -> tuple[int, dict]:
    response = client.post(RUN, {"command": command}, headers=JSON)
    return response.status_code, response.json()


@pytest.fixture(autouse=True)
def _memcached(server):
    """Every test here needs the server (skips without it, fails in CI)."""


class TestRun:
    def test_it_answers_json_with_the_servers_exact_bytes(self, client):
        stored = run_json(client, "set greeting 0 60 5\r\nhello")
        read = run_json(client, "get greeting")

        assert stored == (200, {"reply": "STORED\r\n", "error": False})
        assert read == (200, {"reply": "VALUE greeting 0 5\r\nhello\r\nEND\r\n", "error": False})

    def test_an_error_reply_is_flagged(self, client):
        run_json(client, "set word 0 0 3\nabc")

        status, body = run_json(client, "incr word 1")

        assert status == 200 and body["error"] is True
        assert body["reply"].startswith("CLIENT_ERROR cannot increment")

    def test_a_refusal_says_why_and_is_an_error(self, client):
        status, body = run_json(client, "flush_all")

        assert status == 200 and body["error"] is True
        assert "every learner" in body["reply"]

    def test_the_key_lands_under_the_learners_prefix(self, client, server):
        run_json(client, "set visible 0 0 1\nx")
        prefix = clients.prefix_for(client.session["learner_id"])

        assert raw_exchange(server, b"get visible\r\n") == b"END\r\n"
        stored = raw_exchange(server, b"get " + prefix.key(b"visible") + b"\r\n")
        assert stored == b"VALUE " + prefix.key(b"visible") + b" 0 1\r\nx\r\nEND\r\n"

    def test_two_learners_do_not_see_each_others_keys(self, client):
        run_json(client, "set shared-name 0 0 4\nmine")

        _, body = run_json(Client(), "get shared-name")

        assert body["reply"] == "END\r\n"

    def test_it_rejects_get(self, client):
        assert client.get(RUN).status_code == 405

    def test_it_rejects_an_empty_command_with_a_message(self, client):
        response = client.post(RUN, {"command": ""}, headers=JSON)

        assert response.status_code == 400
        assert response.json() == {"reply": "Type a command.", "error": True}

    def test_it_needs_the_csrf_token(self):
        client = Client(enforce_csrf_checks=True)

        response = client.post(RUN, {"command": "version"}, headers=JSON)

        assert response.status_code == 403

    def test_htmx_gets_only_the_entry_fragment(self, client):
        response = client.post(RUN, {"command": "set k 0 0 2\nhi"}, headers=HTMX)

        body = response.content.decode()
        assert response.status_code == 200 and "<html" not in body
        assert 'class="entry"' in body and "STORED" in body
        assert "memcached-changed" in response.headers["HX-Trigger"]

    def test_without_javascript_it_runs_and_comes_back_to_the_page(self, client):
        response = client.post(RUN, {"command": "set k 0 0 2\nhi"})

        assert response.status_code == 302 and response.url == PAGE
        assert "STORED" in client.get(PAGE).content.decode()  # the transcript

    def test_the_server_down_is_a_503_with_a_message(self, client, settings):
        settings.MEMCACHED_URL = f"memcached://127.0.0.1:{free_port()}"

        status, body = run_json(client, "version")

        assert status == 503 and "not answering" in body["reply"]

    def test_the_app_redis_away_refuses_rather_than_run_unbounded(self, client, settings):
        from learn.redis_clients import reset_clients

        settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
        settings.REDIS_SOCKET_TIMEOUT = 0.2
        reset_clients()

        status, body = run_json(client, "version")

        assert status == 503 and "limits" in body["reply"]


class TestPage:
    def test_it_shows_the_console_and_the_server_version(self, client):
        response = client.get(PAGE)

        body = response.content.decode()
        assert response.status_code == 200
        assert 'aria-label="Memcached output"' in body and "memcached 1." in body
        assert "230 bytes long" in body and "20-byte prefix" in body

    def test_it_rejects_post(self, client):
        assert client.post(PAGE).status_code == 405


class TestKeysAndReset:
    def test_the_keys_fragment_lists_the_learners_keys_with_sizes(self, client):
        run_json(client, "set a 0 0 3\nabc")

        response = client.get(KEYS, headers=HTMX)
        data = client.get(KEYS, headers=JSON).json()

        assert (
            "<html" not in response.content.decode()
            and "<code>a</code>" in response.content.decode()
        )
        assert data == {"keys": [{"key": "a", "bytes": 3}], "available": True}

    def test_reset_deletes_the_learners_keys(self, client):
        run_json(client, "set a 0 0 3\nabc")

        response = client.post(RESET, headers=JSON)

        assert response.json()["deleted"] == 1
        assert run_json(client, "get a")[1]["reply"] == "END\r\n"

    def test_reset_over_htmx_returns_the_keys_fragment(self, client):
        response = client.post(RESET, headers=HTMX)

        assert response.status_code == 200 and 'id="memcached-keys"' in response.content.decode()

    def test_reset_rejects_get(self, client):
        assert client.get(RESET).status_code == 405

    def test_keys_rejects_post(self, client):
        assert client.post(KEYS).status_code == 405
