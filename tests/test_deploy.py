"""Production settings: `check --deploy` clean, weak secrets refused, headers sent."""

import os
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
    import re

    for url in (reverse("learn:home"), topic.get_absolute_url(), reverse("learn:sandbox")):
        html = client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert "<style" not in html and " style=" not in html, url
