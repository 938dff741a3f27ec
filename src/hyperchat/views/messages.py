"""Messages: send, stream a reply, stop it, retry it, rate it."""

import asyncio
import html
from datetime import UTC, datetime

from quart import (
    Blueprint,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from tortoise.transactions import in_transaction

from hyperchat import audit, events, feedback, htmx, payloads, quotas, routing, sse, versions
from hyperchat.access import get_conversation, get_message
from hyperchat.conversations import title_from
from hyperchat.errors import BadRequest, NotFound, json_api, wants_json
from hyperchat.generation import Generations
from hyperchat.models import Conversation, Message, Role, Status
from hyperchat.security import current_user
from hyperchat.streaming import Batch
from hyperchat.upstream.client import ChatMessage

bp = Blueprint("messages", __name__)


def generations() -> Generations:
    return current_app.extensions["generations"]


async def live_snapshots(messages: list[Message]) -> dict[int, Batch]:
    """Text (and reasoning) so far of the replies still streaming, keyed by message id."""
    live = {}
    for message in messages:
        if message.status == Status.STREAMING:
            snapshot = await generations().hub.snapshot(message.id)
            if snapshot is not None:
                live[message.id] = snapshot
    return live


@bp.post("/messages")
async def create():
    """Save the user's message, start the reply, and return both bubbles."""
    # A form from the composer, or JSON ({"content", "conversation_id", "model"}).
    form = payloads.Fields(await request.get_json(silent=True)) if request.is_json \
        else await request.form
    content = form.get("content") or ""
    if not isinstance(content, str):
        raise BadRequest("content must be a string.")
    content = content.strip()
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    if not content:
        return await _composer_error("Type a message first.")
    if len(content) > limit:
        return await _composer_error(
            f"Your message is {len(content):,} characters long; the limit is {limit:,}. "
            "Shorten it and send again (your text is still in the box).")
    conversation_id = form.get("conversation_id", type=int)
    now = datetime.now(UTC)
    if conversation_id:
        conversation = await get_conversation(conversation_id, current_user())
    else:
        conversation = None
    # The model, and whether a reply may start now: refused before anything is saved.
    override = routing.known_model(form.get("model"))
    answer = conversation is None or conversation.with_ai
    if answer:
        model = routing.choose(override, conversation)
        await quotas.check(current_user())
    # One transaction, one commit; the user's message is saved before the upstream is
    # called, so it is never lost.
    async with in_transaction():
        if conversation is None:
            # A new conversation: nobody else can see it yet, so there is no branch end to
            # look up and no lock to take.
            conversation = await Conversation.create(owner=current_user(),
                                                     title=title_from(content))
            parent_id = None
        else:
            await Conversation.filter(id=conversation.id).update(last_activity_at=now)
            # At the end of the branch shown (versions.py), found under the conversation's
            # lock so that two tabs sending at once make one line, not two branches.
            await versions.lock(conversation.id)
            parent_id = await versions.leaf_id(conversation.id)
        user_message = await versions.append(
            conversation.id, parent_id, role=Role.USER, content=content,
            status=Status.COMPLETE, finished_at=now, model_override=override)
        # With the AI off (the conversation's settings) the message is only saved.
        reply = await versions.append(conversation.id, user_message.id, role=Role.ASSISTANT,
                                      status=Status.STREAMING) if answer else None
    if reply is not None:
        context = [ChatMessage(Role.USER.value, content)] if parent_id is None \
            else await versions.context(conversation.id, user_message.id)
        await generations().start(reply, model, context, received_at=g.get("received_at"))
    if wants_json():
        return jsonify(message_json(user_message, reply, conversation)), 201
    if not htmx.is_request():
        return redirect(url_for("conversations.show", conversation_id=conversation.id), 303)
    body = await render_template("messages/_created.html", conversation=conversation,
                                 messages=[m for m in (user_message, reply) if m], live={},
                                 new_conversation=not conversation_id)
    headers = {htmx.HX_PUSH_URL: url_for("conversations.show", conversation_id=conversation.id),
               # The sidebar lists a new conversation, or moves this one to the top.
               **htmx.trigger_on_body("conversations-changed")}
    return body, 200, headers


def message_json(user_message: Message, reply: Message | None,
                 conversation: Conversation) -> dict:
    return {"conversation_id": conversation.id,
            "message": {"id": user_message.id, "role": "user",
                        "content": user_message.content, "model": user_message.model_override},
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
async def stream(message_id: int):
    """Stream a reply as SSE: replay after the client's position, follow live, then send
    the finished bubble's parts as out-of-band fragments."""
    message = await get_message(message_id, current_user())
    position = max(request.args.get("after", default=0, type=int),
                   request.headers.get("Last-Event-ID", default=0, type=int))
    config = current_app.config
    hub = generations().hub

    @stream_with_context
    async def events():
        seq = position
        async for batch in hub.follow(message.id, position, config["SSE_KEEPALIVE"]):
            if batch is None:
                yield sse.comment()
                continue
            seq = batch.seq
            data = html.escape(batch.text, quote=False)
            if batch.reasoning:
                # The same frame: the text goes to the main target (the reply's content), the
                # reasoning out of band into the thought block above it.
                data = await render_template("messages/_thought_chunk.html",
                                             message_id=message.id,
                                             text=batch.reasoning) + data
            yield sse.frame(data, id=seq)
            # Coalesce: tokens that arrive meanwhile go out together in the next frame.
            await asyncio.sleep(config["SSE_COALESCE"])
        finished = await Message.get(id=message.id).select_related("conversation")
        while finished.status == Status.STREAMING and await hub.live([message.id]):
            # The live stream ended before the reply did (Redis was lost): its worker still
            # saves it, so wait for the outcome in the database. (A reply no worker is
            # writing is an orphan: its bubble is sent as it is, as always.)
            yield sse.comment()
            await asyncio.sleep(config["SSE_KEEPALIVE"])
            finished = await Message.get(id=message.id).select_related("conversation")
        await versions.annotate([finished])
        final = await render_template("messages/_final.html", message=finished,
                                      conversation=finished.conversation)
        yield sse.frame(final, id=seq + 1)
        # Named and non-empty: browsers drop events without data.
        yield sse.frame(str(message.id), event="done")

    response = await make_response(events(), 200, sse.HEADERS)
    response.timeout = None  # Quart's 60 s RESPONSE_TIMEOUT would silently cut long replies
    return response


@bp.post("/messages/<int:message_id>/stop")
async def stop(message_id: int):
    """Stop a streaming reply; it keeps its text so far, marked stopped."""
    message = await get_message(message_id, current_user())
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only a reply can be stopped, not a message you sent.")
    if await generations().stop(message.id):
        await audit.record(audit.STOP, message.conversation_id, current_user(), message.id)
    return "", 204


@bp.post("/messages/<int:message_id>/retry")
async def retry(message_id: int):
    """Ask for a new reply after a failed or stopped one; the old one stays as it was."""
    message = await get_message(message_id, current_user())
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only a reply can be retried, not a message you sent.")
    if message.status == Status.STREAMING:
        raise BadRequest("This reply is still being written: stop it or let it finish, "
                         "then retry.")
    if message.deleted_at is not None:
        raise NotFound("That message was deleted.")
    model = await routing.model_for_retry(message, message.conversation)
    await quotas.check(current_user())
    # A retry is a new version of the failed reply, from the same context: it takes the
    # failed one's place (which stays, as version 1), in this tab and the others.
    from hyperchat.views.actions import publish, render_change  # it imports this module

    async with in_transaction():
        await versions.lock(message.conversation_id)
        before = await versions.shown_ids(message.conversation_id)
        reply = await versions.add_version(message, status=Status.STREAMING)
        change = await versions.change(message.conversation_id, before)
    await generations().start(reply, model,
                              await versions.context(message.conversation_id, message.parent_id),
                              received_at=g.get("received_at"))
    if not htmx.is_request():
        return redirect(url_for("conversations.show",
                                conversation_id=message.conversation_id), 303)
    html = await render_change(change, message.conversation)
    await publish(message.conversation_id, events.MESSAGE_REGENERATING, html)
    return html


@bp.post("/rate_message/<int:message_id>")
@json_api
async def rate(message_id: int):
    """Set a reply's rating: 1 (up), -1 (down) or 0 (cleared)."""
    payload = await request.get_json(force=True, silent=True)
    if not isinstance(payload, dict):
        raise BadRequest('Send a JSON body like {"rating": 1}.')
    rating = payload.get("rating")
    # Exactly the JSON integers: true/false and 1.0 compare equal to 1 in Python.
    if type(rating) is not int or rating not in (1, -1, 0):
        raise BadRequest("rating must be 1, -1 or 0.")
    message = await get_message(message_id, current_user())
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only replies can be rated.")
    # The vote is also the person's feedback record, logged and shown in their other tabs.
    from hyperchat.views.actions import publish_feedback  # it imports this module

    await feedback.record_vote(message, current_user(), rating)
    await audit.record(audit.VOTE, message.conversation_id, current_user(), message.id,
                       rating=rating)
    await publish_feedback(message)
    return jsonify({"ok": True, "message_id": message.id, "rating": rating})
