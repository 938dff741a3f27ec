"""Conversation pages: a new chat and one conversation's thread."""

from quart import Blueprint, current_app, render_template

from hyperchat import htmx
from hyperchat.access import get_conversation
from hyperchat.models import Message
from hyperchat.security import current_user
from hyperchat.views.messages import live_snapshots

bp = Blueprint("conversations", __name__)


@bp.get("/")
async def new():
    """Show an empty chat; the first message creates the conversation."""
    response = await current_app.make_response(
        await render_template("conversations/show.html", conversation=None, messages=[], live={})
    )
    return htmx.vary(response)


@bp.get("/c/<int:conversation_id>")
async def show(conversation_id: int):
    """Show one conversation with its messages; a streaming reply resumes where it is."""
    conversation = await get_conversation(conversation_id, current_user())
    messages = await Message.filter(conversation_id=conversation.id).order_by("id")
    live = await live_snapshots(messages)
    response = await current_app.make_response(await render_template(
        "conversations/show.html", conversation=conversation, messages=messages, live=live))
    return htmx.vary(response)
