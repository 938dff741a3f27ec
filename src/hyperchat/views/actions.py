"""Message actions: edit, regenerate, switch version, delete and undo, continue, feedback;
the per-conversation channel of live action events; the audit log."""

import time

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

from hyperchat import (
    actions,
    audit,
    events,
    feedback,
    htmx,
    limits,
    payloads,
    quotas,
    routing,
    sse,
    versions,
)
from hyperchat.access import get_conversation, get_message
from hyperchat.errors import BadRequest, wants_json
from hyperchat.models import Message, Role
from hyperchat.security import current_user
from hyperchat.views.conversations import message_window
from hyperchat.views.messages import generations, live_snapshots

bp = Blueprint("actions", __name__)

TAB_HEADER = "X-Tab-Id"


@bp.before_app_request
def note_arrival():
    # The start of "time in our server" in each reply's latency breakdown.
    g.received_at = time.perf_counter()


def bus() -> events.EventBus:
    return current_app.extensions["events"]


def tab() -> str | None:
    """The browser tab that sent this request (app.js names each tab), so that the channel
    does not send a tab the change its own response already made."""
    return request.headers.get(TAB_HEADER) or request.args.get("tab") or None


async def check_limits(*, generates: bool = False) -> None:
    """The action limits; an action that starts a reply also counts against the limits and
    budgets every reply does (quotas.py)."""
    config = current_app.config
    window = config["CHAT_ACTIONS_RATE_WINDOW"]
    chosen = [limits.Limit("actions", config["CHAT_ACTIONS_RATE_LIMIT"], window)]
    if generates:
        chosen.insert(0, limits.Limit("regenerations", config["CHAT_REGENERATION_RATE_LIMIT"],
                                      window))
    await limits.check(current_app.extensions["quota_store"], current_user(), *chosen)
    if generates:
        await quotas.check(current_user())


async def publish(conversation_id: int, type: str, html: str) -> None:
    await bus().publish(conversation_id, type, html, tab())


async def render_change(change: versions.ThreadChange, conversation, **extra) -> str:
    return await render_template("actions/_thread_change.html", change=change,
                                 conversation=conversation,
                                 live=await live_snapshots(change.messages), **extra)


def answer(conversation_id: int, body: str, data: dict):
    """JSON clients get `data`, htmx the fragment; a plain form post goes back to the
    conversation."""
    if wants_json():
        return jsonify({"ok": True, **data})
    if not htmx.is_request():
        return redirect(url_for("conversations.show", conversation_id=conversation_id), 303)
    return body


class JsonFields(payloads.Fields):
    """A JSON body read like the action forms, repeated fields included."""

    def getlist(self, name: str) -> list:
        value = self.payload.get(name, [])
        return value if isinstance(value, list) else [value]


async def fields():
    """The action's form, or its JSON body (the same names)."""
    if request.is_json:
        return JsonFields(await request.get_json(silent=True))
    return await request.form


def streaming(reply: Message) -> dict:
    return {"message_id": reply.id,
            "stream_url": url_for("messages.stream", message_id=reply.id)}


async def shown_now(conversation_id: int) -> dict:
    return {"shown": await versions.shown_ids(conversation_id)}


def progress_publisher(app, conversation_id: int):
    async def on_progress(message: Message, text: str, elapsed: float) -> None:
        async with app.app_context():
            html = await render_template("actions/_progress.html", message_id=message.id,
                                         chars=len(text), elapsed=elapsed)
        await app.extensions["events"].publish(conversation_id, events.REGENERATION_PROGRESS,
                                               html, None)
    return on_progress


def finish_publisher(app, conversation_id: int, origin: str | None):
    async def on_finish(message: Message) -> None:
        finished = await Message.get(id=message.id).select_related("conversation")
        await versions.annotate([finished])
        async with app.app_context():
            html = await render_template("messages/_final.html", message=finished,
                                         conversation=finished.conversation)
        await app.extensions["events"].publish(conversation_id, events.MESSAGE_REGENERATED,
                                               html, None)
    return on_finish


async def start(started: actions.Started, model: str | None = None,
                temperature: float | None = None) -> None:
    app = current_app._get_current_object()
    cid = started.reply.conversation_id
    await generations().start(
        started.reply, model or current_app.config["DEFAULT_MODEL"], started.context,
        temperature=temperature, prefix=started.prefix, received_at=g.get("received_at"),
        on_progress=progress_publisher(app, cid), on_finish=finish_publisher(app, cid, tab()))


def content_arg(form) -> str:
    content = form.get("content") or ""
    if not isinstance(content, str):
        raise BadRequest("content must be a string.")
    content = content.strip()
    limit = current_app.config["CHAT_ACTIONS_MAX_CONTENT_LENGTH"]
    if not content:
        raise BadRequest("The message cannot be empty.")
    if len(content) > limit:
        raise BadRequest(f"Your message is {len(content):,} characters long; the limit is "
                         f"{limit:,}. Shorten it and save again (your text is still there).")
    return content


def regenerate_args(form) -> tuple[float | None, str | None]:
    """Temperature (0-2, blank: the model's default) and model (blank: the same tiers as the
    reply's first answer; otherwise it must be in the catalog, never sent upstream unknown)."""
    raw = form.get("temperature")
    raw = "" if raw is None else str(raw).strip()
    temperature = None
    if raw:
        try:
            temperature = float(raw)
        except ValueError:
            raise BadRequest("Temperature must be a number from 0 to 2.") from None
        if not 0 <= temperature <= 2:
            raise BadRequest("Temperature must be a number from 0 to 2.")
    return temperature, routing.known_model(form.get("model"))


@bp.get("/messages/<int:message_id>/body")
async def body(message_id: int):
    """Show a message's body (what Cancel puts back in place of the edit form)."""
    message = await get_message(message_id, current_user())
    actions.refuse_deleted(message)
    live = await live_snapshots([message])
    return await render_template("messages/_body.html", message=message,
                                 conversation=message.conversation, live=live,
                                 live_batch=live.get(message.id))


@bp.get("/messages/<int:message_id>/edit")
async def edit_form(message_id: int):
    """Show the inline form that edits one of your messages."""
    message = await get_message(message_id, current_user())
    actions.refuse_deleted(message)
    if message.role != Role.USER:
        raise BadRequest("Only your own messages can be edited; regenerate a reply instead.")
    return await render_template("actions/_edit.html", message=message,
                                 max_chars=current_app.config["CHAT_ACTIONS_MAX_CONTENT_LENGTH"])


@bp.post("/messages/<int:message_id>/edit")
async def edit(message_id: int):
    """Save an edit as a new version and rerun the reply; the old branch is kept."""
    message = await get_message(message_id, current_user())
    content = content_arg(await fields())
    model = routing.choose(message.model_override, message.conversation)
    await check_limits(generates=True)
    started = await actions.edit(message, content, current_user())
    await start(started, model)
    html = await render_change(started.change, message.conversation)
    await publish(message.conversation_id, events.MESSAGE_EDITED, html)
    return answer(message.conversation_id, html,
                  {"version_id": started.reply.parent_id, **streaming(started.reply)})


@bp.post("/messages/<int:message_id>/regenerate")
async def regenerate(message_id: int):
    """Write a new version of a reply, optionally with another temperature or model."""
    message = await get_message(message_id, current_user())
    temperature, model = regenerate_args(await fields())
    model = model or await routing.model_for_retry(message, message.conversation)
    await check_limits(generates=True)
    started = await actions.regenerate(message, current_user(), temperature, model)
    await start(started, model, temperature)
    html = await render_change(started.change, message.conversation)
    await publish(message.conversation_id, events.MESSAGE_REGENERATING, html)
    return answer(message.conversation_id, html, streaming(started.reply))


@bp.post("/messages/<int:message_id>/select")
async def select(message_id: int):
    """Show this version of its turn, and the branch that follows it."""
    message = await get_message(message_id, current_user())
    await check_limits()
    change = await actions.choose(message, current_user())
    html = await render_change(change, message.conversation)
    await publish(message.conversation_id, events.THREAD_CHANGED, html)
    return answer(message.conversation_id, html, await shown_now(message.conversation_id))


@bp.post("/messages/<int:message_id>/delete")
async def delete(message_id: int):
    """Delete a message (yours with its replies), with an Undo."""
    message = await get_message(message_id, current_user())
    await check_limits()
    change = await actions.delete(message, current_user())
    html = await render_change(change, message.conversation)
    await publish(message.conversation_id, events.MESSAGE_DELETED, html)
    what = "Message and its reply deleted." if message.role == Role.USER else "Reply deleted."
    undo_url = url_for(".restore", message_id=message.id)
    toast = await render_template("actions/_undo_toast.html", text=what, undo_url=undo_url,
                                  message=message)
    return answer(message.conversation_id, html + toast,
                  {"deleted": change.deleted + [i.target for i in change.inserts
                                                if i.swap == "outerHTML"],
                   "undo_url": undo_url, **await shown_now(message.conversation_id)})


@bp.post("/messages/<int:message_id>/restore")
async def restore(message_id: int):
    """Undo a delete."""
    message = await get_message(message_id, current_user())
    await check_limits()
    change = await actions.restore(message, current_user(),
                                   current_app.config["MESSAGE_UNDO_SECONDS"])
    html = await render_change(change, message.conversation)
    await publish(message.conversation_id, events.THREAD_CHANGED, html)
    # The notice (and its Undo, which a second Ctrl+Z would press again) is replaced.
    toast = await render_template("actions/_undo_toast.html", text="Restored.", undo_url=None,
                                  message=message)
    return answer(message.conversation_id, html + toast,
                  await shown_now(message.conversation_id))


@bp.post("/messages/<int:message_id>/continue")
async def continue_(message_id: int):
    """Stream more of a stopped or length-cut reply onto the same bubble."""
    message = await get_message(message_id, current_user())
    model = await routing.model_for_retry(message, message.conversation)
    await check_limits(generates=True)
    started = await actions.continue_(message, current_user())
    await start(started, model, message.temperature)
    html = await render_change(started.change, message.conversation)
    await publish(message.conversation_id, events.MESSAGE_REGENERATING, html)
    return answer(message.conversation_id, html, streaming(started.reply))


async def render_feedback(message: Message, editing: bool) -> str:
    record = await feedback.of(message, current_user())
    return await render_template(
        "actions/_feedback.html", message=message, record=record, editing=editing,
        chosen=feedback.reasons_of(record), reasons=feedback.REASONS,
        max_chars=current_app.config["CHAT_ACTIONS_MAX_CONTENT_LENGTH"])


@bp.get("/messages/<int:message_id>/feedback")
async def feedback_form(message_id: int):
    """Show your feedback on a reply: the form (`?edit=1`) or what you said."""
    message = await get_message(message_id, current_user())
    actions.refuse_deleted(message)
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only replies take feedback.")
    return await render_feedback(message, editing=request.args.get("edit") == "1")


@bp.post("/messages/<int:message_id>/feedback")
async def save_feedback(message_id: int):
    """Save your vote on a reply with its reasons and comment (one record, editable)."""
    message = await get_message(message_id, current_user())
    actions.refuse_deleted(message)
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only replies take feedback.")
    rating, reasons, comment = feedback.parse(
        await fields(), current_app.config["CHAT_ACTIONS_MAX_CONTENT_LENGTH"])
    await check_limits()
    await feedback.save(message, current_user(), rating, reasons, comment)
    await audit.record(audit.FEEDBACK, message.conversation_id, current_user(), message.id,
                       rating=rating, reasons=reasons, comment_length=len(comment))
    html = await render_feedback(message, editing=False)
    await publish_feedback(message)
    return answer(message.conversation_id, html, {"feedback": {
        "message_id": message.id, "feedback_type": feedback.RATING_TYPES[rating].value,
        "reasons": reasons, "comment": comment}})


async def publish_feedback(message: Message) -> None:
    """Other tabs: the reply's vote buttons and feedback summary."""
    await versions.annotate([message])
    html = await render_template("actions/_feedback_changed.html", message=message,
                                 conversation=message.conversation,
                                 summary=await render_feedback(message, editing=False))
    await publish(message.conversation_id, events.FEEDBACK_SUBMITTED, html)


@bp.get("/c/<int:conversation_id>/events")
async def channel(conversation_id: int):
    """Follow a conversation's action events as SSE: each is fragments to swap in."""
    conversation = await get_conversation(conversation_id, current_user())
    after = request.headers.get("Last-Event-ID") or request.args.get("after")
    me = tab()
    keepalive = current_app.config["SSE_KEEPALIVE"]
    follow = bus().follow(conversation.id, after, keepalive)

    @stream_with_context
    async def stream():
        async for event in follow:
            if event is None:
                yield sse.comment()
            elif event.type == events.RESYNC:
                messages, has_earlier, has_later = await message_window(conversation, None)
                await versions.annotate(messages)
                html = await render_template(
                    "actions/_resync.html", conversation=conversation, messages=messages,
                    has_earlier=has_earlier, has_later=has_later,
                    live=await live_snapshots(messages))
                yield sse.frame(html, id=event.position)
            elif event.origin is not None and event.origin == me:
                # This tab made the change: only move its position on.
                yield sse.position(event.position)
            else:
                yield sse.frame(event.html, id=event.position)

    response = await make_response(stream(), 200, sse.HEADERS)
    response.timeout = None
    return response


@bp.get("/c/<int:conversation_id>/activity")
async def activity(conversation_id: int):
    """Show a conversation's audit log: every action on its messages."""
    conversation = await get_conversation(conversation_id, current_user())
    return await render_template("actions/activity.html", conversation=conversation,
                                 entries=await audit.entries(conversation.id))
