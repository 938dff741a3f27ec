"""A program's page follows a conversation with a real EventSource listening by event name
(GET /api/conversations/<id>/events) while the message actions happen, from the API and
from the page's own edit form (its Save without a rerun). One page load."""

import re

import pytest
from playwright.sync_api import expect

from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser

NAMES = ["message_regenerating", "regeneration_progress", "message_regenerated",
         "message_edited", "message_deleted", "feedback_submitted"]

LISTEN_JS = """([url, names]) => new Promise((resolve, reject) => {
  window.__events = [];
  const source = new EventSource(url);
  for (const name of names) {
    source.addEventListener(name, event => {
      window.__events.push({name, data: JSON.parse(event.data), id: event.lastEventId});
    });
  }
  source.onopen = () => resolve();
  source.onerror = () => reject(new Error("the event stream failed"));
})"""

# The page's session and CSRF token, as a script on the page would call the API.
CALL_JS = """async ([method, url, body]) => {
  const headers = JSON.parse(document.body.getAttribute("hx-headers:inherited"));
  const response = await fetch(url, {method, body: body && JSON.stringify(body), headers: {
    "Content-Type": "application/json", "X-CSRF-Token": headers["X-CSRF-Token"]}});
  return {status: response.status, body: await response.json()};
}"""


def events(page, name):
    return [e["data"] for e in page.evaluate("window.__events") if e["name"] == name]


def wait_for(page, name, count=1):
    page.wait_for_function("([name, count]) => window.__events.filter(e => e.name === name)"
                           ".length >= count", arg=[name, count])
    return events(page, name)


def test_named_json_events_reach_an_event_source(page, chat, fake):
    fake.enqueue(Tokens(["first answer"]))
    first = chat.wait_status(chat.send("first question"), "complete")
    cid = int(re.search(r"/c/(\d+)", page.url).group(1))
    reply_id = int(first.get_attribute("data-message-id"))
    page.evaluate(LISTEN_JS, [f"/api/conversations/{cid}/events", NAMES])

    # A regeneration long enough for progress events (one every half second).
    fake.enqueue(Tokens(["tick "] * 30, interval=0.05))
    answer = page.evaluate(CALL_JS, ["POST", f"/api/messages/{reply_id}/regenerate",
                                     {"temperature": 0.5}])
    assert answer["status"] == 200 and answer["body"]["success"] is True
    task_id = answer["body"]["data"]["task_id"]
    [done] = wait_for(page, "message_regenerated")
    assert done["messageId"] == task_id and done["taskId"] == task_id
    assert done["content"] == "tick " * 30 and done["status"] == "completed"
    assert done["conversationId"] == cid
    [started] = events(page, "message_regenerating")
    assert started == {"conversationId": cid, "messageId": task_id, "taskId": task_id,
                       "regenerates": reply_id, "status": "pending"}
    progress = events(page, "regeneration_progress")
    assert progress and all(p["messageId"] == task_id for p in progress)
    assert all(0 < p["progress"] < 100 and p["chars"] > 0 for p in progress)

    answer = page.evaluate(CALL_JS, ["POST", f"/api/messages/{task_id}/feedback",
                                     {"feedback_type": "downvote", "reason": "Too chatty"}])
    assert answer["status"] == 200
    [feedback] = wait_for(page, "feedback_submitted")
    assert (feedback["messageId"], feedback["feedbackType"], feedback["reason"]) == \
        (task_id, "downvote", "Too chatty")

    # The page's edit form: Save keeps the edit without asking for a new reply.
    requests = len(fake.requests)
    chat.input.press("ArrowUp")
    editor = chat.thread.locator(".edit-form textarea")
    expect(editor).to_be_focused()
    editor.fill("first question, edited")
    chat.thread.locator(".edit-form .save-only-btn").click()
    expect(chat.thread.locator("article.message.user .message-content")).to_have_text(
        "first question, edited")
    expect(chat.replies).to_have_count(0)
    [edited] = wait_for(page, "message_edited")
    assert edited["content"] == "first question, edited" and edited["taskId"] is None
    assert len(fake.requests) == requests

    answer = page.evaluate(CALL_JS, ["DELETE", f"/api/messages/{edited['newMessageId']}",
                                     None])
    assert answer["status"] == 200 and answer["body"]["operation"] == "delete"
    [deleted] = wait_for(page, "message_deleted")
    assert deleted["messageId"] == edited["newMessageId"]
    names = [e["name"] for e in page.evaluate("window.__events")]
    assert names.index("message_regenerating") < names.index("message_regenerated") \
        < names.index("feedback_submitted") < names.index("message_edited") \
        < names.index("message_deleted")
