"""Topic Markdown → safe HTML, with a table of contents.

Instructors write Markdown in the admin, so the HTML is sanitised (nh3) before
it reaches a page. Two constructs are expanded only after sanitising, from
trusted sources: ```redis example blocks (escaped here) and `[[diagram:name]]`
lines (inline SVG read from the repository's content folder). They wait in
the text as placeholders carrying a random nonce, new for every render, so no
text an author types can be mistaken for one.

Authors' `id` and `class` attributes cannot reach into the page around the
article: an id stays as written only for a heading or a `misconception-N`
aside, and never when the page's own templates use it (`id="sandbox-form"`
would capture the sandbox's form); any other gets a `user-content-` prefix,
and so do links to it. Classes are kept only from an allowlist (the
callouts, heading anchors, code highlighting, footnotes).
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import markdown
import nh3
from django.conf import settings
from django.utils.text import slugify
from pygments.token import STANDARD_TYPES

REDIS_BLOCK = re.compile(r"^```redis[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
DIAGRAM_LINE = re.compile(r"^\[\[diagram:([a-z0-9-]+)\]\][ \t]*$", re.MULTILINE)
ID_PREFIX = "user-content-"
MISCONCEPTION_ID = re.compile(r"misconception-\d+")
TEMPLATE_ID = re.compile(r"""\bid=["']([A-Za-z][\w:.-]*)["']""")
ALLOWED_CLASSES = frozenset(
    {
        "misconception",  # the "Common misconception" callouts
        "heading-anchor",  # the toc extension's permalinks
        "highlight",  # codehilite's block
        "footnote", "footnote-ref", "footnote-backref",  # extra's footnotes
        *(name for name in STANDARD_TYPES.values() if name),  # Pygments' token classes
    }
)  # fmt: skip
TABLE_TAG = re.compile(r"<table(?=[\s>])")

ALLOWED_TAGS = {
    "a", "abbr", "aside", "b", "blockquote", "br", "code", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre", "s", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title"},  # id and class pass _attribute_filter
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


def _toc_entries(tokens: list[dict], safe_id) -> list[dict]:
    return [
        {
            "id": safe_id(token["id"]),
            "name": html.unescape(token["name"]),
            "children": _toc_entries(token.get("children", []), safe_id),
        }
        for token in tokens
    ]


@lru_cache(maxsize=1)
def page_ids() -> frozenset[str]:
    """Every literal id the site's templates put on a page (read once)."""
    found: set[str] = set()
    for folder in settings.TEMPLATES[0]["DIRS"]:
        for path in Path(folder).rglob("*.html"):
            found.update(TEMPLATE_ID.findall(path.read_text(encoding="utf-8")))
    return frozenset(found)


def _walk(tokens: list[dict]):
    for token in tokens:
        yield token["id"]
        yield from _walk(token.get("children", []))


class _Attributes:
    """nh3's attribute_filter for one render: which ids stay as written."""

    def __init__(self, heading_ids: set[str]) -> None:
        self.heading_ids = heading_ids

    def safe_id(self, value: str) -> str:
        own = value in self.heading_ids or MISCONCEPTION_ID.fullmatch(value)
        return value if own and value not in page_ids() else ID_PREFIX + value

    def __call__(self, element: str, attribute: str, value: str) -> str | None:
        if attribute == "id":
            return self.safe_id(value)
        if attribute == "class":
            kept = [name for name in value.split() if name in ALLOWED_CLASSES]
            return " ".join(kept) or None
        if attribute == "href" and value.startswith("#") and len(value) > 1:
            return "#" + self.safe_id(value[1:])
        return value


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
    # Unguessable and new each time: an author cannot write a placeholder.
    nonce = secrets.token_hex(8)
    placeholder = re.compile(rf"<p>CACHELAB{nonce}(EXAMPLE|DIAGRAM)(\d+)</p>")

    def keep_example(match: re.Match) -> str:
        examples.append(match.group(1))
        return f"\nCACHELAB{nonce}EXAMPLE{len(examples) - 1}\n"

    def keep_diagram(match: re.Match) -> str:
        diagrams.append(match.group(1))
        return f"\nCACHELAB{nonce}DIAGRAM{len(diagrams) - 1}\n"

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
    tokens = getattr(md, "toc_tokens", [])
    attributes = _Attributes(set(_walk(tokens)))
    clean = nh3.clean(
        body,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=attributes,
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
        html=placeholder.sub(expand, clean),
        toc=_toc_entries(tokens, attributes.safe_id),
    )
