"""The admin's GIFT import: a capped upload, a preview held in the cache, not the session
(issue #16, finding 16)."""

import pytest
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from quizzes.admin import gift_import
from tests.factories import QuizFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

ONE = b"::Engines::Which is multithreaded? {=Memcached ~Valkey}\n"


@pytest.fixture
def quiz():
    return QuizFactory()


def import_url(quiz) -> str:
    return reverse("admin:quizzes_quiz_import_gift", args=[quiz.pk])


def upload(content: bytes = ONE) -> SimpleUploadedFile:
    return SimpleUploadedFile("bank.gift", content)


def session_size(client: Client) -> int:
    session: SessionBase = client.session
    return len(session.encode(dict(session.items())))


def test_an_upload_over_the_cap_is_refused_with_a_form_error_and_nothing_kept(
    instructor_client, quiz
):
    big = ONE + b"\n" + b"// padding\n" * (gift_import.MAX_BYTES // 11)

    response = instructor_client.post(import_url(quiz), {"file": upload(big)})

    assert response.status_code == 400
    assert "a GIFT import can be at most 256" in response.content.decode()
    assert cache.get(gift_import.pending_key(response.wsgi_request, quiz)) is None
    assert not quiz.questions.exists()


def test_the_preview_keeps_the_upload_out_of_the_session(instructor_client, quiz):
    before = session_size(instructor_client)
    bank = b"\n\n".join([ONE.strip()] * 400)  # 400 questions, ~22 KB

    response = instructor_client.post(import_url(quiz), {"file": upload(bank)})

    assert response.status_code == 200 and "Preview: 400 questions" in response.content.decode()
    assert session_size(instructor_client) - before < 200
    pending = cache.get(gift_import.pending_key(response.wsgi_request, quiz))
    assert pending["token"] == response.context["token"]


def test_a_new_preview_replaces_the_pending_one(instructor_client, quiz):
    first = instructor_client.post(import_url(quiz), {"file": upload()})
    second = instructor_client.post(import_url(quiz), {"file": upload(ONE.replace(b"=M", b"~M"))})
    assert second.status_code == 400  # no right answer: a file with errors keeps nothing new

    third = instructor_client.post(import_url(quiz), {"file": upload(ONE + b"\nSure? {T}\n")})
    stale = instructor_client.post(
        import_url(quiz), {"confirm": "1", "token": first.context["token"]}
    )

    assert stale.status_code == 400 and "upload the file again" in stale.content.decode()
    assert not quiz.questions.exists()
    assert third.context["token"] != first.context["token"]


def test_confirming_imports_once_and_forgets_the_upload(instructor_client, quiz):
    preview = instructor_client.post(import_url(quiz), {"file": upload()})
    confirm = {"confirm": "1", "token": preview.context["token"]}

    done = instructor_client.post(import_url(quiz), confirm)
    again = instructor_client.post(import_url(quiz), confirm)

    assert done.status_code == 302 and again.status_code == 400
    assert quiz.questions.count() == 1
    assert cache.get(gift_import.pending_key(done.wsgi_request, quiz)) is None


def test_a_confirm_without_the_token_imports_nothing(instructor_client, quiz):
    instructor_client.post(import_url(quiz), {"file": upload()})

    response = instructor_client.post(import_url(quiz), {"confirm": "1"})

    assert response.status_code == 400
    assert not quiz.questions.exists()


def test_another_instructors_token_confirms_nothing_of_yours(instructor_client, quiz):
    preview = instructor_client.post(import_url(quiz), {"file": upload()})
    other = Client()
    other.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    response = other.post(import_url(quiz), {"confirm": "1", "token": preview.context["token"]})

    assert response.status_code == 400
    assert not quiz.questions.exists()


def test_a_post_without_a_file_is_refused(instructor_client, quiz):
    response = instructor_client.post(import_url(quiz), {})

    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_learners_cannot_reach_the_import(client, quiz):
    response = client.post(import_url(quiz), {"file": upload()})

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not quiz.questions.exists()
