"""Production settings: `check --deploy` clean, weak secrets refused, headers sent."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k" * 20 + "-strong-enough-for-the-deploy-check-0123456789"


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    # The browser tests set this for Playwright; a deployment never would.
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="cachelab.example",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_the_development_key():
    result = run(["manage.py", "check"], DEBUG="0", SECRET_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY is missing or weak" in result.stderr


def test_make_serve_refuses_to_start_without_a_secret_key():
    result = run(["-m", "config.serve"], SECRET_KEY="")

    assert result.returncode == 2
    assert "refusing to start without a real SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get(reverse("learn:home"))

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_no_inline_scripts_or_styles_in_the_pages(client, topic):

    for url in (reverse("learn:home"), topic.get_absolute_url(), reverse("learn:sandbox")):
        html = client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert "<style" not in html and " style=" not in html, url


def test_debug_is_off_when_unset():
    result = run(
        [
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from django.conf import settings; print(settings.DEBUG)",
        ],
        SECRET_KEY=STRONG_KEY,
        DEBUG="",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_unset_debug_without_a_secret_key_refuses_to_start():
    result = run(["manage.py", "check"], DEBUG="", SECRET_KEY="")

    assert result.returncode != 0
    assert "or DEBUG=1 on a development machine" in result.stderr


def production_settings(*expressions: str, **env: str) -> list[str]:
    code = "from django.conf import settings as s; " + "; ".join(f"print({e})" for e in expressions)
    result = run(
        ["manage.py", "shell", "--no-imports", "-c", code], DEBUG="0", SECRET_KEY=STRONG_KEY, **env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_hsts_preload_and_subdomains_are_opt_in():
    assert production_settings("s.SECURE_HSTS_PRELOAD", "s.SECURE_HSTS_INCLUDE_SUBDOMAINS") == [
        "False",
        "False",
    ]
    opted_in = production_settings(
        "s.SECURE_HSTS_PRELOAD",
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS",
        SECURE_HSTS_PRELOAD="1",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
    )
    assert opted_in == ["True", "True"]


@pytest.mark.django_db
def test_the_csrf_cookie_is_http_only_and_htmx_gets_the_token_from_the_page(client, topic):
    response = client.get(topic.get_absolute_url())

    cookie = response.cookies["csrftoken"]
    assert cookie["httponly"]
    token = re.search(r'"X-CSRFToken": "([^"]+)"', response.content.decode()).group(1)
    assert token and token != cookie.value  # masked, as Django hands it to pages


@pytest.mark.django_db
def test_an_htmx_post_with_the_page_token_passes_csrf(topic):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    page = browser.get(topic.get_absolute_url()).content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    url = reverse("learn:mark_read", args=[topic.slug])

    refused = browser.post(url, headers={"hx-request": "true"})
    accepted = browser.post(url, headers={"hx-request": "true", "x-csrftoken": token})

    assert refused.status_code == 403
    assert accepted.status_code == 200


@pytest.mark.django_db
def test_a_form_body_over_the_cap_is_refused_with_a_message(client, settings):
    over = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1000
    response = client.post(reverse("learn:sandbox_run"), {"command": "SET k " + "v" * over})

    assert response.status_code == 400
