"""Attacks on the bench (/patterns/…) replayed: each failed before its fix."""

import pytest
from django.urls import reverse

from patterns.models import Run

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

START = reverse("patterns:start")
JSON = {"Accept": "application/json"}


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000])
def test_deeply_nested_json_is_a_400_not_a_500(client, body):
    # 10 KB of brackets used to raise RecursionError inside json.loads.
    response = client.post(START, body, content_type="application/json", headers=JSON)

    assert response.status_code == 400
    assert response.json()["error"] == "Send the parameters as a JSON object or a form."
    assert Run.objects.count() == 0
