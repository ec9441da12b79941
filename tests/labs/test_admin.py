"""Authoring labs in the admin: the solutions run before anything is saved."""

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from labs.models import Check, Lab, Step
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def instructor(db) -> Client:
    user = UserFactory(username="ines", is_staff=True)
    user.groups.add(Group.objects.get(name="Instructors"))
    client = Client()
    client.force_login(user)
    return client


def step_form(step: Step, checks: list[dict], **changes) -> dict:
    """The step's admin form as the browser would post it, with `checks` inline."""
    data = {
        "lab": step.lab_id, "order": step.order, "title": step.title,
        "instructions": step.instructions, "solution": step.solution, "setup": step.setup,
        "database": json.dumps(step.database), "checks-TOTAL_FORMS": len(checks),
        "checks-INITIAL_FORMS": 0, "checks-MIN_NUM_FORMS": 0, "checks-MAX_NUM_FORMS": 1000,
        **changes,
    }  # fmt: skip
    for i, check in enumerate(checks):
        fields = {"order": i, "key": "", "hint": "A hint.", **check}
        fields["fields"] = json.dumps(fields.get("fields", {}))
        data |= {f"checks-{i}-{k}": v for k, v in fields.items()}
    return data


def save_step(client: Client, step: Step, checks: list[dict], **changes):
    # The step's current checks are replaced by the posted ones.
    step.checks.all().delete()
    url = reverse("admin:labs_step_change", args=[step.pk])
    return client.post(url, step_form(step, checks, **changes), follow=True)


def podium_step() -> Step:
    return Step.objects.get(lab__slug="leaderboard", order=3)


def test_instructors_can_open_the_lab_pages_of_the_admin(instructor, shipped_labs):
    lab = Lab.objects.get(slug="leaderboard")

    assert instructor.get(reverse("admin:labs_lab_change", args=[lab.pk])).status_code == 200
    assert (
        instructor.get(reverse("admin:labs_step_change", args=[podium_step().pk])).status_code
        == 200
    )


def test_learners_cannot_reach_the_labs_admin(client, shipped_labs):
    response = client.get(reverse("admin:labs_lab_changelist"))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_check_the_solution_fails_is_refused_with_the_run_shown(instructor, shipped_labs):
    step = podium_step()
    wrong = {"kind": "zset", "key": "podium", "fields": {"members": {"bob": 145, "ada": 120}}}

    response = save_step(instructor, step, [wrong])

    page = response.content.decode()
    assert "the checks fail after its solution" in page
    assert "What the checker saw" in page and "ZRANGESTORE podium board 0 1 REV" in page
    assert not Check.objects.filter(step=step).exists()  # nothing saved


def test_a_step_that_passes_before_its_solution_is_refused(instructor, shipped_labs):
    step = podium_step()
    already = {"kind": "zscore", "key": "board", "fields": {"member": "bob", "value": 145}}

    page = save_step(instructor, step, [already]).content.decode()

    assert "Step 3 already passes before its solution runs" in page


def test_a_broken_check_spec_is_explained(instructor, shipped_labs):
    page = save_step(instructor, podium_step(), [{"kind": "ttl", "key": "podium"}]).content.decode()

    assert "a ttl check needs min, max" in page


def test_a_passing_edit_saves_and_shows_the_run(instructor, shipped_labs):
    step = podium_step()
    exact = {"kind": "members_exact", "key": "podium", "fields": {"values": ["bob", "cy"]}}

    page = save_step(instructor, step, [exact]).content.decode()

    assert "Lab check passed." in page
    assert list(step.checks.values_list("kind", flat=True)) == ["members_exact"]
    assert Lab.objects.get(slug="leaderboard").edited_since_load


def test_a_draft_may_be_saved_while_it_does_not_pass_yet(instructor, shipped_labs):
    Lab.objects.filter(slug="leaderboard").update(published=False)
    step = podium_step()
    wrong = {"kind": "zset", "key": "podium", "fields": {"members": {"ada": 1}}}

    page = save_step(instructor, step, [wrong]).content.decode()

    assert "This draft does not pass yet" in page
    assert step.checks.count() == 1


def test_changing_a_solution_on_the_lab_page_is_checked_too(instructor, shipped_labs):
    lab = Lab.objects.get(slug="rate-limiter")
    steps = list(lab.steps.all())
    data = {
        "title": lab.title, "slug": lab.slug, "topic": lab.topic_id, "order": lab.order,
        "intro": lab.intro, "published": "on", "environment": "namespace",
        "database": "{}", "version": lab.version,
        "steps-TOTAL_FORMS": len(steps), "steps-INITIAL_FORMS": len(steps),
        "steps-MIN_NUM_FORMS": 0, "steps-MAX_NUM_FORMS": 1000,
    }  # fmt: skip
    for i, step in enumerate(steps):
        data |= {
            f"steps-{i}-id": step.pk, f"steps-{i}-lab": lab.pk, f"steps-{i}-order": step.order,
            f"steps-{i}-title": step.title, f"steps-{i}-instructions": step.instructions,
            f"steps-{i}-solution": step.solution, f"steps-{i}-setup": "",
            f"steps-{i}-database": "{}",
        }  # fmt: skip
    data["steps-1-solution"] = "INCR rate:10.0.0.1"  # one request short of 3

    page = instructor.post(
        reverse("admin:labs_lab_change", args=[lab.pk]), data, follow=True
    ).content.decode()

    assert "Step 2: the checks fail after its solution: rate:10.0.0.1 holds &#x27;2&#x27;" in page
    assert lab.steps.get(order=2).solution == "INCR rate:10.0.0.1\nINCR rate:10.0.0.1"
