"""Sharing: private by default, a snapshot of finished messages, revocable."""

from hyperchat.store.schema import Conversation
from tests.fake_upstream import Tokens
from tests.helpers import CsrfClient, exchange, send, soup


async def finished_conversation(client, fake_upstream, text="Secret reply") -> Conversation:
    await exchange(client, fake_upstream, "Secret question", text)
    return await Conversation.get()


async def share(client, conversation, delete=False):
    path = f"/c/{conversation.id}/share" + ("/delete" if delete else "")
    return await CsrfClient(client).post(path, headers={"Accept": "application/json"})


async def test_conversation_is_private_until_shared(app, client, fake_upstream):
    conversation = await finished_conversation(client, fake_upstream)
    assert (await app.test_client().get(f"/share/{conversation.share_id}")).status_code == 404


async def test_share_publishes_a_read_only_page(app, client, fake_upstream):
    conversation = await finished_conversation(client, fake_upstream)
    response = await share(client, conversation)
    body = await response.get_json()
    assert body["ok"] and body["share_id"] == conversation.share_id
    assert body["url"] == f"http://localhost/share/{conversation.share_id}"
    visitor = app.test_client()
    response = await visitor.get(f"/share/{conversation.share_id}")
    assert response.status_code == 200
    page = soup(await response.get_data(as_text=True))
    texts = [a.select_one(".message-content").get_text(strip=True) for a in page.select("article")]
    assert texts == ["Secret question", "Secret reply"]
    # Read-only: no composer, no votes, no share or stop; copy is allowed.
    assert page.select("form, textarea, .upvote-btn, .downvote-btn, .share-btn, .stop-btn,"
                       " .retry-btn") == []
    assert len(page.select(".copy-btn")) == 2
    assert page.select_one('meta[name="robots"]')["content"].startswith("noindex")
    assert response.headers["X-Robots-Tag"].startswith("noindex")


async def test_share_page_meta_tags_reveal_no_message_content(app, client, fake_upstream):
    conversation = await finished_conversation(client, fake_upstream)
    await share(client, conversation)
    page = soup(await (await app.test_client().get(f"/share/{conversation.share_id}")).get_data(
        as_text=True))
    head = " ".join([page.title.get_text()] + [m.get("content", "") for m in page.select("meta")])
    assert "Secret" not in head
    assert page.select_one('meta[property="og:title"]')["content"]


async def test_share_shows_only_messages_finished_when_shared(app, client, fake_upstream):
    conversation = await finished_conversation(client, fake_upstream)
    await share(client, conversation)
    await exchange(client, fake_upstream, "Later question", "Later reply", conversation.id)
    page = soup(await (await app.test_client().get(f"/share/{conversation.share_id}")).get_data(
        as_text=True))
    assert "Later" not in page.get_text()
    await share(client, conversation)  # pressing Share again updates the snapshot
    page = soup(await (await app.test_client().get(f"/share/{conversation.share_id}")).get_data(
        as_text=True))
    assert "Later reply" in page.get_text()


async def test_share_never_shows_a_reply_still_streaming(app, client, fake_upstream):
    fake_upstream.enqueue(Tokens(["slow"] * 100, interval=0.05))
    await send(client, "question")
    conversation = await Conversation.get()
    await share(client, conversation)
    page = soup(await (await app.test_client().get(f"/share/{conversation.share_id}")).get_data(
        as_text=True))
    assert [a["class"][1] for a in page.select("article")] == ["user"]


async def test_stop_sharing_404s_the_link_and_resharing_issues_a_new_id(app, client,
                                                                         fake_upstream):
    conversation = await finished_conversation(client, fake_upstream)
    await share(client, conversation)
    old_id = conversation.share_id
    body = await (await share(client, conversation, delete=True)).get_json()
    assert body["shared"] is False and body["share_id"] != old_id
    assert (await app.test_client().get(f"/share/{old_id}")).status_code == 404
    body = await (await share(client, conversation)).get_json()
    assert body["share_id"] != old_id
    assert (await app.test_client().get(f"/share/{body['share_id']}")).status_code == 200
    assert (await app.test_client().get(f"/share/{old_id}")).status_code == 404


async def test_share_status_fragment_for_htmx(client, fake_upstream):
    conversation = await finished_conversation(client, fake_upstream)
    response = await CsrfClient(client).post(f"/c/{conversation.id}/share",
                                             headers={"HX-Request": "true"})
    fragment = soup(await response.get_data(as_text=True))
    assert fragment.select_one("#share-status .unshare-btn")["hx-post"] == \
        f"/c/{conversation.id}/share/delete"


async def test_only_the_owner_can_share(app, client, fake_upstream):
    conversation = await finished_conversation(client, fake_upstream)
    stranger = app.test_client()
    assert (await share(stranger, conversation)).status_code == 404
    assert (await share(stranger, conversation, delete=True)).status_code == 404
    assert (await Conversation.get(id=conversation.id)).shared_at is None


async def test_unknown_share_id_is_not_found(client):
    assert (await client.get("/share/doesnotexist0000000000")).status_code == 404
