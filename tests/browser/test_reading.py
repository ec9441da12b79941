import pytest
from playwright.sync_api import expect

from learn.models import TopicProgress
from tests.factories import TopicFactory


@pytest.fixture
def course(transactional_db):
    return [
        TopicFactory(slug="overview", title="What ElastiCache is", order=1),
        TopicFactory(slug="scaling", title="Scaling and cluster mode", order=2),
    ]


def test_a_new_learner_reads_a_topic_and_moves_to_the_next(page, course):
    page.goto("/")
    expect(page.get_by_role("heading", name="Learn Amazon ElastiCache by doing")).to_be_visible()

    page.get_by_role("link", name="What ElastiCache is", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="What ElastiCache is")).to_be_visible()
    expect(page.get_by_role("navigation", name="On this page")).to_be_visible()

    page.get_by_role("button", name="Mark as read").click()
    expect(page.get_by_text("You have read this topic")).to_be_visible()

    page.get_by_role("link", name="Next Scaling and cluster mode").click()
    expect(page.get_by_role("heading", level=1, name="Scaling and cluster mode")).to_be_visible()
    assert TopicProgress.objects.filter(topic__slug="overview", read_at__isnull=False).count() == 1


def test_the_home_page_shows_progress_after_reading(page, course):
    page.goto("/topics/overview/")
    page.get_by_role("button", name="Mark as read").click()
    expect(page.get_by_text("You have read this topic")).to_be_visible()

    page.get_by_role("link", name="Topics", exact=True).click()

    expect(page.get_by_text("You have read 1 of 2 topics")).to_be_visible()


def test_keyboard_users_can_skip_to_the_content(page, course):
    page.goto("/")
    page.keyboard.press("Tab")

    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_an_unknown_topic_shows_the_friendly_404(page, course):
    response = page.goto("/topics/nope/")

    assert response.status == 404
    expect(page.get_by_role("heading", name="We couldn’t find that page")).to_be_visible()


def test_pages_raise_no_content_security_policy_violations(page, course):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    for url in ("/", "/topics/overview/", "/sandbox/"):
        page.goto(url)
        expect(page.get_by_role("main")).to_be_visible()
    expect(page.get_by_role("textbox", name="Redis command")).to_be_visible()

    assert violations == []
