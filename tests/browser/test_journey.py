"""The learner journey: read, run, quiz, miss, review, sign up, keep it all, join the board."""

import re

import pytest
from playwright.sync_api import expect

from learn.models import Learner, TopicProgress
from quizzes.models import Attempt, ReviewItem
from tests.factories import QuestionFactory, QuizFactory, TopicFactory

pytestmark = pytest.mark.redis
PASSWORD = "correct horse battery staple"
BODY = "## Sessions\n\nSessions live in Redis.\n\n```redis\nSET session:1 alice EX 60\n```\n"


@pytest.fixture
def course(transactional_db):
    topic = TopicFactory(slug="sessions", title="Session store", order=1, body=BODY)
    quiz = QuizFactory(topic=topic, slug="sessions-quiz", title="Sessions quiz", pass_mark=50)
    QuestionFactory(
        quiz=quiz,
        order=1,
        prompt="Where do CacheLab sessions live?",
        answers=[("In Redis", True), ("On paper", False)],
    )
    QuestionFactory(
        quiz=quiz,
        order=2,
        prompt="Is a session key rotated at log-in?",
        kind="truefalse",
    )
    return {"topic": topic, "quiz": quiz}


def test_an_anonymous_learner_keeps_everything_after_signing_up(page, course):
    # Read a topic and run its example.
    page.goto("/")
    page.get_by_role("link", name="Start with “Session store”").click()
    expect(page.get_by_role("heading", name="Session store", level=1)).to_be_visible()
    page.get_by_role("button", name="Run this example in the sandbox").click()
    expect(page.get_by_role("log", name="Sandbox output")).to_contain_text("OK")
    expect(page.get_by_text("Examples run: 1 of 1")).to_be_visible()
    page.get_by_role("button", name="Mark as read").click()
    expect(page.get_by_text("You have read this topic")).to_be_visible()

    # Take the quiz and miss the first question.
    page.goto("/quizzes/sessions-quiz/")
    page.get_by_role("button", name="Start the quiz").click()
    page.get_by_label("On paper").check()
    page.get_by_role("button", name="Check answer").click()
    expect(page.get_by_role("status").filter(has_text="Not quite.")).to_be_visible()
    page.get_by_role("link", name=re.compile("Next question")).click()
    page.get_by_label("True").check()
    page.get_by_role("button", name="Check answer").click()
    expect(page.get_by_role("status").filter(has_text="Right.")).to_be_visible()
    page.get_by_role("button", name="See your results").click()
    expect(page.get_by_role("heading", name="Your result: 50%")).to_be_visible()

    # The miss is due for review, and the navigation says so.
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link", name="Review 1 due")).to_be_visible()
    navigation.get_by_role("link", name=re.compile("^Review")).click()
    expect(page.get_by_text("Where do CacheLab sessions live?")).to_be_visible()
    anonymous_id = Learner.objects.get().pk

    # Sign up: everything stays.
    navigation.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Your progress")).to_be_visible()
    expect(page.get_by_text("Welcome, ada.")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("^Session store"))
    expect(row).to_contain_text("1 of 1")
    expect(row).to_contain_text("50%")
    expect(page.get_by_role("link", name="1 question due for review")).to_be_visible()
    expect(page.get_by_role("img", name="Your quiz scores, oldest first")).to_be_visible()

    learner = Learner.objects.get()
    assert learner.pk == anonymous_id and learner.user.username == "ada"
    assert TopicProgress.objects.get(learner=learner).read_at is not None
    assert Attempt.objects.filter(learner=learner).count() == 1
    assert ReviewItem.objects.filter(learner=learner).count() == 1

    page.get_by_role("link", name="1 question due for review").click()
    expect(page.get_by_text("Where do CacheLab sessions live?")).to_be_visible()

    # Join the leaderboard and find yourself on it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leaderboard").click()
    page.get_by_label("Nickname").fill("Ada L")
    page.get_by_role("button", name="Join the leaderboard").click()
    expect(page.get_by_role("cell", name="Ada L").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"Your rank.*#1"))).to_be_visible()
    learner.refresh_from_db()
    assert learner.nickname == "Ada L"
