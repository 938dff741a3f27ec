"""Sharing: private by default; the owner publishes a read-only snapshot (a copy of what they
see when they press Share), can refresh it, give it an expiry, and withdraw it."""

from quart import Blueprint, jsonify, render_template, url_for

from hyperchat.chat import sharing
from hyperchat.files import attachments
from hyperchat.store.schema import Conversation
from hyperchat.web import htmx, payloads
from hyperchat.web.access import Need, get_conversation, get_shared_conversation
from hyperchat.web.errors import BadRequest, wants_json
from hyperchat.web.security import current_user
from hyperchat.web.view_helpers import WINDOW

bp = Blueprint("shares", __name__)


def share_url(conversation: Conversation) -> str:
    return url_for("shares.show", share_id=conversation.share_id, _external=True)


async def _status_response(conversation: Conversation, *, html: bool | None = None):
    """The share status: the header's fragment for htmx (or `html`), else JSON."""
    shared = sharing.is_live(conversation)
    count = await sharing.size(conversation) if conversation.shared_at else 0
    if html if html is not None else htmx.is_request():
        return await render_template("conversations/_share_status.html",
                                     conversation=conversation,
                                     expiry_choices=sharing.EXPIRY_CHOICES)
    return jsonify({
        "ok": True, "shared": shared, "share_id": conversation.share_id,
        "url": share_url(conversation) if shared else None,
        "shared_at": conversation.shared_at.isoformat() if conversation.shared_at else None,
        "expires_at": conversation.share_expires_at.isoformat()
        if conversation.share_expires_at else None,
        "messages": count, "views": conversation.share_views,
        "attachments": conversation.share_attachments})


@bp.post("/c/<int:conversation_id>/share")
@payloads.takes_body(expires_in_days=payloads.Raw(), attachments=payloads.Flag(checkbox=True))
async def create(conversation_id: int):
    """Publish (or replace) the snapshot of what the owner sees now; `expires_in_days`
    (empty, 1, 7 or 30) sets its lifetime; `attachments` whether the page lists the
    messages' files (names and kinds; never their text or originals). Unsaid: unchanged."""
    conversation = await get_conversation(conversation_id, current_user(), Need.OWN)
    days = sharing.expiry_days(payloads.body().get("expires_in_days"))
    show_files = payloads.body().get("attachments")
    if show_files is not None and show_files != conversation.share_attachments:
        conversation.share_attachments = show_files
        await conversation.save(update_fields=["share_attachments"])
    await sharing.publish(conversation, days)
    return await _status_response(conversation)


@bp.post("/c/<int:conversation_id>/share/delete")
async def destroy(conversation_id: int):
    """Stop sharing: the link 404s from now on, and sharing again issues a new one."""
    conversation = await get_conversation(conversation_id, current_user(), Need.OWN)
    await sharing.withdraw(conversation)
    return await _status_response(conversation)


# Anyone with the link may ask: no cookie, no CSRF token, nothing to guess.
SHARE_HEADERS = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer",
                 # no-cache: once sharing stops, nobody should be served a stored copy.
                 "Cache-Control": "no-cache"}


@bp.get("/share/<share:share_id>")
async def show(share_id: str):
    """Show a shared conversation, read-only, exactly as it was when last shared: its latest
    messages, earlier ones loaded on scroll."""
    conversation = await get_shared_conversation(share_id)
    await sharing.count_view(conversation)
    messages, has_earlier = await sharing.window(conversation, None, WINDOW)
    await _with_files(conversation, messages)
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
    rows, more = await sharing.window(conversation, before, WINDOW)
    await _with_files(conversation, rows)
    body = await render_template("shares/_window.html", conversation=conversation,
                                 messages=rows, has_earlier=more, live={}, readonly=True)
    return body, 200, SHARE_HEADERS


async def _with_files(conversation: Conversation, shared: list) -> None:
    """The files of the shared messages, only when the owner chose to show them."""
    if not conversation.share_attachments:
        return
    files = await attachments.of_messages([m.id for m in shared])  # the original ids
    for message in shared:
        message.attachments = files.get(message.id, [])


@bp.get("/c/<int:conversation_id>/share")
async def status(conversation_id: int):
    """Show what is shared, since when, until when and how often it was opened."""
    conversation = await get_conversation(conversation_id, current_user(), Need.OWN)
    return await _status_response(conversation, html=not wants_json())
