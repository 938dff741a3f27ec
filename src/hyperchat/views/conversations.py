"""Conversations: the chat page, the sidebar list, rename, archive, trash, restore."""

from urllib.parse import urlsplit

from quart import Blueprint, current_app, render_template, request, url_for

from hyperchat.chat import conversations, rooms, sidebar, versions
from hyperchat.chat.conversations import View
from hyperchat.live import tab_events
from hyperchat.store.schema import Conversation
from hyperchat.web import htmx, payloads
from hyperchat.web.access import Need, get_conversation
from hyperchat.web.errors import BadRequest
from hyperchat.web.security import current_user
from hyperchat.web.view_helpers import (
    WINDOW,
    back,
    live_snapshots,
    message_window,
    publish,
    room_context,
)

bp = Blueprint("conversations", __name__)

VIEW = payloads.Choice(*View)
PAGE_MAX = 100_000  # pages of the sidebar: far beyond any list, within every column type




def client_zone():
    """The browser's time zone (static/tab.js keeps it in the `tz` cookie), for day groups."""
    return sidebar.zone_named(request.cookies.get("tz"))


def view_arg() -> View:
    return View(payloads.query().get("view", View.ACTIVE))


async def page_context(conversation: Conversation | None, view: View = View.ACTIVE) -> dict:
    """Everything the full page needs besides the conversation pane."""
    owner = current_user()
    return {
        "list_page": await sidebar.load_page(owner, view, zone=client_zone()),
        "stats": await conversations.stats(owner),
        "view": view,
        "current_id": conversation.id if conversation else None,
    }


async def render_chat(conversation: Conversation | None, *, around: int | None = None,
                      view: View = View.ACTIVE, renaming: bool = False):
    if conversation is not None:
        messages, has_earlier, has_later = await message_window(conversation, around)
    else:
        messages, has_earlier, has_later = [], False, False
    context = {"conversation": conversation, "messages": messages,
               "live": await live_snapshots(messages), "has_earlier": has_earlier,
               "has_later": has_later, "renaming": renaming,
               **(await room_context(conversation) if conversation is not None else {})}
    if htmx.is_request():
        # Switching conversations swaps only the main pane; the sidebar stays.
        body = await render_template("conversations/_main.html", **context)
    else:
        context.update(await page_context(conversation, view))
        body = await render_template("conversations/show.html", **context)
    return htmx.vary(await current_app.make_response(body))


@bp.get("/")
async def new():
    """Show an empty chat; the first message creates the conversation."""
    return await render_chat(None)


@bp.get("/c/<int:conversation_id>")
@payloads.takes_query(m=payloads.Id(), rename=payloads.Text(10))
async def show(conversation_id: int):
    """Show one conversation; `?m=<id>` opens it at that message (search results link so),
    `?rename=1` with its title's rename form open (the sidebar's Rename)."""
    conversation = await get_conversation(conversation_id, current_user())
    return await render_chat(conversation, around=payloads.query().get("m"),
                             renaming=payloads.query().get("rename") == "1")


@bp.get("/c/<int:conversation_id>/messages")
@payloads.takes_query(before=payloads.Id(), after=payloads.Id())
async def messages(conversation_id: int):
    """Load the window of messages before (or after) a message, for scrolling."""
    conversation = await get_conversation(conversation_id, current_user())
    query = versions.shown(conversation.id)
    if (before := payloads.query().get("before")) is not None:
        rows = list(reversed(await query.filter(id__lt=before).order_by("-id").limit(WINDOW)))
        more = bool(rows) and await query.filter(id__lt=rows[0].id).exists()
        direction = "earlier"
    elif (after := payloads.query().get("after")) is not None:
        rows = await query.filter(id__gt=after).order_by("id").limit(WINDOW)
        more = bool(rows) and await query.filter(id__gt=rows[-1].id).exists()
        direction = "later"
    else:
        raise BadRequest("Say before=<message id> or after=<message id>.")
    # Each person's own votes, as on the page (the rating column is the owner's).
    await rooms.own_votes(rows, conversation)
    return await render_template("conversations/_window.html", conversation=conversation,
                                 messages=await versions.annotate(list(rows)),
                                 live=await live_snapshots(rows), more=more,
                                 direction=direction)


@bp.get("/conversations")
@payloads.takes_query(view=VIEW, page=payloads.Integer(1, PAGE_MAX), group=payloads.Text(200),
                      current=payloads.Id())
async def index():
    """One page of the sidebar list (a filter, or the next page for infinite scroll)."""
    view = view_arg()
    if not htmx.is_request():
        # The tabs are links: opened without htmx (a new tab, no JavaScript) they give the
        # whole page, with the sidebar on that view.
        return await render_chat(None, view=view)
    page = payloads.query().get("page", 1)
    list_page = await sidebar.load_page(current_user(), view, page, zone=client_zone())
    return htmx.vary(await current_app.make_response(await render_template(
        "conversations/_list.html", list_page=list_page, view=view,
        previous_group=payloads.query().get("group"),
        current_id=payloads.query().get("current"),
        stats=await conversations.stats(current_user()) if page == 1 else None,
        refresh_counts=page == 1)))


async def _item_changed(conversation: Conversation, toast: str | None = None,
                        undo_url: str | None = None, removed: bool = False,
                        reload: bool = False):
    """The htmx answer to a change: the item (or its removal), the header, a toast.
    A change that puts a conversation back in a list asks the list to reload itself."""
    open_url = url_for(".show", conversation_id=conversation.id)
    is_open = urlsplit(request.headers.get("HX-Current-URL", "")).path == open_url
    body = await render_template(
        "conversations/_changed.html", conversation=conversation, toast=toast,
        undo_url=undo_url, removed=removed, is_open=is_open,
        stats=await conversations.stats(current_user()))
    if not htmx.is_request():
        return back(url_for(".new"))
    return body, 200, htmx.trigger_on_body("conversations-changed") if reload else {}


@bp.get("/c/<int:conversation_id>/title")
async def title(conversation_id: int):
    """Show a conversation's heading (what Esc puts back in place of the rename form)."""
    conversation = await get_conversation(conversation_id, current_user())
    return await render_template("conversations/_title.html", conversation=conversation)


@bp.get("/c/<int:conversation_id>/rename")
async def rename_form(conversation_id: int):
    """Show the form that renames a conversation, in place of its heading."""
    conversation = await get_conversation(conversation_id, current_user(), Need.MANAGE)
    return await render_template("conversations/_title.html", conversation=conversation,
                                 renaming=True)


@bp.post("/c/<int:conversation_id>/rename")
@payloads.takes_body(title=payloads.Text())
async def rename(conversation_id: int):
    """Rename a conversation (1-200 characters)."""
    conversation = await get_conversation(conversation_id, current_user(), Need.MANAGE)
    title = payloads.body().get("title")
    try:
        await conversations.rename(conversation, title)
    except BadRequest as error:
        if not htmx.is_request():
            raise
        body = await render_template("conversations/_rename_error.html",
                                     conversation=conversation, message=error.message)
        return body, 400, htmx.retarget(f"#rename-error-{conversation.id}", "innerHTML")
    # The new title in every open tab (every member's, in a room).
    await publish(conversation.id, tab_events.ROOM_CHANGED, "")
    return await _item_changed(conversation)


@bp.post("/c/<int:conversation_id>/archive")
async def archive(conversation_id: int):
    """Archive a conversation (it leaves the active list)."""
    conversation = await get_conversation(conversation_id, current_user(), Need.OWN)
    await conversations.set_archived(conversation, True)
    return await _item_changed(conversation, "Archived.", removed=True,
                               undo_url=url_for(".unarchive", conversation_id=conversation.id))


@bp.post("/c/<int:conversation_id>/unarchive")
async def unarchive(conversation_id: int):
    """Bring an archived conversation back to the active list."""
    conversation = await get_conversation(conversation_id, current_user(), Need.OWN)
    await conversations.set_archived(conversation, False)
    return await _item_changed(conversation, "Moved back to your chats.", reload=True)


@bp.post("/c/<int:conversation_id>/delete")
async def delete(conversation_id: int):
    """Move a conversation to the trash, with an Undo."""
    conversation = await get_conversation(conversation_id, current_user(), Need.OWN)
    await conversations.move_to_trash(conversation)
    return await _item_changed(conversation, "Moved to the trash.", removed=True,
                               undo_url=url_for(".restore", conversation_id=conversation.id))


@bp.post("/c/<int:conversation_id>/restore")
async def restore(conversation_id: int):
    """Take a conversation out of the trash."""
    conversation = await get_conversation(conversation_id, current_user(), Need.OWN)
    await conversations.restore(conversation)
    return await _item_changed(conversation, "Restored.", reload=True)


@bp.post("/c/<int:conversation_id>/destroy")
async def destroy(conversation_id: int):
    """Delete a conversation for good, with its messages and share link."""
    conversation = await get_conversation(conversation_id, current_user(), Need.OWN)
    if conversation.deleted_at is None:
        raise BadRequest("Move the conversation to the trash before deleting it for good.")
    await conversations.delete_permanently(conversation)
    return await _item_changed(conversation, "Deleted for good.", removed=True)
