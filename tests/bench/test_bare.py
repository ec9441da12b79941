"""The bare floor app serves under the bench's gunicorn command, and wrk's script splits work.

Real processes: gunicorn (one worker) and, when installed, wrk for a second.
"""

import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from config.embedded import free_port
from config.serve import gunicorn_command
from tests.bench import wrk
from tests.bench.bare.app import PAGE_BYTES
from tests.bench.run import BARE_SETTINGS, ROOT
from tests.bench.wrk import Request


@pytest.fixture
def bare_floor(tmp_path):
    """The bare app under the bench's gunicorn command; its URL and access log."""
    port, log = free_port(), tmp_path / "access.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": BARE_SETTINGS, "WEB_CONCURRENCY": "1"}
    command = gunicorn_command(env, f"127.0.0.1:{port}", str(log))
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("the bare floor did not come up")
            time.sleep(0.1)
    yield url, log
    process.terminate()
    process.wait(timeout=15)


def test_the_bare_floor_answers_a_page_with_no_middleware_headers(bare_floor):
    url, _log = bare_floor

    with urllib.request.urlopen(url + "/") as response:
        body, headers, status = response.read(), response.headers, response.status

    assert status == 200
    assert abs(len(body) - PAGE_BYTES) < 1000
    assert "Set-Cookie" not in headers and "Content-Security-Policy" not in headers


@pytest.mark.skipif(not shutil.which("wrk"), reason="wrk is not installed (apt-get install wrk)")
def test_wrk_sends_each_one_use_request_at_most_once(bare_floor, tmp_path: Path):
    url, log = bare_floor
    pool = [Request("GET", f"/?n={n}") for n in range(40_000)]
    requests_file = tmp_path / "requests"
    wrk.write_requests(requests_file, pool, url.removeprefix("http://"))

    result = wrk.run(url, requests_file, 1)

    # gunicorn writes the access log line after the response: poll for the last ones.
    deadline = time.monotonic() + 5
    while len(log.read_text().splitlines()) < result.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = Counter(re.findall(r"GET /\?n=(\d+) ", log.read_text()))
    assert result.repeats == 0 and result.errors == 0
    assert seen and max(seen.values()) == 1
