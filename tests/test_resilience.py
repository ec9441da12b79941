"""The app Redis stops and starts again while learners keep clicking: no 5xx on
topic and quiz pages, no lost quiz answers, /healthz honest throughout. The
sandbox Redis stops: the panel says so, and works again soon after it returns."""

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from config.embedded import SANDBOX_SERVER_ARGS, free_port, start_server
from config.launch import prepare_site
from tests.test_embedded import port_is_closed, wait_for

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parent.parent


class Learner:
    """A browser's worth of cookies, talking to the site over HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict, accept: str = "text/html") -> tuple[int, str]:
        token = next((c.value for c in self.jar if c.name == "csrftoken"), "")
        request = urllib.request.Request(
            self.base + path,
            data=urllib.parse.urlencode(data, doseq=True).encode(),
            headers={"X-CSRFToken": token, "Accept": accept},
        )
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@pytest.fixture
def site(tmp_path):
    """The site on its own app and sandbox Redis servers, which the test may stop."""
    app, box = start_server(), start_server(SANDBOX_SERVER_ARGS)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
        "REDIS_URL": app.url,
        "REDIS_CLUSTER": "0",  # a single server, even when the run's app Redis is a cluster
        "SANDBOX_REDIS_URL": box.url,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    prepare_site(env)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: not port_is_closed(port), timeout=30)
    yield f"http://127.0.0.1:{port}", app, box
    server.terminate()
    server.wait(timeout=10)
    app.stop()
    box.stop()


def test_an_app_redis_outage_under_load_loses_nothing(site):
    base, app, _ = site
    statuses: list[int] = []
    stop = threading.Event()

    def read_pages() -> None:
        reader = Learner(base)
        while not stop.is_set():
            for path in ("/", "/topics/overview/", "/quizzes/overview/"):
                statuses.append(reader.get(path)[0])

    readers = [threading.Thread(target=read_pages) for _ in range(3)]
    for thread in readers:
        thread.start()

    taker = Learner(base)
    taker.get("/quizzes/overview/")
    status, page = taker.post("/quizzes/overview/start", {})
    attempt = re.search(r"/attempts/(\d+)/", page) or re.search(r"attempts/(\d+)", page)
    assert status == 200 and attempt
    attempt_id = attempt.group(1)
    answered, health = [], []
    for position in range(1, 7):
        if position == 3:
            app.stop()
        if position == 5:
            app.restart()
        _, question = taker.get(f"/quizzes/overview/attempts/{attempt_id}/{position}/")
        choice = re.search(r'name="choice" value="(\d+)"', question)
        data = {"choice": choice.group(1)} if choice else {"command": "PING"}
        status, _ = taker.post(f"/quizzes/overview/attempts/{attempt_id}/{position}/answer", data)
        answered.append(status)
        health.append(json.loads(taker.get("/healthz")[1])["checks"]["redis"] == "ok")
    stop.set()
    for thread in readers:
        thread.join(timeout=30)
    status, results = taker.post(f"/quizzes/overview/attempts/{attempt_id}/finish", {})

    assert statuses and all(code < 500 for code in statuses)
    assert answered == [200] * 6  # every answer stored (the redirect was followed)
    assert health[2] is False and health[-1] is True  # honest while down, and after
    total = results.count('class="review-item')
    assert status == 200 and total - results.count("Not answered.") == 6


def test_the_sandbox_panel_says_when_its_server_is_down_and_recovers(site):
    base, _, box = site
    learner = Learner(base)
    learner.get("/sandbox/")
    assert (
        json.loads(learner.post("/sandbox/run", {"command": "SET k 1"}, "application/json")[1])[
            "reply"
        ]
        == "OK"
    )

    box.stop()
    status, body = learner.post("/sandbox/run", {"command": "GET k"}, "application/json")
    assert status == 503 and "temporarily unavailable" in json.loads(body)["reply"]
    assert "temporarily unavailable" in learner.get("/sandbox/")[1]

    box.restart()
    back = time.monotonic()

    def works() -> bool:
        status, body = learner.post("/sandbox/run", {"command": "PING"}, "application/json")
        return status == 200 and json.loads(body)["reply"] == "PONG"

    wait_for(works, timeout=10, interval=0.1)
    assert time.monotonic() - back < 2.0
