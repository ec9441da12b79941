import dataclasses
import json

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

RUN = reverse("learn:sandbox_run")
JSON = {"Accept": "application/json"}


def run_json(client: Client, command: str) -> dict:
    response = client.post(RUN, {"command": command}, headers=JSON)
    return response.status_code, response.json()


class TestRun:
    def test_it_answers_json_exactly_like_redis_cli(self, client):
        status, first = run_json(client, "RPUSH queue a b")
        _, second = run_json(client, "LRANGE queue 0 -1")

        assert status == 200
        assert first == {
            "reply": "(integer) 2",
            "error": False,
            "note": "",
            "in_transaction": False,
        }
        assert second["reply"] == '1) "a"\n2) "b"'

    def test_an_error_reply_is_flagged(self, client):
        run_json(client, "SET s x")

        _, body = run_json(client, "LPUSH s y")

        assert body["error"] is True
        assert body["reply"].startswith("(error) WRONGTYPE")

    def test_the_key_lands_in_the_learners_namespace_on_the_sandbox_server(
        self, client, sandbox_redis, app_redis
    ):
        run_json(client, "SET visible 1")

        keys = [k for k in sandbox_redis.scan_iter() if not k.startswith(b"cachelab")]
        assert len(keys) == 1
        assert keys[0].startswith(b"sbx:") and keys[0].endswith(b":visible")
        assert not [k for k in app_redis.scan_iter() if k.endswith(b":visible")]

    def test_two_learners_do_not_see_each_others_keys(self, client):
        run_json(client, "SET k 1")
        other = Client()

        _, get = run_json(other, "GET k")
        _, keys = run_json(other, "KEYS *")

        assert get["reply"] == "(nil)"
        assert keys["reply"] == "(empty array)"

    def test_htmx_gets_one_transcript_entry(self, client):
        response = client.post(RUN, {"command": "SET greeting hi"}, headers={"HX-Request": "true"})

        html = response.content.decode()
        assert response.status_code == 200
        assert 'class="entry"' in html and "<html" not in html
        assert "sandbox-changed" in json.loads(response.headers["HX-Trigger"])

    def test_without_javascript_it_redirects_back_and_shows_the_transcript(self, client):
        page_url = reverse("learn:sandbox")
        response = client.post(RUN, {"command": "ECHO hello", "next": page_url})
        page = client.get(page_url)

        assert response.status_code == 302
        assert response["Location"] == page_url
        assert "&quot;hello&quot;" in page.content.decode()

    def test_it_never_redirects_off_site(self, client):
        response = client.post(RUN, {"command": "PING", "next": "https://evil.example/"})

        assert response["Location"] == reverse("learn:sandbox")

    def test_a_missing_command_is_a_400_with_a_message(self, client):
        response = client.post(RUN, {}, headers=JSON)

        assert response.status_code == 400
        assert response.json()["reply"] == "Type a command."

    def test_an_unbalanced_quote_says_invalid_arguments(self, client):
        _, body = run_json(client, 'SET k "oops')

        assert body == {
            "reply": "Invalid argument(s)",
            "error": True,
            "note": "",
            "in_transaction": False,
        }

    def test_a_refused_command_explains_itself(self, client):
        _, body = run_json(client, "FLUSHALL")

        assert body["error"] is True
        assert "Reset my sandbox" in body["reply"]

    def test_it_rejects_get(self, client):
        assert client.get(RUN).status_code == 405

    def test_it_needs_a_csrf_token(self):
        strict = Client(enforce_csrf_checks=True)

        response = strict.post(RUN, {"command": "SET k 1"}, headers=JSON)

        assert response.status_code == 403

    def test_the_csrf_cookie_and_header_work_for_tools(self):
        strict = Client(enforce_csrf_checks=True)
        strict.get(reverse("learn:sandbox"))
        token = strict.cookies["csrftoken"].value

        response = strict.post(RUN, {"command": "PING"}, headers={**JSON, "X-CSRFToken": token})

        assert response.status_code == 200
        assert response.json()["reply"] == "PONG"

    def test_multi_exec_typed_over_several_requests(self, client):
        replies = [run_json(client, line)[1] for line in ("MULTI", "INCR n", "INCR n", "EXEC")]

        assert [r["reply"] for r in replies] == [
            "OK",
            "QUEUED",
            "QUEUED",
            "1) (integer) 1\n2) (integer) 2",
        ]
        assert replies[1]["in_transaction"] is True

    def test_blocking_commands_are_clamped_and_say_so(self, client):
        _, body = run_json(client, "BLPOP nothing 0")

        assert body["reply"] == "(nil)"
        assert "at most" in body["note"]

    def test_help_comes_from_the_server(self, client):
        _, body = run_json(client, "HELP GET")

        assert "GET key" in body["reply"]
        assert "summary:" in body["reply"]


class TestUnavailable:
    def test_a_down_sandbox_says_so_plainly(self, client, settings):
        from learn.redis_clients import reset_clients

        settings.SANDBOX_REDIS_URL = "redis://127.0.0.1:1/0"
        reset_clients()

        json_response = client.post(RUN, {"command": "PING"}, headers=JSON)
        htmx_response = client.post(RUN, {"command": "PING"}, headers={"HX-Request": "true"})
        page = client.get(reverse("learn:sandbox"))

        assert json_response.status_code == 503
        assert "temporarily unavailable" in json_response.json()["reply"]
        assert htmx_response.status_code == 200  # htmx only swaps 2xx: the entry says it
        assert "temporarily unavailable" in htmx_response.content.decode()
        assert page.status_code == 200 and "temporarily unavailable" in page.content.decode()


class TestResetAndKeys:
    def test_reset_deletes_only_this_learners_keys(self, client, sandbox_redis):
        other = Client()
        run_json(client, "MSET a 1 b 2")
        run_json(other, "SET a 1")

        response = client.post(reverse("learn:sandbox_reset"), headers=JSON)

        assert response.json()["deleted"] == 2
        assert run_json(client, "DBSIZE")[1]["reply"] == "(integer) 0"
        assert run_json(other, "DBSIZE")[1]["reply"] == "(integer) 1"

    def test_reset_htmx_returns_the_key_list(self, client):
        run_json(client, "SET a 1")

        response = client.post(reverse("learn:sandbox_reset"), headers={"HX-Request": "true"})

        html = response.content.decode()
        assert html.strip().startswith('<div id="sandbox-keys"')
        assert "empty again (1 key deleted)" in html

    def test_reset_without_javascript_redirects_with_a_message(self, client):
        response = client.post(reverse("learn:sandbox_reset"), follow=True)

        assert "Your sandbox is empty again" in response.content.decode()

    def test_reset_rejects_get(self, client):
        assert client.get(reverse("learn:sandbox_reset")).status_code == 405

    def test_keys_lists_type_and_ttl(self, client):
        run_json(client, "SET session:1 x EX 100")
        run_json(client, "RPUSH jobs a")

        response = client.get(reverse("learn:sandbox_keys"), headers=JSON)

        rows = {row["name"]: row for row in response.json()["keys"]}
        assert rows["jobs"]["type"] == "list" and rows["jobs"]["ttl"] == -1
        assert rows["session:1"]["type"] == "string" and 0 < rows["session:1"]["ttl"] <= 100

    def test_keys_fragment_for_htmx(self, client):
        run_json(client, "SET a 1")

        html = client.get(
            reverse("learn:sandbox_keys"), headers={"HX-Request": "true"}
        ).content.decode()

        assert html.strip().startswith('<div id="sandbox-keys"')
        assert "<code>a</code>" in html

    def test_keys_rejects_post(self, client):
        assert client.post(reverse("learn:sandbox_keys")).status_code == 405


class TestPageAndHistory:
    def test_the_page_shows_the_transcript_and_keeps_history(self, client):
        run_json(client, "SET a 1")
        run_json(client, "GET a")

        response = client.get(reverse("learn:sandbox"))

        assert response.status_code == 200
        assert json.loads(response.context["history_json"]) == ["SET a 1", "GET a"]
        assert [e["command"] for e in response.context["transcript"]] == ["SET a 1", "GET a"]

    def test_clear_empties_the_transcript_but_not_the_history(self, client):
        run_json(client, "SET a 1")

        response = client.post(reverse("learn:sandbox_clear"), headers={"HX-Request": "true"})
        page = client.get(reverse("learn:sandbox"))

        assert response.status_code == 204
        assert page.context["transcript"] == []
        assert json.loads(page.context["history_json"]) == ["SET a 1"]

    def test_clear_rejects_get(self, client):
        assert client.get(reverse("learn:sandbox_clear")).status_code == 405

    def test_every_topic_page_loads_the_panel(self, client, topic):
        html = client.get(topic.get_absolute_url()).content.decode()

        assert f'hx-get="{reverse("journey:sandbox_panel")}?next=' in html
        assert 'hx-trigger="load"' in html

    def test_the_panel_fragment_carries_the_learners_transcript(self, client, topic):
        run_json(client, "SET a 1")

        response = client.get(
            reverse("journey:sandbox_panel"),
            {"next": topic.get_absolute_url()},
            headers={"HX-Request": "true"},
        )

        html = response.content.decode()
        assert html.strip().startswith('<section class="sandbox"')
        assert 'id="sandbox-command"' in html and "<code>a</code>" in html
        assert f'name="next" value="{topic.get_absolute_url()}"' in html

    def test_the_panel_rejects_post(self, client):
        assert client.post(reverse("journey:sandbox_panel")).status_code == 405


class TestHardening:
    """Issue 16, through the web: what a stranger can make the site store or start."""

    def test_oversized_lines_leave_a_small_page_and_pay_the_rate_limit(
        self, client, sandbox, app_redis
    ):
        # Lines over the sandbox's line limit but under the site's body cap.
        sandbox.limits = dataclasses.replace(
            sandbox.limits, burst=8, rate=0.01, line_bytes=16 * 1024
        )
        huge = "SET k " + "v" * (60 * 1024)

        bodies = [run_json(client, huge)[1]["reply"] for _ in range(10)]
        page = client.get(reverse("learn:sandbox"))

        assert all("61,446 bytes" in b for b in bodies[:8])
        assert all("slow down" in b for b in bodies[8:])
        assert len(page.content) < 64 * 1024
        stored = sum(app_redis.memory_usage(k) or 0 for k in app_redis.scan_iter(count=1000))
        assert stored < 256 * 1024

    def test_a_body_over_the_site_cap_is_refused_before_the_sandbox_sees_it(
        self, sandbox, app_redis
    ):
        stranger = Client(raise_request_exception=False)
        huge = "SET k " + "v" * (2 * 1024 * 1024)

        response = stranger.post(reverse("learn:sandbox_run"), {"command": huge}, headers=JSON)

        assert response.status_code == 400
        assert not list(app_redis.scan_iter(match="cachelab:sbx:*", count=1000))

    def test_one_address_starts_only_so_many_new_sandboxes_an_hour(
        self, client, sandbox, app_redis
    ):
        sandbox.limits = dataclasses.replace(sandbox.limits, new_per_origin=3)
        run_json(client, "SET mine 1")
        strangers = [Client() for _ in range(4)]

        replies = [run_json(stranger, "PING")[1]["reply"] for stranger in strangers]
        reset = client.post(reverse("learn:sandbox_reset"), headers=JSON)
        again = run_json(client, "PING")[1]["reply"]
        elsewhere = run_json(Client(REMOTE_ADDR="192.0.2.7"), "PING")[1]["reply"]

        assert replies[:2] == ["PONG", "PONG"]
        assert all("new sandboxes this hour" in r for r in replies[2:])
        assert reset.status_code == 200 and again == "PONG"  # a reset is not a new sandbox
        assert elsewhere == "PONG"
        assert app_redis.zcard("cachelab:sbx:active") == 4  # the refused ones never started
        assert not [k for k in app_redis.scan_iter(count=1000) if b"192.0.2.7" in k]
