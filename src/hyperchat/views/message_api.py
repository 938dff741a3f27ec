"""The message actions for programs: regenerate, edit, delete, feedback, the regeneration
tasks, and a conversation's changes as named JSON events.

Thin: each runs the same flow as the page's buttons (web/view_helpers.py), so the other open
tabs see the change and the limits are the same. Answers are `{"success": true, ...}`,
errors `{"success": false, "error": "..."}` (web/api_shapes.py). A Bearer API key, or the
cookie session with its CSRF token, like every JSON API here.
"""

import json

from quart import Blueprint, current_app, stream_with_context, url_for
from quart_schema import validate_response

from hyperchat.chat import feedback, message_actions, tasks
from hyperchat.live import tab_events
from hyperchat.metering import model_choice
from hyperchat.store.schema import Role
from hyperchat.web import event_stream, payloads, view_helpers
from hyperchat.web.access import get_conversation, get_message
from hyperchat.web.api_shapes import (
    DeleteAnswer,
    Deleted,
    EditAnswer,
    Edited,
    EditRequest,
    FeedbackAnswer,
    FeedbackRequest,
    FeedbackSaved,
    RegenerateRequest,
    TaskAnswer,
    TaskRef,
    TaskStarted,
    TaskState,
    answers_json,
    envelope_error,
)
from hyperchat.web.errors import NotFound, json_api
from hyperchat.web.security import current_user

# No url_prefix: "/api" would claim the error shape of every unrouted path under it.
bp = Blueprint("message_api", __name__)
answers_json(bp, ("/api/messages", "/api/tasks", "/api/conversations"), envelope_error)


def task_ref(reply) -> TaskRef:
    return TaskRef(task_id=reply.id, message_id=reply.id,
                   stream_url=url_for("messages.stream", message_id=reply.id))


@bp.post("/api/messages/<int:message_id>/regenerate")
@json_api
@payloads.takes_json(RegenerateRequest)
@validate_response(TaskStarted)
async def regenerate(message_id: int):
    """Write a new version of a reply; its task can be followed at /api/tasks/<task_id>."""
    data: RegenerateRequest = payloads.model()
    message = await get_message(message_id, current_user())
    model = model_choice.known_model(data.model)
    started, _html = await view_helpers.regenerate(message, data.temperature, model)
    return TaskStarted(data=task_ref(started.reply))


@bp.put("/api/messages/<int:message_id>")
@json_api
@payloads.takes_json(EditRequest)
@validate_response(EditAnswer)
async def edit(message_id: int):
    """Edit one of your messages (a new version); `trigger_regeneration` (default true)
    also writes a new reply to it, unless the conversation's AI is off."""
    data: EditRequest = payloads.model()
    message = await get_message(message_id, current_user())
    started, _html = await view_helpers.edit(message, data.content,
                                             rerun=data.trigger_regeneration)
    reply = started.reply
    return EditAnswer(data=Edited(
        message_id=started.version_id, task_id=reply.id if reply else None,
        stream_url=url_for("messages.stream", message_id=reply.id) if reply else None))


@bp.delete("/api/messages/<int:message_id>")
@json_api
@validate_response(DeleteAnswer)
async def delete(message_id: int):
    """Delete a message (yours with its replies); undoable for MESSAGE_UNDO_SECONDS."""
    message = await get_message(message_id, current_user())
    change, _html = await view_helpers.delete(message)
    return DeleteAnswer(data=Deleted(
        message_id=message.id, removed_ids=view_helpers.removed_ids(change),
        undo_url=url_for("actions.restore", message_id=message.id)))


@bp.post("/api/messages/<int:message_id>/feedback")
@json_api
@payloads.takes_json(FeedbackRequest)
@validate_response(FeedbackAnswer)
async def feedback_(message_id: int):
    """Vote on a reply, with a free-text reason (kept) and reason chips."""
    data: FeedbackRequest = payloads.model()
    message = await get_message(message_id, current_user())
    given = {"feedback_type": data.feedback_type, "reasons": data.reasons,
             "comment": data.reason or ""}
    record = await view_helpers.save_feedback(message, payloads.Values(given))
    return FeedbackAnswer(data=FeedbackSaved(
        message_id=message.id, feedback_type=record.feedback_type.value,
        reason=record.comment, reasons=feedback.reasons_of(record)))


@bp.get("/api/tasks/<int:task_id>")
@json_api
@validate_response(TaskAnswer)
async def task(task_id: int):
    """Show a regeneration task: pending, in_progress, completed or failed, and its times."""
    reply = await get_message(task_id, current_user())
    if reply.role != Role.ASSISTANT:
        raise NotFound("That task does not exist.")
    message_actions.refuse_deleted(reply)
    found = await tasks.read(reply, view_helpers.generations().hub)
    return TaskAnswer(data=TaskState.of(found))


@bp.get("/api/conversations/<int:conversation_id>/events")
@json_api
@payloads.takes_query(after=payloads.Text(100))
async def events(conversation_id: int):
    """Follow a conversation's changes as SSE: named events (message_regenerating,
    regeneration_progress, message_regenerated, message_edited, message_deleted,
    feedback_submitted) with JSON data, every change included, the caller's own too."""
    conversation = await get_conversation(conversation_id, current_user())
    who = current_user()
    after = payloads.header("Last-Event-ID", payloads.Text(100)) or payloads.query().get("after")
    follow = view_helpers.bus().follow(conversation.id, after,
                                       current_app.config["SSE_KEEPALIVE"])

    @stream_with_context
    async def stream():
        async for event in follow:
            if event is None:
                yield event_stream.comment()
            elif event.type == tab_events.RESYNC:
                # Events were missed (a restart, or too far behind): read the state again.
                body = {"conversationId": conversation.id,
                        "reason": "Some changes were missed: read the conversation again."}
                yield event_stream.frame(json.dumps(body), event=event.type, id=event.position)
            elif event.data is None or tab_events.audience(event.type) not in (None, who):
                # Nothing for programs, or another person's own change (their vote and
                # feedback in a room, which are theirs to see).
                yield event_stream.position(event.position)
            else:
                yield event_stream.frame(json.dumps(event.data),
                                         event=tab_events.kind(event.type), id=event.position)

    return await view_helpers.event_stream_response(stream())
