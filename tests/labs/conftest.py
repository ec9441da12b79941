import pytest
from django.test import Client
from django.urls import reverse

from labs.content import load_labs
from learn.models import Topic
from tests.factories import TopicFactory

JSON = {"Accept": "application/json"}
TOPICS = {"overview": 1, "caching-patterns": 6, "use-cases": 7}


@pytest.fixture
def shipped_labs(db):
    """The shipped labs, loaded as `load_content` loads them, on their topics."""
    for slug, order in TOPICS.items():
        TopicFactory(slug=slug, title=slug.replace("-", " ").title(), order=order)
    load_labs()
    return Topic.objects.all()


class Learner:
    """A learner driving a lab through the JSON contract, as a tool would."""

    def __init__(self, client: Client, slug: str) -> None:
        self.client, self.slug = client, slug

    def run(self, command: str, status: int = 200) -> dict:
        response = self.client.post(
            reverse("labs:run", args=[self.slug]), {"command": command}, headers=JSON
        )
        assert response.status_code == status, response.content
        return response.json()

    def run_all(self, *commands: str) -> dict:
        body = {}
        for command in commands:
            body = self.run(command)
            assert not body["error"], f"{command}: {body['reply']}"
        return body

    def state(self) -> dict:
        response = self.client.get(reverse("labs:state", args=[self.slug]), headers=JSON)
        assert response.status_code == 200
        return response.json()

    def post(self, name: str, *args, status: int = 200) -> dict:
        response = self.client.post(reverse(f"labs:{name}", args=[self.slug, *args]), headers=JSON)
        assert response.status_code == status, response.content
        return response.json()


@pytest.fixture
def learner(client, shipped_labs):
    return lambda slug, who=None: Learner(who or client, slug)
