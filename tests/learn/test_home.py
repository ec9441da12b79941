import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_lists_published_topics_in_order(client, topic_factory):
    topic_factory(title="Second", order=2)
    topic_factory(title="First", order=1)
    topic_factory(title="Hidden draft", order=3, published=False)

    response = client.get(reverse("learn:home"))

    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("First") < body.index("Second")
    assert "Hidden draft" not in body


def test_it_shows_the_learners_progress(client, topic_factory):
    read, unread = topic_factory(title="Read one"), topic_factory(title="Unread one")
    client.post(reverse("learn:mark_read", args=[read.slug]))

    response = client.get(reverse("learn:home"))

    assert response.context["read_count"] == 1
    flags = {t.slug: t.is_read for t in response.context["topics"]}
    assert flags == {read.slug: True, unread.slug: False}


def test_staff_see_drafts_marked_as_drafts(staff_client, topic_factory):
    topic_factory(title="Work in progress", published=False)

    response = staff_client.get(reverse("learn:home"))

    assert "Work in progress" in response.content.decode()
    assert "Draft" in response.content.decode()


def test_it_rejects_post(client):
    assert client.post(reverse("learn:home")).status_code == 405


def test_it_explains_an_empty_course(client):
    response = client.get(reverse("learn:home"))

    assert response.status_code == 200
    assert "load_content" in response.content.decode()
