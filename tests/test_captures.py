"""Each captured upstream stream, replayed through the whole app: sent with the HTTP API to an
app pointed at the fake upstream, and what was saved compared with expected.json."""

import json

import pytest

from hyperchat.chat.generation import TOOL_CALL_ONLY
from hyperchat.store.schema import Status
from hyperchat.web.rendering import estimate_tokens, shorten_model_name
from tests.fake_upstream import STREAMS_DIR, Fixture
from tests.helpers import finished, parse_sse, send, soup

EXPECTED = json.loads((STREAMS_DIR / "expected.json").read_text())
CAPTURES = sorted(EXPECTED)
QUESTION = "What is it?"


def expected_outcome(expected: dict) -> tuple[str, str | None]:
    """The status and error text a capture must end with."""
    if expected["error"]:
        error = expected["error"]
        return Status.ERROR, (f"The model provider reported an error ({error['code']}): "
                              f"{error['message']}")
    if expected["tool_calls"] and not expected["text"]:
        return Status.ERROR, TOOL_CALL_ONLY
    return Status.COMPLETE, None


def test_every_sse_capture_has_an_expectation():
    assert CAPTURES == sorted(p.name for p in STREAMS_DIR.glob("*.sse"))


# chunk_size=1: every byte its own HTTP chunk, so each event, each CRLF and each multi-byte
# character arrives split; None: the whole capture in one chunk.
@pytest.mark.parametrize("chunk_size", [1, None], ids=["byte-by-byte", "whole"])
@pytest.mark.parametrize("name", CAPTURES)
async def test_capture_through_the_app_saves_what_expected_json_says(client, fake_upstream,
                                                                     name, chunk_size):
    expected = EXPECTED[name]
    fake_upstream.enqueue(Fixture(name, chunk_size=chunk_size))
    page = soup(await (await send(client, QUESTION)).get_data(as_text=True))
    reply_id = int(page.select("article.message")[1]["data-message-id"])
    reply = await finished(reply_id)

    status, error = expected_outcome(expected)
    assert (reply.status, reply.error) == (status, error)
    # Only the answer: reasoning and tool-call arguments are never shown as text.
    assert reply.content == expected["text"]
    assert reply.model_id_used == expected["model"]
    if expected["prompt_tokens"] is not None:
        assert (reply.prompt_tokens, reply.completion_tokens) == (
            expected["prompt_tokens"], expected["completion_tokens"])
        assert reply.tokens_estimated is False
    else:
        # No usage in the stream: estimated from the text, and marked as an estimate.
        assert (reply.prompt_tokens, reply.completion_tokens) == (
            estimate_tokens(QUESTION), estimate_tokens(expected["text"]))
        assert reply.tokens_estimated is True

    # What the person sees once the stream ends: the same outcome, rendered.
    events = parse_sse(await (await client.get(f"/messages/{reply_id}/stream")).get_data(
        as_text=True))
    # The frame before "done": a reply saved a moment before its buffer closes can still
    # replay its last batch first.
    final = soup(events[-2]["data"])
    meta = final.select_one(f"#msg-{reply_id}-meta")
    assert meta.select_one("span[title]")["title"] == expected["model"]
    assert meta.get_text(" ", strip=True).startswith(
        f"Model: {shorten_model_name(expected['model'])} · Tokens: ")
    if error:
        assert final.select_one(".message-status.error").get_text(" ", strip=True) == \
            f"{error} Retry"
    else:
        assert final.select_one(".message-status") is None
