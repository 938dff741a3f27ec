"""Conversations for programs, snake_case: create one with its settings (`title`,
`default_model_id`, `with_ai`, `mode`), list them, send a message with its own `model` and
get the reply, read the messages.

The paths end in a slash (`/conversations/`), beside the page's own `/conversations` (the
sidebar's list, HTML): the same resource, one path per representation. A conversation's
settings are read and changed at `/conversations/<id>` (views/settings.py). Errors are
`{"detail": "..."}` (web/api_shapes.py).
"""

from quart import Blueprint, current_app, url_for
from quart_schema import validate_querystring, validate_response
from tortoise.transactions import in_transaction

from hyperchat.chat import conversations, rooms, versions
from hyperchat.metering import model_choice
from hyperchat.store.schema import Conversation, Message, Mode
from hyperchat.web import payloads, view_helpers
from hyperchat.web.access import get_conversation
from hyperchat.web.api_shapes import (
    ConversationCreate,
    ConversationMessage,
    ConversationMessageCreate,
    ConversationSummary,
    ListQuery,
    answers_json,
    detail_error,
)
from hyperchat.web.errors import BadRequest, json_api
from hyperchat.web.security import current_user

bp = Blueprint("conversations_api", __name__)
answers_json(bp, ("/conversations/",), detail_error)


@bp.post("/conversations/")
@json_api
@payloads.takes_json(ConversationCreate)
@validate_response(ConversationSummary, 201)
async def create():
    """Create an empty conversation with its settings and, for a partner or group room, its
    other people (`participant_usernames`): all of them or none (one transaction)."""
    data: ConversationCreate = payloads.model()
    title = conversations.clean_title(data.title) if data.title is not None else "New chat"
    model = model_choice.known_model(data.default_model_id, what="default_model_id")
    mode = Mode(data.mode)
    if data.participant_usernames and mode == Mode.SOLO:
        raise BadRequest("participant_usernames: a solo conversation has no other people; "
                         "send mode \"partner\" or \"group\".")
    if mode != Mode.SOLO and rooms.account_id(current_user()) is None:
        raise BadRequest("mode: rooms need an account; sign up or use an API key.")
    added = []
    async with in_transaction():
        conversation = await Conversation.create(owner=current_user(), title=title, mode=mode,
                                                 with_ai=data.with_ai, default_model_id=model)
        for name in data.participant_usernames:
            user = await rooms.invite_by_username(conversation, name,
                                                  current_app.config["ROOM_MAX_PEOPLE"])
            added.append(user.username)
    location = url_for("settings.show", conversation_id=conversation.id)
    summary = ConversationSummary.of(conversation, added if data.participant_usernames else None)
    return summary, 201, {"Location": location}


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
@payloads.takes_json(ConversationMessageCreate)
@validate_response(list[ConversationMessage], 201)
async def send(conversation_id: int):
    """Send a message (its `model` over the conversation's default) and wait for the reply:
    both messages, or yours alone when the conversation's AI is off."""
    data: ConversationMessageCreate = payloads.model()
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
