"""The bench's pages and JSON, on the real servers, runs in the real thread pool."""

import json
import time
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from learn.sandbox_views import namespace_of
from patterns.models import Run
from tests.factories import learner_session

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

START = reverse("patterns:start")
JSON = {"Accept": "application/json"}
SHORT = {"keys": 20, "read_ratio": 0.8, "skew": 0, "db_latency_ms": 1, "seconds": 1, "seed": 5}
CONTRACT = {
    "reads", "writes", "hits", "misses", "hit_ratio", "stale_reads", "db_reads", "db_writes",
    "read_ms", "write_ms", "writes_at_risk_max", "writes_at_risk_end", "redis_bytes",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _no_run_outlives_its_test(transactional_db, sandbox_redis):
    """A run still going would write into the next test's servers and tables.

    A run marked failed by its deadline may still be going: its keys say so.
    """
    yield

    def going() -> bool:
        keys = sandbox_redis.scan_iter(match="sbx:*:bench:*", count=1000)
        return Run.objects.filter(status="running").exists() or next(keys, None) is not None

    deadline = time.monotonic() + 30
    while going() and time.monotonic() < deadline:
        time.sleep(0.1)  # a poll interval


def start(client: Client, **params) -> tuple[int, dict]:
    response = client.post(START, params, headers=JSON)
    return response.status_code, response.json()


def finished(client: Client, run_id: str, within: float = 30) -> dict:
    """Poll the run's JSON until it is no longer running (or fail at the deadline)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        body = client.get(reverse("patterns:run", args=[run_id]), headers=JSON).json()
        if body["status"] != "running":
            return body
        time.sleep(0.1)  # a poll interval, not a wait for a fixed outcome
    raise AssertionError(f"run {run_id} still running after {within} s")


def learner_keys(client: Client, sandbox_redis) -> list[bytes]:
    prefix = namespace_of(client.session["learner_id"]).prefix
    return [k for k in sandbox_redis.scan_iter(count=1000) if k.startswith(prefix)]


class TestStartAndRead:
    def test_a_run_answers_its_id_then_the_measured_result(self, client, sandbox_redis):
        status, body = start(client, pattern="write-through", **SHORT)

        assert status == 202
        result = finished(client, body["id"])
        assert result["status"] == "done"
        assert set(result["result"]) == CONTRACT
        assert result["result"]["stale_reads"] == 0
        assert result["result"]["db_reads"] == result["result"]["misses"]
        assert learner_keys(client, sandbox_redis) == []  # every key of the run deleted

    def test_a_json_body_works_too(self, client):
        response = client.post(
            START,
            json.dumps({"pattern": "lazy", **SHORT}),
            content_type="application/json",
            headers=JSON,
        )

        assert response.status_code == 202
        assert Run.objects.get().params["pattern"] == "lazy"

    def test_the_stampede_kind_reports_database_reads_at_expiry(self, client):
        status, body = start(
            client, kind="stampede", protection="lock", keys=1, readers=4, ttl=0.3,
            db_latency_ms=20, seconds=1,
        )  # fmt: skip

        result = finished(client, body["id"])
        assert status == 202 and result["status"] == "done"
        assert set(result["result"]) == CONTRACT | {"db_reads_at_expiry"}
        assert result["result"]["db_reads_at_expiry"] >= 1

    def test_the_form_post_redirects_to_the_run_page(self, client):
        response = client.post(START, {"kind": "pattern", "pattern": "lazy", **SHORT})

        run = Run.objects.get()
        assert response.status_code == 303
        assert response["Location"] == run.get_absolute_url()
        finished(client, str(run.pk))

    def test_htmx_gets_the_polling_status_fragment(self, client):
        response = client.post(START, {"pattern": "lazy", **SHORT}, headers={"HX-Request": "true"})

        html = response.content.decode()
        assert response.status_code == 200
        assert 'id="run-status"' in html and 'hx-trigger="every 1s"' in html
        assert "<html" not in html
        finished(client, str(Run.objects.get().pk))

    def test_the_run_page_shows_the_figures_charts_and_their_tables(self, client):
        _, body = start(client, pattern="lazy", **SHORT)
        result = finished(client, body["id"])["result"]

        response = client.get(reverse("patterns:run", args=[body["id"]]))

        html = response.content.decode()
        assert "Measured figures" in html
        assert f"{result['reads']:,}" in html
        assert html.count('role="img"') == 2
        assert "Latency distribution as a table" in html

    def test_a_finished_run_fragment_stops_polling(self, client):
        _, body = start(client, pattern="lazy", **SHORT)
        finished(client, body["id"])

        response = client.get(
            reverse("patterns:run", args=[body["id"]]), headers={"HX-Request": "true"}
        )

        html = response.content.decode()
        assert "hx-trigger" not in html and "Measured figures" in html


class TestLimits:
    def test_a_ten_minute_run_is_refused_with_a_message_and_nothing_stored(self, client):
        status, body = start(client, pattern="lazy", **{**SHORT, "seconds": 600})

        assert status == 422
        assert body["error"] == "Run length may be at most 30 s."
        assert Run.objects.count() == 0

    def test_a_million_keys_are_refused(self, client):
        status, body = start(client, pattern="lazy", **{**SHORT, "keys": 1_000_000})

        assert status == 422
        assert body["error"] == "Number of keys may be at most 5000."
        assert Run.objects.count() == 0

    def test_the_form_shows_the_refusal_on_the_page(self, client):
        response = client.post(START, {"kind": "pattern", "pattern": "lazy", "seconds": "600"})

        assert response.status_code == 422
        assert "Run length may be at most 30 s." in response.content.decode()
        assert Run.objects.count() == 0

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"pattern": "memcached"}, "Choose one of the six patterns."),
            ({"pattern": "lazy", "read_ratio": "2"}, "Share of reads may be at most 1."),
            ({"pattern": "lazy", "db_latency_ms": "x"}, "Database latency must be a number."),
            ({"pattern": "lazy-ttl", "ttl": "1", "jitter": "5"}, "TTL jitter may be at most"),
            ({"kind": "stampede", "readers": "500"}, "Concurrent readers may be at most 16."),
            ({"kind": "nope"}, "The kind of run must be"),
        ],
    )
    def test_bad_input_gets_a_clear_message(self, client, params, message):
        response = client.post(START, params, headers=JSON)

        assert response.status_code in (400, 422)
        assert response.json()["error"].startswith(message)
        assert Run.objects.count() == 0

    def test_a_body_that_is_not_json_is_a_400(self, client):
        response = client.post(START, "{nope", content_type="application/json", headers=JSON)

        assert response.status_code == 400
        assert Run.objects.count() == 0

    def test_a_second_run_of_one_learner_at_once_is_refused(self, client):
        _, first = start(client, pattern="lazy", **{**SHORT, "seconds": 3})

        status, body = start(client, pattern="write-through", **SHORT)

        assert status == 409
        assert "already have a run going" in body["error"]
        assert Run.objects.count() == 1
        finished(client, first["id"])

    def test_the_site_wide_cap_refuses_a_run_beyond_it(self, client, settings):
        settings.PATTERNS_MAX_RUNS = 1
        other = Client(REMOTE_ADDR="192.0.2.8")  # another network: not refused as the same one
        _, first = start(other, pattern="lazy", **{**SHORT, "seconds": 3})

        status, body = start(client, pattern="lazy", **SHORT)

        assert status == 429
        assert "The bench is busy" in body["error"]
        assert Run.objects.count() == 1
        finished(other, first["id"])

    def test_a_run_past_its_deadline_is_failed_and_frees_its_slot(self, client):
        _, first = start(client, pattern="lazy", **{**SHORT, "seconds": 3})
        Run.objects.filter(pk=first["id"]).update(deadline="2000-01-01T00:00:00Z")

        body = client.get(reverse("patterns:run", args=[first["id"]]), headers=JSON).json()
        status, _ = start(client, pattern="lazy", **SHORT)

        assert body["status"] == "failed" and "took too long" in body["error"]
        assert status == 202
        # The first run's thread finishes later but cannot overwrite the verdict.
        for run in Run.objects.all():
            finished(client, str(run.pk))
        assert Run.objects.get(pk=first["id"]).status == "failed"


class TestIsolation:
    def test_a_run_touches_nothing_outside_the_learners_namespace(
        self, client, sandbox, sandbox_redis
    ):
        other = namespace_of(str(uuid.uuid4()))
        sandbox.run(other, "SET mine 1")
        sandbox_redis.set("outside", "x")
        mine = namespace_of(learner_session(client)).prefix

        def outside() -> dict:
            return {
                k: (sandbox_redis.dump(k), sandbox_redis.ttl(k))
                for k in sandbox_redis.scan_iter(count=1000)
                if not k.startswith(mine)
            }

        before = outside()
        _, body = start(client, pattern="write-behind", **SHORT)
        finished(client, body["id"])

        assert outside() == before
        assert learner_keys(client, sandbox_redis) == []

    def test_another_learners_run_is_not_found(self, client):
        _, body = start(client, pattern="lazy", **SHORT)
        stranger = Client()

        page = stranger.get(reverse("patterns:run", args=[body["id"]]))
        data = stranger.get(reverse("patterns:run", args=[body["id"]]), headers=JSON)

        assert page.status_code == 404 and data.status_code == 404
        finished(client, body["id"])


class TestMethodsAndPage:
    def test_start_refuses_get(self, client):
        assert client.get(START).status_code == 405
        assert Run.objects.count() == 0

    def test_the_run_page_refuses_post(self, client):
        _, body = start(client, pattern="lazy", **SHORT)

        assert client.post(reverse("patterns:run", args=[body["id"]])).status_code == 405
        finished(client, body["id"])

    def test_the_page_refuses_post(self, client):
        assert client.post(reverse("patterns:page")).status_code == 405

    def test_the_page_shows_both_forms_and_links_the_topic(self, client):
        html = client.get(reverse("patterns:page")).content.decode()

        assert "Run a pattern" in html and "Stampede demo" in html
        assert reverse("learn:topic", args=["caching-patterns"]) in html

    def test_the_page_compares_the_learners_last_runs_on_one_workload(self, client):
        for pattern in ("lazy", "write-through"):
            _, body = start(client, pattern=pattern, **SHORT)
            finished(client, body["id"])

        html = client.get(reverse("patterns:page")).content.decode()

        assert "Your runs side by side" in html
        assert "These runs share one workload" in html
        assert "Lazy loading, no invalidation" in html and "Write-through" in html

    def test_htmx_gets_only_the_comparison(self, client):
        html = client.get(reverse("patterns:page"), headers={"HX-Request": "true"}).content
        assert b'id="comparison"' in html and b"<html" not in html
