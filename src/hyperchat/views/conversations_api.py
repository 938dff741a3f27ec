"""Conversations for programs, snake_case: create one with its settings (`title`,
`default_model_id`, `with_ai`, `mode`), list them, send a message with its own `model` and
get the reply, read the messages.

The paths end in a slash (`/conversations/`), beside the page's own `/conversations` (the
sidebar's list, HTML): the same resource, one path per representation. A conversation's
settings are read and changed at `/conversations/<id>` (views/settings.py). Errors are
`{"detail": "..."}` (web/api_shapes.py).
"""

from quart import Blueprint, url_for
from quart_schema import validate_querystring, validate_response

from hyperchat.chat import conversations, versions
from hyperchat.metering import model_choice
from hyperchat.store.schema import Conversation, Message, Mode
from hyperchat.web import view_helpers
from hyperchat.web.access import get_conversation
from hyperchat.web.api_shapes import (
    ConversationCreate,
    ConversationMessage,
    ConversationMessageCreate,
    ConversationSummary,
    ListQuery,
    answers_json,
    detail_error,
    takes,
)
from hyperchat.web.errors import json_api
from hyperchat.web.security import current_user

bp = Blueprint("conversations_api", __name__)
answers_json(bp, ("/conversations/",), detail_error)


@bp.post("/conversations/")
@json_api
@takes(ConversationCreate)
@validate_response(ConversationSummary, 201)
async def create(data: ConversationCreate):
    """Create an empty conversation with its settings."""
    title = conversations.clean_title(data.title) if data.title is not None else "New chat"
    model = model_choice.known_model(data.default_model_id, what="default_model_id")
    conversation = await Conversation.create(owner=current_user(), title=title,
                                             mode=Mode(data.mode), with_ai=data.with_ai,
                                             default_model_id=model)
    location = url_for("settings.show", conversation_id=conversation.id)
    return ConversationSummary.of(conversation), 201, {"Location": location}


@bp.get("/conversations/")
@json_api
@validate_querystring(ListQuery)
@validate_response(list[ConversationSummary])
async def index(query_args: ListQuery):
    """List your conversations not in the trash, with their settings, latest activity first."""
    rows = await conversations.kept(current_user()).offset(query_args.offset) \
        .limit(query_args.limit)
    return [ConversationSummary.of(c) for c in rows]


@bp.post("/conversations/<int:conversation_id>/messages")
@json_api
@takes(ConversationMessageCreate)
@validate_response(list[ConversationMessage], 201)
async def send(conversation_id: int, data: ConversationMessageCreate):
    """Send a message (its `model` over the conversation's default) and wait for the reply:
    both messages, or yours alone when the conversation's AI is off."""
    conversation = await get_conversation(conversation_id, current_user())
    content = view_helpers.checked_message(data.content)
    sent = await view_helpers.send(conversation, content, model_choice.known_model(data.model))
    written = [sent.message]
    if sent.reply is not None:
        await view_helpers.generations().wait(sent.reply.id)
        written.append(await Message.get(id=sent.reply.id))
    return [ConversationMessage.of(m) for m in written], 201


@bp.get("/conversations/<int:conversation_id>/messages")
@json_api
@validate_querystring(ListQuery)
@validate_response(list[ConversationMessage])
async def messages(conversation_id: int, query_args: ListQuery):
    """List the messages of the branch shown, oldest first."""
    conversation = await get_conversation(conversation_id, current_user())
    rows = await versions.shown(conversation.id).order_by("id").offset(query_args.offset) \
        .limit(query_args.limit)
    return [ConversationMessage.of(m) for m in rows]
