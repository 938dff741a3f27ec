"""The sidebar and conversation actions over htmx: list, groups, pages, rename, archive,
trash, undo, permanent delete, message windows, titles, purge."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from hyperchat.chat import conversations as convs
from hyperchat.chat.sidebar import PAGE_SIZE
from hyperchat.store.schema import Conversation, Message, Role, Status
from tests.fake_upstream import Tokens
from tests.helpers import CsrfClient, count_queries, csrf, owner_of, send, soup, wait_until

HX = {"HX-Request": "true"}
TITLE_MODEL = pytest.mark.config(TITLE_MODEL="openai/gpt-4o-mini")


async def make_conversations(client, n: int, owner: str | None = None) -> list[Conversation]:
    """n conversations of this client's owner, each with a user message, oldest first."""
    owner = owner or await owner_of(client)
    now = datetime.now(UTC)
    made = []
    for i in range(n):
        conversation = await Conversation.create(owner=owner, title=f"Chat {i}",
                                                 last_activity_at=now - timedelta(hours=n - i))
        await Message.create(conversation=conversation, role=Role.USER, content=f"question {i}",
                             status=Status.COMPLETE)
        made.append(conversation)
    return made


async def post(client, path, **kwargs):
    return await CsrfClient(client, HX).post(path, **kwargs)


async def test_page_lists_conversations_most_recent_first_with_preview(client):
    made = await make_conversations(client, 3)
    page = soup(await (await client.get("/")).get_data(as_text=True))
    items = page.select("#conversation-list .conversation-item")
    assert [i["data-conversation-id"] for i in items] == [str(c.id) for c in reversed(made)]
    first = items[0]
    assert first.select_one(".item-title").get_text() == "Chat 2"
    assert first.select_one(".item-preview").get_text() == "question 2"
    assert first.select_one(".item-time").get_text()
    assert first.select_one("a")["hx-push-url"] == "true"
    tabs = {a["data-view"]: a.select_one(".count").get_text() for a in page.select(".tab")}
    assert tabs == {"active": "3", "archived": "0", "trash": "0"}


async def test_list_groups_by_day(client):
    owner = await owner_of(client)
    now = datetime.now(UTC)
    for title, age in [("today", timedelta(0)), ("yesterday", timedelta(days=1)),
                       ("week", timedelta(days=4)), ("old", timedelta(days=40))]:
        await Conversation.create(owner=owner, title=title, last_activity_at=now - age)
    page = soup(await (await client.get("/conversations", headers=HX)).get_data(as_text=True))
    headings = [h.get_text() for h in page.select(".group-heading")]
    assert headings == ["Today", "Yesterday", "Previous 7 days", "Older"]


async def test_list_pages_with_a_revealed_sentinel_and_no_duplicates(client):
    await make_conversations(client, PAGE_SIZE + 5)
    first = soup(await (await client.get("/conversations", headers=HX)).get_data(as_text=True))
    assert len(first.select(".conversation-item")) == PAGE_SIZE
    sentinel = first.select_one(".list-sentinel")
    assert sentinel["hx-trigger"] == "revealed"
    second = soup(await (await client.get(sentinel["hx-get"], headers=HX)).get_data(as_text=True))
    ids = [i["data-conversation-id"] for i in first.select(".conversation-item")]
    ids += [i["data-conversation-id"] for i in second.select(".conversation-item")]
    assert len(ids) == len(set(ids)) == PAGE_SIZE + 5
    assert second.select_one(".list-sentinel") is None
    # The second page continues the first page's day group instead of repeating its heading.
    assert second.select(".group-heading") == []


async def test_list_makes_a_fixed_number_of_queries(client, monkeypatch):
    """No query per conversation: a page of 30 costs what a page of 3 costs."""
    await make_conversations(client, PAGE_SIZE)
    executed = count_queries(monkeypatch)
    await client.get("/conversations", headers=HX)
    big = len(executed)
    await Conversation.filter(id__gt=3).delete()
    executed.clear()
    await client.get("/conversations", headers=HX)
    assert 0 < len(executed) == big <= 10


async def test_switching_conversations_swaps_only_the_main_pane(client):
    made = await make_conversations(client, 2)
    response = await client.get(f"/c/{made[0].id}", headers=HX)
    fragment = soup(await response.get_data(as_text=True))
    assert fragment.select_one("#main")["data-conversation-id"] == str(made[0].id)
    assert fragment.select_one("#sidebar") is None and fragment.select_one("html") is None
    assert "HX-Request" in response.headers["Vary"]
    page = soup(await (await client.get(f"/c/{made[0].id}")).get_data(as_text=True))
    # A full load of the same URL renders the same pane inside the page.
    assert page.select_one("#main").decode() == fragment.select_one("#main").decode()
    assert page.select_one("#sidebar .conversation-item.current")["data-conversation-id"] == \
        str(made[0].id)


@pytest.mark.parametrize(("view", "expected"), [("active", ["Chat 2"]), ("archived", ["Chat 1"]),
                                                ("trash", ["Chat 0"])])
async def test_filters_show_active_archived_and_trash(client, view, expected):
    made = await make_conversations(client, 3)
    await convs.move_to_trash(made[0])
    await convs.set_archived(made[1], True)
    page = soup(await (await client.get(f"/conversations?view={view}", headers=HX)).get_data(
        as_text=True))
    assert [t.get_text() for t in page.select(".item-title")] == expected


async def test_unknown_filter_is_a_clear_400(client):
    assert (await client.get("/conversations?view=bogus", headers=HX)).status_code == 400


async def test_rename_updates_title_item_and_heading_without_reordering(client):
    made = await make_conversations(client, 2)
    before = (await Conversation.get(id=made[0].id)).last_activity_at
    response = await post(client, f"/c/{made[0].id}/rename", form={"title": "  New   name "},
                          headers={"HX-Current-URL": f"http://localhost/c/{made[0].id}"})
    assert response.status_code == 200
    fragment = soup(await response.get_data(as_text=True))
    assert fragment.select_one(f"#conv-{made[0].id}-title").get_text() == "New name"
    assert fragment.select_one("#conversation-heading h1").get_text() == "New name"
    conversation = await Conversation.get(id=made[0].id)
    assert conversation.title == "New name" and conversation.last_activity_at == before


async def test_rename_is_click_to_edit_the_heading(client):
    made = await make_conversations(client, 1)
    cid = made[0].id
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    # The page shows the heading only; its Rename button asks for the form in its place.
    assert page.select_one("#conversation-heading .rename-form") is None
    button = page.select_one("#conversation-actions .rename-btn")
    assert (button["hx-get"], button["hx-target"], button["hx-swap"]) == (
        f"/c/{cid}/rename", "#conversation-heading", "outerHTML")

    form_html = soup(await (await client.get(f"/c/{cid}/rename", headers=HX)).get_data(
        as_text=True))
    heading = form_html.select_one("#conversation-heading")
    assert heading.select_one("h1") is None
    form = heading.select_one("form.rename-form")
    assert form["hx-post"] == form["action"] == f"/c/{cid}/rename"
    field = form.select_one(f"input#rename-input-{cid}[name=title]")
    assert field["value"] == "Chat 0" and field.has_attr("autofocus")
    assert form.select_one("input[name=csrf_token]")["value"] == await csrf(client)
    # Esc asks the heading back (an event the script fires; no request of the form's own).
    assert (heading["hx-get"], heading["hx-trigger"], heading["hx-swap"]) == (
        f"/c/{cid}/title", "rename-cancel", "outerHTML")

    back = soup(await (await client.get(f"/c/{cid}/title", headers=HX)).get_data(as_text=True))
    assert back.select_one("#conversation-heading h1").get_text() == "Chat 0"
    assert back.select_one("form") is None


@pytest.mark.parametrize("path", ["rename", "title"])
async def test_the_rename_form_and_heading_are_the_owners_only(app, client, path):
    made = await make_conversations(client, 1)
    stranger = app.test_client()
    await csrf(stranger)
    assert (await stranger.get(f"/c/{made[0].id}/{path}")).status_code == 404
    assert (await client.get(f"/c/9999/{path}")).status_code == 404


async def test_rename_without_javascript_posts_the_form_and_goes_back(client):
    made = await make_conversations(client, 1)
    token = await csrf(client)
    response = await client.post(f"/c/{made[0].id}/rename",
                                 form={"title": "Plain form", "csrf_token": token},
                                 headers={"Referer": f"http://localhost/c/{made[0].id}"})
    assert response.status_code == 303
    assert (await Conversation.get(id=made[0].id)).title == "Plain form"


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
async def test_rename_rejects_bad_titles_with_a_clear_error(client, title):
    made = await make_conversations(client, 1)
    response = await post(client, f"/c/{made[0].id}/rename", form={"title": title})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == f"#rename-error-{made[0].id}"
    assert (await response.get_data(as_text=True)).strip()
    assert (await Conversation.get(id=made[0].id)).title == "Chat 0"


async def test_rename_accepts_exactly_200_characters(client):
    made = await make_conversations(client, 1)
    response = await post(client, f"/c/{made[0].id}/rename", form={"title": "y" * 200})
    assert response.status_code == 200


async def test_archive_and_unarchive(client):
    made = await make_conversations(client, 1)
    response = await post(client, f"/c/{made[0].id}/archive")
    fragment = soup(await response.get_data(as_text=True))
    assert fragment.select_one(f"#conv-{made[0].id}")["hx-swap-oob"] == "delete"
    assert fragment.select_one("#count-archived").get_text() == "1"
    assert (await Conversation.get(id=made[0].id)).archived is True
    response = await post(client, f"/c/{made[0].id}/unarchive")
    assert json.loads(response.headers["HX-Trigger"]) == {
        "conversations-changed": {"target": "body"}}
    assert (await Conversation.get(id=made[0].id)).archived is False


async def test_trash_offers_undo_and_restore_brings_it_back(client):
    made = await make_conversations(client, 1)
    fragment = soup(await (await post(client, f"/c/{made[0].id}/delete")).get_data(as_text=True))
    toast = fragment.select_one("#toast")
    assert toast["data-timeout"] == "10000"
    undo = toast.select_one(".undo-btn")
    assert undo["hx-post"] == f"/c/{made[0].id}/restore"
    assert (await Conversation.get(id=made[0].id)).deleted_at is not None
    await post(client, undo["hx-post"])
    assert (await Conversation.get(id=made[0].id)).deleted_at is None


async def test_permanent_delete_removes_messages_and_kills_the_share_link(app, client):
    made = await make_conversations(client, 1)
    conversation = made[0]
    await post(client, f"/c/{conversation.id}/share", headers={"Accept": "application/json"})
    share_id = (await Conversation.get(id=conversation.id)).share_id
    assert (await post(client, f"/c/{conversation.id}/destroy")).status_code == 400  # not trashed
    await post(client, f"/c/{conversation.id}/delete")
    assert (await post(client, f"/c/{conversation.id}/destroy")).status_code == 200
    assert not await Conversation.filter(id=conversation.id).exists()
    assert not await Message.filter(conversation_id=conversation.id).exists()
    assert (await app.test_client().get(f"/share/{share_id}")).status_code == 404


@pytest.mark.parametrize("action", ["rename", "archive", "unarchive", "delete", "restore",
                                    "destroy"])
async def test_actions_on_someone_elses_conversation_are_not_found(app, client, action):
    made = await make_conversations(client, 1)
    stranger = app.test_client()
    response = await post(stranger, f"/c/{made[0].id}/{action}", form={"title": "x"})
    assert response.status_code == 404
    assert await Conversation.filter(id=made[0].id, title="Chat 0", archived=False,
                                     deleted_at__isnull=True).exists()


async def test_purge_deletes_only_trash_older_than_the_retention(client):
    made = await make_conversations(client, 3)
    now = datetime.now(UTC)
    await Conversation.filter(id=made[0].id).update(deleted_at=now - timedelta(days=31))
    await Conversation.filter(id=made[1].id).update(deleted_at=now - timedelta(days=29))
    assert await convs.purge_trash(30) == 1
    assert [c.id for c in await Conversation.all().order_by("id")] == [made[1].id, made[2].id]
    assert not await Message.filter(conversation_id=made[0].id).exists()


async def test_long_conversation_opens_with_its_latest_window_and_loads_earlier(client):
    made = await make_conversations(client, 1)
    conversation = made[0]
    for i in range(120):
        await Message.create(conversation=conversation, role=Role.USER, content=f"m{i}",
                             status=Status.COMPLETE)
    page = soup(await (await client.get(f"/c/{conversation.id}", headers=HX)).get_data(
        as_text=True))
    shown = [a.select_one(".message-content").get_text() for a in page.select("article")]
    assert shown == [f"m{i}" for i in range(70, 120)]
    sentinel = page.select_one(".window-sentinel")
    assert sentinel["hx-trigger"] == "revealed"
    earlier = soup(await (await client.get(sentinel["hx-get"], headers=HX)).get_data(
        as_text=True))
    assert [a.select_one(".message-content").get_text() for a in earlier.select("article")] == \
        [f"m{i}" for i in range(20, 70)]
    assert earlier.select_one(".window-sentinel") is not None


async def test_permalink_opens_the_window_around_that_message(client):
    made = await make_conversations(client, 1)
    messages = [await Message.create(conversation=made[0], role=Role.USER, content=f"m{i}",
                                     status=Status.COMPLETE) for i in range(120)]
    target = messages[10]
    page = soup(await (await client.get(f"/c/{made[0].id}?m={target.id}")).get_data(
        as_text=True))
    assert page.select_one(f"#m-{target.id}") is not None
    assert page.select_one("#thread .window-sentinel[hx-get*='after=']") is not None


async def test_first_message_makes_the_sidebar_reload(client, fake_upstream):
    response = await send(client, "brand new")
    assert json.loads(response.headers["HX-Trigger"]) == {
        "conversations-changed": {"target": "body"}}
    fragment = soup(await response.get_data(as_text=True))
    assert fragment.select_one("#conversation-heading h1").get_text() == "brand new"


@TITLE_MODEL
async def test_title_model_retitles_after_the_first_reply_without_reordering(client,
                                                                          fake_upstream):
    fake_upstream.enqueue(Tokens(["Decorators", " wrap", " functions"]),
                          Tokens(['"Python Decorators Explained."']))
    await send(client, "how do python decorators work and why")
    conversation = await Conversation.get()
    assert conversation.title == "how do python decorators work..."
    activity = conversation.last_activity_at

    async def retitled():
        c = await Conversation.get(id=conversation.id)
        return c if c.title != conversation.title else None

    conversation = await wait_until(retitled)
    assert conversation.title == "Python Decorators Explained"
    assert conversation.last_activity_at == activity
    title_request = fake_upstream.requests[-1]["json"]
    assert title_request["model"] == "openai/gpt-4o-mini"
    assert "decorators" in title_request["messages"][-1]["content"]


@TITLE_MODEL
async def test_title_model_never_overwrites_a_rename(client, fake_upstream):
    """The person renames while the first reply streams: the model's title is dropped."""
    fake_upstream.enqueue(Tokens(["Decorators", " wrap", " functions"], interval=0.1),
                          Tokens(["Python Decorators Explained"]))
    token = await csrf(client)
    await send(client, "how do python decorators work and why", token=token)
    conversation = await Conversation.get()
    response = await client.post(f"/c/{conversation.id}/rename",
                                 form={"title": "my own title", "csrf_token": token},
                                 headers=HX)
    assert response.status_code == 200

    async def title_asked():
        return len(fake_upstream.requests) == 2

    await wait_until(title_asked)
    # Title tasks are tracked under the reply's negated id: wait for this one to end.
    reply = await Message.get(role="assistant")
    await client.app.extensions["generations"].wait(-reply.id)
    assert (await Conversation.get(id=conversation.id)).title == "my own title"


async def test_sending_to_an_older_conversation_moves_it_to_the_top(client, fake_upstream):
    older, newer = await make_conversations(client, 2)
    response = await send(client, "back to this one", conversation_id=older.id)
    assert "conversations-changed" in response.headers.get("HX-Trigger", "")
    listed = soup(await (await client.get("/conversations", headers=HX)).get_data(as_text=True))
    ids = [int(i["data-conversation-id"]) for i in listed.select(".conversation-item")]
    assert ids == [older.id, newer.id]


async def test_app_purges_the_trash_by_its_retention_setting_on_start(app_config):
    """TRASH_RETENTION_DAYS reaches the hourly purge, whose first run is at start-up."""
    from hyperchat import create_app

    app = create_app(app_config)
    async with app.test_app():
        now = datetime.now(UTC)
        old = await Conversation.create(owner="someone", title="old",
                                        deleted_at=now - timedelta(days=2))
        recent = await Conversation.create(owner="someone", title="recent",
                                           deleted_at=now - timedelta(hours=12))
        await asyncio.sleep(0.05)  # the start-up purge (30 days by default) keeps both
        assert await Conversation.filter(id=old.id).exists()

    app = create_app({**app_config, "TRASH_RETENTION_DAYS": 1})
    async with app.test_app():

        async def purged():
            return not await Conversation.filter(id=old.id).exists()

        await wait_until(purged)
        assert await Conversation.filter(id=recent.id).exists()


@pytest.mark.parametrize("view", ["active", "archived", "trash"])
async def test_a_filter_opened_as_a_page_draws_the_tabs_and_counts_once(client, view):
    page = soup(await (await client.get(f"/conversations?view={view}")).get_data(as_text=True))
    assert len(page.select("#sidebar-stats")) == 1 and len(page.select("#view-tabs")) == 1
    assert page.select("[hx-swap-oob]") == []
    assert page.select_one(f'#view-tabs [data-view="{view}"]')["aria-current"] == "page"


async def test_a_conversations_own_actions_are_in_its_sidebar_item(client, fake_upstream):
    """Rename, archive and trash from the list, each named, described by the title."""
    await send(client, "hello")
    conversation = await Conversation.get()
    page = soup(await (await client.get("/")).get_data(as_text=True))
    actions = page.select_one(f"#conv-{conversation.id} .item-hover-actions")
    rename, archive, trash = actions.find_all(["a", "button"], recursive=False)
    assert rename["href"] == f"/c/{conversation.id}?rename=1"
    assert rename["hx-push-url"] == f"/c/{conversation.id}"
    assert archive["hx-post"] == f"/c/{conversation.id}/archive"
    assert trash["hx-post"] == f"/c/{conversation.id}/delete"
    assert [c.select_one(".visually-hidden").get_text() for c in (rename, archive, trash)] == [
        "Rename", "Archive", "Move to trash"]
    assert {c["aria-describedby"] for c in (rename, archive, trash)} == {
        f"conv-{conversation.id}-title"}


async def test_rename_opens_the_conversation_with_its_title_form_open(client, fake_upstream):
    await send(client, "hello")
    conversation = await Conversation.get()
    page = soup(await (await client.get(f"/c/{conversation.id}?rename=1")).get_data(as_text=True))
    assert page.select_one("#conversation-title") is None
    title = page.select_one("#conversation-heading .rename-form input[name=title]")
    assert title.has_attr("autofocus") and title["value"] == conversation.title
    plain = soup(await (await client.get(f"/c/{conversation.id}")).get_data(as_text=True))
    assert plain.select_one("#conversation-heading .rename-form") is None
    assert plain.select_one("#conversation-title").get_text() == conversation.title
