"""The chat API for programs, camelCase under /api/v1/chat: send a message and get the reply
(JSON, or SSE of JSON deltas), and the conversations: create with a first message, list
(paginated, `includeArchived`), show, rename or archive, delete, search, stats. Its health
check is the app's (views/health.py).

Thin: sending is web/view_helpers.send, the conversations are chat/conversations.py, the
search chat/search.py. Errors are `{"detail": "..."}` (web/api_shapes.py).
"""

import json

from quart import Blueprint, current_app, request, stream_with_context
from quart_schema import document_response, validate_querystring, validate_response

from hyperchat.chat import conversations, search, versions
from hyperchat.chat.exports import iso
from hyperchat.metering import model_choice
from hyperchat.store.schema import Conversation, Message
from hyperchat.web import event_stream, payloads, view_helpers
from hyperchat.web.access import get_conversation
from hyperchat.web.api_shapes import (
    ChatReply,
    ChatSend,
    ConversationPage,
    ConversationPatch,
    ConversationStart,
    ConversationV1,
    DeleteQuery,
    PageQuery,
    SearchHitV1,
    SearchQuery,
    SearchResults,
    Stats,
    answers_json,
    detail_error,
)
from hyperchat.web.errors import BadRequest, json_api
from hyperchat.web.security import current_user

bp = Blueprint("chat_api", __name__, url_prefix="/api/v1/chat")
answers_json(bp, (bp.url_prefix,), detail_error)


def wants_stream(data: ChatSend) -> bool:
    if data.stream:
        return True
    accept = request.accept_mimetypes
    return accept.best_match(["application/json", "text/event-stream"]) == "text/event-stream" \
        and accept["text/event-stream"] > accept["application/json"]


def reply_of(sent, reply: Message | None) -> ChatReply:
    return ChatReply(
        conversationId=sent.conversation.id, title=sent.conversation.title,
        userMessageId=sent.message.id, messageId=reply.id if reply else None,
        response=reply.content if reply else None,
        status=str(reply.status) if reply else "saved",
        error=reply.error if reply else None, model=reply.model_id_used if reply else None,
        promptTokens=reply.prompt_tokens if reply else None,
        completionTokens=reply.completion_tokens if reply else None)


async def one(conversation: Conversation, with_messages: bool = False) -> ConversationV1:
    counts = await conversations.message_counts([conversation.id])
    shown = await versions.shown(conversation.id).order_by("id") if with_messages else None
    return ConversationV1.of(conversation, counts.get(conversation.id, 0), shown)


@bp.post("/", strict_slashes=False)
@json_api
@payloads.takes_json(ChatSend)
@document_response(ChatReply)  # not validate_response: a stream is a Response of its own
async def chat():
    """Send a message (in `conversationId`, or a new conversation) and answer with the reply
    once written; with `"stream": true` (or `Accept: text/event-stream`), SSE of JSON: a
    `start`, `delta`s of text as it comes, then `done` with the whole reply."""
    data: ChatSend = payloads.model()
    conversation = await get_conversation(data.conversationId, current_user()) \
        if data.conversationId is not None else None
    content = view_helpers.checked_message(data.message)
    sent = await view_helpers.send(conversation, content, model_choice.known_model(data.model))
    if sent.reply is None:  # the conversation's AI is off: the message is saved, no reply
        return reply_of(sent, None)
    if not wants_stream(data):
        await view_helpers.generations().wait(sent.reply.id)
        return reply_of(sent, await Message.get(id=sent.reply.id))
    return await stream_reply(sent)


async def stream_reply(sent):
    hub = view_helpers.generations().hub
    keepalive = current_app.config["SSE_KEEPALIVE"]
    reply_id = sent.reply.id

    def frame(body: dict, id: int | None = None) -> bytes:
        return event_stream.frame(json.dumps(body), id=id)

    @stream_with_context
    async def events():
        yield frame({"type": "start", "conversationId": sent.conversation.id,
                     "title": sent.conversation.title, "userMessageId": sent.message.id,
                     "messageId": reply_id})
        async for batch in hub.follow(reply_id, 0, keepalive):
            if batch is None:
                yield event_stream.comment()
                continue
            delta = {"type": "delta", "content": batch.text}
            if batch.reasoning:
                delta["reasoning"] = batch.reasoning
            yield frame(delta, id=batch.seq)
        # The task is this worker's: its outcome is saved once it ends.
        await view_helpers.generations().wait(reply_id)
        reply = await Message.get(id=reply_id)
        yield frame({"type": "done", **reply_of(sent, reply).model_dump()})

    return await view_helpers.event_stream_response(events())


@bp.post("/conversation")
@json_api
@payloads.takes_json(ConversationStart)
@validate_response(ConversationV1, 201)
async def create():
    """Create a conversation, titled `title` (or from its first message); `firstMessage` is
    sent in it and its reply started."""
    data: ConversationStart = payloads.model()
    title = conversations.clean_title(data.title) if data.title is not None else None
    if data.firstMessage is not None:
        content = view_helpers.checked_message(data.firstMessage)
        sent = await view_helpers.send(None, content, model_choice.known_model(data.model))
        conversation = sent.conversation
        if title is not None:
            await conversations.rename(conversation, title)
    else:
        conversation = await Conversation.create(owner=current_user(), title=title or "New chat")
    return await one(conversation, with_messages=True), 201


@bp.get("/conversations")
@json_api
@validate_querystring(PageQuery)
@validate_response(ConversationPage)
async def index(query_args: PageQuery):
    """List your conversations, latest activity first: the active ones, and the archived
    ones too with `includeArchived=true` (never those in the trash)."""
    owner = current_user()
    listed = conversations.kept(owner) if query_args.includeArchived \
        else conversations.owned_by(owner)
    offset = (query_args.page - 1) * query_args.pageSize
    total = await listed.count()
    rows = await listed.offset(offset).limit(query_args.pageSize)
    counts = await conversations.message_counts([c.id for c in rows])
    return ConversationPage(
        conversations=[ConversationV1.of(c, counts.get(c.id, 0)) for c in rows],
        page=query_args.page, pageSize=query_args.pageSize, total=total,
        hasMore=offset + len(rows) < total)


@bp.get("/conversation/<int:conversation_id>")
@json_api
@validate_response(ConversationV1)
async def show(conversation_id: int):
    """Show one conversation with the messages of its branch shown, oldest first."""
    return await one(await get_conversation(conversation_id, current_user()), True)


@bp.patch("/conversation/<int:conversation_id>")
@json_api
@payloads.takes_json(ConversationPatch)
@validate_response(ConversationV1)
async def update(conversation_id: int):
    """Rename and/or (un)archive a conversation; both are checked before either is saved."""
    data: ConversationPatch = payloads.model()
    conversation = await get_conversation(conversation_id, current_user())
    if data.title is None and data.archived is None:
        raise BadRequest('Send "title" and/or "archived".')
    title = conversations.clean_title(data.title) if data.title is not None else None
    if title is not None:
        await conversations.rename(conversation, title)
    if data.archived is not None:
        await conversations.set_archived(conversation, data.archived)
    return await one(conversation)


@bp.delete("/conversation/<int:conversation_id>")
@json_api
@validate_querystring(DeleteQuery)
@validate_response(ConversationV1)
async def delete(conversation_id: int, query_args: DeleteQuery):
    """Move a conversation to the trash (200, as it is now); `?permanent=true` deletes it
    for good with its messages (204)."""
    conversation = await get_conversation(conversation_id, current_user())
    if query_args.permanent:
        await conversations.delete_permanently(conversation)
        return "", 204
    if conversation.deleted_at is None:  # keep the first date: the purge counts from it
        await conversations.move_to_trash(conversation)
    return await one(conversation)


@bp.get("/conversations/search")
@bp.get("/search")
@json_api
@validate_querystring(SearchQuery)
@validate_response(SearchResults)
async def find(query_args: SearchQuery):
    """Search your conversations' titles and messages (not the trash), best match first."""
    hits = await search.search(current_user(), query_args.query, limit=query_args.limit)
    return SearchResults(query=query_args.query, results=[SearchHitV1(
        conversationId=hit.conversation_id, title=hit.conversation_title,
        messageId=hit.message_id, role=hit.role, snippet=hit.snippet.striptags(),
        lastActivityAt=iso(hit.last_activity_at)) for hit in hits])


@bp.get("/conversations/stats")
@bp.get("/stats")
@json_api
@validate_response(Stats)
async def stats():
    """Count your conversations (active, archived, in the trash), messages and tokens."""
    counts = await conversations.stats(current_user())
    return Stats(total=counts["total"], active=counts["active"], archived=counts["archived"],
                 trash=counts["trash"], messages=counts["messages"],
                 promptTokens=counts["prompt_tokens"],
                 completionTokens=counts["completion_tokens"], tokens=counts["tokens"])
