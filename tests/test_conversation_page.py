"""The full conversation page: a fixed number of queries however long the conversation or
the list, the stats footer, and the export links it offers."""

import io
import json
import zipfile
from datetime import UTC, datetime

from hyperchat.store.schema import Conversation, Message, Role, Status
from tests.helpers import count_queries, owner_of, soup


async def conversation_with(owner: str, n: int, **fields) -> Conversation:
    fields.setdefault("title", f"{n} messages")
    conversation = await Conversation.create(owner=owner, **fields)
    now = datetime.now(UTC)
    await Message.bulk_create([
        Message(conversation=conversation, role=Role.USER if i % 2 == 0 else Role.ASSISTANT,
                content=f"message **{i}**", status=Status.COMPLETE, finished_at=now,
                model_id_used=None if i % 2 == 0 else "openai/gpt-4o-mini",
                prompt_tokens=None if i % 2 == 0 else 10, completion_tokens=None if i % 2 == 0
                else 5)
        for i in range(n)])
    return conversation


async def test_page_makes_a_fixed_number_of_queries(client, monkeypatch):
    """No query per message or per conversation: 120 messages and 30 chats in the sidebar
    cost what 4 messages and 1 chat cost."""
    owner = await owner_of(client)
    small = await conversation_with(owner, 4)
    executed = count_queries(monkeypatch)
    response = await client.get(f"/c/{small.id}")
    assert response.status_code == 200
    few = len(executed)

    big = await conversation_with(owner, 120)
    for i in range(29):
        await conversation_with(owner, 2, title=f"other {i}")
    executed.clear()
    response = await client.get(f"/c/{big.id}")
    page = soup(await response.get_data(as_text=True))
    assert len(page.select(".message[data-message-id]")) >= 50
    assert len(page.select(".conversation-item")) == 30
    assert len(executed) == few <= 15


async def test_stats_footer_counts_every_state(client):
    owner = await owner_of(client)
    await conversation_with(owner, 3)
    await conversation_with(owner, 2, archived=True)
    await conversation_with(owner, 1, deleted_at=datetime.now(UTC))
    await conversation_with("someone-else", 7)
    page = soup(await (await client.get("/")).get_data(as_text=True))
    stats = {dd["data-stat"]: dd.get_text(strip=True)
             for dd in page.select("#sidebar-stats dd[data-stat]")}
    # 6 messages, of which 2 replies with 10 + 5 tokens each.
    assert stats == {"total": "3", "active": "1", "archived": "1", "trash": "1",
                     "messages": "6", "tokens": "30"}


async def test_export_links_on_the_page_download_the_conversation(client):
    owner = await owner_of(client)
    conversation = await conversation_with(owner, 2)
    page = soup(await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True))
    links = {a["href"] for a in page.select("#conversation-actions a.export-link")}
    assert links == {f"/c/{conversation.id}/export.md", f"/c/{conversation.id}/export.json"}

    markdown = await client.get(f"/c/{conversation.id}/export.md")
    assert "message **0**" in await markdown.get_data(as_text=True)
    exported = json.loads(await (await client.get(f"/c/{conversation.id}/export.json"))
                          .get_data(as_text=True))
    assert [m["content"] for m in exported["messages"]] == ["message **0**", "message **1**"]

    everything = page.select_one("#sidebar-stats a.export-all-link")["href"]
    archive = await client.get(everything)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(await archive.get_data())) as zipped:
        assert len(zipped.namelist()) == 1


async def test_a_tab_opened_without_htmx_is_the_whole_page_on_that_view(client):
    owner = await owner_of(client)
    await conversation_with(owner, 1, title="kept")
    await conversation_with(owner, 1, title="put away", archived=True)
    response = await client.get("/conversations?view=archived")
    assert response.status_code == 200
    page = soup(await response.get_data(as_text=True))
    assert page.select_one("html") and page.select_one("#composer-input")
    assert page.select_one("#view-tabs .tab.current")["data-view"] == "archived"
    titles = [a.get_text(strip=True) for a in page.select(".conversation-item .item-title")]
    assert titles == ["put away"]
