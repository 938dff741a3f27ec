"""Messages: send, stream a reply, stop it, retry it, rate it."""

import asyncio
import html
from typing import Annotated

from pydantic import BaseModel
from pydantic import Field as Constraint
from quart import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from quart_schema import document_response

from hyperchat.chat import audit, generation, message_actions, rooms, sending, versions
from hyperchat.files import attachments
from hyperchat.files.extractors import ExtractionError
from hyperchat.live import tab_events
from hyperchat.metering import model_choice
from hyperchat.store.schema import Conversation, MemberRole, Message, Role, Status
from hyperchat.web import event_stream, htmx, payloads, view_helpers
from hyperchat.web.access import get_conversation, get_message
from hyperchat.web.errors import BadRequest, json_api, wants_json
from hyperchat.web.security import current_account, current_user
from hyperchat.web.view_helpers import (
    answer,
    check_limits,
    event_stream_response,
    finish_publisher,
    generations,
    publish,
    regenerating,
    removed_from,
    render_change,
    render_final,
    room_context,
    start,
    streaming,
    vote,
)

bp = Blueprint("messages", __name__)


@bp.post("/messages")
@payloads.takes_body(content=payloads.Text(), conversation_id=payloads.Id(),
                     model=payloads.Text(), attachments=payloads.Texts(max_items=10,
                                                                       max_length=12),
                     ask_ai=payloads.Flag(checkbox=True))
async def create():
    """Save the user's message with its files, start the reply, and return both bubbles."""
    # A form from the composer, or JSON ({"content", "conversation_id", "model",
    # "attachments": [ids of uploads], "ask_ai"}).
    form = payloads.body()
    config = current_app.config
    try:
        ids = _attachment_ids(form.get("attachments") or [], config["MAX_FILES_PER_MESSAGE"])
        files = await attachments.staged(current_user(), ids)
        # With files, the text may be empty: the files are the message.
        content = "" if files and not (form.get("content") or "").strip() else \
            sending.checked_content(form.get("content"), config["MAX_MESSAGE_CHARS"])
    except BadRequest as refused:
        return await _composer_error(refused.message)
    except ExtractionError as refused:
        return await _composer_error(str(refused))
    conversation_id = form.get("conversation_id")
    conversation = (await get_conversation(conversation_id, current_user())
                    if conversation_id else None)
    sent = await view_helpers.send(conversation, content,
                                   model_choice.known_model(form.get("model")), files=files,
                                   ask_ai=bool(form.get("ask_ai")))
    conversation = sent.conversation
    if wants_json():
        return jsonify(message_json(sent.message, sent.reply, conversation)), 201
    if not htmx.is_request():
        return redirect(url_for("conversations.show", conversation_id=conversation.id), 303)
    shown = await versions.annotate_appended([m for m in (sent.message, sent.reply) if m],
                                             conversation)
    if not sent.new_conversation:
        # Every other open tab of the conversation (every member's, in a room) shows it too.
        await publish(conversation.id, tab_events.MESSAGE_CREATED, await render_template(
            "messages/_pushed.html", conversation=conversation, messages=shown, live={},
            neutral=rooms.is_room(conversation)))
    room = {}
    if sent.new_conversation:
        # The new pane's members panel, for its owner.
        conversation.viewer, conversation.viewer_role = current_user(), MemberRole.OWNER
        room = await room_context(conversation)
    body = await render_template("messages/_created.html", **{
        **room, "conversation": conversation, "messages": shown, "live": {},
        "new_conversation": sent.new_conversation})
    headers = {htmx.HX_PUSH_URL: url_for("conversations.show", conversation_id=conversation.id),
               # The sidebar lists a new conversation, or moves this one to the top.
               **htmx.trigger_on_body("conversations-changed")}
    return body, 200, headers


def _attachment_ids(values: list[str], limit: int) -> list[int]:
    if len(values) > limit:
        raise BadRequest(f"At most {limit} files per message; remove some and send again.")
    if not all(v.strip().isdigit() and 0 < int(v) < 2**31 for v in values):
        raise BadRequest("attachments must be the ids of your uploads.")
    return [int(v) for v in values]


def message_json(user_message: Message, reply: Message | None,
                 conversation: Conversation) -> dict:
    account = current_account()
    return {"conversation_id": conversation.id,
            "message": {"id": user_message.id, "role": "user",
                        "content": user_message.content, "model": user_message.model_override,
                        "attachments": [{"id": a.id, "filename": a.name, "kind": a.kind,
                                         "size": a.size, "tokens": a.tokens}
                                        for a in getattr(user_message, "attachments", [])],
                        # The sender (as in the sessions API; null for a guest).
                        "author": {"user_id": account.id if account else None,
                                   "username": account.username if account else None}},
            "reply": None if reply is None else {
                "id": reply.id, "status": str(reply.status),
                "stream_url": url_for("messages.stream", message_id=reply.id)}}


async def _composer_error(message: str):
    if not htmx.is_request():
        raise BadRequest(message)
    # Shown next to the composer; the form is not reset, so the typed text stays.
    body = await render_template("messages/_composer_error.html", message=message)
    return body, 400, htmx.retarget("#composer-error", "innerHTML")


@bp.get("/messages/<int:message_id>/stream")
@payloads.takes_query(after=payloads.Integer(0, payloads.POSITION_MAX))
async def stream(message_id: int):
    """Stream a reply as SSE: replay after the client's position, follow live, then send
    the finished bubble's parts as out-of-band fragments."""
    message = await get_message(message_id, current_user())
    resumed = payloads.header("Last-Event-ID", payloads.Integer(0, payloads.POSITION_MAX))
    position = max(payloads.query().get("after", 0), resumed or 0)
    config = current_app.config
    hub = generations().hub

    # A member who is not the owner can be taken out of the room meanwhile: their stream
    # ends then (checked between frames, which come at least every SSE_KEEPALIVE).
    watch = rooms.is_room(message.conversation) \
        and message.conversation.viewer_role != MemberRole.OWNER

    who = current_user()

    @stream_with_context
    async def events():
        removed = asyncio.ensure_future(removed_from(message.conversation, who)) \
            if watch else None
        frames = reply_frames(removed)
        try:
            async for frame in frames:
                yield frame
        finally:
            if removed is not None:
                removed.cancel()
            await frames.aclose()

    async def reply_frames(removed):
        seq = position
        async for batch in hub.follow(message.id, position, config["SSE_KEEPALIVE"]):
            if removed is not None and removed.done():
                return
            if batch is None:
                yield event_stream.comment()
                continue
            seq = batch.seq
            data = html.escape(batch.text, quote=False)
            if batch.reasoning:
                # The same frame: the text goes to the main target (the reply's content), the
                # reasoning out of band into the thought block above it.
                data = await render_template("messages/_thought_chunk.html",
                                             message_id=message.id,
                                             text=batch.reasoning) + data
            yield event_stream.frame(data, id=seq)
            # Coalesce: tokens that arrive meanwhile go out together in the next frame.
            await asyncio.sleep(config["SSE_COALESCE"])
        finished = await Message.get(id=message.id).select_related("conversation")
        while finished.status == Status.STREAMING and await hub.live([message.id]):
            # The live stream ended before the reply did (Redis was lost): its worker still
            # saves it, so wait for the outcome in the database. (A reply no worker is
            # writing is an orphan: its bubble is sent as it is, as always.)
            yield event_stream.comment()
            await asyncio.sleep(config["SSE_KEEPALIVE"])
            finished = await Message.get(id=message.id).select_related("conversation")
        final = await render_final(finished, who)
        yield event_stream.frame(final, id=seq + 1)
        # Named and non-empty: browsers drop events without data.
        yield event_stream.frame(str(message.id), event="done")

    return await event_stream_response(events())


@bp.post("/messages/<int:message_id>/stop")
async def stop(message_id: int):
    """Stop a streaming reply; it keeps its text so far, marked stopped."""
    message = await get_message(message_id, current_user())
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only a reply can be stopped, not a message you sent.")
    if await generations().stop(message.id):
        await audit.record(audit.STOP, message.conversation_id, current_user(), message.id)
    elif message.status == Status.STREAMING and await generation.end_unfinished(
            [message.id], Status.STOPPED):
        # No worker writes it (its process died, or its save failed): stopping it here is
        # all that is left to do, with the text it has; its tabs are shown the outcome.
        await audit.record(audit.STOP, message.conversation_id, current_user(), message.id)
        await finish_publisher(current_app._get_current_object(), message.conversation_id,
                               None)(message)
    return "", 204


@bp.post("/messages/<int:message_id>/retry")
async def retry(message_id: int):
    """Ask for a new reply after a failed or stopped one: a regeneration with the settings
    of the reply's first answer (the old one stays, as version 1)."""
    message = await get_message(message_id, current_user())
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only a reply can be retried, not a message you sent.")
    message_actions.refuse_streaming(message, "retry")
    model = await model_choice.model_for_retry(message, message.conversation)
    await check_limits(generates=True)
    started = await message_actions.regenerate(message, current_user(), None, model,
                                               doing="retry")
    await start(started, model)
    html = await render_change(started.change, message.conversation)
    await publish(message.conversation_id, tab_events.MESSAGE_REGENERATING, html,
                  regenerating(started.reply, message))
    return answer(message.conversation_id, html, streaming(started.reply))


class Rating(payloads.Body):
    # Exactly the JSON integers (the model is strict): true and 1.0 are not 1.
    rating: Annotated[int, Constraint(ge=-1, le=1)]


class Rated(BaseModel):
    ok: bool
    message_id: int
    rating: int


@bp.post("/rate_message/<int:message_id>")
@json_api
@payloads.takes_json(Rating)
@document_response(Rated)
async def rate(message_id: int):
    """Set a reply's rating: 1 (up), -1 (down) or 0 (cleared)."""
    rating = payloads.model().rating
    message = await get_message(message_id, current_user())
    # The same vote as the page's buttons (actions.vote_on), for programs.
    await vote(message, rating)
    return jsonify({"ok": True, "message_id": message.id, "rating": rating})
