"""Search as you type in the sidebar: results link to the message, snippets are safe."""

from hyperchat.store.schema import Conversation, Message, Role, Status
from tests.helpers import owner_of, soup

HX = {"HX-Request": "true"}


async def owned_conversation(client, title, contents):
    conversation = await Conversation.create(owner=await owner_of(client), title=title)
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
    # Something a query could find is there, and the answer is the (empty) results partial,
    # not an error page.
    await owned_conversation(client, "Python notes", ["decorators"])
    response = await client.get("/search?q=%20", headers=HX)
    assert response.status_code == 200
    page = soup(await response.get_data(as_text=True))
    assert page.select(".search-hit, .search-summary, .search-hits") == []
    assert page.select(".alert") == [] and page.get_text(strip=True) == ""


async def test_hostile_query_is_just_no_results(client):
    await owned_conversation(client, "t", ["hello world"])
    for q in ['"', "NEAR(", "*", "-", "'; DROP TABLE message; --", "🙂"]:
        response = await client.get("/search", query_string={"q": q}, headers=HX)
        assert response.status_code == 200
        page = soup(await response.get_data(as_text=True))
        assert page.select_one(".search-summary").get_text() == "0 results", q
        assert page.select(".search-hit") == [], q
    # Still there, and still found.
    page = soup(await (await client.get("/search?q=hello", headers=HX)).get_data(as_text=True))
    assert len(page.select(".search-hit")) == 1


async def test_search_never_shows_someone_elses_conversations(app, client):
    await owned_conversation(client, "secret", ["classified decorators"])
    stranger = app.test_client()
    response = await stranger.get("/search?q=decorators", headers=HX)
    assert response.status_code == 200
    page = soup(await response.get_data(as_text=True))
    assert page.select_one(".search-summary").get_text() == "0 results"
    assert page.select(".search-hit") == []
    # The same query finds it for its owner.
    page = soup(await (await client.get("/search?q=decorators", headers=HX)).get_data(
        as_text=True))
    assert len(page.select(".search-hit")) == 1
