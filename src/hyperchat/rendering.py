"""Text to HTML on the server: markdown for replies, model names for people, token estimates."""

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=True)  # classes, not inline styles: the CSP forbids those

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "span",
    "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "img",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "span": {"class"},
    "ol": {"start"},
}


def _highlight(code: str, lang: str, _attrs) -> str:
    try:
        lexer = get_lexer_by_name(lang) if lang else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes the code itself
    return highlight(code, lexer, _FORMATTER)


# Raw HTML in model output is escaped (html=False), and the result is sanitized anyway:
# a model reply is untrusted input.
_md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight}).enable(
    ["table", "strikethrough"]
)


def render_markdown(text: str) -> str:
    """Return sanitized HTML for a model's markdown reply."""
    return nh3.clean(
        _md.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


@lru_cache(maxsize=1)
def pygments_css() -> str:
    return _FORMATTER.get_style_defs(".markdown pre code")


_SUFFIXES = [
    re.compile(r":[\w.-]+$"),                      # OpenRouter variants: ":free", ":beta"
    re.compile(r"-v\d+(:\d+)?$"),                  # Bedrock-style "-v1:0"
    re.compile(r"[-@]\d{4}-?\d{2}-?\d{2}$"),       # dates: -20241022, -2024-07-18, @20240620
    re.compile(r"-\d{4}$"),                        # OpenAI's -0613 snapshots
    re.compile(r"-\d{3}$"),                        # Gemini's -001
    re.compile(r"-latest$"),
]


def shorten_model_name(model_id: str | None) -> str | None:
    """`anthropic/claude-3.5-sonnet-20241022` -> `claude-3.5-sonnet`: drop the provider prefix
    and date/version suffixes; the full id stays available to show on hover."""
    if not model_id:
        return None
    name = model_id.rsplit("/", 1)[-1]
    changed = True
    while changed:
        changed = False
        for pattern in _SUFFIXES:
            shorter = pattern.sub("", name)
            if shorter != name and shorter:
                name, changed = shorter, True
    return name


def estimate_tokens(text: str) -> int:
    """The usual ~4 characters per token, for replies whose upstream sent no usage."""
    return max(1, round(len(text) / 4)) if text else 0
