"""Sharing: private by default; the owner publishes a read-only snapshot and can withdraw it."""

from datetime import UTC, datetime

from quart import Blueprint, jsonify, render_template, url_for
from tortoise.queryset import QuerySet

from hyperchat.store.schema import FINISHED, Conversation, Message, new_share_id
from hyperchat.web import htmx, payloads
from hyperchat.web.access import get_conversation, get_shared_conversation
from hyperchat.web.errors import BadRequest
from hyperchat.web.security import current_user
from hyperchat.web.view_helpers import WINDOW

bp = Blueprint("shares", __name__)


def share_url(conversation: Conversation) -> str:
    return url_for("shares.show", share_id=conversation.share_id, _external=True)


async def _status_response(conversation: Conversation):
    if htmx.is_request():
        return await render_template("conversations/_share_status.html",
                                     conversation=conversation)
    return jsonify({"ok": True, "shared": conversation.shared_at is not None,
                    "share_id": conversation.share_id,
                    "url": share_url(conversation) if conversation.shared_at else None})


@bp.post("/c/<int:conversation_id>/share")
async def create(conversation_id: int):
    """Publish (or refresh) the read-only snapshot of the messages finished by now."""
    conversation = await get_conversation(conversation_id, current_user())
    conversation.shared_at = datetime.now(UTC)
    await conversation.save(update_fields=["shared_at"])
    return await _status_response(conversation)


@bp.post("/c/<int:conversation_id>/share/delete")
async def destroy(conversation_id: int):
    """Stop sharing: the link 404s from now on, and sharing again issues a new one."""
    conversation = await get_conversation(conversation_id, current_user())
    conversation.shared_at = None
    conversation.share_id = new_share_id()
    await conversation.save(update_fields=["shared_at", "share_id"])
    return await _status_response(conversation)


def shared_messages(conversation: Conversation) -> QuerySet[Message]:
    return Message.filter(
        conversation_id=conversation.id, status__in=FINISHED, on_path=True, deleted_at=None,
        finished_at__lte=conversation.shared_at)


# Anyone with the link may ask: no cookie, no CSRF token, nothing to guess.
SHARE_HEADERS = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer",
                 # no-cache: once sharing stops, nobody should be served a stored copy.
                 "Cache-Control": "no-cache"}


async def earlier_window(query: QuerySet[Message], before: int | None):
    """The WINDOW messages before `before` (None: the latest), oldest first, and whether
    there are more before them. Like the conversation page: a long conversation is never
    rendered whole for one request."""
    if before is not None:
        query_before = query.filter(id__lt=before)
    else:
        query_before = query
    rows = list(reversed(await query_before.order_by("-id").limit(WINDOW)))
    more = bool(rows) and await query.filter(id__lt=rows[0].id).exists()
    return rows, more


@bp.get("/share/<share:share_id>")
async def show(share_id: str):
    """Show a shared conversation, read-only, as it was when last shared: its latest
    messages, earlier ones loaded on scroll."""
    conversation = await get_shared_conversation(share_id)
    messages, has_earlier = await earlier_window(shared_messages(conversation), None)
    body = await render_template("shares/show.html", conversation=conversation,
                                 messages=messages, has_earlier=has_earlier, live={},
                                 readonly=True)
    return body, 200, SHARE_HEADERS


@bp.get("/share/<share:share_id>/messages")
@payloads.takes_query(before=payloads.Id())
async def messages(share_id: str):
    """Load the window of shared messages before a message, for scrolling."""
    conversation = await get_shared_conversation(share_id)
    before = payloads.query().get("before")
    if before is None:
        raise BadRequest("Say before=<message id>.")
    rows, more = await earlier_window(shared_messages(conversation), before)
    body = await render_template("shares/_window.html", conversation=conversation,
                                 messages=rows, has_earlier=more, live={}, readonly=True)
    return body, 200, SHARE_HEADERS


@bp.get("/c/<int:conversation_id>/share")
async def status(conversation_id: int):
    """Show whether the conversation is shared (the header's share status)."""
    conversation = await get_conversation(conversation_id, current_user())
    return await render_template("conversations/_share_status.html", conversation=conversation)
