"""The leaderboard and Inside CacheLab in a real browser (htmx on)."""

import re

import pytest
from playwright.sync_api import expect

from learn.models import Learner
from tests.factories import LearnerFactory, TopicFactory

pytestmark = pytest.mark.redis


def test_a_learner_joins_renames_and_leaves_the_board(page):
    LearnerFactory(nickname="Bob")
    page.goto("/leaderboard/")

    page.get_by_label("Nickname").fill("Admin")
    page.get_by_role("button", name="Join the leaderboard").click()
    expect(page.get_by_role("alert")).to_contain_text("That nickname is reserved")
    assert not Learner.objects.filter(nickname__iexact="admin").exists()

    page.get_by_label("Nickname").fill("Ada")
    page.get_by_role("button", name="Join the leaderboard").click()
    expect(page.get_by_role("status")).to_have_text("You are on the leaderboard as Ada.")
    expect(page.get_by_role("row", name=re.compile(r"Ada you"))).to_have_count(1)
    expect(page.get_by_text(re.compile(r"Your rank: .*all time"))).to_be_visible()

    page.get_by_label("New nickname").fill("Countess")
    page.get_by_role("button", name="Change nickname").click()
    expect(page.get_by_role("status")).to_have_text("Your nickname is now Countess.")

    page.get_by_role("button", name="Leave the leaderboard").click()
    expect(page.get_by_role("status")).to_contain_text("You have left the leaderboard")
    expect(page.get_by_role("row", name=re.compile("Countess"))).to_have_count(0)
    assert not Learner.objects.filter(nickname__isnull=False).exclude(nickname="Bob").exists()


def test_inside_cachelab_shows_the_visit_just_made(page):
    topic = TopicFactory(title="Session store")
    page.goto(topic.get_absolute_url())

    page.goto("/inside/")

    expect(page.get_by_role("heading", name="Inside CacheLab", level=1)).to_be_visible()
    expect(page.get_by_role("row", name="Session store 1")).to_be_visible()
    page.get_by_role("link", name="Counting unique visitors with HyperLogLog").click()
    expect(page).to_have_url(re.compile(r"/topics/use-cases/#counting-unique-visitors"))
