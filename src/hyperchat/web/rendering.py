"""Text to HTML on the server: markdown for replies, model names for people, token estimates.

Markdown costs about 10 microseconds per character, and far more on hostile input (a
reply of `![` repeated): rendered on the event loop, one long reply would hold every other
request and stream. So `Renderer` renders anything but a short text in a pool of processes,
with a time limit per text past which the text is shown unrendered, and caches the result.
"""

import asyncio
import logging
import re
import signal
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from hyperchat.process_pools import new_process_pool

_FORMATTER = HtmlFormatter(nowrap=True)  # classes, not inline styles: the CSP forbids those

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "span",
    "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}
# No <img>: an image loads without a click, with the viewer's cookies, from wherever its URL
# points. The CSP allows images only from this site, so the only ones that could load were
# this site's own URLs (`![x](/export/all.zip)` made every viewer's browser fetch their own
# export), which no reply has a reason to embed. Markdown images become links (below).
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
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


def _image_as_link(renderer, tokens, idx, options, env) -> str:
    """`![alt](url)` as a link labelled with its alt text (or the URL): followed only when
    clicked, like any other link in a reply."""
    token = tokens[idx]
    src = token.attrGet("src") or ""
    label = renderer.renderInlineAsText(token.children or [], options, env) or src
    depth = sum(1 if t.type == "link_open" else -1 if t.type == "link_close" else 0
                for t in tokens[:idx])
    if depth > 0:  # already inside a link (`[![x](/a.png)](/b)`): its label only
        return escapeHtml(label)
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(title)}"' if title else ""
    return f'<a href="{escapeHtml(src)}"{title_attr}>{escapeHtml(label)}</a>'


# Raw HTML in model output is escaped (html=False), and the result is sanitized anyway:
# a model reply is untrusted input.
_md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight}).enable(
    ["table", "strikethrough"]
)
_md.add_render_rule("image", _image_as_link)


def render_markdown(text: str) -> str:
    """Return sanitized HTML for a model's markdown reply (at the caller's cost: see
    Renderer for the way pages render)."""
    return nh3.clean(
        _md.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        # Code and tables scroll sideways inside the bubble: focusable, so a keyboard can too.
        set_tag_attribute_values={"pre": {"tabindex": "0"}, "table": {"tabindex": "0"}},
    )


log = logging.getLogger(__name__)

# Texts this short render on the event loop: a few milliseconds at worst, less than the trip
# to a worker process and back.
INLINE_CHARS = 256


class _TooSlow(Exception):
    pass


class _Failed(Exception):
    """The render process died or failed: the text is shown unrendered this time."""


def _on_alarm(_signum, _frame):
    raise _TooSlow


def render_bounded(text: str, seconds: float) -> str | None:
    """In a pool process: the HTML, or None when rendering takes longer than `seconds`
    (interrupted by a timer signal, so the process is free again)."""
    if not hasattr(signal, "setitimer"):  # Windows: no timer signal, no time limit
        return render_markdown(text)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return render_markdown(text)
    except _TooSlow:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def unrendered(text: str) -> str:
    """What a text too slow to render shows: itself, escaped, as preformatted text. (One
    element, not a template: the markdown filter returns HTML, and this is its fallback.)"""
    return f'<pre class="unrendered">{escape(text)}</pre>'


class _SizedCache:
    """Least recently used entries, bounded by the characters they hold (texts and HTML):
    a count alone would let a few long replies take gigabytes."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.chars = 0
        self._entries: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: str, value: str) -> None:
        size = len(key) + len(value)
        if size > self.max_chars or key in self._entries:
            return
        self._entries[key] = value
        self.chars += size
        while self.chars > self.max_chars:
            old_key, old_value = self._entries.popitem(last=False)
            self.chars -= len(old_key) + len(old_value)


class Renderer:
    """Markdown for pages, off the event loop: RENDER_WORKERS processes (started on first
    need), RENDER_TIMEOUT seconds per text, results cached (RENDER_CACHE_CHARS). A finished
    message's text never changes, so the cache is keyed on the text itself: an edit is simply
    a new entry."""

    def __init__(self, workers: int = 1, timeout: float = 2.0,
                 cache_chars: int = 16_000_000) -> None:
        self.workers = workers
        self.timeout = timeout
        self.cache = _SizedCache(cache_chars)
        self._pool: ProcessPoolExecutor | None = None
        self._starting = asyncio.Lock()

    def forget(self) -> None:
        """Empty the cache (benchmarks time cold pages)."""
        self.cache = _SizedCache(self.cache.max_chars)

    async def render(self, text: str) -> str:
        html = self.cache.get(text)
        if html is not None:
            return html
        if len(text) <= INLINE_CHARS:
            html = render_markdown(text)
        else:
            try:
                html = await self._off_loop(text)
            except _Failed:
                return unrendered(text)  # not cached: the next page tries again
            if html is None:
                log.warning("markdown of %d characters took over %g s: shown unrendered",
                            len(text), self.timeout)
                html = unrendered(text)
        self.cache.put(text, html)
        return html

    async def _off_loop(self, text: str) -> str | None:
        pool = await self._started()
        try:
            # Submitted from a thread: the pool may start a process then, which is not the
            # event loop's work.
            future = await asyncio.to_thread(pool.submit, render_bounded, text, self.timeout)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            # A process died (killed, out of memory): start afresh on the next text.
            log.exception("markdown: a render process died")
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise _Failed from None
        except Exception:
            log.exception("markdown: rendering failed in its process")
            raise _Failed from None

    async def _started(self) -> ProcessPoolExecutor:
        async with self._starting:
            if self._pool is None:
                self._pool = await asyncio.to_thread(self._new_pool)
            return self._pool

    def _new_pool(self) -> ProcessPoolExecutor:
        return new_process_pool(self.workers, __name__)

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


CODE = ".markdown pre code"
# Two highlighting themes, one per colour scheme: pale-on-white text is unreadable on a dark page.
LIGHT_STYLE, DARK_STYLE = "default", "github-dark"
_RULE = re.compile(r"^\.markdown pre code \.([\w-]+) \{ (.*?) \}")


def _token_styles(style: str) -> dict[str, dict[str, str]]:
    """Token class -> its declarations, only for the token classes: the code box's background
    and spacing come from the stylesheet's tokens, so both schemes draw the same box."""
    found = {}
    for line in HtmlFormatter(nowrap=True, style=style).get_style_defs(CODE).splitlines():
        if match := _RULE.match(line):
            found[match[1]] = dict(part.strip().split(": ", 1)
                                   for part in match[2].split(";") if ": " in part)
    return found


@lru_cache(maxsize=1)
def pygments_css() -> str:
    """One rule per token class, its colour a light-dark() pair: the page's colour-scheme
    (the system's, or the one chosen in data-theme) picks the theme, with no second copy of
    the rules. Other properties (bold, italic) are the light theme's."""
    light, dark = _token_styles(LIGHT_STYLE), _token_styles(DARK_STYLE)
    rules = []
    for name in sorted(light.keys() | dark.keys()):
        declarations = dict(light.get(name, {}))
        light_color = light.get(name, {}).get("color", "currentColor")
        dark_color = dark.get(name, {}).get("color", "currentColor")
        if light_color != "currentColor" or dark_color != "currentColor":
            declarations["color"] = f"light-dark({light_color}, {dark_color})"
        if any("background-color" in theme.get(name, {}) for theme in (light, dark)):
            declarations["background-color"] = "light-dark({}, {})".format(
                light.get(name, {}).get("background-color", "transparent"),
                dark.get(name, {}).get("background-color", "transparent"))
        if declarations:
            body = "; ".join(f"{k}: {v}" for k, v in declarations.items())
            rules.append(f"{CODE} .{name} {{ {body} }}")
    return "\n".join(rules)


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
