"""Check kinds other apps provide (labs.checks): refused when unknown or badly
specified, consulted with the learner's id, validated through their actions."""

from pathlib import Path

import pytest
from django.urls import reverse

from labs import checks
from labs.content import parse_lab_file, write_lab
from labs.definition import CheckDef, LabDef, StepDef
from labs.engine import validate
from labs.models import Check, Lab, LabProgress
from learn.checks import CheckResult, CheckSpec
from learn.content_loader import ContentError
from learn.models import Learner
from learn.sandbox.runner import Outcome
from tests.factories import TopicFactory, learner_session
from tests.labs.conftest import JSON
from tests.labs.test_admin import instructor, save_step  # noqa: F401  (a fixture)

ONE_STEP = """
[lab]
slug = "x"
title = "X"
topic = "caching-patterns"
intro = "x"
[[steps]]
title = "Do it"
instructions = "x"
solution = ["mark"]
[[steps.checks]]
{check}
hint = "x"
"""


def lab_file(tmp_path: Path, check: str) -> Path:
    path = tmp_path / "x.toml"
    path.write_text(ONE_STEP.format(check=check), encoding="utf-8")
    return path


@pytest.fixture
def marked():
    """A kind and an action of a test app: `mark` records the learner; the
    `marked` check passes for the learners it recorded, and says whom it asked."""
    seen: set[str] = set()
    asked: list[str] = []

    def check(learner_id: str, spec: CheckSpec) -> CheckResult:
        asked.append(learner_id)
        return CheckResult(learner_id in seen, f"asked about {learner_id}")

    def mark(learner_id: str, line: str) -> Outcome:
        seen.add(learner_id)
        return Outcome(reply="marked")

    def errors(spec: CheckSpec) -> list[str]:
        return [] if spec.get("colour") else ["a marked check needs a colour"]

    checks.register("marked", check, errors=errors)
    checks.register_action("mark", mark)
    yield seen, asked
    checks.unregister("marked")
    checks.unregister_action("mark")


def marked_lab() -> LabDef:
    spec = CheckSpec("marked", fields={"colour": "red"})
    step = StepDef("Do it", "Mark yourself.", ["mark"], [CheckDef(spec, "Run mark.")])
    return LabDef("marked-lab", "Marked", "caching-patterns", "x", [step])


class TestValidation:
    def test_an_unknown_kind_is_refused_when_the_lab_file_loads(self, tmp_path):
        with pytest.raises(ContentError, match="unknown check type 'no_such_kind'") as refused:
            parse_lab_file(lab_file(tmp_path, 'type = "no_such_kind"'))

        assert "bench_pattern" in str(refused.value)  # the registered kinds are listed

    def test_a_registered_kinds_own_validation_refuses_a_bad_spec(self, tmp_path):
        bad = 'type = "bench_pattern"\nworkload = { keys = 0 }'

        with pytest.raises(ContentError, match=r"workload\.keys: Number of keys must be at least"):
            parse_lab_file(lab_file(tmp_path, bad))

    def test_a_provided_kind_cannot_hide_in_any_of(self, tmp_path):
        nested = 'type = "any_of"\nany = [{ type = "bench_pattern" }]'

        with pytest.raises(ContentError, match="unknown check type 'bench_pattern'"):
            parse_lab_file(lab_file(tmp_path, nested))

    def test_a_kind_of_the_one_checker_cannot_be_registered_over(self):
        with pytest.raises(ValueError, match=r"'hash' is a check kind of learn\.checks"):
            checks.register("hash", lambda learner_id, spec: CheckResult(True, "yes"))

        assert checks.spec_errors(CheckSpec("hash", "k")) == ["a hash check needs fields"]

    def test_the_admin_offers_the_registered_kinds(self):
        choices = dict(Check._meta.get_field("kind").choices)

        assert {"bench_pattern", "bench_stampede", "hash"} <= set(choices)

    def test_the_admin_refuses_a_registered_kinds_bad_spec(self, instructor):  # noqa: F811
        lab = Lab.objects.create(
            slug="bench", title="B", intro="x", topic=TopicFactory(), published=True
        )
        step = lab.steps.create(order=1, title="Run", instructions="x", solution="bench")

        page = save_step(instructor, step, [{"kind": "bench_stampede", "fields": {}}])

        assert "a bench_stampede check needs herd" in page.content.decode()
        assert not step.checks.exists()


@pytest.mark.redis
@pytest.mark.django_db
class TestConsulted:
    def test_validation_runs_the_action_for_a_scratch_learner_and_checks_before_and_after(
        self, marked, sandbox
    ):
        seen, asked = marked

        result = validate(marked_lab(), sandbox)

        assert result.ok, result.errors
        assert len(set(asked)) == 1 and asked[0] in seen  # asked before and after, one learner
        assert "✗ asked about" in result.report and "✓ asked about" in result.report
        assert not Learner.objects.exists()

    def test_a_step_that_passes_before_its_action_runs_is_refused(self, marked, sandbox):
        checks.register("marked", lambda learner_id, spec: CheckResult(True, "always"))

        result = validate(marked_lab(), sandbox)

        assert "Step 1 already passes before its solution runs" in " ".join(result.errors)

    def test_the_lab_asks_the_kind_about_the_learner_on_the_page(self, client, marked):
        seen, asked = marked
        lab = Lab(slug="marked-lab", topic=TopicFactory(slug="caching-patterns"), published=True)
        write_lab(lab, marked_lab())
        learner = learner_session(client)

        before = client.get(reverse("labs:state", args=["marked-lab"]), headers=JSON).json()
        seen.add(learner)  # the other app records what the learner did
        after = client.post(reverse("labs:check", args=["marked-lab"]), headers=JSON).json()

        assert before["steps"][0]["checks"] == [
            {"passed": False, "message": f"asked about {learner}"}
        ]
        assert after["lab"]["completed"] and asked[-1] == learner
        assert LabProgress.objects.get(learner_id=learner).completed_at is not None


@pytest.mark.redis
@pytest.mark.django_db
class TestCheckView:
    def test_it_refuses_get(self, client, shipped_labs):
        assert client.get(reverse("labs:check", args=["pick-a-pattern"])).status_code == 405

    def test_an_unknown_lab_is_a_404_with_a_message(self, client):
        response = client.post(reverse("labs:check", args=["nope"]), headers=JSON)

        assert response.status_code == 404 and "nope" in response.json()["error"]

    def test_a_step_that_does_not_pass_yet_says_so_and_changes_nothing_but_starting(
        self, client, shipped_labs
    ):
        body = client.post(reverse("labs:check", args=["pick-a-pattern"]), headers=JSON).json()

        assert body["message"] == "Step 1 does not pass yet: see its checks."
        assert body["lab"]["current_step"] == 1
        assert not LabProgress.objects.get().steps[0]["passed"]

    def test_htmx_gets_the_workspace_fragment(self, client, shipped_labs):
        response = client.post(
            reverse("labs:check", args=["stop-the-stampede"]), headers={"HX-Request": "true"}
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert 'id="lab-workspace"' in html and "<html" not in html

    def test_a_draft_lab_is_not_there_for_learners(self, client, shipped_labs):
        Lab.objects.filter(slug="pick-a-pattern").update(published=False)

        response = client.post(reverse("labs:check", args=["pick-a-pattern"]), headers=JSON)

        assert response.status_code == 404
        assert not LabProgress.objects.exists()
