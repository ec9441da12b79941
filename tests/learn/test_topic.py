import pytest
from django.urls import reverse

from learn.models import TopicProgress

pytestmark = pytest.mark.django_db


def test_it_renders_markdown_with_a_table_of_contents(client, topic_factory):
    topic = topic_factory(body="## Cluster mode\n\nText with `code`.\n\n### Hash slots\n\nMore.")

    response = client.get(topic.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert '<h2 id="cluster-mode">' in html
    assert 'href="#hash-slots"' in html


def test_it_sanitises_html_in_the_body(client, topic_factory):
    topic = topic_factory(
        body="Hi <script>alert('x')</script> <a href=\"javascript:alert(1)\">x</a>"
    )

    html = client.get(topic.get_absolute_url()).content.decode()

    assert "alert(" not in html.split('<div class="prose">')[1].split("</div>")[0]


def test_it_links_previous_and_next_topics(client, topic_factory):
    first = topic_factory(order=1)
    middle = topic_factory(order=2)
    last = topic_factory(order=3)

    response = client.get(middle.get_absolute_url())

    assert response.context["previous"] == first
    assert response.context["next"] == last


def test_it_skips_drafts_when_linking_neighbours(client, topic_factory):
    first = topic_factory(order=1)
    topic_factory(order=2, published=False)
    last = topic_factory(order=3)

    response = client.get(first.get_absolute_url())

    assert response.context["next"] == last


def test_an_unknown_slug_is_a_friendly_404(client):
    response = client.get("/topics/no-such-topic/")

    assert response.status_code == 404
    assert "couldn’t find that page" in response.content.decode()


def test_a_draft_is_404_for_learners(client, topic_factory):
    draft = topic_factory(published=False)

    assert client.get(draft.get_absolute_url()).status_code == 404


def test_staff_see_a_draft_with_a_banner(staff_client, topic_factory):
    draft = topic_factory(published=False)

    response = staff_client.get(draft.get_absolute_url())

    assert response.status_code == 200
    assert "Learners cannot see this topic" in response.content.decode()


def test_it_rejects_post(client, topic):
    assert client.post(topic.get_absolute_url()).status_code == 405


def test_redis_examples_get_a_run_button(client, topic_factory):
    topic = topic_factory(body='```redis\nSET greeting "hello world"\nGET greeting\n```\n')

    html = client.get(topic.get_absolute_url()).content.decode()

    assert 'class="language-redis"' in html
    assert "SET greeting &quot;hello world&quot;" in html
    assert "data-run-example" in html


class TestMarkRead:
    def test_it_records_that_the_learner_read_the_topic(self, client, topic):
        response = client.post(reverse("learn:mark_read", args=[topic.slug]))

        assert response.status_code == 302
        progress = TopicProgress.objects.get(topic=topic)
        assert progress.read_at is not None
        assert str(progress.learner_id) == client.session["learner_id"]

    def test_it_is_idempotent(self, client, topic):
        url = reverse("learn:mark_read", args=[topic.slug])
        client.post(url)
        first = TopicProgress.objects.get().read_at

        client.post(url)

        assert TopicProgress.objects.get().read_at == first

    def test_htmx_gets_only_the_status_fragment(self, client, topic):
        response = client.post(
            reverse("learn:mark_read", args=[topic.slug]), headers={"HX-Request": "true"}
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert html.strip().startswith('<div id="read-status"')
        assert "<html" not in html

    def test_it_rejects_get(self, client, topic):
        response = client.get(reverse("learn:mark_read", args=[topic.slug]))

        assert response.status_code == 405
        assert not TopicProgress.objects.exists()

    def test_it_refuses_a_draft(self, client, topic_factory):
        draft = topic_factory(published=False)

        response = client.post(reverse("learn:mark_read", args=[draft.slug]))

        assert response.status_code == 404
        assert not TopicProgress.objects.exists()

    def test_it_needs_a_csrf_token(self, topic):
        from django.test import Client

        strict = Client(enforce_csrf_checks=True)
        response = strict.post(reverse("learn:mark_read", args=[topic.slug]))

        assert response.status_code == 403
        assert not TopicProgress.objects.exists()
