"""Simulated learners for `make bench` (locust user classes, one per endpoint)."""

import itertools
import re

from locust import HttpUser, between, constant, task

QUIZ = "overview"
# A learner reads between clicks: a question, a page, the reply to a command.
THINK = between(5, 15)


class Floor(HttpUser):
    """A bare Django response: the floor everything else is compared with."""

    wait_time = constant(0)
    name = "bare Django"

    @task
    def floor(self) -> None:
        self.client.get("/bench/floor", name=self.name)


class Home(HttpUser):
    wait_time = constant(0)
    name = "home"

    @task
    def home(self) -> None:
        self.client.get("/", name=self.name)


class TopicPage(HttpUser):
    wait_time = constant(0)
    name = "topic page"

    @task
    def topic(self) -> None:
        self.client.get("/topics/caching-patterns/", name=self.name)


class SandboxCommand(HttpUser):
    wait_time = constant(0)
    name = "sandbox command"
    commands = itertools.cycle(
        ["INCR visits", "SET greeting hello EX 60", "GET greeting", "LPUSH jobs a"]
    )

    def on_start(self) -> None:
        self.client.get("/sandbox/", name="setup")
        self.token = self.client.cookies.get("csrftoken")

    @task
    def command(self) -> None:
        self.client.post(
            "/sandbox/run",
            data={"command": next(self.commands)},
            headers={"Accept": "application/json", "X-CSRFToken": self.token},
            name=self.name,
        )


class QuizAnswer(HttpUser):
    """Start an attempt, answer its first question, finish; only the answer is timed."""

    wait_time = constant(0)
    name = "quiz answer"

    def on_start(self) -> None:
        self.client.get(f"/quizzes/{QUIZ}/", name="setup")
        self.token = self.client.cookies.get("csrftoken")
        attempt = self._start()
        page = self.client.get(f"/quizzes/{QUIZ}/attempts/{attempt}/1/", name="setup").text
        self.choice = re.search(r'name="choice" value="(\d+)"', page).group(1)
        self.client.post(self._url(attempt, "finish"), headers=self._headers(), name="setup")

    def _headers(self) -> dict:
        return {"X-CSRFToken": self.token}

    def _url(self, attempt: str, tail: str) -> str:
        return f"/quizzes/{QUIZ}/attempts/{attempt}/{tail}"

    def _start(self) -> str:
        response = self.client.post(
            f"/quizzes/{QUIZ}/start",
            headers=self._headers(),
            allow_redirects=False,
            name="quiz start",
        )
        return re.search(r"/attempts/(\d+)/", response.headers["Location"]).group(1)

    @task
    def answer(self) -> None:
        attempt = self._start()
        self.client.post(
            self._url(attempt, "1/answer"),
            data={"choice": self.choice},
            headers={**self._headers(), "HX-Request": "true"},
            name=self.name,
        )
        self.client.post(
            self._url(attempt, "finish"),
            headers=self._headers(),
            allow_redirects=False,
            name="quiz finish",
        )


ENDPOINTS = [Floor, Home, TopicPage, SandboxCommand, QuizAnswer]
