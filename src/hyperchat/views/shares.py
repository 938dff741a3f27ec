"""Sharing: private by default; the owner publishes a read-only snapshot and can withdraw it."""

from datetime import UTC, datetime

from quart import Blueprint, jsonify, render_template, url_for

from hyperchat.store.schema import FINISHED, Conversation, Message, new_share_id
from hyperchat.web import htmx
from hyperchat.web.access import get_conversation, get_shared_conversation
from hyperchat.web.security import current_user

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


@bp.get("/share/<share_id>")
async def show(share_id: str):
    """Show a shared conversation, read-only, as it was when last shared."""
    conversation = await get_shared_conversation(share_id)
    messages = await Message.filter(
        conversation_id=conversation.id, status__in=FINISHED, on_path=True, deleted_at=None,
        finished_at__lte=conversation.shared_at,
    ).order_by("id")
    body = await render_template("shares/show.html", conversation=conversation,
                                 messages=messages, live={}, readonly=True)
    # no-cache: once sharing stops, nobody should be served a stored copy.
    headers = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer",
               "Cache-Control": "no-cache"}
    return body, 200, headers


@bp.get("/c/<int:conversation_id>/share")
async def status(conversation_id: int):
    """Show whether the conversation is shared (the header's share status)."""
    conversation = await get_conversation(conversation_id, current_user())
    return await render_template("conversations/_share_status.html", conversation=conversation)
