"""Server-side rendering helpers: model names, markdown sanitization, token estimates, and the
metadata block under a reply."""

from types import SimpleNamespace

import pytest
from quart import render_template

from hyperchat import create_app
from hyperchat.store.schema import Message
from hyperchat.web.rendering import (
    estimate_tokens,
    format_wait,
    render_markdown,
    shorten_model_name,
)
from tests.fake_upstream import Tokens
from tests.helpers import finished, send, soup


@pytest.mark.parametrize(("model_id", "short"), [
    ("anthropic/claude-3.5-sonnet-20241022", "claude-3.5-sonnet"),
    ("openai/gpt-4o-mini", "gpt-4o-mini"),
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("gpt-3.5-turbo-0613", "gpt-3.5-turbo"),
    ("meta-llama/llama-3.1-8b-instruct:free", "llama-3.1-8b-instruct"),
    ("google/gemini-1.5-pro-001", "gemini-1.5-pro"),
    ("anthropic/claude-4.6-opus-20260205", "claude-4.6-opus"),
    ("claude-3-5-sonnet@20240620", "claude-3-5-sonnet"),
    ("deepseek/deepseek-chat-v3.1", "deepseek-chat-v3.1"),
    ("mistralai/mistral-large-latest", "mistral-large"),
    ("llama3.2", "llama3.2"),
    # Bedrock ids: a dotted provider prefix (cross-region profiles have two) and "-v1:0".
    ("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"),
    ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"),
    ("mistral.mistral-7b-instruct-v0:2", "mistral-7b-instruct"),
    ("amazon.titan-text-express-v1", "titan-text-express-v1"),
    # Whole date forms go as one piece; none leaves half a date behind.
    ("cohere/command-r-08-2024", "command-r"),
    ("cohere/command-r-plus-08-2024", "command-r-plus"),
    ("openai/gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4-0613", "gpt-4"),
    ("mistralai/mistral-large-2407", "mistral-large"),
    ("gemini-exp-2024-12", "gemini-exp-2024-12"),
    # A version that names the model stays.
    ("deepseek/deepseek-v3", "deepseek-v3"),
    ("qwen/qwen2.5-72b-instruct", "qwen2.5-72b-instruct"),
    ("", None),
    (None, None),
])
def test_shorten_model_name(model_id, short):
    assert shorten_model_name(model_id) == short


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "![x](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=//evil></iframe>",
    "<svg onload=alert(1)>",
    '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
])
def test_markdown_never_yields_executable_html(hostile):
    html = soup(render_markdown(f"before {hostile} after"))
    assert html.select("script, iframe, svg, object, embed") == []
    for tag in html.find_all(True):
        assert not any(name.startswith("on") for name in tag.attrs)
        for attr in ("href", "src"):
            assert not tag.get(attr, "").lower().startswith(("javascript:", "data:"))


def test_markdown_renders_code_with_highlighting_classes():
    html = soup(render_markdown("```python\nprint('hi')\n```"))
    code = html.select_one("pre code.language-python")
    assert code is not None and code.select("span[class]")
    assert code.get_text() == "print('hi')\n"


def test_markdown_keeps_tables_and_links():
    html = soup(render_markdown("| a |\n|---|\n| b |\n\n[site](https://example.com)"))
    assert html.select_one("table td").get_text() == "b"
    link = html.select_one("a")
    assert link["href"] == "https://example.com" and "noopener" in link["rel"]


@pytest.mark.parametrize(("text", "tokens"), [("", 0), ("abc", 1), ("a" * 40, 10), ("a" * 42, 10)])
def test_estimate_tokens_is_about_four_characters_each(text, tokens):
    assert estimate_tokens(text) == tokens


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (1, "1 s"), (30, "30 s"), (59, "59 s"), (60, "1 min"), (90, "1 min 30 s"),
    (120, "2 min"), (3599, "59 min 59 s"), (3600, "1 h"), (3601, "1 h 1 min"),
    (5400, "1 h 30 min"), (7199, "2 h"),
])
def test_format_wait_reads_naturally_and_never_rounds_down_past_an_hour(seconds, text):
    assert format_wait(seconds) == text


def reply(**fields) -> SimpleNamespace:
    """A finished reply with no model and no tokens, unless given."""
    defaults = {"id": 7, "status": "complete", "model_id_used": None, "prompt_tokens": None,
                "completion_tokens": None, "tokens_estimated": False}
    return SimpleNamespace(**{**defaults, **fields})


async def render_metadata(message, tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite://{tmp_path}/unused.sqlite3",
                      "SECRET_KEY": "test-secret"})
    async with app.app_context():
        block = soup(await render_template("messages/_metadata.html", message=message))
    (meta,) = block.select("div.message-metadata")
    return meta


MODEL = "anthropic/claude-3.5-sonnet-20241022"


@pytest.mark.parametrize(("fields", "shown"), [
    ({"model_id_used": MODEL, "prompt_tokens": 11, "completion_tokens": 2},
     "Model: claude-3.5-sonnet · Tokens: 11 prompt + 2 completion"),
    ({"model_id_used": MODEL}, "Model: claude-3.5-sonnet"),
    ({"prompt_tokens": 11, "completion_tokens": 2}, "Tokens: 11 prompt + 2 completion"),
    ({"model_id_used": MODEL, "prompt_tokens": 11}, "Model: claude-3.5-sonnet · Tokens: 11 prompt"),
    ({"model_id_used": MODEL, "completion_tokens": 2},
     "Model: claude-3.5-sonnet · Tokens: 2 completion"),
    ({"prompt_tokens": 11}, "Tokens: 11 prompt"),
    ({"completion_tokens": 0}, "Tokens: 0 completion"),
    ({}, ""),
    ({"model_id_used": MODEL, "prompt_tokens": 20, "completion_tokens": 10,
      "tokens_estimated": True}, "Model: claude-3.5-sonnet · Tokens: ≈20 prompt + ≈10 completion"),
    ({"completion_tokens": 10, "tokens_estimated": True}, "Tokens: ≈10 completion"),
    # While streaming the block is an empty placeholder that only reserves its height.
    ({"status": "streaming", "model_id_used": MODEL, "prompt_tokens": 11}, ""),
])
async def test_metadata_block_shows_only_what_is_known(tmp_path, fields, shown):
    meta = await render_metadata(reply(**fields), tmp_path)
    assert meta["id"] == "msg-7-meta"
    assert " ".join(meta.get_text().split()) == shown
    model = meta.select_one(".meta-model span[title]")
    if "Model:" in shown:
        assert model["title"] == MODEL  # the full id, on hover
    else:
        assert model is None
    tokens = meta.select_one(".meta-tokens")
    assert (tokens is not None) == ("Tokens:" in shown)
    if tokens is not None:
        estimated = "≈" in shown
        assert (tokens.get("title") == "Estimated: the provider reported no usage") == estimated


# ------------------------------------------------------------------ markdown off the event loop


async def test_long_markdown_renders_in_a_pool_process_like_on_the_loop():
    from hyperchat.web.rendering import Renderer

    renderer = Renderer(workers=1, timeout=5)
    text = "# Title\n\n" + "Some *emphasis* and `code`. " * 40 + "\n\n```python\nx = 1\n```"
    try:
        assert await renderer.render(text) == render_markdown(text)
        assert renderer._pool is not None  # it went to the pool, not the loop
        # A short text stays on the loop: no trip to another process for a few milliseconds.
        assert await renderer.render("**hi**") == "<p><strong>hi</strong></p>\n"
    finally:
        await renderer.aclose()


async def test_markdown_too_slow_to_render_is_shown_escaped_and_cached():
    from hyperchat.web.rendering import Renderer

    renderer = Renderer(workers=1, timeout=0.1)
    hostile = "<b>x</b>" + "![" * 20_000  # about 0.4 s to render
    try:
        html = await renderer.render(hostile)
        page = soup(html)
        assert page.select_one("pre.unrendered").get_text() == hostile
        assert page.find("b") is None
        assert renderer.cache.get(hostile) == html  # not tried again on the next page
        # The process was interrupted, not left busy: the next text renders at once.
        assert await renderer.render("fine " * 100) == render_markdown("fine " * 100)
    finally:
        await renderer.aclose()


def test_the_render_cache_is_bounded_by_characters():
    from hyperchat.web.rendering import _SizedCache

    cache = _SizedCache(max_chars=100)
    cache.put("a" * 30, "b" * 10)
    cache.put("c" * 30, "d" * 10)
    cache.get("a" * 30)  # used: the other goes first
    cache.put("e" * 30, "f" * 10)
    assert cache.get("c" * 30) is None and cache.get("a" * 30) == "b" * 10
    assert cache.chars <= 100
    cache.put("g" * 200, "h")  # larger than the whole cache: not kept
    assert cache.get("g" * 200) is None


async def test_a_killed_render_process_shows_the_text_unrendered_once_then_recovers(caplog):
    import os
    import signal

    from hyperchat.web.rendering import Renderer

    renderer = Renderer(workers=1, timeout=5)
    text = "some *markdown* " * 40
    try:
        assert await renderer.render("first " + text) == render_markdown("first " + text)
        for process in list(renderer._pool._processes.values()):
            os.kill(process.pid, signal.SIGKILL)
        html = await renderer.render(text)
        assert soup(html).select_one("pre.unrendered").get_text() == text
        assert "a render process died" in caplog.text
        # Not kept: the next page renders it, in a new process.
        assert await renderer.render(text) == render_markdown(text)
    finally:
        await renderer.aclose()


@pytest.mark.parametrize("image", [
    "![x](/export/all.zip)",
    "![x](export/all.zip)",
    "![x](//localhost/export/all.zip)",
    "![x](http://localhost/export/all.zip)",
    "![x](https://example.com/pixel.png)",
    '![x](/c/1/share "title")',
    "[![x](/export/all.zip)](https://example.com)",
])
def test_markdown_images_load_nothing_they_are_links(image):
    """An <img> would be fetched by every viewer's browser with their own cookies; the CSP
    lets only this site's URLs load, so an image is a link followed only on a click."""
    html = soup(render_markdown(f"see {image} here"))
    assert html.select("img") == []
    link = html.select_one("a")
    assert link.get_text() == "x" and "nofollow" in link["rel"]


def test_an_image_without_alt_text_is_labelled_with_its_url():
    link = soup(render_markdown("![](/export/all.zip)")).select_one("a")
    assert (link["href"], link.get_text()) == ("/export/all.zip", "/export/all.zip")


async def test_a_reply_with_a_same_origin_image_renders_no_img_on_the_page(client,
                                                                         fake_upstream):
    fake_upstream.enqueue(Tokens(["![export](/export/all.zip)"]))
    page = soup(await (await send(client, "hi")).get_data(as_text=True))
    reply = int(page.select("article.message")[-1]["data-message-id"])
    await finished(reply)
    conversation_id = (await Message.get(id=reply)).conversation_id
    page = soup(await (await client.get(f"/c/{conversation_id}")).get_data(as_text=True))
    content = page.select_one(f"#msg-{reply}-content")
    assert content.select("img") == []
    assert content.select_one("a")["href"] == "/export/all.zip"
