"""Every lab view: happy path, wrong method, permissions, bad input, htmx, no JavaScript."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from labs.models import Lab, LabProgress
from learn.models import Learner
from tests.labs.conftest import JSON

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

HTMX = {"HX-Request": "true"}
SLUG = "session-store"


def url(name: str, *args) -> str:
    return reverse(f"labs:{name}", args=[SLUG, *args])


class TestPages:
    def test_the_list_shows_every_published_lab_with_the_learners_status(self, learner, client):
        learner(SLUG).run_all("HSET session:ada user ada cart 3")

        page = client.get(reverse("labs:list")).content.decode()

        assert page.count('class="topic-card"') == 10
        assert "Keep web sessions in Redis" in page and "Step 2 open" in page

    def test_the_lab_page_shows_the_steps_beside_a_prompt(self, shipped_labs, client):
        page = client.get(reverse("labs:detail", args=[SLUG])).content.decode()

        assert "Step 1: Store Ada&#x27;s session" in page
        assert 'id="sandbox-command"' in page and 'action="/labs/session-store/run"' in page
        assert "✗" in page and "session:ada does not exist" in page

    def test_reading_a_lab_page_writes_nothing(self, shipped_labs, client):
        client.get(reverse("labs:detail", args=[SLUG]))
        client.get(url("state"), headers=JSON)

        assert not LabProgress.objects.exists() and not Learner.objects.exists()

    def test_the_nav_links_to_labs(self, shipped_labs, client):
        page = client.get(reverse("labs:list")).content.decode()

        assert '<a href="/labs/" aria-current="page">Labs</a>' in page

    def test_a_topic_page_links_to_its_labs(self, shipped_labs, client):
        page = client.get(reverse("learn:topic", args=["use-cases"])).content.decode()

        assert 'href="/labs/session-store/"' in page and 'href="/labs/atomic-order/"' not in page

    def test_a_draft_lab_is_hidden_from_learners_and_shown_to_staff(
        self, shipped_labs, staff_client
    ):
        Lab.objects.filter(slug=SLUG).update(published=False)
        client = Client()

        assert client.get(reverse("labs:detail", args=[SLUG])).status_code == 404
        assert client.get(url("state"), headers=JSON).status_code == 404
        assert client.post(url("run"), {"command": "PING"}, headers=JSON).status_code == 404
        assert "Draft." in staff_client.get(reverse("labs:detail", args=[SLUG])).content.decode()


class TestMethods:
    @pytest.mark.parametrize(
        ("name", "args"),
        [("run", ()), ("reset", ()), ("solution", (1,)), ("step_reset", (1,))],
    )
    def test_the_actions_refuse_get(self, shipped_labs, client, name, args):
        assert client.get(url(name, *args)).status_code == 405

    @pytest.mark.parametrize("name", ["detail", "state"])
    def test_the_reads_refuse_post(self, shipped_labs, client, name):
        target = reverse("labs:detail", args=[SLUG]) if name == "detail" else url("state")

        assert client.post(target).status_code == 405
        assert client.post(reverse("labs:list")).status_code == 405

    def test_a_post_without_the_csrf_token_is_refused(self, shipped_labs):
        client = Client(enforce_csrf_checks=True)
        client.get(reverse("labs:detail", args=[SLUG]))

        response = client.post(url("run"), {"command": "HSET session:ada user ada"}, headers=JSON)

        assert response.status_code == 403
        assert not LabProgress.objects.exists()


class TestHtmx:
    def test_a_command_answers_its_entry_and_the_steps_out_of_band(self, shipped_labs, client):
        response = client.post(
            url("run"), {"command": "HSET session:ada user ada cart 3"}, headers=HTMX
        )

        html = response.content.decode()
        assert response.status_code == 200 and "<html" not in html
        assert 'class="entry"' in html and "(integer) 2" in html
        assert 'aria-labelledby="steps-heading" hx-swap-oob="true"' in html
        assert "Step 1 passed: Store Ada&#x27;s session. Step 2 is open" in html
        assert "progress-changed" in json.loads(response.headers["HX-Trigger"])

    def test_an_empty_command_is_a_400_fragment_with_a_message(self, shipped_labs, client):
        response = client.post(url("run"), {"command": ""}, headers=HTMX)

        assert response.status_code == 400 and "Type a command." in response.content.decode()

    def test_the_state_is_the_steps_fragment(self, shipped_labs, client):
        response = client.get(url("state"), headers=HTMX)

        html = response.content.decode()
        assert html.lstrip().startswith('<section id="lab-steps"') and "<html" not in html

    def test_showing_a_solution_redraws_the_workspace_with_it(self, shipped_labs, client):
        response = client.post(url("solution", 1), headers=HTMX)

        html = response.content.decode()
        assert html.lstrip().startswith('<div id="lab-workspace"')
        assert "HSET session:ada user ada cart 3" in html and "Show solution" not in html

    def test_a_step_out_of_range_is_a_404_fragment_with_a_message(self, shipped_labs, client):
        response = client.post(url("step_reset", 7), headers=HTMX)

        assert response.status_code == 404
        assert "This lab has 3 steps: there is no step 7." in response.content.decode()


class TestWithoutJavaScript:
    def test_a_command_posts_back_to_the_page_which_shows_it_and_the_pass(
        self, shipped_labs, client
    ):
        response = client.post(url("run"), {"command": "HSET session:ada user ada cart 3"})
        page = client.get(response["Location"]).content.decode()

        assert response.status_code == 302 and response["Location"] == "/labs/session-store/"
        assert "HSET session:ada user ada cart 3" in page and "(integer) 2" in page
        assert "Step 1 passed" in page

    def test_reset_and_restart_redirect_with_a_message(self, shipped_labs, client):
        step = client.post(url("step_reset", 1), follow=True).content.decode()
        restart = client.post(url("reset"), follow=True).content.decode()

        assert "Step 1 is back to where it started" in step
        assert "The lab starts again from step 1" in restart

    def test_a_bad_step_redirects_with_the_error(self, shipped_labs, client):
        page = client.post(url("solution", 3), follow=True).content.decode()

        assert "Step 3 is not open yet: finish step 1 first." in page
