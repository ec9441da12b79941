"""The bench's two labs, driven as a learner would: real runs on the bench (the
real thread pool, the sandbox server, the slow database), then the lab's JSON
(/labs/<slug>/state, /labs/<slug>/check). Runs are short: 1.5-2 s each."""

import time

import pytest
from django.test import Client
from django.urls import reverse

from labs.content import load_labs
from labs.models import Lab, LabProgress
from patterns.models import Run
from tests.factories import TopicFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

JSON = {"Accept": "application/json"}
READ_HEAVY = {"keys": 100, "read_ratio": 0.95, "skew": 1, "db_latency_ms": 5, "seed": 3}
HERD = {"kind": "stampede", "keys": 1, "readers": 12, "ttl": 1, "db_latency_ms": 50}


@pytest.fixture(autouse=True)
def bench_labs(transactional_db, sandbox_redis):
    for slug, order in {"overview": 1, "caching-patterns": 6, "use-cases": 7}.items():
        TopicFactory(slug=slug, title=slug.replace("-", " ").title(), order=order)
    load_labs()
    yield
    # A run still going would write into the next test's servers and tables.
    deadline = time.monotonic() + 30
    while Run.objects.filter(status="running").exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # a poll interval


def bench_run(client: Client, lab: str, **params) -> dict:
    """Start a run from the lab's link (its `lab` field) and poll it to the end."""
    response = client.post(reverse("patterns:start"), {**params, "lab": lab}, headers=JSON)
    assert response.status_code == 202, response.content
    url = reverse("patterns:run", args=[response.json()["id"]])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = client.get(url, headers=JSON).json()
        if body["status"] != "running":
            assert body["status"] == "done", body
            return body["result"]
        time.sleep(0.1)  # a poll interval, not a wait for a fixed outcome
    raise AssertionError("the run did not finish within 30 s")


def state(client: Client, lab: str) -> dict:
    response = client.get(reverse("labs:state", args=[lab]), headers=JSON)
    assert response.status_code == 200
    return response.json()


def check(client: Client, lab: str) -> dict:
    response = client.post(reverse("labs:check", args=[lab]), headers=JSON)
    assert response.status_code == 200, response.content
    return response.json()["lab"]


def open_checks(body: dict) -> list[dict]:
    return body["steps"][body["current_step"] - 1]["checks"]


def page(client: Client, lab: str) -> str:
    return client.get(reverse("labs:detail", args=[lab])).content.decode()


class TestPickAPattern:
    def test_lazy_loading_then_write_through_completes_the_lab(self, client):
        lab = "pick-a-pattern"
        bench_run(client, lab, pattern="lazy", seconds=2, **READ_HEAVY)

        assert open_checks(state(client, lab))[0]["passed"]  # checked live, not yet saved
        assert check(client, lab)["current_step"] == 2
        # 3 s: the hit ratio counts the cold start, which a loaded machine stretches.
        result = bench_run(client, lab, pattern="write-through", seconds=3, **READ_HEAVY)
        body = check(client, lab)

        assert result["stale_reads"] == 0 and result["hit_ratio"] >= 0.8
        assert body["completed"] and all(step["passed"] for step in body["steps"])
        assert LabProgress.objects.get(lab__slug=lab).completed_at is not None

    def test_stale_reads_and_then_too_few_hits_fail_step_2_with_their_messages_and_hints(
        self, client
    ):
        lab = "pick-a-pattern"
        bench_run(client, lab, pattern="lazy", seconds=2, **READ_HEAVY)
        check(client, lab)

        stale, enough_hits = open_checks(state(client, lab))
        assert not stale["passed"] and "stale reads; the lab asks for none" in stale["message"]
        assert "update or drop the cached copy" in page(client, lab)  # the first failing hint

        bench_run(client, lab, pattern="write-through-ttl", ttl=0.1, seconds=2, **READ_HEAVY)
        body = check(client, lab)

        stale, enough_hits = open_checks(body)
        assert stale["passed"] and not enough_hits["passed"]
        assert "the lab asks for at least 80.0 %" in enough_hits["message"]
        assert "throws away copies readers still want" in page(client, lab)
        assert body["current_step"] == 2 and not body["completed"]


class TestStopTheStampede:
    def test_a_lock_cuts_the_herd_and_completes_the_lab(self, client):
        lab = "stop-the-stampede"
        plain = bench_run(client, lab, protection="none", seconds=1.5, **HERD)
        assert check(client, lab)["current_step"] == 2

        locked = bench_run(client, lab, protection="lock", seconds=1.5, **HERD)
        body = check(client, lab)

        assert locked["db_reads_at_expiry"] * 5 <= plain["db_reads_at_expiry"]
        assert body["completed"]

    def test_jitter_on_one_hot_key_does_not_cut_it_and_says_so(self, client):
        lab = "stop-the-stampede"
        bench_run(client, lab, protection="none", seconds=1.5, **HERD)
        check(client, lab)

        bench_run(client, lab, protection="jitter", jitter=0.3, seconds=1.5, **HERD)
        body = check(client, lab)

        (herd,) = open_checks(body)
        assert not herd["passed"] and "The lab asks for at most" in herd["message"]
        assert "with a single hot key it changes nothing" in page(client, lab)
        assert body["current_step"] == 2


class TestBetweenTheBenchAndTheLab:
    def test_the_lab_page_links_to_the_bench_with_its_workload_and_shows_no_repl(self, client):
        html = page(client, "pick-a-pattern")

        assert "/patterns/?kind=pattern&amp;keys=100&amp;read_ratio=0.95&amp;skew=1" in html
        assert "lab=pick-a-pattern" in html and "Check my step" in html
        assert "Lab sandbox" not in html and 'name="command"' not in html

    def test_the_bench_fills_in_the_labs_workload_from_the_link(self, client):
        query = "?kind=stampede&keys=1&readers=12&ttl=1&protection=none&lab=stop-the-stampede"

        html = client.get(reverse("patterns:page") + query).content.decode()

        assert 'name="readers" value="12"' in html
        assert 'name="lab" value="stop-the-stampede"' in html
        assert "From the lab" in html

    def test_a_knob_out_of_bounds_in_the_link_falls_back_to_its_default(self, client):
        html = client.get(reverse("patterns:page") + "?kind=pattern&keys=99999999").content

        assert b'name="keys" value="100"' in html

    def test_the_run_page_of_a_labs_run_links_back_to_check_the_step(self, client):
        bench_run(client, "stop-the-stampede", protection="none", seconds=1.5, **HERD)
        run = Run.objects.get()

        html = client.get(run.get_absolute_url()).content.decode()

        assert run.lab == "stop-the-stampede"
        assert f'action="{reverse("labs:check", args=["stop-the-stampede"])}"' in html
        response = client.post(reverse("labs:check", args=["stop-the-stampede"]))
        assert response.status_code == 302
        assert LabProgress.objects.get().current_step == 2

    @pytest.mark.parametrize("hostile", ["<script>x</script>", "no-such-lab", "draft-lab"])
    def test_a_lab_that_is_not_one_the_learner_may_see_is_not_kept_or_linked(self, client, hostile):
        Lab.objects.filter(slug="pick-a-pattern").update(slug="draft-lab", published=False)

        tiny = {"keys": 10, "read_ratio": 0.9, "skew": 0, "db_latency_ms": 0, "seconds": 0.5}
        bench_run(client, hostile, pattern="lazy", **tiny)

        run = Run.objects.get()
        assert run.lab == ""
        assert b"Check my step" not in client.get(run.get_absolute_url()).content
        query = f"?kind=pattern&lab={hostile}"
        assert b'name="lab"' not in client.get(reverse("patterns:page") + query).content
