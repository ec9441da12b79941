"""The CSP header, built once per policy: the same header django-csp would build."""

import pytest
from csp.constants import NONCE
from csp.decorators import csp_update
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from learn.middleware import CSPMiddleware

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def through_middleware(view, path: str = "/somewhere/") -> HttpResponse:
    request = RequestFactory().get(path)
    middleware = CSPMiddleware(view)
    return middleware(request)


def test_every_page_carries_the_policy_django_csp_builds(client, topic):
    for url in (reverse("learn:home"), topic.get_absolute_url(), reverse("learn:sandbox")):
        assert client.get(url)["Content-Security-Policy"] == build_policy()


def test_a_changed_policy_is_built_afresh(client, settings):
    client.get(reverse("learn:home"))
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}

    assert client.get(reverse("learn:home"))["Content-Security-Policy"] == "default-src 'none'"


def test_a_report_only_policy_is_sent_beside_the_enforced_one(client, settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": ["'self'"]}}

    response = client.get(reverse("learn:home"))

    assert response["Content-Security-Policy-Report-Only"] == build_policy(report_only=True)
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_a_view_that_asks_for_a_nonce_gets_it_in_its_header(settings):
    policy = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**policy["DIRECTIVES"], "script-src": [NONCE]}
    }

    def view(request):
        return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")

    response = through_middleware(view)

    nonce = response.content.decode().split("nonce='")[1].split("'")[0]
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_a_views_own_policy_update_still_applies():
    @csp_update({"img-src": ["https://img.example"]})
    def view(request):
        return HttpResponse("ok")

    response = through_middleware(view)

    assert "img-src 'self' data: https://img.example" in response["Content-Security-Policy"]
    assert (
        "img.example"
        not in through_middleware(lambda r: HttpResponse("ok"))["Content-Security-Policy"]
    )


def test_excluded_prefixes_get_no_header(settings):
    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "EXCLUDE_URL_PREFIXES": ["/excluded/"],
    }

    assert "Content-Security-Policy" not in through_middleware(
        lambda r: HttpResponse("ok"), "/excluded/page"
    )
    assert "Content-Security-Policy" in through_middleware(lambda r: HttpResponse("ok"))
