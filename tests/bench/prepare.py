"""The bench's set-up step: learners made through real requests, their requests for wrk.

Every learner here is made the way a browser makes one: a first visit gives
the session and CSRF cookies, then the learner reads a topic, runs a sandbox
command, starts a quiz and answers a question, all through the site's own
pages. The bench then harvests the cookies and tokens into the requests wrk
replays (`wrk.Request`), so a measured request is exactly what that learner's
browser would send next.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests

from tests.bench.wrk import Request

TOPIC = "caching-patterns"
QUIZ = "overview"
# The lab command row: lines that pass none of session-store's steps, so a
# learner's lab stays where it is however often they run.
LAB = "session-store"
LAB_COMMANDS = ["PING", "GET session:nobody", "EXISTS session:nobody"]
# Commands whose keys stay small however often they run (a growing list would
# hit the per-learner size bounds and measure refusals instead).
SANDBOX_COMMANDS = [
    "SET greeting hello EX 60",
    "GET greeting",
    "INCR visits",
    "HSET user:1 name Ada",
    "HGETALL user:1",
    "TTL greeting",
]
# Right for one of the shipped command questions, plausible for the others.
QUIZ_COMMAND = "SET price:sku:12 39.90 EX 300"
LEARNERS = 16
_ATTEMPT = re.compile(r"/attempts/(\d+)/")
_CHOICE = re.compile(r'name="choice" value="(\d+)"')
_OF = re.compile(r"Question \d+ of (\d+)")


class SetupError(RuntimeError):
    """A set-up request did not answer as a browser would expect."""


@dataclass
class Learner:
    """A learner's browser: its cookies, and the attempts it has open."""

    session: requests.Session
    attempts: dict[str, int] = field(default_factory=dict)

    @property
    def cookie(self) -> str:
        jar = self.session.cookies
        return f"sessionid={jar['sessionid']}; csrftoken={jar['csrftoken']}"

    @property
    def csrf(self) -> str:
        return self.session.cookies["csrftoken"]

    def headers(self, **extra: str) -> tuple[tuple[str, str], ...]:
        return (("Cookie", self.cookie), *extra.items())


@dataclass
class Site:
    """The running site, and the learners made on it so far."""

    base: str
    _returning: list[Learner] = field(default_factory=list)
    # Per quiz: what to answer at each position (choice id, or None for a command).
    _answers: dict[str, list[int | None]] = field(default_factory=dict)
    _quizzes: list[str] = field(default_factory=list)

    # --- learners -----------------------------------------------------------

    def _get(self, learner: Learner, path: str, **kw) -> requests.Response:
        return _checked(learner.session.get(self.base + path, allow_redirects=False, **kw))

    def _post(self, learner: Learner, path: str, data: dict | None = None, **headers: str):
        headers = {"X-CSRFToken": learner.csrf, **headers}
        response = learner.session.post(
            self.base + path, data=data or {}, headers=headers, allow_redirects=False
        )
        return _checked(response)

    def new_learner(self) -> Learner:
        """A first visit: the sandbox page sets the session and the CSRF cookie."""
        learner = Learner(requests.Session())
        self._get(learner, "/sandbox/")
        return learner

    def start(self, learner: Learner, quiz: str) -> int:
        """Press Start on the quiz: the attempt's id, from the redirect."""
        self._get(learner, f"/quizzes/{quiz}/")
        response = self._post(learner, f"/quizzes/{quiz}/start")
        attempt = int(_ATTEMPT.search(response.headers["Location"]).group(1))
        learner.attempts[quiz] = attempt
        return attempt

    def returning(self) -> list[Learner]:
        """Learners with a history: read a topic, ran a command, half-way into a quiz."""
        if not self._returning:
            with ThreadPoolExecutor(4) as pool:
                self._returning = list(pool.map(lambda _: self._make_returning(), range(LEARNERS)))
        return self._returning

    def _make_returning(self) -> Learner:
        learner = self.new_learner()
        self._post(learner, f"/topics/{TOPIC}/read")
        self._post(learner, "/sandbox/run", {"command": "SET greeting hello"})
        self._post(learner, f"/labs/{LAB}/run", {"command": "PING"})  # the lab started
        attempt = self.start(learner, QUIZ)
        answers = self.answers(QUIZ, learner, attempt)
        self._post(learner, self.answer_path(QUIZ, attempt, 1), _reply(answers[0]))
        return learner

    def answers(self, quiz: str, learner: Learner, attempt: int) -> list[int | None]:
        """What to answer at each position of `quiz`, read once from its pages.

        The shipped quizzes neither shuffle nor draw, so position n is the same
        question in every attempt, with the same choice ids.
        """
        if quiz not in self._answers:
            found: list[int | None] = []
            total, position = 1, 1
            while position <= total:
                page = self._get(learner, f"/quizzes/{quiz}/attempts/{attempt}/{position}/").text
                total = int(_OF.search(page).group(1))
                choice = _CHOICE.search(page)
                found.append(int(choice.group(1)) if choice else None)
                position += 1
            self._answers[quiz] = found
        return self._answers[quiz]

    def quizzes(self) -> list[str]:
        if not self._quizzes:
            page = self._get(Learner(requests.Session()), "/quizzes/").text
            self._quizzes = sorted(set(re.findall(r'href="/quizzes/([\w-]+)/"', page)))
        return self._quizzes

    @staticmethod
    def answer_path(quiz: str, attempt: int, position: int) -> str:
        return f"/quizzes/{quiz}/attempts/{attempt}/{position}/answer"

    # --- what wrk sends -----------------------------------------------------

    def get_as_learners(self, path: str) -> list[Request]:
        """The page, requested by each returning learner in turn."""
        return [Request("GET", path, learner.headers()) for learner in self.returning()]

    def post_as_learners(self, path: str, forms: list[dict], **headers: str) -> list[Request]:
        """POSTs of `forms` (cycled) by each returning learner, with its CSRF token."""
        cycle = itertools.cycle(forms)
        return [
            _form_post(path, next(cycle), learner, **headers)
            for _ in forms
            for learner in self.returning()
        ]

    def question_pages(self) -> list[Request]:
        """The next question (2) of each returning learner's open attempt."""
        return [
            Request(
                "GET", f"/quizzes/{QUIZ}/attempts/{learner.attempts[QUIZ]}/2/", learner.headers()
            )
            for learner in self.returning()
        ]

    def answer_pool(self, count: int) -> list[Request]:
        """`count` or more answers, each to a question not answered yet (usable once).

        Fresh learners start every quiz; their answers are interleaved so that
        consecutive requests come from different learners, as in a class.
        """
        quizzes = self.quizzes()
        per_learner = 0
        queues: list[list[Request]] = []
        while per_learner * len(queues) < count or not queues:
            learner = self.new_learner()
            queue = []
            for quiz in quizzes:
                attempt = self.start(learner, quiz)
                for position, answer in enumerate(self.answers(quiz, learner, attempt), start=1):
                    path = self.answer_path(quiz, attempt, position)
                    queue.append(
                        _form_post(path, _reply(answer), learner, **{"HX-Request": "true"})
                    )
            per_learner = len(queue)
            queues.append(queue)
        return [r for group in itertools.zip_longest(*queues) for r in group if r is not None]


def anonymous(path: str) -> list[Request]:
    """A first-time visitor: no cookies at all."""
    return [Request("GET", path)]


Builder = Callable[[Site, int], list[Request]]


def _reply(answer: int | None) -> dict:
    return {"command": QUIZ_COMMAND} if answer is None else {"choice": str(answer)}


def _form_post(path: str, form: dict, learner: Learner, **headers: str) -> Request:
    return Request(
        "POST",
        path,
        learner.headers(
            **{"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": learner.csrf},
            **headers,
        ),
        urlencode(form).encode(),
    )


def _checked(response: requests.Response) -> requests.Response:
    if response.status_code >= 400:
        raise SetupError(
            f"{response.request.method} {response.url} answered {response.status_code}:\n"
            f"{response.text[:500]}"
        )
    return response
