"""Topic Markdown → safe HTML, with a table of contents.

Instructors write Markdown in the admin, so the HTML is sanitised (nh3) before
it reaches a page. Two constructs are expanded only after sanitising, from
trusted sources: ```redis example blocks (escaped here) and `[[diagram:name]]`
lines (inline SVG read from the repository's content folder).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import markdown
import nh3
from django.conf import settings
from django.utils.text import slugify

REDIS_BLOCK = re.compile(r"^```redis[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
DIAGRAM_LINE = re.compile(r"^\[\[diagram:([a-z0-9-]+)\]\][ \t]*$", re.MULTILINE)
PLACEHOLDER = re.compile(r"<p>CACHELAB(EXAMPLE|DIAGRAM)(\d+)</p>")
TABLE_TAG = re.compile(r"<table(?=[\s>])")

ALLOWED_TAGS = {
    "a", "abbr", "aside", "b", "blockquote", "br", "code", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre", "s", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "th": {"align", "scope"},
    "td": {"align"},
    "ol": {"start"},
}


@dataclass
class Rendered:
    html: str
    toc: list[dict] = field(default_factory=list)


def heading_slug(value: str, separator: str = "-") -> str:
    return slugify(html.unescape(value)) or "section"


def _toc_entries(tokens: list[dict]) -> list[dict]:
    return [
        {
            "id": token["id"],
            "name": html.unescape(token["name"]),
            "children": _toc_entries(token.get("children", [])),
        }
        for token in tokens
    ]


@lru_cache(maxsize=64)
def diagram_svg(name: str) -> str | None:
    path: Path = settings.CONTENT_DIR / "diagrams" / f"{name}.svg"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def example_html(commands: str) -> str:
    lines = "\n".join(line.rstrip() for line in commands.strip("\n").splitlines())
    return (
        '<figure class="redis-example">'
        "<figcaption>Try it in the sandbox</figcaption>"
        # Focusable: a long line scrolls sideways, and the keyboard must reach it too.
        f'<pre tabindex="0"><code class="language-redis">{html.escape(lines)}</code></pre>'
        '<button type="button" class="button run-example" data-run-example>'
        'Run<span class="visually-hidden"> this example in the sandbox</span></button>'
        "</figure>"
    )


def render_markdown(source: str) -> Rendered:
    """Render topic Markdown to sanitised HTML plus its table of contents."""
    examples: list[str] = []
    diagrams: list[str] = []

    def keep_example(match: re.Match) -> str:
        examples.append(match.group(1))
        return f"\nCACHELABEXAMPLE{len(examples) - 1}\n"

    def keep_diagram(match: re.Match) -> str:
        diagrams.append(match.group(1))
        return f"\nCACHELABDIAGRAM{len(diagrams) - 1}\n"

    source = REDIS_BLOCK.sub(keep_example, source)
    source = DIAGRAM_LINE.sub(keep_diagram, source)

    md = markdown.Markdown(
        extensions=["extra", "codehilite", "toc", "sane_lists"],
        extension_configs={
            "codehilite": {"css_class": "highlight", "guess_lang": False},
            "toc": {
                "toc_depth": "2-3",
                "slugify": heading_slug,
                "permalink": "#",
                "permalink_title": "Link to this section",
                "permalink_class": "heading-anchor",
            },
        },
    )
    body = md.convert(source)
    clean = nh3.clean(
        body,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
    )

    def expand(match: re.Match) -> str:
        kind, index = match.group(1), int(match.group(2))
        if kind == "EXAMPLE":
            return example_html(examples[index])
        svg = diagram_svg(diagrams[index])
        if svg is None:
            return f'<p class="missing">Diagram “{html.escape(diagrams[index])}” is missing.</p>'
        return f'<figure class="diagram-figure">{svg}</figure>'

    # A wide table scrolls sideways on a narrow screen (site.css); being focusable
    # lets a keyboard user reach it and scroll it with the arrow keys.
    clean = TABLE_TAG.sub('<table tabindex="0"', clean)
    return Rendered(
        html=PLACEHOLDER.sub(expand, clean),
        toc=_toc_entries(getattr(md, "toc_tokens", [])),
    )
