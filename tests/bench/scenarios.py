"""Simulated learners for `make bench`'s locust parts (one user class per endpoint).

wrk measures throughput; these learners measure behaviour: a crowd reading
between clicks, a class pressing Start at once.
"""

import itertools
import random
import re

import gevent.event
from locust import HttpUser, between, constant, task

QUIZ = "overview"
# A learner reads between clicks: a question, a page, the reply to a command.
THINK = between(5, 15)


class Floor(HttpUser):
    """The app's own /bench/floor: its middleware and nothing else."""

    wait_time = constant(0)
    name = "/bench/floor"

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
    """A learner taking the quiz, one click per task, as a browser would.

    Answer the question on screen (htmx), go on to the next question; after the
    last one, finish (and see the results), then start a retake. The answer is
    the endpoint; the other clicks are reported beside it as its steps.
    """

    wait_time = constant(0)
    name = "quiz answer"
    steps = ("quiz question", "quiz start", "quiz finish", "quiz results")
    # For the command questions: a plausible line (right for one of them).
    command = "SET price:sku:12 39.90 EX 300"

    def on_start(self) -> None:
        self.client.get(f"/quizzes/{QUIZ}/", name="setup")
        self.token = self.client.cookies.get("csrftoken")
        self.next_click = self.start_attempt

    @task
    def click(self) -> None:
        self.next_click()

    def _headers(self, **extra: str) -> dict:
        return {"X-CSRFToken": self.token, **extra}

    def _url(self, tail: str) -> str:
        return f"/quizzes/{QUIZ}/attempts/{self.attempt}/{tail}"

    def start_attempt(self) -> None:
        response = self.client.post(
            f"/quizzes/{QUIZ}/start",
            headers=self._headers(),
            allow_redirects=False,
            name="quiz start",
        )
        self.attempt = re.search(r"/attempts/(\d+)/", response.headers["Location"]).group(1)
        self.show_question(1)

    def show_question(self, position: int) -> None:
        page = self.client.get(self._url(f"{position}/"), name="quiz question").text
        self.position = position
        self.total = int(re.search(r"Question \d+ of (\d+)", page).group(1))
        choice = re.search(r'name="choice" value="(\d+)"', page)
        self.reply = {"choice": choice.group(1)} if choice else {"command": self.command}
        self.next_click = self.answer_question

    def answer_question(self) -> None:
        self.client.post(
            self._url(f"{self.position}/answer"),
            data=self.reply,
            headers=self._headers(**{"HX-Request": "true"}),
            name=self.name,
        )
        self.next_click = self.next_question if self.position < self.total else self.finish_attempt

    def next_question(self) -> None:
        self.show_question(self.position + 1)

    def finish_attempt(self) -> None:
        self.client.post(
            self._url("finish"), headers=self._headers(), allow_redirects=False, name="quiz finish"
        )
        self.client.get(self._url("results"), name="quiz results")
        self.next_click = self.start_attempt


class Progress(HttpUser):
    """A learner who read a topic looks at their progress."""

    wait_time = constant(0)
    name = "progress page"

    def on_start(self) -> None:
        self.client.get("/sandbox/", name="setup")
        token = self.client.cookies.get("csrftoken")
        self.client.post(
            "/topics/caching-patterns/read", headers={"X-CSRFToken": token}, name="setup"
        )

    @task
    def progress(self) -> None:
        self.client.get("/progress/", name=self.name)


ENDPOINTS = [Floor, Home, TopicPage, SandboxCommand, QuizAnswer, Progress]


class Wave:
    """The signal a class waits for, and how many have arrived and pressed Start."""

    go = gevent.event.Event()
    arrived = 0
    pressed = 0
    spread = 1.0  # seconds over which the class presses Start


class StartWave(HttpUser):
    """A learner with the quiz open, pressing Start with the rest of the class.

    Everyone opens the quiz first; when all have it on screen, each presses
    Start at a random moment within one second and lands on the first question.
    """

    wait_time = constant(3600)
    name = "quiz start"
    steps = ("first question",)

    def on_start(self) -> None:
        self.client.get(f"/quizzes/{QUIZ}/", name="setup")
        self.token = self.client.cookies.get("csrftoken")
        Wave.arrived += 1
        Wave.go.wait()
        gevent.sleep(random.uniform(0, Wave.spread))

    @task
    def press_start(self) -> None:
        try:
            response = self.client.post(
                f"/quizzes/{QUIZ}/start",
                headers={"X-CSRFToken": self.token},
                allow_redirects=False,
                name=self.name,
            )
            location = response.headers.get("Location")
            if location:
                self.client.get(location, name="first question")
        finally:
            Wave.pressed += 1
