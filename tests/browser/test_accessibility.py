"""axe-core audits every learner-facing page, in light and in dark mode.

axe's own build (axe.min.js, MPL-2.0) comes from the `axe-playwright-python`
wheel, so `make test` still installs everything through pip. Its source is
evaluated through Playwright rather than added as a <script>: evaluation over
the DevTools protocol is not subject to the site's Content Security Policy.

To audit another page, add one entry to SCREENS: a function that opens the
page as a learner would and waits until the state worth auditing is shown.
"""

import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Page, expect

from quizzes.models import Attempt
from tests.course import SLUGS

# WCAG 2.0-2.2 A and AA, plus Deque's best practices (landmarks, heading order...).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = {"serious", "critical"}
QUIZ = "overview"
VERDICT = re.compile(r"Right\.|Not quite\.")


@cache
def axe_source() -> str:
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def audit(page: Page) -> list[dict]:
    """Run axe on the page as it is now; return the violations it found."""
    # htmx settles swapped content over a few frames; audit the settled page.
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
    page.evaluate(axe_source())
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    results = page.evaluate("options => axe.run(document, options)", options)
    return results["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"]:
            why = "; ".join(check["message"] for check in node["any"] + node["all"] + node["none"])
            lines.append(f"  - {' > '.join(map(str, node['target']))}: {why}")
    return "\n".join(lines)


# ---------------------------------------------------------------- the pages


def home(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Topics", exact=True)).to_be_visible()


def topic(slug: str, width: int | None = None) -> Callable[[Page], None]:
    """A shipped topic; `width`: audit it in a viewport that narrow (CSS pixels)."""

    def visit(page: Page) -> None:
        if width:
            page.set_viewport_size({"width": width, "height": 800})
        page.goto(reverse("learn:topic", args=[slug]))
        # The sandbox panel arrives on its own request after the page has loaded.
        expect(page.get_by_role("textbox", name="Redis command")).to_be_visible()

    return visit


def sandbox(page: Page) -> None:
    page.goto(reverse("learn:sandbox"))
    command = page.get_by_role("textbox", name="Redis command")
    for line in ("SET greeting hello", "INCR greeting"):
        command.fill(line)
        command.press("Enter")
    output = page.get_by_role("log", name="Sandbox output")
    expect(output).to_contain_text("ERR value is not an integer")
    expect(
        page.get_by_role("table", name="Your keys, their types and time to live")
    ).to_contain_text("greeting")


def quiz_list(page: Page) -> None:
    page.goto(reverse("quizzes:list"))
    expect(page.get_by_role("main")).to_contain_text("What ElastiCache is")


def quiz_question(page: Page) -> None:
    page.goto(reverse("quizzes:detail", args=[QUIZ]))
    page.get_by_role("button", name="Start the quiz").click()
    expect(page.get_by_text("Question 1 of")).to_be_visible()


def answer(page: Page) -> None:
    """Answer the question on screen (rightly or not) and wait for the feedback."""
    command = page.get_by_role("textbox", name="Your command")
    if command.count():
        command.fill("SET answer 42")
    else:
        page.get_by_role("radio").or_(page.get_by_role("checkbox")).first.check()
    page.get_by_role("button", name="Check answer").click()
    # The verdict takes the focus once it is on screen.
    expect(page.get_by_role("status").filter(has_text=VERDICT)).to_be_focused()


def quiz_feedback(page: Page) -> None:
    quiz_question(page)
    answer(page)


def quiz_results(page: Page) -> None:
    quiz_feedback(page)
    # Skip to the last question: the results then hold right, wrong or unanswered items.
    attempt = Attempt.objects.get()
    page.goto(reverse("quizzes:question", args=[QUIZ, attempt.pk, attempt.slots.count()]))
    answer(page)
    page.get_by_role("button", name="See your results").click()
    expect(page.get_by_role("heading", name="Your result")).to_be_visible()


def quiz_history(page: Page) -> None:
    quiz_results(page)
    page.goto(reverse("quizzes:detail", args=[QUIZ]))
    expect(page.get_by_role("table", name="Your attempts at this quiz")).to_be_visible()


def not_found(page: Page) -> None:
    page.goto("/topics/no-such-topic/")
    expect(page.get_by_role("heading", name="We couldn’t find that page")).to_be_visible()


def lab(page: Page) -> None:
    """A lab part-way: checks passing and failing, a hint, the database table."""
    page.goto(reverse("labs:detail", args=["lazy-loading-by-hand"]))
    command = page.get_by_role("textbox", name="Redis command")
    command.fill("SET product:42 nope EX 600")
    command.press("Enter")
    expect(page.get_by_role("log", name="Sandbox output")).to_contain_text("OK")
    page.get_by_text("Hint", exact=True).click()


def lab_done(page: Page) -> None:
    page.goto(reverse("labs:detail", args=["rate-limiter"]))
    command = page.get_by_role("textbox", name="Redis command")
    for line in ("INCR rate:10.0.0.1", "EXPIRE rate:10.0.0.1 300", "INCRBY rate:10.0.0.1 2"):
        command.fill(line)
        command.press("Enter")
        expect(page.get_by_role("log", name="Sandbox output")).to_contain_text(line)
    expect(page.get_by_role("status").filter(has_text="Lab complete")).to_be_visible()


def once_built(url: str, first: Callable[[Page], None] | None = None) -> Callable[[Page], None]:
    """A page that must exist: visited as a learner would, after `first`.

    `first` gives the learner some history (a finished quiz) for the page to
    show. A page that answers anything but 200 fails the gate: a missing page
    must never turn an accessibility case into a silent skip.
    """

    def visit(page: Page) -> None:
        if first:
            first(page)
        response = page.goto(url)
        assert response is not None and response.status == 200, (
            f"{url} answered {response.status if response else 'nothing'}, not 200"
        )
        expect(page.get_by_role("main")).to_be_visible()

    return visit


def bench_results(page: Page) -> None:
    """The bench page with a finished run: its results, charts and the comparison."""
    page.goto(reverse("patterns:page"))
    form = page.get_by_role("region", name="Run a pattern")
    form.get_by_label("Number of keys").fill("20")
    form.get_by_label("Run length").fill("1")
    form.get_by_role("button", name="Run the pattern").click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=30_000)


def bench_page(page: Page) -> None:
    bench_results(page)
    page.goto(reverse("patterns:page"))
    expect(page.get_by_role("table", name="Your runs side by side")).to_be_visible()


def memcached_console(page: Page) -> None:
    """The Memcached console after a stored value, a read and a refusal."""
    page.goto(reverse("memcache:console"))
    command = page.get_by_role("textbox", name="Memcached command")
    output = page.get_by_role("log", name="Memcached output")
    command.fill("set greeting 0 60 5")
    command.press("Enter")  # a storage command: Enter starts its data line
    command.press_sequentially("hello")
    command.press("Enter")
    expect(output).to_contain_text("STORED")
    for line in ("get greeting", "flush_all"):
        command.fill(line)
        command.press("Enter")
    expect(output).to_contain_text("every learner's items")
    expect(page.get_by_role("table", name="Your Memcached keys")).to_contain_text("greeting")


def bench_lab(page: Page) -> None:
    """A bench lab after its first step: the link to the demo, a run, the way back."""
    page.goto(reverse("labs:detail", args=["stop-the-stampede"]))
    page.get_by_role("link", name="Open the stampede demo with the lab's herd").click()
    form = page.get_by_role("region", name="Stampede demo")
    form.get_by_label("Run length").fill("1.5")
    form.get_by_role("button", name="Run the stampede").click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Check my step in the lab").click()
    expect(page.get_by_role("heading", name="Step 2: Stop it")).to_be_visible()


SCREENS: dict[str, Callable[[Page], None]] = {
    "home": home,
    # Every shipped topic: each brings its own diagrams, tables and examples.
    **{f"topic-{slug}": topic(slug) for slug in SLUGS},
    # 320 px is WCAG's reflow width; wide tables and examples must stay reachable.
    "topic-on-a-phone": topic("use-cases", width=320),
    "sandbox": sandbox,
    "memcached-console": memcached_console,
    "quiz-list": quiz_list,
    "quiz-question": quiz_question,
    "quiz-feedback": quiz_feedback,
    "quiz-results": quiz_results,
    "quiz-history": quiz_history,
    "not-found": not_found,
    "progress": once_built("/progress/", first=quiz_results),
    "review": once_built("/review/", first=quiz_results),
    "leaderboard": once_built("/leaderboard/"),
    "log-in": once_built("/accounts/login/"),
    "sign-up": once_built("/accounts/signup/"),
    "inside": once_built("/inside/"),
    "labs": once_built("/labs/"),
    "lab": lab,
    "lab-complete": lab_done,
    "bench": bench_page,
    "bench-results": bench_results,
    "bench-lab": bench_lab,
}


@pytest.fixture
def course(transactional_db) -> None:
    call_command("load_content", stdout=StringIO())


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("screen", SCREENS)
def test_the_page_has_no_serious_accessibility_violations(page, course, screen, scheme):
    page.emulate_media(color_scheme=scheme)
    SCREENS[screen](page)

    blocking = [v for v in audit(page) if v["impact"] in BLOCKING]

    assert not blocking, f"{screen} ({scheme}):\n{describe(blocking)}"


def test_a_page_that_should_exist_and_answers_404_fails_the_gate(page, course):
    visit = once_built("/no-such-page/")

    with pytest.raises(AssertionError, match="answered 404"):
        visit(page)
