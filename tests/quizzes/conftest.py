import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tests.factories import UserFactory


@pytest.fixture
def instructor_client(db) -> Client:
    user = UserFactory(username="ines", is_staff=True)
    user.groups.add(Group.objects.get(name="Instructors"))
    client = Client()
    client.force_login(user)
    return client
