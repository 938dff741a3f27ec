"""When the model fails: the person sees why, keeps what arrived, and can retry."""

import pytest
from playwright.sync_api import expect

from tests.fake_upstream import HttpError, InBandError, Tokens

pytestmark = pytest.mark.browser


def test_rate_limit_shows_the_error_and_retry_gets_a_new_reply(chat, fake):
    fake.enqueue(HttpError(429, {"error": {"code": 429, "message": "Rate limit exceeded"}},
                           {"Retry-After": "60"}))
    failed = chat.wait_status(chat.send("Hello?"), "error")
    error = failed.locator(".message-status.error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Rate limit exceeded")
    expect(error).to_have_attribute("role", "alert")
    retry = failed.locator(".retry-btn")
    expect(retry).to_be_visible()

    fake.enqueue(Tokens(["Second", " time", " lucky"], interval=0.02))
    retry.click()
    # The new reply is the turn's next version, in the failed one's place.
    retried = chat.wait_status(chat.replies.last, "complete")
    expect(retried.locator(".message-content")).to_have_text("Second time lucky")
    expect(chat.replies).to_have_count(1)
    expect(retried.locator(".version-count")).to_have_text("2/2")
    # The retry asked the model the same question again.
    assert fake.requests[-1]["json"]["messages"] == [{"role": "user", "content": "Hello?"}]
    # The failed reply stays as it was, as version 1.
    retried.locator(".version-prev").click()
    expect(chat.replies.last.locator(".message-status.error")).to_contain_text(
        "Rate limit exceeded")
    expect(chat.replies.last.locator(".version-count")).to_have_text("1/2")


def test_error_mid_stream_keeps_the_partial_text(chat, fake):
    fake.enqueue(InBandError(["Partial ", "answer"], message="Provider disconnected unexpectedly"))
    reply = chat.wait_status(chat.send("Go"), "error")
    expect(reply.locator(".message-content")).to_have_text("Partial answer")
    error = reply.locator(".message-status.error")
    expect(error).to_contain_text("Provider disconnected unexpectedly")
    expect(reply.locator(".retry-btn")).to_be_visible()
    expect(reply.locator(".copy-btn")).to_be_visible()
