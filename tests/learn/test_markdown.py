"""Topic Markdown: content cannot confuse the renderer or reach into the page around it."""

import re

import pytest
from django.test import Client

from learn.markdown import page_ids, render_markdown

EXAMPLE = "```redis\nSET greeting hello\n```"


@pytest.mark.parametrize(
    "collision",
    ["CACHELABEXAMPLE9", "CACHELABDIAGRAM0", "CACHELABEXAMPLE0", "<p>CACHELABEXAMPLE1</p>"],
)
def test_text_spelling_an_old_placeholder_is_just_text(collision):
    rendered = render_markdown(f"{EXAMPLE}\n\n{collision}\n")

    assert rendered.html.count('class="redis-example"') == 1
    assert "CACHELABEXAMPLE" in rendered.html or "CACHELABDIAGRAM" in rendered.html


@pytest.mark.django_db
def test_a_topic_whose_paragraph_is_a_placeholder_still_renders(topic_factory):
    topic = topic_factory(body=f"Intro.\n\n{EXAMPLE}\n\nCACHELABEXAMPLE9\n")

    response = Client().get(topic.get_absolute_url())

    assert response.status_code == 200
    assert "CACHELABEXAMPLE9" in response.content.decode()


def test_examples_and_diagrams_still_expand(settings, tmp_path):
    (tmp_path / "diagrams").mkdir()
    (tmp_path / "diagrams" / "flow.svg").write_text('<svg class="diagram" id="flow-title"></svg>')
    settings.CONTENT_DIR = tmp_path

    html = render_markdown(f"{EXAMPLE}\n\n[[diagram:flow]]\n").html

    assert 'class="redis-example"' in html and "SET greeting hello" in html
    assert '<figure class="diagram-figure"><svg class="diagram" id="flow-title">' in html


def test_an_author_id_that_the_page_uses_is_prefixed():
    html = render_markdown('<div id="sandbox-form">x</div>\n\n<p id="main">y</p>').html

    assert 'id="sandbox-form"' not in html and 'id="main"' not in html
    assert 'id="user-content-sandbox-form"' in html and 'id="user-content-main"' in html


def test_any_other_author_id_is_prefixed_and_links_to_it_follow():
    html = render_markdown('<span id="note">n</span>\n\n[see the note](#note)').html

    assert 'id="user-content-note"' in html
    assert 'href="#user-content-note"' in html


def test_headings_keep_their_anchors_and_the_toc_links_to_them():
    rendered = render_markdown("## Cluster mode\n\nText.\n\n### Hash slots\n")

    assert '<h2 id="cluster-mode">' in rendered.html
    assert 'href="#cluster-mode"' in rendered.html  # the permalink
    assert rendered.toc[0]["id"] == "cluster-mode"
    assert rendered.toc[0]["children"][0]["id"] == "hash-slots"


def test_a_heading_named_like_a_page_element_is_prefixed_everywhere():
    rendered = render_markdown("## Sandbox form\n")

    assert 'id="user-content-sandbox-form"' in rendered.html
    assert 'href="#user-content-sandbox-form"' in rendered.html
    assert rendered.toc[0]["id"] == "user-content-sandbox-form"


def test_misconception_asides_keep_their_id_and_class():
    source = (
        '<aside class="misconception" id="misconception-7" markdown="1">\n**Common:** no.\n</aside>'
    )

    html = render_markdown(source).html

    assert '<aside class="misconception" id="misconception-7">' in html


def test_classes_off_the_allowlist_are_dropped():
    html = render_markdown(
        '<p class="button run-example misconception">x</p>\n\n<div class="htmx-indicator">y</div>'
    ).html

    assert '<p class="misconception">' in html
    assert "run-example" not in html and "htmx-indicator" not in html and "button" not in html


def test_code_keeps_its_highlighting_classes():
    html = render_markdown("```python\nx = 1\n```").html

    assert 'class="highlight"' in html
    assert re.search(r'<span class="[a-z0-9]+">', html)


def test_the_page_ids_come_from_the_templates():
    assert {"sandbox-form", "main", "toc-heading"} <= page_ids()
