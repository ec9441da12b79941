"""An instructor authors a quiz in the admin; a learner takes it with the keyboard only."""

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from quizzes.models import Attempt, Quiz
from tests.factories import QuestionFactory, QuizFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.redis
PASSWORD = "correct horse battery staple"


@pytest.fixture
def instructor(transactional_db):
    user = UserFactory(username="ines", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Instructors")[0])
    _copy_instructor_permissions(user)
    return user


def _copy_instructor_permissions(user):
    # transactional_db flushes the data migration's group; grant the same rights.
    from django.contrib.auth.models import Permission

    group = user.groups.get()
    wanted = Permission.objects.filter(
        content_type__app_label__in=["learn", "quizzes"],
    ).exclude(content_type__model__in=["learner", "topicprogress"])
    group.permissions.set(wanted)


def log_in(page, username: str) -> None:
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def add_question(page, quiz: Quiz, kind: str, prompt: str, choices=(), command=None) -> None:
    page.goto(f"/admin/quizzes/question/add/?quiz={quiz.pk}")
    page.get_by_label("Question type").select_option(label=kind)
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_label("Explanation").fill(f"Explanation of: {prompt}")
    for i, (text, correct) in enumerate(choices):
        if i >= 2:
            page.get_by_role("button", name="Add another Choice").click()
        row = page.locator(f"#choices-{i}")
        row.get_by_label("Text").fill(text)
        if correct:
            row.get_by_label("Correct").check()
    if command:
        page.get_by_label("Example answer").fill(command["example"])
        check = page.locator("#checks-0")
        check.get_by_label("Check").select_option(label="TTL within a range (seconds)")
        check.get_by_label(re.compile(r"^Key:?$")).fill("session:42")
        check.get_by_label("Minimum").fill("1790")
        check.get_by_label("Maximum").fill("1800")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_be_visible()


def test_an_instructor_authors_and_a_learner_takes_a_quiz(page, new_page, instructor, live_server):
    TopicFactory(slug="caching-patterns", title="Caching patterns",
                         body="## The session store\n\nSessions live in Redis.\n")  # fmt: skip
    log_in(page, "ines")

    page.goto("/admin/quizzes/quiz/add/")
    page.get_by_label("Topic").select_option(label="Caching patterns")
    page.get_by_label("Title").fill("Sessions check")
    page.get_by_label("Pass mark").fill("50")
    page.get_by_role("button", name="Save and continue editing").click()
    quiz = Quiz.objects.get(slug="sessions-check")
    assert quiz.status == "draft"

    add_question(page, quiz, "Single choice", "Where do sessions live?",
                 [("In Redis", True), ("On the web server's disk", False)])  # fmt: skip
    add_question(page, quiz, "Multiple select", "Which protect sessions?",
                 [("A TTL", True), ("Replicas", True), ("Sticky sessions", False)])  # fmt: skip
    add_question(
        page, quiz, "True / false", "Sessions need a TTL.", [("True", True), ("False", False)]
    )
    add_question(page, quiz, "Redis command", "Store session:42 = alice for 30 minutes.",
                 command={"example": "SET session:42 alice EX 1800"})  # fmt: skip
    assert quiz.questions.count() == 4

    page.goto(f"/admin/quizzes/quiz/{quiz.pk}/change/")
    with page.context.expect_page() as preview_info:
        page.get_by_role("link", name="Preview as learner").click()
    preview = preview_info.value
    expect(preview.get_by_text("Draft preview")).to_be_visible()
    preview.close()
    page.get_by_label("Status").select_option(label="Published")
    page.get_by_role("button", name="Save", exact=True).click()
    quiz.refresh_from_db()
    assert quiz.status == "published"

    learner = new_page()
    take_with_keyboard(learner, quiz)
    attempt = Attempt.objects.get(quiz=quiz)
    assert attempt.score == 100

    page.goto(f"/admin/quizzes/quiz/{quiz.pk}/statistics/")
    expect(page.get_by_role("row", name="Finished attempts 1")).to_be_visible()


def take_with_keyboard(page, quiz: Quiz) -> None:
    page.goto(quiz.get_absolute_url())
    focus_and_press(page, page.get_by_role("button", name="Start the quiz"), "Enter")

    answers = {
        "Where do sessions live?": ["In Redis"],
        "Which protect sessions?": ["A TTL", "Replicas"],
        "Sessions need a TTL.": ["True"],
    }
    for number in range(1, 5):
        expect(page.get_by_text(f"Question {number} of 4")).to_be_visible()
        command = page.get_by_role("textbox", name="Your command")
        if command.count():
            command.focus()
            page.keyboard.type("SETEX session:42 1800 alice")
        else:
            prompt = next(p for p in answers if page.get_by_text(p).count())
            for text in answers[prompt]:
                focus_and_press(page, page.get_by_label(text), "Space")
        page.keyboard.press("Tab") if not command.count() else None
        focus_and_press(page, page.get_by_role("button", name="Check answer"), "Enter")
        feedback = page.get_by_role("status").filter(has_text="Right.")
        expect(feedback).to_be_visible()
        expect(page.locator("#feedback")).to_be_focused()
        label = "Next question" if number < 4 else "See your results"
        focus_and_press(
            page, page.get_by_role("link" if number < 4 else "button", name=label), "Enter"
        )
    expect(page.get_by_role("heading", name="Your result: 100%")).to_be_visible()


def focus_and_press(page, locator, key: str) -> None:
    """Reach an element by keyboard focus, then use a key on it (no mouse)."""
    # Let htmx finish swapping and settling first: settling moves focus to the
    # feedback (autofocus), which would take it back from the element.
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
    locator.focus()
    expect(locator).to_be_focused()
    page.keyboard.press(key)


@pytest.fixture
def quiz_with_feedback(transactional_db):
    quiz = QuizFactory(title="Engines check")
    QuestionFactory(quiz=quiz, prompt="Which engine is multithreaded?",
                    answers=[("Memcached", True), ("Valkey", False)])  # fmt: skip
    return quiz


def test_a_wrong_answer_shows_why_and_links_to_the_topic(page, quiz_with_feedback):
    page.goto(quiz_with_feedback.get_absolute_url())
    page.get_by_role("button", name="Start the quiz").click()
    page.get_by_label("Valkey").check()
    page.get_by_role("button", name="Check answer").click()

    expect(page.get_by_role("status").filter(has_text="Not quite.")).to_be_visible()
    expect(page.get_by_text("Because the fact sheet says so.")).to_be_visible()
    page.get_by_role("button", name="See your results").click()
    expect(page.get_by_role("heading", name="Your result: 0%")).to_be_visible()
    expect(page.get_by_role("link", name="Review this in the topic")).to_be_visible()
