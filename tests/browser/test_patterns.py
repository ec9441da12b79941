"""A learner runs two patterns on one workload and reads the comparison."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.redis


def run_pattern(page: Page, pattern: str) -> None:
    page.goto(reverse("patterns:page"))
    form = page.get_by_role("region", name="Run a pattern")
    form.get_by_label("Pattern").select_option(label=pattern)
    form.get_by_label("Number of keys").fill("20")
    form.get_by_label("Share of reads").fill("0.7")
    form.get_by_label("Database latency").fill("1")
    form.get_by_label("Run length").fill("1")
    form.get_by_role("button", name="Run the pattern").click()
    # The results page polls until the run is done, then shows the figures.
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("table", name="Measured figures")).to_be_visible()


def test_a_learner_compares_two_patterns_on_the_same_workload(page):
    run_pattern(page, "Lazy loading, no invalidation")
    run_pattern(page, "Write-through")

    page.get_by_role("link", name="Compare with your other runs").click()

    comparison = page.get_by_role("table", name="Your runs side by side")
    expect(comparison).to_contain_text("Lazy loading, no invalidation")
    expect(comparison).to_contain_text("Write-through")
    expect(page.get_by_text("These runs share one workload")).to_be_visible()
    stale = comparison.get_by_role("row", name="Stale reads")
    # Write-through is the column on the left (newest first) and serves no stale read.
    expect(stale.get_by_role("cell").first).to_have_text("0")
