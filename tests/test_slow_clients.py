"""Slow clients against the real `make serve`: they cost the server nothing others notice.

Finding 2 of issue 16: under gunicorn's sync workers four slowloris sockets
made the site answer nobody. Here 50 slow sockets (request heads, then bodies,
a byte every half second) are held against `python -m config.serve` while a
normal reader keeps loading a topic page; the server cuts the slow ones off
and the reader is served throughout. The 30-second run is
`python -m tests.slow_clients URL` (figures in the README).
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from config.embedded import free_port
from tests.slow_clients import measure

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k" * 20 + "-strong-enough-for-the-deploy-check-0123456789"
HOLD_SECONDS = 8
SOCKETS = 50

pytestmark = pytest.mark.slow


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`make serve` (config.serve), on loopback, with short slow-client deadlines."""
    port = free_port()
    env = {
        **os.environ,
        "SECRET_KEY": STRONG_KEY,
        "HTTPS": "0",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('serve') / 'serve.sqlite3'}",
        # Shorter than the defaults (10 s), so a short hold sees the cut-off.
        "HEADER_TIMEOUT": "2",
        "BODY_TIMEOUT": "2",
    }
    for name in ("REDIS_URL", "SANDBOX_REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "config.serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/topics/overview/"

    def up() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return process.poll() is not None  # stop waiting: it died

    try:
        wait_for(up, timeout=90)
        assert process.poll() is None, "make serve exited"
        yield url, process
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: gunicorn's quick shutdown
        process.wait(timeout=30)


def test_a_reader_is_served_while_slow_heads_and_slow_bodies_are_held(served):
    url, process = served

    reader, attacks = measure(url, ("headers", "body"), SOCKETS, HOLD_SECONDS)

    assert reader.errors == []
    assert len(reader.latencies) > 20
    # The target (p95 < 200 ms) is a benchmark's, measured by tests.slow_clients;
    # on this shared machine the test asserts what sync workers failed: no stall.
    assert reader.p95_ms() < 1000
    # The server cut every slow socket off (and they came straight back).
    assert attacks["headers"].dropped >= SOCKETS
    assert attacks["body"].dropped >= SOCKETS
    assert process.poll() is None


def test_a_body_over_the_limit_is_refused_before_django_reads_it(served):
    url, _ = served
    request = urllib.request.Request(
        url.replace("/topics/overview/", "/sandbox/run"),
        data=b"command=" + b"a" * (2 * 1024 * 1024),
        method="POST",
    )

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)

    assert refused.value.code == 413
