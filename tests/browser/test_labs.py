"""A learner completes a lab with the keyboard only (real Chromium, live server)."""

from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.redis


@pytest.fixture
def course(transactional_db) -> None:
    call_command("load_content", stdout=StringIO())


def tab_to(page: Page, target: Locator, *, backwards: bool = False, most: int = 60) -> None:
    """Press Tab (or Shift+Tab) until `target` has the focus, as a keyboard user would."""
    key = "Shift+Tab" if backwards else "Tab"
    handle = target.element_handle()
    for _ in range(most):
        if page.evaluate("el => document.activeElement === el", handle):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{target} never took the focus")


def type_command(page: Page, line: str) -> None:
    command = page.get_by_role("textbox", name="Redis command")
    tab_to(page, command)
    page.keyboard.type(line)
    page.keyboard.press("Enter")
    expect(page.get_by_role("log", name="Sandbox output")).to_contain_text(line)


def step(page: Page, number: int) -> Locator:
    return page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=f"Step {number}:")
    )


def test_a_learner_completes_a_lab_with_the_keyboard_using_a_hint_and_a_solution(page, course):
    page.goto("/labs/")
    tab_to(page, page.get_by_role("link", name="Keep web sessions in Redis"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Keep web sessions in Redis")).to_be_visible()
    announce = page.get_by_role("status").filter(has_text="passed")

    type_command(page, "HSET session:ada user ada cart 3")
    expect(announce).to_contain_text("Step 1 passed: Store Ada's session. Step 2 is open")
    expect(step(page, 1)).to_contain_text("✓ Passed")

    # A near miss, then the hint of the check that fails.
    type_command(page, "EXPIRE session:ada 60")
    expect(step(page, 2)).to_contain_text("session:ada has a TTL of 60 s (expected 600–1800 s)")
    tab_to(page, page.get_by_text("Hint", exact=True), backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_text("EXPIRE key seconds sets a lifetime in seconds")).to_be_visible()
    type_command(page, "EXPIRE session:ada 1200")
    expect(announce).to_contain_text("Step 2 passed: Let the session expire.")

    # Stuck on the last step: show its solution, then run it.
    tab_to(page, page.get_by_role("button", name="Show solution"), backwards=True)
    page.keyboard.press("Enter")
    expect(step(page, 3).locator("pre")).to_have_text("DEL session:ada")
    type_command(page, "DEL session:ada")
    expect(announce).to_contain_text("Lab complete: every step passed.")
    expect(step(page, 3)).to_contain_text("✓ Passed, with the solution")
    expect(step(page, 2)).to_contain_text("✓ Passed")

    tab_to(page, page.get_by_role("link", name="your progress"))
    page.keyboard.press("Enter")
    labs = page.get_by_role("table", name="Labs")
    expect(labs.get_by_role("row", name="Keep web sessions in Redis")).to_contain_text(
        "✓ Completed"
    )
    expect(page.get_by_text("1 of 10 labs completed.")).to_be_visible()


def test_without_javascript_a_lab_still_runs_and_passes(browser, live_server, course):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/labs/rate-limiter/")
        for line in ("INCR rate:10.0.0.1", "EXPIRE rate:10.0.0.1 300"):
            page.get_by_role("textbox", name="Redis command").fill(line)
            page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("status").filter(has_text="Step 1 passed")).to_be_visible()
        expect(step(page, 1)).to_contain_text("✓ Passed")
    finally:
        context.close()
