import re

from django import template
from django.utils.safestring import SafeString, mark_safe

from learn.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    """Sanitised Markdown (prompts, explanations written in the admin)."""
    return mark_safe(render_markdown(text or "").html)  # sanitised by nh3


@register.filter
def inline_markdown(text: str) -> SafeString:
    """Markdown for one line (a choice): no wrapping paragraph."""
    html = render_markdown(text or "").html.strip()
    return mark_safe(re.sub(r"^<p>(.*)</p>$", r"\1", html, flags=re.DOTALL))
