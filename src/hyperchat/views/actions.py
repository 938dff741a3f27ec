"""Message actions: edit, regenerate, switch version, delete and undo, continue, feedback;
the per-conversation channel of live action events; the audit log."""

import time

from quart import (
    Blueprint,
    current_app,
    g,
    render_template,
    stream_with_context,
    url_for,
)

from hyperchat.accounts import account_names
from hyperchat.chat import audit, feedback, message_actions, rooms, versions
from hyperchat.live import tab_events
from hyperchat.metering import model_choice
from hyperchat.store.schema import Conversation, Role
from hyperchat.web import event_stream, payloads, view_helpers
from hyperchat.web.access import (
    get_conversation,
    get_message,
    require_author,
    require_may_delete,
)
from hyperchat.web.errors import BadRequest
from hyperchat.web.security import current_user
from hyperchat.web.view_helpers import (
    answer,
    bus,
    check_limits,
    event_stream_response,
    live_snapshots,
    message_window,
    publish,
    render_change,
    render_feedback,
    render_feedback_changed,
    room_context,
    shown_now,
    start,
    streaming,
    tab,
    vote,
)

bp = Blueprint("actions", __name__)

@bp.before_app_request
async def note_arrival():
    # The start of "time in our server" in each reply's latency breakdown. (Async: Quart runs
    # a sync hook in a thread, a hop on every request.)
    g.received_at = time.perf_counter()


def regenerate_args(form) -> tuple[float | None, str | None]:
    """Temperature (0-2, blank: the model's default) and model (blank: the same tiers as the
    reply's first answer; otherwise it must be in the catalog, never sent upstream unknown)."""
    return form.get("temperature"), model_choice.known_model(form.get("model"))


@bp.get("/messages/<int:message_id>/body")
async def body(message_id: int):
    """Show a message's body (what Cancel puts back in place of the edit form)."""
    message = await get_message(message_id, current_user())
    message_actions.refuse_deleted(message)
    live = await live_snapshots([message])
    return await render_template("messages/_body.html", message=message,
                                 conversation=message.conversation, live=live,
                                 live_batch=live.get(message.id))


@bp.get("/messages/<int:message_id>/edit")
async def edit_form(message_id: int):
    """Show the inline form that edits one of your messages."""
    message = await get_message(message_id, current_user())
    require_author(message, current_user())
    message_actions.refuse_deleted(message)
    if message.role != Role.USER:
        raise BadRequest("Only your own messages can be edited; regenerate a reply instead.")
    return await render_template("actions/_edit.html", message=message,
                                 max_chars=current_app.config["CHAT_ACTIONS_MAX_CONTENT_LENGTH"])


@bp.post("/messages/<int:message_id>/edit")
@payloads.takes_body(content=payloads.Text(), rerun=payloads.Flag(checkbox=True))
async def edit(message_id: int):
    """Save an edit as a new version and rerun the reply (unless `rerun` is off: the form's
    Save); the old branch is kept."""
    message = await get_message(message_id, current_user())
    require_author(message, current_user())
    given = payloads.body()
    started, html = await view_helpers.edit(message, given.get("content"),
                                            rerun=given.get("rerun", True))
    reply = streaming(started.reply) if started.reply else {"message_id": None}
    return answer(message.conversation_id, html, {"version_id": started.version_id, **reply})


@bp.post("/messages/<int:message_id>/regenerate")
@payloads.takes_body(
    temperature=payloads.Number(0, 2, message="Temperature must be a number from 0 to 2."),
    model=payloads.Text())
async def regenerate(message_id: int):
    """Write a new version of a reply, optionally with another temperature or model."""
    message = await get_message(message_id, current_user())
    temperature, model = regenerate_args(payloads.body())
    started, html = await view_helpers.regenerate(message, temperature, model)
    return answer(message.conversation_id, html, streaming(started.reply))


@bp.post("/messages/<int:message_id>/select")
async def select(message_id: int):
    """Show this version of its turn, and the branch that follows it."""
    message = await get_message(message_id, current_user())
    await check_limits()
    change = await message_actions.choose(message, current_user())
    html = await render_change(change, message.conversation)
    await publish(message.conversation_id, tab_events.THREAD_CHANGED, html)
    return answer(message.conversation_id, html, await shown_now(message.conversation_id))


@bp.post("/messages/<int:message_id>/delete")
async def delete(message_id: int):
    """Delete a message (yours with its replies), with an Undo."""
    message = await get_message(message_id, current_user())
    require_may_delete(message, current_user())
    change, html = await view_helpers.delete(message)
    what = "Message and its reply deleted." if message.role == Role.USER else "Reply deleted."
    undo_url = url_for(".restore", message_id=message.id)
    toast = await render_template("actions/_undo_toast.html", text=what, undo_url=undo_url,
                                  message=message)
    return answer(message.conversation_id, html + toast,
                  {"deleted": view_helpers.removed_ids(change),
                   "undo_url": undo_url, **await shown_now(message.conversation_id)})


@bp.post("/messages/<int:message_id>/restore")
async def restore(message_id: int):
    """Undo a delete."""
    message = await get_message(message_id, current_user())
    require_may_delete(message, current_user())
    await check_limits()
    change = await message_actions.restore(message, current_user(),
                                   current_app.config["MESSAGE_UNDO_SECONDS"])
    html = await render_change(change, message.conversation)
    await publish(message.conversation_id, tab_events.THREAD_CHANGED, html)
    # The notice (and its Undo, which a second Ctrl+Z would press again) is replaced.
    toast = await render_template("actions/_undo_toast.html", text="Restored.", undo_url=None,
                                  message=message)
    return answer(message.conversation_id, html + toast,
                  await shown_now(message.conversation_id))


@bp.post("/messages/<int:message_id>/continue")
async def continue_(message_id: int):
    """Stream more of a stopped or length-cut reply onto the same bubble."""
    message = await get_message(message_id, current_user())
    model = await model_choice.model_for_retry(message, message.conversation)
    await check_limits(generates=True)
    started = await message_actions.continue_(message, current_user())
    await start(started, model, message.temperature)
    html = await render_change(started.change, message.conversation)
    await publish(message.conversation_id, tab_events.MESSAGE_REGENERATING, html,
                  view_helpers.regenerating(started.reply, message))
    return answer(message.conversation_id, html, streaming(started.reply))


@bp.get("/messages/<int:message_id>/feedback")
@payloads.takes_query(edit=payloads.Text(10))
async def feedback_form(message_id: int):
    """Show your feedback on a reply: the form (`?edit=1`) or what you said."""
    message = await get_message(message_id, current_user())
    message_actions.refuse_deleted(message)
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only replies take feedback.")
    return await render_feedback(message, editing=payloads.query().get("edit") == "1")


@bp.post("/messages/<int:message_id>/feedback")
@payloads.takes_body(feedback_type=payloads.Text(20), reasons=payloads.Texts(),
                     comment=payloads.Text())
async def save_feedback(message_id: int):
    """Save your vote on a reply with its reasons and comment (one record, editable)."""
    message = await get_message(message_id, current_user())
    record = await view_helpers.save_feedback(message, payloads.body())
    html = await render_feedback(message, editing=False)
    return answer(message.conversation_id, html, {"feedback": {
        "message_id": message.id, "feedback_type": record.feedback_type.value,
        "reasons": feedback.reasons_of(record), "comment": record.comment}})


@bp.get("/messages/<int:message_id>/vote")
async def own_vote(message_id: int):
    """Show your vote buttons and feedback on a reply, out of band: what a bubble pushed to a
    whole room loads for each reader (messages/_actions.html)."""
    message = await get_message(message_id, current_user())
    message_actions.refuse_deleted(message)
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only replies take votes.")
    return await render_feedback_changed(message)


@bp.post("/messages/<int:message_id>/vote")
# A form sends text, JSON an integer; never true/false, which Python takes for 1 and 0.
@payloads.takes_body(rating=payloads.Choice(1, -1, 0))
async def vote_on(message_id: int):
    """Vote on a reply (1 up, -1 down, 0 clears) and open the form that asks why."""
    message = await get_message(message_id, current_user())
    message_actions.refuse_deleted(message)
    rating = payloads.body().get("rating")
    if rating is None:
        raise BadRequest("rating must be 1, -1 or 0.")
    await vote(message, rating)
    # The fragment the other tabs were sent, with this tab's feedback form open after a vote.
    html = await render_feedback_changed(message, editing=rating != 0)
    return answer(message.conversation_id, html, {"message_id": message.id, "rating": rating})


@bp.get("/c/<int:conversation_id>/events")
@payloads.takes_query(after=payloads.Text(100), tab=payloads.Text(100))
async def channel(conversation_id: int):
    """Follow a conversation's action events as SSE: each is fragments to swap in."""
    conversation = await get_conversation(conversation_id, current_user())
    who = current_user()
    after = payloads.header("Last-Event-ID", payloads.Text(100)) or payloads.query().get("after")
    me = tab()
    keepalive = current_app.config["SSE_KEEPALIVE"]
    follow = bus().follow(conversation.id, after, keepalive)

    @stream_with_context
    async def stream():
        async for event in follow:
            if event is None:
                yield event_stream.comment()
            elif event.origin is not None and event.origin == me:
                # This tab made the change (its own response shows it; a frame racing that
                # response could replace the form it came from, and htmx would drop it).
                yield event_stream.position(event.position)
            elif event.type in tab_events.PER_VIEWER:
                # Rare (people, roles, settings): rendered here for this tab's person, whose
                # role may have changed; someone no longer in the room loses it now, and
                # this stream ends (the fragment removes the elements of its other streams).
                room = await Conversation.get_or_none(id=conversation.id)
                role = await rooms.role_of(room, who) if room is not None else None
                if role is None:
                    html = await render_template("members/_access_lost.html",
                                                 title=conversation.title)
                    yield event_stream.frame(html, id=event.position)
                    return
                room.viewer, room.viewer_role = who, role
                html = await render_template("members/_room_changed.html",
                                             **await room_context(room))
                yield event_stream.frame(html, id=event.position)
            elif tab_events.audience(event.type) not in (None, who):
                # Another person's own change (their vote): only move its position on.
                yield event_stream.position(event.position)
            elif event.type == tab_events.RESYNC:
                messages, has_earlier, has_later = await message_window(conversation, None)
                await versions.annotate(messages)
                html = await render_template(
                    "actions/_resync.html", conversation=conversation, messages=messages,
                    has_earlier=has_earlier, has_later=has_later,
                    live=await live_snapshots(messages))
                yield event_stream.frame(html, id=event.position)
            else:
                yield event_stream.frame(event.html, id=event.position)

    return await event_stream_response(stream())


@bp.get("/c/<int:conversation_id>/activity")
async def activity(conversation_id: int):
    """Show a conversation's audit log: every action on its messages."""
    conversation = await get_conversation(conversation_id, current_user())
    entries = await audit.entries(conversation.id)
    return await render_template("actions/activity.html", conversation=conversation,
                                 entries=entries,
                                 names=await account_names({e.owner for e in entries}))
