"""Helpers for the message-action tests: exchanges, actions as a tab would post them, and
the branch a page shows."""

from urllib.parse import urlencode

from tests.fake_upstream import Tokens
from tests.helpers import csrf, finished, send, soup, wait_until  # noqa: F401 (re-exported)


async def exchange(client, fake_upstream, content: str, answer: str,
                   conversation_id: int | None = None, **tokens) -> tuple[int, int]:
    """Send `content`, let the fake answer `answer`; return (user id, reply id) when done."""
    fake_upstream.enqueue(Tokens([answer], **tokens))
    page = soup(await (await send(client, content, conversation_id)).get_data(as_text=True))
    user_id, reply_id = (int(a["data-message-id"]) for a in page.select("article.message"))
    await finished(reply_id)
    return user_id, reply_id


async def act(client, message_id: int, action: str, tab: str = "tab-a", **form):
    """POST an action as htmx does from a tab."""
    token = await csrf(client)
    # A list value is a repeated field (reason chips).
    body = urlencode([(k, item) for k, v in form.items()
                      for item in (v if isinstance(v, list) else [v])])
    return await client.post(f"/messages/{message_id}/{action}", data=body,
                             headers={"X-CSRF-Token": token, "HX-Request": "true",
                                      "X-Tab-Id": tab,
                                      "Content-Type": "application/x-www-form-urlencoded"})


async def shown(client, conversation_id: int) -> list[tuple[str, str]]:
    """The conversation page's messages: (role, text) in order."""
    page = soup(await (await client.get(f"/c/{conversation_id}")).get_data(as_text=True))
    return [(a["class"][1], a.select_one(".message-content").get_text().strip())
            for a in page.select("#thread article.message")]


def sent(fake_upstream) -> list[tuple[str, str]]:
    """The messages of the latest upstream request: (role, content)."""
    return [(m["role"], m["content"]) for m in fake_upstream.requests[-1]["json"]["messages"]]


def new_id(response_html: str) -> list[int]:
    """The message ids a thread change inserts, in order."""
    return [int(a["data-message-id"]) for a in soup(response_html).select("article.message")]
