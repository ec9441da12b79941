import pytest
from playwright.sync_api import expect

from tests.factories import TopicFactory

pytestmark = pytest.mark.redis

EXAMPLE = '## Strings\n\n```redis\nSET greeting "hello world"\nGET greeting\n```\n'


@pytest.fixture
def topic(transactional_db):
    return TopicFactory(slug="caching-patterns", title="Caching patterns", body=EXAMPLE)


def output(page):
    return page.get_by_role("log", name="Sandbox output")


def test_a_learner_runs_an_example_recalls_it_and_resets(page, topic):
    page.goto(topic.get_absolute_url())

    page.get_by_role("button", name="Run this example in the sandbox").click()
    expect(output(page)).to_contain_text('"hello world"')
    keys = page.get_by_role("table", name="Your keys, their types and time to live")
    expect(keys).to_contain_text("greeting")

    command = page.get_by_role("textbox", name="Redis command")
    command.press("ArrowUp")
    expect(command).to_have_value("GET greeting")
    command.press("Enter")
    expect(output(page).locator(".entry")).to_have_count(3)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reset my sandbox").click()
    expect(page.get_by_text("Your sandbox is empty again (1 key deleted).")).to_be_visible()
    command.fill("GET greeting")
    command.press("Enter")
    expect(output(page).locator(".entry-reply").last).to_have_text("(nil)")


def test_history_survives_a_page_load(page, topic):
    page.goto("/sandbox/")
    command = page.get_by_role("textbox", name="Redis command")
    command.fill("INCR visits")
    command.press("Enter")
    expect(output(page)).to_contain_text("(integer) 1")

    page.reload()
    page.get_by_role("textbox", name="Redis command").press("ArrowUp")

    expect(page.get_by_role("textbox", name="Redis command")).to_have_value("INCR visits")


def test_clear_screen_empties_the_output(page, topic):
    page.goto("/sandbox/")
    command = page.get_by_role("textbox", name="Redis command")
    command.fill("PING")
    command.press("Enter")
    expect(output(page)).to_contain_text("PONG")

    command.fill("clear")
    command.press("Enter")

    expect(output(page).locator(".entry")).to_have_count(0)


def test_two_learners_in_two_browsers_are_isolated(new_page, topic, sandbox_redis):
    alice, bob = new_page(), new_page()
    for page in (alice, bob):
        page.goto("/sandbox/")

    alice_cmd = alice.get_by_role("textbox", name="Redis command")
    alice_cmd.fill("SET k 1")
    alice_cmd.press("Enter")
    expect(output(alice)).to_contain_text("OK")

    bob_cmd = bob.get_by_role("textbox", name="Redis command")
    for count, line in enumerate(("GET k", "KEYS *", "SCAN 0"), start=1):
        bob_cmd.fill(line)
        bob_cmd.press("Enter")
        expect(output(bob).locator(".entry")).to_have_count(count)
    replies = output(bob).locator(".entry-reply")
    expect(replies.nth(0)).to_have_text("(nil)")
    expect(replies.nth(1)).to_have_text("(empty array)")
    expect(replies.nth(2)).to_have_text('1) "0"\n2) (empty array)')


def test_the_panel_collapses_and_is_keyboard_reachable(page, topic):
    page.goto(topic.get_absolute_url())
    toggle = page.locator("summary", has_text="Sandbox")

    toggle.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="Redis command")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="Redis command")).to_be_visible()
