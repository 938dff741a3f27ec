"""Search as you type in the sidebar: results link to the message, snippets are safe."""

from hyperchat.store.schema import Conversation, Message, Role, Status
from tests.helpers import csrf, soup

HX = {"HX-Request": "true"}


async def owned_conversation(client, title, contents):
    await csrf(client)
    async with client.session_transaction() as session:
        owner = session["user_identifier"]
    conversation = await Conversation.create(owner=owner, title=title)
    messages = [await Message.create(conversation=conversation, role=Role.USER, content=text,
                                     status=Status.COMPLETE) for text in contents]
    return conversation, messages


async def test_results_link_to_the_message_with_a_highlighted_snippet(client):
    conversation, messages = await owned_conversation(
        client, "Python notes", ["unrelated", "How do <b>decorators</b> work?"])
    response = await client.get("/search?q=decor", headers=HX)
    page = soup(await response.get_data(as_text=True))
    hit = page.select_one(".search-hit a")
    target = messages[1].id
    assert hit["href"] == f"/c/{conversation.id}?m={target}#m-{target}"
    assert hit["hx-push-url"] == "true" and hit["hx-target"] == "#main"
    snippet = hit.select_one(".hit-snippet")
    assert snippet.select_one("mark").get_text().lower().startswith("decor")
    assert snippet.select("b") == []  # the message's markup is shown as text
    assert "<b>" in snippet.get_text()


async def test_empty_query_shows_nothing(client):
    page = soup(await (await client.get("/search?q=%20", headers=HX)).get_data(as_text=True))
    assert page.select(".search-hit") == []


async def test_hostile_query_is_just_no_results(client):
    await owned_conversation(client, "t", ["hello world"])
    for q in ['"', "NEAR(", "*", "-", "'; DROP TABLE message; --", "🙂"]:
        response = await client.get("/search", query_string={"q": q}, headers=HX)
        assert response.status_code == 200


async def test_search_never_shows_someone_elses_conversations(app, client):
    await owned_conversation(client, "secret", ["classified decorators"])
    stranger = app.test_client()
    page = soup(await (await stranger.get("/search?q=decorators", headers=HX)).get_data(
        as_text=True))
    assert page.select(".search-hit") == []
