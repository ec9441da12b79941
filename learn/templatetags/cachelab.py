import re
from functools import lru_cache

from django import template
from django.utils.safestring import SafeString, mark_safe

from learn.markdown import render_markdown

register = template.Library()


# Rendering Markdown costs a millisecond or more; a quiz page shows the same few
# hundred prompts, choices and explanations to everyone, so remember them.
@lru_cache(maxsize=4096)
def _html(text: str) -> str:
    return render_markdown(text).html


@register.filter
def markdown(text: str) -> SafeString:
    """Sanitised Markdown (prompts, explanations written in the admin)."""
    return mark_safe(_html(text or ""))  # sanitised by nh3


@register.filter
def inline_markdown(text: str) -> SafeString:
    """Markdown for one line (a choice): no wrapping paragraph."""
    html = _html(text or "").strip()
    return mark_safe(re.sub(r"^<p>(.*)</p>$", r"\1", html, flags=re.DOTALL))
