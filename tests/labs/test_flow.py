"""Each shipped lab driven through the JSON contract by routes other than its
solution; near misses fail with their check's own message and hint; steps
reset, solutions show, labs restart; lab keys stay the learner's own."""

import dataclasses
import re

import pytest
from django.test import Client
from django.urls import reverse

from labs import services
from labs.models import LabProgress
from learn.models import Learner as LearnerRow
from tests.labs.conftest import JSON

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

OTHER_ROUTES = {
    "session-store": [
        "HMSET session:ada user ada",
        "HSET session:ada cart 3",
        "PEXPIRE session:ada 900000",
        "UNLINK session:ada",
    ],
    "leaderboard": [
        "ZADD board 140 cy",
        "ZADD board 120 ada 95 bob",
        "ZADD board 145 bob",
        "ZADD podium 145 bob 140 cy",
    ],
    "rate-limiter": ["SET rate:10.0.0.1 1 EX 60", "INCRBY rate:10.0.0.1 2"],
    "nearby-shops": [
        "GEOADD shops 13.2877 52.5588 tegel",
        "GEOADD shops 13.4132 52.5219 alex 13.4050 52.5200 mitte",
        "ZADD nearby 1 alex 2 mitte",
    ],
    "unique-visitors": [
        "PFADD visitors:mon ada",
        "PFADD visitors:mon bob cy",
        "PFADD visitors:tue dee bob",
        "PFADD visitors:week ada bob cy dee",
    ],
    "lazy-loading-by-hand": [
        """SET product:42 '{"price":25,"name":"Teapot","id":42}'""",
        "EXPIRE product:42 120",
        """SET product:42 '{"id":42,"name":"Teapot","price":30}'""",
    ],
    "atomic-order": [
        "SET stock:apple 5",
        "MULTI",
        "DECRBY stock:apple 1",
        "LPUSH orders o1",
        "EXEC",
    ],
}


def test_the_state_has_exactly_the_contracts_shape(learner):
    state = learner("session-store").state()

    assert set(state) == {"slug", "current_step", "completed", "steps"}
    assert (state["slug"], state["current_step"], state["completed"]) == ("session-store", 1, False)
    assert set(state["steps"][0]) == {"n", "title", "passed", "assisted", "checks"}
    assert state["steps"][0]["checks"] == [
        {"passed": False, "message": "session:ada does not exist"}
    ]


@pytest.mark.parametrize("slug", sorted(OTHER_ROUTES))
def test_another_route_than_the_solution_passes_every_step(learner, slug):
    body = learner(slug).run_all(*OTHER_ROUTES[slug])

    assert body["lab"]["completed"] is True
    assert all(s["passed"] and not s["assisted"] for s in body["lab"]["steps"])
    assert LabProgress.objects.get(lab__slug=slug).completed_at is not None


def test_the_job_queue_passes_with_server_chosen_ids_and_a_group_moved_back(learner):
    lab = learner("job-queue")
    lab.run_all("XADD jobs * task a", "XADD jobs * task b", "XADD jobs * task c")
    late = lab.run("XGROUP CREATE jobs workers $")["lab"]["steps"][1]["checks"][0]
    lab.run_all(
        "XGROUP SETID jobs workers 0", *["XREADGROUP GROUP workers w1 COUNT 1 STREAMS jobs >"] * 2
    )
    pending = lab.run("XPENDING jobs workers - + 1 w1")["reply"]

    body = lab.run("XACK jobs workers " + re.search(r'"(\d+-\d+)"', pending).group(1))

    assert not late["passed"] and "would skip the entries before it" in late["message"]
    assert body["lab"]["completed"] is True


def test_each_command_advances_only_when_every_check_of_the_step_passes(learner):
    lab = learner("rate-limiter")

    counted = lab.run("INCR rate:10.0.0.1")["lab"]
    timed = lab.run("EXPIRE rate:10.0.0.1 30")["lab"]

    assert counted["current_step"] == 1
    assert counted["steps"][0]["checks"] == [
        {"passed": True, "message": "rate:10.0.0.1 holds '1' (expected '1')"},
        {"passed": False, "message": "rate:10.0.0.1 has no expiry (expected 1–600 s)"},
    ]
    assert timed["current_step"] == 2 and timed["steps"][0]["passed"]


class TestNearMisses:
    def page(self, client, slug):
        return client.get(reverse("labs:detail", args=[slug])).content.decode()

    def test_a_ttl_out_of_range_fails_with_its_message_and_hint(self, learner, client):
        lab = learner("session-store")
        lab.run("HSET session:ada user ada cart 3")

        body = lab.run("EXPIRE session:ada 60")

        check = body["lab"]["steps"][1]["checks"][0]
        assert check == {
            "passed": False,
            "message": "session:ada has a TTL of 60 s (expected 600–1800 s)",
        }
        assert body["lab"]["current_step"] == 2
        assert "EXPIRE key seconds sets a lifetime" in self.page(client, "session-store")

    def test_a_wrong_score_names_the_member_and_both_scores(self, learner, client):
        body = learner("leaderboard").run("ZADD board 120 ada 90 bob 140 cy")

        assert body["lab"]["steps"][0]["checks"][0]["message"] == (
            "board: bob scores 90, not 95 (expected exactly ada 120, bob 95, cy 140)"
        )
        assert "ZADD takes the score before each member" in self.page(client, "leaderboard")

    def test_a_wrong_type_says_what_the_key_is(self, learner, client):
        body = learner("session-store").run("SET session:ada ada")

        assert body["lab"]["steps"][0]["checks"][0]["message"] == (
            "session:ada is a string (expected a hash)"
        )
        assert "HSET takes a key, then field and value pairs" in self.page(client, "session-store")

    def test_the_hint_shown_is_the_one_of_the_failing_check(self, learner, client):
        learner("atomic-order").run_all("SET stock:apple 5", "DECR stock:apple", "RPUSH orders o1")

        page = self.page(client, "atomic-order")

        assert "The two changes must run in MULTI … EXEC" in page
        assert "Inside the transaction, DECR stock:apple takes one off" not in page

    def test_an_exec_before_the_step_began_does_not_count(self, learner):
        lab = learner("atomic-order")
        lab.run_all("MULTI", "EXEC", "SET stock:apple 5")

        body = lab.run_all("DECR stock:apple", "RPUSH orders o1")

        assert body["lab"]["current_step"] == 2
        assert body["lab"]["steps"][1]["checks"][2] == {
            "passed": False,
            "message": "you have not run EXEC successfully since this step began",
        }

    def test_the_cache_still_serving_the_old_price_fails_step_two(self, learner, client):
        lab = learner("lazy-loading-by-hand")
        lab.run_all("""SET product:42 '{"id": 42, "name": "Teapot", "price": 25}' EX 600""")

        body = lab.run("TTL product:42")

        assert body["lab"]["current_step"] == 2 and not body["lab"]["completed"]
        assert "&quot;price&quot;: 30" in self.page(client, "lazy-loading-by-hand")
        assert "product:42 still exists" in body["lab"]["steps"][1]["checks"][0]["message"]


class TestIsolation:
    def test_another_learner_and_the_free_sandbox_do_not_see_lab_keys(self, learner, client):
        learner("session-store").run("HSET session:ada user ada cart 3")
        other = learner("session-store", Client())

        theirs = other.run("EXISTS session:ada")
        free = client.post(reverse("learn:sandbox_run"), {"command": "KEYS *"}, headers=JSON)

        assert theirs["reply"] == "(integer) 0"
        assert theirs["lab"]["steps"][0]["passed"] is False
        assert free.json()["reply"] == "(empty array)"

    def test_the_free_sandbox_keys_do_not_pass_a_lab_step(self, learner, client):
        client.post(reverse("learn:sandbox_run"), {"command": "HSET session:ada user ada cart 3"})

        state = learner("session-store").state()

        assert state["steps"][0]["passed"] is False

    def test_each_lab_has_its_own_namespace_on_the_server(self, learner, sandbox_redis):
        learner("rate-limiter").run("INCR rate:10.0.0.1")
        learner("atomic-order").run("SET stock:apple 5")

        keys = sorted(k.decode() for k in sandbox_redis.scan_iter("sbx:*"))

        assert len(keys) == 2
        assert all(re.fullmatch(r"sbx:lab[0-9a-f]{24}:.*", k) for k in keys)
        assert keys[0].split(":")[1] != keys[1].split(":")[1]


class TestRateLimit:
    def test_labs_and_the_free_sandbox_share_one_rate_limit(self, learner, client, sandbox):
        sandbox.limits = dataclasses.replace(sandbox.limits, burst=3, rate=0.01)
        spent = [learner(slug).run("PING")["reply"] for slug in ("rate-limiter", "atomic-order")]
        spent.append(learner("leaderboard").run("PING")["reply"])

        free = client.post(reverse("learn:sandbox_run"), {"command": "PING"}, headers=JSON)
        another_lab = learner("job-queue").run("PING")

        assert spent == ["PONG", "PONG", "PONG"]
        assert "slow down" in free.json()["reply"]
        assert "slow down" in another_lab["reply"] and another_lab["error"] is True


class TestResetAndSolutions:
    def test_reset_of_a_step_keeps_the_earlier_steps_results(self, learner):
        lab = learner("leaderboard")
        lab.run_all("ZADD board 120 ada 95 bob 140 cy", "ZINCRBY board 50 bob", "DEL board")

        body = lab.post("step_reset", 3)
        board = lab.run("ZRANGE board 0 -1 WITHSCORES")["reply"]

        assert [s["passed"] for s in body["lab"]["steps"]] == [True, True, False]
        assert body["lab"]["current_step"] == 3
        assert board == '1) "ada"\n2) "120"\n3) "cy"\n4) "140"\n5) "bob"\n6) "145"'

    def test_reset_of_a_step_brings_back_its_start_state_and_database(self, learner):
        lab = learner("lazy-loading-by-hand")
        lab.run_all("""SET product:42 '{"id": 42, "name": "Teapot", "price": 25}' EX 600""")
        lab.run_all("SET product:42 wrong")

        lab.post("step_reset", 2)

        assert (
            lab.run("GET product:42")["reply"]
            == '"{\\"id\\": 42, \\"name\\": \\"Teapot\\", \\"price\\": 25}"'
        )
        assert LabProgress.objects.get().database == {
            "product:42": {"id": 42, "name": "Teapot", "price": 30}
        }

    def test_showing_the_solution_marks_the_step_assisted(self, learner, client):
        lab = learner("rate-limiter")

        body = lab.post("solution", 1)
        page = client.get(reverse("labs:detail", args=["rate-limiter"])).content.decode()
        done = lab.run_all("INCR rate:10.0.0.1", "EXPIRE rate:10.0.0.1 300")

        assert body["lab"]["steps"][0]["assisted"] is True
        assert "EXPIRE rate:10.0.0.1 300" in page
        assert done["lab"]["steps"][0] == {
            **done["lab"]["steps"][0],
            "passed": True,
            "assisted": True,
        }

    def test_restart_wipes_the_keys_and_the_progress(self, learner, sandbox_redis):
        lab = learner("session-store")
        lab.run_all("HSET session:ada user ada cart 3", "EXPIRE session:ada 900")

        body = lab.post("reset")

        assert body["lab"]["current_step"] == 1
        assert not any(s["passed"] for s in body["lab"]["steps"])
        assert not list(sandbox_redis.scan_iter("sbx:*"))


class TestBadInput:
    def test_an_unknown_lab_is_a_404_with_a_message(self, learner, client):
        response = client.post(
            reverse("labs:run", args=["nope"]), {"command": "PING"}, headers=JSON
        )

        assert response.status_code == 404
        assert response.json() == {"error": "There is no lab called “nope”."}
        assert client.get(reverse("labs:detail", args=["nope"])).status_code == 404

    def test_a_step_out_of_range_changes_nothing(self, learner):
        body = learner("session-store").post("solution", 9, status=404)

        assert body["error"] == "This lab has 3 steps: there is no step 9."
        assert not LabProgress.objects.exists()

    def test_a_step_not_open_yet_cannot_be_revealed_or_reset(self, learner):
        lab = learner("session-store")

        solution = lab.post("solution", 2, status=400)
        reset = lab.post("step_reset", 3, status=400)

        assert solution["error"] == "Step 2 is not open yet: finish step 1 first."
        assert reset["error"].startswith("Step 3 is not open yet")
        assert not lab.state()["steps"][1]["assisted"]

    def test_a_refused_command_says_why_and_changes_nothing(self, learner, sandbox_redis):
        lab = learner("session-store")
        lab.run("SET keep 1")

        body = lab.run("FLUSHALL")

        assert body["error"] is True and "FLUSHALL would empty everyone's sandbox" in body["reply"]
        assert len(list(sandbox_redis.scan_iter("sbx:*"))) == 1
        assert body["lab"]["current_step"] == 1

    def test_an_oversized_line_is_refused_and_stores_nothing(self, learner, sandbox_redis):
        body = learner("session-store").run("SET big " + "x" * 70_000)

        assert body["error"] is True and "ERR" in body["reply"]
        assert not list(sandbox_redis.scan_iter("sbx:*"))

    def test_an_empty_command_is_a_400(self, learner):
        body = learner("session-store").run("", status=400)

        assert body["reply"] == "Type a command." and body["error"] is True
        assert not LabProgress.objects.exists()

    def test_an_argument_naming_the_sandbox_prefix_is_refused(self, learner, client):
        body = learner("session-store").run("SET k sbx:lab0123:session:ada")

        assert body["error"] is True and "may not start with 'sbx:'" in body["reply"]
        assert learner("session-store").run("EXISTS k")["reply"] == "(integer) 0"


class TestMerge:
    def test_an_anonymous_learners_lab_follows_them_into_their_account(self, learner, client):
        anonymous = learner("leaderboard")
        anonymous.run_all("ZADD board 120 ada 95 bob 140 cy")
        source = client.session["learner_id"]
        account = LearnerRow.objects.create()

        moved = services.merge_progress(source, str(account.pk))
        LearnerRow.objects.filter(pk=source).delete()

        progress = LabProgress.objects.get()
        assert moved == 1 and progress.learner_id == account.pk and progress.current_step == 2
        state = services.state(str(account.pk), progress.lab)
        assert state.steps[0].passed
        assert state.steps[1].checks[0].message == "bob scores 95 in board (expected 145)"
