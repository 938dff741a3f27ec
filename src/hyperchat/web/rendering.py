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


# A finished message's text never changes, and parsing, highlighting and sanitizing cost about
# a millisecond per reply: a page of 50 replies would spend most of its time here on every
# load. Keyed on the text itself, so an edit is simply a new entry; bounded, so memory is too.
@lru_cache(maxsize=2048)
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


# Bedrock-style dotted provider prefixes, one or more: "anthropic.", "us.anthropic.". The
# lookahead wants a letter after the dot, so a version such as "llama3.2" is left alone.
_DOTTED_PREFIX = re.compile(r"^(?:[a-z][a-z0-9-]*\.)+(?=[a-z])", re.IGNORECASE)
# Each is a whole suffix; longer date forms come before shorter ones, so "-08-2024" goes as one
# piece instead of "-2024" alone leaving "-08" behind.
_SUFFIXES = [
    re.compile(r"-v\d+:\d+$"),                     # Bedrock's API version "-v1:0"
    re.compile(r":[\w.-]+$"),                      # OpenRouter variants: ":free", ":beta"
    re.compile(r"[-@](?:19|20)\d{2}-?\d{2}-?\d{2}$"),  # -20241022, -2024-07-18, @20240620
    re.compile(r"-\d{2}-(?:19|20)\d{2}$"),         # Cohere's -08-2024
    re.compile(r"(?<!-\d\d)-\d{4}$"),              # OpenAI's -0613, Mistral's -2407
    re.compile(r"-\d{3}$"),                        # Gemini's -001
    re.compile(r"-latest$"),
]


def shorten_model_name(model_id: str | None) -> str | None:
    """`anthropic/claude-3.5-sonnet-20241022` -> `claude-3.5-sonnet`: drop the provider prefix
    (`provider/` or Bedrock's `provider.`) and date/version suffixes; the full id stays
    available to show on hover."""
    if not model_id:
        return None
    name = model_id.rsplit("/", 1)[-1]
    name = _DOTTED_PREFIX.sub("", name) or name
    changed = True
    while changed:
        changed = False
        for pattern in _SUFFIXES:
            shorter = pattern.sub("", name)
            if shorter != name and shorter:
                name, changed = shorter, True
    return name


def format_wait(seconds: int) -> str:
    """A wait for people: `45 s`, `2 min`, `1 min 30 s`, `1 h 5 min` (seconds dropped past
    an hour, minutes rounded up so the person never retries too early)."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(seconds, 3600)
    minutes = -(-rest // 60)
    if minutes == 60:
        hours, minutes = hours + 1, 0
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def estimate_tokens(text: str) -> int:
    """The usual ~4 characters per token, for replies whose upstream sent no usage."""
    return max(1, round(len(text) / 4)) if text else 0
