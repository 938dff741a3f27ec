"""Everything that reads a conversation reads the branch shown, without deleted messages:
share page, exports, the sessions API, search, the sidebar's preview; an import is one
branch."""

from hyperchat.store.schema import Conversation, Message
from tests.fake_upstream import Tokens
from tests.helpers import CsrfClient, act, act_until_done, exchange, soup

HX = {"HX-Request": "true"}


async def branched(client, fake_upstream):
    """q1 -> a1 (deleted) ; q2 edited to 'zebra edited' -> b; old 'zebra old' -> a2 hidden."""
    q1, a1 = await exchange(client, fake_upstream, "q1", "a1 pelican")
    cid = (await Message.get(id=q1)).conversation_id
    q2, a2 = await exchange(client, fake_upstream, "zebra old", "a2", cid)
    fake_upstream.enqueue(Tokens(["b"]))
    user, reply = await act_until_done(client, q2, "edit", content="zebra edited")
    await act(client, a1, "delete")
    return cid


async def test_share_page_shows_only_the_branch(client, fake_upstream):
    cid = await branched(client, fake_upstream)
    await CsrfClient(client).post(f"/c/{cid}/share")
    conversation = await Conversation.get(id=cid)
    page = soup(await (await client.get(f"/share/{conversation.share_id}")).get_data(
        as_text=True))
    texts = [a.select_one(".message-content").get_text().strip()
             for a in page.select("article.message")]
    assert texts == ["q1", "zebra edited", "b"]
    assert page.select(".message-tools") == [] and page.select(".message-feedback") == []


async def test_exports_and_the_api_read_the_branch(client, fake_upstream):
    cid = await branched(client, fake_upstream)
    document = await (await client.get(f"/c/{cid}/export.json")).get_json()
    assert [m["content"] for m in document["messages"]] == ["q1", "zebra edited", "b"]
    markdown = await (await client.get(f"/c/{cid}/export.md")).get_data(as_text=True)
    assert "zebra old" not in markdown and "pelican" not in markdown
    session = await (await client.get(f"/api/chat/sessions/{cid}/")).get_json()
    assert [m["content"] for m in session["messages"]] == ["q1", "zebra edited", "b"]


async def test_search_finds_neither_hidden_versions_nor_deleted_messages(client,
                                                                         fake_upstream):
    await branched(client, fake_upstream)
    edited = await Message.get(content="zebra edited")
    for word, hits in (("zebra", [str(edited.id)]), ("pelican", [])):
        page = soup(await (await client.get(f"/search?q={word}", headers=HX)).get_data(
            as_text=True))
        assert [a["data-message-id"] for a in page.select(".search-hit a")] == hits


async def test_an_import_is_one_branch(client, fake_upstream):
    cid = await branched(client, fake_upstream)
    document = await (await client.get(f"/c/{cid}/export.json")).get_json()
    response = await CsrfClient(client).post("/api/chat/sessions/import/", json=document)
    assert response.status_code == 201
    new = await Conversation.filter(id__not=cid).get()
    rows = await Message.filter(conversation_id=new.id).order_by("id")
    assert [m.parent_id for m in rows] == [None, rows[0].id, rows[1].id]
    # A reply regenerated in the import follows the imported branch.
    fake_upstream.enqueue(Tokens(["again"]))
    (v2,) = await act_until_done(client, rows[2].id, "regenerate")
    assert [(m["role"], m["content"]) for m in fake_upstream.requests[-1]["json"]["messages"]] \
        == [("user", "q1"), ("user", "zebra edited")]
